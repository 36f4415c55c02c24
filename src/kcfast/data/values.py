"""``Values``: conversions between Connect values and their text form (Java ``org.apache.kafka.connect.data.Values``).

``convert_to_string`` is what ``SimpleHeaderConverter`` writes; ``parse_string`` is what it reads back (with the
type inference of Java's ``Values.parseString``); ``infer_schema`` guesses a schema from a Python value. The
``convert_to_*`` functions follow Java's lenient conversions (numbers truncate and wrap like Java casts).

Dates are printed as Java does for a ``java.util.Date``: an instant less than one day after the epoch (including
any instant before the epoch) prints as a time ``HH:mm:ss.SSS'Z'``, a midnight as a date ``yyyy-MM-dd``, anything
else as ``yyyy-MM-dd'T'HH:mm:ss.SSS'Z'``, all in UTC.
"""

from __future__ import annotations

import base64
import datetime as _dt
import decimal as _decimal
import math
import re
from typing import Any

from kcfast.data._java import (
    MILLIS_PER_DAY,
    epoch_millis,
    from_epoch_millis,
    java_decimal_str,
    java_double_str,
    java_float_str,
    java_str,
    to_float32,
)
from kcfast.data.logical import Date, Decimal, Time, Timestamp
from kcfast.data.schema import Schema, SchemaAndValue, SchemaBuilder, Type, as_schema
from kcfast.data.struct import DATE_NAME, DECIMAL_NAME, TIME_NAME, TIMESTAMP_NAME, Struct
from kcfast.errors import DataError

# Java's BigDecimal(String) grammar.
JAVA_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,10})?")


def wrap_int(value: int, bits: int) -> int:
    """``value`` cut to a signed ``bits``-bit integer, as a Java narrowing cast does."""
    mask = (1 << bits) - 1
    value &= mask
    return value - (1 << bits) if value >> (bits - 1) else value


def parse_java_decimal(text: str) -> _decimal.Decimal:
    """Java ``new BigDecimal(text)``.

    Raises:
        ValueError: ``text`` is not a Java decimal literal.
    """
    if not JAVA_DECIMAL.fullmatch(text):
        raise ValueError(f"Not a decimal number: {text!r}")
    return _decimal.Decimal(text)


def _double_to_long(x: float) -> int:
    if math.isnan(x):
        return 0
    if x >= 9.223372036854775807e18:
        return (1 << 63) - 1
    if x <= -9.223372036854775808e18:
        return -(1 << 63)
    return int(x)


def _is_temporal(value: Any) -> bool:
    return isinstance(value, (_dt.date, _dt.time))


def _as_long(value: Any, from_schema: Schema | None) -> int:
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        return wrap_int(value, 64)
    elif isinstance(value, float):
        return _double_to_long(value)
    elif isinstance(value, _decimal.Decimal):
        if value.is_finite():
            return wrap_int(int(value), 64)
    elif isinstance(value, str):
        try:
            return wrap_int(int(parse_java_decimal(value)), 64)
        except ValueError:
            pass
    if from_schema is not None:
        name = from_schema.name
        if _is_temporal(value):
            if name == DATE_NAME:
                return Date.from_logical(from_schema, value)
            if name == TIME_NAME:
                return Time.from_logical(from_schema, value)
            if name == TIMESTAMP_NAME:
                return Timestamp.from_logical(from_schema, value)
        raise DataError(f"Unable to convert {value!r} ({type(value).__name__}) to {from_schema}")
    raise DataError(f"Unable to convert {value!r} ({type(value).__name__}) to a number")


def _as_double(value: Any, from_schema: Schema | None) -> float:
    if isinstance(value, bool):
        pass
    elif isinstance(value, (int, float, _decimal.Decimal)):
        try:
            return float(value)
        except OverflowError:
            return math.copysign(math.inf, value)
    elif isinstance(value, str):
        try:
            return float(parse_java_decimal(value))
        except ValueError:
            pass
    return float(_as_long(value, from_schema))


