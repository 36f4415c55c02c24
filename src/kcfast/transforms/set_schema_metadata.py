"""``SetSchemaMetadata$Key`` / ``SetSchemaMetadata$Value``: set the name and/or version of the key or value schema.

A Struct value is copied onto the renamed schema. As in Kafka 3.9, the schema must be a STRUCT (any other type
fails with ``Cannot list fields on non-struct type``), a missing schema with a non-null value fails with
``Schema required for [updating schema metadata]``, and a record with neither passes unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from kcfast.api.config import Config, ConfigDef, Importance, Type
from kcfast.data import Schema, Struct
from kcfast.data.schema import Type as SchemaType
from kcfast.errors import ConfigError
from kcfast.transforms._util import (
    REPLACE_NULL_WITH_DEFAULT_CONFIG,
    REPLACE_NULL_WITH_DEFAULT_DOC,
    KeyOrValueTransformation,
    KeySide,
    ValueSide,
    field_value,
    require_schema,
)

log = logging.getLogger(__name__)

SCHEMA_NAME = "schema.name"
SCHEMA_VERSION = "schema.version"

CONFIG_DEF = (
    ConfigDef()
    .define(SCHEMA_NAME, Type.STRING, None, None, Importance.HIGH, "Schema name to set.")
    .define(SCHEMA_VERSION, Type.INT, None, None, Importance.HIGH, "Schema version to set.")
    .define(REPLACE_NULL_WITH_DEFAULT_CONFIG, Type.BOOLEAN, True, None, Importance.MEDIUM,
            REPLACE_NULL_WITH_DEFAULT_DOC)
)


class SetSchemaMetadata(KeyOrValueTransformation):
    """Set the schema name, version or both (use ``Key`` or ``Value``)."""

    Key: type[SetSchemaMetadata]
    Value: type[SetSchemaMetadata]

    def __init__(self) -> None:
        self._name: str | None = None
        self._version: int | None = None
        self._replace_null_with_default = True

    def config(self) -> ConfigDef:
        """The SetSchemaMetadata keys."""
        return CONFIG_DEF

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Read ``schema.name`` and ``schema.version``.

        Raises:
            ConfigError: ``Neither schema name nor version configured``.
        """
        config = Config(CONFIG_DEF, configs)
        self._name = config.get_string(SCHEMA_NAME)
        self._version = config.get_int(SCHEMA_VERSION)
        self._replace_null_with_default = bool(config.get_boolean(REPLACE_NULL_WITH_DEFAULT_CONFIG))
        if self._name is None and self._version is None:
            raise ConfigError("Neither schema name nor version configured")

    def apply(self, record: Any) -> Any:
        """The record with the updated schema (and a Struct value moved onto it).

        Raises:
            DataError: no schema for a non-null value, or a schema that is not a STRUCT.
        """
        value = self._operating_value(record)
        schema = self._operating_schema(record)
        if value is None and schema is None:
            return record
        schema = require_schema(schema, "updating schema metadata")
        is_map = schema.type is SchemaType.MAP
        is_container = is_map or schema.type is SchemaType.ARRAY
        updated = Schema(
            schema.type,
            schema.optional,
            schema.default_value,
            self._name if self._name is not None else schema.name,
            self._version if self._version is not None else schema.version,
            schema.doc,
            schema.parameters,
            schema.fields,
            schema.key_schema if is_map else None,
            schema.value_schema if is_container else None,
        )
        log.debug("Applying SetSchemaMetadata SMT. Original schema: %s, updated schema: %s", schema, updated)
        return self._new_record(record, updated, self.update_schema_in(value, updated))

    def update_schema_in(self, key_or_value: Any, updated_schema: Schema) -> Any:
        """``key_or_value`` moved onto ``updated_schema`` if it is a Struct (same fields assumed), else itself."""
        if isinstance(key_or_value, Struct):
            result = Struct(updated_schema)
            for field in updated_schema.fields:
                result.put(field, field_value(key_or_value, field.name, self._replace_null_with_default))
            return result
        return key_or_value

    def close(self) -> None:
        """Nothing to release."""


class SetSchemaMetadataKey(KeySide, SetSchemaMetadata):
    """``SetSchemaMetadata$Key``: update the key schema."""


class SetSchemaMetadataValue(ValueSide, SetSchemaMetadata):
    """``SetSchemaMetadata$Value``: update the value schema."""


SetSchemaMetadata.Key = SetSchemaMetadataKey
SetSchemaMetadata.Value = SetSchemaMetadataValue

__all__ = ["CONFIG_DEF", "SetSchemaMetadata", "SetSchemaMetadataKey", "SetSchemaMetadataValue"]
