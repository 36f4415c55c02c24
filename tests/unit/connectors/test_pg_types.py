"""PostgreSQL column types -> Debezium's schemas and values; table event schemas; source config parsing."""

from __future__ import annotations

import base64
import datetime as dt
import decimal

import pytest

from kcfast.connectors.jdbc.dialect import column_type, parameter_converter, parse_jdbc_url
from kcfast.connectors.jdbc.sink import SinkSettings
from kcfast.connectors.postgres.catalog import ColumnInfo, TableInfo, TypeRegistry
from kcfast.connectors.postgres.config import PostgresSourceConfig, TableFilter
from kcfast.connectors.postgres.events import TableEvents, snapshot_marker, source_struct
from kcfast.connectors.postgres.pgoutput import UNCHANGED_TOAST
from kcfast.connectors.postgres.types import (
    BUILTIN_TYPES,
    MappingOptions,
    TypeInfo,
    map_column,
    parse_array,
)
from kcfast.data import Struct
from kcfast.errors import ConfigError


def _map(oid: int, typmod: int = -1, optional: bool = True, **options: object):  # type: ignore[no-untyped-def]
    types = dict(BUILTIN_TYPES)
    types[1007] = TypeInfo(1007, "_int4", "b", 0, -1, 23, "A")
    types[5000] = TypeInfo(5000, "mood", "e", enum_labels=("sad", "ok", "happy"))
    mapping = map_column(types[oid], typmod, optional, MappingOptions(**options), types.get)  # type: ignore[arg-type]
    assert mapping is not None
    return mapping


def test_numbers_in_each_decimal_mode() -> None:
    precise = _map(1700, ((10 << 16) | 2) + 4)
    assert precise.schema.name == "org.apache.kafka.connect.data.Decimal"
    assert precise.schema.parameters == {"scale": "2", "connect.decimal.precision": "10"}
    assert precise.convert("-12.50") == decimal.Decimal("-12.50")
    assert precise.convert("NaN") is None
    assert _map(1700, decimal_mode="double").convert("1.5") == 1.5
    assert _map(1700, decimal_mode="string").convert("1.50") == "1.50"
    variable = _map(1700)
    assert variable.schema.name == "io.debezium.data.VariableScaleDecimal"
    value = variable.convert("-1.005")
    assert isinstance(value, Struct) and value.get("scale") == 3
    assert int.from_bytes(value.get("value"), "big", signed=True) == -1005
    assert _map(21).convert("-3") == -3 and _map(20).schema.type.name == "INT64"
    assert _map(16).convert("t") is True and _map(16).convert("f") is False


def test_temporal_values_in_adaptive_and_connect_modes() -> None:
    assert _map(1082).schema.name == "io.debezium.time.Date"
    assert _map(1082).convert("1970-01-11") == 10
    ts = _map(1114)
    assert ts.schema.name == "io.debezium.time.MicroTimestamp"
    assert ts.convert("2018-06-20 15:13:16.945104") == 1529507596945104
    assert _map(1114, 3).schema.name == "io.debezium.time.Timestamp"
    assert _map(1114, 3).convert("2018-06-20 15:13:16.945") == 1529507596945
    assert _map(1114).convert("infinity") == 9223372036825200000
    assert _map(1083, 3).schema.name == "io.debezium.time.Time"
    assert _map(1083, 3).convert("10:11:12.345") == 36672345
    assert _map(1083).convert("10:11:12.5") == 36672500000
    assert _map(1083, 3, time_precision_mode="adaptive_time_microseconds").schema.name == "io.debezium.time.MicroTime"
    connect = _map(1114, time_precision_mode="connect")
    assert connect.schema.name == "org.apache.kafka.connect.data.Timestamp"
    assert connect.convert("2020-01-02 03:04:05.5") == dt.datetime(2020, 1, 2, 3, 4, 5, 500000)
    assert _map(1082, time_precision_mode="connect").convert("2020-01-02") == dt.date(2020, 1, 2)


