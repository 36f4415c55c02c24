"""``Struct`` and value validation (Java ``Struct`` and ``ConnectSchema.validateValue``).

Python value types per schema type: INT8..INT64 -> ``int`` (range checked; ``bool`` is not accepted),
FLOAT32/FLOAT64 -> ``float`` (an ``int`` is accepted and written as a float), BOOLEAN -> ``bool``,
STRING -> ``str``, BYTES -> ``bytes`` (``bytearray``/``memoryview`` accepted), ARRAY -> ``list`` (or ``tuple``),
MAP -> ``dict``, STRUCT -> :class:`Struct`. Logical types are recognised by schema name, as in Java:
Decimal -> ``decimal.Decimal``, Date -> ``datetime.date``, Time -> ``datetime.time`` (or a ``datetime`` on
1970-01-01), Timestamp -> ``datetime.datetime`` (or a ``date``).
"""

from __future__ import annotations

import datetime as _dt
import decimal as _decimal
from collections.abc import Callable
from typing import Any

from kcfast.data._java import java_str
from kcfast.data.schema import Field, Schema, SchemaBuilder, Type, _deep_equal, as_schema, hash_value
from kcfast.errors import DataError

DECIMAL_NAME = "org.apache.kafka.connect.data.Decimal"
DATE_NAME = "org.apache.kafka.connect.data.Date"
TIME_NAME = "org.apache.kafka.connect.data.Time"
TIMESTAMP_NAME = "org.apache.kafka.connect.data.Timestamp"

INT_RANGES: dict[Type, tuple[int, int]] = {
    Type.INT8: (-(1 << 7), (1 << 7) - 1),
    Type.INT16: (-(1 << 15), (1 << 15) - 1),
    Type.INT32: (-(1 << 31), (1 << 31) - 1),
    Type.INT64: (-(1 << 63), (1 << 63) - 1),
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (float, int)) and not isinstance(value, bool)


_TYPE_CHECKS: dict[Type, tuple[Callable[[Any], bool], str]] = {
    Type.INT8: (_is_int, "int"),
    Type.INT16: (_is_int, "int"),
    Type.INT32: (_is_int, "int"),
    Type.INT64: (_is_int, "int"),
    Type.FLOAT32: (_is_number, "float"),
    Type.FLOAT64: (_is_number, "float"),
    Type.BOOLEAN: (lambda v: isinstance(v, bool), "bool"),
    Type.STRING: (lambda v: isinstance(v, str), "str"),
    Type.BYTES: (lambda v: isinstance(v, (bytes, bytearray, memoryview)), "bytes"),
    Type.ARRAY: (lambda v: isinstance(v, (list, tuple)), "list"),
    Type.MAP: (lambda v: isinstance(v, dict), "dict"),
    Type.STRUCT: (lambda v: isinstance(v, Struct), "Struct"),
}

_LOGICAL_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    DECIMAL_NAME: (lambda v: isinstance(v, _decimal.Decimal), "decimal.Decimal"),
    DATE_NAME: (lambda v: isinstance(v, _dt.date), "datetime.date"),
    TIME_NAME: (lambda v: isinstance(v, (_dt.time, _dt.datetime)), "datetime.time"),
    TIMESTAMP_NAME: (lambda v: isinstance(v, _dt.date), "datetime.datetime"),
}


def validate_value(schema: Schema, value: Any, field_name: str | None = None) -> None:
    """Check ``value`` against ``schema`` (Java ``ConnectSchema.validateValue``).

    Args:
        schema: The schema.
        value: The value to check.
        field_name: The struct field being checked, named in error messages.

    Raises:
        DataError: The value is not valid; the message names the field and what was wrong, e.g.
            ``Invalid value: null used for required field: "age", schema type: INT32``.
    """
    _validate(schema, value, "value" if field_name is None else f'field: "{field_name}"')


def _validate(schema: Schema, value: Any, location: str) -> None:
    if value is None:
        if not schema._optional:
            raise DataError(f"Invalid value: null used for required {location}, schema type: {schema._type}")
        return
    name = schema._name
    check = _LOGICAL_CHECKS.get(name) if name is not None else None
    if check is None:
        check = _TYPE_CHECKS[schema._type]
    if not check[0](value):
        named = f' "{name}"' if name is not None else ""
        raise DataError(
            f"Invalid Python object for schema{named} with type {schema._type}: {type(value).__name__}"
            f" (expected {check[1]}) for {location}"
        )
    stype = schema._type
    if stype in INT_RANGES and _is_int(value):
        low, high = INT_RANGES[stype]
        if not low <= value <= high:
            raise DataError(f"Invalid value: {value} is out of range for schema type {stype} for {location}")
    elif stype is Type.STRUCT:
        if not (value._schema is schema or value._schema == schema):
            raise DataError(f"Struct schemas do not match for {location}.")
        value.validate()
    elif stype is Type.ARRAY:
        entry_location = "element of array " + location
        item_schema = schema._value_schema
        if item_schema is None:
            raise DataError(f"No schema defined for {entry_location}")
        for item in value:
            _validate(item_schema, item, entry_location)
    elif stype is Type.MAP:
        key_location = "key of map " + location
        value_location = "value of map " + location
        key_schema = schema._key_schema
        value_schema = schema._value_schema
        if key_schema is None:
            raise DataError(f"No schema defined for {key_location}")
        if value_schema is None:
            raise DataError(f"No schema defined for {value_location}")
        for k, v in value.items():
            _validate(key_schema, k, key_location)
            _validate(value_schema, v, value_location)


