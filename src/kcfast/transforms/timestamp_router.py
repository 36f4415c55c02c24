"""``TimestampRouter``: route a record to a topic made of its topic and its timestamp.

``topic.format`` (default ``${topic}-${timestamp}``) has ``${topic}`` and ``${timestamp}`` replaced; the
timestamp is the record's, formatted in UTC with the ``java.text.SimpleDateFormat`` pattern ``timestamp.format``
(default ``yyyyMMdd``). A record without a timestamp is an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kcfast.api.config import Config, ConfigDef, Importance, Type
from kcfast.api.transforms import Transformation
from kcfast.errors import DataError
from kcfast.transforms._datefmt import SimpleDateFormat
from kcfast.transforms._util import Versioned, with_topic

TOPIC_FORMAT = "topic.format"
TIMESTAMP_FORMAT = "timestamp.format"

CONFIG_DEF = (
    ConfigDef()
    .define(TOPIC_FORMAT, Type.STRING, "${topic}-${timestamp}", None, Importance.HIGH,
            "Format string which can contain <code>${topic}</code> and <code>${timestamp}</code> as placeholders "
            "for the topic and timestamp, respectively.")
    .define(TIMESTAMP_FORMAT, Type.STRING, "yyyyMMdd", None, Importance.HIGH,
            "Format string for the timestamp that is compatible with <code>java.text.SimpleDateFormat</code>.")
)


class TimestampRouter(Versioned, Transformation[Any]):
    """Update the record's topic from its original topic and its timestamp (mainly for sink connectors)."""

    def __init__(self) -> None:
        self._topic_format = "${topic}-${timestamp}"
        self._timestamp_pattern = "yyyyMMdd"
        self._format: SimpleDateFormat | None = None

    def config(self) -> ConfigDef:
        """The TimestampRouter keys."""
        return CONFIG_DEF

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Read ``topic.format`` and ``timestamp.format``.

        As in Kafka, the timestamp pattern is compiled when the first record is routed, so an invalid pattern
        fails that record.
        """
        config = Config(CONFIG_DEF, configs)
        self._topic_format = config.get_string(TOPIC_FORMAT) or ""
        self._timestamp_pattern = config.get_string(TIMESTAMP_FORMAT) or ""
        self._format = None

    def apply(self, record: Any) -> Any:
        """The record on its timestamped topic.

        Raises:
            DataError: ``Timestamp missing on record: ...``.
            ValueError: an invalid ``timestamp.format`` (``Illegal pattern character 'x'``).
        """
        timestamp = record.timestamp
        if timestamp is None:
            raise DataError(f"Timestamp missing on record: {record!r}")
        if self._format is None:
            self._format = SimpleDateFormat(self._timestamp_pattern)
        formatted = self._format.format(timestamp)
        topic = self._topic_format.replace("${topic}", record.topic).replace("${timestamp}", formatted)
        return with_topic(record, topic)

    def close(self) -> None:
        """Forget the compiled pattern."""
        self._format = None


__all__ = ["CONFIG_DEF", "TimestampRouter"]
