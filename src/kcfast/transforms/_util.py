"""Helpers shared by the built-in transformations: Kafka's ``Requirements``, ``SchemaUtil`` and the key/value split.

Error texts name Java classes (``Only Struct objects supported for [field insertion], found: java.lang.String``)
because users compare them with Kafka's; :func:`java_type_name` gives the Java class a Connect value would have.
"""

from __future__ import annotations

import abc
import datetime as _dt
import decimal as _decimal
from collections import OrderedDict
from typing import Any

from kcfast._version import KAFKA_VERSION
from kcfast.api import common as api_common
from kcfast.api.transforms import Transformation
from kcfast.api.validators import Validator, invalid_value
from kcfast.data import Schema, SchemaBuilder, Struct
from kcfast.data.schema import Field, Type
from kcfast.errors import DataError

REPLACE_NULL_WITH_DEFAULT_CONFIG = "replace.null.with.default"
REPLACE_NULL_WITH_DEFAULT_DOC = (
    "Whether to replace fields that have a default value and that are null to the default value. "
    "When set to true, the default value is used, otherwise null is used."
)


def java_type_name(value: Any) -> str:
    """The Java class name of the object Kafka Connect would hold for ``value`` (``null`` for None).

    Python ints are Connect's schemaless integers, which are ``java.lang.Long``.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        return "java.lang.Long"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "[B"
    if isinstance(value, (list, tuple)):
        return "java.util.ArrayList"
    if isinstance(value, dict):
        return "java.util.HashMap"
    if isinstance(value, Struct):
        return "org.apache.kafka.connect.data.Struct"
    if isinstance(value, _decimal.Decimal):
        return "java.math.BigDecimal"
    if isinstance(value, (_dt.date, _dt.time)):
        return "java.util.Date"
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def java_class(value: Any) -> str:
    """Java's ``value.getClass().toString()``: ``class java.lang.String`` (``class [B`` for bytes)."""
    return "class " + java_type_name(value)


def schemaless_type(value: Any) -> Type | None:
    """Java ``ConnectSchema.schemaType(value.getClass())``: the Connect type of a schemaless value, or None."""
    if isinstance(value, bool):
        return Type.BOOLEAN
    if isinstance(value, int):
        return Type.INT64
    if isinstance(value, float):
        return Type.FLOAT64
    if isinstance(value, str):
        return Type.STRING
    if isinstance(value, (bytes, bytearray, memoryview)):
        return Type.BYTES
    if isinstance(value, (list, tuple)):
        return Type.ARRAY
    if isinstance(value, dict):
        return Type.MAP
    if isinstance(value, Struct):
        return Type.STRUCT
    return None


# -- Requirements -------------------------------------------------------------------------------------------------


def require_schema(schema: Schema | None, purpose: str) -> Schema:
    """``schema``, or DataError ``Schema required for [purpose]``."""
    if schema is None:
        raise DataError(f"Schema required for [{purpose}]")
    return schema


def require_map(value: Any, purpose: str) -> dict[Any, Any]:
    """``value`` if it is a map (dict), else Kafka's DataError."""
    if not isinstance(value, dict):
        raise DataError(
            f"Only Map objects supported in absence of schema for [{purpose}], found: {java_type_name(value)}"
        )
    return value


def require_map_or_none(value: Any, purpose: str) -> dict[Any, Any] | None:
    """Like :func:`require_map`, but None passes."""
    return None if value is None else require_map(value, purpose)


def require_struct(value: Any, purpose: str) -> Struct:
    """``value`` if it is a Struct, else Kafka's DataError."""
    if not isinstance(value, Struct):
        raise DataError(f"Only Struct objects supported for [{purpose}], found: {java_type_name(value)}")
    return value


def require_struct_or_none(value: Any, purpose: str) -> Struct | None:
    """Like :func:`require_struct`, but None passes."""
    return None if value is None else require_struct(value, purpose)


def require_sink_record(record: Any, purpose: str) -> Any:
    """``record`` if it is a sink record (it has a Kafka offset), else Kafka's DataError."""
    # Duck-typed: records of the compiled core and of its pure-Python twin are both accepted.
    if record is None or not hasattr(record, "kafka_offset"):
        name = "null" if record is None else _record_class_name(record)
        raise DataError(f"Only SinkRecord supported for [{purpose}], found: {name}")
    return record


def _record_class_name(record: Any) -> str:
    name = type(record).__name__
    if name in ("SourceRecord", "SinkRecord"):
        return f"org.apache.kafka.connect.{'source' if name == 'SourceRecord' else 'sink'}.{name}"
    return f"{type(record).__module__}.{type(record).__qualname__}"


def field_value(struct: Struct, field: Field | str, replace_null_with_default: bool) -> Any:
    """A struct field's value, with its default applied when ``replace_null_with_default`` (Kafka's rule)."""
    if replace_null_with_default:
        return struct.get(field)
    return struct.get_without_default(field.name if isinstance(field, Field) else field)


# -- SchemaUtil ---------------------------------------------------------------------------------------------------


def copy_schema_basics(source: Schema, builder: SchemaBuilder | None = None) -> SchemaBuilder:
    """Copy name, version, doc and parameters of ``source`` onto ``builder`` (Java ``SchemaUtil.copySchemaBasics``).

    Without ``builder``, a new builder of ``source``'s type is made (an ARRAY one with its element schema). As in
    Kafka, optionality and the default value are not copied.
    """
    if builder is None:
        if source.type is Type.ARRAY:
            assert source.value_schema is not None
            builder = SchemaBuilder.array(source.value_schema)
        else:
            builder = SchemaBuilder(source.type)
    if source.name is not None:
        builder.name(source.name)
    if source.version is not None:
        builder.version(source.version)
    if source.doc is not None:
        builder.doc(source.doc)
    params = source.parameters
    if params:
        builder.parameters(params)
    return builder


