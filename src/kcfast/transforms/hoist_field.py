"""``HoistField$Key`` / ``HoistField$Value``: wrap the key or value in a one-field Struct (or map, schemaless).

With a schema the result is ``Struct{<field>: value}`` whose schema has the single field ``<field>`` with the
original schema; without one it is the map ``{<field>: value}``. A null value is wrapped too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kcfast.api.config import Config, ConfigDef, Importance, Type
from kcfast.data import SchemaBuilder, Struct
from kcfast.transforms._util import KeyOrValueTransformation, KeySide, SchemaCache, ValueSide

FIELD_CONFIG = "field"

CONFIG_DEF = ConfigDef().define(
    FIELD_CONFIG, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, None, Importance.MEDIUM,
    "Field name for the single field that will be created in the resulting Struct or Map.",
)


class HoistField(KeyOrValueTransformation):
    """Wrap data in a Struct (with a schema) or a map (without) under ``field`` (use ``Key`` or ``Value``)."""

    Key: type[HoistField]
    Value: type[HoistField]

    def __init__(self) -> None:
        self._field = ""
        self._cache = SchemaCache()

    def config(self) -> ConfigDef:
        """The HoistField keys."""
        return CONFIG_DEF

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Read ``field`` (required)."""
        config = Config(CONFIG_DEF, configs)
        self._field = config.get_string(FIELD_CONFIG) or ""
        self._cache = SchemaCache()

    def apply(self, record: Any) -> Any:
        """The record with the key/value wrapped.

        Raises:
            DataError: the value does not match its schema.
        """
        schema = self._operating_schema(record)
        value = self._operating_value(record)
        if schema is None:
            return self._new_record(record, None, {self._field: value})
        updated_schema = self._cache.get(schema)
        if updated_schema is None:
            updated_schema = SchemaBuilder.struct().field(self._field, schema).build()
            self._cache.put(schema, updated_schema)
        return self._new_record(record, updated_schema, Struct(updated_schema).put(self._field, value))

    def close(self) -> None:
        """Drop the schema cache."""
        self._cache = SchemaCache()


class HoistFieldKey(KeySide, HoistField):
    """``HoistField$Key``: wrap the record key."""


class HoistFieldValue(ValueSide, HoistField):
    """``HoistField$Value``: wrap the record value."""


HoistField.Key = HoistFieldKey
HoistField.Value = HoistFieldValue

__all__ = ["CONFIG_DEF", "HoistField", "HoistFieldKey", "HoistFieldValue"]
