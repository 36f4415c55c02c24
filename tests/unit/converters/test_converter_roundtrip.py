"""Property tests: schema + value -> bytes -> the same schema and value, for every converter."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import struct
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from kcfast.converters import (
    BooleanConverter,
    ByteArrayConverter,
    DoubleConverter,
    FloatConverter,
    IntegerConverter,
    JsonConverter,
    LongConverter,
    ShortConverter,
    SimpleHeaderConverter,
    StringConverter,
)
from kcfast.data import Date, Decimal, Schema, SchemaBuilder, Struct, Time, Timestamp, Type
from kcfast.errors import DataError

UTC = dt.UTC
_EXACT = decimal.Context(prec=200)

INT_BOUNDS = {Type.INT8: 7, Type.INT16: 15, Type.INT32: 31, Type.INT64: 63}


def _primitive_schema() -> st.SearchStrategy[Schema]:
    plain = st.sampled_from([Type.INT8, Type.INT16, Type.INT32, Type.INT64, Type.FLOAT32, Type.FLOAT64,
                             Type.BOOLEAN, Type.STRING, Type.BYTES]).map(SchemaBuilder.type)
    logical = st.one_of(
        st.integers(min_value=-3, max_value=12).map(Decimal.builder),
        st.sampled_from([Date.builder, Time.builder, Timestamp.builder]).map(lambda f: f()),
    )
    return st.one_of(plain, logical).flatmap(_finish)


def _finish(builder: SchemaBuilder) -> st.SearchStrategy[Schema]:
    def apply(optional: bool, doc: str | None) -> Schema:
        if optional:
            builder.optional()
        if doc is not None:
            builder.doc(doc)
        return builder.build()

    return st.builds(apply, st.booleans(), st.none() | st.text(max_size=5))


def _composite(children: st.SearchStrategy[Schema]) -> st.SearchStrategy[Schema]:
    array = children.map(SchemaBuilder.array)
    map_ = st.tuples(_primitive_schema().filter(lambda s: not s.optional), children).map(
        lambda kv: SchemaBuilder.map(*kv))
    struct_ = st.lists(st.tuples(st.text(min_size=1, max_size=6), children), max_size=4,
                       unique_by=lambda f: f[0]).map(_struct_builder)
    return st.one_of(array, map_, struct_).flatmap(_finish)


def _struct_builder(fields: list[tuple[str, Schema]]) -> SchemaBuilder:
    builder = SchemaBuilder.struct()
    for name, schema in fields:
        builder.field(name, schema)
    return builder


SCHEMAS = st.recursive(_primitive_schema(), _composite, max_leaves=8)


def values(schema: Schema) -> st.SearchStrategy[Any]:
    base = _required_values(schema)
    return st.one_of(st.none(), base) if schema.optional else base


def _required_values(schema: Schema) -> st.SearchStrategy[Any]:
    name = schema.name
    if name == Decimal.LOGICAL_NAME:
        scale = int(schema.parameters["scale"])  # type: ignore[index]
        return st.integers(min_value=-(10**20), max_value=10**20).map(
            lambda n: decimal.Decimal(n).scaleb(-scale, _EXACT))
    if name == Date.LOGICAL_NAME:
        return st.dates()
    if name == Time.LOGICAL_NAME:
        return st.times().map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000))
    if name == Timestamp.LOGICAL_NAME:
        return st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)).map(
            lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=UTC))
    stype = schema.type
    if stype in INT_BOUNDS:
        bits = INT_BOUNDS[stype]
        return st.integers(min_value=-(1 << bits), max_value=(1 << bits) - 1)
    if stype is Type.FLOAT32:
        return st.floats(width=32, allow_nan=False)
    if stype is Type.FLOAT64:
        return st.floats(allow_nan=False)
    if stype is Type.BOOLEAN:
        return st.booleans()
    if stype is Type.STRING:
        return st.text()
    if stype is Type.BYTES:
        return st.binary()
    if stype is Type.ARRAY:
        return st.lists(values(schema.value_schema), max_size=4)  # type: ignore[arg-type]
    if stype is Type.MAP:
        return st.dictionaries(values(schema.key_schema), values(schema.value_schema),  # type: ignore[arg-type]
                               max_size=4)
    fields = schema.fields
    return st.tuples(*(values(f.schema) for f in fields)).map(lambda vs: Struct._from_values(schema, list(vs)))


@st.composite
def schema_and_value(draw: st.DrawFn) -> tuple[Schema, Any]:
    schema = draw(SCHEMAS)
    return schema, draw(values(schema))


def _json(**configs: Any) -> JsonConverter:
    converter = JsonConverter()
    converter.configure(configs, False)
    return converter


@settings(max_examples=300, deadline=None)
@given(schema_and_value(), st.sampled_from(["BASE64", "NUMERIC"]))
def test_json_with_schema_round_trips(sv: tuple[Schema, Any], decimal_format: str) -> None:
    schema, value = sv
    converter = _json(**{"decimal.format": decimal_format})
    data = converter.from_connect_data("t", schema, value)
    assert data is not None
    back = converter.to_connect_data("t", data)
    assert back.schema == schema
    assert back.value == value
    # Writing what was read gives the same bytes; a fresh converter (no cache) reads the same thing.
    assert converter.from_connect_data("t", back.schema, back.value) == data
    assert _json(**{"decimal.format": decimal_format}).to_connect_data("t", data) == back


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)


def _same(a: Any, b: Any) -> bool:
    """Equality that also tells 1 from 1.0 and True from 1."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


