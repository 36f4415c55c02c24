"""The built-in predicates: ``TopicNameMatches``, ``HasHeaderKey`` and ``RecordIsTombstone``.

A transformation with ``transforms.<a>.predicate=<p>`` applies to a record only when the predicate's result
XOR ``transforms.<a>.negate`` is true.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kcfast.api.config import CompositeValidator, Config, ConfigDef, Importance, NonEmptyString, Type
from kcfast.api.transforms import Predicate
from kcfast.api.validators import invalid_value
from kcfast.transforms._regex import JavaRegexError, compile_java_regex
from kcfast.transforms._util import JavaRegexValidator, Versioned

PATTERN_CONFIG = "pattern"
NAME_CONFIG = "name"


class TopicNameMatches(Versioned, Predicate[Any]):
    """True for records whose topic matches the configured Java regular expression (as a whole)."""

    CONFIG_DEF = ConfigDef().define(
        PATTERN_CONFIG, Type.STRING, ConfigDef.NO_DEFAULT_VALUE,
        CompositeValidator.of(NonEmptyString(), JavaRegexValidator()), Importance.MEDIUM,
        "A Java regular expression for matching against the name of a record's topic.",
    )

    def __init__(self) -> None:
        self._pattern: re.Pattern[str] | None = None
        self._text: str | None = None

    def config(self) -> ConfigDef:
        """The TopicNameMatches keys."""
        return self.CONFIG_DEF

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Read ``pattern`` (required, a non-empty valid regex)."""
        value = Config(self.CONFIG_DEF, configs).get_string(PATTERN_CONFIG) or ""
        try:
            self._pattern = compile_java_regex(value)
        except JavaRegexError as exc:
            raise invalid_value(PATTERN_CONFIG, value,
                                f"entry must be a Java-compatible regular expression: {exc}") from exc
        self._text = value

    def test(self, record: Any) -> bool:
        """Whether the record's topic matches the whole pattern."""
        assert self._pattern is not None, "TopicNameMatches is not configured"
        return record.topic is not None and self._pattern.fullmatch(record.topic) is not None

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"TopicNameMatches{{pattern={self._text}}}"


class HasHeaderKey(Versioned, Predicate[Any]):
    """True for records with at least one header with the configured name."""

    CONFIG_DEF = ConfigDef().define(
        NAME_CONFIG, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, NonEmptyString(), Importance.MEDIUM, "The header name.",
    )

    def __init__(self) -> None:
        self._name: str | None = None

    def config(self) -> ConfigDef:
        """The HasHeaderKey keys."""
        return self.CONFIG_DEF

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Read ``name`` (required, non-empty)."""
        self._name = Config(self.CONFIG_DEF, configs).get_string(NAME_CONFIG)

    def test(self, record: Any) -> bool:
        """Whether the record has a header named ``name``."""
        return record.headers.last_with_name(self._name) is not None

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"HasHeaderKey{{name='{self._name}'}}"


class RecordIsTombstone(Versioned, Predicate[Any]):
    """True for records which are tombstones (their value is null)."""

    CONFIG_DEF = ConfigDef()

    def config(self) -> ConfigDef:
        """No keys."""
        return self.CONFIG_DEF

    def test(self, record: Any) -> bool:
        """Whether the record's value is None."""
        return record.value is None

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return "RecordIsTombstone{}"


__all__ = ["HasHeaderKey", "RecordIsTombstone", "TopicNameMatches"]
