"""Connect schemas: ``Schema`` (immutable), ``SchemaBuilder``, ``Field`` and ``SchemaAndValue``.

Mirrors ``org.apache.kafka.connect.data.{Schema, ConnectSchema, SchemaBuilder, Field, SchemaAndValue}``.
A ``Schema`` is immutable and hashable; two schemas are equal when Java's ``ConnectSchema.equals`` would say so
(type, optional, default, name, version, doc, parameters, fields, key and value schemas).

The slot attributes (``_type``, ``_optional``, ``_default``, ``_name``, ``_fields``, ``_key_schema``,
``_value_schema`` ...) are a stable internal contract read directly by the record core.
"""

from __future__ import annotations

import builtins
import enum
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from kcfast.errors import DataError, SchemaBuilderError


class Type(enum.Enum):
    """The schema types of Kafka Connect. ``str(Type.INT32)`` is ``INT32`` as in Java; ``.value`` is Java's
    ``getName()`` (``int32``)."""

    INT8 = "int8"
    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    BOOLEAN = "boolean"
    STRING = "string"
    BYTES = "bytes"
    ARRAY = "array"
    MAP = "map"
    STRUCT = "struct"

    @property
    def is_primitive(self) -> bool:
        """True for every type except ARRAY, MAP and STRUCT."""
        return self not in (Type.ARRAY, Type.MAP, Type.STRUCT)

    def __str__(self) -> str:
        return self.name


class Field:
    """A named, indexed field of a STRUCT schema (Java ``Field``)."""

    __slots__ = ("_index", "_name", "_schema")

    def __init__(self, name: str, index: int, schema: Schema) -> None:
        self._name = name
        self._index = index
        self._schema = schema

    @property
    def name(self) -> str:
        """The field name."""
        return self._name

    @property
    def index(self) -> int:
        """The position of the field in its struct."""
        return self._index

    @property
    def schema(self) -> Schema:
        """The schema of the field's value."""
        return self._schema

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Field):
            return NotImplemented
        return self._index == other._index and self._name == other._name and self._schema == other._schema

    def __hash__(self) -> int:
        return hash((self._name, self._index, self._schema))

    def __repr__(self) -> str:
        return f"Field{{name={self._name}, index={self._index}, schema={self._schema}}}"


def hash_value(value: Any) -> int:
    """A hash of a Connect value that also works for lists and maps (Java's deep hash codes)."""
    if isinstance(value, (list, tuple)):
        return hash(tuple(hash_value(item) for item in value))
    if isinstance(value, dict):
        return hash(frozenset((hash_value(k), hash_value(v)) for k, v in value.items()))
    if isinstance(value, (bytearray, memoryview)):
        return hash(bytes(value))
    return hash(value)


# Alias used in annotations inside Schema, where the name ``Type`` is the ``Schema.Type`` class attribute.
_SchemaType = Type


