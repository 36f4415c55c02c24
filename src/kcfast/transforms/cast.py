"""``Cast$Key`` / ``Cast$Value``: cast fields, or the whole key/value, to another primitive type.

``spec`` is ``field:type,...`` (fields of a Struct or map) or a single ``type`` (the whole key/value). Target
types: int8, int16, int32, int64, float32, float64, boolean, string. Inputs may be any of those or bytes (bytes
only to string, as base64). Numbers narrow like Java casts (wrap, or saturate from floating point), strings are
parsed as Java does, dates and times become their epoch numbers (or ``Values`` text for string), booleans are
1/0. A null key or value passes through unchanged.
"""

from __future__ import annotations

import base64
import datetime as _dt
import decimal as _decimal
import logging
import math
from collections.abc import Mapping
from typing import Any

from kcfast.api._text import java_trim, parse_java_double, parse_java_int
from kcfast.api.config import Config, ConfigDef, Importance, Type
from kcfast.api.validators import LambdaValidator, invalid_value
from kcfast.data import (
    Date,
    Schema,
    SchemaBuilder,
    Struct,
    Time,
    Timestamp,
    java_decimal_str,
    java_double_str,
    java_float_str,
    to_float32,
)
from kcfast.data.schema import Type as SchemaType
from kcfast.data.struct import DATE_NAME, TIME_NAME, TIMESTAMP_NAME
from kcfast.data.values import _format_temporal, wrap_int
from kcfast.errors import ConfigError, DataError
from kcfast.transforms._util import (
    REPLACE_NULL_WITH_DEFAULT_CONFIG,
    REPLACE_NULL_WITH_DEFAULT_DOC,
    KeyOrValueTransformation,
    KeySide,
    SchemaCache,
    ValueSide,
    copy_schema_basics,
    field_value,
    java_class,
    java_split,
    require_map,
    require_struct,
    schemaless_type,
)

log = logging.getLogger(__name__)

SPEC_CONFIG = "spec"

_INPUT_TYPES = (
    SchemaType.INT8, SchemaType.INT16, SchemaType.INT32, SchemaType.INT64, SchemaType.FLOAT32, SchemaType.FLOAT64,
    SchemaType.BOOLEAN, SchemaType.STRING, SchemaType.BYTES,
)
_OUTPUT_TYPES = _INPUT_TYPES[:-1]
_WHOLE_VALUE: Any = None  # the spec key of a whole-value cast


def _type_list(types: tuple[SchemaType, ...]) -> str:
    return "[" + ", ".join(t.name for t in types) + "]"


def _valid_output(target: SchemaType) -> SchemaType:
    if target not in _OUTPUT_TYPES:
        raise ConfigError(f"Cast transformation does not support casting to {target.name}; supported types are "
                          f"{_type_list(_OUTPUT_TYPES)}")
    return target


def _schema_type(name: str) -> SchemaType:
    try:
        return SchemaType[name.upper()]
    except KeyError:
        raise ConfigError(f"Invalid type found in casting spec: {name}") from None


def parse_field_types(mappings: list[str]) -> dict[str | None, SchemaType]:
    """The casts a ``spec`` describes: field -> type, or ``{None: type}`` for a whole-value cast.

    Raises:
        ConfigError: a malformed entry, an unknown or unsupported type, or a whole-value cast with others.
    """
    casts: dict[str | None, SchemaType] = {}
    whole = False
    for mapping in mappings:
        parts = java_split(mapping, ":")
        if len(parts) > 2:
            raise invalid_value("renames", mappings, f"Invalid rename mapping: {mapping}")
        if len(parts) == 1:
            casts[_WHOLE_VALUE] = _valid_output(_schema_type(java_trim(parts[0])))
            whole = True
        else:
            casts[java_trim(parts[0])] = _valid_output(_schema_type(java_trim(parts[1])))
    if whole and len(mappings) > 1:
        raise ConfigError("Cast transformations that specify a type to cast the entire value to may only specify "
                          "a single cast in their spec")
    return casts


def _validate_spec(name: str, value: Any) -> None:
    if not value:
        raise ConfigError("Must specify at least one field to cast.")
    parse_field_types(value)


