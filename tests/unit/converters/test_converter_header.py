"""SimpleHeaderConverter: text out with Values.convert_to_string, inferred types back with Values.parse_string."""

from __future__ import annotations

import datetime as dt

import pytest

from kcfast.converters import SimpleHeaderConverter
from kcfast.data import Date, Schema, SchemaAndValue, SchemaBuilder, Struct, Timestamp

UTC = dt.UTC


@pytest.fixture
def converter() -> SimpleHeaderConverter:
    conv = SimpleHeaderConverter()
    conv.configure({})
    return conv


@pytest.mark.parametrize(
    ("schema", "value", "raw"),
    [
        (Schema.STRING_SCHEMA, "hello world", b"hello world"),
        (Schema.INT32_SCHEMA, 42, b"42"),
        (Schema.FLOAT32_SCHEMA, 0.1, b"0.1"),
        (Schema.FLOAT64_SCHEMA, 1e7, b"1.0E7"),
        (Schema.BOOLEAN_SCHEMA, True, b"true"),
        (Schema.BYTES_SCHEMA, b"\x00\x01", b"AAE="),
        (SchemaBuilder.array(Schema.STRING_SCHEMA).build(), ["a", 'b"'], b'["a","b\\""]'),
        (SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.INT64_SCHEMA).build(), {"a": 1}, b'{"a":1}'),
        (Date.SCHEMA, dt.date(2024, 1, 15), b"2024-01-15"),
        (Timestamp.SCHEMA, dt.datetime(2024, 1, 15, 1, 2, 3, 4000, tzinfo=UTC), b"2024-01-15T01:02:03.004Z"),
        (None, "é", "é".encode()),
    ],
)
def test_writes_values_as_text(converter: SimpleHeaderConverter, schema: Schema | None, value: object,
                               raw: bytes) -> None:
    assert converter.from_connect_header("t", "h", schema, value) == raw


def test_struct_is_written_as_json_like_text(converter: SimpleHeaderConverter) -> None:
    schema = SchemaBuilder.struct().field("a", Schema.INT8_SCHEMA).field("b", Schema.OPTIONAL_STRING_SCHEMA).build()
    assert converter.from_connect_header("t", "h", schema, Struct(schema).put("a", 1)) == b'{"a":1,"b":null}'


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"true", SchemaAndValue(Schema.BOOLEAN_SCHEMA, True)),
        (b"42", SchemaAndValue(Schema.INT8_SCHEMA, 42)),
        (b"4200000000", SchemaAndValue(Schema.INT64_SCHEMA, 4_200_000_000)),
        (b"hello", SchemaAndValue(Schema.STRING_SCHEMA, "hello")),
        (b"2024-01-15", SchemaAndValue(Date.SCHEMA, dt.date(2024, 1, 15))),
        (b"[1,2]", SchemaAndValue(SchemaBuilder.array(Schema.INT8_SCHEMA).build(), [1, 2])),
    ],
)
def test_reads_with_type_inference(converter: SimpleHeaderConverter, raw: bytes, expected: SchemaAndValue) -> None:
    assert converter.to_connect_header("t", "h", raw) == expected


def test_nulls(converter: SimpleHeaderConverter) -> None:
    assert converter.from_connect_header("t", "h", Schema.OPTIONAL_STRING_SCHEMA, None) is None
    assert converter.to_connect_header("t", "h", None) == SchemaAndValue.NULL
    assert converter.to_connect_header("t", "h", b"null") == SchemaAndValue.NULL


def test_invalid_utf8_is_replaced(converter: SimpleHeaderConverter) -> None:
    assert converter.to_connect_header("t", "h", b"a\xffb") == SchemaAndValue(Schema.STRING_SCHEMA, "a\ufffdb")
