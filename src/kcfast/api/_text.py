"""Java-compatible text of configuration values, for error messages and REST shapes.

Kafka Connect puts ``String.valueOf(value)`` into its configuration error messages and REST entities, so the
same value must print the same way here: ``null``, ``true``, ``1.0E10``, ``[a, b]``, ``{k=v}``.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

# String.trim() removes every char <= U+0020 at both ends, and nothing else.
_JAVA_WHITESPACE = "".join(chr(i) for i in range(33))


def java_trim(text: str) -> str:
    """Trim ``text`` the way Java's ``String.trim()`` does (code points up to U+0020 only)."""
    return text.strip(_JAVA_WHITESPACE)


def java_double_str(value: float) -> str:
    """Format a float like Java's ``Double.toString``: ``1.0``, ``0.001``, ``1.0E7``, ``1.5E-4``, ``NaN``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    assert isinstance(exponent, int)
    exponent += len("".join(map(str, digit_tuple))) - len(digits)
    if not digits:  # pragma: no cover - zero is handled above
        digits = "0"
    sci = len(digits) - 1 + exponent  # value = d.ddd x 10**sci
    if 1e-3 <= abs(value) < 1e7:
        if sci >= 0:
            whole = digits[: sci + 1].ljust(sci + 1, "0")
            frac = digits[sci + 1 :] or "0"
            return f"{sign}{whole}.{frac}"
        return f"{sign}0.{'0' * (-sci - 1)}{digits}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{sci}"


def java_str(value: Any) -> str:
    """``String.valueOf`` of a configuration value: ``None`` -> ``null``, lists as ``[a, b]``, maps as ``{k=v}``."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return java_double_str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(java_str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{java_str(k)}={java_str(v)}" for k, v in value.items()) + "}"
    if isinstance(value, type):
        return f"class {value.__module__}.{value.__qualname__}"
    return str(value)


_INT_RE = re.compile(r"[+-]?\d+")

#: The Java class name of a Python value, for "but it was a java.lang.X" messages.
_INT_RANGES = (
    (-(2**31), 2**31 - 1, "java.lang.Integer"),
    (-(2**63), 2**63 - 1, "java.lang.Long"),
)


def java_class_name(value: Any) -> str:
    """The name of the Java class that would hold ``value`` (``java.lang.String``, ``java.lang.Integer``, ...)."""
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        for low, high, name in _INT_RANGES:
            if low <= value <= high:
                return name
        return "java.math.BigInteger"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, (list, tuple)):
        return "java.util.ArrayList"
    if isinstance(value, dict):
        return "java.util.HashMap"
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def parse_java_int(text: str, bits: int) -> int:
    """Parse ``text`` like ``Integer.parseInt`` / ``Short.parseShort`` / ``Long.parseLong``.

    Raises:
        ValueError: ``text`` is not an optionally signed run of digits, or is outside the signed ``bits`` range.
    """
    if not _INT_RE.fullmatch(text):
        raise ValueError(text)
    number = int(text)
    limit = 1 << (bits - 1)
    if not -limit <= number < limit:
        raise ValueError(text)
    return number


_DOUBLE_RE = re.compile(
    r"[+-]?(?:NaN|Infinity|"
    r"(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?)|"
    r"(?:0[xX](?:[0-9a-fA-F]+\.?|[0-9a-fA-F]*\.[0-9a-fA-F]+)[pP][+-]?\d+[fFdD]?))",
    re.ASCII,
)


def parse_java_double(text: str) -> float:
    """Parse ``text`` like ``Double.parseDouble`` (after trimming): decimal, ``NaN``, ``Infinity``, hex floats.

    Raises:
        ValueError: ``text`` is not in Java's floating-point grammar.
    """
    if not _DOUBLE_RE.fullmatch(text):
        raise ValueError(text)
    # The regex guarantees a trailing f/F/d/D is a type suffix (a hex float always ends in its p-exponent).
    body = text[:-1] if text[-1] in "fFdD" else text
    unsigned = body.lstrip("+-")
    if unsigned[:2] in ("0x", "0X"):
        return float.fromhex(body)
    if unsigned == "NaN":
        return math.nan
    if unsigned == "Infinity":
        return -math.inf if body.startswith("-") else math.inf
    return float(body)
