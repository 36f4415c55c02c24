"""JSON text exactly as Kafka's JsonConverter (Jackson) writes and reads it, on top of orjson.

Writing: orjson's compact output already matches Jackson's except in three places, fixed here:
- numbers outside [1e-3, 1e7) and all FLOAT32 values: written as ``orjson.Fragment`` holding Java's
  ``Double.toString`` / ``Float.toString`` text (``1.0E7``, ``1.0E-4``); NaN and infinities as the strings
  ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (Jackson's default ``QUOTE_NON_NUMERIC_NUMBERS``);
- ``\\u00XX`` escapes of control characters: Jackson uses upper-case hex, orjson lower-case;
- decimals (NUMERIC format): ``BigDecimal.toString`` text as a Fragment.
Both escape only ``"``, ``\\`` and control characters (short forms for ``\\b \\t \\n \\f \\r``), write non-ASCII as
raw UTF-8 and do not escape ``/``.

Reading: orjson parses the common case. Jackson is more lenient (leading zeros in numbers, content after the
document, numbers too large for a double) and keeps exact decimals; :func:`loads_exact` handles those with the
standard library parser (floats as ``decimal.Decimal``). :func:`loads_fast` raises :class:`NeedExact` to ask for it.
"""

from __future__ import annotations

import decimal as _decimal
import json as _stdjson
import math
import re
from typing import Any

import orjson

from kcfast.data import java_decimal_str, java_double_str, java_float_str
from kcfast.errors import DataError

Fragment = orjson.Fragment

_NAN = Fragment(b'"NaN"')
_POS_INF = Fragment(b'"Infinity"')
_NEG_INF = Fragment(b'"-Infinity"')

# 19 digits or more: an integer that may not fit in a signed 64-bit long (orjson turns those >= 2**64 into floats).
_LONG_DIGITS = re.compile(rb"\d{19,}")
_LONG_MAX = (1 << 63) - 1
# A \u00XX escape with lower-case hex that is not itself escaped (preceded by an even run of backslashes).
_LOWER_HEX_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\u00([0-9a-f]{2})")
_JAVA_WHITESPACE = " \t\n\r"


class NeedExact(Exception):
    """Internal signal: this document needs the exact (slow) parse. Never escapes the converters."""


class _Missing:
    """Jackson's MissingNode: what an empty document parses to."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def float64_json(x: float) -> Any:
    """A FLOAT64 value for orjson: the float itself when orjson already prints it as Java does."""
    if 1e-3 <= abs(x) < 1e7 or x == 0.0:
        return x
    if math.isnan(x):
        return _NAN
    if math.isinf(x):
        return _POS_INF if x > 0 else _NEG_INF
    return Fragment(java_double_str(x).encode())


def float32_json(x: float) -> Any:
    """A FLOAT32 value for orjson: always a Fragment with Java's ``Float.toString`` text."""
    text = java_float_str(x)
    if text[-1] in "0123456789":
        return Fragment(text.encode())
    return {"NaN": _NAN, "Infinity": _POS_INF, "-Infinity": _NEG_INF}[text]


def decimal_json(value: _decimal.Decimal) -> Any:
    """A NUMERIC decimal for orjson: ``BigDecimal.toString`` text.

    Raises:
        DataError: NaN or infinite decimals, which Java cannot hold.
    """
    if not value.is_finite():
        raise DataError(f"Invalid value for Decimal: {value} is not a finite number")
    return Fragment(java_decimal_str(value).encode())


def _upper_hex(match: re.Match[bytes]) -> bytes:
    return match.group(1) + b"\\u00" + match.group(2).upper()


def dumps(obj: Any) -> bytes:
    """Serialize a tree built by the converters (dicts, lists, str, int, bool, None, floats, Fragments).

    Raises:
        DataError: The tree cannot be written (a string with lone surrogates, an integer over 64 bits).
    """
    try:
        out = orjson.dumps(obj)
    except orjson.JSONEncodeError as exc:
        raise DataError(f"Converting Kafka Connect data to byte[] failed due to serialization error: {exc}") from exc
    if b"\\u00" in out:
        out = _LOWER_HEX_ESCAPE.sub(_upper_hex, out)
    return out


def loads_fast(data: bytes | bytearray | memoryview) -> Any:
    """orjson parse of a whole document.

    Raises:
        NeedExact: The document is not plain strict JSON or may hold integers beyond 64 bits.
    """
    for match in _LONG_DIGITS.finditer(data):
        run = match.group()
        if len(run) > 19 or int(run) > _LONG_MAX:
            raise NeedExact
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise NeedExact from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Non-standard token '{name}'")


_DECODER = _stdjson.JSONDecoder(parse_float=_decimal.Decimal, parse_constant=_reject_constant)


_STRING_OR_ZEROS = re.compile(r'("(?:[^"\\]|\\.)*")|(?<![\w.])(-?)0+(?=\d)')


def _strip_leading_zeros(text: str) -> str:
    """Remove leading zeros from number tokens outside strings (Jackson's ``ALLOW_LEADING_ZEROS_FOR_NUMBERS``)."""
    return _STRING_OR_ZEROS.sub(lambda m: m.group(1) or m.group(2), text)


def loads_exact(data: bytes | bytearray | memoryview) -> Any:
    """Parse a document as Jackson does: floats as exact ``decimal.Decimal``, leading zeros allowed, content after
    the first value ignored, an empty document as :data:`MISSING`.

    Raises:
        DataError: Malformed JSON, with the parser's description of what is wrong.
    """
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"Converting byte[] to Kafka Connect data failed due to serialization error: invalid UTF-8: {exc}"
        ) from exc
    text = text.removeprefix("\ufeff")
    start = len(text) - len(text.lstrip(_JAVA_WHITESPACE))
    if start == len(text):
        return MISSING
    try:
        return _DECODER.raw_decode(text, start)[0]
    except ValueError as exc:
        first_error = exc
    try:
        fixed = _strip_leading_zeros(text)
        if fixed != text:
            return _DECODER.raw_decode(fixed, start)[0]
    except ValueError:
        pass
    raise DataError(
        f"Converting byte[] to Kafka Connect data failed due to serialization error: {first_error}"
    ) from first_error


def node_type(obj: Any) -> str:
    """Jackson's ``JsonNodeType`` name of a parsed value (for error messages)."""
    if obj is None:
        return "NULL"
    if obj is MISSING:
        return "MISSING"
    if isinstance(obj, bool):
        return "BOOLEAN"
    if isinstance(obj, (int, float, _decimal.Decimal)):
        return "NUMBER"
    if isinstance(obj, str):
        return "STRING"
    if isinstance(obj, list):
        return "ARRAY"
    if isinstance(obj, dict):
        return "OBJECT"
    return type(obj).__name__
