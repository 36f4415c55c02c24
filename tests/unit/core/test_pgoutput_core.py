"""The record core's PostgreSQL CDC part: pgoutput messages and snapshot rows -> Debezium change events.

Every test runs on both implementations (``impl``); the property tests check that the compiled converters
give exactly the values (or the errors) of the columns' Python converters, which the twin calls for every
value, and that both cores build the same events from the same stream.
"""

from __future__ import annotations

import datetime as dt
import decimal
import struct
from collections import namedtuple
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kcfast import _core_py
from kcfast.connectors.postgres.catalog import ColumnInfo, TableInfo, TypeRegistry
from kcfast.connectors.postgres.events import SOURCE_SCHEMA, TableEvents, source_struct
from kcfast.connectors.postgres.types import BUILTIN_TYPES, KINDS, MappingOptions
from kcfast.data import Struct
from kcfast.errors import DataError

_core: ModuleType | None
try:
    from kcfast import _core
except ImportError:  # pragma: no cover - an install without the extension
    _core = None

Message = namedtuple("Message", "payload data_start")
PG_EPOCH_US = 946_684_800_000_000
NOW_US = 1_700_000_000_123_456
PARTITION = {"server": "srv"}
UNCHANGED = object()

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------------------------ pgoutput messages


def _tuple(values: tuple[Any, ...]) -> bytes:
    out = struct.pack(">h", len(values))
    for value in values:
        if value is None:
            out += b"n"
        elif value is UNCHANGED:
            out += b"u"
        else:
            data = value if isinstance(value, bytes) else str(value).encode()
            out += b"t" + struct.pack(">i", len(data)) + data
    return out


def begin(xid: int, commit_us: int) -> bytes:
    return b"B" + struct.pack(">QqI", 0, commit_us - PG_EPOCH_US, xid)


def commit() -> bytes:
    return b"C" + struct.pack(">BQQq", 0, 0, 0, 0)


def relation(relid: int, name: str = "orders") -> bytes:
    return b"R" + struct.pack(">I", relid) + b"public\x00" + name.encode() + b"\x00d" + struct.pack(">h", 0)


def insert(relid: int, *values: Any) -> bytes:
    return b"I" + struct.pack(">I", relid) + b"N" + _tuple(values)


def update(relid: int, new: tuple[Any, ...], old: tuple[Any, ...] | None = None, kind: bytes = b"K") -> bytes:
    head = b"U" + struct.pack(">I", relid)
    if old is None:
        return head + b"N" + _tuple(new)
    return head + kind + _tuple(old) + b"N" + _tuple(new)


def delete(relid: int, *old: Any, kind: bytes = b"K") -> bytes:
    return b"D" + struct.pack(">I", relid) + kind + _tuple(old)


def truncate(*relids: int) -> bytes:
    return b"T" + struct.pack(">IB", len(relids), 0) + b"".join(struct.pack(">I", r) for r in relids)


def stream(*payloads: bytes, lsn: int = 1000) -> list[Message]:
    """Messages at increasing LSNs (BEGIN and COMMIT too, as the server sends them)."""
    return [Message(p, lsn + 8 * i) for i, p in enumerate(payloads)]


# ------------------------------------------------------------------------------------------- tables


ORDERS = TableInfo(16384, "public", "orders", (
    ColumnInfo("id", 23, -1, False), ColumnInfo("name", 25, -1, False), ColumnInfo("amount", 1700, (10 << 16) + 6, True),
    ColumnInfo("at", 1114, -1, True), ColumnInfo("blob", 17, -1, True)), ("id",))


def events_of(table: TableInfo = ORDERS, **options: Any) -> TableEvents:
    return TableEvents(table, "srv", TypeRegistry(), MappingOptions(**options), lambda *a: True, "db")


def plan(impl: ModuleType, events: TableEvents | None = None) -> Any:
    return impl.PgTable(*(events or events_of()).plan_args)


def decoder(impl: ModuleType, table: Any, **kwargs: Any) -> Any:
    return impl.PgoutputDecoder(PARTITION, lambda payload: table, **kwargs)


