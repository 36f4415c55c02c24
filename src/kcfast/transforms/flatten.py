"""``Flatten$Key`` / ``Flatten$Value``: flatten nested Structs (or maps) into one level.

Field names are joined with ``delimiter`` (default ``.``). Arrays are kept as they are. With a schema, a
flattened field is optional if it or any ancestor is optional, and takes its own default or the one its
ancestors' defaults give; MAP fields are not supported. Without a schema, nested maps are flattened and a
Struct or a value Connect does not know is an error. A null key or value passes through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kcfast.api.config import Config, ConfigDef, Importance, Type
from kcfast.data import Schema, SchemaBuilder, Struct
from kcfast.data.schema import Type as SchemaType
from kcfast.errors import DataError
from kcfast.transforms._util import (
    KeyOrValueTransformation,
    KeySide,
    SchemaCache,
    ValueSide,
    copy_schema_basics,
    java_class,
    require_map,
    require_struct_or_none,
    schemaless_type,
)

DELIMITER_CONFIG = "delimiter"

CONFIG_DEF = ConfigDef().define(
    DELIMITER_CONFIG, Type.STRING, ".", None, Importance.MEDIUM,
    "Delimiter to insert between field names from the input record when generating field names for the output "
    "record",
)

PURPOSE = "flattening"

_KEPT = frozenset({
    SchemaType.INT8, SchemaType.INT16, SchemaType.INT32, SchemaType.INT64, SchemaType.FLOAT32,
    SchemaType.FLOAT64, SchemaType.BOOLEAN, SchemaType.STRING, SchemaType.BYTES, SchemaType.ARRAY,
})


class Flatten(KeyOrValueTransformation):
    """Flatten a nested data structure (use ``Key`` or ``Value``)."""

    Key: type[Flatten]
    Value: type[Flatten]

    def __init__(self) -> None:
        self._delimiter = "."
        self._cache = SchemaCache()

    def config(self) -> ConfigDef:
        """The Flatten keys."""
        return CONFIG_DEF

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Read ``delimiter``."""
        config = Config(CONFIG_DEF, configs)
        self._delimiter = config.get_string(DELIMITER_CONFIG) or ""
        self._cache = SchemaCache()

    def _name(self, prefix: str, name: str) -> str:
        return name if not prefix else prefix + self._delimiter + name

    def apply(self, record: Any) -> Any:
        """The record with its key/value flattened.

        Raises:
            DataError: not a Struct (with schema) or map (without), or an unsupported nested type.
        """
        value = self._operating_value(record)
        if value is None:
            return record
        schema = self._operating_schema(record)
        if schema is None:
            result: dict[str, Any] = {}
            self._flatten_map(require_map(value, PURPOSE), "", result)
            return self._new_record(record, None, result)
        struct = require_struct_or_none(value, PURPOSE)
        updated_schema = self._cache.get(schema)
        if updated_schema is None:
            builder = copy_schema_basics(schema, SchemaBuilder.struct())
            self._build_schema(schema, "", builder, schema.optional, schema.default_value)
            updated_schema = builder.build()
            self._cache.put(schema, updated_schema)
        if struct is None:
            return self._new_record(record, updated_schema, None)
        flattened = Struct(updated_schema)
        self._flatten_struct(struct, "", flattened)
        return self._new_record(record, updated_schema, flattened)

    def _flatten_map(self, data: Mapping[Any, Any], prefix: str, out: dict[str, Any]) -> None:
        for key, value in data.items():
            name = self._name(prefix, key)
            if value is None:
                out[name] = None
                continue
            inferred = schemaless_type(value)
            if inferred is None:
                raise DataError(f"Flatten transformation was passed a value of type {java_class(value)} which is "
                                "not supported by Connect's data API")
            if inferred in _KEPT:
                out[name] = value
            elif inferred is SchemaType.MAP:
                self._flatten_map(require_map(value, PURPOSE), name, out)
            else:
                raise DataError(f"Flatten transformation does not support {java_class(value)} for record without "
                                f"schemas (for field {name}).")

    def _build_schema(self, schema: Schema, prefix: str, builder: SchemaBuilder, optional: bool,
                      parent_default: Struct | None) -> None:
        for field in schema.fields:
            name = self._name(prefix, field.name)
            field_optional = optional or field.schema.optional
            default = field.schema.default_value
            if default is None and parent_default is not None:
                default = parent_default.get(field)
            field_type = field.schema.type
            if field_type in _KEPT:
                field_builder = copy_schema_basics(field.schema)
                if field_optional:
                    field_builder.optional()
                if default is not None:
                    field_builder.default_value(default)
                builder.field(name, field_builder.build())
            elif field_type is SchemaType.STRUCT:
                self._build_schema(field.schema, name, builder, field_optional, default)
            else:
                raise DataError(f"Flatten transformation does not support {field_type} for record with schemas "
                                f"(for field {name}).")

    def _flatten_struct(self, struct: Struct | None, prefix: str, out: Struct) -> None:
        if struct is None:
            return
        for field in struct.schema.fields:
            name = self._name(prefix, field.name)
            field_type = field.schema.type
            if field_type in _KEPT:
                out.put(name, struct.get(field))
            elif field_type is SchemaType.STRUCT:
                self._flatten_struct(struct.get_without_default(field.name), name, out)
            else:
                raise DataError(f"Flatten transformation does not support {field_type} for record with schemas "
                                f"(for field {name}).")

    def close(self) -> None:
        """Nothing to release."""


class FlattenKey(KeySide, Flatten):
    """``Flatten$Key``: flatten the record key."""


class FlattenValue(ValueSide, Flatten):
    """``Flatten$Value``: flatten the record value."""


Flatten.Key = FlattenKey
Flatten.Value = FlattenValue

__all__ = ["CONFIG_DEF", "Flatten", "FlattenKey", "FlattenValue"]
