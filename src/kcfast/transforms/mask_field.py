"""``MaskField$Key`` / ``MaskField$Value``: replace fields with a "null" value of their type, or a replacement.

Without ``replacement``, a field becomes the zero of its type: ``false``, ``0``, ``0.0``, ``""``, an empty list
or map, decimal zero, or the epoch for dates and times. With ``replacement`` (numeric and string fields only),
the text is converted to the field's type. Null fields stay null. With a schema the key/value must be a Struct
(its schema is kept), without one a map; anything else, a null included, is an error, as in Kafka.
"""

from __future__ import annotations

import datetime as _dt
import decimal as _decimal
from collections.abc import Callable, Mapping
from typing import Any

from kcfast.api.config import Config, ConfigDef, Importance, NonEmptyString, Type
from kcfast.data import Schema, Struct, Values
from kcfast.data.schema import Type as SchemaType
from kcfast.data.struct import DATE_NAME, DECIMAL_NAME, TIME_NAME, TIMESTAMP_NAME
from kcfast.data.values import parse_java_decimal
from kcfast.errors import DataError
from kcfast.transforms._util import (
    REPLACE_NULL_WITH_DEFAULT_CONFIG,
    REPLACE_NULL_WITH_DEFAULT_DOC,
    KeyOrValueTransformation,
    KeySide,
    NonEmptyListValidator,
    ValueSide,
    field_value,
    java_type_name,
    require_map,
    require_struct,
)

FIELDS_CONFIG = "fields"
REPLACEMENT_CONFIG = "replacement"

CONFIG_DEF = (
    ConfigDef()
    .define(FIELDS_CONFIG, Type.LIST, ConfigDef.NO_DEFAULT_VALUE, NonEmptyListValidator(), Importance.HIGH,
            "Names of fields to mask.")
    .define(REPLACEMENT_CONFIG, Type.STRING, None, NonEmptyString(), Importance.LOW,
            "Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty string "
            "values only).")
    .define(REPLACE_NULL_WITH_DEFAULT_CONFIG, Type.BOOLEAN, True, None, Importance.MEDIUM,
            REPLACE_NULL_WITH_DEFAULT_DOC)
)

PURPOSE = "mask fields"

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)

# The Java class of a value with a schema of this type.
_SCHEMA_CLASSES = {
    SchemaType.INT8: "java.lang.Byte",
    SchemaType.INT16: "java.lang.Short",
    SchemaType.INT32: "java.lang.Integer",
    SchemaType.INT64: "java.lang.Long",
    SchemaType.FLOAT32: "java.lang.Float",
    SchemaType.FLOAT64: "java.lang.Double",
    SchemaType.BOOLEAN: "java.lang.Boolean",
    SchemaType.STRING: "java.lang.String",
    SchemaType.BYTES: "[B",
    SchemaType.ARRAY: "java.util.ArrayList",
    SchemaType.MAP: "java.util.HashMap",
    SchemaType.STRUCT: "org.apache.kafka.connect.data.Struct",
}
_LOGICAL_CLASSES = {
    DECIMAL_NAME: "java.math.BigDecimal",
    DATE_NAME: "java.util.Date",
    TIME_NAME: "java.util.Date",
    TIMESTAMP_NAME: "java.util.Date",
}


def _java_class(value: Any, schema: Schema | None) -> str:
    if schema is not None:
        if schema.name in _LOGICAL_CLASSES:
            return _LOGICAL_CLASSES[schema.name]  # type: ignore[index]
        return _SCHEMA_CLASSES[schema.type]
    return java_type_name(value)