def summary(record: Any) -> tuple[Any, ...]:
    """A record's fields, comparable across the two implementations."""
    return (record.topic, record.kafka_partition, record.key_schema, record.key, record.value_schema,
            record.value, record.timestamp, record.source_partition, record.source_offset)


# ---------------------------------------------------------------------------------------- streaming


def test_insert_update_delete_build_debeziums_events(impl: ModuleType) -> None:
    events = events_of()
    dec = decoder(impl, plan(impl, events))
    commit_us = 1_600_000_000_000_001
    records = dec.decode(stream(
        begin(731, commit_us), relation(16384),
        insert(16384, 7, "ann", "12.50", "2018-06-20 15:13:16.945104", "\\x01ff"),
        update(16384, (7, "bob", None, None, UNCHANGED)),
        delete(16384, 7, None, None, None, None),
        commit()), NOW_US)
    assert [r.value.get("op") if r.value is not None else None for r in records] == ["c", "u", "d", None]
    create, change, remove, tombstone = records
    assert {r.topic for r in records} == {"srv.public.orders"}
    assert create.key == Struct._from_values(events.key_schema, [7])
    assert create.key_schema is events.key_schema and create.value_schema is events.envelope_schema
    after = create.value.get("after")
    assert after.schema is events.value_schema
    assert after._values == [7, "ann", decimal.Decimal("12.50"), 1529507596945104, b"\x01\xff"]
    assert create.value.get("before") is None
    assert (create.value.get("ts_ms"), create.value.get("ts_us"), create.value.get("ts_ns")) == (
        NOW_US // 1000, NOW_US, NOW_US * 1000)
    assert create.timestamp == commit_us // 1000 and create.source_partition == PARTITION
    # An unchanged TOASTed column: Debezium's placeholder (as bytes for a bytes column).
    assert change.value.get("after")._values == [7, "bob", None, None, b"__debezium_unavailable_value"]
    assert change.value.get("before") is None
    # A delete with the key only: required columns take their type's empty value.
    assert remove.value.get("before")._values == [7, "", None, None, None]
    assert (tombstone.key, tombstone.key_schema, tombstone.value, tombstone.value_schema) == (
        remove.key, events.key_schema, None, None)
    assert tombstone.source_offset is remove.source_offset


def test_source_block_and_offsets_carry_debeziums_fields(impl: ModuleType) -> None:
    dec = decoder(impl, plan(impl))
    commit_us = 1_600_000_000_000_001
    msgs = stream(begin(731, commit_us), relation(16384), insert(16384, 1, "a", None, None, None),
                  insert(16384, 2, "b", None, None, None), commit(), begin(732, commit_us + 5),
                  insert(16384, 3, "c", None, None, None), commit())
    records = dec.decode(msgs, NOW_US)
    first, second, third = records
    lsn1, lsn2, commit1, lsn3 = msgs[2].data_start, msgs[3].data_start, msgs[4].data_start, msgs[6].data_start
    assert first.value.get("source") == source_struct("srv", "db", "public", "orders", commit_us, None, 731,
                                                       lsn1, None)
    assert first.value.get("source").get("sequence") == f'[null,"{lsn1}"]'
    assert third.value.get("source") == source_struct("srv", "db", "public", "orders", commit_us + 5, None, 732,
                                                       lsn3, commit1)
    assert list(first.source_offset.items()) == [
        ("lsn_proc", lsn1), ("messageType", "INSERT"), ("lsn_events_processed", 1), ("lsn", lsn1),
        ("txId", 731), ("ts_usec", commit_us)]
    assert second.source_offset["lsn_proc"] == lsn2
    assert list(third.source_offset.items()) == [
        ("lsn_proc", lsn3), ("messageType", "INSERT"), ("lsn_events_processed", 1), ("lsn_commit", commit1),
        ("lsn", lsn3), ("txId", 732), ("ts_usec", commit_us + 5)]
    # The latest position: the last COMMIT read, as Debezium's offsets record it.
    assert dec.offset == {"lsn_proc": msgs[7].data_start, "messageType": "COMMIT",
                          "lsn_commit": msgs[7].data_start, "lsn": msgs[7].data_start, "txId": 732,
                          "ts_usec": commit_us + 5}
    assert (dec.transaction_id, dec.commit_time_us, dec.last_commit_lsn) == (732, commit_us + 5,
                                                                            msgs[7].data_start)


def test_a_changed_primary_key_becomes_delete_tombstone_create(impl: ModuleType) -> None:
    events = events_of()
    dec = decoder(impl, plan(impl, events))
    records = dec.decode(stream(begin(1, NOW_US), relation(16384),
                                update(16384, (2, "x", None, None, None), old=(1, None, None, None, None)),
                                update(16384, (2, "y", None, None, None), old=(2, "x", None, None, None),
                                       kind=b"O")), NOW_US)
    ops = [(r.value.get("op") if r.value is not None else None, r.key.get("id")) for r in records]
    assert ops == [("d", 1), (None, 1), ("c", 2), ("u", 2)]
    assert records[0].value.get("before")._values == [1, "", None, None, None]
    assert records[3].value.get("before")._values == [2, "x", None, None, None]
    assert len({id(r.source_offset) for r in records[:3]}) == 1


def test_truncate_skipped_operations_and_tombstones_follow_the_config(impl: ModuleType) -> None:
    table = plan(impl)
    msgs = stream(begin(1, NOW_US), relation(16384), insert(16384, 1, "a", None, None, None),
                  delete(16384, 1, None, None, None, None), truncate(16384, 99))
    default = decoder(impl, table, skipped_operations=("t",)).decode(msgs, NOW_US)
    assert [r.value.get("op") if r.value else None for r in default] == ["c", "d", None]
    everything = decoder(impl, table, tombstones=False).decode(msgs, NOW_US)
    assert [r.value.get("op") for r in everything] == ["c", "d", "t"]
    trunc = everything[-1]
    assert (trunc.key, trunc.key_schema, trunc.value.get("before"), trunc.value.get("after")) == (None, None, None,
                                                                                                None)
    assert trunc.source_offset["messageType"] == "TRUNCATE"
    only_deletes = decoder(impl, table, skipped_operations=("c", "u", "t")).decode(msgs, NOW_US)
    assert [r.value.get("op") if r.value else None for r in only_deletes] == ["d", None]


def test_a_resumed_transaction_skips_the_events_already_emitted(impl: ModuleType) -> None:
    table = plan(impl)
    msgs = stream(begin(9, NOW_US), relation(16384), *[insert(16384, i, "v", None, None, None) for i in range(5)],
                  commit(), begin(10, NOW_US), insert(16384, 5, "v", None, None, None))
    dec = decoder(impl, table)
    dec.skip = (9, msgs[3].data_start, 1)  # the first two inserts were emitted before the restart
    dec.last_commit_lsn = 500
    records = dec.decode(msgs, NOW_US)
    assert [r.key.get("id") for r in records] == [2, 3, 4, 5]
    assert records[0].source_offset["lsn_commit"] == 500
    assert dec.skip is None  # the COMMIT of the resumed transaction ends the skipping


def test_read_stops_at_its_limits_and_says_when_the_stream_is_drained(impl: ModuleType) -> None:
    pending = stream(begin(1, NOW_US), relation(16384), *[insert(16384, i, "v", None, None, None) for i in range(10)])
    dec = decoder(impl, plan(impl))
    records = dec.read(lambda: pending.pop(0) if pending else None, 4, 100, NOW_US)
    assert len(records) == 4 and not dec.drained
    assert len(dec.read(lambda: pending.pop(0) if pending else None, 100, 3, NOW_US)) == 3
    assert len(dec.read(lambda: pending.pop(0) if pending else None, 100, 100, NOW_US)) == 3 and dec.drained


def test_relations_that_are_not_captured_or_unknown_are_skipped(impl: ModuleType) -> None:
    seen: list[bytes] = []

    def on_relation(payload: bytes) -> Any:
        seen.append(payload)
        return None

    dec = impl.PgoutputDecoder(PARTITION, on_relation)
    msgs = stream(begin(1, NOW_US), relation(5, "skipped"), insert(5, 1), insert(6, 1), truncate(5, 6), commit())
    assert dec.decode(msgs, NOW_US) == []
    assert seen == [msgs[1].payload] and dec.table(5) is None
    with pytest.raises(TypeError, match="PgTable"):
        impl.PgoutputDecoder(PARTITION, lambda p: "a table").decode(stream(relation(5)), NOW_US)


@pytest.mark.parametrize("payload, message", [
    (b"", "empty message"),
    (b"Z", "unknown message kind 'Z'"),
    (b"B\x00\x01", "truncated message"),
    (b"C" + b"\x00" * 10, "truncated message"),
    (b"I\x00\x00\x40", "truncated message"),
    (insert(16384, 1)[:-1], "truncated message"),
    (b"I" + struct.pack(">I", 16384) + b"N" + struct.pack(">h", 1) + b"t" + struct.pack(">i", -5), "truncated"),
    (b"I" + struct.pack(">I", 16384) + b"N" + struct.pack(">h", 1) + b"b", "unexpected tuple column kind 'b'"),
    (b"I" + struct.pack(">I", 16384) + b"X" + _tuple((1,)), "unexpected tuple marker 'X'"),
    (truncate(1, 2)[:-2], "truncated message"),
    (insert(16384, 1, "a"), "has 2 columns, 5 expected"),
])
def test_malformed_messages_raise_data_errors(impl: ModuleType, payload: bytes, message: str) -> None:
    dec = decoder(impl, plan(impl))
    dec.decode(stream(relation(16384)), NOW_US)
    with pytest.raises(DataError, match=message):
        dec.decode([Message(payload, 1)], NOW_US)
    with pytest.raises(TypeError, match="bytes"):
        dec.decode([Message("I", 1)], NOW_US)


def test_a_value_that_cannot_be_converted_names_its_column(impl: ModuleType) -> None:
    dec = decoder(impl, plan(impl))
    bad = stream(relation(16384), insert(16384, 1, "a", "12.5", "2020-02-30 00:00:00", None))
    with pytest.raises(DataError, match=r"value '2020-02-30 00:00:00' of column public\.orders\.at: day is out"):
        dec.decode(bad, NOW_US)
    with pytest.raises(DataError, match=r"value b'\\xff' of column public\.orders\.name: 'utf-8' codec"):
        dec.decode(stream(insert(16384, 1, b"\xff", None, None, None)), NOW_US)
    with pytest.raises(DataError, match=r"value 'x' of column public\.orders\.id: invalid literal"):
        plan(impl).row(["x", "a", None, None, None])


def test_snapshot_records_mark_first_and_last_rows(impl: ModuleType) -> None:
    events = events_of()
    table = plan(impl, events)
    rows = [("1", "a", "1.5", "2020-01-02 03:04:05", None), ("2", "b", None, None, "\\x00"), ("3", "c", None, None, None)]
    records = table.snapshot_records(rows, PARTITION, 4242, 77, NOW_US, "first", "last", True)
    assert [r.value.get("source").get("snapshot") for r in records] == ["first", "true", "last"]
    assert [r.value.get("op") for r in records] == ["r"] * 3
    assert [r.key.get("id") for r in records] == [1, 2, 3]
    assert records[0].value.get("after")._values == [1, "a", decimal.Decimal("1.5"), 1577934245000000, None]
    assert records[0].value.get("source") == source_struct("srv", "db", "public", "orders", NOW_US, "first", 77,
                                                           4242, None)
    assert [r.source_offset["last_snapshot_record"] for r in records] == [False, False, True]
    assert list(records[0].source_offset.items()) == [
        ("last_snapshot_record", False), ("lsn", 4242), ("txId", 77), ("ts_usec", NOW_US),
        ("snapshot", "INITIAL"), ("snapshot_completed", False)]
    assert records[0].timestamp == NOW_US // 1000
    single = table.snapshot_records(rows[:1], PARTITION, 1, 1, NOW_US, "last", "ignored", False)
    assert single[0].value.get("source").get("snapshot") == "last"
    assert not single[0].source_offset["last_snapshot_record"]


def test_plans_reject_unknown_kinds_and_take_key_columns_outside_the_value(impl: ModuleType) -> None:
    events = events_of()
    name, position, _, arg, convert, fallback, unavailable = events.plan_args[8][0]
    args = list(events.plan_args)
    args[8] = [(name, position, "mystery", arg, convert, fallback, unavailable)]
    with pytest.raises(ValueError, match="mystery"):
        impl.PgTable(*args)
    narrowed = events_of()
    narrowed_args = list(narrowed.plan_args)
    narrowed_args[8] = narrowed_args[8][1:]  # the key column `id` is not in the value struct
    table = impl.PgTable(*narrowed_args)
    assert table.key(["41", "n", None, None, None]).get("id") == 41
    assert table.row(["41", "n", None, None, None])._values == ["n", None, None, None]


# ---------------------------------------------------------------------------- column converters


TEXTS: dict[str, list[str]] = {
    "int": ["0", "-1", "007", "123456789012345678", "9223372036854775807", "-9223372036854775808",
            "99999999999999999999", "+5", " 5", "1_000", "", "-", "x", "١٢"],
    "float": ["1.5", "-0", "NaN", "Infinity", "-Infinity", "1e308", "1e309", "4.9e-324", "3.4028235e+38", "",
              "abc", " 1", "1_0", "0x10", "1" * 70, "1.5x"],
    "bool": ["t", "f", "", "true", "tt"],
    "decimal": ["12.50", "-0.01", "NaN", "1e5", "Infinity", "0", "abc"],
    "date": ["1970-01-01", "2024-02-29", "2023-02-29", "0001-01-01", "9999-12-31", "infinity", "-infinity",
             "2000-01-01 BC", "10000-01-01", "1969-12-31", "1900-03-01", "2000-13-01", "abcd-ef-gh", "0000-01-01"],
    "time": ["00:00:00", "23:59:59.999999", "24:00:00", "12:34:56.5", "12:34:56.123", "1:2:3", "12:34:56.",
             "12:34:56.1234567", "12-34-56"],
    "timestamp": ["2018-06-20 15:13:16.945104", "1969-12-31 23:59:59.9995", "0001-01-01 00:00:00",
                  "9999-12-31 23:59:59.999999", "infinity", "-infinity", "2000-01-01 00:00:00 BC",
                  "10000-01-01 00:00:00", "2018-06-20T15:13:16", "2018-06-20 15:13:16.5", "2018-02-30 00:00:00"],
    "timestamptz": ["2018-06-20 15:13:16.94+02", "2018-06-20 23:30:00-05:30", "2018-06-20 15:13:16+00",
                    "1000-01-01 00:30:00+01", "9999-12-31 23:30:00-01", "infinity", "-infinity",
                    "2018-06-20 15:13:16.123456+05:30:15", "2018-06-20 15:13:16", "1970-01-01 00:00:00.000001+00",
                    "2018-06-20 15:13:16+2"],
    "bytea": ["\\x", "\\x0102ff", "\\xABcd", "\\x0", "\\xzz", "abc", "\\x01 02"],
    "text": ["", "héllo", "a\nb", "NULL"],
}
BIT_ARRAY_ETC = {  # types the core leaves to the Python converter
    790: ["$1,234.50", "-$0.99"], 1186: ["P1Y2M3DT4H5M6.5S", "PT0S"], 1560: ["1", "0"], 1562: ["0101"],
    1266: ["10:00:00.25+02"], 3802: ['{"a": 1}'], 2950: ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"],
}
TYPE_TEXTS: list[tuple[int, int, str]] = (
    [(oid, -1, t) for oid in (20, 21, 23, 26) for t in TEXTS["int"]]
    + [(oid, -1, t) for oid in (700, 701) for t in TEXTS["float"]]
    + [(16, -1, t) for t in TEXTS["bool"]]
    + [(1700, typmod, t) for typmod in (-1, (10 << 16) + 6) for t in TEXTS["decimal"]]
    + [(1082, -1, t) for t in TEXTS["date"]]
    + [(1083, typmod, t) for typmod in (-1, 3) for t in TEXTS["time"]]
    + [(1114, typmod, t) for typmod in (-1, 0, 3) for t in TEXTS["timestamp"]]
    + [(1184, typmod, t) for typmod in (-1, 0, 1, 3, 6) for t in TEXTS["timestamptz"]]
    + [(17, -1, t) for t in TEXTS["bytea"]]
    + [(oid, -1, t) for oid in (25, 1043, 114) for t in TEXTS["text"]]
    + [(oid, 1 if oid == 1560 else -1, t) for oid, texts in BIT_ARRAY_ETC.items() for t in texts]
)
OPTION_SETS = [
    {},
    {"decimal_mode": "double"}, {"decimal_mode": "string"},
    {"time_precision_mode": "adaptive_time_microseconds"}, {"time_precision_mode": "connect"},
    {"time_precision_mode": "microseconds"}, {"time_precision_mode": "nanoseconds"},
    {"time_precision_mode": "isostring"},
    {"binary_mode": "base64"}, {"binary_mode": "hex"}, {"interval_mode": "string"},
]


def _one_column(oid: int, typmod: int, **options: Any) -> TableEvents:
    table = TableInfo(1, "public", "t", (ColumnInfo("c", oid, typmod, True),), ())
    return events_of(table, **options)


def _norm(value: Any) -> Any:
    """A value comparable across implementations: types kept, NaN equal to NaN."""
    if isinstance(value, Struct):
        return ("Struct", value.schema, [_norm(v) for v in value._values])
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return (type(value), repr(value))


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """The value of a row (its field values) or the error."""
    try:
        value = call()
    except DataError as exc:
        return ("error", str(exc))
    return ("value", _norm(value._values))


def _expected(events: TableEvents, text: str) -> tuple[str, Any]:
    """The Python converter's result for the one column of ``events``, as the plan must give it."""
    _, _, _, _, convert, fallback, _ = events.plan_args[8][0]
    try:
        value = convert(text)
    except Exception as exc:  # noqa: BLE001 - the plan's DataError carries the same message
        return ("error", f"Cannot convert value {text!r} of column public.t.c: {exc}")
    return ("value", _norm([fallback if value is None else value]))


@pytest.mark.parametrize("options", OPTION_SETS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_every_type_mapping_gives_the_python_converters_values(impl: ModuleType, options: dict[str, Any]) -> None:
    for oid, typmod, text in TYPE_TEXTS:
        events = _one_column(oid, typmod, **options)
        table = plan(impl, events)
        expected = _expected(events, text)
        assert _outcome(lambda t=table, x=text: t.row([x])) == expected, (oid, typmod, text)
        dec = decoder(impl, table)
        streamed = _outcome(lambda d=dec, x=text: d.decode(stream(relation(1), insert(1, x)), NOW_US)[0].value.get(
            "after"))
        assert streamed == expected, (oid, typmod, text)


def test_mappings_name_kinds_the_core_knows() -> None:
    seen = set()
    for options in OPTION_SETS:
        for oid in BUILTIN_TYPES:
            for typmod in (-1, 0, 3, (10 << 16) + 6):
                seen.add(_one_column(oid, typmod, **options).plan_args[8][0][2])
    assert seen == set(KINDS)


# ------------------------------------------------------------------------- compiled vs twin (property)


needs_compiled = pytest.mark.skipif(_core is None, reason="the compiled core is not built")

FORMS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True).map(repr),
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str),
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat(sep=" ")),
    st.tuples(st.datetimes(), st.integers(-15, 15), st.sampled_from(["", ":30", ":45:10"])).map(
        lambda t: f"{t[0].isoformat(sep=' ')}{'+' if t[1] >= 0 else '-'}{abs(t[1]):02d}{t[2]}"),
    st.times().map(lambda t: t.isoformat()),
    st.binary(max_size=8).map(lambda b: "\\x" + b.hex()),
    st.text(alphabet="0123456789-:. +TZNaIfinty\\xabc", max_size=30),
    st.text(max_size=10),
)
KIND_TYPES = [(20, -1), (701, -1), (700, -1), (16, -1), (1700, (12 << 16) + 6), (1082, -1), (1083, 3), (1083, -1),
              (1114, 3), (1114, -1), (1184, 0), (1184, 2), (1184, -1), (17, -1), (25, -1)]


