"""TimestampConverter$Key / $Value: every source and target type, with and without schemas (Kafka's test data)."""

from __future__ import annotations

import datetime as dt

import pytest
from transform_helpers import configured

from kcfast.data import Date, Schema, SchemaBuilder, Struct, Time, Timestamp
from kcfast.errors import ConfigError, ConnectError, DataError
from kcfast.transforms.timestamp_converter import TimestampConverterKey, TimestampConverterValue

FORMAT = "yyyy MM dd HH mm ss SSS z"
DATE_PLUS_TIME = dt.datetime(1970, 1, 2, 0, 0, 1, 234_000, tzinfo=dt.UTC)  # 86 401 234 ms
DATE_PLUS_TIME_UNIX = 86_401_234
DATE_PLUS_TIME_STRING = "1970 01 02 00 00 01 234 UTC"

TARGETS = [
    ({"target.type": "string", "format": FORMAT}, Schema.STRING_SCHEMA, DATE_PLUS_TIME_STRING),
    ({"target.type": "unix"}, Schema.INT64_SCHEMA, DATE_PLUS_TIME_UNIX),
    ({"target.type": "unix", "unix.precision": "seconds"}, Schema.INT64_SCHEMA, 86_401),
    ({"target.type": "unix", "unix.precision": "microseconds"}, Schema.INT64_SCHEMA, 86_401_234_000),
    ({"target.type": "unix", "unix.precision": "nanoseconds"}, Schema.INT64_SCHEMA, 86_401_234_000_000),
    ({"target.type": "Date"}, Date.SCHEMA, dt.date(1970, 1, 2)),
    ({"target.type": "Time"}, Time.SCHEMA, dt.time(0, 0, 1, 234_000)),
    ({"target.type": "Timestamp"}, Timestamp.SCHEMA, DATE_PLUS_TIME),
]

SOURCES = [
    (Timestamp.SCHEMA, DATE_PLUS_TIME, {}),
    (Schema.INT64_SCHEMA, DATE_PLUS_TIME_UNIX, {}),
    (Schema.INT64_SCHEMA, 86_401_234_123, {"unix.precision": "microseconds"}),
    (Schema.INT64_SCHEMA, 86_401_234_123_456, {"unix.precision": "nanoseconds"}),
    (Schema.STRING_SCHEMA, DATE_PLUS_TIME_STRING, {"format": FORMAT}),
]


# unix.precision serves both directions, so unix -> unix pairs are left out.
PAIRS = [(source, target) for source in SOURCES for target in TARGETS
         if not (source[0] == Schema.INT64_SCHEMA and target[0]["target.type"] == "unix")]


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_whole_value_with_schema(sink, source, target) -> None:
    source_schema, source_value, source_config = source
    config, schema, expected = target
    xform = configured(TimestampConverterValue, {"format": FORMAT, **source_config, **config})
    out = xform.apply(sink(source_schema, source_value))
    assert out.value_schema == schema
    assert out.value == expected


def test_unix_to_unix_uses_one_precision(sink) -> None:
    xform = configured(TimestampConverterValue, {"target.type": "unix", "unix.precision": "seconds"})
    assert xform.apply(sink(Schema.INT64_SCHEMA, 86_401)).value == 86_401
    assert xform.apply(sink(Schema.INT64_SCHEMA, -1_500)).value == -1_500


@pytest.mark.parametrize(("config", "schema", "expected"), TARGETS)
def test_whole_value_schemaless(sink, config, schema, expected) -> None:
    xform = configured(TimestampConverterKey, config)
    out = xform.apply(sink(None, "v", None, DATE_PLUS_TIME))
    assert (out.key_schema, out.key, out.value) == (None, expected, "v")
    if "unix.precision" not in config:
        assert xform.apply(sink(None, "v", None, DATE_PLUS_TIME_UNIX)).key == expected


def test_date_and_time_targets_drop_the_other_part(sink) -> None:
    as_date = configured(TimestampConverterValue, {"target.type": "Date"})
    assert as_date.apply(sink(None, -1)).value == dt.date(1969, 12, 31)
    as_time = configured(TimestampConverterValue, {"target.type": "Time"})
    assert as_time.apply(sink(None, -1)).value == dt.time(23, 59, 59, 999_000)


