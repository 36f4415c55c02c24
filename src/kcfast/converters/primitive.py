"""Fixed-format converters (Java ``org.apache.kafka.connect.converters``): ``ByteArrayConverter``,
``IntegerConverter``, ``LongConverter``, ``ShortConverter``, ``FloatConverter``, ``DoubleConverter`` and
``BooleanConverter``. All are header converters too; all read OPTIONAL schemas and map Kafka null to None.

Numbers are big-endian two's complement (2, 4, 8 bytes) or IEEE-754 (4, 8 bytes); booleans one byte.
"""

from __future__ import annotations

import math
import struct
from typing import Any, ClassVar

from kcfast._version import __version__
from kcfast.api.config import ConfigDef
from kcfast.api.converter import Converter, HeaderConverter
from kcfast.converters._config import parse_configs, plain_config_def
from kcfast.data import ConnectHeaders, Schema, SchemaAndValue, Type
from kcfast.data.schema import as_schema
from kcfast.errors import DataError


class _PlainConverter(Converter, HeaderConverter):
    """Shared plumbing: configuration, version, and the header methods delegating to the data methods."""

    def configure(self, configs: dict[str, Any], is_key: bool | None = None) -> None:
        """Validate the configs (only ``converter.type`` is defined).

        Raises:
            ConfigError: ``converter.type`` is invalid.
        """
        parse_configs(plain_config_def(), configs, is_key)

    def config(self) -> ConfigDef:
        """The ConfigDef (``converter.type`` only)."""
        return plain_config_def()

    def version(self) -> str:
        """The kcfast version."""
        return __version__

    def from_connect_header(self, topic: str, header_key: str, schema: Schema | None, value: Any) -> bytes | None:
        """Same as ``from_connect_data``."""
        return self.from_connect_data(topic, schema, value)

    def to_connect_header(self, topic: str, header_key: str, value: bytes | None) -> SchemaAndValue:
        """Same as ``to_connect_data``."""
        return self.to_connect_data(topic, value)


class ByteArrayConverter(_PlainConverter):
    """Passes bytes through unchanged; the schema must be None or BYTES."""

    def configure(self, configs: dict[str, Any], is_key: bool | None = None) -> None:
        """Accept any configs (Kafka's ByteArrayConverter ignores them)."""

    def from_connect_data(
        self, topic: str, schema: Schema | None, value: Any, headers: ConnectHeaders | None = None
    ) -> bytes | None:
        """The bytes of ``value``.

        Raises:
            DataError: A schema other than BYTES, or a value that is not bytes-like.
        """
        schema = as_schema(schema)
        if schema is not None and schema.type is not Type.BYTES:
            raise DataError(f"Invalid schema type for ByteArrayConverter: {schema.type}")
        if value is None or type(value) is bytes:
            return value
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        raise DataError(f"ByteArrayConverter is not compatible with objects of type {type(value).__name__}")

    def to_connect_data(self, topic: str, data: bytes | None, headers: ConnectHeaders | None = None) -> SchemaAndValue:
        """The bytes as an OPTIONAL_BYTES value."""
        if data is not None and type(data) is not bytes:
            if not isinstance(data, (bytearray, memoryview)):
                raise DataError(f"ByteArrayConverter can only read bytes, not {type(data).__name__}")
            data = bytes(data)
        return SchemaAndValue(Schema.OPTIONAL_BYTES_SCHEMA, data)


class _NumberConverter(_PlainConverter):
    """A number in a fixed binary layout (Java ``NumberConverter``)."""

    TYPE_NAME: ClassVar[str]
    DESERIALIZER: ClassVar[str]
    SCHEMA: ClassVar[Schema]
    FORMAT: ClassVar[struct.Struct]
    IS_FLOAT: ClassVar[bool] = False
    LIMITS: ClassVar[tuple[int, int]] = (0, 0)

    def from_connect_data(
        self, topic: str, schema: Schema | None, value: Any, headers: ConnectHeaders | None = None
    ) -> bytes | None:
        """The binary form of ``value`` (None stays a Kafka null).

        Raises:
            DataError: The value is not a number of this converter's kind, or out of its range.
        """
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (float, int) if self.IS_FLOAT else int):
            raise DataError(
                f"Failed to serialize to {self.TYPE_NAME} (was {type(value).__name__}): "
                f"{self.TYPE_NAME} converters need {'a float' if self.IS_FLOAT else 'an int'}"
            )
        if self.IS_FLOAT:
            try:
                return self.FORMAT.pack(value)
            except OverflowError:
                return self.FORMAT.pack(math.copysign(math.inf, value))
        low, high = self.LIMITS
        if not low <= value <= high:
            raise DataError(f"Failed to serialize to {self.TYPE_NAME}: {value} is out of range [{low}, {high}]")
        return self.FORMAT.pack(value)

    def to_connect_data(self, topic: str, data: bytes | None, headers: ConnectHeaders | None = None) -> SchemaAndValue:
        """The number in ``data`` (None for a Kafka null).

        Raises:
            DataError: ``data`` has the wrong size.
        """
        if data is None:
            return SchemaAndValue(self.SCHEMA, None)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise DataError(f"Failed to deserialize {self.TYPE_NAME}: expected bytes, got {type(data).__name__}")
        if len(data) != self.FORMAT.size:
            raise DataError(
                f"Failed to deserialize {self.TYPE_NAME}: Size of data received by {self.DESERIALIZER} is not "
                f"{self.FORMAT.size}"
            )
        value = self.FORMAT.unpack(data)[0]
        return SchemaAndValue(self.SCHEMA, float(value) if self.IS_FLOAT else int(value))


