"""ReplaceField (include/exclude/renames and the 3.9 deprecated aliases) and MaskField."""

from __future__ import annotations

import datetime as dt
import decimal
import logging

import pytest
from transform_helpers import configured

from kcfast.data import Date, Decimal, Schema, SchemaBuilder, Struct, Time, Timestamp
from kcfast.errors import ConfigError, DataError
from kcfast.transforms.mask_field import MaskFieldKey, MaskFieldValue
from kcfast.transforms.replace_field import ReplaceFieldKey, ReplaceFieldValue

# -- ReplaceField -------------------------------------------------------------------------------------------------

SCHEMA = (
    SchemaBuilder.struct().name("rec").version(3)
    .field("dont", Schema.STRING_SCHEMA)
    .field("abc", Schema.INT32_SCHEMA)
    .field("foo", Schema.BOOLEAN_SCHEMA)
    .field("etc", Schema.STRING_SCHEMA)
    .build()
)


def value() -> Struct:
    return Struct(SCHEMA).put("dont", "whatever").put("abc", 42).put("foo", True).put("etc", "etc")


def test_exclude_include_and_renames_with_schema(sink) -> None:
    xform = configured(ReplaceFieldValue, {"exclude": "dont", "renames": "abc:xyz,foo:bar"})
    out = xform.apply(sink(SCHEMA, value()))
    expected = (
        SchemaBuilder.struct().name("rec").version(3)
        .field("xyz", Schema.INT32_SCHEMA).field("bar", Schema.BOOLEAN_SCHEMA).field("etc", Schema.STRING_SCHEMA)
        .build()
    )
    assert out.value_schema == expected
    assert out.value == Struct(expected).put("xyz", 42).put("bar", True).put("etc", "etc")


def test_include_and_exclude_schemaless(sink) -> None:
    xform = configured(ReplaceFieldValue, {"include": "abc,foo,dont", "exclude": "dont", "renames": "abc:xyz"})
    out = xform.apply(sink(None, {"dont": 1, "abc": 42, "foo": True, "etc": "x"}))
    assert out.value == {"xyz": 42, "foo": True}


def test_key_variant_and_tombstones(sink) -> None:
    xform = configured(ReplaceFieldKey, {"exclude": "a"})
    assert xform.apply(sink(None, "v", None, {"a": 1, "b": 2})).key == {"b": 2}
    tombstone = sink(None, None, None, None)
    assert xform.apply(tombstone) is tombstone


def test_deprecated_aliases_still_work(sink, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        xform = configured(ReplaceFieldValue, {"blacklist": "dont", "whitelist": "dont,abc"})
    assert xform.apply(sink(None, {"dont": 1, "abc": 2, "foo": 3})).value == {"abc": 2}
    assert "Configuration key blacklist is deprecated" in caplog.text
    both = configured(ReplaceFieldValue, {"exclude": "abc", "blacklist": "dont"})
    assert both.apply(sink(None, {"dont": 1, "abc": 2})).value == {"dont": 1}


def test_invalid_rename_mapping() -> None:
    with pytest.raises(ConfigError, match=r"^Invalid value \[a:b:c\] for configuration renames: "
                                          r"Invalid rename mapping: a:b:c$"):
        configured(ReplaceFieldValue, {"renames": "a:b:c"})
    with pytest.raises(ConfigError, match="Invalid rename mapping: a:$"):
        configured(ReplaceFieldValue, {"renames": "a:"})


def test_replace_field_type_errors(sink) -> None:
    with pytest.raises(DataError, match=r"^Only Struct objects supported for \[field replacement\], "
                                        r"found: java\.lang\.String$"):
        configured(ReplaceFieldValue, {"exclude": "a"}).apply(sink(Schema.STRING_SCHEMA, "x"))


def test_replace_field_defaults(sink) -> None:
    schema = SchemaBuilder.struct().field("f", SchemaBuilder.string().optional().default_value("d").build()).build()
    out = configured(ReplaceFieldValue, {"renames": "f:g"}).apply(sink(schema, Struct(schema)))
    assert out.value.get_without_default("g") == "d"
    raw = configured(ReplaceFieldValue, {"renames": "f:g", "replace.null.with.default": "false"})
    assert raw.apply(sink(schema, Struct(schema))).value.get_without_default("g") is None


# -- MaskField ----------------------------------------------------------------------------------------------------

MASK_SCHEMA = (
    SchemaBuilder.struct()
    .field("magic", Schema.INT32_SCHEMA)
    .field("bool", Schema.BOOLEAN_SCHEMA)
    .field("byte", Schema.INT8_SCHEMA)
    .field("short", Schema.INT16_SCHEMA)
    .field("int", Schema.INT32_SCHEMA)
    .field("long", Schema.INT64_SCHEMA)
    .field("float", Schema.FLOAT32_SCHEMA)
    .field("double", Schema.FLOAT64_SCHEMA)
    .field("string", Schema.STRING_SCHEMA)
    .field("date", Date.SCHEMA)
    .field("time", Time.SCHEMA)
    .field("timestamp", Timestamp.SCHEMA)
    .field("decimal", Decimal.schema(0))
    .field("array", SchemaBuilder.array(Schema.INT32_SCHEMA).build())
    .field("map", SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.STRING_SCHEMA).build())
    .field("withDefault", SchemaBuilder.string().optional().default_value("default").build())
    .build()
)
MASKED = ["bool", "byte", "short", "int", "long", "float", "double", "string", "date", "time", "timestamp",
          "decimal", "array", "map"]


