"""StringConverter, ByteArrayConverter, number and boolean converters: bytes, schemas and error messages."""

from __future__ import annotations

import decimal

import pytest

from kcfast.api.converter import Converter, HeaderConverter
from kcfast.converters import (
    BooleanConverter,
    ByteArrayConverter,
    DoubleConverter,
    FloatConverter,
    IntegerConverter,
    LongConverter,
    ShortConverter,
    StringConverter,
)
from kcfast.data import Schema, SchemaAndValue, SchemaBuilder, Struct
from kcfast.errors import ConfigError, DataError

ALL = [StringConverter, ByteArrayConverter, IntegerConverter, LongConverter, ShortConverter, FloatConverter,
       DoubleConverter, BooleanConverter]


@pytest.mark.parametrize("cls", ALL)
def test_every_converter_is_also_a_header_converter(cls: type) -> None:
    converter = cls()
    assert isinstance(converter, Converter) and isinstance(converter, HeaderConverter)
    converter.configure({}, True)
    assert converter.from_connect_data("t", None, None) is None
    assert converter.to_connect_data("t", None).value is None
    assert converter.to_connect_header("t", "h", None).value is None
    assert "converter.type" in converter.config().config_keys()


@pytest.mark.parametrize(
    ("converter", "value", "raw", "schema"),
    [
        (IntegerConverter(), -2, b"\xff\xff\xff\xfe", Schema.OPTIONAL_INT32_SCHEMA),
        (LongConverter(), 2**40, b"\x00\x00\x01\x00\x00\x00\x00\x00", Schema.OPTIONAL_INT64_SCHEMA),
        (ShortConverter(), 258, b"\x01\x02", Schema.OPTIONAL_INT16_SCHEMA),
        (FloatConverter(), 1.5, b"\x3f\xc0\x00\x00", Schema.OPTIONAL_FLOAT32_SCHEMA),
        (DoubleConverter(), 1.5, b"\x3f\xf8\x00\x00\x00\x00\x00\x00", Schema.OPTIONAL_FLOAT64_SCHEMA),
        (BooleanConverter(), True, b"\x01", Schema.OPTIONAL_BOOLEAN_SCHEMA),
        (BooleanConverter(), False, b"\x00", Schema.OPTIONAL_BOOLEAN_SCHEMA),
        (ByteArrayConverter(), b"\x00\xff", b"\x00\xff", Schema.OPTIONAL_BYTES_SCHEMA),
        (StringConverter(), "héllo", "héllo".encode(), Schema.OPTIONAL_STRING_SCHEMA),
    ],
)
def test_golden_bytes(converter: Converter, value: object, raw: bytes, schema: Schema) -> None:
    assert converter.from_connect_data("t", None, value) == raw
    assert converter.to_connect_data("t", raw) == SchemaAndValue(schema, value)


@pytest.mark.parametrize(
    ("converter", "value", "message"),
    [
        (IntegerConverter(), "1", "Failed to serialize to integer \\(was str\\)"),
        (IntegerConverter(), 2**31, "Failed to serialize to integer: 2147483648 is out of range"),
        (LongConverter(), 1.5, "Failed to serialize to long \\(was float\\)"),
        (ShortConverter(), True, "Failed to serialize to short \\(was bool\\)"),
        (FloatConverter(), "x", "Failed to serialize to float \\(was str\\)"),
        (BooleanConverter(), 1, "BooleanConverter is not compatible with objects of type int"),
        (ByteArrayConverter(), "x", "ByteArrayConverter is not compatible with objects of type str"),
    ],
)
def test_wrong_values(converter: Converter, value: object, message: str) -> None:
    with pytest.raises(DataError, match=message):
        converter.from_connect_data("t", None, value)


