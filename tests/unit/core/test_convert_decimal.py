"""Decimal fields through the core's JSON conversion, both ways, on both implementations: golden JsonConverter
bytes (base64 of the unscaled value's minimal two's complement, or a JSON number with NUMERIC), the values
read back, and the errors of values the schema cannot hold."""

from __future__ import annotations

import decimal
import json
from types import ModuleType
from typing import Any

import pytest
from confluent_kafka import Message

from kcfast.converters import JsonConverter, SimpleHeaderConverter
from kcfast.data import Decimal, Schema, SchemaBuilder, Struct
from kcfast.errors import DataError

D = decimal.Decimal


def json_converter(numeric: bool = False) -> JsonConverter:
    conv = JsonConverter()
    conv.configure({"schemas.enable": "true", "decimal.format": "NUMERIC" if numeric else "BASE64"}, False)
    return conv


def headers() -> SimpleHeaderConverter:
    conv = SimpleHeaderConverter()
    conv.configure({})
    return conv


def row_schema(scale: int | str) -> Any:
    amount = SchemaBuilder.bytes().name(Decimal.LOGICAL_NAME).parameter("scale", str(scale)).version(1).optional()
    return (
        SchemaBuilder.struct().name("orders.Value")
        .field("id", Schema.INT64_SCHEMA).field("amount", amount.build()).field("note", Schema.OPTIONAL_STRING_SCHEMA)
        .build()
    )


def encode(impl: ModuleType, conv: JsonConverter, schema: Any, amounts: list[Any]) -> list[bytes]:
    records = [
        impl.SourceRecord({"t": "orders"}, {"lsn": i}, "orders", None, None, None, schema,
                          Struct(schema).put("id", i).put("amount", amount).put("note", "n"))
        for i, amount in enumerate(amounts)
    ]
    return [value for _, _, _, value, _, _ in impl.encode_source_records(records, conv, conv, headers())]


def decode(impl: ModuleType, conv: JsonConverter, values: list[bytes]) -> list[Any]:
    messages = [Message(topic="orders", partition=0, offset=i, value=v, timestamp=(1, 1)) for i, v in enumerate(values)]
    return [r.value for r in impl.sink_records_from_messages(messages, conv, conv, headers())]


def payload_amount(data: bytes) -> Any:
    return json.loads(data, parse_float=D)["payload"]["amount"]


# (scale, value, base64 of BigInteger.toByteArray() of the unscaled value)
GOLDEN = [
    (2, "1.56", "AJw="),
    (4, "10.2345", "AY/J"),
    (2, "-1.56", "/2Q="),
    (2, "0.00", "AA=="),
    (2, "-0.00", "AA=="),
    (2, "0.01", "AQ=="),
    (2, "-0.01", "/w=="),
    (2, "1.27", "fw=="),
    (2, "1.28", "AIA="),
    (2, "-1.28", "gA=="),
    (2, "-1.29", "/38="),
    (2, "327.68", "AIAA"),
    (0, "0", "AA=="),
    (0, "255", "AP8="),
    (0, "9223372036854775807", "f/////////8="),
    (0, "-9223372036854775808", "gAAAAAAAAAA="),
    (0, "9223372036854775808", "AIAAAAAAAAAA"),
    (0, "18446744073709551616", "AQAAAAAAAAAA"),
    (0, "-18446744073709551616", "/wAAAAAAAAAA"),
    (2, "123456789012345678.90", "AKtUqYzrHwrS"),
    (2, "-99999999999999999999999.99", "97pq6ev+t7YAAAE="),
    (6, "0.000001", "AQ=="),
    (8, "1E-8", "AQ=="),
    (-2, "1.5E+3", "Dw=="),
]


@pytest.mark.parametrize("scale, text, b64", GOLDEN, ids=[f"{t}@{s}" for s, t, _ in GOLDEN])
def test_base64_golden_bytes(impl: ModuleType, scale: int, text: str, b64: str) -> None:
    conv = json_converter()
    schema = row_schema(scale)
    encoded = encode(impl, conv, schema, [D(text)] * 3)
    assert [payload_amount(e) for e in encoded] == [b64] * 3
    assert encoded[0] == conv.from_connect_data("orders", schema, Struct(schema).put("id", 0).put("amount", D(text))
                                                .put("note", "n"))