def convert_to_boolean(schema: Schema | None, value: Any) -> bool | None:
    """Java ``Values.convertToBoolean``: booleans, ``"true"``/``"false"``, else number != 0."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        parsed = parse_string(value)
        if isinstance(parsed.value, bool):
            return parsed.value
    return _as_long(value, schema) != 0


def convert_to_byte(schema: Schema | None, value: Any) -> int | None:
    """Java ``Values.convertToByte`` (wraps like a ``(byte)`` cast)."""
    return None if value is None else wrap_int(_as_long(value, schema), 8)


def convert_to_short(schema: Schema | None, value: Any) -> int | None:
    """Java ``Values.convertToShort``."""
    return None if value is None else wrap_int(_as_long(value, schema), 16)


def convert_to_integer(schema: Schema | None, value: Any) -> int | None:
    """Java ``Values.convertToInteger``."""
    return None if value is None else wrap_int(_as_long(value, schema), 32)


def convert_to_long(schema: Schema | None, value: Any) -> int | None:
    """Java ``Values.convertToLong``."""
    return None if value is None else _as_long(value, schema)


def convert_to_float(schema: Schema | None, value: Any) -> float | None:
    """Java ``Values.convertToFloat`` (the result is rounded to float32)."""
    return None if value is None else to_float32(_as_double(value, schema))


def convert_to_double(schema: Schema | None, value: Any) -> float | None:
    """Java ``Values.convertToDouble``."""
    return None if value is None else _as_double(value, schema)


def convert_to_string(schema: Schema | None, value: Any) -> str | None:
    """Java ``Values.convertToString``: the text ``SimpleHeaderConverter`` writes.

    Strings are raw at top level and quoted (with ``\\`` and ``"`` escaped) inside lists, maps and structs; bytes
    are base64; lists are ``[a,b]``; maps and structs ``{"k":v}``; numbers use Java's formatting.

    Raises:
        DataError: A value of a type Connect does not know.
    """
    if value is None:
        return None
    parts: list[str] = []
    _append(parts, value, False, as_schema(schema))
    return "".join(parts)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _format_temporal(value: _dt.date | _dt.time) -> str:
    millis = epoch_millis(value)
    moment = from_epoch_millis(millis)
    time_text = f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    if millis < MILLIS_PER_DAY:
        return time_text
    date_text = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    if millis % MILLIS_PER_DAY == 0:
        return date_text
    return f"{date_text}T{time_text}"


def _append(parts: list[str], value: Any, embedded: bool, schema: Schema | None) -> None:
    if value is None:
        parts.append("null")
    elif isinstance(value, bool):
        parts.append("true" if value else "false")
    elif isinstance(value, int):
        parts.append(str(value))
    elif isinstance(value, float):
        is_f32 = schema is not None and schema.type is Type.FLOAT32
        parts.append(java_float_str(value) if is_f32 else java_double_str(value))
    elif isinstance(value, _decimal.Decimal):
        parts.append(java_decimal_str(value))
    elif isinstance(value, str):
        parts.append(f'"{_escape(value)}"' if embedded else value)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        text = base64.b64encode(value).decode("ascii")
        parts.append(f'"{text}"' if embedded else text)
    elif isinstance(value, (list, tuple)):
        item_schema = schema.value_schema if schema is not None and schema.type is Type.ARRAY else None
        parts.append("[")
        for i, item in enumerate(value):
            if i:
                parts.append(",")
            _append(parts, item, True, item_schema)
        parts.append("]")
    elif isinstance(value, dict):
        is_map = schema is not None and schema.type is Type.MAP
        key_schema = schema.key_schema if is_map else None  # type: ignore[union-attr]
        value_schema = schema.value_schema if is_map else None  # type: ignore[union-attr]
        parts.append("{")
        for i, (k, v) in enumerate(value.items()):
            if i:
                parts.append(",")
            _append(parts, k, True, key_schema)
            parts.append(":")
            _append(parts, v, True, value_schema)
        parts.append("}")
    elif isinstance(value, Struct):
        parts.append("{")
        for i, field in enumerate(value.schema.fields):
            if i:
                parts.append(",")
            _append(parts, field.name, True, None)
            parts.append(":")
            _append(parts, value.get(field), True, field.schema)
        parts.append("}")
    elif _is_temporal(value):
        parts.append(_format_temporal(value))
    else:
        raise DataError(f"Failed to serialize unexpected value type {type(value).__qualname__}: {value!r}")


def convert_to_list(schema: Schema | None, value: Any) -> list[Any]:
    """Java ``Values.convertToList``: a list, or a string parsed into one."""
    return _convert_to_array(_ARRAY_SELECTOR, value)


def convert_to_map(schema: Schema | None, value: Any) -> dict[Any, Any]:
    """Java ``Values.convertToMap``: a dict, or a string parsed into one."""
    return _convert_to_map(_MAP_SELECTOR, value)


def convert_to_struct(schema: Schema | None, value: Any) -> Struct:
    """Java ``Values.convertToStruct``: the value if it is a Struct."""
    if value is None:
        raise DataError("Unable to convert a null value to a schema that requires a value")
    if isinstance(value, Struct):
        return value
    raise DataError(f"Unable to convert {value!r} ({type(value).__name__}) to {_STRUCT_SELECTOR}")


def convert_to_date(schema: Schema | None, value: Any) -> _dt.date:
    """Java ``Values.convertToDate``."""
    if value is None:
        raise DataError("Unable to convert a null value to a schema that requires a value")
    result: _dt.date = _to_date(Date.SCHEMA, schema, value)
    return result


def convert_to_time(schema: Schema | None, value: Any) -> _dt.time | _dt.date:
    """Java ``Values.convertToTime``."""
    if value is None:
        raise DataError("Unable to convert a null value to a schema that requires a value")
    result: _dt.time | _dt.date = _to_time(Time.SCHEMA, schema, value)
    return result


def convert_to_timestamp(schema: Schema | None, value: Any) -> _dt.date | _dt.time:
    """Java ``Values.convertToTimestamp``."""
    if value is None:
        raise DataError("Unable to convert a null value to a schema that requires a value")
    result: _dt.date | _dt.time = _to_timestamp(Timestamp.SCHEMA, schema, value)
    return result


def convert_to_decimal(schema: Schema | None, value: Any, scale: int) -> _decimal.Decimal:
    """Java ``Values.convertToDecimal``."""
    if value is None:
        raise DataError("Unable to convert a null value to a schema that requires a value")
    return _to_decimal(Decimal.schema(scale), value)


def convert_to(to_schema: Schema, from_schema: Schema | None, value: Any) -> Any:
    """Convert ``value`` (described by ``from_schema``, may be None) to ``to_schema`` (Java ``Values.convertTo``).

    Raises:
        DataError: The value cannot be converted.
    """
    if value is None:
        if to_schema.optional:
            return None
        raise DataError("Unable to convert a null value to a schema that requires a value")
    stype = to_schema.type
    name = to_schema.name
    if stype is Type.BYTES:
        if name == DECIMAL_NAME:
            return _to_decimal(to_schema, value)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        if isinstance(value, _decimal.Decimal):
            return Decimal.from_logical(to_schema, value)
        raise DataError(f"Unable to convert {value!r} ({type(value).__name__}) to {to_schema}")
    if stype is Type.STRING:
        return convert_to_string(from_schema, value)
    if stype is Type.BOOLEAN:
        return convert_to_boolean(from_schema, value)
    if stype is Type.INT8:
        return convert_to_byte(from_schema, value)
    if stype is Type.INT16:
        return convert_to_short(from_schema, value)
    if stype is Type.INT32:
        if name == DATE_NAME:
            return _to_date(to_schema, from_schema, value)
        if name == TIME_NAME:
            return _to_time(to_schema, from_schema, value)
        return convert_to_integer(from_schema, value)
    if stype is Type.INT64:
        if name == TIMESTAMP_NAME:
            return _to_timestamp(to_schema, from_schema, value)
        return convert_to_long(from_schema, value)
    if stype is Type.FLOAT32:
        return convert_to_float(from_schema, value)
    if stype is Type.FLOAT64:
        return convert_to_double(from_schema, value)
    if stype is Type.ARRAY:
        return _convert_to_array(to_schema, value)
    if stype is Type.MAP:
        return _convert_to_map(to_schema, value)
    if isinstance(value, Struct):
        return value
    raise DataError(f"Unable to convert {value!r} ({type(value).__name__}) to {to_schema}")


def _to_decimal(to_schema: Schema, value: Any) -> _decimal.Decimal:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return Decimal.to_logical(to_schema, value)
    if isinstance(value, _decimal.Decimal):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _decimal.Decimal(java_double_str(_as_double(value, None)))
    if isinstance(value, str):
        try:
            return parse_java_decimal(value)
        except ValueError as exc:
            raise DataError(f"Unable to convert {value!r} (str) to {to_schema}") from exc
    raise DataError(f"Unable to convert {value!r} ({type(value).__name__}) to {to_schema}")


def _parsed(value: Any) -> Any:
    return parse_string(value).value if isinstance(value, str) else value


def _to_date(to_schema: Schema, from_schema: Schema | None, value: Any) -> Any:
    value = _parsed(value)
    if _is_temporal(value):
        if from_schema is None:
            return value
        if from_schema.name == DATE_NAME:
            return value
        if from_schema.name == TIMESTAMP_NAME:
            millis = epoch_millis(value)
            return Date.to_logical(to_schema, int(millis / MILLIS_PER_DAY))
    return Date.to_logical(to_schema, wrap_int(_as_long(value, from_schema), 32))


def _to_time(to_schema: Schema, from_schema: Schema | None, value: Any) -> Any:
    value = _parsed(value)
    if _is_temporal(value):
        if from_schema is None:
            return value
        if from_schema.name == TIME_NAME:
            return value
        if from_schema.name == TIMESTAMP_NAME:
            return Time.to_logical(to_schema, epoch_millis(value) % MILLIS_PER_DAY)
    return Time.to_logical(to_schema, wrap_int(_as_long(value, from_schema), 32))


def _to_timestamp(to_schema: Schema, from_schema: Schema | None, value: Any) -> Any:
    value = _parsed(value)
    if _is_temporal(value):
        if from_schema is None:
            return value
        if from_schema.name == DATE_NAME:
            return Timestamp.to_logical(to_schema, Date.from_logical(from_schema, value) * MILLIS_PER_DAY)
        if from_schema.name == TIME_NAME:
            return Timestamp.to_logical(to_schema, Time.from_logical(from_schema, value))
        if from_schema.name == TIMESTAMP_NAME:
            return value
    return Timestamp.to_logical(to_schema, _as_long(value, from_schema))


def _convert_to_array(to_schema: Schema, value: Any) -> list[Any]:
    if value is None:
        raise DataError("Unable to convert a null value to a schema that requires a value")
    value = _parsed(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    raise DataError(f"Unable to convert {value!r} ({type(value).__name__}) to {to_schema}")


def _convert_to_map(to_schema: Schema, value: Any) -> dict[Any, Any]:
    if value is None:
        raise DataError("Unable to convert a null value to a schema that requires a value")
    value = _parsed(value)
    if isinstance(value, dict):
        return value
    raise DataError(f"Unable to convert {value!r} ({type(value).__name__}) to {to_schema}")


_ARRAY_SELECTOR = SchemaBuilder.array(Schema.STRING_SCHEMA).build()
_MAP_SELECTOR = SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.STRING_SCHEMA).build()
_STRUCT_SELECTOR = SchemaBuilder.struct().build()


def infer_schema(value: Any) -> Schema | None:
    """Java ``Values.inferSchema``: a schema for a plain Python value, or None when it cannot be inferred.

    ``int`` infers INT64 and ``float`` FLOAT64 (Python numbers carry no width); lists and dicts infer an
    ARRAY or MAP when every element has the same inferable type; a Struct gives its own schema.
    """
    if isinstance(value, str):
        return Schema.STRING_SCHEMA
    if isinstance(value, bool):
        return Schema.BOOLEAN_SCHEMA
    if isinstance(value, int):
        return Schema.INT64_SCHEMA
    if isinstance(value, float):
        return Schema.FLOAT64_SCHEMA
    if isinstance(value, (bytes, bytearray, memoryview)):
        return Schema.BYTES_SCHEMA
    if isinstance(value, (list, tuple)):
        if not value:
            return None
        detector = _SchemaDetector()
        if not all(detector.can_detect(item) for item in value):
            return None
        return SchemaBuilder.array(detector.schema()).build()
    if isinstance(value, dict):
        if not value:
            return None
        keys, values = _SchemaDetector(), _SchemaDetector()
        for k, v in value.items():
            if not keys.can_detect(k) or not values.can_detect(v):
                return None
        return SchemaBuilder.map(keys.schema(), values.schema()).build()
    if isinstance(value, Struct):
        return value.schema
    return None


class _SchemaDetector:
    __slots__ = ("known", "optional")

    def __init__(self) -> None:
        self.known: Type | None = None
        self.optional = False

    def can_detect(self, value: Any) -> bool:
        if value is None:
            self.optional = True
            return True
        schema = infer_schema(value)
        if schema is None:
            return False
        if self.known is None:
            self.known = schema.type
        elif self.known is not schema.type:
            return False
        return True

    def schema(self) -> Schema:
        if self.known is None:
            raise DataError("Unable to infer a schema from null values only")
        builder = SchemaBuilder.type(self.known)
        if self.optional:
            builder.optional()
        return builder.build()


def parse_string(value: str | None) -> SchemaAndValue:
    """Java ``Values.parseString``: infer a schema and value from text (what ``SimpleHeaderConverter`` reads).

    ``true``/``false`` -> BOOLEAN; integers -> the smallest of INT8/INT16/INT32/INT64; decimals -> FLOAT32, else
    FLOAT64, else Decimal; ``[..]`` / ``{..}`` -> ARRAY / MAP (with a common element schema when there is one);
    ``yyyy-MM-dd``, ``HH:mm:ss.SSS'Z'`` and ``yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`` -> Date, Time, Timestamp; anything
    else -> STRING of the original text. ``None`` and ``"null"`` give ``SchemaAndValue.NULL``.

    Raises:
        DataError: Only for malformed input Java also rejects.
    """
    if value is None:
        return SchemaAndValue.NULL
    if not value:
        return SchemaAndValue(Schema.STRING_SCHEMA, value)
    from kcfast.data._values_parser import ValueParser

    result = ValueParser(value).parse(False)
    return result if result is not None else SchemaAndValue.NULL


class Values:
    """Java-style static access: ``Values.convert_to_string(schema, value)``, ``Values.parse_string(text)`` ..."""

    convert_to_boolean = staticmethod(convert_to_boolean)
    convert_to_byte = staticmethod(convert_to_byte)
    convert_to_short = staticmethod(convert_to_short)
    convert_to_integer = staticmethod(convert_to_integer)
    convert_to_long = staticmethod(convert_to_long)
    convert_to_float = staticmethod(convert_to_float)
    convert_to_double = staticmethod(convert_to_double)
    convert_to_string = staticmethod(convert_to_string)
    convert_to_list = staticmethod(convert_to_list)
    convert_to_map = staticmethod(convert_to_map)
    convert_to_struct = staticmethod(convert_to_struct)
    convert_to_date = staticmethod(convert_to_date)
    convert_to_time = staticmethod(convert_to_time)
    convert_to_timestamp = staticmethod(convert_to_timestamp)
    convert_to_decimal = staticmethod(convert_to_decimal)
    infer_schema = staticmethod(infer_schema)
    parse_string = staticmethod(parse_string)
    java_str = staticmethod(java_str)
