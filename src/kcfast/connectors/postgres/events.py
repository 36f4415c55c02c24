"""Debezium's change event format: key and value schemas per table, the ``source`` block, envelopes, heartbeats.

For a table ``<schema>.<table>`` captured under ``topic.prefix`` P, events go to topic ``P.<schema>.<table>``
with:

- key schema ``P.<schema>.<table>.Key``: a struct of the primary key columns (no key for a table without one);
- value schema ``P.<schema>.<table>.Envelope`` (version 2): ``before`` and ``after`` (the optional row struct
  ``P.<schema>.<table>.Value``), ``source`` (``io.debezium.connector.postgresql.Source``), ``transaction``
  (``event.block``), ``op`` (``r`` snapshot read, ``c`` create, ``u`` update, ``d`` delete, ``t``
  truncate), ``ts_ms``, ``ts_us``, ``ts_ns`` (when the connector processed the event).
"""

from __future__ import annotations

import datetime as _dt
import decimal
from collections.abc import Callable
from typing import Any

from kcfast.connectors.postgres.catalog import TableInfo, TypeRegistry
from kcfast.connectors.postgres.pgoutput import UNCHANGED_TOAST
from kcfast.connectors.postgres.types import MappingOptions, map_column
from kcfast.data import Schema, SchemaBuilder, Struct, Type
from kcfast.errors import DataError

__all__ = [
    "DEBEZIUM_VERSION",
    "SOURCE_SCHEMA",
    "TableEvents",
    "heartbeat_schemas",
    "snapshot_marker",
    "source_struct",
]

#: The Debezium release whose event format this connector writes; it is the ``source.version`` value.
DEBEZIUM_VERSION = "3.6.1.Final"
UNAVAILABLE_VALUE = "__debezium_unavailable_value"

SNAPSHOT_VALUES = ("true", "first", "first_in_data_collection", "last_in_data_collection", "last", "false",
                   "incremental")

SNAPSHOT_SCHEMA = (SchemaBuilder.string().name("io.debezium.data.Enum").version(1)
                   .parameter("allowed", ",".join(SNAPSHOT_VALUES)).default_value("false").optional().build())

SOURCE_SCHEMA = (
    SchemaBuilder.struct().name("io.debezium.connector.postgresql.Source").version(1)
    .field("version", Schema.STRING_SCHEMA)
    .field("connector", Schema.STRING_SCHEMA)
    .field("name", Schema.STRING_SCHEMA)
    .field("ts_ms", Schema.INT64_SCHEMA)
    .field("snapshot", SNAPSHOT_SCHEMA)
    .field("db", Schema.STRING_SCHEMA)
    .field("sequence", Schema.OPTIONAL_STRING_SCHEMA)
    .field("ts_us", Schema.OPTIONAL_INT64_SCHEMA)
    .field("ts_ns", Schema.OPTIONAL_INT64_SCHEMA)
    .field("schema", Schema.STRING_SCHEMA)
    .field("table", Schema.STRING_SCHEMA)
    .field("txId", Schema.OPTIONAL_INT64_SCHEMA)
    .field("lsn", Schema.OPTIONAL_INT64_SCHEMA)
    .field("xmin", Schema.OPTIONAL_INT64_SCHEMA)
    .field("origin", Schema.OPTIONAL_STRING_SCHEMA)
    .field("origin_lsn", Schema.OPTIONAL_INT64_SCHEMA)
    .build()
)

TRANSACTION_SCHEMA = (
    SchemaBuilder.struct().optional().name("event.block").version(1)
    .field("id", Schema.STRING_SCHEMA)
    .field("total_order", Schema.INT64_SCHEMA)
    .field("data_collection_order", Schema.INT64_SCHEMA)
    .build()
)


def snapshot_marker(first_table: bool, last_table: bool, first_row: bool, last_row: bool) -> str:
    """The ``source.snapshot`` value of a snapshot record from its position in the snapshot."""
    if last_row and last_table:
        return "last"
    if first_row and first_table:
        return "first"
    if last_row:
        return "last_in_data_collection"
    if first_row:
        return "first_in_data_collection"
    return "true"