CONFIG_DEF = (
    ConfigDef()
    .define(SPEC_CONFIG, Type.LIST, ConfigDef.NO_DEFAULT_VALUE,
            LambdaValidator.with_(_validate_spec,
                                  lambda: "list of colon-delimited pairs, e.g. <code>foo:bar,abc:xyz</code>"),
            Importance.HIGH,
            "List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of "
            "Maps or Structs. A single type to cast the entire value. Valid types are int8, int16, int32, int64, "
            "float32, float64, boolean, and string. Note that binary fields can only be cast to string.")
    .define(REPLACE_NULL_WITH_DEFAULT_CONFIG, Type.BOOLEAN, True, None, Importance.MEDIUM,
            REPLACE_NULL_WITH_DEFAULT_DOC)
)

PURPOSE = "cast types"

_BUILDERS = {
    SchemaType.INT8: SchemaBuilder.int8,
    SchemaType.INT16: SchemaBuilder.int16,
    SchemaType.INT32: SchemaBuilder.int32,
    SchemaType.INT64: SchemaBuilder.int64,
    SchemaType.FLOAT32: SchemaBuilder.float32,
    SchemaType.FLOAT64: SchemaBuilder.float64,
    SchemaType.BOOLEAN: SchemaBuilder.bool,
    SchemaType.STRING: SchemaBuilder.string,
}
_BITS = {SchemaType.INT8: 8, SchemaType.INT16: 16, SchemaType.INT32: 32, SchemaType.INT64: 64}


def _builder(target: SchemaType) -> SchemaBuilder:
    make = _BUILDERS.get(target)
    if make is None:
        raise DataError(f"Unexpected type in Cast transformation: {target}")
    return make()


def _saturate(x: float, bits: int) -> int:
    """Java's ``(int)`` / ``(long)`` of a floating-point value: NaN is 0, out-of-range values saturate."""
    if math.isnan(x):
        return 0
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if x >= high:
        return high
    if x <= low:
        return low
    return int(x)


def _to_integer(value: Any, target: SchemaType) -> int:
    bits = _BITS[target]
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, int):
        return wrap_int(value, bits)
    if isinstance(value, float):
        # Java narrows float/double through int (or long for int64), saturating.
        return wrap_int(_saturate(value, 64 if bits == 64 else 32), bits)
    if isinstance(value, _decimal.Decimal):
        return wrap_int(int(value), bits) if value.is_finite() else 0
    if isinstance(value, str):
        try:
            return parse_java_int(value, bits)
        except ValueError:
            raise DataError(f"Value ({value}) was out of range for requested data type") from None
    raise DataError(f"Unexpected type in Cast transformation: {java_class(value)}")


def _to_floating(value: Any, target: SchemaType) -> float:
    single = target is SchemaType.FLOAT32
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float, _decimal.Decimal)):
        try:
            result = float(value)
        except OverflowError:
            result = math.copysign(math.inf, value)
    elif isinstance(value, str):
        try:
            result = parse_java_double(java_trim(value))
        except ValueError:
            raise DataError(f"Value ({value}) was out of range for requested data type") from None
    else:
        raise DataError(f"Unexpected type in Cast transformation: {java_class(value)}")
    return to_float32(result) if single else result


def _to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return _saturate(value, 64) != 0
    if isinstance(value, int):
        return wrap_int(value, 64) != 0
    if isinstance(value, _decimal.Decimal):
        return value.is_finite() and wrap_int(int(value), 64) != 0
    if isinstance(value, str):
        return value.lower() == "true"
    raise DataError(f"Unexpected type in Cast transformation: {java_class(value)}")


def _to_string(value: Any, schema: Schema | None) -> str:
    if isinstance(value, (_dt.date, _dt.time)):
        return _format_temporal(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        single = schema is not None and schema.type is SchemaType.FLOAT32
        return java_float_str(value) if single else java_double_str(value)
    if isinstance(value, _decimal.Decimal):
        return java_decimal_str(value)
    return str(value)


def _encode_logical(schema: Schema, value: Any) -> Any:
    name = schema.name
    if name == DATE_NAME:
        return Date.from_logical(schema, value)
    if name == TIME_NAME:
        return Time.from_logical(schema, value)
    if name == TIMESTAMP_NAME:
        return Timestamp.from_logical(schema, value)
    return value


def cast_value(schema: Schema | None, value: Any, target: SchemaType) -> Any:
    """Cast one value (with its schema, if any) to ``target``, as Kafka's ``Cast.castValueToType``.

    Raises:
        DataError: an unsupported input type, or a string that does not parse.
    """
    if value is None:
        return None
    inferred = schema.type if schema is not None else schemaless_type(value)
    if inferred is None:
        raise DataError(f"Cast transformation was passed a value of type {java_class(value)} which is not "
                        "supported by Connect's data API")
    if inferred not in _INPUT_TYPES:
        raise DataError(f"Cast transformation does not support casting from {inferred.name}; supported types are "
                        f"{_type_list(_INPUT_TYPES)}")
    if schema is not None and schema.name is not None and target is not SchemaType.STRING:
        value = _encode_logical(schema, value)
    if inferred in (SchemaType.FLOAT32, SchemaType.FLOAT64) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)  # a Struct accepts an int for a floating-point field; Java holds a Float/Double
    if target in _BITS:
        return _to_integer(value, target)
    if target in (SchemaType.FLOAT32, SchemaType.FLOAT64):
        return _to_floating(value, target)
    if target is SchemaType.BOOLEAN:
        return _to_boolean(value)
    if target is SchemaType.STRING:
        return _to_string(value, schema)
    raise DataError(f"{target.name} is not supported in the Cast transformation.")


