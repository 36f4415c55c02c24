"""Validators and recommenders for :class:`kcfast.api.config.ConfigDef` keys.

They mirror the nested classes of Kafka's ``ConfigDef`` (``Range``, ``ValidString``, ...) and raise
:class:`kcfast.errors.ConfigError` with Kafka's exact texts, e.g.
``Invalid value 0 for configuration tasks.max: Value must be at least 1``. ``str()`` of a validator is the
"Valid Values" text Kafka shows in its documentation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kcfast.api._text import java_str
from kcfast.errors import ConfigError


def invalid_value(name: str, value: Any, reason: str | None = None) -> ConfigError:
    """Build Kafka's ``ConfigException(name, value, message)``: ``Invalid value V for configuration k: reason``.

    The value is printed as Java prints it (``null``, ``true``, ``[a, b]``), and ``.value`` keeps the object.
    """
    text = f"Invalid value {java_str(value)} for configuration {name}"
    if reason is not None:
        text += f": {reason}"
    error = ConfigError(text)
    error.name = name
    error.value = value
    return error


class Validator:
    """Checks one configuration value; subclasses override :meth:`ensure_valid`."""

    def ensure_valid(self, name: str, value: Any) -> None:
        """Raise :class:`~kcfast.errors.ConfigError` if ``value`` is not valid for configuration ``name``."""
        raise NotImplementedError

    def __str__(self) -> str:
        return ""


class Recommender:
    """Suggests values and decides visibility of a key from the other parsed values (Java ``Recommender``)."""

    def valid_values(self, name: str, parsed_config: Mapping[str, Any]) -> list[Any]:
        """The values to recommend for ``name`` given the parsed values of the other keys."""
        raise NotImplementedError

    def visible(self, name: str, parsed_config: Mapping[str, Any]) -> bool:
        """Whether ``name`` is relevant given the parsed values of the other keys."""
        raise NotImplementedError


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Range(Validator):
    """A numeric range with inclusive bounds (``Range.at_least(1)``, ``Range.between(0, 100)``)."""

    def __init__(self, min_value: float | None, max_value: float | None) -> None:
        self.min = min_value
        self.max = max_value

    @classmethod
    def at_least(cls, min_value: float) -> Range:
        """A range that checks only the lower bound."""
        return cls(min_value, None)

    @classmethod
    def between(cls, min_value: float, max_value: float) -> Range:
        """A range that checks both bounds (inclusive)."""
        return cls(min_value, max_value)

    def ensure_valid(self, name: str, value: Any) -> None:
        """Reject ``None`` and numbers outside the range."""
        if value is None:
            raise invalid_value(name, None, "Value must be non-null")
        if not _is_number(value):
            raise TypeError(f"Range validator of {name} got a non-numeric value {value!r}")
        if self.min is not None and float(value) < float(self.min):
            raise invalid_value(name, value, f"Value must be at least {java_str(self.min)}")
        if self.max is not None and float(value) > float(self.max):
            raise invalid_value(name, value, f"Value must be no more than {java_str(self.max)}")

    def __str__(self) -> str:
        if self.min is None and self.max is None:
            return "[...]"
        if self.min is None:
            return f"[...,{java_str(self.max)}]"
        if self.max is None:
            return f"[{java_str(self.min)},...]"
        return f"[{java_str(self.min)},...,{java_str(self.max)}]"


class ValidString(Validator):
    """The value must be one of the given strings (case-sensitive)."""

    def __init__(self, valid_strings: Iterable[str]) -> None:
        self.valid_strings = list(valid_strings)

    @classmethod
    def in_(cls, *valid_strings: str) -> ValidString:
        """Accept exactly these strings (Java ``ValidString.in``)."""
        return cls(valid_strings)

    def ensure_valid(self, name: str, value: Any) -> None:
        """Reject values not in the list."""
        if value not in self.valid_strings:
            raise invalid_value(name, value, "String must be one of: " + ", ".join(self.valid_strings))

    def __str__(self) -> str:
        return "[" + ", ".join(self.valid_strings) + "]"


class CaseInsensitiveValidString(Validator):
    """The value must be one of the given strings, ignoring case."""

    def __init__(self, valid_strings: Iterable[str]) -> None:
        # Kafka keeps the upper-cased strings in a hash set; keep them in first-seen order so messages are stable.
        self.valid_strings = list(dict.fromkeys(s.upper() for s in valid_strings))

    @classmethod
    def in_(cls, *valid_strings: str) -> CaseInsensitiveValidString:
        """Accept these strings in any case (Java ``CaseInsensitiveValidString.in``)."""
        return cls(valid_strings)

    def ensure_valid(self, name: str, value: Any) -> None:
        """Reject ``None`` and values not in the list whatever their case."""
        if not isinstance(value, str) or value.upper() not in self.valid_strings:
            raise invalid_value(
                name, value, "String must be one of (case insensitive): " + ", ".join(self.valid_strings)
            )

    def __str__(self) -> str:
        return "(case insensitive) [" + ", ".join(self.valid_strings) + "]"


class ValidList(Validator):
    """Every element of a LIST value must be one of the given strings."""

    def __init__(self, valid_strings: Iterable[str]) -> None:
        self.valid_string = ValidString(valid_strings)

    @classmethod
    def in_(cls, *valid_strings: str) -> ValidList:
        """Accept lists whose elements are all among these strings (Java ``ValidList.in``)."""
        return cls(valid_strings)

    def ensure_valid(self, name: str, value: Any) -> None:
        """Check each element; ``None`` (an unset list) passes."""
        for element in value or ():
            self.valid_string.ensure_valid(name, element)

    def __str__(self) -> str:
        return str(self.valid_string)


class NonNullValidator(Validator):
    """The value must not be ``None``."""

    def ensure_valid(self, name: str, value: Any) -> None:
        """Reject ``None``."""
        if value is None:
            raise invalid_value(name, None, "entry must be non null")

    def __str__(self) -> str:
        return "non-null string"


class NonEmptyString(Validator):
    """A string value must not be empty (``None`` passes)."""

    def ensure_valid(self, name: str, value: Any) -> None:
        """Reject ``""``."""
        if value == "":
            raise invalid_value(name, value, "String must be non-empty")

    def __str__(self) -> str:
        return "non-empty string"


class NonEmptyStringWithoutControlChars(Validator):
    """A string value must be non-empty and free of ISO control characters (``None`` passes).

    This is what Kafka Connect applies to a connector's ``name``.
    """

    @classmethod
    def non_empty_string_without_control_chars(cls) -> NonEmptyStringWithoutControlChars:
        """A new instance (Java's static factory of the same name)."""
        return cls()

    def ensure_valid(self, name: str, value: Any) -> None:
        """Reject ``""`` and strings holding control characters, listing their code points."""
        if value is None:
            return
        if value == "":
            raise invalid_value(name, value, "String may not be empty")
        found = [str(ord(c)) for c in value if unicodedata.category(c) == "Cc"]
        if found:
            raise invalid_value(
                name,
                value,
                "String may not contain control sequences but had the following ASCII chars: "
                + ", ".join(found),
            )

    def __str__(self) -> str:
        return "non-empty string without ISO control characters"


class ListSize(Validator):
    """A LIST value may hold at most ``max_size`` elements."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size

    @classmethod
    def at_most_of_size(cls, max_size: int) -> ListSize:
        """Accept lists of at most ``max_size`` elements."""
        return cls(max_size)

    def ensure_valid(self, name: str, value: Any) -> None:
        """Reject lists that are too long."""
        if value is not None and len(value) > self.max_size:
            raise invalid_value(name, value, f"exceeds maximum list size of [{self.max_size}].")

    def __str__(self) -> str:
        return f"List containing maximum of {self.max_size} elements"


class LambdaValidator(Validator):
    """A validator made of two functions: ``ensure_valid(name, value)`` and a description."""

    def __init__(self, ensure_valid: Callable[[str, Any], None], to_string: Callable[[], str]) -> None:
        self._ensure_valid = ensure_valid
        self._to_string = to_string

    @classmethod
    def with_(cls, ensure_valid: Callable[[str, Any], None], to_string: Callable[[], str]) -> LambdaValidator:
        """Build one from the two functions (Java ``LambdaValidator.with``)."""
        return cls(ensure_valid, to_string)

    def ensure_valid(self, name: str, value: Any) -> None:
        """Call the wrapped function."""
        self._ensure_valid(name, value)

    def __str__(self) -> str:
        return self._to_string()


class CompositeValidator(Validator):
    """Runs several validators in turn; the first failure is raised."""

    def __init__(self, validators: Iterable[Validator]) -> None:
        self.validators = tuple(validators)

    @classmethod
    def of(cls, *validators: Validator) -> CompositeValidator:
        """Combine ``validators`` (Java ``CompositeValidator.of``)."""
        return cls(validators)

    def ensure_valid(self, name: str, value: Any) -> None:
        """Run every validator."""
        for validator in self.validators:
            validator.ensure_valid(name, value)

    def __str__(self) -> str:
        return ", ".join(str(v) for v in self.validators)


class RegexValidator(Validator):
    """A STRING value must compile as a regular expression."""

    def ensure_valid(self, name: str, value: Any) -> None:
        """Reject patterns that do not compile (and ``None``, like Kafka: ``Invalid regex: null``)."""
        if value is None:
            raise invalid_value(name, None, "Invalid regex: null")
        try:
            re.compile(value)
        except re.error as exc:
            raise invalid_value(name, value, f"Invalid regex: {exc}") from exc

    def __str__(self) -> str:
        return "valid regex"


class _PrefixedValidator(Validator):
    """Delegates to ``base`` with the key prefix removed from the name (used by :meth:`ConfigDef.embed`)."""

    def __init__(self, prefix: str, base: Validator) -> None:
        self.prefix = prefix
        self.base = base

    def ensure_valid(self, name: str, value: Any) -> None:
        self.base.ensure_valid(name[len(self.prefix) :], value)

    def __str__(self) -> str:
        return str(self.base)


class _PrefixedRecommender(Recommender):
    """Delegates to ``base`` with the key prefix removed from names (used by :meth:`ConfigDef.embed`)."""

    def __init__(self, prefix: str, base: Recommender) -> None:
        self.prefix = prefix
        self.base = base

    def _unprefixed(self, parsed: Mapping[str, Any]) -> dict[str, Any]:
        n = len(self.prefix)
        return {k[n:]: v for k, v in parsed.items() if k.startswith(self.prefix)}

    def valid_values(self, name: str, parsed_config: Mapping[str, Any]) -> list[Any]:
        return self.base.valid_values(name[len(self.prefix) :], self._unprefixed(parsed_config))

    def visible(self, name: str, parsed_config: Mapping[str, Any]) -> bool:
        return self.base.visible(name[len(self.prefix) :], self._unprefixed(parsed_config))


__all__ = [
    "CaseInsensitiveValidString",
    "CompositeValidator",
    "LambdaValidator",
    "ListSize",
    "NonEmptyString",
    "NonEmptyStringWithoutControlChars",
    "NonNullValidator",
    "Range",
    "Recommender",
    "RegexValidator",
    "ValidList",
    "ValidString",
    "Validator",
    "invalid_value",
]