def mask_value() -> Struct:
    return (
        Struct(MASK_SCHEMA).put("magic", 42).put("bool", True).put("byte", 42).put("short", 42).put("int", 42)
        .put("long", 42).put("float", 42.0).put("double", 42.0).put("string", "55.121.20.20")
        .put("date", dt.date(2020, 1, 2)).put("time", dt.time(1, 2, 3))
        .put("timestamp", dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
        .put("decimal", decimal.Decimal(42)).put("array", [1, 2, 3]).put("map", {"what": "what"})
    )


def test_mask_with_schema_zeroes_each_type(sink) -> None:
    out = configured(MaskFieldValue, {"fields": ",".join(MASKED)}).apply(sink(MASK_SCHEMA, mask_value()))
    v = out.value
    assert out.value_schema is MASK_SCHEMA
    assert v.get("magic") == 42
    assert (v.get("bool"), v.get("byte"), v.get("short"), v.get("int"), v.get("long")) == (False, 0, 0, 0, 0)
    assert (v.get("float"), v.get("double"), v.get("string")) == (0.0, 0.0, "")
    assert v.get("date") == dt.date(1970, 1, 1)
    assert v.get("time") == dt.time(0, 0)
    assert v.get("timestamp") == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    assert v.get("decimal") == decimal.Decimal(0)
    assert (v.get("array"), v.get("map")) == ([], {})


def test_mask_with_replacement_converts_to_the_field_type(sink) -> None:
    numbers = configured(MaskFieldValue, {"fields": "byte,short,int,long,float,double,string,decimal",
                                          "replacement": "123"})
    v = numbers.apply(sink(MASK_SCHEMA, mask_value())).value
    assert [v.get(f) for f in ("byte", "short", "int", "long", "string")] == [123, 123, 123, 123, "123"]
    assert (v.get("float"), v.get("double"), v.get("decimal")) == (123.0, 123.0, decimal.Decimal(123))


@pytest.mark.parametrize(("field", "java"), [("bool", "java.lang.Boolean"), ("date", "java.util.Date"),
                                             ("array", "java.util.ArrayList")])
def test_mask_replacement_rejects_non_numeric_types(sink, field: str, java: str) -> None:
    xform = configured(MaskFieldValue, {"fields": field, "replacement": "123"})
    with pytest.raises(DataError, match=f"^Cannot mask value of type class {java} with custom replacement.$"):
        xform.apply(sink(MASK_SCHEMA, mask_value()))


def test_mask_replacement_that_is_not_a_number(sink) -> None:
    xform = configured(MaskFieldValue, {"fields": "decimal", "replacement": "abc"})
    with pytest.raises(DataError, match=r"^Unable to convert abc \(class java\.lang\.String\) to number$"):
        xform.apply(sink(MASK_SCHEMA, mask_value()))
    with pytest.raises(DataError):
        configured(MaskFieldValue, {"fields": "int", "replacement": "abc"}).apply(sink(MASK_SCHEMA, mask_value()))


def test_mask_schemaless(sink) -> None:
    data = {"magic": 42, "bool": True, "long": 42, "double": 4.2, "string": "s", "array": [1], "map": {"a": 1},
            "none": None}
    out = configured(MaskFieldKey, {"fields": "bool,long,double,string,array,map,none,absent"}).apply(
        sink(None, None, None, data))
    assert out.key == {"magic": 42, "bool": False, "long": 0, "double": 0.0, "string": "", "array": [], "map": {},
                       "none": None, "absent": None}
    replaced = configured(MaskFieldValue, {"fields": "long,string", "replacement": "7"})
    assert replaced.apply(sink(None, {"long": 42, "string": "s"})).value == {"long": 7, "string": "7"}


def test_mask_unmaskable_types(sink) -> None:
    with pytest.raises(DataError, match=r"^Cannot mask value of type: class \[B$"):
        configured(MaskFieldValue, {"fields": "b"}).apply(sink(None, {"b": b"x"}))
    with pytest.raises(DataError, match=r"^Only Map objects supported in absence of schema for \[mask fields\], "
                                        r"found: null$"):
        configured(MaskFieldValue, {"fields": "b"}).apply(sink(None, None))


def test_mask_defaults_and_config_errors(sink) -> None:
    out = configured(MaskFieldValue, {"fields": "withDefault"}).apply(sink(MASK_SCHEMA, mask_value()))
    assert out.value.get("withDefault") == ""
    raw = configured(MaskFieldValue, {"fields": "withDefault", "replace.null.with.default": "false"})
    assert raw.apply(sink(MASK_SCHEMA, mask_value())).value.get_without_default("withDefault") is None
    with pytest.raises(ConfigError, match=r"^Invalid value \[\] for configuration fields: Empty list$"):
        configured(MaskFieldValue, {"fields": ""})
    with pytest.raises(ConfigError, match="^Invalid value  for configuration replacement: String must be non-empty$"):
        configured(MaskFieldValue, {"fields": "a", "replacement": ""})