@pytest.mark.parametrize("scale, text, b64", GOLDEN, ids=[f"{t}@{s}" for s, t, _ in GOLDEN])
def test_base64_read_back(impl: ModuleType, scale: int, text: str, b64: str) -> None:
    conv = json_converter()
    schema = row_schema(scale)
    encoded = encode(impl, conv, schema, [D(text), None, D(text)])
    values = decode(impl, conv, encoded)
    want = Decimal.to_logical(Decimal.schema(scale), __import__("base64").b64decode(b64))
    assert [v.get("amount") for v in values] == [want, None, want]
    # same digits and exponent, not just an equal number (0.00 is not 0, -0.00 comes back as 0.00)
    assert values[0].get("amount").as_tuple() == want.as_tuple()
    assert want.as_tuple().exponent == -scale


NUMERIC = [
    (2, "1.56", "1.56"),
    (2, "-1.56", "-1.56"),
    (2, "0.00", "0.00"),
    (2, "-0.00", "0.00"),
    (0, "-18446744073709551616", "-18446744073709551616"),
    (2, "123456789012345678901234.50", "123456789012345678901234.50"),
    (2, "1.5", "1.5"),  # NUMERIC writes the value as it is: no scale check
    (8, "1E-8", "1E-8"),
    (-2, "1.5E+3", "1.5E+3"),
]


@pytest.mark.parametrize("scale, text, number", NUMERIC, ids=[f"{t}@{s}" for s, t, _ in NUMERIC])
def test_numeric_format(impl: ModuleType, scale: int, text: str, number: str) -> None:
    conv = json_converter(numeric=True)
    schema = row_schema(scale)
    encoded = encode(impl, conv, schema, [D(text)] * 3)
    assert all(b'"amount":' + number.encode() + b',"note"' in e for e in encoded)
    values = decode(impl, conv, encoded)
    assert [v.get("amount").as_tuple() for v in values] == [D(number).as_tuple()] * 3


@pytest.mark.parametrize(
    "payload, want",
    [(b"7", D(7)), (b"-7", D(-7)), (b"1.50", D("1.50")), (b"1.5e3", D("1.5E+3")), (b"-0.0", D("-0.0")),
     (b"12345678901234567890123", D(12345678901234567890123)), (b"0.1000000000000000055511151231257827", None)],
)
def test_numeric_payloads_read_exactly(impl: ModuleType, payload: bytes, want: Any) -> None:
    conv = json_converter()
    schema_text = conv.schema_bytes(row_schema(2))
    data = b'{"schema":' + schema_text + b',"payload":{"id":1,"amount":' + payload + b',"note":null}}'
    values = decode(impl, conv, [data] * 3)
    want = want if want is not None else D(payload.decode())
    assert [v.get("amount").as_tuple() for v in values] == [want.as_tuple()] * 3


@pytest.mark.parametrize(
    "amount, message",
    [
        (D("1.5"), "Schema has scale 2, value has scale 1"),
        (D("1.500"), "Schema has scale 2, value has scale 3"),
        (D("15E+1"), "Schema has scale 2, value has scale -1"),
        (D("NaN"), "is not a finite decimal.Decimal"),
        (D("-Infinity"), "is not a finite decimal.Decimal"),
    ],
)
def test_values_the_schema_cannot_hold(impl: ModuleType, amount: Any, message: str) -> None:
    conv = json_converter()
    schema = row_schema(2)
    records = [
        impl.SourceRecord(None, None, "orders", None, None, None, schema,
                          Struct(schema).put("id", i).put("amount", value))
        for i, value in enumerate([D("1.00"), amount])
    ]
    with pytest.raises(DataError) as info:
        impl.encode_source_records(records, conv, conv, headers())
    assert info.value.index == 1
    assert message in str(info.value.__cause__)
    assert 'field "amount"' in str(info.value.__cause__)


@pytest.mark.parametrize(
    "amount, message",
    [
        (D("1.5"), "Schema has scale 2, value has scale 1"),
        (1.5, "Invalid type for Decimal, expected decimal.Decimal but was float"),
        ("1.50", "Invalid type for Decimal, expected decimal.Decimal but was str"),
        (150, "Invalid type for Decimal, expected decimal.Decimal but was int"),
    ],
)
def test_unwrapped_values_the_schema_cannot_hold(impl: ModuleType, amount: Any, message: str) -> None:
    conv = json_converter()
    schema = Decimal.schema(2)
    records = [impl.SourceRecord(None, None, "orders", None, None, None, schema, value)
               for value in [D("1.56"), amount]]
    with pytest.raises(DataError) as info:
        impl.encode_source_records(records, conv, conv, headers())
    assert info.value.index == 1
    assert message in str(info.value.__cause__)


