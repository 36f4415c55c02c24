"""The text parser behind ``Values.parse_string`` (Java ``Values.ValueParser`` and ``Values.Parser``).

The tokenizer splits on the delimiters ``: , { } [ ] "`` (a backslash escapes the next character); the value
parser then tries, in Java's order: quoted string, ``null``/``true``/``false``, array, map, temporal literal,
number, and finally the original text as a STRING. Its quirks are Kafka's and are kept on purpose (for example,
``[1,null]`` parses as a STRING because the common element schema is required).

Temporal literals are parsed as Java's lenient ``SimpleDateFormat`` in a UTC JVM does for the three ISO patterns:
numeric fields take every digit available and out-of-range fields roll over (``2024-13-01`` is 2025-01-01).
Results outside what Python's ``datetime`` can hold are not treated as temporal.
"""

from __future__ import annotations

import datetime as _dt
import decimal as _decimal
import math
import re
import struct
from typing import Any

from kcfast.data._java import to_float32
from kcfast.data.logical import Date, Decimal, Time, Timestamp
from kcfast.data.schema import Schema, SchemaAndValue, Type
from kcfast.errors import DataError

_DELIMITERS = frozenset(':,{}[]"')
_JAVA_WS = "".join(chr(c) for c in range(33))
_LONG_MIN = -(1 << 63)
_LONG_MAX = (1 << 63) - 1
_TRUE = SchemaAndValue(Schema.BOOLEAN_SCHEMA, True)
_FALSE = SchemaAndValue(Schema.BOOLEAN_SCHEMA, False)


def _trim(text: str) -> str:
    return text.strip(_JAVA_WS)


def _is_blank(text: str | None) -> bool:
    return text is None or not _trim(text)


class _Tokenizer:
    """Java ``Values.Parser``: a rewindable tokenizer over the original text."""

    __slots__ = ("end", "next_token", "original", "pos", "previous_token")

    def __init__(self, original: str) -> None:
        self.original = original
        self.pos = 0
        self.end = len(original)
        self.next_token: str | None = None
        self.previous_token: str | None = None

    def mark(self) -> int:
        return self.pos - (len(self.next_token) if self.next_token is not None else 0)

    def rewind_to(self, position: int) -> None:
        self.pos = position
        self.next_token = None
        self.previous_token = None

    def has_next(self) -> bool:
        return self.next_token is not None or self.pos < self.end

    def next(self) -> str:
        if self.next_token is not None:
            self.previous_token = self.next_token
            self.next_token = None
        else:
            self.previous_token = self._consume()
        return self.previous_token

    def next_n(self, n: int) -> str | None:
        start = self.mark()
        for _ in range(n):
            if not self.has_next():
                self.rewind_to(start)
                return None
            self.next()
        return self.original[start : self.pos]

    def _consume(self) -> str:
        text = self.original
        start = self.pos
        escaped = False
        while self.pos < self.end:
            c = text[self.pos]
            if c == "\\":
                escaped = not escaped
            elif c in _DELIMITERS:
                if not escaped:
                    if start < self.pos:
                        return text[start : self.pos]
                    self.pos += 1
                    return text[start : start + 1]
                escaped = False
            else:
                escaped = False
            self.pos += 1
        return text[start : self.pos]

    def can_consume(self, expected: str) -> bool:
        if self._is_next(expected):
            self.next_token = None
            return True
        return False

    def _is_next(self, expected: str) -> bool:
        if self.next_token is None:
            if not self.has_next():
                return False
            self.next_token = self._consume()
        while _is_blank(self.next_token) and self.pos < self.end:
            self.next_token = self._consume()
        return _trim(self.next_token) == expected


