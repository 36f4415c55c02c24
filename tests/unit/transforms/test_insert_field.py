"""InsertField$Key / $Value: golden records with and without schemas, and Kafka's error texts."""

from __future__ import annotations

import datetime as dt

import pytest
from transform_helpers import configured

from kcfast._version import KAFKA_VERSION
from kcfast.data import Schema, SchemaBuilder, Struct, Timestamp
from kcfast.errors import ConfigError, DataError
from kcfast.transforms.insert_field import InsertField, InsertFieldKey, InsertFieldValue

ALL_FIELDS = {
    "topic.field": "topic_field!",
    "partition.field": "partition_field",
    "offset.field": "offset_field!",
    "timestamp.field": "timestamp_field?",
    "static.field": "instance_id",
    "static.value": "my-instance-id",
}

SIMPLE = SchemaBuilder.struct().name("name").version(1).doc("doc").field("magic", Schema.OPTIONAL_INT64_SCHEMA).build()


def test_struct_gets_every_configured_field_with_kafkas_schemas(sink) -> None:
    xform = configured(InsertFieldValue, ALL_FIELDS)
    record = sink(SIMPLE, Struct(SIMPLE).put("magic", 42), topic="test", partition=0, offset=42, timestamp=1_000)

    out = xform.apply(record)

    expected_schema = (
        SchemaBuilder.struct().name("name").version(1).doc("doc")
        .field("magic", Schema.OPTIONAL_INT64_SCHEMA)
        .field("topic_field", Schema.STRING_SCHEMA)
        .field("partition_field", Schema.OPTIONAL_INT32_SCHEMA)
        .field("offset_field", Schema.INT64_SCHEMA)
        .field("timestamp_field", Timestamp.builder().optional().build())
        .field("instance_id", Schema.OPTIONAL_STRING_SCHEMA)
        .build()
    )
    assert out.value_schema == expected_schema
    assert out.value == (
        Struct(expected_schema).put("magic", 42).put("topic_field", "test").put("partition_field", 0)
        .put("offset_field", 42).put("timestamp_field", dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.UTC))
        .put("instance_id", "my-instance-id")
    )
    assert (out.topic, out.kafka_partition, out.kafka_offset, out.timestamp) == ("test", 0, 42, 1_000)
    assert out.key is None and out.key_schema is None


def test_schema_is_derived_once_per_input_schema(sink) -> None:
    xform = configured(InsertFieldValue, {"topic.field": "t"})
    first = xform.apply(sink(SIMPLE, Struct(SIMPLE).put("magic", 1)))
    second = xform.apply(sink(SIMPLE, Struct(SIMPLE).put("magic", 2)))
    assert first.value_schema is second.value_schema
    assert second.value.get("magic") == 2


def test_schemaless_map_gets_raw_values(sink) -> None:
    xform = configured(InsertFieldValue, ALL_FIELDS)
    out = xform.apply(sink(None, {"magic": 42}, timestamp=1_234))
    assert out.value_schema is None
    assert out.value == {
        "magic": 42,
        "topic_field": "test",
        "partition_field": 0,
        "offset_field": 42,
        "timestamp_field": 1_234,
        "instance_id": "my-instance-id",
    }


def test_missing_partition_and_timestamp_are_skipped(source) -> None:
    xform = configured(InsertFieldValue, {"partition.field": "p", "timestamp.field": "ts", "topic.field": "t"})
    schemaless = xform.apply(source(None, {"a": 1}, partition=None, timestamp=None))
    assert schemaless.value == {"a": 1, "t": "test"}
    with_schema = xform.apply(source(SIMPLE, Struct(SIMPLE), partition=None, timestamp=None))
    assert with_schema.value.get("p") is None and with_schema.value.get("ts") is None
    assert with_schema.value.get("t") == "test"


@pytest.mark.parametrize("schema", [None, SIMPLE])
def test_tombstone_passes_through(sink, schema) -> None:
    record = sink(schema, None)
    assert configured(InsertFieldValue, {"topic.field": "t"}).apply(record) is record


def test_key_variant_inserts_into_the_key(sink) -> None:
    xform = configured(InsertFieldKey, {"topic.field": "topic"})
    out = xform.apply(sink(Schema.STRING_SCHEMA, "v", key_schema=None, key={"id": 7}))
    assert out.key == {"id": 7, "topic": "test"}
    assert (out.value_schema, out.value) == (Schema.STRING_SCHEMA, "v")


def test_offset_field_needs_a_sink_record(source) -> None:
    xform = configured(InsertFieldValue, {"offset.field": "o"})
    with pytest.raises(DataError, match=r"^Only SinkRecord supported for \[field insertion\], found: "
                                        r"org\.apache\.kafka\.connect\.source\.SourceRecord$"):
        xform.apply(source(None, {}))


def test_schemaful_value_must_be_a_struct(sink) -> None:
    xform = configured(InsertFieldValue, {"topic.field": "t"})
    with pytest.raises(DataError, match=r"^Only Struct objects supported for \[field insertion\], found: "
                                        r"java\.lang\.Long$"):
        xform.apply(sink(Schema.INT32_SCHEMA, 42))


def test_schemaless_value_must_be_a_map(sink) -> None:
    xform = configured(InsertFieldValue, {"topic.field": "t"})
    with pytest.raises(DataError, match=r"^Only Map objects supported in absence of schema for \[field insertion\], "
                                        r"found: java\.lang\.String$"):
        xform.apply(sink(None, "a line"))


def test_required_field_rejects_missing_metadata(source) -> None:
    xform = configured(InsertFieldValue, {"topic.field": "t!", "partition.field": "p!"})
    out = xform.apply(source(SIMPLE, Struct(SIMPLE), partition=None))
    # As in Kafka the Struct is not validated as a whole: the required partition field is just left unset.
    assert out.value.get("t") == "test" and out.value.get("p") is None
    assert out.value_schema.field("p").schema == Schema.INT32_SCHEMA


def test_replace_null_with_default(sink) -> None:
    schema = SchemaBuilder.struct().field("f", SchemaBuilder.int32().optional().default_value(5).build()).build()
    value = Struct(schema)
    assert configured(InsertFieldValue, {"topic.field": "t"}).apply(sink(schema, value)).value.get_without_default(
        "f") == 5
    keep_null = configured(InsertFieldValue, {"topic.field": "t", "replace.null.with.default": "false"})
    assert keep_null.apply(sink(schema, value)).value.get_without_default("f") is None


def test_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="^No field insertion configured$"):
        configured(InsertFieldValue, {})
    with pytest.raises(ConfigError, match="^Invalid value null for configuration static.value: "
                                          "No value specified for static field: "):
        configured(InsertFieldValue, {"static.field": "s"})


def test_plugin_surface() -> None:
    xform = InsertField.Value()
    assert isinstance(xform, InsertFieldValue) and InsertField.Key is InsertFieldKey
    assert xform.version() == KAFKA_VERSION
    assert list(xform.config().config_keys()) == [
        "topic.field", "partition.field", "offset.field", "timestamp.field", "static.field", "static.value",
        "replace.null.with.default",
    ]
    xform.close()
