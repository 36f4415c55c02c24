"""Batch conversion of the core: consumed messages -> SinkRecords, SourceRecords -> produce-ready tuples,
and the produce loop, on both implementations; the per-record converters are the oracle."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from confluent_kafka import KafkaError, Message

from kcfast._core_common import TimestampType
from kcfast.converters import (
    ByteArrayConverter,
    IntegerConverter,
    JsonConverter,
    SimpleHeaderConverter,
    StringConverter,
)
from kcfast.converters.json import ENVELOPE_ERROR
from kcfast.data import ConnectHeaders, Schema, SchemaAndValue, SchemaBuilder, Struct
from kcfast.errors import ConnectError, DataError, RetriableError

RECORD_FIELDS = (
    "topic",
    "kafka_partition",
    "kafka_offset",
    "key_schema",
    "key",
    "value_schema",
    "value",
    "timestamp",
    "timestamp_type",
    "original_topic",
    "original_kafka_partition",
    "original_kafka_offset",
    "headers",
)


def fields(record: Any) -> tuple[Any, ...]:
    return tuple(getattr(record, name) for name in RECORD_FIELDS)


def converter(cls: type, is_key: bool = False, **configs: str) -> Any:
    conv = cls()
    conv.configure(dict(configs), is_key)
    return conv


def header_converter() -> SimpleHeaderConverter:
    conv = SimpleHeaderConverter()
    conv.configure({})
    return conv


def message(value: bytes | None, key: bytes | None = None, offset: int = 0, **kw: Any) -> Message:
    kw.setdefault("topic", "orders")
    kw.setdefault("partition", 1)
    kw.setdefault("timestamp", (1, 1_700_000_000_000 + offset))
    return Message(value=value, key=key, offset=offset, **kw)


def expected_records(impl: ModuleType, messages: list[Message], kc: Any, vc: Any, hc: Any) -> list[tuple[Any, ...]]:
    """What a per-record loop over the converters gives (the oracle)."""
    out = []
    for m in messages:
        k = kc.to_connect_data(m.topic(), m.key())
        v = vc.to_connect_data(m.topic(), m.value())
        headers = ConnectHeaders()
        for name, raw in m.headers() or ():
            headers.add(name, hc.to_connect_header(m.topic(), name, raw))
        ts_type, ts = m.timestamp()
        ttype = [TimestampType.NO_TIMESTAMP_TYPE, TimestampType.CREATE_TIME, TimestampType.LOG_APPEND_TIME][ts_type]
        rec = impl.SinkRecord(
            m.topic(), m.partition(), k.schema, k.value, v.schema, v.value, m.offset(),
            None if ts_type == 0 else ts, ttype, headers,
        )
        out.append(fields(rec))
    return out


def convert(impl: ModuleType, messages: list[Message], kc: Any, vc: Any, hc: Any = None) -> list[Any]:
    return impl.sink_records_from_messages(messages, kc, vc, hc if hc is not None else header_converter())


ENVELOPE = (
    b'{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},'
    b'{"type":"string","optional":true,"field":"name"},'
    b'{"type":"struct","fields":[{"type":"string","optional":false,"field":"city"}],"optional":true,"field":"address"},'
    b'{"type":"array","items":{"type":"double","optional":false},"optional":false,"field":"scores"}],'
    b'"optional":false,"name":"Order"},'
    b'"payload":{"id":%d,"name":"n%d","address":{"city":"Oslo"},"scores":[1.5,2]}}'
)


def envelope(i: int) -> bytes:
    return ENVELOPE % (i, i)


# ----------------------------------------------------------------------------------------------- sink side


@pytest.mark.parametrize(
    "kc, vc, key, values",
    [
        (ByteArrayConverter, ByteArrayConverter, b"k", [b"\x00\xff", b"", None]),
        (StringConverter, StringConverter, b"k", ["h\u00e9llo".encode(), b"\xff\xfe bad utf-8", b"", None]),
        (JsonConverter, JsonConverter, b'{"schema":null,"payload":"k"}', [envelope(1), envelope(2), b'{"schema":null,"payload":null}', None]),
    ],
    ids=["bytes", "string", "json-envelope"],
)
def test_fast_paths_match_the_converters(
    impl: ModuleType, kc: type, vc: type, key: bytes, values: list[Any]
) -> None:
    key_conv, value_conv = converter(kc, True), converter(vc)
    messages = [message(v, key=None if v is None else key, offset=i) for i, v in enumerate(values)]
    got = [fields(r) for r in convert(impl, messages, key_conv, value_conv)]
    assert got == expected_records(impl, messages, key_conv, value_conv, header_converter())


def test_json_schemaless(impl: ModuleType) -> None:
    conv = converter(JsonConverter, **{"schemas.enable": "false"})
    values = [b'{"a":1,"b":[true,null,2.5],"c":{"d":"e"}}', b"12345678901234567890", b" 7", b"", None, b"[]"]
    messages = [message(v, offset=i) for i, v in enumerate(values)]
    records = convert(impl, messages, conv, conv)
    assert [r.value for r in records] == [conv.to_connect_data("orders", v).value for v in values]
    assert records[0].value == {"a": 1, "b": [True, None, 2.5], "c": {"d": "e"}}
    assert all(r.value_schema is None for r in records)


def test_json_envelope_values(impl: ModuleType) -> None:
    conv = converter(JsonConverter)
    records = convert(impl, [message(envelope(i), offset=i) for i in range(3)], converter(StringConverter, True), conv)
    value = records[2].value
    assert isinstance(value, Struct)
    assert (value.get("id"), value.get("name"), value.get("address").get("city"), value.get("scores")) == (
        2, "n2", "Oslo", [1.5, 2.0],
    )
    assert records[2].value_schema.name == "Order"


def test_json_envelope_schema_changes_within_a_batch(impl: ModuleType) -> None:
    conv = converter(JsonConverter)
    other = b'{"schema":{"type":"string","optional":false},"payload":"text"}'
    reordered = b'{"payload":{"id":5,"name":null,"address":null,"scores":[]},"schema":' + envelope(0)[10:].split(b',"payload"')[0] + b"}"
    spaced = b'{ "schema" : {"type":"int32","optional":true} , "payload" : 7 }'
    values = [envelope(1), other, envelope(2), reordered, spaced, envelope(3), b'{"schema":null,"payload":{"x":1}}']
    messages = [message(v, offset=i) for i, v in enumerate(values)]
    got = [fields(r) for r in convert(impl, messages, conv, conv)]
    assert got == expected_records(impl, messages, conv, conv, header_converter())
    assert got[3][RECORD_FIELDS.index("value")].get("id") == 5


def test_json_state_follows_reconfiguration(impl: ModuleType) -> None:
    conv = converter(JsonConverter)
    data = (
        b'{"schema":{"type":"struct","fields":[{"type":"int32","optional":true,"default":7,"field":"n"}],'
        b'"optional":false},"payload":{"n":null}}'
    )
    assert convert(impl, [message(data)], conv, conv)[0].value.get_without_default("n") == 7
    conv.configure({"replace.null.with.default": "false"}, False)
    assert convert(impl, [message(data)], conv, conv)[0].value.get_without_default("n") is None


def test_timestamps_and_types(impl: ModuleType) -> None:
    conv = converter(ByteArrayConverter)
    messages = [
        message(b"a", offset=0, timestamp=(0, 0)),
        message(b"b", offset=1, timestamp=(1, 5)),
        message(b"c", offset=2, timestamp=(2, 6)),
        message(b"d", offset=3, timestamp=(1, -1)),
    ]
    records = convert(impl, messages, conv, conv)
    assert [(r.timestamp, r.timestamp_type) for r in records] == [
        (None, TimestampType.NO_TIMESTAMP_TYPE),
        (5, TimestampType.CREATE_TIME),
        (6, TimestampType.LOG_APPEND_TIME),
        (None, TimestampType.CREATE_TIME),
    ]


def test_coordinates_and_original_coordinates(impl: ModuleType) -> None:
    conv = converter(ByteArrayConverter)
    messages = [message(b"x", offset=10), message(b"y", offset=11, topic="other", partition=4)]
    records = convert(impl, messages, conv, conv)
    assert [(r.topic, r.kafka_partition, r.kafka_offset) for r in records] == [("orders", 1, 10), ("other", 4, 11)]
    assert [(r.original_topic, r.original_kafka_partition, r.original_kafka_offset) for r in records] == [
        ("orders", 1, 10), ("other", 4, 11),
    ]


def test_headers_go_through_the_header_converter(impl: ModuleType) -> None:
    conv = converter(ByteArrayConverter)
    messages = [message(b"x", headers=[("n", b"42"), ("s", b"hello"), ("n", None)]), message(b"y")]
    records = convert(impl, messages, conv, conv)
    assert [(h.key, h.value) for h in records[0].headers] == [("n", 42), ("s", "hello"), ("n", None)]
    assert records[0].headers.last_with_name("n").value is None
    assert len(records[1].headers) == 0


def test_generic_converter_is_called_per_record(impl: ModuleType) -> None:
    calls: list[tuple[str, Any]] = []

    class Upper(StringConverter):
        def to_connect_data(self, topic: str, data: bytes | None, headers: Any = None) -> SchemaAndValue:
            calls.append((topic, data))
            return SchemaAndValue(Schema.STRING_SCHEMA, None if data is None else data.decode().upper())

    conv = converter(Upper)
    records = convert(impl, [message(b"a", offset=0), message(b"b", key=b"k", offset=1)], conv, conv)
    assert [(r.key, r.value) for r in records] == [(None, "A"), ("K", "B")]
    assert calls == [("orders", None), ("orders", b"a"), ("orders", b"k"), ("orders", b"b")]


def test_partition_eof_is_skipped(impl: ModuleType) -> None:
    conv = converter(ByteArrayConverter)
    eof = Message(error=KafkaError(KafkaError._PARTITION_EOF), topic="orders", partition=1, offset=3)
    records = convert(impl, [message(b"a", offset=2), eof, message(b"b", offset=3)], conv, conv)
    assert [r.value for r in records] == [b"a", b"b"]


def test_consumer_error_raises_with_position(impl: ModuleType) -> None:
    conv = converter(ByteArrayConverter)
    bad = Message(error=KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART), topic="gone", partition=0, offset=-1)
    with pytest.raises(ConnectError) as info:
        convert(impl, [message(b"a"), bad], conv, conv)
    assert not isinstance(info.value, DataError)
    assert (info.value.index, info.value.topic) == (1, "gone")
    assert "gone" in str(info.value)


def test_retriable_consumer_error_is_retriable(impl: ModuleType) -> None:
    conv = converter(ByteArrayConverter)
    bad = Message(error=KafkaError(KafkaError._TIMED_OUT, retriable=True), topic="t", partition=0, offset=0)
    with pytest.raises(RetriableError):
        convert(impl, [bad], conv, conv)


@pytest.mark.parametrize(
    "kc, vc, key, value, stage",
    [
        (JsonConverter, JsonConverter, b"{bad", b"1", "KEY_CONVERTER"),
        (StringConverter, JsonConverter, b"k", b'{"schema":{"type":"int32","optional":false},"payload":"x"}',
         "VALUE_CONVERTER"),
        (StringConverter, JsonConverter, b"k", b'{"payload":1}', "VALUE_CONVERTER"),
        (StringConverter, IntegerConverter, b"k", b"\x01\x02", "VALUE_CONVERTER"),
    ],
    ids=["malformed-key", "payload-mismatch", "bad-envelope", "short-int"],
)
def test_conversion_errors_name_the_record(
    impl: ModuleType, kc: type, vc: type, key: bytes, value: bytes, stage: str
) -> None:
    key_conv, value_conv = converter(kc, True), converter(vc)
    messages = [message(envelope(0) if vc is JsonConverter else b"\x00\x00\x00\x01", key=b'{"schema":null,"payload":1}' if kc is JsonConverter else b"k", offset=41),
                message(value, key=key, offset=42, partition=3)]
    with pytest.raises(DataError) as info:
        convert(impl, messages, key_conv, value_conv)
    err = info.value
    assert (err.index, err.topic, err.partition, err.offset, err.stage) == (1, "orders", 3, 42, stage)
    text = str(err)
    assert "'orders'" in text and "partition 3" in text and "offset 42" in text and stage in text
    cause = err.__cause__
    assert isinstance(cause, DataError)
    assert str(cause) in text
    if value == b'{"payload":1}':
        assert ENVELOPE_ERROR in text


def test_header_conversion_error(impl: ModuleType) -> None:
    conv = converter(ByteArrayConverter)
    json_headers = JsonConverter()
    json_headers.configure({"converter.type": "header"})
    with pytest.raises(DataError) as info:
        convert(impl, [message(b"x", headers=[("h", b"{not json")], offset=7)], conv, conv, json_headers)
    assert (info.value.stage, info.value.offset, info.value.index) == ("HEADER_CONVERTER", 7, 0)


def test_error_leaves_rest_of_batch_convertible(impl: ModuleType) -> None:
    conv = converter(JsonConverter, **{"schemas.enable": "false"})
    messages = [message(b"1", offset=0), message(b"{", offset=1), message(b"3", offset=2)]
    with pytest.raises(DataError) as info:
        convert(impl, messages, conv, conv)
    index = info.value.index
    before = convert(impl, messages[:index], conv, conv)
    after = convert(impl, messages[index + 1 :], conv, conv)
    assert [r.value for r in before + after] == [1, 3]


def test_empty_batch(impl: ModuleType) -> None:
    conv = converter(ByteArrayConverter)
    assert convert(impl, [], conv, conv) == []
    assert impl.encode_source_records([], conv, conv, header_converter()) == []


# --------------------------------------------------------------------------------------------- source side


PERSON = SchemaBuilder.struct().name("Person").field("name", Schema.STRING_SCHEMA).field(
    "age", Schema.OPTIONAL_INT32_SCHEMA
).build()


def source(impl: ModuleType, value_schema: Any, value: Any, **kw: Any) -> Any:
    return impl.SourceRecord({"p": 1}, {"o": 1}, kw.pop("topic", "out"), kw.pop("partition", None), kw.pop("key_schema", None),
                             kw.pop("key", None), value_schema, value, kw.pop("timestamp", None), kw.pop("headers", None))


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return {"deep": value}


@pytest.mark.parametrize(
    "conv, schema, value",
    [
        (converter(ByteArrayConverter), None, b"raw"),
        (converter(ByteArrayConverter), Schema.OPTIONAL_BYTES_SCHEMA, bytearray(b"ba")),
        (converter(StringConverter), None, "h\u00e9 \ud800"),
        (converter(StringConverter), None, 12),
        (converter(JsonConverter), PERSON, Struct(PERSON).put("name", "Ada").put("age", 36)),
        (converter(JsonConverter), None, {"a": [1, 2.5, None, "x\x01"], "b": {"c": True}}),
        (converter(JsonConverter), Schema.FLOAT64_SCHEMA, 1e20),
        (converter(JsonConverter, **{"schemas.enable": "false"}), PERSON, Struct(PERSON).put("name", "Bo")),
        (converter(JsonConverter, **{"schemas.enable": "false"}), None, {"k": 1e-7, "l": [1, 2]}),
        (converter(JsonConverter, **{"schemas.enable": "false"}), None, {"s": "\\u00ab \\\x1f \\ \x7f \x00"}),
        (converter(JsonConverter, **{"schemas.enable": "false"}), None, {"s": "ends with \\"}),
        (converter(JsonConverter), None, None),
        (converter(JsonConverter, **{"schemas.enable": "false"}), None, {"t": (1, "x", (True, None)), "l": [0.5]}),
        (converter(JsonConverter, **{"schemas.enable": "false"}), None, {"a": {1: "int key"}}),
        (converter(JsonConverter, **{"schemas.enable": "false"}), None, {"n": [float("nan"), float("inf")]}),
        (converter(JsonConverter, **{"schemas.enable": "false"}), None, {"i": [2**63 - 1, -(2**63), 0]}),
        (converter(JsonConverter, **{"schemas.enable": "false"}), None, {"f": [1e7, 9999999.5, 1e-3, 9.9e-4]}),
        (converter(JsonConverter, **{"schemas.enable": "false"}), None, _nested(205)),
    ],
    ids=["bytes", "bytearray", "string", "string-of-int", "json-struct", "json-schemaless-envelope",
         "json-big-double", "json-plain-struct", "json-plain", "json-control-chars", "json-backslash",
         "json-null", "json-tuples", "json-int-key", "json-nan-inf", "json-long-range", "json-float-range",
         "json-deep"],
)
def test_encode_matches_the_converters(impl: ModuleType, conv: Any, schema: Any, value: Any) -> None:
    records = [source(impl, schema, value, timestamp=17, partition=2), source(impl, schema, value)]
    encoded = impl.encode_source_records(records, converter(StringConverter, True), conv, header_converter())
    want = conv.from_connect_data("out", schema, value)
    assert encoded == [("out", 2, None, want, None, 17), ("out", -1, None, want, None, 0)]


def test_encode_headers_in_order(impl: ModuleType) -> None:
    headers = ConnectHeaders().add_string("s", "v").add_int("n", 5).add_bytes("b", None)
    rec = source(impl, None, b"x", headers=headers)
    untouched = source(impl, None, b"y")
    touched = source(impl, None, b"z")
    touched.headers  # noqa: B018 - empty headers, materialised
    conv = converter(ByteArrayConverter)
    encoded = impl.encode_source_records([rec, untouched, touched], conv, conv, header_converter())
    assert encoded[0][4] == [("s", b"v"), ("n", b"5"), ("b", None)]
    assert encoded[1][4] is None and encoded[2][4] is None


@pytest.mark.parametrize(
    "value_schema, value, headers, stage",
    [
        (None, "not bytes", None, "VALUE_CONVERTER"),
        (Schema.STRING_SCHEMA, b"x", None, "VALUE_CONVERTER"),
        (None, b"ok", "bad-header", "HEADER_CONVERTER"),
    ],
)
def test_encode_errors_name_the_record(
    impl: ModuleType, value_schema: Any, value: Any, headers: Any, stage: str
) -> None:
    conv = converter(ByteArrayConverter)
    header_values = None
    hc: Any = header_converter()
    if headers == "bad-header":
        header_values = ConnectHeaders().add_string("h", "v")

        class Failing(SimpleHeaderConverter):
            def from_connect_header(self, topic: str, header_key: str, schema: Any, value: Any) -> bytes | None:
                raise DataError(f"cannot write {header_key}")

        hc = Failing()
    records = [source(impl, None, b"fine"), source(impl, value_schema, value, topic="dest", partition=4, headers=header_values)]
    with pytest.raises(DataError) as info:
        impl.encode_source_records(records, conv, conv, hc)
    err = info.value
    assert (err.index, err.topic, err.partition, err.offset, err.stage) == (1, "dest", 4, None, stage)
    assert "'dest'" in str(err) and "partition 4" in str(err)


def test_encode_key_error_stage(impl: ModuleType) -> None:
    conv = converter(JsonConverter)
    with pytest.raises(DataError) as info:
        impl.encode_source_records([source(impl, None, 1, key_schema=Schema.INT8_SCHEMA, key=1000)], conv, conv, header_converter())
    assert info.value.stage == "KEY_CONVERTER"
    assert "out of range" in str(info.value)


# --------------------------------------------------------------------------------------------- produce loop


class FakeProducer:
    """Records produce() calls; raises BufferError while its queue is 'full'."""

    def __init__(self, capacity: int, fail_on: int | None = None) -> None:
        self.capacity = capacity
        self.queued: list[tuple[Any, ...]] = []
        self.delivered: list[tuple[Any, ...]] = []
        self.polls = 0
        self.fail_on = fail_on

    def produce(self, topic: str, value: Any = None, key: Any = None, partition: int = -1,
                callback: Any = None, on_delivery: Any = None, timestamp: int = 0, headers: Any = None) -> None:
        """confluent-kafka's signature (``callback`` and ``on_delivery`` are aliases)."""
        if self.fail_on is not None and value == self.fail_on:
            raise ValueError("message too large")
        if len(self.queued) >= self.capacity:
            raise BufferError("Local: Queue full")
        self.queued.append((topic, value, key, partition, timestamp, headers, callback or on_delivery))

    def poll(self, timeout: float = -1) -> int:
        self.polls += 1
        served = 0
        for item in self.queued:
            if item[-1] is not None:
                item[-1](None, item)
            self.delivered.append(item)
            served += 1
        self.queued.clear()
        return served