def test_zoned_values_are_utc_iso_strings() -> None:
    tz = _map(1184)
    assert tz.schema.name == "io.debezium.time.ZonedTimestamp"
    assert tz.convert("2018-06-20 15:13:16.94+02") == "2018-06-20T13:13:16.940000Z"
    assert tz.convert("2018-06-20 23:30:00-05:30") == "2018-06-21T05:00:00.000000Z"
    assert _map(1184, 0).convert("2018-06-20 15:13:16+00") == "2018-06-20T15:13:16Z"
    assert _map(1266).convert("10:00:00.25+02") == "08:00:00.25Z"


def test_interval_bytea_bits_json_uuid_enum_array() -> None:
    assert _map(1186).convert("P1Y2M3DT4H5M6.5S") == int(
        ((((14 * 365.25 / 12 + 3) * 24 + 4) * 60 + 5) * 60 + 6.5) * 1e6)
    assert _map(1186, interval_mode="string").convert("P1Y2M3DT4H5M6.50S") == "P1Y2M3DT4H5M6.5S"
    assert _map(17).convert("\\x0102ff") == b"\x01\x02\xff"
    assert _map(17, binary_mode="base64").convert("\\x0102") == base64.b64encode(b"\x01\x02").decode()
    assert _map(17, binary_mode="hex").convert("\\x0102") == "0102"
    assert _map(1560, 1).convert("1") is True
    bits = _map(1560, 10)
    assert bits.schema.name == "io.debezium.data.Bits" and bits.schema.parameters == {"length": "10"}
    assert bits.convert("0000000101") == (5).to_bytes(2, "little")
    assert _map(3802).schema.name == "io.debezium.data.Json"
    assert _map(2950).schema.name == "io.debezium.data.Uuid"
    mood = _map(5000)
    assert mood.schema.name == "io.debezium.data.Enum" and mood.schema.parameters == {"allowed": "sad,ok,happy"}
    assert _map(1007).convert('{1,NULL,3}') == [1, None, 3]
    assert parse_array('{"a b","q\\"x",NULL,plain}') == ["a b", 'q"x', None, "plain"]
    assert not _map(23, optional=False).schema.optional and _map(23).schema.optional


def _table_events(**filters: str) -> TableEvents:
    table = TableInfo(1, "public", "orders", (
        ColumnInfo("id", 23, -1, False), ColumnInfo("name", 25, -1, False), ColumnInfo("note", 1043, 44, True)),
        ("id",))
    return TableEvents(table, "srv", TypeRegistry(), MappingOptions(), TableFilter(filters).captures_column)


def test_table_schemas_follow_debeziums_names_and_envelope_order() -> None:
    events = _table_events()
    assert events.topic == "srv.public.orders"
    assert events.key_schema is not None and events.key_schema.name == "srv.public.orders.Key"
    assert [f.name for f in events.key_schema.fields] == ["id"]
    assert events.value_schema.name == "srv.public.orders.Value" and events.value_schema.optional
    envelope = events.envelope_schema
    assert (envelope.name, envelope.version) == ("srv.public.orders.Envelope", 2)
    assert [f.name for f in envelope.fields] == ["before", "after", "source", "transaction", "op", "ts_ms",
                                                 "ts_us", "ts_ns"]
    row = events.row(["7", "ann", None])
    assert (row.get("id"), row.get("name"), row.get("note")) == (7, "ann", None)
    assert events.key(["7", "ann", None], row).get("id") == 7
    # An old row holding only the key: required columns take their type's empty value.
    assert events.row(["8", None, None]).get("name") == ""
    assert events.row(["9", UNCHANGED_TOAST, "x"], maybe_toast=True).get("name") == "__debezium_unavailable_value"
    narrowed = _table_events(**{"column.exclude.list": r"public\.orders\.note"})
    assert [f.name for f in narrowed.value_schema.fields] == ["id", "name"]
    assert narrowed.row(["1", "a", "dropped"]).get("name") == "a"


