"""``JsonConverter`` (Java ``org.apache.kafka.connect.json.JsonConverter``), byte-for-byte compatible.

With ``schemas.enable=true`` (the default) a value is written as the envelope
``{"schema":<schema>,"payload":<value>}`` and read back only from an object with exactly those two fields; with
``schemas.enable=false`` only the payload is written and values are read schemaless. A null schema with a null
value is a Kafka null (tombstone). See :mod:`kcfast.converters._jsonvalue` for the value mapping and
:mod:`kcfast.converters._jsontext` for the number and string formatting rules.

Not thread-safe: one converter instance per task thread, as the worker creates them.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import orjson

from kcfast._version import __version__
from kcfast.api.config import ConfigDef
from kcfast.api.converter import Converter, HeaderConverter
from kcfast.converters._config import (
    DECIMAL_FORMAT_CONFIG,
    REPLACE_NULL_WITH_DEFAULT_CONFIG,
    SCHEMAS_CACHE_SIZE_CONFIG,
    SCHEMAS_ENABLE_CONFIG,
    json_config_def,
    parse_configs,
)
from kcfast.converters._jsontext import NeedExact, dumps, loads_exact, loads_fast
from kcfast.converters._jsonvalue import (
    TYPE_NAMES,
    connect_to_json,
    from_json,
    json_to_connect,
    json_to_schema,
    schema_to_json,
    schemaless_from_json,
    to_json,
)
from kcfast.data import ConnectHeaders, Schema, SchemaAndValue
from kcfast.data.schema import as_schema
from kcfast.errors import DataError

ENVELOPE_ERROR = (
    'JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional '
    "fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter "
    "configuration."
)

_PREFIX = b'{"schema":'
_SEPARATOR = b',"payload":'
_SUFFIX = b"}"

__all__ = [
    "ENVELOPE_ERROR",
    "TYPE_NAMES",
    "JsonConverter",
    "connect_to_json",
    "json_to_connect",
    "json_to_schema",
    "schema_to_json",
]


class JsonConverter(Converter, HeaderConverter):
    """Converts Connect data to and from JSON, as Kafka's JsonConverter does (also a header converter).

    Configs: ``schemas.enable`` (default true), ``schemas.cache.size`` (1000), ``decimal.format`` (``BASE64`` or
    ``NUMERIC``), ``replace.null.with.default`` (true), and ``converter.type`` (set from ``is_key``).
    """

    def __init__(self) -> None:
        self._schemas_enabled = True
        self._cache_size = 1000
        self._numeric = False
        self._replace = True
        # Connect schema -> its JSON bytes (the fromConnectSchemaCache of Kafka).
        self._json_schemas: OrderedDict[Schema, bytes] = OrderedDict()
        # Schema JSON text (exact bytes as found in envelopes, or a canonical re-serialization) -> Connect schema.
        self._connect_schemas: OrderedDict[bytes, Schema | None] = OrderedDict()

    # -- configuration -----------------------------------------------------------------------------------------

    def configure(self, configs: dict[str, Any], is_key: bool | None = None) -> None:
        """Configure the converter; ``is_key=None`` is the header-converter form (``converter.type`` from configs).

        Raises:
            ConfigError: A config value is invalid (Kafka's message).
        """
        values = parse_configs(json_config_def(), configs, is_key)
        self._schemas_enabled = bool(values[SCHEMAS_ENABLE_CONFIG])
        self._cache_size = int(values[SCHEMAS_CACHE_SIZE_CONFIG])
        self._numeric = str(values[DECIMAL_FORMAT_CONFIG]).upper() == "NUMERIC"
        self._replace = bool(values[REPLACE_NULL_WITH_DEFAULT_CONFIG])
        self._json_schemas.clear()
        self._connect_schemas.clear()

    def config(self) -> ConfigDef:
        """The ConfigDef of the JsonConverter configs."""
        return json_config_def()

    def version(self) -> str:
        """The kcfast version."""
        return __version__

    @property
    def schemas_enabled(self) -> bool:
        """Whether values are written in the schema envelope."""
        return self._schemas_enabled

    # -- writing -----------------------------------------------------------------------------------------------

    def from_connect_data(
        self, topic: str, schema: Schema | None, value: Any, headers: ConnectHeaders | None = None
    ) -> bytes | None:
        """Serialize ``value`` with ``schema``; ``None`` (a Kafka null) when both are None.

        Raises:
            DataError: The value does not match the schema, or cannot be written as JSON.
        """
        schema = as_schema(schema)
        if schema is None and value is None:
            return None
        if self._schemas_enabled:
            schema_bytes = self.schema_bytes(schema)
            payload = dumps(to_json(schema, value, self._numeric, self._replace))
            return _PREFIX + schema_bytes + _SEPARATOR + payload + _SUFFIX
        return dumps(to_json(schema, value, self._numeric, self._replace))

    def schema_bytes(self, schema: Schema | None) -> bytes:
        """The JSON bytes of ``schema`` (``null`` for None), from the ``schemas.cache.size`` LRU cache."""
        if schema is None:
            return b"null"
        cache = self._json_schemas
        cached = cache.get(schema)
        if cached is not None:
            cache.move_to_end(schema)
            return cached
        encoded = dumps(schema_to_json(schema, decimal_numeric=self._numeric,
                                       replace_null_with_default=self._replace))
        self._remember(cache, schema, encoded)
        return encoded

    def _remember(self, cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        if self._cache_size <= 0:
            return
        cache[key] = value
        if len(cache) > self._cache_size:
            cache.popitem(last=False)

    def as_json_schema(self, schema: Schema | None) -> dict[str, Any] | None:
        """The JSON form of ``schema`` with this converter's settings (Java ``asJsonSchema``)."""
        return schema_to_json(schema, decimal_numeric=self._numeric, replace_null_with_default=self._replace)

    def as_connect_schema(self, obj: Any) -> Schema | None:
        """The Connect schema of a parsed JSON schema (Java ``asConnectSchema``).

        Raises:
            DataError: The JSON is not a valid schema.
        """
        try:
            return json_to_schema(obj, replace_null_with_default=self._replace)
        except NeedExact:
            raise DataError("Schema defaults with decimals must be parsed from bytes with to_connect_data") from None

    # -- reading -----------------------------------------------------------------------------------------------

    def to_connect_data(self, topic: str, data: bytes | None, headers: ConnectHeaders | None = None) -> SchemaAndValue:
        """Deserialize JSON bytes; a Kafka null gives ``SchemaAndValue.NULL``.

        Raises:
            DataError: Malformed JSON, a bad envelope (Kafka's message), an invalid schema, or a payload that does
                not match its schema.
        """
        if data is None:
            return SchemaAndValue.NULL
        if not isinstance(data, bytes):
            if not isinstance(data, (bytearray, memoryview)):
                raise DataError(f"JsonConverter can only read bytes, not {type(data).__name__}")
            data = bytes(data)
        try:
            return self._read_fast(data)
        except NeedExact:
            return self._read_exact(data)

    def _read_fast(self, data: bytes) -> SchemaAndValue:
        if not self._schemas_enabled:
            return SchemaAndValue(None, loads_fast(data))
        key = None
        if data.startswith(_PREFIX):
            sep = data.find(_SEPARATOR, len(_PREFIX))
            if sep > 0:
                key = data[len(_PREFIX) : sep]
                cache = self._connect_schemas
                if key in cache and data.endswith(_SUFFIX):
                    schema = cache[key]
                    cache.move_to_end(key)
                    payload = loads_fast(data[sep + len(_SEPARATOR) : -1])
                    return SchemaAndValue(schema, self._payload(schema, payload))
        return self._from_envelope(loads_fast(data), key, exact=False)

    def _read_exact(self, data: bytes) -> SchemaAndValue:
        obj = loads_exact(data)
        if not self._schemas_enabled:
            return SchemaAndValue(None, schemaless_from_json(obj))
        return self._from_envelope(obj, None, exact=True)

    def _payload(self, schema: Schema | None, payload: Any) -> Any:
        # Fast-path payloads come from orjson with no integer beyond 64 bits: schemaless data is already final.
        if schema is None:
            return payload
        return from_json(schema, payload, self._replace)

    def _from_envelope(self, obj: Any, key: bytes | None, exact: bool) -> SchemaAndValue:
        if type(obj) is not dict or len(obj) != 2 or "schema" not in obj or "payload" not in obj:
            raise DataError(ENVELOPE_ERROR)
        schema = self._connect_schema(obj["schema"], key, exact)
        payload = obj["payload"]
        if schema is None:
            return SchemaAndValue(None, schemaless_from_json(payload) if exact else payload)
        return SchemaAndValue(schema, from_json(schema, payload, self._replace))

    def _connect_schema(self, schema_obj: Any, key: bytes | None, exact: bool) -> Schema | None:
        if schema_obj is None:
            return None
        cache = self._connect_schemas
        if key is not None and key in cache:
            cache.move_to_end(key)
            return cache[key]
        canonical = orjson.dumps(schema_obj) if not exact else b"\x00" + repr(schema_obj).encode("utf-8", "replace")
        if canonical in cache:
            cache.move_to_end(canonical)
            return cache[canonical]
        schema = json_to_schema(schema_obj, replace_null_with_default=self._replace)
        if key is not None and not exact and _is_exactly(key, schema_obj):
            # Later envelopes with the same schema text skip parsing the schema at all.
            self._remember(cache, key, schema)
        else:
            self._remember(cache, canonical, schema)
        return schema

    # -- header converter --------------------------------------------------------------------------------------

    def to_connect_header(self, topic: str, header_key: str, value: bytes | None) -> SchemaAndValue:
        """Deserialize a header value (same format as record values)."""
        return self.to_connect_data(topic, value)

    def from_connect_header(self, topic: str, header_key: str, schema: Schema | None, value: Any) -> bytes | None:
        """Serialize a header value (same format as record values)."""
        return self.from_connect_data(topic, schema, value)

    def close(self) -> None:
        """Drop the schema caches."""
        self._json_schemas.clear()
        self._connect_schemas.clear()


def _is_exactly(text: bytes, obj: Any) -> bool:
    """Whether ``text`` is, by itself, strict JSON for ``obj`` (so it can stand for it as a cache key)."""
    try:
        return bool(orjson.loads(text) == obj)
    except orjson.JSONDecodeError:
        return False
