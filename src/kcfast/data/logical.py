"""Logical types: ``Decimal``, ``Date``, ``Time`` and ``Timestamp`` (Java ``org.apache.kafka.connect.data``).

Each is a named primitive schema with ``version=1``. Python values: ``decimal.Decimal``, ``datetime.date``,
``datetime.time`` (millisecond precision, naive, UTC) and ``datetime.datetime`` (UTC; a naive datetime is
taken as UTC; values read back are timezone-aware UTC).
"""

from __future__ import annotations

import datetime as _dt
import decimal as _decimal
from typing import ClassVar

from kcfast.data._java import MILLIS_PER_DAY, epoch_millis, from_epoch_millis
from kcfast.data.schema import Schema, SchemaBuilder
from kcfast.data.struct import DATE_NAME, DECIMAL_NAME, TIME_NAME, TIMESTAMP_NAME
from kcfast.errors import DataError

_EPOCH_DATE = _dt.date(1970, 1, 1)
_EXACT = _decimal.Context(prec=_decimal.MAX_PREC, Emax=_decimal.MAX_EMAX, Emin=_decimal.MIN_EMIN)


def unscaled_to_bytes(unscaled: int) -> bytes:
    """Big-endian two's complement in the fewest bytes (Java ``BigInteger.toByteArray``)."""
    bits = unscaled.bit_length() if unscaled >= 0 else (~unscaled).bit_length()
    return unscaled.to_bytes(bits // 8 + 1, "big", signed=True)


class Decimal:
    """An arbitrary-precision decimal stored as BYTES: the unscaled value in two's complement, with the scale
    in the schema parameter ``scale``."""

    LOGICAL_NAME: ClassVar[str] = DECIMAL_NAME
    SCALE_FIELD: ClassVar[str] = "scale"

    @staticmethod
    def builder(scale: int) -> SchemaBuilder:
        """A builder for a Decimal schema with ``scale``."""
        return SchemaBuilder.bytes().name(DECIMAL_NAME).parameter("scale", str(int(scale))).version(1)

    @staticmethod
    def schema(scale: int) -> Schema:
        """The (required) Decimal schema with ``scale``."""
        return Decimal.builder(scale).build()

    @staticmethod
    def scale(schema: Schema) -> int:
        """The scale parameter of a Decimal schema.

        Raises:
            DataError: The parameter is missing or not an integer.
        """
        params = schema._parameters
        text = params.get("scale") if params is not None else None
        if text is None:
            raise DataError("Invalid Decimal schema: scale parameter not found.")
        try:
            return int(text)
        except ValueError as exc:
            raise DataError(f"Invalid scale parameter found in Decimal schema: {text!r}") from exc

    @staticmethod
    def from_logical(schema: Schema, value: _decimal.Decimal) -> bytes:
        """The BYTES form of ``value``.

        Raises:
            DataError: The value's scale differs from the schema's, or it is not a finite decimal.
        """
        schema_scale = Decimal.scale(schema)
        if not isinstance(value, _decimal.Decimal) or not value.is_finite():
            raise DataError(f"Invalid value for Decimal schema: {value!r} is not a finite decimal.Decimal")
        value_scale = -int(value.as_tuple().exponent)
        if value_scale != schema_scale:
            raise DataError(
                "Decimal value has mismatching scale for given Decimal schema. "
                f"Schema has scale {schema_scale}, value has scale {value_scale}."
            )
        unscaled = int(value.scaleb(value_scale, _EXACT))
        return unscaled_to_bytes(unscaled)

    @staticmethod
    def to_logical(schema: Schema, value: bytes | bytearray | memoryview) -> _decimal.Decimal:
        """The ``decimal.Decimal`` for the BYTES form ``value``.

        Raises:
            DataError: Empty bytes or a bad scale parameter.
        """
        scale = Decimal.scale(schema)
        raw = bytes(value)
        if not raw:
            raise DataError("Invalid Decimal value: zero-length unscaled value")
        unscaled = int.from_bytes(raw, "big", signed=True)
        sign, digits, _ = _decimal.Decimal(unscaled).as_tuple()
        return _decimal.Decimal((sign, digits, -scale))


class Date:
    """A calendar date stored as INT32 days since the epoch."""

    LOGICAL_NAME: ClassVar[str] = DATE_NAME
    SCHEMA: ClassVar[Schema]

    @staticmethod
    def builder() -> SchemaBuilder:
        """A builder for a Date schema."""
        return SchemaBuilder.int32().name(DATE_NAME).version(1)

    @staticmethod
    def from_logical(schema: Schema, value: _dt.date) -> int:
        """Days since 1970-01-01 for ``value`` (a ``date``, or a ``datetime`` at midnight UTC).

        Raises:
            DataError: Wrong schema, wrong type, or a datetime with a time of day.
        """
        if schema._name != DATE_NAME:
            raise DataError("Requested conversion of Date object but the schema does not match.")
        if isinstance(value, _dt.datetime):
            millis = epoch_millis(value)
            if millis % MILLIS_PER_DAY:
                raise DataError("Kafka Connect Date type should not have any time fields set to non-zero values.")
            return millis // MILLIS_PER_DAY
        if not isinstance(value, _dt.date):
            raise DataError(f"Invalid type for Date, expected datetime.date but was {type(value).__name__}")
        return (value - _EPOCH_DATE).days

    @staticmethod
    def to_logical(schema: Schema, value: int) -> _dt.date:
        """The ``date`` ``value`` days after 1970-01-01."""
        if schema._name != DATE_NAME:
            raise DataError("Requested conversion of Date object but the schema does not match.")
        try:
            return _EPOCH_DATE + _dt.timedelta(days=value)
        except OverflowError as exc:
            raise DataError(f"Date value {value} is out of the supported range") from exc


class Time:
    """A time of day stored as INT32 milliseconds since midnight."""

    LOGICAL_NAME: ClassVar[str] = TIME_NAME
    SCHEMA: ClassVar[Schema]

    @staticmethod
    def builder() -> SchemaBuilder:
        """A builder for a Time schema."""
        return SchemaBuilder.int32().name(TIME_NAME).version(1)

    @staticmethod
    def from_logical(schema: Schema, value: _dt.time | _dt.datetime) -> int:
        """Milliseconds since midnight for ``value`` (a ``time``, or a ``datetime`` on 1970-01-01 UTC).

        Raises:
            DataError: Wrong schema, wrong type, or a value outside the first day.
        """
        if schema._name != TIME_NAME:
            raise DataError("Requested conversion of Time object but the schema does not match.")
        if not isinstance(value, (_dt.time, _dt.datetime)):
            raise DataError(f"Invalid type for Time, expected datetime.time but was {type(value).__name__}")
        millis = epoch_millis(value)
        if millis < 0 or millis > MILLIS_PER_DAY:
            raise DataError("Kafka Connect Time type should not have any date fields set to non-zero values.")
        return millis

    @staticmethod
    def to_logical(schema: Schema, value: int) -> _dt.time:
        """The ``time`` ``value`` milliseconds after midnight.

        Raises:
            DataError: Wrong schema or a value outside [0, 86400000).
        """
        if schema._name != TIME_NAME:
            raise DataError("Requested conversion of Date object but the schema does not match.")
        if value < 0 or value >= MILLIS_PER_DAY:
            raise DataError("Time values must use number of milliseconds greater than 0 and less than 86400000")
        seconds, millis = divmod(value, 1000)
        minutes, seconds = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return _dt.time(hours, minutes, seconds, millis * 1000)


class Timestamp:
    """An instant stored as INT64 milliseconds since the epoch (UTC)."""

    LOGICAL_NAME: ClassVar[str] = TIMESTAMP_NAME
    SCHEMA: ClassVar[Schema]

    @staticmethod
    def builder() -> SchemaBuilder:
        """A builder for a Timestamp schema."""
        return SchemaBuilder.int64().name(TIMESTAMP_NAME).version(1)

    @staticmethod
    def from_logical(schema: Schema, value: _dt.datetime | _dt.date) -> int:
        """Epoch milliseconds of ``value`` (a naive datetime is UTC; a ``date`` means its midnight UTC).

        Raises:
            DataError: Wrong schema or wrong type.
        """
        if schema._name != TIMESTAMP_NAME:
            raise DataError("Requested conversion of Timestamp object but the schema does not match.")
        if not isinstance(value, _dt.date):
            raise DataError(
                f"Invalid type for Timestamp, expected datetime.datetime but was {type(value).__name__}"
            )
        return epoch_millis(value)

    @staticmethod
    def to_logical(schema: Schema, value: int) -> _dt.datetime:
        """The UTC ``datetime`` ``value`` milliseconds after the epoch."""
        if schema._name != TIMESTAMP_NAME:
            raise DataError("Requested conversion of Timestamp object but the schema does not match.")
        try:
            return from_epoch_millis(value)
        except OverflowError as exc:
            raise DataError(f"Timestamp value {value} is out of the supported range") from exc


Date.SCHEMA = Date.builder().build()
Time.SCHEMA = Time.builder().build()
Timestamp.SCHEMA = Timestamp.builder().build()
