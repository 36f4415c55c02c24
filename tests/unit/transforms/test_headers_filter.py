"""Filter, InsertHeader, DropHeaders and HeaderFrom: golden headers and records."""

from __future__ import annotations

import pytest
from transform_helpers import configured

from kcfast.data import ConnectHeaders, Schema, SchemaBuilder, Struct
from kcfast.errors import ConfigError, DataError
from kcfast.transforms.drop_headers import DropHeaders
from kcfast.transforms.filter import Filter
from kcfast.transforms.header_from import HeaderFromKey, HeaderFromValue
from kcfast.transforms.insert_header import InsertHeader


def headers(*pairs: tuple[str, str]) -> ConnectHeaders:
    result = ConnectHeaders()
    for key, value in pairs:
        result.add_string(key, value)
    return result


def test_filter_drops_everything(sink, source) -> None:
    assert configured(Filter).apply(sink(None, "v")) is None
    assert configured(Filter).apply(source(None, None)) is None


def test_insert_header_parses_the_literal(sink) -> None:
    original = headers(("existing", "1"))
    record = sink(None, "v", headers=original)
    out = configured(InsertHeader, {"header": "inserted", "value.literal": " 42 "}).apply(record)
    assert [(h.key, h.schema, h.value) for h in out.headers] == [
        ("existing", Schema.STRING_SCHEMA, "1"),
        ("inserted", Schema.INT8_SCHEMA, 42),
    ]
    assert len(record.headers) == 1  # the input record is untouched
    text = configured(InsertHeader, {"header": "h", "value.literal": "hello world"}).apply(record)
    assert text.headers.last_with_name("h").value == "hello world"


def test_insert_header_requires_both_keys() -> None:
    with pytest.raises(ConfigError, match='^Missing required configuration "value.literal"'):
        configured(InsertHeader, {"header": "h"})


def test_drop_headers_keeps_the_others_in_order(sink) -> None:
    record = sink(None, "v", headers=headers(("a", "1"), ("b", "2"), ("a", "3"), ("c", "4")))
    out = configured(DropHeaders, {"headers": "a,c"}).apply(record)
    assert [(h.key, h.value) for h in out.headers] == [("b", "2")]
    assert (out.value, out.kafka_offset) == ("v", 42)
    with pytest.raises(ConfigError, match=r"^Invalid value \[\] for configuration headers: Empty list$"):
        configured(DropHeaders, {"headers": ""})


SCHEMA = (
    SchemaBuilder.struct().name("rec")
    .field("field1", Schema.STRING_SCHEMA)
    .field("field2", Schema.INT32_SCHEMA)
    .field("dflt", SchemaBuilder.string().optional().default_value("d").build())
    .build()
)


def struct() -> Struct:
    return Struct(SCHEMA).put("field1", "one").put("field2", 2)


def test_header_from_copy_with_schema(sink) -> None:
    xform = configured(HeaderFromValue, {"fields": "field1,dflt", "headers": "h1,h2", "operation": "copy"})
    record = sink(SCHEMA, struct(), headers=headers(("old", "x")))
    out = xform.apply(record)
    assert out.value_schema is SCHEMA and out.value == struct()
    assert [(h.key, h.schema, h.value) for h in out.headers] == [
        ("old", Schema.STRING_SCHEMA, "x"),
        ("h1", Schema.STRING_SCHEMA, "one"),
        ("h2", SCHEMA.field("dflt").schema, "d"),
    ]


def test_header_from_move_with_schema(sink) -> None:
    xform = configured(HeaderFromKey, {"fields": "field2", "headers": "h", "operation": "move"})
    out = xform.apply(sink(None, None, SCHEMA, struct()))
    moved = SchemaBuilder.struct().name("rec").field("field1", Schema.STRING_SCHEMA).field(
        "dflt", SchemaBuilder.string().optional().default_value("d").build()).build()
    assert out.key_schema == moved
    assert out.key == Struct(moved).put("field1", "one").put("dflt", "d")
    assert [(h.key, h.schema, h.value) for h in out.headers] == [("h", Schema.INT32_SCHEMA, 2)]


def test_header_from_schemaless(sink) -> None:
    move = configured(HeaderFromValue, {"fields": "a,missing", "headers": "ha,hm", "operation": "move"})
    out = move.apply(sink(None, {"a": 1, "b": 2}))
    assert out.value == {"b": 2}
    assert [(h.key, h.schema, h.value) for h in out.headers] == [("ha", None, 1), ("hm", None, None)]
    copy = configured(HeaderFromValue, {"fields": "a", "headers": "ha", "operation": "copy"})
    assert copy.apply(sink(None, {"a": 1})).value == {"a": 1}


def test_header_from_errors(sink) -> None:
    with pytest.raises(ConfigError, match="^'fields' config must have the same number of elements as 'headers' "
                                          "config.$"):
        configured(HeaderFromValue, {"fields": "a,b", "headers": "h", "operation": "copy"})
    with pytest.raises(ConfigError, match="^Invalid value swap for configuration operation: String must be one of: "
                                          "move, copy$"):
        configured(HeaderFromValue, {"fields": "a", "headers": "h", "operation": "swap"})
    xform = configured(HeaderFromValue, {"fields": "a", "headers": "h", "operation": "move"})
    with pytest.raises(DataError, match=r"^Only Map objects supported in absence of schema for \[header move\], "
                                        r"found: java\.lang\.String$"):
        xform.apply(sink(None, "x"))
    with pytest.raises(DataError, match="^Field does not exist: a$"):
        xform.apply(sink(SCHEMA, struct()))
