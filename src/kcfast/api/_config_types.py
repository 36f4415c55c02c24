"""Types of configuration keys and the parsing of values into them (Java ``ConfigDef.Type`` and ``parseType``)."""

from __future__ import annotations

import enum
import re
from typing import Any

from kcfast.api._text import java_class_name, java_str, java_trim, parse_java_double, parse_java_int
from kcfast.api.validators import invalid_value


class Type(enum.Enum):
    """The type of a configuration key; the REST API shows its name (``STRING``, ``LIST``, ...)."""

    BOOLEAN = "BOOLEAN"
    STRING = "STRING"
    INT = "INT"
    SHORT = "SHORT"
    LONG = "LONG"
    DOUBLE = "DOUBLE"
    LIST = "LIST"
    CLASS = "CLASS"
    PASSWORD = "PASSWORD"

    def is_sensitive(self) -> bool:
        """Whether values of this type are secrets (only ``PASSWORD``)."""
        return self is Type.PASSWORD

    def __str__(self) -> str:
        return self.name


class Importance(enum.Enum):
    """How likely a user needs to set the key; ``HIGH`` sorts first."""

    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"

    def __str__(self) -> str:
        return self.name


class Width(enum.Enum):
    """The display width of a value in a UI."""

    NONE = "NONE"
    SHORT = "SHORT"
    MEDIUM = "MEDIUM"
    LONG = "LONG"

    def __str__(self) -> str:
        return self.name


_IMPORTANCE_ORDER = {Importance.HIGH: 0, Importance.MEDIUM: 1, Importance.LOW: 2}


class _NoDefault:
    """The type of :data:`NO_DEFAULT_VALUE` (one instance, created below)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_DEFAULT_VALUE"

    def __reduce__(self) -> str:
        return "NO_DEFAULT_VALUE"


#: Marks a key as required: ``define(name, type)`` without a default.
NO_DEFAULT_VALUE: Any = _NoDefault()


class Password:
    """A secret configuration value; prints as ``[hidden]`` so it never reaches logs by accident."""

    HIDDEN = "[hidden]"

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def value(self) -> str:
        """The secret itself."""
        return self._value

    def __str__(self) -> str:
        return self.HIDDEN

    def __repr__(self) -> str:
        return self.HIDDEN

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Password) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


# The builtin ``type``: parameters named ``type`` (as in Java) shadow it inside functions.
_pytype = type

_COMMA_WITH_WHITESPACE = re.compile(r"\s*,\s*", re.ASCII)
_INT_BITS = {Type.INT: 32, Type.SHORT: 16, Type.LONG: 64}
_INT_WORDS = {
    Type.INT: "a 32-bit integer",
    Type.SHORT: "a 16-bit integer (short)",
    Type.LONG: "a 64-bit integer (long)",
}


def _fits(value: int, bits: int) -> bool:
    limit = 1 << (bits - 1)
    return -limit <= value < limit


def parse_type(name: str, value: Any, type: Type) -> Any:
    """Parse ``value`` (a string, or an already typed value) as ``type``, following Java's ``ConfigDef.parseType``.

    Strings are trimmed first. BOOLEAN accepts ``true``/``false`` in any case; INT, SHORT and LONG accept
    optionally signed digits within range; DOUBLE follows ``Double.parseDouble``; LIST splits on commas and the
    whitespace around them (``""`` is the empty list); CLASS keeps the class name (or a class object); PASSWORD
    wraps the text in a :class:`Password`.

    Raises:
        ConfigError: with Kafka's text, e.g. ``Invalid value x for configuration k: Not a number of type INT``.
    """
    if value is None:
        return None
    trimmed = java_trim(value) if isinstance(value, str) else None
    if type is Type.BOOLEAN:
        if trimmed is not None:
            lowered = trimmed.lower()
            if lowered == "true":
                return True
            if lowered == "false":
                return False
        elif isinstance(value, bool):
            return value
        raise invalid_value(name, value, "Expected value to be either true or false")
    if type is Type.PASSWORD:
        if isinstance(value, Password):
            return value
        if trimmed is not None:
            return Password(trimmed)
        raise invalid_value(
            name, value, f"Expected value to be a string, but it was a {java_class_name(value)}"
        )
    if type is Type.STRING:
        if trimmed is not None:
            return trimmed
        raise invalid_value(
            name, value, f"Expected value to be a string, but it was a {java_class_name(value)}"
        )
    if type in _INT_BITS:
        bits = _INT_BITS[type]
        if trimmed is not None:
            try:
                return parse_java_int(trimmed, bits)
            except ValueError:
                raise invalid_value(name, value, f"Not a number of type {type.name}") from None
        if isinstance(value, int) and not isinstance(value, bool) and _fits(value, bits):
            return value
        raise invalid_value(
            name, value, f"Expected value to be {_INT_WORDS[type]}, but it was a {java_class_name(value)}"
        )
    if type is Type.DOUBLE:
        if trimmed is not None:
            try:
                return parse_java_double(trimmed)
            except ValueError:
                raise invalid_value(name, value, "Not a number of type DOUBLE") from None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise invalid_value(
            name, value, f"Expected value to be a double, but it was a {java_class_name(value)}"
        )
    if type is Type.LIST:
        if isinstance(value, (list, tuple)):
            return list(value)
        if trimmed is not None:
            return _COMMA_WITH_WHITESPACE.split(trimmed) if trimmed else []
        raise invalid_value(name, value, "Expected a comma separated list.")
    if type is Type.CLASS:
        if isinstance(value, _pytype):
            return value
        if trimmed is not None:
            return trimmed
        raise invalid_value(name, value, "Expected a Class instance or class name.")
    raise ValueError(f"Unknown type {type!r}")


def class_name(value: Any) -> str:
    """The dotted name of a CLASS value: a class object's ``module.QualName``, or the string as given."""
    if isinstance(value, _pytype):
        return f"{value.__module__}.{value.__qualname__}"
    return str(value)


def convert_to_string(parsed_value: Any, type: Type | None) -> str | None:
    """Text of a parsed value as Kafka's REST API shows it (Java ``ConfigDef.convertToString``).

    ``None`` stays ``None``; LIST joins elements with ``,``; CLASS gives the class name; PASSWORD gives
    ``[hidden]``; other values print as Java prints them (``true``, ``1.5``).
    """
    if parsed_value is None:
        return None
    if type is Type.LIST:
        return ",".join(java_str(v) for v in parsed_value)
    if type is Type.CLASS:
        return class_name(parsed_value)
    return java_str(parsed_value)