@needs_compiled
@SETTINGS
@given(text=FORMS, column=st.sampled_from(KIND_TYPES), nanos=st.booleans())
def test_compiled_converters_equal_the_python_converters(text: str, column: tuple[int, int], nanos: bool) -> None:
    events = _one_column(*column, **({"time_precision_mode": "nanoseconds"} if nanos else {}))
    expected = _expected(events, text)
    for impl in (_core, _core_py):
        table = plan(impl, events)
        assert _outcome(lambda t=table: t.row([text])) == expected
        dec = decoder(impl, table)
        assert _outcome(lambda d=dec: d.decode(stream(relation(1), insert(1, text)), NOW_US)[0].value.get(
            "after")) == expected


ROW = st.tuples(st.integers(-5, 5), st.sampled_from(["a", "b", None]),
                st.one_of(st.none(), st.decimals(-1000, 1000, places=2).map(str)),
                st.one_of(st.none(), st.datetimes(dt.datetime(1900, 1, 1)).map(lambda d: d.isoformat(sep=" "))),
                st.one_of(st.none(), st.just(UNCHANGED), st.binary(max_size=4).map(lambda b: "\\x" + b.hex())))
CHANGE = st.one_of(
    ROW.map(lambda r: insert(16384, *r)),
    st.tuples(ROW, st.one_of(st.none(), ROW), st.sampled_from([b"K", b"O"])).map(
        lambda t: update(16384, t[0], None if t[1] is None else tuple(v if v is not UNCHANGED else None for v in t[1]),
                         t[2])),
    ROW.map(lambda r: delete(16384, *(v if v is not UNCHANGED else None for v in r))),
    st.just(truncate(16384)),
    st.just(commit()),
    st.integers(1, 2**31).map(lambda x: begin(x, NOW_US + x)),
)