def encoded_batch(n: int) -> list[tuple[Any, ...]]:
    return [("t", i % 3 - 1, b"k%d" % i, i, None if i % 2 else [("h", b"v")], i * 10) for i in range(n)]


def test_produce_batch_retries_when_the_queue_is_full(impl: ModuleType) -> None:
    producer = FakeProducer(capacity=3)
    acked: list[int] = []
    callbacks = [(lambda i: (lambda err, msg: acked.append(i)))(i) for i in range(10)]
    assert impl.produce_batch(producer, encoded_batch(10), callbacks) == 10
    producer.poll()
    assert [item[1] for item in producer.delivered] == list(range(10)), "every record, in order"
    assert sorted(acked) == list(range(10))
    assert producer.polls >= 3
    first = producer.delivered[0]
    assert first[:6] == ("t", 0, b"k0", -1, 0, [("h", b"v")])
    assert producer.delivered[1][:6] == ("t", 1, b"k1", 0, 10, None), "a timestamp without headers"


def test_produce_batch_with_one_callback_and_start(impl: ModuleType) -> None:
    producer = FakeProducer(capacity=100)
    seen: list[Any] = []
    assert impl.produce_batch(producer, encoded_batch(5), lambda err, msg: seen.append(msg[1]), 2) == 3
    producer.poll()
    assert seen == [2, 3, 4]
    assert impl.produce_batch(producer, encoded_batch(2), None) == 2


