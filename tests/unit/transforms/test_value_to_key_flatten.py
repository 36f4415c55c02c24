"""ValueToKey, Flatten and SetSchemaMetadata: golden records and Kafka's failure cases."""

from __future__ import annotations

import decimal

import pytest
from transform_helpers import configured

from kcfast.data import Schema, SchemaBuilder, Struct
from kcfast.errors import ConfigError, DataError
from kcfast.transforms.flatten import FlattenKey, FlattenValue
from kcfast.transforms.set_schema_metadata import SetSchemaMetadataKey, SetSchemaMetadataValue
from kcfast.transforms.value_to_key import ValueToKey

# -- ValueToKey ---------------------------------------------------------------------------------------------------

ABC = (
    SchemaBuilder.struct()
    .field("a", Schema.INT32_SCHEMA).field("b", Schema.INT32_SCHEMA).field("c", Schema.INT32_SCHEMA).build()
)


def test_value_to_key_with_schema(sink) -> None:
    value = Struct(ABC).put("a", 1).put("b", 2).put("c", 3)
    out = configured(ValueToKey, {"fields": "a,b"}).apply(sink(ABC, value))
    key_schema = SchemaBuilder.struct().field("a", Schema.INT32_SCHEMA).field("b", Schema.INT32_SCHEMA).build()
    assert out.key_schema == key_schema
    assert out.key == Struct(key_schema).put("a", 1).put("b", 2)
    assert (out.value_schema, out.value) == (ABC, value)


def test_value_to_key_schemaless(sink) -> None:
    out = configured(ValueToKey, {"fields": "a,b,missing"}).apply(sink(None, {"a": 1, "b": 2, "c": 3}))
    assert (out.key_schema, out.key) == (None, {"a": 1, "b": 2, "missing": None})


def test_value_to_key_errors(sink) -> None:
    with pytest.raises(DataError, match="^Field does not exist: nope$"):
        configured(ValueToKey, {"fields": "a,nope"}).apply(sink(ABC, Struct(ABC).put("a", 1).put("b", 2).put("c", 3)))
    with pytest.raises(DataError, match=r"^Only Map objects supported in absence of schema for \[copying fields from "
                                        r"value to key\], found: null$"):
        configured(ValueToKey, {"fields": "a"}).apply(sink(None, None))
    with pytest.raises(ConfigError, match="^Invalid value \\[\\] for configuration fields: Empty list$"):
        configured(ValueToKey, {"fields": ""})


# -- Flatten ------------------------------------------------------------------------------------------------------

SUPPORTED = (
    SchemaBuilder.struct()
    .field("int8", Schema.INT8_SCHEMA).field("string", Schema.STRING_SCHEMA)
    .field("bytes", Schema.BYTES_SCHEMA).field("array", SchemaBuilder.array(Schema.INT32_SCHEMA).build())
    .build()
)
NESTED = SchemaBuilder.struct().field("B", SUPPORTED).build()
TWO_LEVELS = SchemaBuilder.struct().name("top").field("A", NESTED).field("x", Schema.OPTIONAL_FLOAT64_SCHEMA).build()


def test_flatten_nested_struct(sink) -> None:
    supported = Struct(SUPPORTED).put("int8", 8).put("string", "s").put("bytes", b"\x01").put("array", [1, 2])
    value = Struct(TWO_LEVELS).put("A", Struct(NESTED).put("B", supported)).put("x", 1.5)
    out = configured(FlattenValue).apply(sink(TWO_LEVELS, value))
    expected = (
        SchemaBuilder.struct().name("top")
        .field("A.B.int8", Schema.INT8_SCHEMA).field("A.B.string", Schema.STRING_SCHEMA)
        .field("A.B.bytes", Schema.BYTES_SCHEMA).field("A.B.array", SchemaBuilder.array(Schema.INT32_SCHEMA).build())
        .field("x", Schema.OPTIONAL_FLOAT64_SCHEMA)
        .build()
    )
    assert out.value_schema == expected
    assert out.value == (Struct(expected).put("A.B.int8", 8).put("A.B.string", "s").put("A.B.bytes", b"\x01")
                         .put("A.B.array", [1, 2]).put("x", 1.5))


