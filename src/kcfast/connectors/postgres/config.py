"""Configuration of the PostgreSQL CDC source: Debezium's PostgreSQL connector keys, defaults and values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kcfast.api import CaseInsensitiveValidString, Config, ConfigDef, Importance, Range, Type
from kcfast.connectors.postgres.types import MappingOptions
from kcfast.errors import ConfigError

__all__ = ["POSTGRES_CONFIG_DEF", "PostgresSourceConfig", "TableFilter"]

SNAPSHOT_MODES = ("initial", "always", "initial_only", "no_data", "never", "when_needed")
AUTOCREATE_MODES = ("all_tables", "filtered", "disabled", "no_tables")
TIME_MODES = ("adaptive", "adaptive_time_microseconds", "connect", "isostring", "microseconds", "nanoseconds")


def _define(cdef: ConfigDef, name: str, type_: Type, default: Any, doc: str, validator: Any = None,
            importance: Importance = Importance.MEDIUM) -> None:
    cdef.define(name, type_, default, validator, importance, doc)


POSTGRES_CONFIG_DEF = ConfigDef()
for _name, _type, _default, _doc, _validator, _importance in (
    ("topic.prefix", Type.STRING, ConfigDef.NO_DEFAULT_VALUE,
     "Prefix of the topic names and of the schema names; also the source partition's server name", None,
     Importance.HIGH),
    ("database.hostname", Type.STRING, ConfigDef.NO_DEFAULT_VALUE, "Host of the PostgreSQL server", None,
     Importance.HIGH),
    ("database.port", Type.INT, 5432, "Port of the PostgreSQL server", Range.between(1, 65535), Importance.HIGH),
    ("database.user", Type.STRING, ConfigDef.NO_DEFAULT_VALUE, "User to connect as (needs REPLICATION)", None,
     Importance.HIGH),
    ("database.password", Type.PASSWORD, None, "Password of the user", None, Importance.HIGH),
    ("database.dbname", Type.STRING, ConfigDef.NO_DEFAULT_VALUE, "Database to capture", None, Importance.HIGH),
    ("database.sslmode", Type.STRING, "prefer", "libpq sslmode", None, Importance.LOW),
    ("database.connect.timeout.ms", Type.LONG, 30000, "Connection timeout", Range.at_least(0), Importance.LOW),
    ("plugin.name", Type.STRING, "pgoutput", "Logical decoding plug-in; only pgoutput is supported",
     CaseInsensitiveValidString.in_("pgoutput"), Importance.MEDIUM),
    ("slot.name", Type.STRING, "debezium", "Logical replication slot", None, Importance.MEDIUM),
    ("slot.drop.on.stop", Type.BOOLEAN, False, "Drop the slot when the task stops", None, Importance.LOW),
    ("slot.max.retries", Type.INT, 6, "Attempts to take a slot that is in use", Range.at_least(0),
     Importance.LOW),
    ("slot.retry.delay.ms", Type.LONG, 10000, "Pause between slot attempts", Range.at_least(0), Importance.LOW),
    ("publication.name", Type.STRING, "dbz_publication", "Publication streamed by pgoutput", None,
     Importance.MEDIUM),
    ("publication.autocreate.mode", Type.STRING, "all_tables",
     ("all_tables: create FOR ALL TABLES; filtered: create (and keep in step) for the captured tables; "
      "disabled: the publication must exist"), CaseInsensitiveValidString.in_(*AUTOCREATE_MODES), Importance.LOW),
    ("schema.include.list", Type.STRING, None, "Regexes of schemas to capture", None, Importance.MEDIUM),
    ("schema.exclude.list", Type.STRING, None, "Regexes of schemas not to capture", None, Importance.MEDIUM),
    ("table.include.list", Type.STRING, None, "Regexes of schema.table to capture", None, Importance.MEDIUM),
    ("table.exclude.list", Type.STRING, None, "Regexes of schema.table not to capture", None, Importance.MEDIUM),
    ("column.include.list", Type.STRING, None, "Regexes of schema.table.column to include", None,
     Importance.MEDIUM),
    ("column.exclude.list", Type.STRING, None, "Regexes of schema.table.column to exclude", None,
     Importance.MEDIUM),
    ("snapshot.mode", Type.STRING, "initial", "When to snapshot the tables' current rows",
     CaseInsensitiveValidString.in_(*SNAPSHOT_MODES), Importance.MEDIUM),
    ("snapshot.fetch.size", Type.INT, 10240, "Rows fetched at a time by the snapshot", Range.at_least(1),
     Importance.LOW),
    ("max.batch.size", Type.INT, 2048, "Most records one poll returns", Range.at_least(1), Importance.LOW),
    ("poll.interval.ms", Type.LONG, 500, "Longest wait of a poll that finds no change", Range.at_least(0),
     Importance.LOW),
    ("status.update.interval.ms", Type.LONG, 10000, "Interval of standby status updates to the server",
     Range.at_least(0), Importance.LOW),
    ("heartbeat.interval.ms", Type.INT, 0, "Interval of heartbeat records; 0 disables them", Range.at_least(0),
     Importance.MEDIUM),
    ("topic.heartbeat.prefix", Type.STRING, "__debezium-heartbeat", "Prefix of the heartbeat topic", None,
     Importance.LOW),
    ("tombstones.on.delete", Type.BOOLEAN, True, "Emit a tombstone after each delete event", None,
     Importance.MEDIUM),
    ("skipped.operations", Type.STRING, "t", "Operations not emitted: c, u, d, t, or none", None,
     Importance.LOW),
    ("decimal.handling.mode", Type.STRING, "precise", "precise, double or string",
     CaseInsensitiveValidString.in_("precise", "double", "string"), Importance.MEDIUM),
    ("time.precision.mode", Type.STRING, "adaptive", "Representation of temporal values",
     CaseInsensitiveValidString.in_(*TIME_MODES), Importance.MEDIUM),
    ("interval.handling.mode", Type.STRING, "numeric", "numeric (microseconds) or string (ISO 8601)",
     CaseInsensitiveValidString.in_("numeric", "string"), Importance.LOW),
    ("binary.handling.mode", Type.STRING, "bytes", "bytes, base64, base64-url-safe or hex",
     CaseInsensitiveValidString.in_("bytes", "base64", "base64-url-safe", "hex"), Importance.LOW),
    ("money.fraction.digits", Type.SHORT, 2, "Scale of MONEY values", None, Importance.LOW),
    ("include.unknown.datatypes", Type.BOOLEAN, False, "Emit columns of unknown types as bytes", None,
     Importance.LOW),
):
    _define(POSTGRES_CONFIG_DEF, _name, _type, _default, _doc, _validator, _importance)


def _regex_list(value: str | None) -> list[re.Pattern[str]]:
    if not value:
        return []
    return [re.compile(part.strip()) for part in value.split(",") if part.strip()]


def _literal_names(value: str | None) -> list[str]:
    """Entries of an include list that are plain names (no regex syntax): they must name existing tables."""
    if not value:
        return []
    parts = [p.strip() for p in value.split(",")]
    return [p.replace("\\.", ".") for p in parts if re.fullmatch(r"[\w$]+\\?\.[\w$]+", p)]


class TableFilter:
    """Debezium's include/exclude lists: anchored regexes over schema, ``schema.table`` and column names."""

    def __init__(self, props: Mapping[str, Any]) -> None:
        self.schema_include = _regex_list(props.get("schema.include.list"))
        self.schema_exclude = _regex_list(props.get("schema.exclude.list"))
        self.table_include = _regex_list(props.get("table.include.list"))
        self.table_exclude = _regex_list(props.get("table.exclude.list"))
        self.column_include = _regex_list(props.get("column.include.list"))
        self.column_exclude = _regex_list(props.get("column.exclude.list"))
        self.literal_tables = _literal_names(props.get("table.include.list"))

    def captures_table(self, schema: str, table: str) -> bool:
        """Whether changes of ``schema.table`` are captured."""
        if schema in ("pg_catalog", "information_schema") or schema.startswith(("pg_toast", "pg_temp")):
            return False
        if self.schema_include and not any(p.fullmatch(schema) for p in self.schema_include):
            return False
        if any(p.fullmatch(schema) for p in self.schema_exclude):
            return False
        full = f"{schema}.{table}"
        if self.table_include and not any(p.fullmatch(full) for p in self.table_include):
            return False
        return not any(p.fullmatch(full) for p in self.table_exclude)

    def captures_column(self, schema: str, table: str, column: str) -> bool:
        """Whether ``column`` appears in the events of ``schema.table``."""
        full = f"{schema}.{table}.{column}"
        if self.column_include and not any(p.fullmatch(full) for p in self.column_include):
            return False
        return not any(p.fullmatch(full) for p in self.column_exclude)