@needs_compiled
@SETTINGS
@given(changes=st.lists(CHANGE, max_size=12), skipped=st.sets(st.sampled_from("cudt")), tombstones=st.booleans(),
       skip=st.one_of(st.none(), st.tuples(st.integers(1, 2**31), st.integers(1000, 1100), st.integers(0, 3))))
def test_both_cores_build_the_same_events_from_the_same_stream(changes: list[bytes], skipped: set[str],
                                                               tombstones: bool, skip: Any) -> None:
    events = events_of()
    msgs = stream(relation(16384), *changes)
    results = []
    for impl in (_core, _core_py):
        dec = decoder(impl, plan(impl, events), tombstones=tombstones, skipped_operations=skipped)
        dec.skip = skip
        try:
            records = [summary(r) for r in dec.decode(msgs, NOW_US)]
        except DataError as exc:
            records = [str(exc)]
        results.append((records, dec.offset, dec.skip, dec.transaction_id, dec.last_commit_lsn))
    assert results[0] == results[1]


def test_source_template_matches_the_source_schema() -> None:
    assert [f.name for f in SOURCE_SCHEMA.fields][3:13] == [
        "ts_ms", "snapshot", "db", "sequence", "ts_us", "ts_ns", "schema", "table", "txId", "lsn"]


@needs_compiled
def test_compiled_events_are_left_out_of_the_cyclic_gc() -> None:
    import gc

    dec = decoder(_core, plan(_core))
    record = dec.decode(stream(relation(16384), insert(16384, 1, "a", "1.5", None, None)), NOW_US)[0]
    value = record.value
    assert not any(gc.is_tracked(o) for o in (record, value, value.get("after"), value.get("source"), record.key))
    assert value.get("after").get("amount") == decimal.Decimal("1.5")  # still reference-counted and alive