class Schema:
    """An immutable Connect schema (Java ``ConnectSchema``).

    Build schemas with :class:`SchemaBuilder` or use the constants (``Schema.INT32_SCHEMA``,
    ``Schema.OPTIONAL_STRING_SCHEMA`` ...). The constructor takes every property and does no validation, like
    Java's ``ConnectSchema`` constructor.
    """

    __slots__ = (
        "_default",
        "_doc",
        "_fields",
        "_fields_by_name",
        "_hash",
        "_key_schema",
        "_name",
        "_optional",
        "_parameters",
        "_type",
        "_value_schema",
        "_version",
    )

    Type: ClassVar[type[Type]] = Type

    INT8_SCHEMA: ClassVar[Schema]
    INT16_SCHEMA: ClassVar[Schema]
    INT32_SCHEMA: ClassVar[Schema]
    INT64_SCHEMA: ClassVar[Schema]
    FLOAT32_SCHEMA: ClassVar[Schema]
    FLOAT64_SCHEMA: ClassVar[Schema]
    BOOLEAN_SCHEMA: ClassVar[Schema]
    STRING_SCHEMA: ClassVar[Schema]
    BYTES_SCHEMA: ClassVar[Schema]
    OPTIONAL_INT8_SCHEMA: ClassVar[Schema]
    OPTIONAL_INT16_SCHEMA: ClassVar[Schema]
    OPTIONAL_INT32_SCHEMA: ClassVar[Schema]
    OPTIONAL_INT64_SCHEMA: ClassVar[Schema]
    OPTIONAL_FLOAT32_SCHEMA: ClassVar[Schema]
    OPTIONAL_FLOAT64_SCHEMA: ClassVar[Schema]
    OPTIONAL_BOOLEAN_SCHEMA: ClassVar[Schema]
    OPTIONAL_STRING_SCHEMA: ClassVar[Schema]
    OPTIONAL_BYTES_SCHEMA: ClassVar[Schema]

    def __init__(
        self,
        type: _SchemaType,
        optional: bool = False,
        default_value: Any = None,
        name: str | None = None,
        version: int | None = None,
        doc: str | None = None,
        parameters: Mapping[str, str] | None = None,
        fields: Iterable[Field] | None = None,
        key_schema: Schema | None = None,
        value_schema: Schema | None = None,
    ) -> None:
        self._type = type
        self._optional = bool(optional)
        self._default = default_value
        self._name = name
        self._version = version
        self._doc = doc
        self._parameters = dict(parameters) if parameters is not None else None
        if type is Type.STRUCT:
            self._fields: tuple[Field, ...] | None = tuple(fields) if fields is not None else ()
            self._fields_by_name: dict[str, Field] | None = {f._name: f for f in self._fields}
        else:
            self._fields = None
            self._fields_by_name = None
        self._key_schema = key_schema
        self._value_schema = value_schema
        self._hash: int | None = None

    @property
    def type(self) -> _SchemaType:
        """The schema type."""
        return self._type

    @property
    def optional(self) -> bool:
        """Whether null is a valid value."""
        return self._optional

    def is_optional(self) -> bool:
        """Java ``isOptional()``; same as :attr:`optional`."""
        return self._optional

    @property
    def default_value(self) -> Any:
        """The default value, or None."""
        return self._default

    @property
    def name(self) -> str | None:
        """The schema name (logical types use it), or None."""
        return self._name

    @property
    def version(self) -> int | None:
        """The schema version, or None."""
        return self._version

    @property
    def doc(self) -> str | None:
        """The documentation string, or None."""
        return self._doc

    @property
    def parameters(self) -> dict[str, str] | None:
        """A copy of the schema parameters, or None when there are none."""
        return dict(self._parameters) if self._parameters is not None else None

    @property
    def fields(self) -> list[Field]:
        """The fields of a STRUCT schema, in order.

        Raises:
            DataError: The schema is not a STRUCT.
        """
        if self._fields is None:
            raise DataError("Cannot list fields on non-struct type")
        return list(self._fields)

    def field(self, name: str) -> Field | None:
        """The field called ``name``, or None.

        Raises:
            DataError: The schema is not a STRUCT.
        """
        if self._fields_by_name is None:
            raise DataError("Cannot look up fields on non-struct type")
        return self._fields_by_name.get(name)

    @property
    def key_schema(self) -> Schema | None:
        """The key schema of a MAP.

        Raises:
            DataError: The schema is not a MAP.
        """
        if self._type is not Type.MAP:
            raise DataError("Cannot look up key schema on non-map type")
        return self._key_schema

    @property
    def value_schema(self) -> Schema | None:
        """The element schema of an ARRAY or the value schema of a MAP.

        Raises:
            DataError: The schema is neither an ARRAY nor a MAP.
        """
        if self._type is not Type.MAP and self._type is not Type.ARRAY:
            raise DataError("Cannot look up value schema on non-array and non-map type")
        return self._value_schema

    def schema(self) -> Schema:
        """This schema (Java ``schema()``, which a builder answers by building)."""
        return self

    def validate_value(self, value: Any) -> None:
        """Check that ``value`` is valid for this schema (Java ``ConnectSchema.validateValue``).

        Raises:
            DataError: The value does not match; the message says what was wrong.
        """
        from kcfast.data.struct import validate_value

        validate_value(self, value)

    def _key(self) -> tuple[Any, ...]:
        params = frozenset(self._parameters.items()) if self._parameters is not None else None
        return (
            self._type,
            self._optional,
            self._name,
            self._version,
            self._doc,
            self._fields,
            self._key_schema,
            self._value_schema,
            params,
        )

    def __hash__(self) -> int:
        h = self._hash
        if h is None:
            h = self._hash = hash(self._key())
        return h

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Schema):
            return NotImplemented
        if hash(self) != hash(other):
            return False
        return self._key() == other._key() and _deep_equal(self._default, other._default)

    def __repr__(self) -> str:
        if self._name is not None:
            return f"Schema{{{self._name}:{self._type.name}}}"
        return f"Schema{{{self._type.name}}}"