def test_field_with_schema(sink) -> None:
    schema = (
        SchemaBuilder.struct().name("rec")
        .field("ts", Timestamp.builder().optional().build())
        .field("other", Schema.STRING_SCHEMA)
        .build()
    )
    value = Struct(schema).put("ts", DATE_PLUS_TIME).put("other", "test")
    xform = configured(TimestampConverterValue, {"target.type": "string", "format": FORMAT, "field": "ts"})
    out = xform.apply(sink(schema, value))
    expected = (SchemaBuilder.struct().name("rec").field("ts", Schema.OPTIONAL_STRING_SCHEMA)
                .field("other", Schema.STRING_SCHEMA).build())
    assert out.value_schema == expected
    assert out.value == Struct(expected).put("ts", DATE_PLUS_TIME_STRING).put("other", "test")
    nulls = xform.apply(sink(schema, Struct(schema).put("other", "x")))
    assert nulls.value.get("ts") is None
    tombstone = xform.apply(sink(schema, None))
    assert (tombstone.value_schema, tombstone.value) == (expected, None)


def test_field_default_and_replace_null_with_default(sink) -> None:
    schema = SchemaBuilder.struct().field("ts", SchemaBuilder.int64().optional().default_value(
        DATE_PLUS_TIME_UNIX).build()).build()
    xform = configured(TimestampConverterValue, {"target.type": "Date", "field": "ts"})
    assert xform.apply(sink(schema, Struct(schema))).value.get("ts") == dt.date(1970, 1, 2)
    raw = configured(TimestampConverterValue, {"target.type": "Date", "field": "ts", "replace.null.with.default":
                                               "false"})
    assert raw.apply(sink(schema, Struct(schema))).value.get_without_default("ts") is None


def test_field_schemaless(sink) -> None:
    xform = configured(TimestampConverterValue, {"target.type": "unix", "field": "ts"})
    out = xform.apply(sink(None, {"ts": DATE_PLUS_TIME, "other": "x"}))
    assert out.value == {"ts": DATE_PLUS_TIME_UNIX, "other": "x"}
    assert xform.apply(sink(None, {"other": "x"})).value == {"other": "x", "ts": None}
    assert xform.apply(sink(None, None)).value is None


def test_conversion_errors(sink) -> None:
    to_string = configured(TimestampConverterValue, {"target.type": "string", "format": "yyyy"})
    with pytest.raises(ConnectError, match=r"^Schema Schema\{INT32\} does not correspond to a known timestamp type "
                                           r"format$"):
        to_string.apply(sink(Schema.INT32_SCHEMA, 1))
    with pytest.raises(DataError, match=r"^Could not parse timestamp: value \(x\) does not match pattern \(yyyy\)$"):
        to_string.apply(sink(Schema.STRING_SCHEMA, "x"))
    with pytest.raises(DataError, match=r"^Expected Unix timestamp to be a Long, but found class java\.lang\.String$"):
        to_string.apply(sink(Schema.INT64_SCHEMA, "x"))
    with pytest.raises(DataError, match=r"^Expected Timestamp to be a java\.util\.Date, but found class java\.lang\."
                                        r"Long$"):
        to_string.apply(sink(Timestamp.SCHEMA, 5))
    with pytest.raises(DataError, match=r"^TimestampConverter does not support class java\.lang\.Boolean objects as "
                                        r"timestamps$"):
        to_string.apply(sink(None, True))


def test_configuration_errors() -> None:
    with pytest.raises(ConfigError, match='^Missing required configuration "target.type" which has no default value.$'):
        configured(TimestampConverterValue, {})
    with pytest.raises(ConfigError, match="^Invalid value invalid for configuration target.type: String must be one "
                                          "of: string, unix, Date, Time, Timestamp$"):
        configured(TimestampConverterValue, {"target.type": "invalid"})
    with pytest.raises(ConfigError, match="^TimestampConverter requires format option to be specified when using "
                                          "string timestamps$"):
        configured(TimestampConverterValue, {"target.type": "string"})
    with pytest.raises(ConfigError, match="^TimestampConverter requires a SimpleDateFormat-compatible pattern for "
                                          "string timestamps: bad-format$"):
        configured(TimestampConverterValue, {"target.type": "string", "format": "bad-format"})
    with pytest.raises(ConfigError, match="^Invalid value hours for configuration unix.precision"):
        configured(TimestampConverterValue, {"target.type": "unix", "unix.precision": "hours"})
