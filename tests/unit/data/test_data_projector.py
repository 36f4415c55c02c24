"""SchemaProjector: numeric promotion, struct field matching and Kafka's error texts."""

from __future__ import annotations

import pytest

from kcfast.data import Schema, SchemaBuilder, SchemaProjector, Struct
from kcfast.errors import SchemaProjectorError


def test_numeric_promotion() -> None:
    assert SchemaProjector.project(Schema.INT8_SCHEMA, 5, Schema.INT64_SCHEMA) == 5
    assert SchemaProjector.project(Schema.INT32_SCHEMA, 5, Schema.FLOAT64_SCHEMA) == 5.0
    assert isinstance(SchemaProjector.project(Schema.INT32_SCHEMA, 5, Schema.FLOAT32_SCHEMA), float)
    with pytest.raises(SchemaProjectorError, match="Schema type mismatch. source type: INT64 and target type: INT8"):
        SchemaProjector.project(Schema.INT64_SCHEMA, 5, Schema.INT8_SCHEMA)


def test_optional_to_required_needs_a_default() -> None:
    target = SchemaBuilder.int32().default_value(7).build()
    assert SchemaProjector.project(Schema.OPTIONAL_INT32_SCHEMA, None, target) == 7
    with pytest.raises(SchemaProjectorError, match="target schema does not provide a default value"):
        SchemaProjector.project(Schema.OPTIONAL_INT32_SCHEMA, 1, Schema.INT32_SCHEMA)


def test_struct_projection() -> None:
    source = SchemaBuilder.struct().field("a", Schema.INT32_SCHEMA).field("gone", Schema.STRING_SCHEMA).build()
    target = (
        SchemaBuilder.struct().field("a", Schema.INT64_SCHEMA).field("opt", Schema.OPTIONAL_STRING_SCHEMA)
        .field("d", SchemaBuilder.string().default_value("x").build()).build()
    )
    projected = SchemaProjector.project(source, Struct(source).put("a", 1).put("gone", "g"), target)
    assert projected == Struct(target).put("a", 1).put("d", "x")
    missing = SchemaBuilder.struct().field("b", Schema.INT32_SCHEMA).build()
    with pytest.raises(SchemaProjectorError, match="Required field `b` is missing from source schema"):
        SchemaProjector.project(source, Struct(source).put("a", 1).put("gone", "g"), missing)


def test_name_and_parameter_mismatch() -> None:
    with pytest.raises(SchemaProjectorError, match="Schema name mismatch"):
        SchemaProjector.project(SchemaBuilder.int8().name("a").build(), 1, SchemaBuilder.int8().name("b").build())
    with pytest.raises(SchemaProjectorError, match="Schema parameters not equal"):
        SchemaProjector.project(SchemaBuilder.int8().parameter("k", "1").build(), 1, Schema.INT8_SCHEMA)
