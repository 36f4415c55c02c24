"""``RegexRouter``: rename the topic with a Java regular expression and replacement.

The regex must match the whole topic (``Matcher.matches``); the new topic is then Java's
``Matcher.replaceFirst(replacement)``: ``$1``/``${name}`` insert groups, ``\\$`` is a literal dollar. A topic
that does not match is left alone.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from kcfast.api.config import Config, ConfigDef, Importance, Type
from kcfast.api.transforms import Transformation
from kcfast.transforms._regex import compile_java_regex, java_replace_first
from kcfast.transforms._util import JavaRegexValidator, Versioned, with_topic

log = logging.getLogger(__name__)

REGEX = "regex"
REPLACEMENT = "replacement"

CONFIG_DEF = (
    ConfigDef()
    .define(REGEX, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, JavaRegexValidator(), Importance.HIGH,
            "Regular expression to use for matching.")
    .define(REPLACEMENT, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, None, Importance.HIGH, "Replacement string.")
)


class RegexRouter(Versioned, Transformation[Any]):
    """Update the record topic using the configured regular expression and replacement string."""

    def __init__(self) -> None:
        self._regex: re.Pattern[str] | None = None
        self._replacement = ""

    def config(self) -> ConfigDef:
        """The RegexRouter keys."""
        return CONFIG_DEF

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Read ``regex`` (a valid Java regex) and ``replacement`` (both required)."""
        config = Config(CONFIG_DEF, configs)
        self._regex = compile_java_regex(config.get_string(REGEX) or "")
        self._replacement = config.get_string(REPLACEMENT) or ""

    def apply(self, record: Any) -> Any:
        """The record on its new topic, or unchanged if the topic does not match."""
        assert self._regex is not None, "RegexRouter is not configured"
        topic = record.topic
        if self._regex.fullmatch(topic) is not None:
            new_topic = java_replace_first(self._regex, topic, self._replacement)
            log.debug("Rerouting from topic '%s' to new topic '%s'", topic, new_topic)
            return with_topic(record, new_topic)
        log.debug("Not rerouting topic '%s' as it does not match the configured regex", topic)
        return record

    def close(self) -> None:
        """Nothing to release."""


__all__ = ["CONFIG_DEF", "RegexRouter"]
