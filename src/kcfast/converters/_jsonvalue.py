"""The JsonConverter's walks between Connect data and JSON trees (Java ``JsonConverter.convertToJson``,
``convertToConnect``, ``asJsonSchema``, ``asConnectSchema``).

These are plain functions over plain trees so that the compiled record core can reproduce them one to one:
- :func:`connect_to_json` / :func:`schema_to_json` build a tree for :func:`kcfast.converters._jsontext.dumps`
  (dicts in Kafka's key order, lists, str, int, bool, None, floats and ``orjson.Fragment`` numbers);
- :func:`json_to_connect` / :func:`json_to_schema` read a tree parsed by orjson (floats) or by the exact parser
  (``decimal.Decimal``), and raise :class:`~kcfast.converters._jsontext.NeedExact` when a float must be re-read
  exactly (a NUMERIC decimal).

Errors inside a struct name the field path: ``... (field "address.zip")``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import decimal as _decimal
import math
from collections.abc import Callable
from typing import Any

from kcfast.converters._jsontext import (
    MISSING,
    NeedExact,
    decimal_json,
    float32_json,
    float64_json,
    node_type,
)
from kcfast.data import Date, Decimal, Schema, SchemaBuilder, Struct, Time, Timestamp, Type
from kcfast.data._values_parser import decimal_to_float32
from kcfast.data.struct import DATE_NAME, DECIMAL_NAME, INT_RANGES, TIME_NAME, TIMESTAMP_NAME
from kcfast.data.values import wrap_int
from kcfast.errors import DataError

TYPE_NAMES: dict[Type, str] = {
    Type.INT8: "int8",
    Type.INT16: "int16",
    Type.INT32: "int32",
    Type.INT64: "int64",
    Type.FLOAT32: "float",
    Type.FLOAT64: "double",
    Type.BOOLEAN: "boolean",
    Type.STRING: "string",
    Type.BYTES: "bytes",
    Type.ARRAY: "array",
    Type.MAP: "map",
    Type.STRUCT: "struct",
}
NAME_TYPES: dict[str, Type] = {name: t for t, name in TYPE_NAMES.items()}
_INT64_MIN, _INT64_MAX = INT_RANGES[Type.INT64]


def with_field(exc: DataError, field: str) -> DataError:
    """A DataError like ``exc`` whose message also names the struct field path it happened in."""
    path = (field, *getattr(exc, "field_path", ()))
    base = getattr(exc, "base_message", str(exc))
    new = DataError(f'{base} (field "{".".join(path)}")')
    new.field_path = path  # type: ignore[attr-defined]
    new.base_message = base  # type: ignore[attr-defined]
    return new


def _invalid_type(schema: Schema, value: Any) -> DataError:
    return DataError(f"Invalid type for {schema._type}: {type(value).__name__}")


# -- Connect -> JSON ----------------------------------------------------------------------------------------------

Writer = Callable[[Schema, Any, bool, bool], Any]


def connect_to_json(schema: Schema | None, value: Any, *, decimal_numeric: bool = False,
                    replace_null_with_default: bool = True) -> Any:
    """The JSON tree of a Connect value (the ``payload`` of the envelope).

    Args:
        schema: The value's schema, or None for schemaless data (types inferred from Python types).
        value: The value.
        decimal_numeric: Write Decimals as JSON numbers (``decimal.format=NUMERIC``) instead of base64.
        replace_null_with_default: Write a field's default in place of a null (``replace.null.with.default``).

    Raises:
        DataError: The value does not match the schema; the message says what and where.
    """
    return to_json(schema, value, decimal_numeric, replace_null_with_default)


def to_json(schema: Schema | None, value: Any, numeric: bool, replace: bool) -> Any:
    """Positional form of :func:`connect_to_json` used by the walk itself."""
    if value is None:
        if schema is None:
            return None
        if schema._default is not None and replace:
            return to_json(schema, schema._default, numeric, replace)
        if schema._optional:
            return None
        raise DataError("Conversion error: null value for field that is required and has no default value")
    if schema is None:
        return _schemaless_to_json(value, numeric, replace)
    name = schema._name
    if name is not None:
        logical = _LOGICAL_WRITERS.get(name)
        if logical is not None:
            return logical(schema, value, numeric)
    return _WRITERS[schema._type](schema, value, numeric, replace)


def _w_int(schema: Schema, value: Any, numeric: bool, replace: bool) -> Any:
    if type(value) is not int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _invalid_type(schema, value)
        value = int(value)
    low, high = INT_RANGES[schema._type]
    if not low <= value <= high:
        raise DataError(f"Invalid value for {schema._type}: {value} is out of range [{low}, {high}]")
    return value


def _as_float(schema: Schema, value: Any) -> float:
    if type(value) is float:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid_type(schema, value)
    try:
        return float(value)
    except OverflowError:
        raise DataError(f"Invalid value for {schema._type}: {value} is too large") from None


def _w_float32(schema: Schema, value: Any, numeric: bool, replace: bool) -> Any:
    return float32_json(_as_float(schema, value))


def _w_float64(schema: Schema, value: Any, numeric: bool, replace: bool) -> Any:
    return float64_json(_as_float(schema, value))


def _w_boolean(schema: Schema, value: Any, numeric: bool, replace: bool) -> Any:
    if not isinstance(value, bool):
        raise _invalid_type(schema, value)
    return value


def _w_string(schema: Schema, value: Any, numeric: bool, replace: bool) -> Any:
    if type(value) is str:
        return value
    if not isinstance(value, str):
        raise _invalid_type(schema, value)
    return str(value)


def _base64(value: Any) -> str:
    return base64.b64encode(value).decode("ascii")


def _w_bytes(schema: Schema, value: Any, numeric: bool, replace: bool) -> Any:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise _invalid_type(schema, value)
    return _base64(value)


def _w_array(schema: Schema, value: Any, numeric: bool, replace: bool) -> Any:
    if not isinstance(value, (list, tuple)):
        raise _invalid_type(schema, value)
    item_schema = schema._value_schema
    return [to_json(item_schema, item, numeric, replace) for item in value]


def _w_map(schema: Schema, value: Any, numeric: bool, replace: bool) -> Any:
    if not isinstance(value, dict):
        raise _invalid_type(schema, value)
    key_schema = schema._key_schema
    value_schema = schema._value_schema
    if key_schema is None:
        object_mode = all(isinstance(k, str) for k in value)
    else:
        object_mode = key_schema._type is Type.STRING
    if object_mode:
        out = {}
        for k, v in value.items():
            key = to_json(key_schema, k, numeric, replace)
            out["null" if key is None else key] = to_json(value_schema, v, numeric, replace)
        return out
    return [[to_json(key_schema, k, numeric, replace), to_json(value_schema, v, numeric, replace)]
            for k, v in value.items()]


def _w_struct(schema: Schema, value: Any, numeric: bool, replace: bool) -> Any:
    if not isinstance(value, Struct):
        raise _invalid_type(schema, value)
    if value._schema is not schema and value._schema != schema:
        raise DataError("Mismatching schema.")
    out = {}
    values = value._values
    field = None
    try:
        for field in schema._fields or ():
            out[field._name] = to_json(field._schema, values[field._index], numeric, replace)
    except DataError as exc:
        assert field is not None
        raise with_field(exc, field._name) from exc
    return out


_WRITERS: dict[Type, Writer] = {
    Type.INT8: _w_int,
    Type.INT16: _w_int,
    Type.INT32: _w_int,
    Type.INT64: _w_int,
    Type.FLOAT32: _w_float32,
    Type.FLOAT64: _w_float64,
    Type.BOOLEAN: _w_boolean,
    Type.STRING: _w_string,
    Type.BYTES: _w_bytes,
    Type.ARRAY: _w_array,
    Type.MAP: _w_map,
    Type.STRUCT: _w_struct,
}


def _logical_type_error(logical: str, expected: str, value: Any) -> DataError:
    return DataError(f"Invalid type for {logical}, expected {expected} but was {type(value).__name__}")


def _lw_decimal(schema: Schema, value: Any, numeric: bool) -> Any:
    if not isinstance(value, _decimal.Decimal):
        raise _logical_type_error("Decimal", "decimal.Decimal", value)
    if numeric:
        return decimal_json(value)
    return _base64(Decimal.from_logical(schema, value))


def _lw_date(schema: Schema, value: Any, numeric: bool) -> Any:
    if not isinstance(value, _dt.date):
        raise _logical_type_error("Date", "datetime.date", value)
    return Date.from_logical(schema, value)


def _lw_time(schema: Schema, value: Any, numeric: bool) -> Any:
    if not isinstance(value, (_dt.time, _dt.datetime)):
        raise _logical_type_error("Time", "datetime.time", value)
    return Time.from_logical(schema, value)


def _lw_timestamp(schema: Schema, value: Any, numeric: bool) -> Any:
    if not isinstance(value, _dt.date):
        raise _logical_type_error("Timestamp", "datetime.datetime", value)
    return Timestamp.from_logical(schema, value)


_LOGICAL_WRITERS: dict[str, Callable[[Schema, Any, bool], Any]] = {
    DECIMAL_NAME: _lw_decimal,
    DATE_NAME: _lw_date,
    TIME_NAME: _lw_time,
    TIMESTAMP_NAME: _lw_timestamp,
}


def _schemaless_to_json(value: Any, numeric: bool, replace: bool) -> Any:
    t = type(value)
    if t is str or t is bool:
        return value
    if t is int:
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise DataError(f"Invalid value for INT64: {value} does not fit in 64 bits")
        return value
    if t is float:
        return float64_json(value)
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {str(k): to_json(None, v, numeric, replace) for k, v in value.items()}
        return [[to_json(None, k, numeric, replace), to_json(None, v, numeric, replace)] for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [to_json(None, item, numeric, replace) for item in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _base64(value)
    if isinstance(value, Struct):
        raise DataError("Mismatching schema.")
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return _schemaless_to_json(int(value), numeric, replace)
    if isinstance(value, float):
        return float64_json(float(value))
    raise DataError(f"Python class {t.__qualname__} does not have corresponding schema type.")


def schema_to_json(schema: Schema | None, *, decimal_numeric: bool = False,
                   replace_null_with_default: bool = True) -> dict[str, Any] | None:
    """The JSON form of a schema, keys in Kafka's order: type, items | keys, values | fields, optional, name,
    version, doc, parameters, default (struct fields also end with ``"field"``).

    The dict may hold ``orjson.Fragment`` numbers (in ``default``): serialize it with orjson.

    Raises:
        DataError: The default value does not match the schema.
    """
    if schema is None:
        return None
    stype = schema._type
    obj: dict[str, Any] = {"type": TYPE_NAMES[stype]}
    if stype is Type.ARRAY:
        obj["items"] = schema_to_json(schema._value_schema, decimal_numeric=decimal_numeric,
                                      replace_null_with_default=replace_null_with_default)
    elif stype is Type.MAP:
        obj["keys"] = schema_to_json(schema._key_schema, decimal_numeric=decimal_numeric,
                                     replace_null_with_default=replace_null_with_default)
        obj["values"] = schema_to_json(schema._value_schema, decimal_numeric=decimal_numeric,
                                       replace_null_with_default=replace_null_with_default)
    elif stype is Type.STRUCT:
        fields = []
        for field in schema._fields or ():
            field_obj = schema_to_json(field._schema, decimal_numeric=decimal_numeric,
                                       replace_null_with_default=replace_null_with_default)
            assert field_obj is not None
            field_obj["field"] = field._name
            fields.append(field_obj)
        obj["fields"] = fields
    obj["optional"] = schema._optional
    if schema._name is not None:
        obj["name"] = schema._name
    if schema._version is not None:
        obj["version"] = schema._version
    if schema._doc is not None:
        obj["doc"] = schema._doc
    if schema._parameters is not None:
        obj["parameters"] = {str(k): v if isinstance(v, str) else str(v) for k, v in schema._parameters.items()}
    if schema._default is not None:
        obj["default"] = to_json(schema, schema._default, decimal_numeric, replace_null_with_default)
    return obj


# -- JSON -> Connect ----------------------------------------------------------------------------------------------

Reader = Callable[[Schema, Any, bool], Any]


def json_to_connect(schema: Schema | None, obj: Any, *, replace_null_with_default: bool = True) -> Any:
    """The Connect value of a parsed JSON payload.

    Args:
        schema: The schema from the envelope, or None for schemaless data (integers are INT64, other numbers
            FLOAT64, objects maps, arrays lists).
        obj: The parsed JSON (orjson floats or exact ``decimal.Decimal``).
        replace_null_with_default: Use a field's default for a null (``replace.null.with.default``).

    Raises:
        DataError: The JSON does not match the schema; the message says what and where.
        NeedExact: A NUMERIC decimal was parsed as a float; parse the document exactly and call again.
    """
    return from_json(schema, obj, replace_null_with_default)


def from_json(schema: Schema | None, obj: Any, replace: bool) -> Any:
    """Positional form of :func:`json_to_connect` used by the walk itself."""
    if schema is None:
        return schemaless_from_json(obj)
    if obj is None or obj is MISSING:
        if schema._default is not None and replace:
            return schema._default
        if schema._optional:
            return None
        raise DataError(f"Invalid null value for required {schema._type} field")
    name = schema._name
    if name is not None:
        logical = _LOGICAL_READERS.get(name)
        if logical is not None:
            return logical(schema, obj)
    return _READERS[schema._type](schema, obj, replace)


def _mismatch(schema: Schema, obj: Any, expected: str) -> DataError:
    return DataError(f"Invalid value for {schema._type} field: expected {expected} but found {node_type(obj)}")


def _r_int(schema: Schema, obj: Any, replace: bool) -> Any:
    t = type(obj)
    if t is int:
        value = obj
    elif t is float:
        if not math.isfinite(obj):
            raise DataError(f"Invalid value for {schema._type} field: {obj} is not a finite number")
        value = int(obj)
    elif t is _decimal.Decimal:
        if not obj.is_finite() or obj.adjusted() > 19:
            raise DataError(f"Invalid value for {schema._type} field: {obj} is out of range")
        value = int(obj)
    else:
        raise _mismatch(schema, obj, "a JSON number")
    low, high = INT_RANGES[schema._type]
    if not low <= value <= high:
        raise DataError(f"Invalid value for {schema._type} field: {obj} is out of range [{low}, {high}]")
    return value


# What Jackson writes for non-finite numbers; read back as the number (Java itself would read 0.0).
_NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def _number(schema: Schema, obj: Any) -> float:
    t = type(obj)
    if t is float:
        return obj  # type: ignore[no-any-return]
    if t is int or t is _decimal.Decimal:
        try:
            return float(obj)
        except OverflowError:
            return float("inf") if obj > 0 else float("-inf")
    if t is str and obj in _NON_FINITE:
        return _NON_FINITE[obj]
    raise _mismatch(schema, obj, "a JSON number")


def _r_float32(schema: Schema, obj: Any, replace: bool) -> Any:
    if type(obj) is _decimal.Decimal:
        return decimal_to_float32(obj)
    from kcfast.data import to_float32

    return to_float32(_number(schema, obj))


def _r_float64(schema: Schema, obj: Any, replace: bool) -> Any:
    return _number(schema, obj)


def _r_boolean(schema: Schema, obj: Any, replace: bool) -> Any:
    if type(obj) is not bool:
        raise _mismatch(schema, obj, "a JSON boolean")
    return obj


def _r_string(schema: Schema, obj: Any, replace: bool) -> Any:
    if type(obj) is not str:
        raise _mismatch(schema, obj, "a JSON string")
    return obj


def _r_bytes(schema: Schema, obj: Any, replace: bool) -> Any:
    if type(obj) is not str:
        raise _mismatch(schema, obj, "a base64 JSON string")
    try:
        return base64.b64decode(obj, validate=True)
    except (binascii.Error, ValueError):
        raise DataError(f"Invalid bytes field: {obj[:40]!r} is not valid base64") from None


def _r_array(schema: Schema, obj: Any, replace: bool) -> Any:
    if type(obj) is not list:
        raise _mismatch(schema, obj, "a JSON array")
    item_schema = schema._value_schema
    return [from_json(item_schema, item, replace) for item in obj]


def _r_map(schema: Schema, obj: Any, replace: bool) -> Any:
    key_schema = schema._key_schema
    value_schema = schema._value_schema
    if key_schema is None or key_schema._type is Type.STRING:
        if type(obj) is not dict:
            raise DataError(f"Maps with string fields should be encoded as JSON objects, but found {node_type(obj)}")
        return {k: from_json(value_schema, v, replace) for k, v in obj.items()}
    if type(obj) is not list:
        raise DataError(
            f"Maps with non-string fields should be encoded as JSON array of tuples, but found {node_type(obj)}"
        )
    result = {}
    for entry in obj:
        if type(entry) is not list:
            raise DataError(f"Found invalid map entry instead of array tuple: {node_type(entry)}")
        if len(entry) != 2:
            raise DataError(f"Found invalid map entry, expected length 2 but found :{len(entry)}")
        key = from_json(key_schema, entry[0], replace)
        try:
            result[key] = from_json(value_schema, entry[1], replace)
        except TypeError:
            raise DataError(f"Map key of type {type(key).__name__} cannot be used as a Python dict key") from None
    return result


def _r_struct(schema: Schema, obj: Any, replace: bool) -> Any:
    if type(obj) is not dict:
        raise DataError(f"Structs should be encoded as JSON objects, but found {node_type(obj)}")
    values = []
    field = None
    try:
        for field in schema._fields or ():
            values.append(from_json(field._schema, obj.get(field._name), replace))
    except DataError as exc:
        assert field is not None
        raise with_field(exc, field._name) from exc
    return Struct._from_values(schema, values)


_READERS: dict[Type, Reader] = {
    Type.INT8: _r_int,
    Type.INT16: _r_int,
    Type.INT32: _r_int,
    Type.INT64: _r_int,
    Type.FLOAT32: _r_float32,
    Type.FLOAT64: _r_float64,
    Type.BOOLEAN: _r_boolean,
    Type.STRING: _r_string,
    Type.BYTES: _r_bytes,
    Type.ARRAY: _r_array,
    Type.MAP: _r_map,
    Type.STRUCT: _r_struct,
}


def _lr_decimal(schema: Schema, obj: Any) -> Any:
    t = type(obj)
    if t is _decimal.Decimal:
        return obj
    if t is int:
        return _decimal.Decimal(obj)
    if t is float:
        raise NeedExact
    if t is str:
        try:
            return Decimal.to_logical(schema, base64.b64decode(obj, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise DataError(f"Invalid bytes for Decimal field: {exc}") from exc
    raise DataError(
        f"Invalid type for Decimal, underlying representation should be numeric or bytes but was {node_type(obj)}"
    )


def _int32_node(logical: str, obj: Any) -> int:
    if type(obj) is int and -(1 << 31) <= obj < (1 << 31):
        return obj
    kind = node_type(obj)
    if type(obj) is int:
        kind = "NUMBER (out of int range)"
    raise DataError(f"Invalid type for {logical}, underlying representation should be integer but was {kind}")


def _lr_date(schema: Schema, obj: Any) -> Any:
    return Date.to_logical(schema, _int32_node("Date", obj))


def _lr_time(schema: Schema, obj: Any) -> Any:
    return Time.to_logical(schema, _int32_node("Time", obj))


def _lr_timestamp(schema: Schema, obj: Any) -> Any:
    if type(obj) is not int:
        raise DataError(
            f"Invalid type for Timestamp, underlying representation should be integral but was {node_type(obj)}"
        )
    return Timestamp.to_logical(schema, wrap_int(obj, 64))


_LOGICAL_READERS: dict[str, Callable[[Schema, Any], Any]] = {
    DECIMAL_NAME: _lr_decimal,
    DATE_NAME: _lr_date,
    TIME_NAME: _lr_time,
    TIMESTAMP_NAME: _lr_timestamp,
}


def schemaless_from_json(obj: Any) -> Any:
    """Schemaless JSON -> Connect: integers as INT64 (wrapped to 64 bits like Java's ``longValue``), exact
    decimals as FLOAT64, objects as maps, arrays as lists."""
    t = type(obj)
    if t is int:
        return obj if _INT64_MIN <= obj <= _INT64_MAX else wrap_int(obj, 64)
    if t is _decimal.Decimal:
        return float(obj)
    if t is list:
        return [schemaless_from_json(item) for item in obj]
    if t is dict:
        return {k: schemaless_from_json(v) for k, v in obj.items()}
    if obj is MISSING:
        return None
    return obj


def json_to_schema(obj: Any, *, replace_null_with_default: bool = True) -> Schema | None:
    """The Connect schema of its JSON form (None for a JSON null).

    Raises:
        DataError: The JSON is not a valid schema; the message says what is wrong.
        NeedExact: A default needs exact decimal parsing.
    """
    if obj is None:
        return None
    type_name = obj.get("type") if type(obj) is dict else None
    if type(type_name) is not str:
        raise DataError("Schema must contain 'type' field")
    stype = NAME_TYPES.get(type_name)
    if stype is None:
        raise DataError(f"Unknown schema type: {type_name}")
    if stype is Type.ARRAY:
        items = obj.get("items")
        if items is None:
            raise DataError("Array schema did not specify the element type")
        builder = SchemaBuilder.array(_sub_schema(items, replace_null_with_default))  # type: ignore[arg-type]
    elif stype is Type.MAP:
        if "keys" not in obj:
            raise DataError("Map schema did not specify the key type")
        if "values" not in obj:
            raise DataError("Map schema did not specify the value type")
        builder = SchemaBuilder.map(
            _sub_schema(obj["keys"], replace_null_with_default),  # type: ignore[arg-type]
            _sub_schema(obj["values"], replace_null_with_default),  # type: ignore[arg-type]
        )
    elif stype is Type.STRUCT:
        builder = SchemaBuilder.struct()
        fields = obj.get("fields")
        if type(fields) is not list:
            raise DataError('Struct schema\'s "fields" argument is not an array.')
        for field in fields:
            name = field.get("field") if type(field) is dict else None
            if type(name) is not str:
                raise DataError("Struct schema's field name not specified properly")
            try:
                field_schema = json_to_schema(field, replace_null_with_default=replace_null_with_default)
            except DataError as exc:
                raise with_field(exc, name) from exc
            builder.field(name, field_schema)  # type: ignore[arg-type]
    else:
        builder = SchemaBuilder(stype)
    if obj.get("optional") is True:
        builder.optional()
    else:
        builder.required()
    name = obj.get("name")
    if type(name) is str:
        builder.name(name)
    version = obj.get("version")
    if type(version) is int:
        builder.version(wrap_int(version, 32))
    doc = obj.get("doc")
    if type(doc) is str:
        builder.doc(doc)
    params = obj.get("parameters")
    if type(params) is dict:
        for key, value in params.items():
            if type(value) is not str:
                raise DataError("Schema parameters must have string values.")
            builder.parameter(key, value)
    if "default" in obj:
        default = from_json(builder._build(with_default=False), obj["default"], replace_null_with_default)
        if default is not None:
            builder.default_value(default)
    return builder.build()


def _sub_schema(obj: Any, replace: bool) -> Schema | None:
    return json_to_schema(obj, replace_null_with_default=replace)