def test_flatten_optional_parent_makes_children_optional_and_passes_defaults(sink) -> None:
    inner = SchemaBuilder.struct().field("req", Schema.INT32_SCHEMA).field(
        "dflt", SchemaBuilder.string().default_value("d").build()).build()
    outer = SchemaBuilder.struct().field("opt", SchemaBuilder.struct().field("req", Schema.INT32_SCHEMA).field(
        "dflt", SchemaBuilder.string().default_value("d").build()).optional().build()).field("in", inner).build()
    value = Struct(outer).put("in", Struct(inner).put("req", 1))
    out = configured(FlattenKey, {"delimiter": "#"}).apply(sink(None, None, outer, value))
    fields = {f.name: f.schema for f in out.key_schema.fields}
    assert fields["opt#req"] == Schema.OPTIONAL_INT32_SCHEMA
    assert fields["opt#dflt"] == SchemaBuilder.string().optional().default_value("d").build()
    assert fields["in#req"] == Schema.INT32_SCHEMA
    assert fields["in#dflt"] == SchemaBuilder.string().default_value("d").build()
    assert out.key.get_without_default("opt#req") is None
    assert (out.key.get("in#req"), out.key.get_without_default("in#dflt")) == (1, "d")


def test_flatten_schemaless(sink) -> None:
    value = {"A": {"B": {"int": 1, "str": "s", "list": [1], "none": None}}, "top": True}
    out = configured(FlattenValue, {"delimiter": "_"}).apply(sink(None, value))
    assert out.value == {"A_B_int": 1, "A_B_str": "s", "A_B_list": [1], "A_B_none": None, "top": True}


def test_flatten_unsupported(sink) -> None:
    map_schema = SchemaBuilder.struct().field("m", SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.STRING_SCHEMA)
                                               .build()).build()
    with pytest.raises(DataError, match=r"^Flatten transformation does not support MAP for record with schemas "
                                        r"\(for field m\)\.$"):
        configured(FlattenValue).apply(sink(map_schema, Struct(map_schema).put("m", {})))
    with pytest.raises(DataError, match=r"^Flatten transformation was passed a value of type class java\.math\."
                                        r"BigDecimal which is not supported by Connect's data API$"):
        configured(FlattenValue).apply(sink(None, {"d": decimal.Decimal(1)}))
    with pytest.raises(DataError, match=r"^Flatten transformation does not support class org\.apache\.kafka\."
                                        r"connect\.data\.Struct for record without schemas \(for field s\)\.$"):
        configured(FlattenValue).apply(sink(None, {"s": Struct(ABC)}))
    with pytest.raises(DataError, match=r"^Only Struct objects supported for \[flattening\], found: java\.lang\."
                                        r"Long$"):
        configured(FlattenValue).apply(sink(ABC, 42))
    tombstone = sink(ABC, None)
    assert configured(FlattenValue).apply(tombstone) is tombstone


# -- SetSchemaMetadata --------------------------------------------------------------------------------------------


def test_set_name_and_version_moves_struct_to_new_schema(sink) -> None:
    schema = SchemaBuilder.struct().name("orig").field("f", SchemaBuilder.string().optional().default_value(
        "d").build()).build()
    xform = configured(SetSchemaMetadataValue, {"schema.name": "foo", "schema.version": "42"})
    out = xform.apply(sink(schema, Struct(schema)))
    assert (out.value_schema.name, out.value_schema.version) == ("foo", 42)
    assert out.value.schema is out.value_schema
    assert out.value.get_without_default("f") == "d"
    raw = configured(SetSchemaMetadataValue, {"schema.name": "foo", "replace.null.with.default": "false"})
    assert raw.apply(sink(schema, Struct(schema))).value.get_without_default("f") is None


def test_set_only_version_keeps_name(sink) -> None:
    schema = SchemaBuilder.struct().name("orig").version(1).build()
    out = configured(SetSchemaMetadataKey, {"schema.version": "2"}).apply(sink(None, None, schema, Struct(schema)))
    assert (out.key_schema.name, out.key_schema.version) == ("orig", 2)


def test_set_schema_metadata_edge_cases(sink) -> None:
    xform = configured(SetSchemaMetadataValue, {"schema.name": "foo"})
    record = sink(None, None)
    assert xform.apply(record) is record
    with pytest.raises(DataError, match=r"^Schema required for \[updating schema metadata\]$"):
        xform.apply(sink(None, 42))
    # Kafka 3.9 lists the fields of the schema whatever its type, so a non-struct schema is rejected.
    with pytest.raises(DataError, match="^Cannot list fields on non-struct type$"):
        xform.apply(sink(Schema.INT32_SCHEMA, 42))
    with pytest.raises(ConfigError, match="^Neither schema name nor version configured$"):
        configured(SetSchemaMetadataValue, {})