class ValueParser:
    """Java ``Values.ValueParser`` over one string."""

    __slots__ = ("parser",)

    def __init__(self, text: str) -> None:
        self.parser = _Tokenizer(text)

    def _single_token_literal(self, embedded: bool, literal: str) -> bool:
        parser = self.parser
        start = parser.mark()
        if parser.can_consume(literal) and (embedded or not parser.has_next()):
            return True
        parser.rewind_to(start)
        return False

    def parse(self, embedded: bool) -> SchemaAndValue | None:
        """Parse the next value; None stands for a null value."""
        parser = self.parser
        if not parser.has_next():
            return None
        if embedded and parser.can_consume('"'):
            return self._quoted_string()
        if self._single_token_literal(embedded, "null"):
            return None
        if self._single_token_literal(embedded, "true"):
            return _TRUE
        if self._single_token_literal(embedded, "false"):
            return _FALSE
        start = parser.mark()
        try:
            if parser.can_consume("["):
                return self._array()
            if parser.can_consume("{"):
                return self._map()
        except DataError:
            parser.rewind_to(start)
        token = parser.next()
        if _is_blank(token):
            return SchemaAndValue(Schema.STRING_SCHEMA, token)
        return self._next_token(embedded, _trim(token))

    def _next_token(self, embedded: bool, token: str) -> SchemaAndValue:
        first = token[0]
        is_digit = first.isdecimal()
        if is_digit:
            temporal = self._multiple_tokens_as_temporal(token)
            if temporal is not None:
                return temporal
        if is_digit or first in "+-":
            number = parse_as_number(token)
            if number is not None:
                return number
        if embedded:
            raise DataError("Failed to parse embedded value")
        return SchemaAndValue(Schema.STRING_SCHEMA, self.parser.original)

    def _quoted_string(self) -> SchemaAndValue:
        parser = self.parser
        parts = []
        while parser.has_next():
            if parser.can_consume('"'):
                break
            parts.append(parser.next())
        content = "".join(parts)
        temporal = parse_as_temporal(content)
        if temporal is not None:
            return temporal
        return SchemaAndValue(Schema.STRING_SCHEMA, content)

    def _array(self) -> SchemaAndValue:
        parser = self.parser
        result: list[Any] = []
        merger = _SchemaMerger()
        while parser.has_next():
            if parser.can_consume("]"):
                if merger.common is not None:
                    list_schema = Schema(Type.ARRAY, value_schema=merger.common)
                    result = _align_list(list_schema, result)
                else:
                    list_schema = Schema(Type.ARRAY)
                return SchemaAndValue(list_schema, result)
            if parser.can_consume(","):
                raise DataError(f"Unable to parse an empty array element: {parser.original}")
            element = self.parse(True)
            merger.merge(element)
            result.append(element.value if element is not None else None)
            current = parser.mark()
            if parser.can_consume("]"):
                parser.rewind_to(current)
            elif not parser.can_consume(","):
                raise DataError("Array elements missing ',' delimiter")
        if parser.previous_token == ",":
            raise DataError(f"Array is missing element after ',': {parser.original}")
        raise DataError(f"Array is missing terminating ']': {parser.original}")

    def _map(self) -> SchemaAndValue:
        parser = self.parser
        result: dict[Any, Any] = {}
        keys = _SchemaMerger()
        values = _SchemaMerger()
        while parser.has_next():
            if parser.can_consume("}"):
                if keys.common is not None and values.common is not None:
                    map_schema = Schema(Type.MAP, key_schema=keys.common, value_schema=values.common)
                    result = _align_map(map_schema, result, align_values=True)
                elif keys.common is not None:
                    map_schema = Schema(Type.MAP, key_schema=keys.common)
                    result = _align_map(map_schema, result, align_values=False)
                else:
                    map_schema = Schema(Type.MAP)
                return SchemaAndValue(map_schema, result)
            if parser.can_consume(","):
                raise DataError(f"Unable to parse a map entry with no key or value: {parser.original}")
            key = self.parse(True)
            if key is None or key.value is None:
                raise DataError(f"Map entry may not have a null key: {parser.original}")
            if not parser.can_consume(":"):
                raise DataError(f"Map entry is missing ':' at {parser.pos} in {parser.original}")
            value = self.parse(True)
            try:
                result[key.value] = value.value if value is not None else None
            except TypeError as exc:
                raise DataError(f"Map key {key.value!r} cannot be used as a key") from exc
            parser.can_consume(",")
            keys.merge(key)
            values.merge(value)
        if parser.previous_token == ",":
            raise DataError(f"Map is missing element after ',': {parser.original}")
        raise DataError(f"Map is missing terminating '}}': {parser.original}")

    def _multiple_tokens_as_temporal(self, token: str) -> SchemaAndValue | None:
        parser = self.parser
        position = parser.mark()
        remainder = parser.next_n(4)
        if remainder is not None:
            temporal = parse_as_temporal(token + remainder)
            if temporal is not None:
                return temporal
        parser.rewind_to(position)
        return parse_as_temporal(token)


