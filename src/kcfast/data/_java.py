"""Java's text forms of numbers and Connect values.

Kafka Connect writes numbers with ``Double.toString`` / ``Float.toString`` (JSON converter, header converter,
``Values.convertToString``) and whole values with ``String.valueOf`` (FileStreamSink, StringConverter). These
helpers reproduce those texts for Python values so that kcfast writes the same bytes.

The shortest-digits rule followed is the one of JDK 19 and later (also what Python's ``repr`` computes), with
Java's extra rule that when one digit is enough, the closest decimal of one *or two* digits is chosen
(``Double.MIN_VALUE`` prints as ``4.9E-324``).
"""

from __future__ import annotations

import datetime as _dt
import decimal as _decimal
import math
import struct
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kcfast.data.schema import Schema

_F32 = struct.Struct("<f")
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_EPOCH_DATE = _dt.date(1970, 1, 1)
MILLIS_PER_DAY = 86_400_000


def to_float32(x: float) -> float:
    """Round a Python float to the nearest IEEE-754 single, as Java's ``(float)`` cast does.

    Args:
        x: Any float (or int).

    Returns:
        The float32 value as a Python float; values beyond float32 range become infinities.
    """
    try:
        return float(_F32.unpack(_F32.pack(x))[0])
    except OverflowError:
        return math.copysign(math.inf, x)


def _digits_of(text: str) -> tuple[str, int]:
    """Split a positive decimal literal (``repr`` or ``%e`` form) into significant digits and exponent.

    The value is ``d.ddd * 10**exp`` where ``d.ddd`` are the returned digits.
    """
    mantissa, _, exp_text = text.partition("e")
    exp = int(exp_text) if exp_text else 0
    int_part, _, frac_part = mantissa.partition(".")
    if int_part.strip("0"):
        int_part = int_part.lstrip("0")
        digits = (int_part + frac_part).rstrip("0")
        return digits or "0", exp + len(int_part) - 1
    stripped = frac_part.lstrip("0")
    lead = len(frac_part) - len(stripped)
    return stripped.rstrip("0") or "0", exp - lead - 1


def _layout(negative: bool, digits: str, exp: int, plain: bool) -> str:
    """Lay digits out the way ``Double.toString`` does (plain in [1e-3, 1e7), computerized otherwise)."""
    if plain:
        if exp >= 0:
            int_part = digits[: exp + 1].ljust(exp + 1, "0")
            frac_part = digits[exp + 1 :] or "0"
        else:
            int_part = "0"
            frac_part = "0" * (-exp - 1) + digits
        text = f"{int_part}.{frac_part}"
    else:
        text = f"{digits[0]}.{digits[1:] or '0'}E{exp}"
    return "-" + text if negative else text


def java_double_str(x: float) -> str:
    """Java ``Double.toString(x)``: ``1.0``, ``100.0``, ``1.0E7``, ``1.0E-4``, ``NaN``, ``-Infinity``.

    Args:
        x: The double value.

    Returns:
        The text Java prints for it.
    """
    if math.isnan(x):
        return "NaN"
    if x == math.inf:
        return "Infinity"
    if x == -math.inf:
        return "-Infinity"
    a = abs(x)
    if 1e-3 <= a < 1e7:
        # Python's repr is identical to Java's in this range (shortest digits, plain layout, ".0" for integers).
        return repr(x)
    if a == 0.0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    digits, exp = _digits_of(repr(a))
    if len(digits) == 1:
        # Java picks the closest decimal of length 1 or 2 (matters for subnormals only).
        digits, exp = _digits_of(f"{a:.1e}")
    return _layout(x < 0, digits, exp, False)


def java_float_str(x: float) -> str:
    """Java ``Float.toString((float) x)``: the shortest decimal that identifies the float32 value.

    Args:
        x: A Python float; it is first rounded to float32.

    Returns:
        The text Java prints for the float32 value (``0.1`` for ``0.1``, ``1.0E10``, ``NaN``...).
    """
    f = to_float32(x)
    if math.isnan(f):
        return "NaN"
    if f == math.inf:
        return "Infinity"
    if f == -math.inf:
        return "-Infinity"
    if f == 0.0:
        # Handled here, not in the cache: 0.0 and -0.0 are equal keys.
        return "-0.0" if math.copysign(1.0, f) < 0 else "0.0"
    return _finite_float_str(f)


