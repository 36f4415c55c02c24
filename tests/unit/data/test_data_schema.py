"""Schema, SchemaBuilder, Field and SchemaAndValue behave like Kafka Connect's."""

from __future__ import annotations

import pytest

from kcfast.data import Field, Schema, SchemaAndValue, SchemaBuilder, Struct, Type
from kcfast.errors import DataError, SchemaBuilderError


def test_type_enum_names_and_primitiveness() -> None:
    assert [t.name for t in Type] == [
        "INT8", "INT16", "INT32", "INT64", "FLOAT32", "FLOAT64", "BOOLEAN", "STRING", "BYTES", "ARRAY", "MAP",
        "STRUCT",
    ]
    assert [t for t in Type if t.is_primitive] == list(Type)[:9]
    assert str(Type.INT32) == "INT32"
    assert Type.FLOAT32.value == "float32"
    assert Schema.Type is Type


@pytest.mark.parametrize("name", ["INT8", "INT16", "INT32", "INT64", "FLOAT32", "FLOAT64", "BOOLEAN", "STRING",
                                  "BYTES"])
def test_constants_exist_required_and_optional(name: str) -> None:
    required = getattr(Schema, f"{name}_SCHEMA")
    optional = getattr(Schema, f"OPTIONAL_{name}_SCHEMA")
    assert required.type is Type[name] and not required.optional
    assert optional.type is Type[name] and optional.optional
    assert required != optional


def test_builder_builds_struct_with_fields_in_order() -> None:
    schema = (
        SchemaBuilder.struct().name("person").version(2).doc("a person")
        .field("name", Schema.STRING_SCHEMA)
        .field("age", SchemaBuilder.int32().optional().default_value(7).build())
        .build()
    )
    assert schema.type is Type.STRUCT
    assert (schema.name, schema.version, schema.doc) == ("person", 2, "a person")
    assert [(f.name, f.index) for f in schema.fields] == [("name", 0), ("age", 1)]
    age = schema.field("age")
    assert age is not None and age.schema.default_value == 7 and age.schema.optional
    assert schema.field("missing") is None


def test_field_accepts_a_builder() -> None:
    schema = SchemaBuilder.struct().field("tags", SchemaBuilder.array(Schema.STRING_SCHEMA)).build()
    field = schema.field("tags")
    assert field is not None
    assert field.schema == SchemaBuilder.array(Schema.STRING_SCHEMA).build()


def test_equality_and_hash_follow_all_properties() -> None:
    def make(**changes: object) -> Schema:
        builder = SchemaBuilder.struct().name(str(changes.get("name", "n"))).field("a", Schema.INT32_SCHEMA)
        if changes.get("optional"):
            builder.optional()
        if "param" in changes:
            builder.parameter("k", str(changes["param"]))
        return builder.build()

    assert make() == make() and hash(make()) == hash(make())
    assert make() != make(name="other")
    assert make() != make(optional=True)
    assert make(param="x") != make(param="y")
    assert len({make(), make(), make(name="m")}) == 2
    assert SchemaBuilder.int32().default_value(1).build() != SchemaBuilder.int32().default_value(2).build()


def test_parameters_keep_insertion_order_and_are_copied() -> None:
    schema = SchemaBuilder.string().parameter("b", "1").parameter("a", "2").build()
    params = schema.parameters
    assert params is not None and list(params) == ["b", "a"]
    params["c"] = "3"
    assert schema.parameters == {"b": "1", "a": "2"}
    assert SchemaBuilder.string().parameters({}).build().parameters is None


def test_schema_is_immutable() -> None:
    with pytest.raises(AttributeError):
        Schema.INT32_SCHEMA.optional = True  # type: ignore[misc]


