"""Records of the core (SinkRecord, SourceRecord, TimestampType), on both implementations."""

from __future__ import annotations

from types import ModuleType

import pytest

from kcfast._core_common import TimestampType


def sink(impl: ModuleType, **overrides: object) -> object:
    fields: dict[str, object] = dict(
        topic="orders",
        kafka_partition=3,
        key_schema=None,
        key=b"k",
        value_schema=None,
        value={"id": 1},
        kafka_offset=42,
        timestamp=1_700_000_000_000,
        timestamp_type=TimestampType.CREATE_TIME,
    )
    fields.update(overrides)
    return impl.SinkRecord(**fields)


def test_timestamp_type_names_are_kafkas(impl: ModuleType) -> None:
    assert impl.TimestampType is TimestampType
    assert [str(t) for t in impl.TimestampType] == ["NoTimestampType", "CreateTime", "LogAppendTime"]
    assert impl.TimestampType("LogAppendTime") is TimestampType.LOG_APPEND_TIME


def test_sink_record_fields(impl: ModuleType) -> None:
    rec = sink(impl)
    assert (rec.topic, rec.kafka_partition, rec.kafka_offset) == ("orders", 3, 42)
    assert (rec.key_schema, rec.key, rec.value_schema, rec.value) == (None, b"k", None, {"id": 1})
    assert rec.timestamp == 1_700_000_000_000
    assert rec.timestamp_type is TimestampType.CREATE_TIME
    assert isinstance(rec, impl.ConnectRecord)


def test_sink_record_defaults_and_positional_order(impl: ModuleType) -> None:
    rec = impl.SinkRecord("t", 0, None, None, None, "v", 7)
    assert rec.timestamp is None
    assert rec.timestamp_type is TimestampType.NO_TIMESTAMP_TYPE
    assert (rec.original_topic, rec.original_kafka_partition, rec.original_kafka_offset) == ("t", 0, 7)


def test_sink_record_explicit_originals(impl: ModuleType) -> None:
    rec = sink(impl, original_topic="raw", original_kafka_partition=9, original_kafka_offset=100)
    assert (rec.original_topic, rec.original_kafka_partition, rec.original_kafka_offset) == ("raw", 9, 100)
    assert (rec.topic, rec.kafka_partition, rec.kafka_offset) == ("orders", 3, 42)


def test_source_record_java_argument_order(impl: ModuleType) -> None:
    rec = impl.SourceRecord({"file": "a.txt"}, {"position": 12}, "lines", None, None, None, None, "hello")
    assert rec.source_partition == {"file": "a.txt"}
    assert rec.source_offset == {"position": 12}
    assert (rec.topic, rec.kafka_partition, rec.value, rec.key, rec.timestamp) == ("lines", None, "hello", None, None)


def test_source_record_keywords(impl: ModuleType) -> None:
    rec = impl.SourceRecord(source_partition=None, source_offset=None, topic="t", value=1, timestamp=5)
    assert (rec.source_partition, rec.source_offset, rec.value, rec.timestamp) == (None, None, 1, 5)


@pytest.mark.parametrize("name", ["topic", "key", "value", "timestamp", "kafka_offset", "original_topic"])
def test_sink_record_fields_are_read_only(impl: ModuleType, name: str) -> None:
    rec = sink(impl)
    with pytest.raises(AttributeError):
        setattr(rec, name, "x")


def test_source_record_fields_are_read_only(impl: ModuleType) -> None:
    rec = impl.SourceRecord({"p": 1}, {"o": 1}, "t")
    with pytest.raises(AttributeError):
        rec.source_offset = {"o": 2}


def test_sink_new_record_keeps_offset_type_and_originals(impl: ModuleType) -> None:
    rec = sink(impl)
    new = rec.new_record("renamed", 1, None, "key2", None, "value2", 99)
    assert type(new) is impl.SinkRecord
    assert (new.topic, new.kafka_partition, new.key, new.value, new.timestamp) == ("renamed", 1, "key2", "value2", 99)
    assert new.kafka_offset == 42
    assert new.timestamp_type is TimestampType.CREATE_TIME
    assert (new.original_topic, new.original_kafka_partition, new.original_kafka_offset) == ("orders", 3, 42)
    again = new.new_record("third", 2, None, None, None, None, None)
    assert (again.original_topic, again.original_kafka_partition) == ("orders", 3)


def test_source_new_record_keeps_source_partition_and_offset(impl: ModuleType) -> None:
    rec = impl.SourceRecord({"f": "a"}, {"pos": 3}, "t", 0, None, None, None, "v", 10)
    new = rec.new_record("u", None, None, "k", None, "w", 11)
    assert type(new) is impl.SourceRecord
    assert (new.source_partition, new.source_offset) == ({"f": "a"}, {"pos": 3})
    assert (new.topic, new.kafka_partition, new.key, new.value, new.timestamp) == ("u", None, "k", "w", 11)


