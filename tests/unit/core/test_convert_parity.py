"""Property tests: the compiled core, its pure-Python twin and the per-record converters agree on every
batch conversion (values, bytes, and the error of a record that cannot be converted)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import string
from types import ModuleType
from typing import Any

import pytest
from confluent_kafka import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kcfast import _core_py
from kcfast.converters import ByteArrayConverter, JsonConverter, SimpleHeaderConverter, StringConverter
from kcfast.data import Date, Decimal, Schema, SchemaBuilder, Struct, Time, Timestamp, Type
from kcfast.errors import DataError

_core = pytest.importorskip("kcfast._core")
IMPLS: list[ModuleType] = [_core, _core_py]

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def json_converter(schemas: bool, **configs: str) -> JsonConverter:
    conv = JsonConverter()
    conv.configure({"schemas.enable": str(schemas).lower(), **configs}, False)
    return conv


def plain(cls: type) -> Any:
    conv = cls()
    conv.configure({}, True)
    return conv


HEADERS = SimpleHeaderConverter()
HEADERS.configure({})

# ------------------------------------------------------------------------------------------- strategies

millis_times = st.times().map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000))
millis_datetimes = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)
)
BASE: dict[str, tuple[Any, st.SearchStrategy[Any]]] = {
    "int8": (SchemaBuilder.int8, st.integers(-(2**7), 2**7 - 1)),
    "int16": (SchemaBuilder.int16, st.integers(-(2**15), 2**15 - 1)),
    "int32": (SchemaBuilder.int32, st.integers(-(2**31), 2**31 - 1)),
    "int64": (SchemaBuilder.int64, st.integers(-(2**63), 2**63 - 1)),
    "float32": (SchemaBuilder.float32, st.floats(width=32, allow_nan=False)),
    "float64": (SchemaBuilder.float64, st.floats(allow_nan=False)),
    "boolean": (SchemaBuilder.bool, st.booleans()),
    "string": (SchemaBuilder.string, st.text(max_size=12)),
    "bytes": (SchemaBuilder.bytes, st.binary(max_size=12)),
    "date": (Date.builder, st.dates(min_value=dt.date(1800, 1, 1), max_value=dt.date(2500, 1, 1))),
    "time": (Time.builder, millis_times),
    "timestamp": (Timestamp.builder, millis_datetimes),
    "decimal": (
        lambda: Decimal.builder(2),
        st.decimals(places=2, allow_nan=False, allow_infinity=False, min_value=-(10**12), max_value=10**12),
    ),
}
LOGICAL_BASE = {Date.LOGICAL_NAME: "date", Time.LOGICAL_NAME: "time", Timestamp.LOGICAL_NAME: "timestamp",
                "org.apache.kafka.connect.data.Decimal": "decimal"}
TYPE_BASE = {Type.INT8: "int8", Type.INT16: "int16", Type.INT32: "int32", Type.INT64: "int64",
             Type.FLOAT32: "float32", Type.FLOAT64: "float64", Type.BOOLEAN: "boolean", Type.STRING: "string",
             Type.BYTES: "bytes"}


@st.composite
def leaf_schemas(draw: st.DrawFn) -> Schema:
    name = draw(st.sampled_from(sorted(BASE)))
    make, values = BASE[name]
    builder = make()
    if draw(st.booleans()):
        builder.optional()
    if draw(st.integers(0, 4)) == 0:
        builder.default_value(draw(values))
    if name in ("int32", "string") and draw(st.integers(0, 5)) == 0:
        builder.name("custom.Name").version(draw(st.integers(1, 3))).doc("a doc").parameter("p", "v")
    return builder.build()


field_names = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=4)


def containers(children: st.SearchStrategy[Schema]) -> st.SearchStrategy[Schema]:
    def finish(builder: SchemaBuilder, optional: bool) -> Schema:
        return (builder.optional() if optional else builder).build()

    arrays = st.builds(lambda s, o: finish(SchemaBuilder.array(s), o), children, st.booleans())
    string_maps = st.builds(lambda s, o: finish(SchemaBuilder.map(Schema.STRING_SCHEMA, s), o), children, st.booleans())
    int_maps = st.builds(lambda s, o: finish(SchemaBuilder.map(Schema.INT32_SCHEMA, s), o), children, st.booleans())

    def struct(fields: list[tuple[str, Schema]], optional: bool, name: str | None) -> Schema:
        builder = SchemaBuilder.struct()
        if name:
            builder.name(name)
        for fname, fschema in fields:
            builder.field(fname, fschema)
        return finish(builder, optional)

    structs = st.builds(
        struct,
        st.lists(st.tuples(field_names, children), min_size=1, max_size=5, unique_by=lambda f: f[0]),
        st.booleans(),
        st.sampled_from([None, "com.example.Row"]),
    )
    return st.one_of(arrays, string_maps, int_maps, structs, structs)


schemas = st.recursive(leaf_schemas(), containers, max_leaves=10)


def values_for(schema: Schema, allow_none: bool = True) -> st.SearchStrategy[Any]:
    base: st.SearchStrategy[Any]
    if schema.name in LOGICAL_BASE:
        base = BASE[LOGICAL_BASE[schema.name]][1]
    elif schema.type in TYPE_BASE:
        base = BASE[TYPE_BASE[schema.type]][1]
    elif schema.type is Type.ARRAY:
        base = st.lists(values_for(schema.value_schema), max_size=3)
    elif schema.type is Type.MAP:
        keys = st.text(max_size=5) if schema.key_schema.type is Type.STRING else st.integers(-5, 5)
        base = st.dictionaries(keys, values_for(schema.value_schema), max_size=3)
    else:
        fields = schema.fields

        def build(vals: tuple[Any, ...]) -> Struct:
            # Unvalidated, as a converter builds it: a required field with a default may hold None.
            return Struct._from_values(schema, list(vals))

        base = st.tuples(*[values_for(f.schema) for f in fields]).map(build)
    if allow_none and (schema.is_optional() or schema.default_value is not None):
        return st.one_of(st.none(), base)
    return base


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False),
              st.text(max_size=6)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=8,
)


def json_text(value: Any) -> bytes:
    """Compact JSON of ``value`` (integers of any size, non-ASCII escaped)."""
    return json.dumps(value, separators=(",", ":")).encode()


# --------------------------------------------------------------------------------------------- outcomes


def converter_reads(conv: Any, data: bytes | None) -> tuple[Any, ...]:
    try:
        sv = conv.to_connect_data("t", data)
    except DataError as exc:
        return ("error", str(exc))
    return ("ok", sv.schema, sv.value)


def core_reads(impl: ModuleType, conv: Any, batch: list[bytes | None]) -> list[tuple[Any, ...]]:
    """Each value read in one batch call; after an error, the rest of the batch is read again."""
    out: list[tuple[Any, ...]] = []
    messages = [Message(topic="t", partition=0, offset=i, value=v) for i, v in enumerate(batch)]
    key_conv = plain(ByteArrayConverter)
    while messages:
        try:
            records = impl.sink_records_from_messages(messages, key_conv, conv, HEADERS)
        except DataError as exc:
            done = impl.sink_records_from_messages(messages[: exc.index], key_conv, conv, HEADERS)
            out += [("ok", r.value_schema, r.value) for r in done]
            out.append(("error", str(exc.__cause__)))
            messages = messages[exc.index + 1 :]
        else:
            out += [("ok", r.value_schema, r.value) for r in records]
            break
    return out


def converter_writes(conv: Any, schema: Schema | None, value: Any) -> tuple[Any, ...]:
    try:
        return ("ok", conv.from_connect_data("t", schema, value))
    except DataError as exc:
        return ("error", str(exc))


def core_writes(impl: ModuleType, conv: Any, items: list[tuple[Schema | None, Any]]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    records = [impl.SourceRecord(None, None, "t", None, None, None, s, v) for s, v in items]
    key_conv = plain(StringConverter)
    while records:
        try:
            encoded = impl.encode_source_records(records, key_conv, conv, HEADERS)
        except DataError as exc:
            done = impl.encode_source_records(records[: exc.index], key_conv, conv, HEADERS)
            out += [("ok", e[3]) for e in done]
            out.append(("error", str(exc.__cause__)))
            records = records[exc.index + 1 :]
        else:
            out += [("ok", e[3]) for e in encoded]
            break
    return out


# ------------------------------------------------------------------------------------------------ tests


@SETTINGS
@given(data=st.data(), schemas_enabled=st.booleans(), replace=st.booleans(), numeric=st.booleans())
def test_encode_parity(data: st.DataObject, schemas_enabled: bool, replace: bool, numeric: bool) -> None:
    conv = json_converter(
        schemas_enabled, **{"replace.null.with.default": str(replace).lower(),
                            "decimal.format": "NUMERIC" if numeric else "BASE64"}
    )
    first = data.draw(schemas)
    second = data.draw(schemas)
    items = data.draw(
        st.lists(st.one_of(values_for(first).map(lambda v: (first, v)), values_for(second).map(lambda v: (second, v))),
                 min_size=1, max_size=5)
    )
    want = [converter_writes(conv, s, v) for s, v in items]
    for impl in IMPLS:
        assert core_writes(impl, conv, items) == want, impl.__name__


@SETTINGS
@given(data=st.data(), replace=st.booleans())
def test_decode_parity_of_written_records(data: st.DataObject, replace: bool) -> None:
    conv = json_converter(True, **{"replace.null.with.default": str(replace).lower()})
    first = data.draw(schemas)
    second = data.draw(schemas)
    batch: list[bytes | None] = []
    for schema, value in data.draw(
        st.lists(st.one_of(values_for(first).map(lambda v: (first, v)), values_for(second).map(lambda v: (second, v))),
                 min_size=1, max_size=6)
    ):
        written = converter_writes(conv, schema, value)
        if written[0] == "ok":
            batch.append(written[1])
    want = [converter_reads(conv, b) for b in batch]
    for impl in IMPLS:
        assert core_reads(impl, conv, batch) == want, impl.__name__


@SETTINGS
@given(data=st.data())
def test_decode_parity_of_arbitrary_payloads(data: st.DataObject) -> None:
    """Payloads that may not match their schema: the same values, or the same error."""
    conv = json_converter(True)
    schema = data.draw(schemas)
    schema_text = conv.schema_bytes(schema)
    payloads = data.draw(st.lists(st.one_of(json_values, values_for(schema).map(lambda v: None)), min_size=1, max_size=5))
    batch: list[bytes | None] = []
    for payload in payloads:
        batch.append(b'{"schema":' + schema_text + b',"payload":' + json_text(payload) + b"}")
    if data.draw(st.booleans()):
        batch.append(conv.from_connect_data("t", schema, data.draw(values_for(schema))))
    want = [converter_reads(conv, b) for b in batch]
    for impl in IMPLS:
        assert core_reads(impl, conv, batch) == want, impl.__name__


@SETTINGS
@given(documents=st.lists(st.one_of(json_values.map(json_text),
                                    st.binary(max_size=12),
                                    st.sampled_from([b" 1", b"01", b"1 2", b"[1,]", b"1e400", b"-9223372036854775809",
                                                     b"9223372036854775807", b"\xef\xbb\xbf{}", b"NaN", b""])),
                          min_size=1, max_size=6))
def test_schemaless_decode_parity(documents: list[bytes]) -> None:
    conv = json_converter(False)
    want = [converter_reads(conv, d) for d in documents]
    for impl in IMPLS:
        assert core_reads(impl, conv, documents) == want, impl.__name__


@SETTINGS
@given(values=st.lists(json_values, min_size=1, max_size=5), schemas_enabled=st.booleans())
def test_schemaless_encode_parity(values: list[Any], schemas_enabled: bool) -> None:
    conv = json_converter(schemas_enabled)
    items = [(None, v) for v in values]
    want = [converter_writes(conv, None, v) for v in values]
    for impl in IMPLS:
        assert core_writes(impl, conv, items) == want, impl.__name__


@SETTINGS
@given(batch=st.lists(st.one_of(st.none(), st.binary(max_size=16), st.text(max_size=8).map(str.encode)), max_size=8))
def test_string_and_bytes_parity(batch: list[bytes | None]) -> None:
    for conv in (plain(StringConverter), plain(ByteArrayConverter)):
        want = [converter_reads(conv, b) for b in batch]
        for impl in IMPLS:
            assert core_reads(impl, conv, batch) == want
    texts = [None if b is None else b.decode("utf-8", "surrogateescape") for b in batch]
    conv = plain(StringConverter)
    want = [converter_writes(conv, None, t) for t in texts]
    for impl in IMPLS:
        assert core_writes(impl, conv, [(None, t) for t in texts]) == want


def test_decimal_numeric_payload_needs_exact_parse() -> None:
    conv = json_converter(True, **{"decimal.format": "NUMERIC"})
    schema = Decimal.schema(3)
    batch = [conv.from_connect_data("t", schema, decimal.Decimal("12.345")), b'{"schema":' + conv.schema_bytes(schema) + b',"payload":0.1}']
    want = [converter_reads(conv, b) for b in batch]
    assert want[0][2] == decimal.Decimal("12.345")
    for impl in IMPLS:
        assert core_reads(impl, conv, batch) == want


def reshape(value: Any, rnd: Any) -> Any:
    """The same JSON data with keys reordered, some duplicated or added, integers written as floats."""
    if isinstance(value, dict):
        items = [(k, reshape(v, rnd)) for k, v in value.items()]
        rnd.shuffle(items)
        return dict(items)
    if isinstance(value, list):
        return [reshape(v, rnd) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and rnd.random() < 0.2:
        return float(value)
    return value


@st.composite
def payload_texts(draw: st.DrawFn, payload: Any) -> bytes:
    rnd = draw(st.randoms(use_true_random=False))
    data = reshape(payload, rnd) if draw(st.booleans()) else payload
    text = json.dumps(
        data,
        ensure_ascii=draw(st.booleans()),
        separators=draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,", " :")])),
        indent=draw(st.sampled_from([None, None, 1])),
    )
    if isinstance(data, dict) and data and draw(st.integers(0, 4)) == 0:
        key = next(iter(data))
        extra = draw(st.sampled_from([f'"{key}":null,', f'"unknown{key}":1,', f'"{key}":{json.dumps(data[key])},']))
        text = "{" + extra + text.lstrip()[1:]
    return text.encode("utf-8", "surrogatepass")


@SETTINGS
@given(data=st.data())
def test_direct_payload_parsing_parity(data: st.DataObject) -> None:
    """Payload text in every shape JSON allows, under one schema: the compiled parser reads it straight
    from the text or hands it over; either way the result is the converter's."""
    conv = json_converter(True)
    schema = data.draw(schemas)
    prefix = b'{"schema":' + conv.schema_bytes(schema) + b',"payload":'
    batch: list[bytes | None] = []
    for value in data.draw(st.lists(values_for(schema), min_size=1, max_size=6)):
        written = converter_writes(conv, schema, value)
        if written[0] != "ok":
            continue
        envelope = written[1]
        batch.append(envelope)
        payload = json.loads(envelope[len(prefix) : -1])
        batch.append(prefix + data.draw(payload_texts(payload)) + b"}")
    batch.append(prefix + json_text(data.draw(json_values)) + b" }")
    want = [converter_reads(conv, b) for b in batch]
    for impl in IMPLS:
        assert core_reads(impl, conv, batch) == want, impl.__name__