class SchemaCache:
    """The 16-entry LRU cache of derived schemas Kafka's transformations keep (keyed by schema equality).

    Not thread-safe; a transformation instance is used from one task thread.
    """

    __slots__ = ("_entries", "_size")

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._entries: OrderedDict[Schema, Any] = OrderedDict()

    def get(self, schema: Schema) -> Any:
        """The cached value for ``schema``, or None."""
        value = self._entries.get(schema)
        if value is not None:
            self._entries.move_to_end(schema)
        return value

    def put(self, schema: Schema, value: Any) -> None:
        """Remember ``value`` for ``schema``, evicting the least recently used entry when full."""
        self._entries[schema] = value
        self._entries.move_to_end(schema)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


# -- validators ---------------------------------------------------------------------------------------------------


class NonEmptyListValidator(Validator):
    """A LIST value must have at least one element (Kafka's ``NonEmptyListValidator``)."""

    def ensure_valid(self, name: str, value: Any) -> None:
        """Reject None and the empty list: ``Invalid value [] for configuration k: Empty list``."""
        if not value:
            raise invalid_value(name, value, "Empty list")

    def __str__(self) -> str:
        return "non-empty list"


class JavaRegexValidator(Validator):
    """A STRING value must be a valid Java regular expression (Kafka's transforms ``RegexValidator``)."""

    def ensure_valid(self, name: str, value: Any) -> None:
        """Reject patterns that do not compile: ``Invalid value V for configuration k: Invalid regex: ...``."""
        from kcfast.transforms._regex import compile_java_regex

        try:
            compile_java_regex(value)
        except Exception as exc:  # noqa: BLE001 - any failure is an invalid regex, as in Kafka
            raise invalid_value(name, value, f"Invalid regex: {exc}") from exc

    def __str__(self) -> str:
        return "valid regex"


# -- the key/value split ------------------------------------------------------------------------------------------


class Versioned(api_common.Versioned):
    """``version()`` of the built-ins: the Kafka release kcfast matches."""

    def version(self) -> str:
        """Kafka's version, as Kafka's own transformations report it."""
        return KAFKA_VERSION


class KeyOrValueTransformation(Versioned, Transformation[Any]):
    """A transformation with a ``$Key`` and a ``$Value`` variant: they differ in which part they operate on."""

    @abc.abstractmethod
    def _operating_schema(self, record: Any) -> Schema | None:
        """The schema of the part operated on."""

    @abc.abstractmethod
    def _operating_value(self, record: Any) -> Any:
        """The part operated on."""

    @abc.abstractmethod
    def _new_record(self, record: Any, schema: Schema | None, value: Any, headers: Any = None) -> Any:
        """A new record with that part replaced (headers copied unless given)."""


class KeySide:
    """Mixin of the ``$Key`` variants: operate on the record key."""

    def _operating_schema(self, record: Any) -> Schema | None:
        return record.key_schema  # type: ignore[no-any-return]

    def _operating_value(self, record: Any) -> Any:
        return record.key

    def _new_record(self, record: Any, schema: Schema | None, value: Any, headers: Any = None) -> Any:
        return record.new_record(record.topic, record.kafka_partition, schema, value, record.value_schema,
                                 record.value, record.timestamp, headers)


class ValueSide:
    """Mixin of the ``$Value`` variants: operate on the record value."""

    def _operating_schema(self, record: Any) -> Schema | None:
        return record.value_schema  # type: ignore[no-any-return]

    def _operating_value(self, record: Any) -> Any:
        return record.value

    def _new_record(self, record: Any, schema: Schema | None, value: Any, headers: Any = None) -> Any:
        return record.new_record(record.topic, record.kafka_partition, record.key_schema, record.key, schema,
                                 value, record.timestamp, headers)


def with_topic(record: Any, topic: str) -> Any:
    """A copy of ``record`` routed to ``topic``."""
    return record.new_record(topic, record.kafka_partition, record.key_schema, record.key, record.value_schema,
                             record.value, record.timestamp)


def with_headers(record: Any, headers: Any) -> Any:
    """A copy of ``record`` with ``headers`` (a ``ConnectHeaders``)."""
    return record.new_record(record.topic, record.kafka_partition, record.key_schema, record.key,
                             record.value_schema, record.value, record.timestamp, headers)


__all__ = [
    "REPLACE_NULL_WITH_DEFAULT_CONFIG",
    "REPLACE_NULL_WITH_DEFAULT_DOC",
    "JavaRegexValidator",
    "KeyOrValueTransformation",
    "KeySide",
    "NonEmptyListValidator",
    "SchemaCache",
    "ValueSide",
    "Versioned",
    "copy_schema_basics",
    "field_value",
    "java_class",
    "java_split",
    "java_type_name",
    "require_map",
    "require_map_or_none",
    "require_schema",
    "require_sink_record",
    "require_struct",
    "require_struct_or_none",
    "schemaless_type",
    "with_headers",
    "with_topic",
]


def java_split(text: str, separator: str) -> list[str]:
    """Java ``String.split`` on a literal one-character separator: trailing empty strings are dropped."""
    if separator not in text:
        return [text]
    parts = text.split(separator)
    while parts and parts[-1] == "":
        parts.pop()
    return parts
