"""JsonConverter golden vectors: the exact bytes Kafka's JsonConverter writes, and what it reads and rejects."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pytest

from kcfast.converters import JsonConverter
from kcfast.converters.json import ENVELOPE_ERROR, json_to_schema, schema_to_json
from kcfast.data import Date, Decimal, Schema, SchemaAndValue, SchemaBuilder, Struct, Time, Timestamp
from kcfast.errors import ConfigError, DataError

UTC = dt.UTC


def make(**configs: Any) -> JsonConverter:
    converter = JsonConverter()
    converter.configure(configs, False)
    return converter


def write(schema: Schema | SchemaBuilder | None, value: Any, **configs: Any) -> bytes | None:
    return make(**configs).from_connect_data("t", schema, value)  # type: ignore[arg-type]


def read(data: bytes | None, **configs: Any) -> SchemaAndValue:
    return make(**configs).to_connect_data("t", data)


# -- writing ---------------------------------------------------------------------------------------------------


def test_string_envelope_from_the_spec() -> None:
    assert write(Schema.STRING_SCHEMA, "foo") == b'{"schema":{"type":"string","optional":false},"payload":"foo"}'


def test_insert_field_timestamp_schema_from_the_spec() -> None:
    schema = SchemaBuilder.struct().field("ts", Timestamp.builder().optional().build()).build()
    data = write(schema, Struct(schema).put("ts", dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)))
    assert data == (
        b'{"schema":{"type":"struct","fields":[{"type":"int64","optional":true,'
        b'"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"ts"}],"optional":false},'
        b'"payload":{"ts":1000}}'
    )


def test_schema_field_order_and_type_names() -> None:
    schema = (
        SchemaBuilder.struct().name("rec").version(3).doc("d").parameter("p", "v")
        .field("i8", Schema.INT8_SCHEMA).field("i16", Schema.INT16_SCHEMA).field("i32", Schema.INT32_SCHEMA)
        .field("i64", Schema.INT64_SCHEMA).field("f32", Schema.FLOAT32_SCHEMA).field("f64", Schema.FLOAT64_SCHEMA)
        .field("b", Schema.BOOLEAN_SCHEMA).field("s", SchemaBuilder.string().optional().default_value("x").build())
        .field("raw", Schema.BYTES_SCHEMA).field("arr", SchemaBuilder.array(Schema.INT32_SCHEMA).build())
        .field("m", SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.OPTIONAL_INT64_SCHEMA).optional().build())
        .build()
    )
    value = (
        Struct(schema).put("i8", -1).put("i16", 300).put("i32", 70000).put("i64", 2**40).put("f32", 0.1)
        .put("f64", 1e7).put("b", True).put("raw", b"test-string").put("arr", [1, 2, 3]).put("m", {"k": None})
    )
    assert write(schema, value) == (
        b'{"schema":{"type":"struct","fields":['
        b'{"type":"int8","optional":false,"field":"i8"},{"type":"int16","optional":false,"field":"i16"},'
        b'{"type":"int32","optional":false,"field":"i32"},{"type":"int64","optional":false,"field":"i64"},'
        b'{"type":"float","optional":false,"field":"f32"},{"type":"double","optional":false,"field":"f64"},'
        b'{"type":"boolean","optional":false,"field":"b"},'
        b'{"type":"string","optional":true,"default":"x","field":"s"},'
        b'{"type":"bytes","optional":false,"field":"raw"},'
        b'{"type":"array","items":{"type":"int32","optional":false},"optional":false,"field":"arr"},'
        b'{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int64","optional":true},'
        b'"optional":true,"field":"m"}],'
        b'"optional":false,"name":"rec","version":3,"doc":"d","parameters":{"p":"v"}},'
        b'"payload":{"i8":-1,"i16":300,"i32":70000,"i64":1099511627776,"f32":0.1,"f64":1.0E7,"b":true,"s":"x",'
        b'"raw":"dGVzdC1zdHJpbmc=","arr":[1,2,3],"m":{"k":null}}}'
    )


@pytest.mark.parametrize(
    ("value", "scale", "base64"),
    [
        ("1.56", 2, b'"AJw="'),  # Kafka's JsonConverterTest vector
        # spec 5.1 quotes "D3J5" for 10.2345 (from a Kafka javadoc); that is 101.2345. 102345 = 0x018FC9 = "AY/J".
        ("10.2345", 4, b'"AY/J"'),
        ("-1.56", 2, b'"/2Q="'),
    ],
)
def test_decimal_base64(value: str, scale: int, base64: bytes) -> None:
    data = write(Decimal.schema(scale), decimal.Decimal(value))
    assert data is not None and data.endswith(b'"payload":' + base64 + b"}")
    assert data.startswith(
        b'{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,'
        b'"parameters":{"scale":"' + str(scale).encode() + b'"}}'
    )
    assert read(data).value == decimal.Decimal(value)


@pytest.mark.parametrize(("value", "scale", "text"), [("1.56", 2, b"1.56"), ("1.5600", 4, b"1.5600"),
                                                      ("1E+3", -3, b"1E+3"), ("0.0000001", 7, b"1E-7")])
def test_decimal_numeric(value: str, scale: int, text: bytes) -> None:
    data = write(Decimal.schema(scale), decimal.Decimal(value), **{"decimal.format": "numeric"})
    assert data is not None and data.endswith(b'"payload":' + text + b"}")
    back = read(data).value
    assert back == decimal.Decimal(value) and back.as_tuple().exponent == -scale


def test_decimal_scale_mismatch_is_a_data_error() -> None:
    with pytest.raises(DataError, match="Schema has scale 2, value has scale 3"):
        write(Decimal.schema(2), decimal.Decimal("1.234"))


def test_temporal_payloads_are_integers() -> None:
    assert write(Date.SCHEMA, dt.date(1997, 5, 19)).endswith(b'"payload":10000}')  # type: ignore[union-attr]
    assert write(Time.SCHEMA, dt.time(4, 0)).endswith(b'"payload":14400000}')  # type: ignore[union-attr]
    stamp = dt.datetime(1970, 2, 16, 7, 6, 40, tzinfo=UTC)
    assert write(Timestamp.SCHEMA, stamp).endswith(b'"payload":4000000000}')  # type: ignore[union-attr]


def test_map_with_non_string_keys_is_pairs() -> None:
    schema = SchemaBuilder.map(Schema.INT32_SCHEMA, Schema.INT32_SCHEMA).build()
    assert write(schema, {1: 12, 2: 15}).endswith(b'"payload":[[1,12],[2,15]]}')  # type: ignore[union-attr]
    assert write(None, {"a": 1, 2: "b"}, **{"schemas.enable": False}) == b'[["a",1],[2,"b"]]'
    assert write(None, {"a": 1, "b": [True]}, **{"schemas.enable": False}) == b'{"a":1,"b":[true]}'


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.0, b"1.0"), (1e7, b"1.0E7"), (1e-4, b"1.0E-4"), (100.0, b"100.0"), (12.34, b"12.34"), (-0.0, b"-0.0"),
     (1.5e300, b"1.5E300"), (float("nan"), b'"NaN"'), (float("inf"), b'"Infinity"'), (3, b"3.0")],
)
def test_double_formatting(value: float, text: bytes) -> None:
    assert write(Schema.FLOAT64_SCHEMA, value, **{"schemas.enable": False}) == text


@pytest.mark.parametrize(("value", "text"), [(0.1, b"0.1"), (12.34, b"12.34"), (1e10, b"1.0E10"),
                                             (float("-inf"), b'"-Infinity"')])
def test_float_formatting(value: float, text: bytes) -> None:
    assert write(Schema.FLOAT32_SCHEMA, value, **{"schemas.enable": False}) == text


def test_schemaless_floats_are_doubles() -> None:
    assert write(None, [0.1, 1e-7, 5], **{"schemas.enable": False}) == b"[0.1,1.0E-7,5]"


def test_string_escaping_matches_jackson() -> None:
    text = '\x00\x01\x08\t\n\x0b\x0c\r\x1b\x1f\x7f"\\/é\u2028😀'
    assert write(Schema.STRING_SCHEMA, text, **{"schemas.enable": False}) == (
        b'"\\u0000\\u0001\\b\\t\\n\\u000B\\f\\r\\u001B\\u001F\x7f\\"\\\\/'
        + "é\u2028😀".encode() + b'"'
    )
    # A literal backslash-u text is escaped, not mistaken for an escape to upper-case.
    assert write(Schema.STRING_SCHEMA, "\\u001b", **{"schemas.enable": False}) == b'"\\\\u001b"'
    assert write(None, {"k\x0e": "v"}, **{"schemas.enable": False}) == b'{"k\\u000E":"v"}'


def test_nulls() -> None:
    assert write(None, None) is None
    assert write(Schema.OPTIONAL_STRING_SCHEMA, None) == (
        b'{"schema":{"type":"string","optional":true},"payload":null}')
    assert write(Schema.OPTIONAL_STRING_SCHEMA, None, **{"schemas.enable": False}) == b"null"
    assert write(None, [None]) == b'{"schema":null,"payload":[null]}'
    with pytest.raises(DataError, match="null value for field that is required and has no default value"):
        write(Schema.STRING_SCHEMA, None)


def test_replace_null_with_default() -> None:
    schema = SchemaBuilder.struct().field("f", SchemaBuilder.string().optional().default_value("d").build()).build()
    assert write(schema, Struct(schema), **{"schemas.enable": False}) == b'{"f":"d"}'
    assert write(schema, Struct(schema), **{"schemas.enable": False, "replace.null.with.default": "false"}) == (
        b'{"f":null}')
    data = b'{"schema":{"type":"string","optional":true,"default":"default"},"payload":null}'
    assert read(data).value == "default"
    assert read(data, **{"replace.null.with.default": False}).value is None


@pytest.mark.parametrize(
    ("schema", "value", "message"),
    [
        (Schema.INT32_SCHEMA, "1", "Invalid type for INT32: str"),
        (Schema.INT32_SCHEMA, True, "Invalid type for INT32: bool"),
        (Schema.INT8_SCHEMA, 128, "Invalid value for INT8: 128 is out of range"),
        (Schema.FLOAT64_SCHEMA, True, "Invalid type for FLOAT64: bool"),
        (Schema.BYTES_SCHEMA, "x", "Invalid type for BYTES: str"),
        (Decimal.schema(2), 1.5, "Invalid type for Decimal, expected decimal.Decimal but was float"),
        (Date.SCHEMA, 5, "Invalid type for Date"),
        (None, object(), "Python class object does not have corresponding schema type"),
        (None, 2**64, "does not fit in 64 bits"),
        (Schema.STRING_SCHEMA, "\ud800", "serialization error"),
    ],
)
def test_wrong_python_values_are_data_errors(schema: Schema | None, value: Any, message: str) -> None:
    with pytest.raises(DataError, match=message):
        write(schema, value)


def test_struct_errors_name_the_field_path() -> None:
    inner = SchemaBuilder.struct().field("zip", Schema.INT32_SCHEMA).build()
    outer = SchemaBuilder.struct().field("address", inner).build()
    value = Struct._from_values(outer, [Struct._from_values(inner, ["12345"])])
    with pytest.raises(DataError, match=r'Invalid type for INT32: str \(field "address.zip"\)'):
        write(outer, value)
    other = SchemaBuilder.struct().field("zap", Schema.INT32_SCHEMA).build()
    with pytest.raises(DataError, match="Mismatching schema"):
        write(inner, Struct(other).put("zap", 1))


def test_builder_is_accepted_as_schema() -> None:
    assert write(SchemaBuilder.string(), "x") == b'{"schema":{"type":"string","optional":false},"payload":"x"}'


# -- reading ---------------------------------------------------------------------------------------------------


def test_kafka_null_reads_as_null() -> None:
    assert read(None) == SchemaAndValue.NULL
    assert read(b'{"schema":null,"payload":null}') == SchemaAndValue.NULL


@pytest.mark.parametrize(
    "data",
    [b'{"payload":1}', b'{"schema":null}', b'{"schema":null,"payload":1,"x":2}', b"[1]", b"1", b'"s"', b""],
)
def test_bad_envelope_has_kafkas_message(data: bytes) -> None:
    with pytest.raises(DataError) as info:
        read(data)
    assert str(info.value) == ENVELOPE_ERROR
    assert str(info.value) == (
        'JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional '
        "fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter "
        "configuration."
    )


@pytest.mark.parametrize("data", [b'{"schema":', b"{", b"nul", b"\xff\xfe", b'{"a":NaN}', b"[1,]"])
def test_malformed_json_is_a_data_error(data: bytes) -> None:
    with pytest.raises(DataError, match="Converting byte\\[\\] to Kafka Connect data failed due to serialization"):
        read(data, **{"schemas.enable": False})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"schema":{"type":"int32"},"payload":"x"}',
         "Invalid value for INT32 field: expected a JSON number but found STRING"),
        (b'{"schema":{"type":"int8"},"payload":300}', "out of range"),
        (b'{"schema":{"type":"string"},"payload":null}', "Invalid null value for required STRING field"),
        (b'{"schema":{"type":"boolean"},"payload":1}', "expected a JSON boolean but found NUMBER"),
        (b'{"schema":{"type":"bytes"},"payload":"!!"}', "Invalid bytes field"),
        (b'{"schema":{"type":"nope"},"payload":1}', "Unknown schema type: nope"),
        (b'{"schema":{"optional":true},"payload":1}', "Schema must contain 'type' field"),
        (b'{"schema":{"type":"array"},"payload":[]}', "Array schema did not specify the element type"),
        (b'{"schema":{"type":"map","values":{"type":"int8"}},"payload":{}}', "Map schema did not specify the key"),
        (b'{"schema":{"type":"struct","fields":{}},"payload":{}}', 'Struct schema\'s "fields" argument is not an'),
        (b'{"schema":{"type":"struct","fields":[{"type":"int8"}]},"payload":{}}', "field name not specified"),
        (b'{"schema":{"type":"string","parameters":{"a":1}},"payload":"x"}', "parameters must have string values"),
        (b'{"schema":{"type":"struct","fields":[{"type":"int8","field":"a"}]},"payload":[]}',
         "Structs should be encoded as JSON objects, but found ARRAY"),
        (b'{"schema":{"type":"struct","fields":[{"type":"int8","field":"a"}]},"payload":{}}',
         'Invalid null value for required INT8 field \\(field "a"\\)'),
        (b'{"schema":{"type":"map","keys":{"type":"string"},"values":{"type":"int8"}},"payload":[]}',
         "Maps with string fields should be encoded as JSON objects, but found ARRAY"),
        (b'{"schema":{"type":"map","keys":{"type":"int8"},"values":{"type":"int8"}},"payload":[[1]]}',
         "expected length 2 but found :1"),
        (b'{"schema":{"type":"int32","name":"org.apache.kafka.connect.data.Date"},"payload":"x"}',
         "Invalid type for Date, underlying representation should be integer but was STRING"),
        (b'{"schema":{"type":"int8","default":"x"},"payload":null}', "expected a JSON number"),
    ],
)
def test_payload_and_schema_errors(data: bytes, message: str) -> None:
    with pytest.raises(DataError, match=message):
        read(data)


def test_reads_kafkas_test_vectors() -> None:
    assert read(b'{ "schema": { "type": "boolean" }, "payload": true }') == SchemaAndValue(Schema.BOOLEAN_SCHEMA,
                                                                                         True)
    assert read(b'{ "schema": { "type": "int8" }, "payload": 0012 }') == SchemaAndValue(Schema.INT8_SCHEMA, 12)
    assert read(b'{ "schema": { "type": "int64" }, "payload": 00000123456789 }').value == 123456789
    assert read(b'{ "schema": { "type": "float" }, "payload": 12.34 }').value == pytest.approx(12.34, rel=1e-7)
    assert read(b'{ "schema": { "type": "bytes" }, "payload": "dGVzdC1zdHJpbmc=" }').value == b"test-string"
    data = (b'{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, '
            b'"parameters": { "scale": "17" } }, "payload": 1.23456789123456789 }')
    assert read(data).value == decimal.Decimal("1.23456789123456789")
    data = (b'{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, '
            b'"default": "AJw=", "parameters": { "scale": "2" } }, "payload": null }')
    assert read(data) == SchemaAndValue(Decimal.builder(2).default_value(decimal.Decimal("1.56")).build(),
                                        decimal.Decimal("1.56"))
    data = b'{"schema":{"type":"map","keys":{"type":"int32"},"values":{"type":"int32"}},"payload":[[1,12],[2,15]]}'
    assert read(data).value == {1: 12, 2: 15}


def test_schema_properties_are_read() -> None:
    data = (b'{ "schema": { "type": "boolean", "optional": false, "name": "bool", "version": 2, '
            b'"doc": "the documentation", "parameters": { "foo": "bar" } }, "payload": true }')
    expected = SchemaBuilder.bool().required().name("bool").version(2).doc("the documentation").parameter(
        "foo", "bar").build()
    assert read(data) == SchemaAndValue(expected, True)


def test_schemaless_reading() -> None:
    off = {"schemas.enable": False}
    assert read(b"true", **off) == SchemaAndValue(None, True)
    assert read(b"12", **off) == SchemaAndValue(None, 12)
    assert read(b"12.24", **off) == SchemaAndValue(None, 12.24)
    assert read(b'[1, "2", 3]', **off) == SchemaAndValue(None, [1, "2", 3])
    assert read(b'{"a": 007}', **off).value == {"a": 7}
    assert read(b"", **off) == SchemaAndValue.NULL
    assert read(b"9223372036854775808", **off).value == -(2**63)  # Java's longValue wraps
    assert read(b"1e400", **off).value == float("inf")
    assert read(b'{"a":1} trailing', **off).value == {"a": 1}  # Jackson ignores content after the document
    assert read(b'{"schema":null,"payload":{"x":[1.5]}}') == SchemaAndValue(None, {"x": [1.5]})


def test_schema_cache_reuses_parsed_schemas() -> None:
    converter = make()
    data = b'{"schema":{"type":"string","optional":false},"payload":"a"}'
    first = converter.to_connect_data("t", data).schema
    assert converter.to_connect_data("t", data).schema is first
    spaced = b'{ "schema": {"type":"string","optional":false}, "payload": "b" }'
    assert converter.to_connect_data("t", spaced).schema is first
    uncached = make(**{"schemas.cache.size": 0})
    assert uncached.to_connect_data("t", data).schema is not uncached.to_connect_data("t", data).schema


def test_header_methods() -> None:
    converter = JsonConverter()
    converter.configure({"converter.type": "header"})
    data = converter.from_connect_header("t", "h", Schema.STRING_SCHEMA, "test-string")
    assert data == b'{"schema":{"type":"string","optional":false},"payload":"test-string"}'
    assert converter.to_connect_header("t", "h", data) == SchemaAndValue(Schema.STRING_SCHEMA, "test-string")


def test_config_errors_and_config_def() -> None:
    with pytest.raises(ConfigError, match="decimal.format"):
        make(**{"decimal.format": "HEX"})
    with pytest.raises(ConfigError, match="schemas.enable"):
        make(**{"schemas.enable": "maybe"})
    names = list(JsonConverter().config().config_keys())
    assert names == ["converter.type", "schemas.enable", "schemas.cache.size", "decimal.format",
                     "replace.null.with.default"]


def test_schema_helpers_round_trip() -> None:
    schema = SchemaBuilder.struct().field("a", SchemaBuilder.array(Schema.OPTIONAL_FLOAT32_SCHEMA).build()).build()
    obj = schema_to_json(schema)
    assert obj == {"type": "struct", "fields": [{"type": "array", "items": {"type": "float", "optional": True},
                                                 "optional": False, "field": "a"}], "optional": False}
    assert json_to_schema(obj) == schema
    assert schema_to_json(None) is None and json_to_schema(None) is None
