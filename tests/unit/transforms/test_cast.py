"""Cast$Key / $Value: Java's narrowing and parsing rules, whole-value and per-field casts, and errors."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re

import pytest
from transform_helpers import configured

from kcfast.data import Date, Decimal, Schema, SchemaBuilder, Struct, Time, Timestamp, to_float32
from kcfast.data.schema import Type
from kcfast.errors import ConfigError, DataError
from kcfast.transforms.cast import CastKey, CastValue, cast_value

INPUTS = "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]"
OUTPUTS = "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]"


@pytest.mark.parametrize(
    ("schema", "value", "target", "expected"),
    [
        (Schema.INT64_SCHEMA, 300, Type.INT8, 44),  # wraps like (byte)
        (Schema.INT32_SCHEMA, -129, Type.INT8, 127),
        (Schema.INT64_SCHEMA, 1 << 40, Type.INT32, 0),
        (Schema.FLOAT64_SCHEMA, 1.9, Type.INT32, 1),
        (Schema.FLOAT64_SCHEMA, -1.9, Type.INT64, -1),
        (Schema.FLOAT64_SCHEMA, 3e10, Type.INT32, 2_147_483_647),  # saturates
        (Schema.FLOAT64_SCHEMA, 3e10, Type.INT8, -1),  # (byte)(int) of a saturated value
        (Schema.FLOAT64_SCHEMA, math.nan, Type.INT64, 0),
        (Schema.BOOLEAN_SCHEMA, True, Type.INT16, 1),
        (Schema.STRING_SCHEMA, "42", Type.INT16, 42),
        (Schema.STRING_SCHEMA, "-7", Type.INT64, -7),
        (Schema.INT32_SCHEMA, 42, Type.FLOAT32, 42.0),
        (Schema.FLOAT64_SCHEMA, 1.1, Type.FLOAT32, to_float32(1.1)),
        (Schema.STRING_SCHEMA, " 1.5 ", Type.FLOAT64, 1.5),
        (Schema.INT8_SCHEMA, 0, Type.BOOLEAN, False),
        (Schema.FLOAT64_SCHEMA, 0.5, Type.BOOLEAN, False),  # (long) 0.5 == 0
        (Schema.STRING_SCHEMA, "TRUE", Type.BOOLEAN, True),
        (Schema.STRING_SCHEMA, "yes", Type.BOOLEAN, False),
        (Schema.INT32_SCHEMA, 42, Type.STRING, "42"),
        (Schema.BOOLEAN_SCHEMA, True, Type.STRING, "true"),
        (Schema.FLOAT32_SCHEMA, to_float32(1.1), Type.STRING, "1.1"),
        (Schema.FLOAT64_SCHEMA, 1e7, Type.STRING, "1.0E7"),
        (Schema.FLOAT64_SCHEMA, 5, Type.STRING, "5.0"),  # an int held by a float64 field is a Double
        (Schema.BYTES_SCHEMA, b"\x01\x02", Type.STRING, "AQI="),
        (Decimal.schema(2), decimal.Decimal("1.50"), Type.STRING, "1.50"),
        (Decimal.schema(2), decimal.Decimal("-1.99"), Type.INT32, -1),
        (Date.SCHEMA, dt.date(1970, 1, 2), Type.INT32, 1),
        (Date.SCHEMA, dt.date(1970, 1, 2), Type.STRING, "1970-01-02"),
        (Time.SCHEMA, dt.time(0, 0, 1, 234_000), Type.INT64, 1234),
        (Time.SCHEMA, dt.time(0, 0, 1, 234_000), Type.STRING, "00:00:01.234Z"),
        (Timestamp.SCHEMA, dt.datetime(1970, 1, 2, 0, 0, 1, 234_000, tzinfo=dt.UTC), Type.INT64, 86_401_234),
        (Timestamp.SCHEMA, dt.datetime(1970, 1, 2, 0, 0, 1, 234_000, tzinfo=dt.UTC), Type.STRING,
         "1970-01-02T00:00:01.234Z"),
    ],
)
def test_cast_value(schema: Schema, value: object, target: Type, expected: object) -> None:
    result = cast_value(schema, value, target)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(("schema", "value", "target", "message"), [
    (Schema.STRING_SCHEMA, "abc", Type.INT32, r"^Value \(abc\) was out of range for requested data type$"),
    (Schema.STRING_SCHEMA, "128", Type.INT8, r"^Value \(128\) was out of range for requested data type$"),
    (Schema.BYTES_SCHEMA, b"x", Type.INT8, r"^Unexpected type in Cast transformation: class \[B$"),
    (None, {"a": 1}, Type.INT8, "^" + re.escape("Cast transformation does not support casting from MAP; supported "
                                                f"types are {INPUTS}") + "$"),
    (None, decimal.Decimal(1), Type.INT8, r"^Cast transformation was passed a value of type class java\.math\."
                                          r"BigDecimal which is not supported by Connect's data API$"),
])
def test_cast_value_errors(schema: Schema | None, value: object, target: Type, message: str) -> None:
    with pytest.raises(DataError, match=message):
        cast_value(schema, value, target)


def test_whole_value_with_schema_keeps_optionality(sink) -> None:
    out = configured(CastValue, {"spec": "int8"}).apply(sink(Schema.OPTIONAL_INT32_SCHEMA, 42))
    assert (out.value_schema, out.value) == (Schema.OPTIONAL_INT8_SCHEMA, 42)
    key = configured(CastKey, {"spec": "string"}).apply(sink(None, None, Schema.INT64_SCHEMA, 42))
    assert (key.key_schema, key.key) == (Schema.STRING_SCHEMA, "42")


def test_whole_value_schemaless(sink) -> None:
    assert configured(CastValue, {"spec": "int32"}).apply(sink(None, "42")).value == 42
    assert configured(CastValue, {"spec": "boolean"}).apply(sink(None, 3)).value is True
    tombstone = sink(None, None)
    assert configured(CastValue, {"spec": "int32"}).apply(tombstone) is tombstone


def test_fields_with_schema(sink) -> None:
    schema = (
        SchemaBuilder.struct().name("s").version(2)
        .field("int8", Schema.INT8_SCHEMA)
        .field("int16", Schema.OPTIONAL_INT16_SCHEMA)
        .field("float", SchemaBuilder.float32().optional().default_value(to_float32(1.5)).build())
        .field("string", Schema.STRING_SCHEMA)
        .field("untouched", Schema.STRING_SCHEMA)
        .build()
    )
    value = Struct(schema).put("int8", 8).put("string", "42").put("untouched", "u")
    xform = configured(CastValue, {"spec": "int8:int32,int16:string,float:int64,string:int16"})
    out = xform.apply(sink(schema, value))
    expected = (
        SchemaBuilder.struct().name("s").version(2)
        .field("int8", Schema.INT32_SCHEMA)
        .field("int16", Schema.OPTIONAL_STRING_SCHEMA)
        .field("float", SchemaBuilder.int64().optional().default_value(1).build())
        .field("string", Schema.INT16_SCHEMA)
        .field("untouched", Schema.STRING_SCHEMA)
        .build()
    )
    assert out.value_schema == expected
    assert out.value == Struct(expected).put("int8", 8).put("float", 1).put("string", 42).put("untouched", "u")
    assert xform.apply(sink(schema, value)).value_schema is out.value_schema


def test_fields_schemaless(sink) -> None:
    out = configured(CastValue, {"spec": "a:string,b:float64,c:int8"}).apply(
        sink(None, {"a": 42, "b": "1.5", "d": "kept"}))
    assert out.value == {"a": "42", "b": 1.5, "c": None, "d": "kept"}


def test_field_errors(sink) -> None:
    schema = SchemaBuilder.struct().field("m", SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.STRING_SCHEMA)
                                          .build()).build()
    with pytest.raises(DataError, match="^Cast transformation does not support casting from MAP"):
        configured(CastValue, {"spec": "m:string"}).apply(sink(schema, Struct(schema).put("m", {})))
    with pytest.raises(DataError, match=r"^Only Struct objects supported for \[cast types\], found: java\.lang\.Long"):
        configured(CastValue, {"spec": "m:string"}).apply(sink(schema, 1))
    # As in Kafka, the schema is derived before the value is checked.
    with pytest.raises(DataError, match="^Cannot list fields on non-struct type$"):
        configured(CastValue, {"spec": "m:string"}).apply(sink(Schema.INT64_SCHEMA, 1))


@pytest.mark.parametrize(("spec", "message"), [
    ("", "^Must specify at least one field to cast.$"),
    ("foo:bytes", "^" + re.escape(f"Cast transformation does not support casting to BYTES; supported types are "
                                  f"{OUTPUTS}") + "$"),
    ("foo:nope", "^Invalid type found in casting spec: nope$"),
    ("int8,foo:int16", "^Cast transformations that specify a type to cast the entire value to may only specify a "
                       "single cast in their spec$"),
    ("a:b:c", r"^Invalid value \[a:b:c\] for configuration renames: Invalid rename mapping: a:b:c$"),
])
def test_spec_errors(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        configured(CastValue, {"spec": spec})