def test_unwrapped_decimal_values(impl: ModuleType) -> None:
    conv = json_converter()
    schema = Decimal.schema(2)
    records = [impl.SourceRecord(None, None, "orders", None, None, None, schema, D(text))
               for text in ["1.56", "-1.56", "123456789012345678901234.50"]]
    encoded = [e[3] for e in impl.encode_source_records(records, conv, conv, headers())]
    assert [json.loads(e)["payload"] for e in encoded] == ["AJw=", "/2Q=", "CjZMmCJ+qmrcuro="]
    values = decode(impl, conv, encoded)
    assert [str(v) for v in values] == ["1.56", "-1.56", "123456789012345678901234.50"]


def test_bad_scale_parameter(impl: ModuleType) -> None:
    conv = json_converter()
    schema = row_schema("two")
    with pytest.raises(DataError) as info:
        encode(impl, conv, schema, [D("1.00")])
    assert "Invalid scale parameter found in Decimal schema: 'two'" in str(info.value.__cause__)


class MyDecimal(decimal.Decimal):
    def __str__(self) -> str:
        return "0"


def test_decimal_subclass_is_written_from_its_value(impl: ModuleType) -> None:
    conv = json_converter()
    encoded = encode(impl, conv, row_schema(2), [MyDecimal("1.56")])
    assert payload_amount(encoded[0]) == "AJw="


@pytest.mark.parametrize(
    "amount, error",
    [
        (b'"AJx="', None),  # non-canonical trailing bits: decoded as the converter decodes them
        (b'"AJw"', "Invalid bytes for Decimal field"),
        (b'"AJ*="', "Invalid bytes for Decimal field"),
        (b'"A=w="', "Invalid bytes for Decimal field"),
        (b'""', "zero-length unscaled value"),
        (b'"AJ\\u0077="', None),  # an escape in the string
        (b"true", "underlying representation should be numeric or bytes but was BOOLEAN"),
        (b"[1]", "underlying representation should be numeric or bytes but was ARRAY"),
    ],
)
def test_payloads_read_like_the_converter(impl: ModuleType, amount: bytes, error: str | None) -> None:
    conv = json_converter()
    schema_text = conv.schema_bytes(row_schema(2))
    good = b'{"schema":' + schema_text + b',"payload":{"id":1,"amount":"AJw=","note":null}}'
    data = b'{"schema":' + schema_text + b',"payload":{"id":2,"amount":' + amount + b',"note":null}}'
    if error is None:
        values = decode(impl, conv, [good, data, good])
        assert values[1].get("amount") == conv.to_connect_data("orders", data).value.get("amount") == D("1.56")
        assert values[2].get("amount") == D("1.56")
        return
    with pytest.raises(DataError) as info:
        decode(impl, conv, [good, data])
    assert info.value.index == 1
    assert error in str(info.value.__cause__)


@pytest.mark.parametrize("escaped", [False, True], ids=["direct-parser", "orjson"])
def test_compiled_core_converts_plain_decimals_itself(monkeypatch: pytest.MonkeyPatch, escaped: bool) -> None:
    _core = pytest.importorskip("kcfast._core")
    import kcfast.data.logical as logical

    calls: list[str] = []
    to_bytes, to_logical = logical.unscaled_to_bytes, Decimal.to_logical
    monkeypatch.setattr(logical, "unscaled_to_bytes", lambda n: calls.append("write") or to_bytes(n))
    monkeypatch.setattr(Decimal, "to_logical",
                        staticmethod(lambda schema, raw: calls.append("read") or to_logical(schema, raw)))
    conv = json_converter()
    schema = row_schema(2)
    amounts = [D(i).scaleb(-2) for i in range(-300, 300, 7)] + [D(f"{10**30 + 7}E-2")]
    note = "line\nbreak" if escaped else "n"
    records = [
        _core.SourceRecord(None, None, "orders", None, None, None, schema,
                           Struct(schema).put("id", i).put("amount", amount).put("note", note))
        for i, amount in enumerate(amounts)
    ]
    encoded = [e[3] for e in _core.encode_source_records(records, conv, conv, headers())]
    assert calls == []
    assert encoded == [conv.from_connect_data("orders", schema, r.value) for r in records]
    calls.clear()
    assert [v.get("amount") for v in decode(_core, conv, encoded)] == amounts
    assert calls == ["read"], "only the first record, whose schema is new, goes through the converter"
