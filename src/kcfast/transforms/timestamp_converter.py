"""``TimestampConverter$Key`` / ``TimestampConverter$Value``: convert timestamps between representations.

``target.type`` is ``string`` (text in the ``java.text.SimpleDateFormat`` pattern ``format``, UTC), ``unix``
(a number in ``unix.precision``: seconds, milliseconds, microseconds or nanoseconds), ``Date``, ``Time`` or
``Timestamp`` (the Connect logical types; Python ``date``, ``time`` and UTC ``datetime``). The input type comes
from the schema (logical name, else STRING = string, INT64 = unix) or, without a schema, from the value
(``date``/``time``/``datetime`` = Timestamp, int = unix, str = string). ``field`` names the field holding the
timestamp; empty means the whole key/value. Conversions go through epoch milliseconds, so sub-millisecond parts
are lost, as in Kafka.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from kcfast.api._text import java_trim
from kcfast.api.config import Config, ConfigDef, Importance, Type, ValidString
from kcfast.data import Date, Schema, SchemaBuilder, Struct, Time, Timestamp
from kcfast.data._java import epoch_millis, from_epoch_millis
from kcfast.data.schema import Type as SchemaType
from kcfast.errors import ConfigError, ConnectError, DataError
from kcfast.transforms._datefmt import DateFormatError, SimpleDateFormat
from kcfast.transforms._util import (
    REPLACE_NULL_WITH_DEFAULT_CONFIG,
    REPLACE_NULL_WITH_DEFAULT_DOC,
    KeyOrValueTransformation,
    KeySide,
    SchemaCache,
    ValueSide,
    copy_schema_basics,
    field_value,
    java_class,
    require_map,
    require_struct_or_none,
)

FIELD_CONFIG = "field"
TARGET_TYPE_CONFIG = "target.type"
FORMAT_CONFIG = "format"
UNIX_PRECISION_CONFIG = "unix.precision"

TYPE_STRING = "string"
TYPE_UNIX = "unix"
TYPE_DATE = "Date"
TYPE_TIME = "Time"
TYPE_TIMESTAMP = "Timestamp"

PRECISION_MILLIS = "milliseconds"
PRECISION_MICROS = "microseconds"
PRECISION_NANOS = "nanoseconds"
PRECISION_SECONDS = "seconds"

OPTIONAL_DATE_SCHEMA = Date.builder().optional().build()
OPTIONAL_TIMESTAMP_SCHEMA = Timestamp.builder().optional().build()
OPTIONAL_TIME_SCHEMA = Time.builder().optional().build()

CONFIG_DEF = (
    ConfigDef()
    .define(FIELD_CONFIG, Type.STRING, "", None, Importance.HIGH,
            "The field containing the timestamp, or empty if the entire value is a timestamp")
    .define(TARGET_TYPE_CONFIG, Type.STRING, ConfigDef.NO_DEFAULT_VALUE,
            ValidString.in_(TYPE_STRING, TYPE_UNIX, TYPE_DATE, TYPE_TIME, TYPE_TIMESTAMP), Importance.HIGH,
            "The desired timestamp representation: string, unix, Date, Time, or Timestamp")
    .define(FORMAT_CONFIG, Type.STRING, "", None, Importance.MEDIUM,
            "A SimpleDateFormat-compatible format for the timestamp. Used to generate the output when type=string "
            "or used to parse the input if the input is a string.")
    .define(UNIX_PRECISION_CONFIG, Type.STRING, PRECISION_MILLIS,
            ValidString.in_(PRECISION_NANOS, PRECISION_MICROS, PRECISION_MILLIS, PRECISION_SECONDS),
            Importance.LOW,
            "The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds. "
            "Used to generate the output when type=unix or used to parse the input if the input is a Long."
            "Note: This SMT will cause precision loss during conversions from, and to, values with "
            "sub-millisecond components.")
    .define(REPLACE_NULL_WITH_DEFAULT_CONFIG, Type.BOOLEAN, True, None, Importance.MEDIUM,
            REPLACE_NULL_WITH_DEFAULT_DOC)
)

PURPOSE = "converting timestamp formats"
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1
_SCALE = {PRECISION_SECONDS: 1000, PRECISION_MICROS: -1000, PRECISION_NANOS: -1_000_000, PRECISION_MILLIS: 1}


def _saturated(value: int) -> int:
    return max(_LONG_MIN, min(_LONG_MAX, value))


def _div_trunc(value: int, divisor: int) -> int:
    quotient = abs(value) // divisor
    return quotient if value >= 0 else -quotient


def _to_millis(value: int, precision: str) -> int:
    """``TimeUnit.<precision>.toMillis``: multiply (saturating) or divide (truncating)."""
    scale = _SCALE[precision]
    return _saturated(value * scale) if scale > 0 else _div_trunc(value, -scale)


def _from_millis(millis: int, precision: str) -> int:
    """``TimeUnit.MILLISECONDS.to<precision>``."""
    scale = _SCALE[precision]
    return _div_trunc(millis, scale) if scale > 0 else _saturated(millis * -scale)


def _moment(millis: int) -> _dt.datetime:
    try:
        return from_epoch_millis(millis)
    except OverflowError as exc:
        raise DataError(f"Timestamp value {millis} is out of the supported range") from exc


def type_schema(target: str, optional: bool) -> Schema:
    """The schema of values of a timestamp type."""
    if target == TYPE_STRING:
        return Schema.OPTIONAL_STRING_SCHEMA if optional else Schema.STRING_SCHEMA
    if target == TYPE_UNIX:
        return Schema.OPTIONAL_INT64_SCHEMA if optional else Schema.INT64_SCHEMA
    if target == TYPE_DATE:
        return OPTIONAL_DATE_SCHEMA if optional else Date.SCHEMA
    if target == TYPE_TIME:
        return OPTIONAL_TIME_SCHEMA if optional else Time.SCHEMA
    return OPTIONAL_TIMESTAMP_SCHEMA if optional else Timestamp.SCHEMA


def timestamp_type_of(schema: Schema) -> str:
    """The timestamp type a schema stands for.

    Raises:
        ConnectError: ``Schema Schema{INT32} does not correspond to a known timestamp type format``.
    """
    if schema.name == Timestamp.LOGICAL_NAME:
        return TYPE_TIMESTAMP
    if schema.name == Date.LOGICAL_NAME:
        return TYPE_DATE
    if schema.name == Time.LOGICAL_NAME:
        return TYPE_TIME
    if schema.type is SchemaType.STRING:
        return TYPE_STRING
    if schema.type is SchemaType.INT64:
        return TYPE_UNIX
    raise ConnectError(f"Schema {schema!r} does not correspond to a known timestamp type format")


def _inferred_type(value: Any) -> str:
    if isinstance(value, (_dt.date, _dt.time)):
        return TYPE_TIMESTAMP
    if isinstance(value, int) and not isinstance(value, bool):
        return TYPE_UNIX
    if isinstance(value, str):
        return TYPE_STRING
    raise DataError(f"TimestampConverter does not support {java_class(value)} objects as timestamps")


class TimestampConverter(KeyOrValueTransformation):
    """Convert timestamps between strings, Unix epochs and Connect's Date/Time/Timestamp (use ``Key``/``Value``)."""

    Key: type[TimestampConverter]
    Value: type[TimestampConverter]

    def __init__(self) -> None:
        self._field = ""
        self._type = TYPE_TIMESTAMP
        self._format: SimpleDateFormat | None = None
        self._precision = PRECISION_MILLIS
        self._replace_null_with_default = True
        self._cache = SchemaCache()

    def config(self) -> ConfigDef:
        """The TimestampConverter keys."""
        return CONFIG_DEF

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Read the target type, the format and the precision.

        Raises:
            ConfigError: ``string`` target without ``format``, or a pattern ``SimpleDateFormat`` rejects.
        """
        config = Config(CONFIG_DEF, configs)
        self._field = config.get_string(FIELD_CONFIG) or ""
        self._type = config.get_string(TARGET_TYPE_CONFIG) or ""
        pattern = config.get_string(FORMAT_CONFIG)
        self._precision = config.get_string(UNIX_PRECISION_CONFIG) or PRECISION_MILLIS
        self._replace_null_with_default = bool(config.get_boolean(REPLACE_NULL_WITH_DEFAULT_CONFIG))
        self._cache = SchemaCache()
        blank = pattern is None or not java_trim(pattern)
        if self._type == TYPE_STRING and blank:
            raise ConfigError("TimestampConverter requires format option to be specified when using string "
                              "timestamps")
        self._format = None
        if not blank:
            assert pattern is not None
            try:
                self._format = SimpleDateFormat(pattern)
            except DateFormatError as exc:
                raise ConfigError("TimestampConverter requires a SimpleDateFormat-compatible pattern for string "
                                  f"timestamps: {pattern}") from exc

    # -- conversion -----------------------------------------------------------------------------------------

    def _to_raw(self, source: str, value: Any) -> int:
        if source == TYPE_STRING:
            if not isinstance(value, str):
                raise DataError(f"Expected string timestamp to be a String, but found {java_class(value)}")
            if self._format is None:
                raise DataError("TimestampConverter requires format option to be specified when using string "
                                "timestamps")
            try:
                return self._format.parse(value)
            except DateFormatError as exc:
                raise DataError(f"Could not parse timestamp: value ({value}) does not match pattern "
                                f"({self._format.to_pattern()})") from exc
        if source == TYPE_UNIX:
            if not isinstance(value, int) or isinstance(value, bool):
                raise DataError(f"Expected Unix timestamp to be a Long, but found {java_class(value)}")
            return _to_millis(value, self._precision)
        if not isinstance(value, (_dt.date, _dt.time)):
            raise DataError(f"Expected {source} to be a java.util.Date, but found {java_class(value)}")
        return epoch_millis(value)

    def _to_type(self, millis: int) -> Any:
        target = self._type
        if target == TYPE_STRING:
            assert self._format is not None
            try:
                return self._format.format(millis)
            except DateFormatError as exc:
                raise DataError(str(exc)) from exc
        if target == TYPE_UNIX:
            return _from_millis(millis, self._precision)
        moment = _moment(millis)
        if target == TYPE_DATE:
            return moment.date()
        if target == TYPE_TIME:
            return _dt.time(moment.hour, moment.minute, moment.second, moment.microsecond)
        if target == TYPE_TIMESTAMP:
            return moment
        raise ConnectError(f"Unsupported timestamp type: {target}")

    def convert(self, value: Any, source: str | None = None) -> Any:
        """Convert one timestamp (None stays None) from ``source`` (inferred from the value if None)."""
        if value is None:
            return None
        if source is None:
            source = _inferred_type(value)
        return self._to_type(self._to_raw(source, value))

    # -- records --------------------------------------------------------------------------------------------

    def apply(self, record: Any) -> Any:
        """The record with the timestamp converted.

        Raises:
            DataError: a value of the wrong type or text that does not match the format.
            ConnectError: a schema that is not a timestamp type.
        """
        schema = self._operating_schema(record)
        value = self._operating_value(record)
        if schema is None:
            if value is None or not self._field:
                return self._new_record(record, None, self.convert(value))
            data = require_map(value, PURPOSE)
            updated = dict(data)
            updated[self._field] = self.convert(data.get(self._field))
            return self._new_record(record, None, updated)
        if not self._field:
            source = timestamp_type_of(schema)
            return self._new_record(record, type_schema(self._type, schema.optional), self.convert(value, source))
        struct = require_struct_or_none(value, PURPOSE)
        updated_schema = self._cache.get(schema)
        if updated_schema is None:
            builder = copy_schema_basics(schema, SchemaBuilder.struct())
            for field in schema.fields:
                if field.name == self._field:
                    builder.field(field.name, type_schema(self._type, field.schema.optional))
                else:
                    builder.field(field.name, field.schema)
            if schema.optional:
                builder.optional()
            if schema.default_value is not None:
                builder.default_value(self._convert_struct(schema.default_value, builder.build()))
            updated_schema = builder.build()
            self._cache.put(schema, updated_schema)
        return self._new_record(record, updated_schema, self._convert_struct(struct, updated_schema))

    def _convert_struct(self, value: Struct | None, updated_schema: Schema) -> Struct | None:
        if value is None:
            return None
        result = Struct(updated_schema)
        for field in value.schema.fields:
            if field.name == self._field:
                source = timestamp_type_of(field.schema)
                converted = self.convert(field_value(value, field, self._replace_null_with_default), source)
            else:
                converted = field_value(value, field, self._replace_null_with_default)
            result.put(field.name, converted)
        return result

    def close(self) -> None:
        """Drop the schema cache."""
        self._cache = SchemaCache()


class TimestampConverterKey(KeySide, TimestampConverter):
    """``TimestampConverter$Key``: convert the key or one of its fields."""


class TimestampConverterValue(ValueSide, TimestampConverter):
    """``TimestampConverter$Value``: convert the value or one of its fields."""


TimestampConverter.Key = TimestampConverterKey
TimestampConverter.Value = TimestampConverterValue

__all__ = [
    "CONFIG_DEF",
    "TimestampConverter",
    "TimestampConverterKey",
    "TimestampConverterValue",
    "timestamp_type_of",
    "type_schema",
]
