"""HoistField and ExtractField (V1 and V2 paths): golden records with and without schemas."""

from __future__ import annotations

import pytest
from transform_helpers import configured

from kcfast.data import Schema, SchemaBuilder, Struct
from kcfast.errors import ConfigError, DataError
from kcfast.transforms.extract_field import ExtractFieldKey, ExtractFieldValue, SingleFieldPath
from kcfast.transforms.hoist_field import HoistFieldKey, HoistFieldValue

# -- HoistField ---------------------------------------------------------------------------------------------------


def test_hoist_with_schema_wraps_in_a_one_field_struct(sink) -> None:
    out = configured(HoistFieldKey, {"field": "magic"}).apply(sink(None, None, Schema.INT32_SCHEMA, 42))
    expected = SchemaBuilder.struct().field("magic", Schema.INT32_SCHEMA).build()
    assert out.key_schema == expected
    assert out.key == Struct(expected).put("magic", 42)


def test_hoist_schemaless_wraps_in_a_map(sink) -> None:
    out = configured(HoistFieldValue, {"field": "magic"}).apply(sink(None, 42))
    assert (out.value_schema, out.value) == (None, {"magic": 42})
    assert configured(HoistFieldValue, {"field": "magic"}).apply(sink(None, None)).value == {"magic": None}


def test_hoist_null_with_required_schema_fails(sink) -> None:
    with pytest.raises(DataError, match='null used for required field: "f"'):
        configured(HoistFieldValue, {"field": "f"}).apply(sink(Schema.STRING_SCHEMA, None))


def test_hoist_requires_field() -> None:
    with pytest.raises(ConfigError, match='^Missing required configuration "field" which has no default value.$'):
        configured(HoistFieldValue, {})


# -- ExtractField -------------------------------------------------------------------------------------------------

INNER = SchemaBuilder.struct().field("baz", Schema.INT32_SCHEMA).build()
OUTER = (
    SchemaBuilder.struct()
    .field("magic", Schema.INT32_SCHEMA)
    .field("foo.bar", Schema.OPTIONAL_STRING_SCHEMA)
    .field("nested", SchemaBuilder.struct().field("baz", Schema.INT32_SCHEMA).optional().build())
    .field("dflt", SchemaBuilder.int32().optional().default_value(7).build())
    .build()
)


def outer_value() -> Struct:
    nested = Struct(OUTER.field("nested").schema).put("baz", 9)
    return Struct(OUTER).put("magic", 42).put("foo.bar", "dotted").put("nested", nested)


def test_extract_with_schema_gives_field_schema_and_value(sink) -> None:
    out = configured(ExtractFieldKey, {"field": "magic"}).apply(sink(None, None, OUTER, outer_value()))
    assert (out.key_schema, out.key) == (Schema.INT32_SCHEMA, 42)


def test_extract_schemaless(sink) -> None:
    xform = configured(ExtractFieldValue, {"field": "magic"})
    assert xform.apply(sink(None, {"magic": 42})).value == 42
    assert xform.apply(sink(None, {"other": 1})).value is None
    assert xform.apply(sink(None, None)).value is None


def test_extract_null_struct_keeps_field_schema(sink) -> None:
    out = configured(ExtractFieldValue, {"field": "magic"}).apply(sink(OUTER, None))
    assert (out.value_schema, out.value) == (Schema.INT32_SCHEMA, None)


def test_extract_unknown_field_with_schema(sink) -> None:
    with pytest.raises(ValueError, match="^Unknown field: nope$"):
        configured(ExtractFieldValue, {"field": "nope"}).apply(sink(OUTER, outer_value()))


def test_extract_type_errors(sink) -> None:
    xform = configured(ExtractFieldValue, {"field": "magic"})
    with pytest.raises(DataError, match=r"^Only Map objects supported in absence of schema for \[field extraction\], "
                                        r"found: java\.lang\.Long$"):
        xform.apply(sink(None, 42))
    with pytest.raises(DataError, match=r"^Only Struct objects supported for \[field extraction\], "
                                        r"found: java\.util\.HashMap$"):
        xform.apply(sink(OUTER, {"magic": 1}))


def test_extract_default_and_replace_null_with_default(sink) -> None:
    assert configured(ExtractFieldValue, {"field": "dflt"}).apply(sink(OUTER, outer_value())).value == 7
    raw = configured(ExtractFieldValue, {"field": "dflt", "replace.null.with.default": "false"})
    assert raw.apply(sink(OUTER, outer_value())).value is None


def test_v1_takes_dots_literally_v2_follows_them(sink) -> None:
    v1 = configured(ExtractFieldValue, {"field": "foo.bar"})
    assert v1.apply(sink(OUTER, outer_value())).value == "dotted"
    v2 = configured(ExtractFieldValue, {"field": "nested.baz", "field.syntax.version": "v2"})
    out = v2.apply(sink(OUTER, outer_value()))
    assert (out.value_schema, out.value) == (Schema.INT32_SCHEMA, 9)
    quoted = configured(ExtractFieldValue, {"field": "`foo.bar`", "field.syntax.version": "V2"})
    assert quoted.apply(sink(OUTER, outer_value())).value == "dotted"
    schemaless = configured(ExtractFieldValue, {"field": "a.b", "field.syntax.version": "V2"})
    assert schemaless.apply(sink(None, {"a": {"b": 3}})).value == 3
    assert schemaless.apply(sink(None, {"a": None})).value is None
    with pytest.raises(DataError, match=r"\[nested field access\], found: java\.lang\.Long"):
        schemaless.apply(sink(None, {"a": 5}))


@pytest.mark.parametrize(
    ("path", "steps"),
    [
        ("foo", ["foo"]),
        ("foo.bar.baz", ["foo", "bar", "baz"]),
        ("`foo.bar`.baz", ["foo.bar", "baz"]),
        ("foo.`bar.baz`", ["foo", "bar.baz"]),
        ("`foo`bar`.baz", ["foo`bar", "baz"]),
        ("`foo\\`.bar`.baz", ["foo`.bar", "baz"]),
        ("foo.", ["foo", ""]),
        ("..", ["", "", ""]),
    ],
)
def test_v2_path_steps(path: str, steps: list[str]) -> None:
    assert SingleFieldPath(path, "V2").steps == steps
    assert SingleFieldPath(path, "V1").steps == [path]


def test_v2_unbalanced_backtick() -> None:
    with pytest.raises(ConfigError, match=r"^Incomplete backtick pair in path: \[`foo\.bar\], consider adding a "
                                          r"backslash before backtick at position 0 to escape it$"):
        configured(ExtractFieldValue, {"field": "`foo.bar", "field.syntax.version": "V2"})


def test_invalid_syntax_version() -> None:
    with pytest.raises(ConfigError, match=r"^Invalid value V3 for configuration field.syntax.version: String must be "
                                          r"one of \(case insensitive\): V1, V2$"):
        configured(ExtractFieldValue, {"field": "a", "field.syntax.version": "V3"})