class IntegerConverter(_NumberConverter):
    """INT32 as 4 big-endian bytes."""

    TYPE_NAME = "integer"
    DESERIALIZER = "IntegerDeserializer"
    SCHEMA = Schema.OPTIONAL_INT32_SCHEMA
    FORMAT = struct.Struct(">i")
    LIMITS = (-(1 << 31), (1 << 31) - 1)


class LongConverter(_NumberConverter):
    """INT64 as 8 big-endian bytes."""

    TYPE_NAME = "long"
    DESERIALIZER = "LongDeserializer"
    SCHEMA = Schema.OPTIONAL_INT64_SCHEMA
    FORMAT = struct.Struct(">q")
    LIMITS = (-(1 << 63), (1 << 63) - 1)


class ShortConverter(_NumberConverter):
    """INT16 as 2 big-endian bytes."""

    TYPE_NAME = "short"
    DESERIALIZER = "ShortDeserializer"
    SCHEMA = Schema.OPTIONAL_INT16_SCHEMA
    FORMAT = struct.Struct(">h")
    LIMITS = (-(1 << 15), (1 << 15) - 1)


class FloatConverter(_NumberConverter):
    """FLOAT32 as 4 big-endian IEEE-754 bytes."""

    TYPE_NAME = "float"
    DESERIALIZER = "Deserializer"
    SCHEMA = Schema.OPTIONAL_FLOAT32_SCHEMA
    FORMAT = struct.Struct(">f")
    IS_FLOAT = True


class DoubleConverter(_NumberConverter):
    """FLOAT64 as 8 big-endian IEEE-754 bytes."""

    TYPE_NAME = "double"
    DESERIALIZER = "DoubleDeserializer"
    SCHEMA = Schema.OPTIONAL_FLOAT64_SCHEMA
    FORMAT = struct.Struct(">d")
    IS_FLOAT = True


class BooleanConverter(_PlainConverter):
    """BOOLEAN as one byte, ``0x01`` or ``0x00``; the schema must be None or BOOLEAN."""

    def from_connect_data(
        self, topic: str, schema: Schema | None, value: Any, headers: ConnectHeaders | None = None
    ) -> bytes | None:
        """``b"\\x01"`` / ``b"\\x00"`` (None stays a Kafka null).

        Raises:
            DataError: A schema other than BOOLEAN, or a value that is not a bool.
        """
        schema = as_schema(schema)
        if schema is not None and schema.type is not Type.BOOLEAN:
            raise DataError(f"Invalid schema type for BooleanConverter: {schema.type}")
        if value is None:
            return None
        if not isinstance(value, bool):
            raise DataError(f"BooleanConverter is not compatible with objects of type {type(value).__name__}")
        return b"\x01" if value else b"\x00"

    def to_connect_data(self, topic: str, data: bytes | None, headers: ConnectHeaders | None = None) -> SchemaAndValue:
        """The boolean in ``data`` as an OPTIONAL_BOOLEAN value.

        Raises:
            DataError: Not exactly one byte, or a byte other than 0 and 1.
        """
        if data is None:
            return SchemaAndValue(Schema.OPTIONAL_BOOLEAN_SCHEMA, None)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise DataError(f"Failed to deserialize boolean: expected bytes, got {type(data).__name__}")
        if len(data) != 1:
            raise DataError("Failed to deserialize boolean: Size of data received by BooleanDeserializer is not 1")
        byte = bytes(data)[0]
        if byte == 1:
            return SchemaAndValue(Schema.OPTIONAL_BOOLEAN_SCHEMA, True)
        if byte == 0:
            return SchemaAndValue(Schema.OPTIONAL_BOOLEAN_SCHEMA, False)
        signed = byte - 256 if byte > 127 else byte
        raise DataError(f"Failed to deserialize boolean: Unexpected byte received by BooleanDeserializer: {signed}")