def test_accessors_raise_on_wrong_type() -> None:
    with pytest.raises(DataError, match="Cannot list fields on non-struct type"):
        _ = Schema.INT32_SCHEMA.fields
    with pytest.raises(DataError, match="Cannot look up fields on non-struct type"):
        Schema.INT32_SCHEMA.field("x")
    with pytest.raises(DataError, match="Cannot look up key schema on non-map type"):
        _ = Schema.STRING_SCHEMA.key_schema
    with pytest.raises(DataError, match="Cannot look up value schema on non-array and non-map type"):
        _ = Schema.STRING_SCHEMA.value_schema
    array = SchemaBuilder.array(Schema.INT8_SCHEMA).build()
    assert array.value_schema == Schema.INT8_SCHEMA
    mapping = SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.INT64_SCHEMA).build()
    assert (mapping.key_schema, mapping.value_schema) == (Schema.STRING_SCHEMA, Schema.INT64_SCHEMA)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: SchemaBuilder.int32().name("a").name("b"), "name has already been set"),
        (lambda: SchemaBuilder.int32().version(1).version(2), "version has already been set"),
        (lambda: SchemaBuilder.int32().doc("a").doc("b"), "doc has already been set"),
        (lambda: SchemaBuilder.int32().optional().required(), "optional has already been set"),
        (lambda: SchemaBuilder.int32().default_value(1).default_value(2), "default has already been set"),
        (lambda: SchemaBuilder.int32().default_value("x"), "Invalid default value"),
        (lambda: SchemaBuilder.int8().default_value(1000), "Invalid default value"),
        (lambda: SchemaBuilder.int32().field("a", Schema.INT32_SCHEMA), "Cannot create fields on type INT32"),
        (lambda: SchemaBuilder.struct().field("", Schema.INT32_SCHEMA), "fieldName cannot be null"),
        (lambda: SchemaBuilder.struct().field("a", None),  # type: ignore[arg-type]
         "fieldSchema for field a cannot be null"),
        (lambda: SchemaBuilder.struct().field("a", Schema.INT32_SCHEMA).field("a", Schema.INT8_SCHEMA),
         "field name duplication a"),
        (lambda: SchemaBuilder.array(None),  # type: ignore[arg-type]
         "valueSchema cannot be null"),
        (lambda: SchemaBuilder.map(None, Schema.INT8_SCHEMA),  # type: ignore[arg-type]
         "keySchema cannot be null"),
        (lambda: SchemaBuilder(None), "type cannot be null"),  # type: ignore[arg-type]
    ],
)
def test_builder_errors(call: object, message: str) -> None:
    with pytest.raises(SchemaBuilderError, match=message):
        call()  # type: ignore[operator]


def test_setting_the_same_value_twice_is_allowed() -> None:
    schema = SchemaBuilder.int32().name("a").name("a").optional().optional().build()
    assert schema.name == "a" and schema.optional


def test_struct_default_is_validated_against_the_struct_schema() -> None:
    inner = SchemaBuilder.struct().field("x", Schema.INT32_SCHEMA).build()
    default = Struct(inner).put("x", 1)
    schema = SchemaBuilder.struct().field("x", Schema.INT32_SCHEMA).default_value(default).build()
    assert schema.default_value == default


def test_repr_is_javas_to_string() -> None:
    assert repr(Schema.INT32_SCHEMA) == "Schema{INT32}"
    assert repr(SchemaBuilder.struct().name("p").build()) == "Schema{p:STRUCT}"
    field = Field("a", 0, Schema.STRING_SCHEMA)
    assert repr(field) == "Field{name=a, index=0, schema=Schema{STRING}}"
    assert field == Field("a", 0, Schema.STRING_SCHEMA) and field != Field("a", 1, Schema.STRING_SCHEMA)


def test_schema_and_value() -> None:
    sv = SchemaAndValue(Schema.INT32_SCHEMA, 5)
    assert (sv.schema, sv.value) == (Schema.INT32_SCHEMA, 5)
    assert SchemaAndValue.NULL == SchemaAndValue(None, None)
    assert sv == SchemaAndValue(Schema.INT32_SCHEMA, 5) and sv != SchemaAndValue(Schema.INT64_SCHEMA, 5)
    assert SchemaAndValue(Schema.BOOLEAN_SCHEMA, True) != SchemaAndValue(Schema.BOOLEAN_SCHEMA, 1)
    assert hash(SchemaAndValue(None, [1, {"a": 2}])) == hash(SchemaAndValue(None, [1, {"a": 2}]))