def test_source_block_fields_and_snapshot_markers() -> None:
    source = source_struct("srv", "db", "public", "orders", 1_700_000_000_123_456, None, 731, 500, 400)
    assert [f.name for f in source.schema.fields] == [
        "version", "connector", "name", "ts_ms", "snapshot", "db", "sequence", "ts_us", "ts_ns", "schema",
        "table", "txId", "lsn", "xmin", "origin", "origin_lsn"]
    assert source.schema.name == "io.debezium.connector.postgresql.Source"
    assert (source.get("connector"), source.get("ts_ms"), source.get("sequence")) == (
        "postgresql", 1_700_000_000_123, '["400","500"]')
    assert source.get("snapshot") == "false"  # the schema default of a streamed event
    assert snapshot_marker(True, False, True, False) == "first"
    assert snapshot_marker(False, True, False, True) == "last"
    assert snapshot_marker(True, True, True, True) == "last"
    assert snapshot_marker(False, False, True, False) == "first_in_data_collection"
    assert snapshot_marker(False, False, False, True) == "last_in_data_collection"
    assert snapshot_marker(False, False, False, False) == "true"


BASE = {"topic.prefix": "srv", "database.hostname": "h", "database.user": "u", "database.dbname": "d"}


def test_source_config_defaults_and_errors() -> None:
    config = PostgresSourceConfig.parse(BASE)
    assert (config.slot_name, config.publication_name, config.snapshot_mode) == ("debezium", "dbz_publication",
                                                                                 "initial")
    assert config.skipped_operations == frozenset({"t"}) and config.tombstones_on_delete
    assert config.heartbeat_topic == "__debezium-heartbeat.srv"
    with pytest.raises(ConfigError, match="slot.name"):
        PostgresSourceConfig.parse({**BASE, "slot.name": "Bad-Slot"})
    with pytest.raises(ConfigError, match="snapshot.mode"):
        PostgresSourceConfig.parse({**BASE, "snapshot.mode": "sometimes"})
    with pytest.raises(ConfigError, match="topic.prefix"):
        PostgresSourceConfig.parse({**BASE, "topic.prefix": "a b"})
    with pytest.raises(ConfigError, match="plugin.name"):
        PostgresSourceConfig.parse({**BASE, "plugin.name": "decoderbufs"})


def test_table_filter_uses_anchored_regexes() -> None:
    f = TableFilter({"table.include.list": r"public\.ord.*,inventory\.items"})
    assert f.captures_table("public", "orders") and f.captures_table("inventory", "items")
    assert not f.captures_table("public", "xorders") and not f.captures_table("pg_catalog", "pg_class")
    assert f.literal_tables == ["inventory.items"]
    g = TableFilter({"schema.exclude.list": "audit"})
    assert g.captures_table("public", "t") and not g.captures_table("audit", "t")


def test_sink_settings_urls_and_column_types() -> None:
    assert parse_jdbc_url("jdbc:postgresql://db.local:6543/app?user=x&sslmode=disable") == {
        "host": "db.local", "port": 6543, "dbname": "app", "user": "x", "sslmode": "disable"}
    with pytest.raises(ConfigError, match="delete.enabled"):
        SinkSettings.parse({"connection.url": "jdbc:postgresql://h/d", "delete.enabled": "true"})
    with pytest.raises(ConfigError, match="connection.url"):
        SinkSettings.parse({"connection.url": "jdbc:mysql://h/d"})
    settings = SinkSettings.parse({"connection.url": "jdbc:postgresql://h/d", "table.name.format": "x_${topic}"})
    assert settings.name_format == "x_${topic}" and settings.insert_mode == "insert"
    assert column_type(_map(1700, ((10 << 16) | 2) + 4).schema) == "numeric(10,2)"
    assert column_type(_map(1114).schema) == "timestamp(6)"
    assert column_type(_map(1007).schema) == "integer[]"
    micro = parameter_converter(_map(1114).schema)
    assert micro is not None and micro(1529507596945104) == dt.datetime(2018, 6, 20, 15, 13, 16, 945104)
    vsd = parameter_converter(_map(1700).schema)
    assert vsd is not None and vsd(_map(1700).convert("-1.005")) == decimal.Decimal("-1.005")
