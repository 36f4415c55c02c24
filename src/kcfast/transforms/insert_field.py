"""``InsertField$Key`` / ``InsertField$Value``: add fields from the record's metadata or a static value.

With a schema the key or value must be a Struct; the new schema is the old one plus the inserted fields
(topic STRING, partition INT32, offset INT64, timestamp the logical Timestamp, static STRING; optional unless
the name ends with ``!``). Without a schema it must be a map, and the raw values are added (the timestamp as
epoch milliseconds). A null key or value passes through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kcfast.api.config import Config, ConfigDef, Importance, Type
from kcfast.api.validators import invalid_value
from kcfast.data import Schema, SchemaBuilder, Struct, Timestamp
from kcfast.data._java import from_epoch_millis
from kcfast.errors import ConfigError
from kcfast.transforms._util import (
    REPLACE_NULL_WITH_DEFAULT_CONFIG,
    REPLACE_NULL_WITH_DEFAULT_DOC,
    KeyOrValueTransformation,
    KeySide,
    SchemaCache,
    ValueSide,
    copy_schema_basics,
    field_value,
    require_map,
    require_sink_record,
    require_struct,
)

TOPIC_FIELD = "topic.field"
PARTITION_FIELD = "partition.field"
OFFSET_FIELD = "offset.field"
TIMESTAMP_FIELD = "timestamp.field"
STATIC_FIELD = "static.field"
STATIC_VALUE = "static.value"

_OPTIONALITY_DOC = (
    "Suffix with <code>!</code> to make this a required field, or <code>?</code> to keep it optional "
    "(the default)."
)

CONFIG_DEF = (
    ConfigDef()
    .define(TOPIC_FIELD, Type.STRING, None, None, Importance.MEDIUM, "Field name for Kafka topic. " + _OPTIONALITY_DOC)
    .define(PARTITION_FIELD, Type.STRING, None, None, Importance.MEDIUM,
            "Field name for Kafka partition. " + _OPTIONALITY_DOC)
    .define(OFFSET_FIELD, Type.STRING, None, None, Importance.MEDIUM,
            "Field name for Kafka offset - only applicable to sink connectors.<br/>" + _OPTIONALITY_DOC)
    .define(TIMESTAMP_FIELD, Type.STRING, None, None, Importance.MEDIUM,
            "Field name for record timestamp. " + _OPTIONALITY_DOC)
    .define(STATIC_FIELD, Type.STRING, None, None, Importance.MEDIUM,
            "Field name for static data field. " + _OPTIONALITY_DOC)
    .define(STATIC_VALUE, Type.STRING, None, None, Importance.MEDIUM, "Static field value, if field name configured.")
    .define(REPLACE_NULL_WITH_DEFAULT_CONFIG, Type.BOOLEAN, True, None, Importance.MEDIUM,
            REPLACE_NULL_WITH_DEFAULT_DOC)
)

PURPOSE = "field insertion"

#: The schema of an inserted timestamp field (unless marked required with ``!``).
OPTIONAL_TIMESTAMP_SCHEMA = Timestamp.builder().optional().build()


@dataclass(frozen=True)
class InsertionSpec:
    """A field to insert: its name and whether its schema is optional."""

    name: str
    optional: bool

    @staticmethod
    def parse(spec: str | None) -> InsertionSpec | None:
        """``name`` / ``name?`` (optional) / ``name!`` (required); None stays None."""
        if spec is None:
            return None
        if spec.endswith("?"):
            return InsertionSpec(spec[:-1], True)
        if spec.endswith("!"):
            return InsertionSpec(spec[:-1], False)
        return InsertionSpec(spec, True)


class InsertField(KeyOrValueTransformation):
    """Insert the topic, partition, offset, timestamp and/or a static value as fields (use ``Key`` or ``Value``)."""

    Key: type[InsertField]
    Value: type[InsertField]

    def __init__(self) -> None:
        self._topic: InsertionSpec | None = None
        self._partition: InsertionSpec | None = None
        self._offset: InsertionSpec | None = None
        self._timestamp: InsertionSpec | None = None
        self._static: InsertionSpec | None = None
        self._static_value: str | None = None
        self._replace_null_with_default = True
        self._cache = SchemaCache()

    def config(self) -> ConfigDef:
        """The InsertField keys."""
        return CONFIG_DEF

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Read the field names.

        Raises:
            ConfigError: no field configured (``No field insertion configured``), or ``static.field`` without
                ``static.value``.
        """
        config = Config(CONFIG_DEF, configs)
        self._topic = InsertionSpec.parse(config.get_string(TOPIC_FIELD))
        self._partition = InsertionSpec.parse(config.get_string(PARTITION_FIELD))
        self._offset = InsertionSpec.parse(config.get_string(OFFSET_FIELD))
        self._timestamp = InsertionSpec.parse(config.get_string(TIMESTAMP_FIELD))
        self._static = InsertionSpec.parse(config.get_string(STATIC_FIELD))
        self._static_value = config.get_string(STATIC_VALUE)
        self._replace_null_with_default = bool(config.get_boolean(REPLACE_NULL_WITH_DEFAULT_CONFIG))
        if not any((self._topic, self._partition, self._offset, self._timestamp, self._static)):
            raise ConfigError("No field insertion configured")
        if self._static is not None and self._static_value is None:
            raise invalid_value(STATIC_VALUE, None, f"No value specified for static field: {self._static}")
        self._cache = SchemaCache()

    def apply(self, record: Any) -> Any:
        """The record with the fields inserted (unchanged if the key/value is null).

        Raises:
            DataError: not a Struct (with schema) or map (without), or ``offset.field`` on a source record.
        """
        if self._operating_value(record) is None:
            return record
        if self._operating_schema(record) is None:
            return self._apply_schemaless(record)
        return self._apply_with_schema(record)

    def _apply_schemaless(self, record: Any) -> Any:
        updated = dict(require_map(self._operating_value(record), PURPOSE))
        if self._topic is not None:
            updated[self._topic.name] = record.topic
        if self._partition is not None and record.kafka_partition is not None:
            updated[self._partition.name] = record.kafka_partition
        if self._offset is not None:
            updated[self._offset.name] = require_sink_record(record, PURPOSE).kafka_offset
        if self._timestamp is not None and record.timestamp is not None:
            updated[self._timestamp.name] = record.timestamp
        if self._static is not None and self._static_value is not None:
            updated[self._static.name] = self._static_value
        return self._new_record(record, None, updated)

    def _apply_with_schema(self, record: Any) -> Any:
        value = require_struct(self._operating_value(record), PURPOSE)
        schema = self._cache.get(value.schema)
        if schema is None:
            schema = self._updated_schema(value.schema)
            self._cache.put(value.schema, schema)
        updated = Struct(schema)
        for field in value.schema.fields:
            updated.put(field.name, field_value(value, field, self._replace_null_with_default))
        if self._topic is not None:
            updated.put(self._topic.name, record.topic)
        if self._partition is not None and record.kafka_partition is not None:
            updated.put(self._partition.name, record.kafka_partition)
        if self._offset is not None:
            updated.put(self._offset.name, require_sink_record(record, PURPOSE).kafka_offset)
        if self._timestamp is not None and record.timestamp is not None:
            updated.put(self._timestamp.name, from_epoch_millis(record.timestamp))
        if self._static is not None and self._static_value is not None:
            updated.put(self._static.name, self._static_value)
        return self._new_record(record, schema, updated)

    def _updated_schema(self, schema: Schema) -> Schema:
        builder = copy_schema_basics(schema, SchemaBuilder.struct())
        for field in schema.fields:
            builder.field(field.name, field.schema)

        def add(spec: InsertionSpec | None, optional: Schema, required: Schema) -> None:
            if spec is not None:
                builder.field(spec.name, optional if spec.optional else required)

        add(self._topic, Schema.OPTIONAL_STRING_SCHEMA, Schema.STRING_SCHEMA)
        add(self._partition, Schema.OPTIONAL_INT32_SCHEMA, Schema.INT32_SCHEMA)
        add(self._offset, Schema.OPTIONAL_INT64_SCHEMA, Schema.INT64_SCHEMA)
        add(self._timestamp, OPTIONAL_TIMESTAMP_SCHEMA, Timestamp.SCHEMA)
        add(self._static, Schema.OPTIONAL_STRING_SCHEMA, Schema.STRING_SCHEMA)
        return builder.build()

    def close(self) -> None:
        """Drop the schema cache."""
        self._cache = SchemaCache()


class InsertFieldKey(KeySide, InsertField):
    """``InsertField$Key``: insert into the record key."""


class InsertFieldValue(ValueSide, InsertField):
    """``InsertField$Value``: insert into the record value."""


InsertField.Key = InsertFieldKey
InsertField.Value = InsertFieldValue

__all__ = ["CONFIG_DEF", "OPTIONAL_TIMESTAMP_SCHEMA", "InsertField", "InsertFieldKey", "InsertFieldValue",
           "InsertionSpec"]
