"""``StringConverter`` (Java ``org.apache.kafka.connect.storage.StringConverter``), also a header converter.

Writes ``String.valueOf(value)`` (see :func:`kcfast.data.java_str`) encoded with ``converter.encoding`` (a Java
charset name, default UTF-8); reads bytes as an OPTIONAL_STRING. Like Java, unmappable characters are replaced
(``?`` when encoding, U+FFFD when decoding) rather than failing.
"""

from __future__ import annotations

import codecs
from typing import Any

from kcfast._version import __version__
from kcfast.api.config import ConfigDef
from kcfast.api.converter import Converter, HeaderConverter
from kcfast.converters._config import ENCODING_CONFIG, TYPE_CONFIG, parse_configs, string_config_def
from kcfast.data import ConnectHeaders, Schema, SchemaAndValue, java_str
from kcfast.errors import ConfigError, DataError

# Java charsets whose Python codec of the same name behaves differently.
_BOM_CHARSETS = {"UTF-16": ("utf-16-be", "utf-16-le", b"\xfe\xff", b"\xff\xfe", True),
                 "UTF-32": ("utf-32-be", "utf-32-le", b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00", False)}


class JavaCharset:
    """Encode and decode like a named Java ``Charset`` (for the names Python also knows)."""

    __slots__ = ("_bom", "_codec", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._bom = _BOM_CHARSETS.get(name.upper())
        try:
            self._codec = codecs.lookup(self._bom[0] if self._bom else name).name
        except LookupError:
            raise ValueError(f"Unsupported encoding {name}") from None

    def encode(self, text: str) -> bytes:
        """Java ``String.getBytes(charset)``."""
        data = text.encode(self._codec, "replace")
        if self._bom is not None and self._bom[4] and data:
            return self._bom[2] + data
        return data

    def decode(self, data: bytes) -> str:
        """Java ``new String(bytes, charset)``."""
        if self._bom is not None:
            big, little, bom_big, bom_little, _ = self._bom
            if data.startswith(bom_big):
                return data[len(bom_big) :].decode(big, "replace")
            if data.startswith(bom_little):
                return data[len(bom_little) :].decode(little, "replace")
            return data.decode(big, "replace")
        return data.decode(self._codec, "replace")


class StringConverter(Converter, HeaderConverter):
    """Values as text: ``String.valueOf(value)`` in ``converter.encoding``; reads OPTIONAL_STRING."""

    def __init__(self) -> None:
        self._encoder = JavaCharset("UTF-8")
        self._decoder = self._encoder

    def configure(self, configs: dict[str, Any], is_key: bool | None = None) -> None:
        """Configure the encoding; ``key.serializer.encoding`` / ``value.serializer.encoding`` (and the
        ``deserializer`` forms) override ``converter.encoding`` as in Kafka.

        Raises:
            ConfigError: An invalid config or an encoding Python does not know.
        """
        values = parse_configs(string_config_def(), configs, is_key)
        encoding = str(values[ENCODING_CONFIG])
        prefix = "key" if values[TYPE_CONFIG] == "key" else "value"
        names = {}
        for role in ("serializer", "deserializer"):
            chosen = configs.get(f"{prefix}.{role}.encoding")
            names[role] = chosen if isinstance(chosen, str) else encoding
        try:
            self._encoder = JavaCharset(names["serializer"])
            self._decoder = JavaCharset(names["deserializer"])
        except ValueError as exc:
            raise ConfigError(ENCODING_CONFIG, encoding, str(exc)) from exc

    def config(self) -> ConfigDef:
        """The ConfigDef of the StringConverter configs."""
        return string_config_def()

    def version(self) -> str:
        """The kcfast version."""
        return __version__

    def from_connect_data(
        self, topic: str, schema: Schema | None, value: Any, headers: ConnectHeaders | None = None
    ) -> bytes | None:
        """``String.valueOf(value)`` encoded; ``None`` stays a Kafka null."""
        if value is None:
            return None
        try:
            return self._encoder.encode(java_str(value, schema))
        except Exception as exc:
            raise DataError(f"Failed to serialize to a string: {exc}") from exc

    def to_connect_data(self, topic: str, data: bytes | None, headers: ConnectHeaders | None = None) -> SchemaAndValue:
        """The decoded text as an OPTIONAL_STRING value."""
        if data is None:
            return SchemaAndValue(Schema.OPTIONAL_STRING_SCHEMA, None)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise DataError(f"Failed to deserialize string: expected bytes, got {type(data).__name__}")
        return SchemaAndValue(Schema.OPTIONAL_STRING_SCHEMA, self._decoder.decode(bytes(data)))

    def from_connect_header(self, topic: str, header_key: str, schema: Schema | None, value: Any) -> bytes | None:
        """Same as :meth:`from_connect_data`."""
        return self.from_connect_data(topic, schema, value)

    def to_connect_header(self, topic: str, header_key: str, value: bytes | None) -> SchemaAndValue:
        """Same as :meth:`to_connect_data`."""
        return self.to_connect_data(topic, value)