def _sequence(last_commit_lsn: int | None, lsn: int | None) -> str:
    first = "null" if last_commit_lsn is None else f'"{last_commit_lsn}"'
    second = "null" if lsn is None else f'"{lsn}"'
    return f"[{first},{second}]"


def source_struct(server: str, db: str, schema: str, table: str, ts_us: int, snapshot: str | None,
                  txid: int | None, lsn: int | None, last_commit_lsn: int | None) -> Struct:
    """The ``source`` block of one event (``ts_us``: commit time, or read time for a snapshot record)."""
    return Struct._from_values(SOURCE_SCHEMA, [
        DEBEZIUM_VERSION, "postgresql", server, ts_us // 1000, snapshot, db, _sequence(last_commit_lsn, lsn),
        ts_us, ts_us * 1000, schema, table, txid, lsn, None, None, None,
    ])


def heartbeat_schemas() -> tuple[Schema, Schema]:
    """Key and value schemas of heartbeat records."""
    key = SchemaBuilder.struct().name("io.debezium.connector.common.ServerNameKey").version(1) \
        .field("serverName", Schema.STRING_SCHEMA).build()
    value = SchemaBuilder.struct().name("io.debezium.connector.common.Heartbeat").version(1) \
        .field("ts_ms", Schema.INT64_SCHEMA).build()
    return key, value


def _fallback(schema: Schema) -> Any:
    """The value a required column takes when its value is absent (an old row holding only the key)."""
    name = schema.name
    if name == "org.apache.kafka.connect.data.Decimal":
        return decimal.Decimal(0).scaleb(-int((schema.parameters or {}).get("scale", "0")))
    if name == "org.apache.kafka.connect.data.Date":
        return _dt.date(1970, 1, 1)
    if name == "org.apache.kafka.connect.data.Time":
        return _dt.time(0)
    if name == "org.apache.kafka.connect.data.Timestamp":
        return _dt.datetime(1970, 1, 1)
    kind = schema.type
    if kind in (Type.INT8, Type.INT16, Type.INT32, Type.INT64):
        return 0
    if kind in (Type.FLOAT32, Type.FLOAT64):
        return 0.0
    if kind is Type.BOOLEAN:
        return False
    if kind is Type.STRING:
        return ""
    if kind is Type.BYTES:
        return b""
    if kind is Type.ARRAY:
        return []
    if kind is Type.MAP:
        return {}
    if kind is Type.STRUCT:
        return Struct._from_values(schema, [_fallback(f.schema) for f in schema.fields])
    return None