@lru_cache(maxsize=8192)
def _finite_float_str(f: float) -> str:
    a = abs(f)
    text = f"{a:.8e}"
    for precision in range(9):
        candidate = f"{a:.{precision}e}"
        if to_float32(float(candidate)) == a:
            text = candidate
            break
    digits, exp = _digits_of(text)
    if len(digits) == 1:
        two = f"{a:.1e}"
        if to_float32(float(two)) == a:
            digits, exp = _digits_of(two)
    return _layout(f < 0, digits, exp, 1e-3 <= a < 1e7)


def java_decimal_str(value: _decimal.Decimal) -> str:
    """Java ``BigDecimal.toString()`` of a Python Decimal (same scientific-notation rule; no negative zero)."""
    if value.is_zero() and value.is_signed():
        value = value.copy_abs()
    return str(value)


def epoch_millis(value: _dt.date | _dt.time) -> int:
    """Milliseconds since the epoch (UTC) of a date, time (since midnight) or datetime (naive = UTC)."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)
        return (value - _EPOCH) // _dt.timedelta(milliseconds=1)
    if isinstance(value, _dt.date):
        return (value - _EPOCH_DATE).days * MILLIS_PER_DAY
    offset = value.utcoffset()
    millis = ((value.hour * 60 + value.minute) * 60 + value.second) * 1000 + value.microsecond // 1000
    if offset is not None:
        millis -= offset // _dt.timedelta(milliseconds=1)
    return millis


def from_epoch_millis(millis: int) -> _dt.datetime:
    """The UTC datetime ``millis`` milliseconds after the epoch."""
    return _EPOCH + _dt.timedelta(milliseconds=millis)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _java_date_str(value: _dt.date | _dt.time) -> str:
    """``java.util.Date.toString()`` in a UTC JVM: ``Thu Jan 01 00:00:00 UTC 1970``."""
    try:
        moment = from_epoch_millis(epoch_millis(value))
    except OverflowError:
        return str(value)
    return (
        f"{_DAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} {moment.day:02d} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} UTC {moment.year:04d}"
    )


def java_str(value: Any, schema: Schema | None = None) -> str:
    """Java ``String.valueOf`` of a Connect value, as Kafka's FileStreamSink and StringConverter write it.

    Strings are written raw, ``None`` as ``null``, booleans as ``true``/``false``, floats with Java's formatting
    (FLOAT32 when ``schema`` says so), lists as ``[a, b]``, maps as ``{k=v, k2=v2}`` (insertion order), structs as
    ``Struct{f1=v1,f2=v2}``, decimals as ``BigDecimal.toString`` and dates as ``java.util.Date.toString`` in UTC.
    Byte arrays have no stable Java text (``[B@<identity hash>``); kcfast writes ``[B@`` and a hex identity.

    Args:
        value: The Connect value.
        schema: Its schema, if known; used for FLOAT32 and for the elements of lists and maps.

    Returns:
        The text.
    """
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    # Schema and SchemaBuilder share these slots; reading them keeps this module free of an import cycle.
    stype = getattr(getattr(schema, "_type", None), "name", None)
    if isinstance(value, float):
        return java_float_str(value) if stype == "FLOAT32" else java_double_str(value)
    if isinstance(value, (list, tuple)):
        item_schema = getattr(schema, "_value_schema", None) if stype == "ARRAY" else None
        return "[" + ", ".join(java_str(item, item_schema) for item in value) + "]"
    if isinstance(value, dict):
        key_schema = getattr(schema, "_key_schema", None) if stype == "MAP" else None
        value_schema = getattr(schema, "_value_schema", None) if stype == "MAP" else None
        return (
            "{"
            + ", ".join(f"{java_str(k, key_schema)}={java_str(v, value_schema)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, _decimal.Decimal):
        return java_decimal_str(value)
    if isinstance(value, (_dt.date, _dt.time)):
        return _java_date_str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"[B@{id(value) & 0xFFFFFFFF:x}"
    return str(value)