@given(JSON_VALUES, st.booleans())
def test_json_schemaless_round_trips(value: Any, envelope: bool) -> None:
    converter = _json(**{"schemas.enable": envelope})
    data = converter.from_connect_data("t", None, value)
    if value is None:
        assert data is None
        return
    assert data is not None
    back = converter.to_connect_data("t", data)
    assert back.schema is None and _same(back.value, value)


@given(st.text())
def test_string_converter_round_trips(text: str) -> None:
    converter = StringConverter()
    converter.configure({}, False)
    data = converter.from_connect_data("t", Schema.STRING_SCHEMA, text)
    assert data == text.encode()
    assert converter.to_connect_data("t", data).value == text


@given(st.binary())
def test_byte_array_converter_round_trips(raw: bytes) -> None:
    converter = ByteArrayConverter()
    assert converter.from_connect_data("t", Schema.BYTES_SCHEMA, raw) == raw
    assert converter.to_connect_data("t", raw).value == raw


@given(st.data())
def test_number_converters_round_trip(data: st.DataObject) -> None:
    cases = [
        (IntegerConverter(), st.integers(min_value=-(2**31), max_value=2**31 - 1), ">i"),
        (LongConverter(), st.integers(min_value=-(2**63), max_value=2**63 - 1), ">q"),
        (ShortConverter(), st.integers(min_value=-(2**15), max_value=2**15 - 1), ">h"),
        (FloatConverter(), st.floats(width=32), ">f"),
        (DoubleConverter(), st.floats(), ">d"),
    ]
    for converter, strategy, fmt in cases:
        value = data.draw(strategy)
        raw = converter.from_connect_data("t", None, value)
        assert raw == struct.pack(fmt, value)
        back = converter.to_connect_data("t", raw).value
        assert back == value or (math.isnan(back) and math.isnan(value))


@given(st.booleans())
def test_boolean_converter_round_trips(value: bool) -> None:
    converter = BooleanConverter()
    raw = converter.from_connect_data("t", Schema.BOOLEAN_SCHEMA, value)
    assert raw == (b"\x01" if value else b"\x00")
    assert converter.to_connect_data("t", raw).value is value


HEADER_VALUES = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.lists(st.integers(min_value=-(2**31), max_value=2**31 - 1), min_size=1, max_size=5),
    st.dictionaries(st.text(alphabet="abcxyz", min_size=1), st.booleans(), min_size=1, max_size=3),
    st.dates(min_value=dt.date(1970, 1, 2)),
)


@given(HEADER_VALUES)
def test_simple_header_converter_round_trips(value: Any) -> None:
    converter = SimpleHeaderConverter()
    raw = converter.from_connect_header("t", "h", None, value)
    assert raw is not None
    assert converter.to_connect_header("t", "h", raw).value == value


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=64), st.text(alphabet='{}[]":,0123456789.eE-+ tfnaulrsx\\', max_size=64)
                 .map(str.encode)), st.booleans())
def test_json_reader_fails_only_with_data_error(data: bytes, envelope: bool) -> None:
    converter = _json(**{"schemas.enable": envelope})
    try:
        result = converter.to_connect_data("t", data)
    except DataError:
        return
    assert result.schema is None or isinstance(result.schema, Schema)


@settings(max_examples=300, deadline=None)
@given(SCHEMAS, JSON_VALUES)
def test_json_payload_not_matching_schema_fails_only_with_data_error(schema: Schema, payload: Any) -> None:
    converter = _json()
    data = b'{"schema":' + converter.schema_bytes(schema) + b',"payload":' + orjson.dumps(payload) + b"}"
    try:
        result = converter.to_connect_data("t", data)
    except DataError:
        return
    assert result.schema == schema


@settings(max_examples=300, deadline=None)
@given(SCHEMAS, JSON_VALUES)
def test_json_writer_fails_only_with_data_error(schema: Schema, value: Any) -> None:
    try:
        data = _json().from_connect_data("t", schema, value)
    except DataError:
        return
    assert data is not None