@dataclass
class PostgresSourceConfig:
    """The parsed settings of one source connector or task."""

    topic_prefix: str
    host: str
    port: int
    user: str
    password: str
    dbname: str
    sslmode: str
    connect_timeout_s: int
    slot_name: str
    slot_drop_on_stop: bool
    slot_max_retries: int
    slot_retry_delay_s: float
    publication_name: str
    publication_autocreate_mode: str
    snapshot_mode: str
    snapshot_fetch_size: int
    max_batch_size: int
    poll_interval_s: float
    status_interval_s: float
    heartbeat_interval_s: float
    heartbeat_topic: str
    tombstones_on_delete: bool
    skipped_operations: frozenset[str]
    mapping: MappingOptions
    filter: TableFilter

    @classmethod
    def parse(cls, props: Mapping[str, str]) -> PostgresSourceConfig:
        """Parse and check ``props``.

        Raises:
            ConfigError: a missing or invalid key.
        """
        config = Config(POSTGRES_CONFIG_DEF, props)
        prefix = config.get_string("topic.prefix") or ""
        if not re.fullmatch(r"[A-Za-z0-9._-]+", prefix):
            raise ConfigError("topic.prefix", prefix,
                              "Only alphanumeric characters, hyphens, dots and underscores are allowed")
        slot = config.get_string("slot.name") or ""
        if not re.fullmatch(r"[a-z0-9_]{1,63}", slot):
            raise ConfigError("slot.name", slot,
                              "Slot names may contain only lower-case letters, numbers and the underscore")
        password = config.get_password("database.password")
        skipped = (config.get_string("skipped.operations") or "").replace(" ", "").lower()
        ops = frozenset() if skipped in ("", "none") else frozenset(skipped.split(","))
        if not ops <= {"c", "u", "d", "t"}:
            raise ConfigError("skipped.operations", skipped, "Valid operations are c, u, d, t or none")
        mapping = MappingOptions(
            decimal_mode=(config.get_string("decimal.handling.mode") or "precise").lower(),
            time_precision_mode=(config.get_string("time.precision.mode") or "adaptive").lower(),
            interval_mode=(config.get_string("interval.handling.mode") or "numeric").lower(),
            binary_mode=(config.get_string("binary.handling.mode") or "bytes").lower(),
            money_fraction_digits=int(config.get("money.fraction.digits")),
            include_unknown_datatypes=bool(config.get_boolean("include.unknown.datatypes")),
        )
        return cls(
            topic_prefix=prefix,
            host=config.get_string("database.hostname") or "",
            port=int(config.get_int("database.port") or 5432),
            user=config.get_string("database.user") or "",
            password=password.value() if password is not None else "",
            dbname=config.get_string("database.dbname") or "",
            sslmode=config.get_string("database.sslmode") or "prefer",
            connect_timeout_s=max(1, int((config.get_long("database.connect.timeout.ms") or 0) / 1000)),
            slot_name=slot,
            slot_drop_on_stop=bool(config.get_boolean("slot.drop.on.stop")),
            slot_max_retries=int(config.get_int("slot.max.retries") or 0),
            slot_retry_delay_s=(config.get_long("slot.retry.delay.ms") or 0) / 1000.0,
            publication_name=config.get_string("publication.name") or "dbz_publication",
            publication_autocreate_mode=(config.get_string("publication.autocreate.mode") or "").lower(),
            snapshot_mode=(config.get_string("snapshot.mode") or "initial").lower(),
            snapshot_fetch_size=int(config.get_int("snapshot.fetch.size") or 10240),
            max_batch_size=int(config.get_int("max.batch.size") or 2048),
            poll_interval_s=(config.get_long("poll.interval.ms") or 0) / 1000.0,
            status_interval_s=(config.get_long("status.update.interval.ms") or 0) / 1000.0,
            heartbeat_interval_s=(config.get_int("heartbeat.interval.ms") or 0) / 1000.0,
            heartbeat_topic=f"{config.get_string('topic.heartbeat.prefix')}.{prefix}",
            tombstones_on_delete=bool(config.get_boolean("tombstones.on.delete")),
            skipped_operations=ops,
            mapping=mapping,
            filter=TableFilter(props),
        )

    def dsn(self, **extra: Any) -> dict[str, Any]:
        """psycopg2 connection keywords; every session reads values in the text forms the converters expect."""
        return {
            "host": self.host, "port": self.port, "user": self.user, "password": self.password,
            "dbname": self.dbname, "sslmode": self.sslmode, "connect_timeout": self.connect_timeout_s,
            "application_name": "kcfast-cdc",
            "options": "-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=iso_8601 -c bytea_output=hex "
                       "-c extra_float_digits=3",
            **extra,
        }
