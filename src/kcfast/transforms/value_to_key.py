"""``ValueToKey``: replace the record key with fields taken from the value.

With a value schema the value must be a Struct and the key becomes a Struct of the named fields (in the listed
order, with their schemas); without one the value must be a map and the key becomes a map.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kcfast.api.config import Config, ConfigDef, Importance, Type
from kcfast.api.transforms import Transformation
from kcfast.data import SchemaBuilder, Struct
from kcfast.errors import DataError
from kcfast.transforms._util import (
    REPLACE_NULL_WITH_DEFAULT_CONFIG,
    REPLACE_NULL_WITH_DEFAULT_DOC,
    NonEmptyListValidator,
    SchemaCache,
    Versioned,
    field_value,
    require_map,
    require_struct,
)

FIELDS_CONFIG = "fields"

CONFIG_DEF = (
    ConfigDef()
    .define(FIELDS_CONFIG, Type.LIST, ConfigDef.NO_DEFAULT_VALUE, NonEmptyListValidator(), Importance.HIGH,
            "Field names on the record value to extract as the record key.")
    .define(REPLACE_NULL_WITH_DEFAULT_CONFIG, Type.BOOLEAN, True, None, Importance.MEDIUM,
            REPLACE_NULL_WITH_DEFAULT_DOC)
)

PURPOSE = "copying fields from value to key"


class ValueToKey(Versioned, Transformation[Any]):
    """Replace the record key with a new key formed from a subset of the value's fields."""

    def __init__(self) -> None:
        self._fields: list[str] = []
        self._replace_null_with_default = True
        self._cache = SchemaCache()

    def config(self) -> ConfigDef:
        """The ValueToKey keys."""
        return CONFIG_DEF

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Read ``fields`` (required, non-empty)."""
        config = Config(CONFIG_DEF, configs)
        self._fields = list(config.get_list(FIELDS_CONFIG) or ())
        self._replace_null_with_default = bool(config.get_boolean(REPLACE_NULL_WITH_DEFAULT_CONFIG))
        self._cache = SchemaCache()

    def apply(self, record: Any) -> Any:
        """The record with its new key.

        Raises:
            DataError: not a Struct (with schema) or map (without), or ``Field does not exist: f``.
        """
        if record.value_schema is None:
            value = require_map(record.value, PURPOSE)
            key = {name: value.get(name) for name in self._fields}
            return record.new_record(record.topic, record.kafka_partition, None, key, record.value_schema,
                                     record.value, record.timestamp)
        struct = require_struct(record.value, PURPOSE)
        key_schema = self._cache.get(struct.schema)
        if key_schema is None:
            builder = SchemaBuilder.struct()
            for name in self._fields:
                field = struct.schema.field(name)
                if field is None:
                    raise DataError(f"Field does not exist: {name}")
                builder.field(name, field.schema)
            key_schema = builder.build()
            self._cache.put(struct.schema, key_schema)
        key_struct = Struct(key_schema)
        for name in self._fields:
            key_struct.put(name, field_value(struct, name, self._replace_null_with_default))
        return record.new_record(record.topic, record.kafka_partition, key_schema, key_struct, struct.schema,
                                 struct, record.timestamp)

    def close(self) -> None:
        """Drop the schema cache."""
        self._cache = SchemaCache()


__all__ = ["CONFIG_DEF", "ValueToKey"]