def _align_list(schema: Schema, values: list[Any]) -> list[Any]:
    from kcfast.data.values import convert_to

    item_schema = schema._value_schema
    assert item_schema is not None
    return [convert_to(item_schema, None, v) for v in values]


def _align_map(schema: Schema, values: dict[Any, Any], align_values: bool) -> dict[Any, Any]:
    from kcfast.data.values import convert_to

    key_schema = schema._key_schema
    value_schema = schema._value_schema
    assert key_schema is not None
    result = {}
    for k, v in values.items():
        new_key = convert_to(key_schema, None, k)
        result[new_key] = convert_to(value_schema, None, v) if align_values and value_schema is not None else v
    return result


class _SchemaMerger:
    __slots__ = ("common", "compatible")

    def __init__(self) -> None:
        self.common: Schema | None = None
        self.compatible = True

    def merge(self, latest: SchemaAndValue | None) -> None:
        if latest is None or latest.schema is None or not self.compatible:
            return
        if self.common is None:
            self.common = latest.schema
        else:
            self.common = merge_schemas(self.common, latest.schema)
            self.compatible = self.common is not None


_NUMERIC_ORDER = (Type.INT8, Type.INT16, Type.INT32, Type.INT64, Type.FLOAT32, Type.FLOAT64)


def merge_schemas(previous: Schema, new: Schema) -> Schema | None:
    """The common schema of two inferred schemas (numbers widen), or None (Java ``Values.mergeSchemas``)."""
    if previous.type is not new.type:
        if previous.type in _NUMERIC_ORDER and new.type in _NUMERIC_ORDER:
            wider = _NUMERIC_ORDER.index(new.type) > _NUMERIC_ORDER.index(previous.type)
            return new if wider else previous
        return None
    if previous.optional == new.optional:
        return previous if previous.optional else new
    if previous != new:
        return None
    return previous


def parse_as_number(token: str) -> SchemaAndValue | None:
    """Java ``ValueParser.parseAsNumber``: the smallest integer type, else FLOAT32, FLOAT64 or Decimal."""
    from kcfast.data.values import parse_java_decimal

    try:
        value = parse_java_decimal(token)
    except (ValueError, _decimal.InvalidOperation):
        return None
    scale = -int(value.as_tuple().exponent)
    if value.adjusted() <= 18 and value == value.to_integral_value():
        integral = int(value)
        if _LONG_MIN <= integral <= _LONG_MAX:
            if -128 <= integral <= 127:
                return SchemaAndValue(Schema.INT8_SCHEMA, integral)
            if -32768 <= integral <= 32767:
                return SchemaAndValue(Schema.INT16_SCHEMA, integral)
            if -(1 << 31) <= integral < (1 << 31):
                return SchemaAndValue(Schema.INT32_SCHEMA, integral)
            return SchemaAndValue(Schema.INT64_SCHEMA, integral)
    if scale != 0:
        f32 = decimal_to_float32(value)
        if not math.isinf(f32):
            return SchemaAndValue(Schema.FLOAT32_SCHEMA, f32)
        f64 = float(value)
        if not math.isinf(f64):
            return SchemaAndValue(Schema.FLOAT64_SCHEMA, f64)
    return SchemaAndValue(Decimal.schema(scale), value)