class KeywordProducer(FakeProducer):
    """A producer that takes the delivery callback only as ``on_delivery=``."""

    def produce(self, topic: str, value: Any, key: Any, partition: int, *,  # type: ignore[override]
                on_delivery: Any, timestamp: int, headers: Any) -> None:
        super().produce(topic, value, key, partition, on_delivery=on_delivery, timestamp=timestamp,
                        headers=headers)


def test_produce_batch_falls_back_to_keywords(impl: ModuleType) -> None:
    producer = KeywordProducer(capacity=100)
    acked: list[int] = []
    assert impl.produce_batch(producer, encoded_batch(4), lambda err, msg: acked.append(msg[1])) == 4
    producer.poll()
    assert acked == [0, 1, 2, 3]
    assert [item[4:6] for item in producer.delivered] == [(0, [("h", b"v")]), (10, None), (20, [("h", b"v")]),
                                                          (30, None)]


def test_produce_batch_reports_a_type_error_once_per_record(impl: ModuleType) -> None:
    class Rejecting(FakeProducer):
        def produce(self, topic: str, value: Any = None, *args: Any, **kw: Any) -> None:
            if value == 2:
                raise TypeError("value must be bytes")
            super().produce(topic, value, *args, **kw)

    producer = Rejecting(capacity=100)
    with pytest.raises(ConnectError) as info:
        impl.produce_batch(producer, encoded_batch(4), None)
    assert (info.value.index, info.value.produced) == (2, 2)
    assert isinstance(info.value.__cause__, TypeError)
    assert [item[1] for item in producer.queued] == [0, 1], "no record is produced twice"