def _epoch_like(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return _EPOCH if value.tzinfo is not None else _EPOCH.replace(tzinfo=None)
    if isinstance(value, _dt.date):
        return _EPOCH.date()
    return _dt.time(0, 0)


_ZEROS: dict[str, Callable[[Any], Any]] = {
    "java.lang.Boolean": lambda v: False,
    "java.lang.Byte": lambda v: 0,
    "java.lang.Short": lambda v: 0,
    "java.lang.Integer": lambda v: 0,
    "java.lang.Long": lambda v: 0,
    "java.lang.Float": lambda v: 0.0,
    "java.lang.Double": lambda v: 0.0,
    "java.math.BigDecimal": lambda v: _decimal.Decimal(0),
    "java.util.Date": _epoch_like,
    "java.lang.String": lambda v: "",
    "java.util.ArrayList": lambda v: [],
    "java.util.HashMap": lambda v: {},
}


def _to_decimal(text: str) -> _decimal.Decimal:
    try:
        return parse_java_decimal(text)
    except ValueError as exc:
        raise DataError(f"Unable to convert {text} (class java.lang.String) to number") from exc


_REPLACEMENTS: dict[str, Callable[[str], Any]] = {
    "java.lang.Byte": lambda v: Values.convert_to_byte(None, v),
    "java.lang.Short": lambda v: Values.convert_to_short(None, v),
    "java.lang.Integer": lambda v: Values.convert_to_integer(None, v),
    "java.lang.Long": lambda v: Values.convert_to_long(None, v),
    "java.lang.Float": lambda v: Values.convert_to_float(None, v),
    "java.lang.Double": lambda v: Values.convert_to_double(None, v),
    "java.lang.String": lambda v: v,
    "java.math.BigDecimal": _to_decimal,
}


class MaskField(KeyOrValueTransformation):
    """Mask the named fields (use ``Key`` or ``Value``)."""

    Key: type[MaskField]
    Value: type[MaskField]

    def __init__(self) -> None:
        self._fields: set[str] = set()
        self._replacement: str | None = None
        self._replace_null_with_default = True

    def config(self) -> ConfigDef:
        """The MaskField keys."""
        return CONFIG_DEF

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Read ``fields`` (required, non-empty) and ``replacement`` (optional, non-empty)."""
        config = Config(CONFIG_DEF, configs)
        self._fields = set(config.get_list(FIELDS_CONFIG) or ())
        self._replacement = config.get_string(REPLACEMENT_CONFIG)
        self._replace_null_with_default = bool(config.get_boolean(REPLACE_NULL_WITH_DEFAULT_CONFIG))

    def apply(self, record: Any) -> Any:
        """The record with the fields masked.

        Raises:
            DataError: not a Struct (with schema) or map (without), a type that cannot be masked, or a
                replacement that does not convert.
        """
        value = self._operating_value(record)
        schema = self._operating_schema(record)
        if schema is None:
            data = require_map(value, PURPOSE)
            updated = dict(data)
            for name in self._fields:
                updated[name] = self._masked(data.get(name), None)
            return self._new_record(record, None, updated)
        struct = require_struct(value, PURPOSE)
        result = Struct(struct.schema)
        for field in struct.schema.fields:
            original = field_value(struct, field, self._replace_null_with_default)
            masked = self._masked(original, field.schema) if field.name in self._fields else original
            result.put(field, masked)
        return self._new_record(record, schema, result)

    def _masked(self, value: Any, schema: Schema | None) -> Any:
        if value is None:
            return None
        java_class = _java_class(value, schema)
        if self._replacement is None:
            zero = _ZEROS.get(java_class)
            if zero is None:
                raise DataError(f"Cannot mask value of type: class {java_class}")
            return zero(value)
        convert = _REPLACEMENTS.get(java_class)
        if convert is None:
            raise DataError(f"Cannot mask value of type class {java_class} with custom replacement.")
        return convert(self._replacement)

    def close(self) -> None:
        """Nothing to release."""


class MaskFieldKey(KeySide, MaskField):
    """``MaskField$Key``: mask fields of the record key."""


class MaskFieldValue(ValueSide, MaskField):
    """``MaskField$Value``: mask fields of the record value."""


MaskField.Key = MaskFieldKey
MaskField.Value = MaskFieldValue

__all__ = ["CONFIG_DEF", "MaskField", "MaskFieldKey", "MaskFieldValue"]