class Struct:
    """A structured record value (Java ``Struct``): values by field, validated against a STRUCT schema.

    ``put`` is chainable: ``Struct(schema).put("name", "Ada").put("age", 36)``. Values are stored in a list
    indexed by field position. A Struct is mutable; it is hashable by content (like Java's ``hashCode``), so do
    not change one while it is a dict key.
    """

    __slots__ = ("_schema", "_values")

    def __init__(self, schema: Schema | SchemaBuilder) -> None:
        built = as_schema(schema)
        if not isinstance(built, Schema) or built._type is not Type.STRUCT or built._fields is None:
            raise DataError(f"Not a struct schema: {schema}")
        self._schema = built
        self._values: list[Any] = [None] * len(built._fields)

    @classmethod
    def _from_values(cls, schema: Schema, values: list[Any]) -> Struct:
        """Internal fast constructor used by the record core and converters: no validation, no copy.

        ``schema`` must be a built STRUCT schema and ``values`` a list with one entry per field, in field order.
        """
        obj = cls.__new__(cls)
        obj._schema = schema
        obj._values = values
        return obj

    @property
    def schema(self) -> Schema:
        """The STRUCT schema of this value."""
        return self._schema

    def _lookup(self, name: str) -> Field:
        fields = self._schema._fields_by_name
        field = fields.get(name) if fields is not None else None
        if field is None:
            raise DataError(f"{name} is not a valid field name")
        return field

    def _field(self, field: str | Field) -> Field:
        if isinstance(field, Field):
            if not 0 <= field._index < len(self._values):
                raise DataError(f"Field {field._name} does not belong to this struct's schema")
            return field
        if field is None:
            raise DataError("field cannot be null.")
        return self._lookup(field)

    def get(self, field: str | Field) -> Any:
        """The value of ``field`` (a name or a :class:`Field`), or the field's default when it is None.

        Raises:
            DataError: No such field.
        """
        f = self._field(field)
        value = self._values[f._index]
        if value is None:
            return f._schema._default
        return value

    def get_without_default(self, field: str | Field) -> Any:
        """The value of ``field`` as stored, without applying the field default."""
        return self._values[self._field(field)._index]

    def _get_checked(self, name: str, expected: Type) -> Any:
        f = self._lookup(name)
        if f._schema._type is not expected:
            raise DataError(f"Field '{name}' is not of type {expected}")
        return self._values[f._index]

    def get_int8(self, name: str) -> int | None:
        """The INT8 field ``name`` (no default applied, as in Java)."""
        return self._get_checked(name, Type.INT8)  # type: ignore[no-any-return]

    def get_int16(self, name: str) -> int | None:
        """The INT16 field ``name``."""
        return self._get_checked(name, Type.INT16)  # type: ignore[no-any-return]

    def get_int32(self, name: str) -> int | None:
        """The INT32 field ``name``."""
        return self._get_checked(name, Type.INT32)  # type: ignore[no-any-return]

    def get_int64(self, name: str) -> int | None:
        """The INT64 field ``name``."""
        return self._get_checked(name, Type.INT64)  # type: ignore[no-any-return]

    def get_float32(self, name: str) -> float | None:
        """The FLOAT32 field ``name``."""
        return self._get_checked(name, Type.FLOAT32)  # type: ignore[no-any-return]

    def get_float64(self, name: str) -> float | None:
        """The FLOAT64 field ``name``."""
        return self._get_checked(name, Type.FLOAT64)  # type: ignore[no-any-return]

    def get_boolean(self, name: str) -> bool | None:
        """The BOOLEAN field ``name``."""
        return self._get_checked(name, Type.BOOLEAN)  # type: ignore[no-any-return]

    def get_string(self, name: str) -> str | None:
        """The STRING field ``name``."""
        return self._get_checked(name, Type.STRING)  # type: ignore[no-any-return]

    def get_bytes(self, name: str) -> bytes | None:
        """The BYTES field ``name``, as ``bytes``."""
        value = self._get_checked(name, Type.BYTES)
        if value is None or isinstance(value, bytes):
            return value
        return bytes(value)

    def get_array(self, name: str) -> list[Any] | None:
        """The ARRAY field ``name``."""
        return self._get_checked(name, Type.ARRAY)  # type: ignore[no-any-return]

    def get_map(self, name: str) -> dict[Any, Any] | None:
        """The MAP field ``name``."""
        return self._get_checked(name, Type.MAP)  # type: ignore[no-any-return]

    def get_struct(self, name: str) -> Struct | None:
        """The STRUCT field ``name``."""
        return self._get_checked(name, Type.STRUCT)  # type: ignore[no-any-return]

    def put(self, field: str | Field, value: Any) -> Struct:
        """Set ``field`` (a name or a :class:`Field`) to ``value`` after validating it; returns ``self``.

        Raises:
            DataError: No such field, or the value is not valid for the field's schema.
        """
        f = self._field(field)
        _validate(f._schema, value, f'field: "{f._name}"')
        self._values[f._index] = value
        return self

    def validate(self) -> None:
        """Check every field: required fields without a default must be set, and values must match.

        Raises:
            DataError: A field is missing or invalid; the message names it.
        """
        values = self._values
        for f in self._schema._fields or ():
            value = values[f._index]
            fs = f._schema
            if value is None and (fs._optional or fs._default is not None):
                continue
            _validate(fs, value, f'field: "{f._name}"')

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Struct):
            return NotImplemented
        if not (self._schema is other._schema or self._schema == other._schema):
            return False
        return len(self._values) == len(other._values) and all(
            _deep_equal(a, b) for a, b in zip(self._values, other._values)
        )

    def __hash__(self) -> int:
        return hash((self._schema, hash_value(self._values)))

    def __str__(self) -> str:
        parts = []
        for f in self._schema._fields or ():
            value = self._values[f._index]
            if value is not None:
                parts.append(f"{f._name}={java_str(value, f._schema)}")
        return "Struct{" + ",".join(parts) + "}"

    __repr__ = __str__
