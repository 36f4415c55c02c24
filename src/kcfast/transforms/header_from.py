"""``HeaderFrom$Key`` / ``HeaderFrom$Value``: copy or move fields of the key or value into headers.

``fields`` and ``headers`` are lists of the same length: field ``fields[i]`` goes to header ``headers[i]``
(with the field's schema, or no schema for schemaless data; a missing map entry gives a null header).
``operation=move`` also removes the fields; ``copy`` keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kcfast.api.config import Config, ConfigDef, Importance, Type, ValidString
from kcfast.data import Schema, SchemaBuilder, Struct
from kcfast.errors import ConfigError, DataError
from kcfast.transforms._util import (
    REPLACE_NULL_WITH_DEFAULT_CONFIG,
    REPLACE_NULL_WITH_DEFAULT_DOC,
    KeyOrValueTransformation,
    KeySide,
    NonEmptyListValidator,
    SchemaCache,
    ValueSide,
    copy_schema_basics,
    field_value,
    require_map,
    require_struct,
)

FIELDS_FIELD = "fields"
HEADERS_FIELD = "headers"
OPERATION_FIELD = "operation"
MOVE = "move"
COPY = "copy"

CONFIG_DEF = (
    ConfigDef()
    .define(FIELDS_FIELD, Type.LIST, ConfigDef.NO_DEFAULT_VALUE, NonEmptyListValidator(), Importance.HIGH,
            "Field names in the record whose values are to be copied or moved to headers.")
    .define(HEADERS_FIELD, Type.LIST, ConfigDef.NO_DEFAULT_VALUE, NonEmptyListValidator(), Importance.HIGH,
            "Header names, in the same order as the field names listed in the fields configuration property.")
    .define(OPERATION_FIELD, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, ValidString.in_(MOVE, COPY), Importance.HIGH,
            "Either <code>move</code> if the fields are to be moved to the headers (removed from the key/value), "
            "or <code>copy</code> if the fields are to be copied to the headers (retained in the key/value).")
    .define(REPLACE_NULL_WITH_DEFAULT_CONFIG, Type.BOOLEAN, True, None, Importance.MEDIUM,
            REPLACE_NULL_WITH_DEFAULT_DOC)
)


class HeaderFrom(KeyOrValueTransformation):
    """Move or copy fields into headers (use ``Key`` or ``Value``)."""

    Key: type[HeaderFrom]
    Value: type[HeaderFrom]

    def __init__(self) -> None:
        self._fields: list[str] = []
        self._headers: list[str] = []
        self._operation = COPY
        self._replace_null_with_default = True
        self._cache = SchemaCache()

    def config(self) -> ConfigDef:
        """The HeaderFrom keys."""
        return CONFIG_DEF

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Read ``fields``, ``headers`` and ``operation`` (all required).

        Raises:
            ConfigError: the two lists differ in length.
        """
        config = Config(CONFIG_DEF, configs)
        self._fields = list(config.get_list(FIELDS_FIELD) or ())
        self._headers = list(config.get_list(HEADERS_FIELD) or ())
        if len(self._fields) != len(self._headers):
            raise ConfigError(f"'{FIELDS_FIELD}' config must have the same number of elements as '{HEADERS_FIELD}' "
                              "config.")
        self._operation = config.get_string(OPERATION_FIELD) or COPY
        self._replace_null_with_default = bool(config.get_boolean(REPLACE_NULL_WITH_DEFAULT_CONFIG))
        self._cache = SchemaCache()

    def apply(self, record: Any) -> Any:
        """The record with the headers added (and the fields removed for ``move``).

        Raises:
            DataError: not a Struct (with schema) or map (without), or a field the schema does not have.
        """
        schema = self._operating_schema(record)
        value = self._operating_value(record)
        headers = record.headers.duplicate()
        purpose = f"header {self._operation}"
        if schema is None:
            data = require_map(value, purpose)
            updated = dict(data)
            for field, header in zip(self._fields, self._headers):
                field_data = data.get(field)
                if self._operation == MOVE:
                    updated.pop(field, None)
                headers.add(header, field_data, None)
            return self._new_record(record, None, updated, headers)
        struct = require_struct(value, purpose)
        if self._operation == MOVE:
            updated_schema = self._move_schema(schema)
            result: Struct = Struct(updated_schema)
            for field in updated_schema.fields:
                result.put(field, field_value(struct, field.name, self._replace_null_with_default))
        else:
            updated_schema, result = schema, struct
        for name, header in zip(self._fields, self._headers):
            in_value = struct.schema.field(name)
            field_data = None if in_value is None else field_value(struct, name, self._replace_null_with_default)
            in_schema = schema.field(name)
            if in_schema is None:
                # Kafka fails here with a NullPointerException; kcfast says which field is missing.
                raise DataError(f"Field does not exist: {name}")
            headers.add(header, field_data, in_schema.schema)
        return self._new_record(record, updated_schema, result, headers)

    def _move_schema(self, schema: Schema) -> Schema:
        moved = self._cache.get(schema)
        if moved is None:
            builder = copy_schema_basics(schema, SchemaBuilder.struct())
            for field in schema.fields:
                if field.name not in self._fields:
                    builder.field(field.name, field.schema)
            moved = builder.build()
            self._cache.put(schema, moved)
        return moved  # type: ignore[no-any-return]

    def close(self) -> None:
        """Nothing to release."""


class HeaderFromKey(KeySide, HeaderFrom):
    """``HeaderFrom$Key``: fields of the record key into headers."""


class HeaderFromValue(ValueSide, HeaderFrom):
    """``HeaderFrom$Value``: fields of the record value into headers."""


HeaderFrom.Key = HeaderFromKey
HeaderFrom.Value = HeaderFromValue

__all__ = ["CONFIG_DEF", "HeaderFrom", "HeaderFromKey", "HeaderFromValue"]
