"""Converter and HeaderConverter: the translation between Connect data and the bytes on Kafka.

Mirrors Kafka Connect's ``org.apache.kafka.connect.storage.Converter`` and ``HeaderConverter`` with Python
naming. Converters are created by the worker, configured once, and then used from one task thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kcfast.api.config import ConfigDef
    from kcfast.data import ConnectHeaders, Schema, SchemaAndValue


class Converter:
    """Turns Connect data into bytes (``from_connect_data``) and back (``to_connect_data``)."""

    def configure(self, configs: dict[str, Any], is_key: bool) -> None:
        """Configure this converter; ``is_key`` tells whether it converts record keys or values."""

    def from_connect_data(
        self, topic: str, schema: Schema | None, value: Any, headers: ConnectHeaders | None = None
    ) -> bytes | None:
        """Serialize ``value`` (described by ``schema``) for ``topic``; ``None`` is a Kafka null."""
        raise NotImplementedError

    def to_connect_data(self, topic: str, data: bytes | None, headers: ConnectHeaders | None = None) -> SchemaAndValue:
        """Deserialize Kafka bytes (``None`` for a Kafka null) into a schema and a Connect value."""
        raise NotImplementedError

    def config(self) -> ConfigDef:
        """The configuration this converter accepts."""
        from kcfast.api.config import ConfigDef

        return ConfigDef()

    def close(self) -> None:
        """Release resources held by this converter."""


class HeaderConverter:
    """Turns header values into bytes and back."""

    def configure(self, configs: dict[str, Any]) -> None:
        """Configure this header converter."""

    def to_connect_header(self, topic: str, header_key: str, value: bytes | None) -> SchemaAndValue:
        """Deserialize the bytes of header ``header_key``."""
        raise NotImplementedError

    def from_connect_header(self, topic: str, header_key: str, schema: Schema | None, value: Any) -> bytes | None:
        """Serialize a header value."""
        raise NotImplementedError

    def config(self) -> ConfigDef:
        """The configuration this header converter accepts."""
        from kcfast.api.config import ConfigDef

        return ConfigDef()

    def close(self) -> None:
        """Release resources held by this header converter."""