class Cast(KeyOrValueTransformation):
    """Cast fields or the entire key/value to a specific type (use ``Key`` or ``Value``)."""

    Key: type[Cast]
    Value: type[Cast]

    def __init__(self) -> None:
        self._casts: dict[str | None, SchemaType] = {}
        self._whole: SchemaType | None = None
        self._replace_null_with_default = True
        self._cache = SchemaCache()

    def config(self) -> ConfigDef:
        """The Cast keys."""
        return CONFIG_DEF

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Read ``spec`` (required).

        Raises:
            ConfigError: an empty or malformed spec.
        """
        config = Config(CONFIG_DEF, configs)
        self._casts = parse_field_types(config.get_list(SPEC_CONFIG) or [])
        self._whole = self._casts.get(_WHOLE_VALUE)
        self._replace_null_with_default = bool(config.get_boolean(REPLACE_NULL_WITH_DEFAULT_CONFIG))
        self._cache = SchemaCache()

    def apply(self, record: Any) -> Any:
        """The record with the casts applied (unchanged if the key/value is null).

        Raises:
            DataError: a value that cannot be cast.
        """
        value = self._operating_value(record)
        if value is None:
            return record
        schema = self._operating_schema(record)
        if schema is None:
            if self._whole is not None:
                return self._new_record(record, None, cast_value(None, value, self._whole))
            data = require_map(value, PURPOSE)
            updated = dict(data)
            for name, target in self._casts.items():
                updated[name] = cast_value(None, data.get(name), target)  # type: ignore[arg-type]
            return self._new_record(record, None, updated)
        updated_schema = self._updated_schema(schema)
        if self._whole is not None:
            return self._new_record(record, updated_schema, cast_value(schema, value, self._whole))
        struct = require_struct(value, PURPOSE)
        result = Struct(updated_schema)
        for field in struct.schema.fields:
            original = field_value(struct, field, self._replace_null_with_default)
            target = self._casts.get(field.name)
            new_value = cast_value(field.schema, original, target) if target is not None else original
            log.debug("Cast field '%s' from '%s' to '%s'", field.name, original, new_value)
            result.put(updated_schema.field(field.name), new_value)  # type: ignore[arg-type]
        return self._new_record(record, updated_schema, result)

    def _updated_schema(self, schema: Schema) -> Schema:
        cached = self._cache.get(schema)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        if self._whole is not None:
            builder = copy_schema_basics(schema, _builder(self._whole))
        else:
            builder = copy_schema_basics(schema, SchemaBuilder.struct())
            for field in schema.fields:
                target = self._casts.get(field.name)
                if target is None:
                    builder.field(field.name, field.schema)
                    continue
                field_builder = _builder(target)
                if field.schema.optional:
                    field_builder.optional()
                if field.schema.default_value is not None:
                    field_builder.default_value(cast_value(field.schema, field.schema.default_value, target))
                builder.field(field.name, field_builder.build())
        if schema.optional:
            builder.optional()
        if schema.default_value is not None:
            target_type = self._whole if self._whole is not None else SchemaType.STRUCT
            builder.default_value(cast_value(schema, schema.default_value, target_type))
        updated = builder.build()
        self._cache.put(schema, updated)
        return updated

    def close(self) -> None:
        """Nothing to release."""


class CastKey(KeySide, Cast):
    """``Cast$Key``: cast the record key or its fields."""


class CastValue(ValueSide, Cast):
    """``Cast$Value``: cast the record value or its fields."""


Cast.Key = CastKey
Cast.Value = CastValue

__all__ = ["CONFIG_DEF", "Cast", "CastKey", "CastValue", "cast_value", "parse_field_types"]
