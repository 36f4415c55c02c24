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
from collections.abc import Callable, Sequence
from typing import Any

from kcfast import core
from kcfast.connectors.postgres.catalog import TableInfo, TypeRegistry
from kcfast.connectors.postgres.types import ColumnMapping, MappingOptions, map_column
from kcfast.data import Schema, SchemaBuilder, Struct, Type

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


def _unavailable(schema: Schema) -> Any:
    """What an unchanged TOASTed value (not sent by the server) becomes: Debezium's placeholder."""
    if schema.type is Type.STRING:
        return UNAVAILABLE_VALUE
    if schema.type is Type.BYTES:
        return UNAVAILABLE_VALUE.encode()
    return None


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
    """Schemas and the record core's plan (:class:`kcfast.core.PgTable`) of one captured table.

    Rows arrive as text values in table column order (snapshot queries and pgoutput tuples list the same
    columns); the plan converts them with each column's converter from :mod:`.types` and builds the events.
    Immutable once built.
    """

    def __init__(self, table: TableInfo, prefix: str, registry: TypeRegistry, options: MappingOptions,
                 column_filter: Callable[[str, str, str], bool], db: str = "") -> None:
        self.table = table
        self.topic = f"{prefix}.{table.schema}.{table.name}"
        value_builder = SchemaBuilder.struct().name(f"{self.topic}.Value")
        key_builder = SchemaBuilder.struct().name(f"{self.topic}.Key")
        mappings: dict[str, ColumnMapping] = {}
        for column in table.columns:
            info = registry.get(column.type_oid)
            if info is None:
                continue
            mapping = map_column(info, column.type_modifier, column.nullable, options, registry.get)
            if mapping is not None:
                mappings[column.name] = mapping
        positions = {c.name: i for i, c in enumerate(table.columns)}
        self.key_columns = [name for name in table.primary_key if name in mappings]
        key_specs = []
        for name in self.key_columns:
            column = table.columns[positions[name]]
            info = registry.get(column.type_oid)
            assert info is not None
            key_mapping = map_column(info, column.type_modifier, False, options, registry.get)
            assert key_mapping is not None
            key_builder.field(name, key_mapping.schema)
            key_specs.append((name, positions[name], key_mapping.kind, key_mapping.arg, key_mapping.convert, None,
                              None))
        self.key_schema: Schema | None = key_builder.build() if self.key_columns else None
        value_specs = []
        for column in table.columns:
            mapping = mappings.get(column.name)
            if mapping is None or not column_filter(table.schema, table.name, column.name):
                continue
            value_builder.field(column.name, mapping.schema)
            value_specs.append((column.name, positions[column.name], mapping.kind, mapping.arg, mapping.convert,
                                None if mapping.schema.optional else _fallback(mapping.schema),
                                _unavailable(mapping.schema)))
        self.value_schema = value_builder.optional().build()
        self.envelope_schema = (
            SchemaBuilder.struct().name(f"{self.topic}.Envelope").version(2)
            .field("before", self.value_schema).field("after", self.value_schema)
            .field("source", SOURCE_SCHEMA).field("transaction", TRANSACTION_SCHEMA)
            .field("op", Schema.STRING_SCHEMA).field("ts_ms", Schema.OPTIONAL_INT64_SCHEMA)
            .field("ts_us", Schema.OPTIONAL_INT64_SCHEMA).field("ts_ns", Schema.OPTIONAL_INT64_SCHEMA)
            .build()
        )
        #: The arguments of the plan: ``kcfast.core.PgTable(*plan_args)`` (tests build it on both cores).
        self.plan_args = (self.topic, table.schema, table.name, self.key_schema, self.value_schema,
                          self.envelope_schema, SOURCE_SCHEMA, (DEBEZIUM_VERSION, "postgresql", prefix, db),
                          value_specs, key_specs)
        self.plan = core.PgTable(*self.plan_args)

    def row(self, texts: Sequence[Any], maybe_toast: bool = False) -> Struct:
        """The row struct of ``texts`` (text values in table column order; None is NULL,
        ``pgoutput.UNCHANGED_TOAST`` an unchanged TOASTed value). ``maybe_toast`` is accepted for callers of older
        releases; every row may hold unchanged values.

        Raises:
            DataError: a value cannot be converted; the message names the column.
        """
        return self.plan.row(texts)  # type: ignore[no-any-return]

    def key(self, texts: Sequence[Any], row: Struct | None = None) -> Struct | None:
        """The key struct of a row given as texts (None for a table without a primary key)."""
        return self.plan.key(texts)  # type: ignore[no-any-return]

    def envelope(self, before: Struct | None, after: Struct | None, source: Struct, op: str,
                 ts_us: int) -> Struct:
        """The event value."""
        return Struct._from_values(self.envelope_schema,
                                   [before, after, source, None, op, ts_us // 1000, ts_us, ts_us * 1000])