def test_produce_batch_other_errors_say_where(impl: ModuleType) -> None:
    producer = FakeProducer(capacity=100, fail_on=3)
    with pytest.raises(ConnectError) as info:
        impl.produce_batch(producer, encoded_batch(6), None)
    assert (info.value.index, info.value.produced) == (3, 3)
    assert isinstance(info.value.__cause__, ValueError)
    assert "message too large" in str(info.value)


def source_batch(impl: ModuleType, values: list[Any]) -> list[Any]:
    return [impl.SourceRecord({"p": 1}, {"o": i}, "out", i % 2, Schema.INT32_SCHEMA, i,
                              Schema.OPTIONAL_STRING_SCHEMA, v, 1_700_000_000_000 + i if i % 3 else None)
            for i, v in enumerate(values)]


def test_send_source_records_is_encode_then_produce_per_record(impl: ModuleType) -> None:
    records = source_batch(impl, [f"v{i}" for i in range(7)] + [None])
    key_conv, value_conv = converter(IntegerConverter, is_key=True), converter(StringConverter)
    expected = impl.encode_source_records(records, key_conv, value_conv, header_converter())
    producer = FakeProducer(capacity=3)
    acked: list[int] = []
    callbacks = [(lambda i: (lambda err, msg: acked.append(i)))(i) for i in range(len(records))]
    sent = impl.send_source_records(producer, records, key_conv, value_conv, header_converter(), callbacks, 1)
    assert sent == 7
    producer.poll()
    assert [(t, p, k, v, h, ts) for t, v, k, p, ts, h, _ in producer.delivered] == expected[1:]
    assert acked == list(range(1, 8))


