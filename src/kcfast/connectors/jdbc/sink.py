"""A JDBC-style sink into PostgreSQL that takes Debezium JDBC sink connector configs and applies change events.

Each ``put`` writes its records in one transaction. A record's value is a Debezium change event envelope
(``after`` is written for ``c``/``r``/``u``; ``d`` and tombstones delete when ``delete.enabled``; ``t``
truncates when ``truncate.enabled``) or a plain struct (the row itself). With a primary key, the batch is
reduced to the last state of each key, then applied per table with one ``DELETE`` batch and one
``INSERT``/upsert (``execute_values``) or ``UPDATE`` batch (``execute_batch``) per column set.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from kcfast._version import __version__
from kcfast.api import (
    CaseInsensitiveValidString,
    Config,
    ConfigDef,
    Importance,
    Range,
    SinkConnector,
    SinkTask,
    Task,
    TopicPartition,
    Type,
)
from kcfast.connectors.jdbc.dialect import column_type, parameter_converter, parse_jdbc_url, quote
from kcfast.data import Schema, Struct
from kcfast.errors import ConfigError, ConnectError, RetriableError

__all__ = ["JDBC_SINK_CONFIG_DEF", "JdbcSinkConnector", "JdbcSinkTask"]

log = logging.getLogger(__name__)

JDBC_SINK_CONFIG_DEF = ConfigDef()
for _name, _type, _default, _validator, _doc in (
    ("connection.url", Type.STRING, ConfigDef.NO_DEFAULT_VALUE, None, "jdbc:postgresql://host:port/database"),
    ("connection.username", Type.STRING, None, None, "Database user"),
    ("connection.password", Type.PASSWORD, None, None, "Password of the user"),
    ("insert.mode", Type.STRING, "insert", CaseInsensitiveValidString.in_("insert", "upsert", "update"),
     "insert, upsert or update"),
    ("delete.enabled", Type.BOOLEAN, False, None, "Delete rows on delete events and tombstones"),
    ("truncate.enabled", Type.BOOLEAN, False, None, "Truncate tables on truncate events"),
    ("primary.key.mode", Type.STRING, "none",
     CaseInsensitiveValidString.in_("none", "kafka", "record_key", "record_value"),
     "Where the primary key columns come from"),
    ("primary.key.fields", Type.STRING, None, None, "Primary key field names (comma-separated)"),
    ("schema.evolution", Type.STRING, "none", CaseInsensitiveValidString.in_("none", "basic"),
     "none: tables must exist; basic: create tables and add missing columns"),
    ("collection.name.format", Type.STRING, "${topic}", None, "Destination table name pattern"),
    ("table.name.format", Type.STRING, None, None, "Older name of collection.name.format"),
    ("quote.identifiers", Type.BOOLEAN, False, None, "Keep the case of table and column names"),
    ("batch.size", Type.INT, 500, Range.at_least(1), "Rows per statement"),
):
    JDBC_SINK_CONFIG_DEF.define(_name, _type, _default, _validator, Importance.MEDIUM, _doc)

_SOURCE_FIELD = re.compile(r"\$\{source\.(\w+)\}")
_KAFKA_COLUMNS = ("__connect_topic", "__connect_partition", "__connect_offset")


@dataclass
class SinkSettings:
    """The parsed sink configuration."""

    dsn: dict[str, Any]
    insert_mode: str
    delete_enabled: bool
    truncate_enabled: bool
    pk_mode: str
    pk_fields: list[str]
    evolution: str
    name_format: str
    quote_identifiers: bool
    batch_size: int

    @classmethod
    def parse(cls, props: Mapping[str, str]) -> SinkSettings:
        """Parse and check ``props``.

        Raises:
            ConfigError: an invalid key or combination.
        """
        config = Config(JDBC_SINK_CONFIG_DEF, props)
        url = config.get_string("connection.url") or ""
        try:
            dsn = parse_jdbc_url(url)
        except ValueError as exc:
            raise ConfigError("connection.url", url, str(exc)) from exc
        if config.get_string("connection.username"):
            dsn["user"] = config.get_string("connection.username")
        password = config.get_password("connection.password")
        if password is not None:
            dsn["password"] = password.value()
        dsn.setdefault("connect_timeout", 30)
        dsn["options"] = "-c TimeZone=UTC"
        pk_mode = (config.get_string("primary.key.mode") or "none").lower()
        insert_mode = (config.get_string("insert.mode") or "insert").lower()
        delete_enabled = bool(config.get_boolean("delete.enabled"))
        if delete_enabled and pk_mode != "record_key":
            raise ConfigError("delete.enabled", "true",
                              "Deletes require primary.key.mode to be 'record_key'")
        if insert_mode in ("upsert", "update") and pk_mode == "none":
            raise ConfigError("insert.mode", insert_mode, "upsert and update need a primary.key.mode")
        fields = [f.strip() for f in (config.get_string("primary.key.fields") or "").split(",") if f.strip()]
        name_format = config.get_string("table.name.format") or config.get_string("collection.name.format") \
            or "${topic}"
        return cls(dsn, insert_mode, delete_enabled, bool(config.get_boolean("truncate.enabled")), pk_mode, fields,
                   (config.get_string("schema.evolution") or "none").lower(), name_format,
                   bool(config.get_boolean("quote.identifiers")), int(config.get_int("batch.size") or 500))


class JdbcSinkConnector(SinkConnector):
    """Debezium JDBC sink compatible connector for PostgreSQL (``io.debezium.connector.jdbc.JdbcSinkConnector``)."""

    def __init__(self) -> None:
        self._props: dict[str, str] = {}

    def version(self) -> str:
        """kcfast's version."""
        return __version__

    def config(self) -> ConfigDef:
        """The JDBC sink keys."""
        return JDBC_SINK_CONFIG_DEF

    def start(self, props: Mapping[str, str]) -> None:
        """Check the configuration."""
        SinkSettings.parse(props)
        self._props = dict(props)

    def task_class(self) -> type[Task]:
        """:class:`JdbcSinkTask`."""
        return JdbcSinkTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        """``max_tasks`` copies of the configuration."""
        return [dict(self._props) for _ in range(max_tasks)]

    def stop(self) -> None:
        """Nothing to release."""