_U32 = struct.Struct("<I")
_F32 = struct.Struct("<f")


def _f32_neighbour(f: float, up: bool) -> float:
    bits = _U32.unpack(_F32.pack(f))[0]
    if f == 0.0:
        bits = 1 if up else 0x80000001
    elif (f > 0) == up:
        bits += 1
    else:
        bits -= 1
    return float(_F32.unpack(_U32.pack(bits))[0])


def decimal_to_float32(value: _decimal.Decimal) -> float:
    """A decimal rounded once to the nearest float32 (Java ``BigDecimal.floatValue``), avoiding the double
    rounding of going through a float64."""
    x = float(value)
    f = to_float32(x)
    if math.isinf(x) or math.isinf(f) or x == f:
        return f
    other = _f32_neighbour(f, up=x > f)
    if math.isinf(other) or x != (f + other) / 2:
        return f
    # float(value) landed exactly on a float32 midpoint: decide by the exact decimal.
    exact_mid = _decimal.Decimal(x)
    if value == exact_mid:
        return f
    toward_other = (value > exact_mid) == (other > f)
    return other if toward_other else f


_TIME_LEN = 13
_TIMESTAMP_LEN = 24
_DATE_LEN = 10
_FIELD = re.compile(r"[ \t]*(-?\d+)")


def _parse_fields(text: str, layout: str) -> list[int] | None:
    """Lenient SimpleDateFormat-style parse: ``layout`` is a string of ``#`` (a number) and literal chars."""
    values: list[int] = []
    pos = 0
    for item in layout:
        if item == "#":
            m = _FIELD.match(text, pos)
            if m is None or len(m.group(1).lstrip("-")) > 9:
                return None
            values.append(int(m.group(1)))
            pos = m.end()
        else:
            if pos >= len(text) or text[pos] != item:
                return None
            pos += 1
    return values


def _lenient_datetime(year: int, month: int, day: int, hour: int, minute: int, second: int,
                      milli: int) -> _dt.datetime | None:
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    try:
        base = _dt.datetime(year, month, 1, tzinfo=_dt.UTC)
        return base + _dt.timedelta(days=day - 1, hours=hour, minutes=minute, seconds=second, milliseconds=milli)
    except (ValueError, OverflowError):
        return None


def parse_as_temporal(token: str | None) -> SchemaAndValue | None:
    """Java ``ValueParser.parseAsTemporal``: a Time, Timestamp or Date literal chosen by length."""
    if token is None:
        return None
    token = token.replace("\\:", ":")
    length = len(token)
    if length == _TIME_LEN:
        fields = _parse_fields(token, "#:#:#.#Z")
        if fields is None:
            return None
        moment = _lenient_datetime(1970, 1, 1, fields[0], fields[1], fields[2], fields[3])
        if moment is None or moment.date() != _dt.date(1970, 1, 1):
            return None
        return SchemaAndValue(Time.SCHEMA, moment.time().replace(tzinfo=None))
    if length == _TIMESTAMP_LEN:
        fields = _parse_fields(token, "#-#-#T#:#:#.#Z")
        if fields is None:
            return None
        moment = _lenient_datetime(*fields[:7])
        return SchemaAndValue(Timestamp.SCHEMA, moment) if moment is not None else None
    if length == _DATE_LEN:
        fields = _parse_fields(token, "#-#-#")
        if fields is None:
            return None
        moment = _lenient_datetime(fields[0], fields[1], fields[2], 0, 0, 0, 0)
        return SchemaAndValue(Date.SCHEMA, moment.date()) if moment is not None else None
    return None