def test_send_source_records_stops_at_a_record_that_fails_to_convert(impl: ModuleType) -> None:
    records = source_batch(impl, ["a", "b", 5, "d"])  # 5 is not a string
    key_conv, value_conv = converter(IntegerConverter, is_key=True), converter(JsonConverter)
    producer = FakeProducer(capacity=100)
    with pytest.raises(DataError) as info:
        impl.send_source_records(producer, records, key_conv, value_conv, header_converter(), None)
    assert (info.value.index, info.value.stage) == (2, "VALUE_CONVERTER")
    assert "Invalid type for STRING" in str(info.value)
    sent = [item[1] for item in producer.queued]
    expected = [item[3] for item in impl.encode_source_records(records[:2], key_conv, value_conv, None)]
    assert sent == expected and len(sent) == 2, "the records before it are produced"
    assert impl.send_source_records(producer, records, key_conv, value_conv, header_converter(), None, 3) == 1
    assert len(producer.queued) == 3


def test_send_source_records_produce_errors_say_where(impl: ModuleType) -> None:
    records = source_batch(impl, ["a", "b", "c", "d"])
    key_conv, value_conv = converter(IntegerConverter, is_key=True), converter(StringConverter)
    producer = FakeProducer(capacity=100, fail_on=b"c")
    with pytest.raises(ConnectError) as info:
        impl.send_source_records(producer, records, key_conv, value_conv, header_converter(), None, 1)
    assert (info.value.index, info.value.produced) == (2, 1)
    assert "message too large" in str(info.value)


