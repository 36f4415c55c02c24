"""Logical types: schemas as in Kafka, and the logical <-> raw conversions."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kcfast.data import Date, Decimal, Schema, Time, Timestamp, Type
from kcfast.errors import DataError

UTC = dt.UTC


def test_schemas_have_javas_names_and_version_one() -> None:
    assert (Date.SCHEMA.type, Date.SCHEMA.name, Date.SCHEMA.version) == (
        Type.INT32, "org.apache.kafka.connect.data.Date", 1)
    assert (Time.SCHEMA.type, Time.SCHEMA.name) == (Type.INT32, "org.apache.kafka.connect.data.Time")
    assert (Timestamp.SCHEMA.type, Timestamp.SCHEMA.name) == (Type.INT64, "org.apache.kafka.connect.data.Timestamp")
    schema = Decimal.schema(4)
    assert (schema.type, schema.name, schema.version, schema.parameters) == (
        Type.BYTES, "org.apache.kafka.connect.data.Decimal", 1, {"scale": "4"})
    assert not schema.optional
    assert Decimal.builder(2).optional().build().optional


@pytest.mark.parametrize(
    ("value", "scale", "raw"),
    [
        ("1.56", 2, b"\x00\x9c"),  # Kafka's own JsonConverterTest vector ("AJw=")
        ("10.2345", 4, b"\x01\x8f\xc9"),
        ("-1.56", 2, b"\xff\x64"),
        ("0.00", 2, b"\x00"),
        ("-1.28", 2, b"\x80"),
        ("1.28", 2, b"\x00\x80"),
    ],
)
def test_decimal_bytes_are_minimal_twos_complement(value: str, scale: int, raw: bytes) -> None:
    schema = Decimal.schema(scale)
    assert Decimal.from_logical(schema, decimal.Decimal(value)) == raw
    assert Decimal.to_logical(schema, raw) == decimal.Decimal(value)
    assert Decimal.to_logical(schema, raw).as_tuple().exponent == -scale


def test_decimal_scale_mismatch() -> None:
    with pytest.raises(DataError, match="Schema has scale 2, value has scale 3"):
        Decimal.from_logical(Decimal.schema(2), decimal.Decimal("1.234"))


def test_decimal_schema_without_scale() -> None:
    with pytest.raises(DataError, match="scale parameter not found"):
        Decimal.from_logical(Schema(Type.BYTES, name=Decimal.LOGICAL_NAME, parameters={}), decimal.Decimal(1))


@given(st.integers(min_value=-(10**40), max_value=10**40), st.integers(min_value=-5, max_value=30))
def test_decimal_round_trip(unscaled: int, scale: int) -> None:
    value = decimal.Decimal(unscaled).scaleb(-scale, decimal.Context(prec=100))
    schema = Decimal.schema(scale)
    assert Decimal.to_logical(schema, Decimal.from_logical(schema, value)) == value


def test_date() -> None:
    assert Date.from_logical(Date.SCHEMA, dt.date(1970, 1, 11)) == 10
    assert Date.to_logical(Date.SCHEMA, 10000) == dt.date(1997, 5, 19)
    assert Date.from_logical(Date.SCHEMA, dt.datetime(1970, 1, 2, tzinfo=UTC)) == 1
    with pytest.raises(DataError, match="should not have any time fields"):
        Date.from_logical(Date.SCHEMA, dt.datetime(1970, 1, 2, 1))
    with pytest.raises(DataError, match="schema does not match"):
        Date.from_logical(Time.SCHEMA, dt.date(1970, 1, 2))


def test_time() -> None:
    assert Time.from_logical(Time.SCHEMA, dt.time(4, 0)) == 14_400_000
    assert Time.to_logical(Time.SCHEMA, 14_400_123) == dt.time(4, 0, 0, 123_000)
    assert Time.from_logical(Time.SCHEMA, dt.time(0, 0, 0, 999)) == 0  # millisecond precision
    with pytest.raises(DataError, match="less than 86400000"):
        Time.to_logical(Time.SCHEMA, -1)


def test_timestamp_naive_is_utc_and_results_are_aware() -> None:
    assert Timestamp.from_logical(Timestamp.SCHEMA, dt.datetime(1970, 1, 1, 0, 0, 4)) == 4000
    assert Timestamp.from_logical(Timestamp.SCHEMA, dt.datetime(1970, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(
        hours=1)))) == 0
    assert Timestamp.to_logical(Timestamp.SCHEMA, 4_000_000_000) == dt.datetime(1970, 2, 16, 7, 6, 40, tzinfo=UTC)
    assert Timestamp.from_logical(Timestamp.SCHEMA, dt.datetime(1969, 12, 31, 23, 59, 59, 999_999)) == -1