def _deep_equal(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    return bool(a == b)


for _t in (Type.INT8, Type.INT16, Type.INT32, Type.INT64, Type.FLOAT32, Type.FLOAT64, Type.BOOLEAN, Type.STRING,
           Type.BYTES):
    setattr(Schema, f"{_t.name}_SCHEMA", Schema(_t))
    setattr(Schema, f"OPTIONAL_{_t.name}_SCHEMA", Schema(_t, optional=True))
del _t


def as_schema(schema: Schema | SchemaBuilder | None) -> Schema | None:
    """Return ``schema`` built if it is a :class:`SchemaBuilder`, unchanged otherwise."""
    if isinstance(schema, SchemaBuilder):
        return schema.build()
    return schema


_UNSET: Any = object()


class SchemaBuilder:
    """Fluent construction of a :class:`Schema` (Java ``SchemaBuilder``).

    Example::

        schema = (SchemaBuilder.struct().name("person")
                  .field("name", Schema.STRING_SCHEMA)
                  .field("age", SchemaBuilder.int32().optional().default_value(0).build())
                  .build())

    Each property can be set once (setting it again to a different value raises ``SchemaBuilderError``,
    as in Java); a default value is validated against the schema being built.
    """

    __slots__ = (
        "_default",
        "_doc",
        "_fields",
        "_key_schema",
        "_name",
        "_optional",
        "_parameters",
        "_type",
        "_value_schema",
        "_version",
    )

    def __init__(self, type: Type) -> None:
        if type is None:
            raise SchemaBuilderError("type cannot be null")
        if not isinstance(type, Type):
            raise SchemaBuilderError(f"type must be a Schema.Type, not {type!r}")
        self._type = type
        self._optional: bool | None = None
        self._default: Any = None
        self._name: str | None = None
        self._version: int | None = None
        self._doc: str | None = None
        self._parameters: dict[str, str] | None = None
        self._fields: dict[str, Field] | None = {} if type is Type.STRUCT else None
        self._key_schema: Schema | None = None
        self._value_schema: Schema | None = None

    # -- factories ---------------------------------------------------------------------------------------------

    @staticmethod
    def type(schema_type: Type) -> SchemaBuilder:
        """A builder for ``schema_type``."""
        return SchemaBuilder(schema_type)

    @staticmethod
    def int8() -> SchemaBuilder:
        """A builder for an INT8 schema."""
        return SchemaBuilder(Type.INT8)

    @staticmethod
    def int16() -> SchemaBuilder:
        """A builder for an INT16 schema."""
        return SchemaBuilder(Type.INT16)

    @staticmethod
    def int32() -> SchemaBuilder:
        """A builder for an INT32 schema."""
        return SchemaBuilder(Type.INT32)

    @staticmethod
    def int64() -> SchemaBuilder:
        """A builder for an INT64 schema."""
        return SchemaBuilder(Type.INT64)

    @staticmethod
    def float32() -> SchemaBuilder:
        """A builder for a FLOAT32 schema."""
        return SchemaBuilder(Type.FLOAT32)

    @staticmethod
    def float64() -> SchemaBuilder:
        """A builder for a FLOAT64 schema."""
        return SchemaBuilder(Type.FLOAT64)

    @staticmethod
    def bool() -> SchemaBuilder:
        """A builder for a BOOLEAN schema."""
        return SchemaBuilder(Type.BOOLEAN)

    @staticmethod
    def string() -> SchemaBuilder:
        """A builder for a STRING schema."""
        return SchemaBuilder(Type.STRING)

    @staticmethod
    def bytes() -> SchemaBuilder:
        """A builder for a BYTES schema."""
        return SchemaBuilder(Type.BYTES)

    @staticmethod
    def struct() -> SchemaBuilder:
        """A builder for a STRUCT schema; add fields with :meth:`field`."""
        return SchemaBuilder(Type.STRUCT)

    @staticmethod
    def array(value_schema: Schema | SchemaBuilder) -> SchemaBuilder:
        """A builder for an ARRAY of ``value_schema``."""
        if value_schema is None:
            raise SchemaBuilderError("valueSchema cannot be null.")
        builder = SchemaBuilder(Type.ARRAY)
        builder._value_schema = as_schema(value_schema)
        return builder

    @staticmethod
    def map(key_schema: Schema | SchemaBuilder, value_schema: Schema | SchemaBuilder) -> SchemaBuilder:
        """A builder for a MAP from ``key_schema`` to ``value_schema``."""
        if key_schema is None:
            raise SchemaBuilderError("keySchema cannot be null.")
        if value_schema is None:
            raise SchemaBuilderError("valueSchema cannot be null.")
        builder = SchemaBuilder(Type.MAP)
        builder._key_schema = as_schema(key_schema)
        builder._value_schema = as_schema(value_schema)
        return builder

    # -- properties --------------------------------------------------------------------------------------------

    @staticmethod
    def _check_can_set(prop: str, current: Any, new: Any) -> None:
        if current is not None and not (current is new or (type(current) is type(new) and current == new)):
            raise SchemaBuilderError(f"Invalid SchemaBuilder call: {prop} has already been set.")

    def optional(self) -> SchemaBuilder:
        """Make the schema optional (null allowed)."""
        self._check_can_set("optional", self._optional, True)
        self._optional = True
        return self

    def required(self) -> SchemaBuilder:
        """Make the schema required (the default)."""
        self._check_can_set("optional", self._optional, False)
        self._optional = False
        return self

    def default_value(self, value: Any) -> SchemaBuilder:
        """Set the default value; it must be valid for the schema being built.

        Raises:
            SchemaBuilderError: The default was already set, or the value is not valid for the schema.
        """
        self._check_can_set("default", self._default, value)
        from kcfast.data.struct import validate_value

        try:
            validate_value(self._build(with_default=False), value)
        except DataError as exc:
            raise SchemaBuilderError(f"Invalid default value: {exc}") from exc
        self._default = value
        return self

    def name(self, name: str) -> SchemaBuilder:
        """Set the schema name."""
        self._check_can_set("name", self._name, name)
        self._name = name
        return self

    def version(self, version: int) -> SchemaBuilder:
        """Set the schema version."""
        self._check_can_set("version", self._version, version)
        self._version = version
        return self

    def doc(self, doc: str) -> SchemaBuilder:
        """Set the documentation string."""
        self._check_can_set("doc", self._doc, doc)
        self._doc = doc
        return self

    def parameter(self, name: str, value: str) -> SchemaBuilder:
        """Add one schema parameter (insertion order is kept)."""
        if self._parameters is None:
            self._parameters = {}
        self._parameters[name] = value
        return self

    def parameters(self, params: Mapping[str, str]) -> SchemaBuilder:
        """Add several schema parameters; an empty mapping changes nothing."""
        if not params:
            return self
        if self._parameters is None:
            self._parameters = {}
        self._parameters.update(params)
        return self

    def field(self, name: str, schema: Schema | SchemaBuilder) -> SchemaBuilder:
        """Append a field to a STRUCT schema.

        Raises:
            SchemaBuilderError: Not a STRUCT, an empty name, a missing schema, or a duplicate field name.
        """
        if self._type is not Type.STRUCT or self._fields is None:
            raise SchemaBuilderError(f"Cannot create fields on type {self._type}")
        if not name:
            raise SchemaBuilderError("fieldName cannot be null.")
        if schema is None:
            raise SchemaBuilderError(f"fieldSchema for field {name} cannot be null.")
        if name in self._fields:
            raise SchemaBuilderError(f"Cannot create field because of field name duplication {name}")
        built = as_schema(schema)
        if not isinstance(built, Schema):
            raise SchemaBuilderError(f"fieldSchema for field {name} must be a Schema, not {type(schema).__name__}")
        self._fields[name] = Field(name, len(self._fields), built)
        return self

    # -- result ------------------------------------------------------------------------------------------------

    def _build(self, with_default: builtins.bool) -> Schema:
        return Schema(
            self._type,
            bool(self._optional),
            self._default if with_default else None,
            self._name,
            self._version,
            self._doc,
            self._parameters,
            self._fields.values() if self._fields is not None else None,
            self._key_schema,
            self._value_schema,
        )

    def build(self) -> Schema:
        """The immutable :class:`Schema` with the properties set so far."""
        return self._build(with_default=True)

    def schema(self) -> Schema:
        """Same as :meth:`build` (Java ``schema()``)."""
        return self._build(with_default=True)

    def __repr__(self) -> str:
        return f"SchemaBuilder{{{self._type.name}}}"


class SchemaAndValue:
    """A schema and a value together (Java ``SchemaAndValue``); ``SchemaAndValue.NULL`` is (None, None)."""

    __slots__ = ("_schema", "_value")

    NULL: ClassVar[SchemaAndValue]

    def __init__(self, schema: Schema | None, value: Any) -> None:
        self._schema = schema
        self._value = value

    @property
    def schema(self) -> Schema | None:
        """The schema, or None."""
        return self._schema

    @property
    def value(self) -> Any:
        """The value, or None."""
        return self._value

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, SchemaAndValue):
            return NotImplemented
        return self._schema == other._schema and _deep_equal(self._value, other._value)

    def __hash__(self) -> int:
        return hash((self._schema, hash_value(self._value)))

    def __repr__(self) -> str:
        return f"SchemaAndValue{{schema={self._schema}, value={self._value!r}}}"


SchemaAndValue.NULL = SchemaAndValue(None, None)