def test_batch_topics_of_encoded_tuples_and_of_records(impl: ModuleType) -> None:
    records = [source(impl, None, None, topic=t) for t in ("b", "a", "b", "c", "a")]
    assert impl.batch_topics(records) == ["b", "a", "c"]
    assert impl.batch_topics([(r.topic, -1, None, None, None, 0) for r in records]) == ["b", "a", "c"]


# --------------------------------------------------------------------------------- compiled fast paths


@pytest.mark.parametrize("schemas", [True, False])
def test_compiled_json_path_calls_the_converter_once_per_schema(schemas: bool) -> None:
    _core = pytest.importorskip("kcfast._core")
    conv = converter(JsonConverter, **{"schemas.enable": str(schemas).lower()})
    calls: list[bytes | None] = []
    original = conv.to_connect_data

    def counting(topic: str, data: bytes | None, headers: Any = None) -> SchemaAndValue:
        calls.append(data)
        return original(topic, data)

    conv.to_connect_data = counting  # type: ignore[method-assign]
    other = b'{"schema":{"type":"string","optional":false},"payload":"s"}'
    if schemas:
        values = [envelope(i) for i in range(50)] + [other, other] + [envelope(i) for i in range(50)]
    else:
        values = [b'{"a":%d}' % i for i in range(100)]
    records = convert(_core, [message(v, offset=i) for i, v in enumerate(values)], converter(ByteArrayConverter), conv)
    assert len(records) == len(values)
    assert len(calls) == (3 if schemas else 0), "new schemas only: the first, the string one, the first again"


