"""PostgreSQL change data capture: a source connector that emits Debezium's change events (see docs/cdc.md)."""

from kcfast.connectors.postgres.source import PostgresConnector, PostgresConnectorTask

__all__ = ["PostgresConnector", "PostgresConnectorTask"]
