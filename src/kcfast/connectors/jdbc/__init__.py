"""A JDBC-style sink that applies Debezium change events (and plain structs) to PostgreSQL (see docs/cdc.md)."""

from kcfast.connectors.jdbc.sink import JdbcSinkConnector, JdbcSinkTask

__all__ = ["JdbcSinkConnector", "JdbcSinkTask"]