def test_compiled_string_and_bytes_paths_do_not_call_the_converter() -> None:
    _core = pytest.importorskip("kcfast._core")
    for cls in (StringConverter, ByteArrayConverter):
        conv = converter(cls)
        conv.to_connect_data = None  # type: ignore[assignment, method-assign]
        conv.from_connect_data = None  # type: ignore[assignment, method-assign]
        with pytest.raises(TypeError):
            conv.to_connect_data("t", b"")  # type: ignore[misc]
        records = convert(_core, [message(b"abc")], conv, conv)
        assert records[0].value == (b"abc" if cls is ByteArrayConverter else "abc")
        value = b"abc" if cls is ByteArrayConverter else "abc"
        assert _core.encode_source_records([source(_core, None, value)], conv, conv, header_converter())[0][3] == b"abc"


EDGE_SCHEMA = (
    SchemaBuilder.struct()
    .field("i", Schema.INT32_SCHEMA)
    .field("f", Schema.OPTIONAL_FLOAT64_SCHEMA)
    .field("s", Schema.OPTIONAL_STRING_SCHEMA)
    .field("d", SchemaBuilder.int64().optional().default_value(9).build())
    .field("m", SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.BOOLEAN_SCHEMA).optional().build())
    .field("a", SchemaBuilder.array(Schema.INT64_SCHEMA).optional().build())
    .build()
)
EDGE_PAYLOADS = [
    b'{"i":1,"f":2.5,"s":"x","d":3,"m":{"k":true},"a":[1,2]}',
    b'{ "a" : [ ] , "i" : -7 , "m" : { } }',
    b'{"i":1,"s":"caf\\u00e9 \\"q\\""}',
    b'{"i":1,"s":"tab\there"}',
    b'{"i":1,"s":"\xff\xfe"}',
    b'{"i":-0,"f":-0}',
    b'{"i":01}',
    b'{"i":1.0,"f":3}',
    b'{"i":2147483648}',
    b'{"i":1,"a":[9223372036854775807,-9223372036854775808]}',
    b'{"i":1,"a":[9223372036854775808]}',
    b'{"i":1,"f":1e400}',
    b'{"i":1,"f":1E-5,"d":null}',
    b'{"i":1,"zzz":{"nested":[1,2]}}',
    b'{"i":"1","i":2}',
    b'{"i":2,"i":"1"}',
    b'{"f":1.5}',
    b'{"i":1,"m":{"k":1}}',
    b'{"i":1,}',
    b'[1]',
    b'{"i":1} ',
    b'{"i":1}',
]