class TableEvents:
    """Schemas and row converters of one captured table; builds its key and row structs.

    Rows arrive as lists of text values in table column order (snapshot queries and pgoutput tuples list the
    same columns). Not thread-safe; used by the task's thread only.
    """

    def __init__(self, table: TableInfo, prefix: str, registry: TypeRegistry, options: MappingOptions,
                 column_filter: Callable[[str, str, str], bool]) -> None:
        self.table = table
        self.topic = f"{prefix}.{table.schema}.{table.name}"
        value_builder = SchemaBuilder.struct().name(f"{self.topic}.Value")
        key_builder = SchemaBuilder.struct().name(f"{self.topic}.Key")
        mappings = {}
        for column in table.columns:
            info = registry.get(column.type_oid)
            if info is None:
                continue
            mapping = map_column(info, column.type_modifier, column.nullable, options, registry.get)
            if mapping is not None:
                mappings[column.name] = mapping
        self.key_columns = [name for name in table.primary_key if name in mappings]
        for name in self.key_columns:
            column = next(c for c in table.columns if c.name == name)
            info = registry.get(column.type_oid)
            assert info is not None
            key_mapping = map_column(info, column.type_modifier, False, options, registry.get)
            assert key_mapping is not None
            key_builder.field(name, key_mapping.schema)
        self.key_schema: Schema | None = key_builder.build() if self.key_columns else None
        positions = {c.name: i for i, c in enumerate(table.columns)}
        plan = []
        for column in table.columns:
            mapping = mappings.get(column.name)
            if mapping is None or not column_filter(table.schema, table.name, column.name):
                continue
            value_builder.field(column.name, mapping.schema)
            plan.append((positions[column.name], mapping.convert, mapping.schema))
        self.value_schema = value_builder.optional().build()
        self.envelope_schema = (
            SchemaBuilder.struct().name(f"{self.topic}.Envelope").version(2)
            .field("before", self.value_schema).field("after", self.value_schema)
            .field("source", SOURCE_SCHEMA).field("transaction", TRANSACTION_SCHEMA)
            .field("op", Schema.STRING_SCHEMA).field("ts_ms", Schema.OPTIONAL_INT64_SCHEMA)
            .field("ts_us", Schema.OPTIONAL_INT64_SCHEMA).field("ts_ns", Schema.OPTIONAL_INT64_SCHEMA)
            .build()
        )
        self._plan = plan
        self._indexes = [p[0] for p in plan]
        self._converters = [p[1] for p in plan]
        self._fallbacks = [None if s.optional else _fallback(s) for _, _, s in plan]
        field_index = {name: i for i, name in enumerate(c.name for c in table.columns)}
        self._key_indexes = [field_index[n] for n in self.key_columns]
        key_positions = {n: i for i, (pos, _, _) in enumerate(plan)
                         for n in [table.columns[pos].name]}
        self._key_from_row = [key_positions.get(n) for n in self.key_columns]
        self._key_converters = [mappings[n].convert for n in self.key_columns]
        self._all_columns = len(plan) == len(table.columns)
        self._column_names = [c.name for c in table.columns]

    def row(self, texts: list[Any], maybe_toast: bool = False) -> Struct:
        """The row struct of ``texts`` (text values in table column order; None is NULL).

        ``maybe_toast``: the values may hold :data:`UNCHANGED_TOAST` (new rows of updates).
        """
        if maybe_toast and UNCHANGED_TOAST in texts:
            return self._row_slow(texts)
        converters = self._converters
        try:
            if self._all_columns:
                values = [None if t is None else conv(t) for conv, t in zip(converters, texts)]
            else:
                values = [None if (t := texts[i]) is None else conv(t)
                          for i, conv in zip(self._indexes, converters)]
        except Exception as exc:
            raise self._conversion_error(texts, exc) from exc
        if None in values:
            fallbacks = self._fallbacks
            values = [fallbacks[i] if v is None else v for i, v in enumerate(values)]
        return Struct._from_values(self.value_schema, values)

    def _row_slow(self, texts: list[Any]) -> Struct:
        values = []
        for (index, conv, schema), fallback in zip(self._plan, self._fallbacks):
            text = texts[index]
            if text is UNCHANGED_TOAST:
                kind = schema.type
                value: Any = (UNAVAILABLE_VALUE if kind is Type.STRING
                              else UNAVAILABLE_VALUE.encode() if kind is Type.BYTES else None)
            elif text is None:
                value = None
            else:
                try:
                    value = conv(text)
                except Exception as exc:
                    raise self._conversion_error(texts, exc) from exc
            values.append(fallback if value is None else value)
        return Struct._from_values(self.value_schema, values)

    def _conversion_error(self, texts: list[Any], exc: Exception) -> DataError:
        for index, conv, _ in self._plan:
            text = texts[index]
            if text is None or text is UNCHANGED_TOAST:
                continue
            try:
                conv(text)
            except Exception:  # noqa: BLE001 - locating the failing column
                column = self._column_names[index]
                return DataError(f"Cannot convert value {text!r} of column {self.table.schema}.{self.table.name}."
                                 f"{column}: {exc}")
        return DataError(f"Cannot convert a row of {self.table.schema}.{self.table.name}: {exc}")

    def key(self, texts: list[Any], row: Struct | None = None) -> Struct | None:
        """The key struct of a row given as texts (or taken from its already converted ``row``)."""
        if self.key_schema is None:
            return None
        if row is not None and None not in self._key_from_row:
            values = row._values
            return Struct._from_values(self.key_schema, [values[i] for i in self._key_from_row])  # type: ignore[index]
        return Struct._from_values(self.key_schema, [
            conv(texts[i]) for i, conv in zip(self._key_indexes, self._key_converters)])

    def envelope(self, before: Struct | None, after: Struct | None, source: Struct, op: str,
                 ts_us: int) -> Struct:
        """The event value."""
        return Struct._from_values(self.envelope_schema,
                                   [before, after, source, None, op, ts_us // 1000, ts_us, ts_us * 1000])
