"""Struct: validated puts with Kafka's messages, defaults, typed getters, equality and Java's toString."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from kcfast.data import Date, Decimal, Schema, SchemaBuilder, Struct, Timestamp, validate_value
from kcfast.errors import DataError

PERSON = (
    SchemaBuilder.struct().name("person")
    .field("name", Schema.STRING_SCHEMA)
    .field("age", Schema.INT32_SCHEMA)
    .field("nick", Schema.OPTIONAL_STRING_SCHEMA)
    .field("score", SchemaBuilder.float64().optional().default_value(1.5).build())
    .build()
)


def test_put_is_chainable_and_get_applies_defaults() -> None:
    person = Struct(PERSON).put("name", "Ada").put("age", 36)
    assert person.get("name") == "Ada"
    assert person.get("score") == 1.5
    assert person.get_without_default("score") is None
    assert person.get("nick") is None
    person.validate()


def test_required_null_message_names_the_field() -> None:
    with pytest.raises(DataError) as info:
        Struct(PERSON).put("age", None)
    assert str(info.value) == 'Invalid value: null used for required field: "age", schema type: INT32'


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("age", "36", 'with type INT32: str (expected int) for field: "age"'),
        ("age", True, 'with type INT32: bool (expected int) for field: "age"'),
        ("age", 1.0, 'with type INT32: float (expected int) for field: "age"'),
        ("age", 2**31, 'out of range for schema type INT32 for field: "age"'),
        ("name", b"x", 'with type STRING: bytes (expected str) for field: "name"'),
        ("score", "1", 'with type FLOAT64: str (expected float) for field: "score"'),
    ],
)
def test_wrong_python_types_are_rejected(field: str, value: object, fragment: str) -> None:
    with pytest.raises(DataError, match="Invalid") as info:
        Struct(PERSON).put(field, value)
    assert fragment in str(info.value)


def test_int_is_accepted_for_float_fields() -> None:
    assert Struct(PERSON).put("score", 2).get("score") == 2


def test_unknown_field() -> None:
    with pytest.raises(DataError, match="missing is not a valid field name"):
        Struct(PERSON).put("missing", 1)
    with pytest.raises(DataError, match="missing is not a valid field name"):
        Struct(PERSON).get("missing")


def test_validate_reports_missing_required_field() -> None:
    with pytest.raises(DataError, match='required field: "name"'):
        Struct(PERSON).put("age", 3).validate()


def test_typed_getters_check_the_field_type() -> None:
    person = Struct(PERSON).put("name", "Ada").put("age", 36)
    assert person.get_string("name") == "Ada"
    assert person.get_int32("age") == 36
    assert person.get_float64("score") is None  # typed getters do not apply defaults, as in Java
    with pytest.raises(DataError, match="Field 'age' is not of type INT64"):
        person.get_int64("age")


def test_get_bytes_returns_bytes() -> None:
    schema = SchemaBuilder.struct().field("b", Schema.BYTES_SCHEMA).build()
    assert Struct(schema).put("b", bytearray(b"ab")).get_bytes("b") == b"ab"


def test_nested_struct_schema_must_match() -> None:
    inner = SchemaBuilder.struct().field("x", Schema.INT32_SCHEMA).build()
    other = SchemaBuilder.struct().field("y", Schema.INT32_SCHEMA).build()
    outer = SchemaBuilder.struct().field("inner", inner).build()
    Struct(outer).put("inner", Struct(inner).put("x", 1))
    with pytest.raises(DataError, match="Struct schemas do not match"):
        Struct(outer).put("inner", Struct(other).put("y", 1))
    with pytest.raises(DataError, match='required field: "x"'):
        Struct(outer).put("inner", Struct(inner))


def test_array_and_map_elements_are_validated() -> None:
    schema = (
        SchemaBuilder.struct()
        .field("tags", SchemaBuilder.array(Schema.STRING_SCHEMA).build())
        .field("counts", SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.INT64_SCHEMA).build())
        .build()
    )
    with pytest.raises(DataError, match='element of array field: "tags"'):
        Struct(schema).put("tags", ["a", 1])
    with pytest.raises(DataError, match='value of map field: "counts"'):
        Struct(schema).put("counts", {"a": "1"})
    with pytest.raises(DataError, match='key of map field: "counts"'):
        Struct(schema).put("counts", {1: 1})


def test_logical_types_are_checked_by_name() -> None:
    schema = (
        SchemaBuilder.struct()
        .field("price", Decimal.schema(2))
        .field("day", Date.SCHEMA)
        .field("at", Timestamp.SCHEMA)
        .build()
    )
    struct = Struct(schema).put("price", decimal.Decimal("1.50")).put("day", dt.date(2024, 1, 2))
    struct.put("at", dt.datetime(2024, 1, 2, 3, 4, 5))
    with pytest.raises(DataError, match='schema "org.apache.kafka.connect.data.Decimal" with type BYTES'):
        struct.put("price", b"\x01")
    with pytest.raises(DataError, match="Date"):
        struct.put("day", 19000)


def test_not_a_struct_schema() -> None:
    with pytest.raises(DataError, match=r"Not a struct schema: Schema\{INT32\}"):
        Struct(Schema.INT32_SCHEMA)


def test_struct_accepts_an_unbuilt_builder() -> None:
    assert Struct(SchemaBuilder.struct().field("a", Schema.INT8_SCHEMA)).put("a", 1).get("a") == 1


def test_equality_hash_and_str() -> None:
    a = Struct(PERSON).put("name", "Ada").put("age", 36).put("score", 2.0)
    b = Struct(PERSON).put("name", "Ada").put("age", 36).put("score", 2.0)
    assert a == b and hash(a) == hash(b)
    assert a != Struct(PERSON).put("name", "Bob").put("age", 36)
    assert str(a) == "Struct{name=Ada,age=36,score=2.0}"


def test_str_uses_java_formatting_for_nested_values() -> None:
    schema = (
        SchemaBuilder.struct()
        .field("m", SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.FLOAT32_SCHEMA).build())
        .field("l", SchemaBuilder.array(Schema.OPTIONAL_BOOLEAN_SCHEMA).build())
        .build()
    )
    struct = Struct(schema).put("m", {"a": 0.1, "b": 1e10}).put("l", [True, None])
    assert str(struct) == "Struct{m={a=0.1, b=1.0E10},l=[true, null]}"


def test_from_values_skips_validation() -> None:
    struct = Struct._from_values(PERSON, ["Ada", 36, None, None])
    assert struct == Struct(PERSON).put("name", "Ada").put("age", 36)


def test_validate_value_top_level_location() -> None:
    with pytest.raises(DataError, match="Invalid value: null used for required value, schema type: STRING"):
        validate_value(Schema.STRING_SCHEMA, None)
    validate_value(Schema.OPTIONAL_STRING_SCHEMA, None)