@pytest.mark.parametrize("payload", EDGE_PAYLOADS)
def test_payload_edge_cases_match_the_converter(impl: ModuleType, payload: bytes) -> None:
    conv = converter(JsonConverter)
    schema_text = conv.schema_bytes(EDGE_SCHEMA)
    first = b'{"schema":' + schema_text + b',"payload":' + EDGE_PAYLOADS[0] + b"}"
    data = b'{"schema":' + schema_text + b',"payload":' + payload + b"}"
    messages = [message(first, offset=0), message(data, offset=1)]
    try:
        want: Any = conv.to_connect_data("orders", data).value
    except DataError as exc:
        want = exc
    if isinstance(want, DataError):
        with pytest.raises(DataError) as info:
            convert(impl, messages, conv, conv)
        assert info.value.index == 1
        assert str(info.value.__cause__) == str(want)
    else:
        assert convert(impl, messages, conv, conv)[1].value == want


def test_batch_topics_in_first_seen_order(impl: ModuleType) -> None:
    def entry(topic: str) -> tuple[Any, ...]:
        return (topic, -1, None, b"v", None, 0)

    same = "orders"
    batch = [entry(same), entry(same), entry("audit"), entry("".join(["ord", "ers"])), entry("audit"), entry("x")]
    assert impl.batch_topics(batch) == ["orders", "audit", "x"]
    assert impl.batch_topics([]) == []


def test_record_topics_are_the_original_topics_in_first_seen_order(impl: ModuleType) -> None:
    raw = [impl.SinkRecord(t, 0, None, None, None, "v", o) for o, t in enumerate(["a", "a", "b", "a", "c"])]
    # A transformed record keeps its original topic: topic tracking counts the topic it was read from.
    routed = raw[2].new_record("routed-b", 0, None, None, None, "v", None)

    class Other:  # a record type of the task's own, with the same attribute
        original_topic = "d"

    assert impl.record_topics(raw) == ["a", "b", "c"]
    assert impl.record_topics([routed, raw[0], Other()]) == ["b", "a", "d"]
    assert impl.record_topics([]) == []