def test_schema_checks() -> None:
    with pytest.raises(DataError, match="Invalid schema type for ByteArrayConverter: STRING"):
        ByteArrayConverter().from_connect_data("t", Schema.STRING_SCHEMA, b"x")
    with pytest.raises(DataError, match="Invalid schema type for BooleanConverter: INT8"):
        BooleanConverter().from_connect_data("t", Schema.INT8_SCHEMA, True)
    assert ByteArrayConverter().from_connect_data("t", Schema.OPTIONAL_BYTES_SCHEMA, bytearray(b"a")) == b"a"
    assert ByteArrayConverter().from_connect_data("t", SchemaBuilder.bytes(), b"a") == b"a"  # type: ignore[arg-type]
    assert StringConverter().from_connect_data("t", SchemaBuilder.float32(), 0.1) == b"0.1"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("converter", "raw", "message"),
    [
        (IntegerConverter(), b"\x00",
         "Failed to deserialize integer: Size of data received by IntegerDeserializer is not 4"),
        (LongConverter(), b"\x00", "Size of data received by LongDeserializer is not 8"),
        (ShortConverter(), b"\x00", "Size of data received by ShortDeserializer is not 2"),
        (FloatConverter(), b"\x00", "Failed to deserialize float: Size of data received by Deserializer is not 4"),
        (DoubleConverter(), b"\x00", "Size of data received by DoubleDeserializer is not 8"),
        (BooleanConverter(), b"\x00\x00", "Size of data received by BooleanDeserializer is not 1"),
        (BooleanConverter(), b"\xff", "Unexpected byte received by BooleanDeserializer: -1"),
    ],
)
def test_bad_bytes(converter: Converter, raw: bytes, message: str) -> None:
    with pytest.raises(DataError, match=message):
        converter.to_connect_data("t", raw)


def test_float_converter_rounds_like_java() -> None:
    assert FloatConverter().from_connect_data("t", None, 1e40) == b"\x7f\x80\x00\x00"
    assert FloatConverter().to_connect_data("t", b"\x3d\xcc\xcc\xcd").value == pytest.approx(0.1, rel=1e-7)


def test_string_converter_writes_java_to_string() -> None:
    converter = StringConverter()
    converter.configure({}, False)
    schema = SchemaBuilder.struct().field("a", Schema.INT32_SCHEMA).field("b", Schema.OPTIONAL_STRING_SCHEMA).build()
    assert converter.from_connect_data("t", schema, Struct(schema).put("a", 1)) == b"Struct{a=1}"
    assert converter.from_connect_data("t", None, {"k": [1, 2.0]}) == b"{k=[1, 2.0]}"
    assert converter.from_connect_data("t", None, 1e7) == b"1.0E7"
    assert converter.from_connect_data("t", None, decimal.Decimal("1.50")) == b"1.50"
    assert converter.from_connect_data("t", None, False) == b"false"


def test_string_converter_encodings() -> None:
    converter = StringConverter()
    converter.configure({"converter.encoding": "ISO-8859-1"}, False)
    assert converter.from_connect_data("t", None, "é€") == b"\xe9?"
    assert converter.to_connect_data("t", b"\xe9").value == "é"
    utf16 = StringConverter()
    utf16.configure({"converter.encoding": "UTF-16"}, True)
    assert utf16.from_connect_data("t", None, "a") == b"\xfe\xff\x00a"
    assert utf16.to_connect_data("t", b"\xff\xfea\x00").value == "a"
    override = StringConverter()
    override.configure({"converter.encoding": "UTF-16", "value.serializer.encoding": "UTF-8"}, False)
    assert override.from_connect_data("t", None, "a") == b"a"
    assert StringConverter().to_connect_data("t", b"\xff").value == "\ufffd"
    with pytest.raises(ConfigError, match="Unsupported encoding nope"):
        StringConverter().configure({"converter.encoding": "nope"}, False)


def test_header_forms_of_configure() -> None:
    converter = StringConverter()
    converter.configure({"converter.type": "header"})
    assert converter.from_connect_header("t", "h", None, "x") == b"x"
    with pytest.raises(ConfigError, match="converter.type"):
        IntegerConverter().configure({"converter.type": "sideways"})
