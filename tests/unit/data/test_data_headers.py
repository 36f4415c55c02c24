"""ConnectHeaders and Header, with Kafka's semantics."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from kcfast.data import ConnectHeaders, Date, Decimal, Header, Schema, SchemaAndValue, SchemaBuilder, Struct
from kcfast.errors import DataError


def test_typed_adders_set_schemas() -> None:
    headers = (
        ConnectHeaders()
        .add_string("s", "x").add_boolean("b", True).add_byte("i8", 1).add_short("i16", 2).add_int("i32", 3)
        .add_long("i64", 4).add_float("f32", 1.5).add_double("f64", 2.5).add_bytes("raw", b"\x00")
        .add_decimal("d", decimal.Decimal("1.50")).add_date("day", dt.date(2024, 1, 2))
        .add_time("t", dt.time(1, 2)).add_timestamp("ts", dt.datetime(2024, 1, 2, 3))
    )
    schemas = {h.key: h.schema for h in headers}
    assert schemas["s"] == Schema.STRING_SCHEMA
    assert schemas["i8"] == Schema.INT8_SCHEMA and schemas["f32"] == Schema.FLOAT32_SCHEMA
    assert schemas["d"] == Decimal.schema(2)
    assert schemas["day"] == Date.SCHEMA
    assert len(headers) == 13 and headers.size() == 13 and not headers.is_empty()


def test_null_string_gets_optional_schema() -> None:
    header = ConnectHeaders().add_string("s", None).last_with_name("s")
    assert header is not None and header.schema == Schema.OPTIONAL_STRING_SCHEMA and header.value is None


def test_add_checks_schema_against_value() -> None:
    headers = ConnectHeaders()
    headers.add("a", 5, Schema.INT32_SCHEMA)
    headers.add("b", SchemaAndValue(Schema.STRING_SCHEMA, "x"))
    headers.add("c", None, None)
    with pytest.raises(DataError, match="is not compatible with the schema"):
        headers.add("d", "5", Schema.INT32_SCHEMA)
    with pytest.raises(DataError, match="A null value requires an optional schema"):
        headers.add("e", None, Schema.INT32_SCHEMA)
    with pytest.raises(DataError, match="not a valid INT8 value"):
        headers.add_byte("f", 300)
    assert [h.key for h in headers] == ["a", "b", "c"]


def test_struct_header_schema_comes_from_the_struct() -> None:
    schema = SchemaBuilder.struct().field("x", Schema.INT8_SCHEMA).build()
    value = Struct(schema).put("x", 1)
    header = Header("k", SchemaAndValue(None, value))
    assert header.schema == schema
    assert ConnectHeaders().add_struct("k", value).last_with_name("k") == Header("k", SchemaAndValue(schema, value))


def test_lookup_remove_retain_and_apply() -> None:
    headers = ConnectHeaders().add_int("a", 1).add_int("b", 2).add_int("a", 3).add_int("c", 4).add_int("a", 5)
    last = headers.last_with_name("a")
    assert last is not None and last.value == 5
    assert [h.value for h in headers.all_with_name("a")] == [1, 3, 5]
    assert headers.last_with_name("zzz") is None

    copy = headers.duplicate().retain_latest("a")
    assert [(h.key, h.value) for h in copy] == [("b", 2), ("c", 4), ("a", 5)]
    assert len(headers) == 5

    latest = headers.duplicate().add_int("b", 6).retain_latest()
    assert [(h.key, h.value) for h in latest] == [("c", 4), ("a", 5), ("b", 6)]

    doubled = headers.duplicate().apply("a", lambda h: h.with_value(Schema.INT32_SCHEMA, h.value * 2))
    assert [h.value for h in doubled] == [2, 2, 6, 4, 10]
    dropped = headers.duplicate().apply(lambda h: None if h.key == "a" else h.rename("z"))
    assert [(h.key, h.value) for h in dropped] == [("z", 2), ("z", 4)]

    assert [h.key for h in headers.duplicate().remove("a")] == ["b", "c"]
    assert headers.duplicate().clear().is_empty()


def test_equality() -> None:
    a = ConnectHeaders().add_string("k", "v")
    b = ConnectHeaders().add_string("k", "v")
    assert a == b
    assert a != ConnectHeaders().add_string("k", "w")
    assert ConnectHeaders() == ConnectHeaders()


def test_null_key_rejected() -> None:
    with pytest.raises(DataError, match="Null header keys"):
        Header(None)  # type: ignore[arg-type]