@dataclass
class _Table:
    schema: str
    name: str
    columns: dict[str, str] = field(default_factory=dict)  # name -> type
    key: list[str] = field(default_factory=list)

    @property
    def qualified(self) -> str:
        return f"{quote(self.schema)}.{quote(self.name)}"


@dataclass
class _Change:
    """The last state of one key in a batch: the row to write (None: deleted), and whether to delete first."""

    key_names: tuple[str, ...]
    key_values: list[Any]
    key_schemas: tuple[Schema, ...]
    fields: tuple[str, ...] | None
    values: list[Any] | None
    schemas: tuple[Schema, ...] | None
    deleted: bool


class JdbcSinkTask(SinkTask):
    """Applies records to PostgreSQL, one transaction per ``put``. Runs on the worker's task thread only."""

    def __init__(self) -> None:
        self.settings: SinkSettings | None = None
        self._conn: Any = None
        self._tables: dict[str, _Table] = {}
        self._converters: dict[int, Any] = {}

    def version(self) -> str:
        """kcfast's version."""
        return __version__

    def start(self, props: Mapping[str, str]) -> None:
        """Connect to the database.

        Raises:
            ConnectError: the database cannot be reached or refuses the login.
        """
        import psycopg2

        self.settings = SinkSettings.parse(props)
        try:
            self._conn = psycopg2.connect(**self.settings.dsn)
        except psycopg2.OperationalError as exc:
            dsn = self.settings.dsn
            raise ConnectError(f"Unable to connect to PostgreSQL {dsn.get('host')}:{dsn.get('port')}/"
                               f"{dsn.get('dbname', '')}: {str(exc).strip()}") from exc

    # -- naming -----------------------------------------------------------------------------------------------

    def _ident(self, name: str) -> str:
        assert self.settings is not None
        return name if self.settings.quote_identifiers else name.lower()

    def _table_name(self, record: Any, value: Any) -> tuple[str, str]:
        assert self.settings is not None
        name = self.settings.name_format.replace("${topic}", record.topic.replace(".", "_"))
        if "${source." in name:
            source = value.get("source") if isinstance(value, Struct) and value.schema.field("source") else None
            name = _SOURCE_FIELD.sub(lambda m: str(source.get(m.group(1))) if source is not None else "", name)
        schema, _, table = name.rpartition(".")
        return self._ident(schema or "public"), self._ident(table)

    # -- records -> changes -----------------------------------------------------------------------------------

    def _key_of(self, record: Any, value: Struct | None) -> tuple[tuple[str, ...], list[Any], tuple[Schema, ...]]:
        assert self.settings is not None
        mode, wanted = self.settings.pk_mode, self.settings.pk_fields
        if mode == "kafka":
            return (_KAFKA_COLUMNS, [record.topic, record.kafka_partition, record.kafka_offset],
                    (Schema.STRING_SCHEMA, Schema.INT32_SCHEMA, Schema.INT64_SCHEMA))
        source = record.key if mode == "record_key" else value
        schema = record.key_schema if mode == "record_key" else (value.schema if value is not None else None)
        if source is None:
            raise ConnectError(f"Record at {record.topic}-{record.kafka_partition}@{record.kafka_offset} has no "
                               f"{'key' if mode == 'record_key' else 'value'} to take the primary key from")
        if not isinstance(source, Struct):
            if not wanted:
                raise ConnectError("primary.key.fields must name the column of a primitive key")
            return (self._ident(wanted[0]),), [source], (schema or Schema.STRING_SCHEMA,)
        fields = [f for f in source.schema.fields if not wanted or f.name in wanted]
        return (tuple(self._ident(f.name) for f in fields), [source._values[f.index] for f in fields],
                tuple(f.schema for f in fields))

    def _row_of(self, record: Any, row: Struct) -> tuple[tuple[str, ...], list[Any], tuple[Schema, ...]]:
        assert self.settings is not None
        fields = row.schema.fields
        names = tuple(self._ident(f.name) for f in fields)
        values = list(row._values)
        schemas = tuple(f.schema for f in fields)
        if self.settings.pk_mode in ("record_key", "kafka"):
            key_names, key_values, key_schemas = self._key_of(record, row)
            extra = [i for i, n in enumerate(key_names) if n not in names]
            if extra:
                names += tuple(key_names[i] for i in extra)
                values += [key_values[i] for i in extra]
                schemas += tuple(key_schemas[i] for i in extra)
        return names, values, schemas

    def put(self, records: Collection[Any]) -> None:
        """Write ``records`` in one transaction.

        Raises:
            ConnectError: a record cannot be written; nothing of the batch is committed.
            RetriableError: the connection failed; the worker retries the batch.
        """
        if not records:
            return
        assert self.settings is not None
        import psycopg2

        settings = self.settings
        keyed = settings.pk_mode != "none"
        changes: dict[tuple[str, str], dict[Any, _Change]] = {}
        appends: dict[tuple[str, str], list[tuple[tuple[str, ...], list[Any], tuple[Schema, ...]]]] = {}
        truncates: list[tuple[str, str]] = []
        for record in records:
            value = record.value
            schema = record.value_schema
            row: Struct | None
            op = None
            if value is None:
                if not settings.delete_enabled or record.key is None:
                    continue
                row, op = None, "d"
            elif isinstance(value, Struct) and schema is not None and (schema.name or "").endswith(".Envelope") \
                    and schema.field("op") is not None:
                op = value.get("op")
                if op == "t":
                    if settings.truncate_enabled:
                        truncates.append(self._table_name(record, value))
                        changes.pop(truncates[-1], None)
                        appends.pop(truncates[-1], None)
                    continue
                if op == "d":
                    if not settings.delete_enabled:
                        continue
                    row = None
                else:
                    row = value.get("after")
                    if row is None:
                        continue
            elif isinstance(value, Struct):
                row = value
            else:
                raise ConnectError(f"Record at {record.topic}-{record.kafka_partition}@{record.kafka_offset} has a "
                                   "value that is not a struct; the JDBC sink needs structs with schemas")
            table = self._table_name(record, value)
            if not keyed:
                assert row is not None
                appends.setdefault(table, []).append(self._row_of(record, row))
                continue
            key_names, key_values, key_schemas = self._key_of(record, row)
            ident = (key_names, tuple(_hashable(v) for v in key_values))
            per_table = changes.setdefault(table, {})
            previous = per_table.get(ident)
            deleted = previous is not None and previous.deleted
            if op == "d":
                per_table[ident] = _Change(key_names, key_values, key_schemas, None, None, None, True)
            else:
                assert row is not None
                names, values, schemas = self._row_of(record, row)
                per_table[ident] = _Change(key_names, key_values, key_schemas, names, values, schemas, deleted)
        try:
            with self._conn.cursor() as cur:
                for table in truncates:
                    info = self._table(cur, table, None, None)
                    if info is not None:
                        cur.execute(f"TRUNCATE TABLE {info.qualified}")
                for table, rows in appends.items():
                    self._write_rows(cur, table, rows, key_names=())
                for table, per_key in changes.items():
                    self._apply_changes(cur, table, per_key)
            self._conn.commit()
        except (ConnectError, RetriableError):
            self._rollback()
            raise
        except psycopg2.OperationalError as exc:
            self._rollback()
            raise RetriableError(f"Lost the connection while writing: {str(exc).strip()}") from exc
        except psycopg2.Error as exc:
            self._rollback()
            raise ConnectError(f"Cannot write the batch: {str(exc).strip()}") from exc

    def _rollback(self) -> None:
        try:
            self._conn.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone
            pass

    # -- writing ----------------------------------------------------------------------------------------------

    def _apply_changes(self, cur: Any, table: tuple[str, str], per_key: dict[Any, _Change]) -> None:
        from psycopg2.extras import execute_batch

        deletes: list[_Change] = []
        writes: list[tuple[tuple[str, ...], list[Any], tuple[Schema, ...]]] = []
        key_names: tuple[str, ...] = ()
        for change in per_key.values():
            key_names = change.key_names
            if change.deleted:
                deletes.append(change)
            if change.values is not None and change.fields is not None and change.schemas is not None:
                writes.append((change.fields, change.values, change.schemas))
        info = self._table(cur, table, writes[0] if writes else None, key_names)
        if info is None:
            return
        if deletes:
            first = deletes[0]
            converters = [self._converter(sc) for sc in first.key_schemas]
            where = " AND ".join(f"{quote(n)} = %s" for n in first.key_names)
            params = [[v if c is None or v is None else c(v) for c, v in zip(converters, d.key_values)]
                      for d in deletes]
            execute_batch(cur, f"DELETE FROM {info.qualified} WHERE {where}", params,
                          page_size=self.settings.batch_size if self.settings else 500)
        if writes:
            self._write_rows(cur, table, writes, key_names)

    def _converter(self, schema: Schema) -> Any:
        found = self._converters.get(id(schema))
        if found is None:
            found = (parameter_converter(schema) or False, schema)
            self._converters[id(schema)] = found
        return found[0] or None

    def _write_rows(self, cur: Any, table: tuple[str, str],
                    rows: list[tuple[tuple[str, ...], list[Any], tuple[Schema, ...]]],
                    key_names: tuple[str, ...]) -> None:
        from psycopg2.extras import execute_batch, execute_values

        assert self.settings is not None
        groups: dict[tuple[str, ...], list[tuple[list[Any], tuple[Schema, ...]]]] = {}
        for names, values, schemas in rows:
            groups.setdefault(names, []).append((values, schemas))
        for names, group in groups.items():
            info = self._table(cur, table, (names, group[0][0], group[0][1]), key_names)
            if info is None:
                continue
            converters = [self._converter(s) for s in group[0][1]]
            params = [[v if c is None or v is None else c(v) for c, v in zip(converters, values)]
                      for values, _ in group]
            columns = ", ".join(quote(n) for n in names)
            mode = self.settings.insert_mode
            if mode == "update" and key_names:
                others = [n for n in names if n not in key_names]
                if not others:
                    continue
                index = {n: i for i, n in enumerate(names)}
                sql = (f"UPDATE {info.qualified} SET " + ", ".join(f"{quote(n)} = %s" for n in others)
                       + " WHERE " + " AND ".join(f"{quote(k)} = %s" for k in key_names))
                execute_batch(cur, sql, [[p[index[n]] for n in others] + [p[index[k]] for k in key_names]
                                         for p in params], page_size=self.settings.batch_size)
                continue
            sql = f"INSERT INTO {info.qualified} ({columns}) VALUES %s"
            if mode == "upsert" and key_names:
                others = [n for n in names if n not in key_names]
                conflict = ", ".join(quote(k) for k in key_names)
                if others:
                    sql += f" ON CONFLICT ({conflict}) DO UPDATE SET " + ", ".join(
                        f"{quote(n)} = EXCLUDED.{quote(n)}" for n in others)
                else:
                    sql += f" ON CONFLICT ({conflict}) DO NOTHING"
            execute_values(cur, sql, params, page_size=self.settings.batch_size)

    def _table(self, cur: Any, table: tuple[str, str],
               sample: tuple[tuple[str, ...], list[Any], tuple[Schema, ...]] | None,
               key_names: tuple[str, ...] | None) -> _Table | None:
        """The destination table, created or widened when ``schema.evolution`` is ``basic``.

        Raises:
            ConnectError: the table or a column is missing and the schema may not evolve.
        """
        assert self.settings is not None
        schema_name, name = table
        info = self._tables.get(f"{schema_name}.{name}")
        if info is None:
            info = self._describe(cur, schema_name, name)
        if info is None:
            if sample is None:
                return None
            if self.settings.evolution != "basic":
                raise ConnectError(f"Table {schema_name}.{name} does not exist and schema.evolution is "
                                   f"'{self.settings.evolution}'; create it or set schema.evolution=basic")
            names, _, schemas = sample
            columns = [f"{quote(n)} {column_type(s)}{'' if s.optional else ' NOT NULL'}"
                       for n, s in zip(names, schemas)]
            if key_names:
                columns.append("PRIMARY KEY (" + ", ".join(quote(k) for k in key_names) + ")")
            cur.execute(f"CREATE TABLE IF NOT EXISTS {quote(schema_name)}.{quote(name)} ({', '.join(columns)})")
            log.info("Created table %s.%s", schema_name, name)
            info = self._describe(cur, schema_name, name)
            assert info is not None
        if sample is not None:
            names, _, schemas = sample
            missing = [(n, s) for n, s in zip(names, schemas) if n not in info.columns]
            if missing:
                if self.settings.evolution != "basic":
                    raise ConnectError(f"Table {schema_name}.{name} has no column(s) "
                                       f"{', '.join(n for n, _ in missing)} and schema.evolution is "
                                       f"'{self.settings.evolution}'")
                for n, s in missing:
                    cur.execute(f"ALTER TABLE {info.qualified} ADD COLUMN IF NOT EXISTS {quote(n)} {column_type(s)}")
                    info.columns[n] = column_type(s)
        self._tables[f"{schema_name}.{name}"] = info
        return info

    @staticmethod
    def _describe(cur: Any, schema: str, name: str) -> _Table | None:
        cur.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            (schema, name))
        rows = cur.fetchall()
        if not rows:
            return None
        return _Table(schema, name, dict(rows))

    def flush(self, current_offsets: Mapping[TopicPartition, int]) -> None:
        """Nothing to do: every ``put`` commits its transaction."""

    def stop(self) -> None:
        """Close the connection."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass


def _hashable(value: Any) -> Any:
    if isinstance(value, (list, dict, bytearray)):
        return repr(value)
    return value