def test_equality(impl: ModuleType) -> None:
    assert sink(impl) == sink(impl)
    assert sink(impl) != sink(impl, kafka_offset=43)
    assert sink(impl) != sink(impl, value={"id": 2})
    assert sink(impl) != sink(impl, timestamp_type=TimestampType.LOG_APPEND_TIME)
    assert sink(impl) != sink(impl, original_topic="other")
    a = impl.SourceRecord({"f": "a"}, {"pos": 1}, "t", value=1)
    assert a == impl.SourceRecord({"f": "a"}, {"pos": 1}, "t", value=1)
    assert a != impl.SourceRecord({"f": "a"}, {"pos": 2}, "t", value=1)
    assert a != sink(impl)


def test_records_are_not_hashable(impl: ModuleType) -> None:
    with pytest.raises(TypeError):
        hash(sink(impl))
    with pytest.raises(TypeError):
        hash(impl.SourceRecord(None, None, "t"))


def test_repr_names_the_fields(impl: ModuleType) -> None:
    text = repr(sink(impl))
    assert text.startswith("SinkRecord(topic='orders', kafka_partition=3,")
    assert "kafka_offset=42" in text and "timestamp_type=CreateTime" in text
    assert repr(impl.SourceRecord({"f": "a"}, {"pos": 1}, "t")).startswith(
        "SourceRecord(source_partition={'f': 'a'}, source_offset={'pos': 1}, topic='t'"
    )


def test_repr_is_the_same_in_both_implementations() -> None:
    from kcfast import _core_py

    _core = pytest.importorskip("kcfast._core")

    args = ("t", 1, None, [1, 2], None, {"a": "b"}, 9, 100, TimestampType.LOG_APPEND_TIME)
    assert repr(_core.SinkRecord(*args)) == repr(_core_py.SinkRecord(*args))
    src = ({"p": 1}, {"o": 2}, "t", 0, None, "k", None, "v", 5)
    assert repr(_core.SourceRecord(*src)) == repr(_core_py.SourceRecord(*src))


# ---------------------------------------------------------------------------------------------- headers


def test_headers_are_created_empty_on_first_access(impl: ModuleType) -> None:
    from kcfast.data import ConnectHeaders

    rec = sink(impl)
    headers = rec.headers
    assert isinstance(headers, ConnectHeaders) and len(headers) == 0
    assert rec.headers is headers, "the same object is returned each time"
    headers.add_string("trace", "abc")
    assert rec.headers.last_with_name("trace").value == "abc"


def test_headers_given_as_connect_headers_are_kept(impl: ModuleType) -> None:
    from kcfast.data import ConnectHeaders

    given = ConnectHeaders().add_int("n", 1)
    rec = impl.SourceRecord(None, None, "t", headers=given)
    assert rec.headers is given


def test_headers_given_as_header_objects(impl: ModuleType) -> None:
    from kcfast.data import ConnectHeaders, Header, Schema, SchemaAndValue

    header = Header("k", SchemaAndValue(Schema.STRING_SCHEMA, "v"))
    rec = sink(impl, headers=[header])
    assert isinstance(rec.headers, ConnectHeaders)
    assert list(rec.headers) == [header]


def test_new_record_copies_headers(impl: ModuleType) -> None:
    from kcfast.data import ConnectHeaders

    rec = sink(impl, headers=ConnectHeaders().add_string("a", "1"))
    new = rec.new_record("t", 0, None, None, None, None, None)
    assert new.headers == rec.headers
    assert new.headers is not rec.headers, "a copy: changing the new record's headers leaves the old ones alone"
    new.headers.add_string("b", "2")
    assert len(rec.headers) == 1
    replaced = rec.new_record("t", 0, None, None, None, None, None, ConnectHeaders().add_string("c", "3"))
    assert [h.key for h in replaced.headers] == ["c"]


def test_new_record_of_record_without_headers_allocates_none(impl: ModuleType) -> None:
    rec = sink(impl)
    new = rec.new_record("t", 0, None, None, None, None, None)
    assert len(new.headers) == 0


def test_equality_treats_no_headers_as_empty_headers(impl: ModuleType) -> None:
    from kcfast.data import ConnectHeaders

    assert sink(impl) == sink(impl, headers=ConnectHeaders())
    assert sink(impl) != sink(impl, headers=ConnectHeaders().add_string("a", "1"))
    touched = sink(impl)
    touched.headers  # noqa: B018 - materialise the empty headers
    assert touched == sink(impl)
