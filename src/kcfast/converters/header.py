"""``SimpleHeaderConverter`` (Java ``org.apache.kafka.connect.storage.SimpleHeaderConverter``), the default
header converter.

Writes the UTF-8 bytes of ``Values.convert_to_string``; reads UTF-8 text back through ``Values.parse_string``,
which infers the type (booleans, the smallest integer type, floats, decimals, lists, maps, ISO dates and times,
else a string). Text that cannot be parsed is returned as BYTES of the original, as in Kafka.
"""

from __future__ import annotations

import logging
from typing import Any

from kcfast._version import __version__
from kcfast.api.config import ConfigDef
from kcfast.api.converter import HeaderConverter
from kcfast.data import Schema, SchemaAndValue, convert_to_string, parse_string

_log = logging.getLogger(__name__)


class SimpleHeaderConverter(HeaderConverter):
    """Header values as text with type inference on read."""

    def configure(self, configs: dict[str, Any]) -> None:
        """Nothing to configure."""

    def config(self) -> ConfigDef:
        """An empty ConfigDef."""
        return ConfigDef()

    def version(self) -> str:
        """The kcfast version."""
        return __version__

    def to_connect_header(self, topic: str, header_key: str, value: bytes | None) -> SchemaAndValue:
        """Parse the UTF-8 text of a header value; unparseable text comes back as BYTES of the original."""
        if value is None:
            return SchemaAndValue.NULL
        try:
            return parse_string(bytes(value).decode("utf-8", "replace"))
        except Exception:  # noqa: BLE001 - Kafka falls back to bytes on any parse failure
            _log.warning(
                "Failed to deserialize value for header '%s' on topic '%s', so using byte array",
                header_key, topic, exc_info=True,
            )
            return SchemaAndValue(Schema.BYTES_SCHEMA, bytes(value))

    def from_connect_header(self, topic: str, header_key: str, schema: Schema | None, value: Any) -> bytes | None:
        """The UTF-8 bytes of ``Values.convert_to_string(schema, value)``; None stays None.

        Raises:
            DataError: A value of a type Connect does not know.
        """
        if value is None:
            return None
        text = convert_to_string(schema, value)
        assert text is not None
        return text.encode("utf-8", "replace")
