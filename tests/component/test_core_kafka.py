"""The record core against a real broker: a source batch encoded, produced and acknowledged through
delivery callbacks; a sink batch consumed, converted, tracked and committed. Both implementations."""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

import pytest

from kcfast.converters import JsonConverter, SimpleHeaderConverter, StringConverter
from kcfast.data import ConnectHeaders, Schema, SchemaBuilder, Struct
from kcfast.kafka import clients
from kcfast.testing import EmbeddedKafka

pytestmark = pytest.mark.integration

PERSON = (
    SchemaBuilder.struct().name("Person").field("name", Schema.STRING_SCHEMA)
    .field("age", Schema.OPTIONAL_INT32_SCHEMA).field("tags", SchemaBuilder.array(Schema.STRING_SCHEMA).build())
    .build()
)
N = 60
PARTITIONS = 2


def converters() -> tuple[StringConverter, JsonConverter, SimpleHeaderConverter]:
    keys = StringConverter()
    keys.configure({}, True)
    values = JsonConverter()
    values.configure({}, False)
    headers = SimpleHeaderConverter()
    headers.configure({})
    return keys, values, headers


def person(i: int) -> Struct:
    return Struct(PERSON).put("name", f"p{i}").put("age", None if i % 5 == 0 else i).put("tags", ["a", str(i)])


def source_batch(impl: ModuleType, topic: str) -> list[Any]:
    return [
        impl.SourceRecord(
            {"file": f"f{i % 3}"}, {"line": i}, topic, i % PARTITIONS, Schema.STRING_SCHEMA, f"k{i}", PERSON, person(i),
            1_700_000_000_000 + i, ConnectHeaders().add_string("origin", f"f{i % 3}") if i % 2 else None,
        )
        for i in range(N)
    ]


def produce(impl: ModuleType, kafka: EmbeddedKafka, topic: str) -> Any:
    """Encode and produce a source batch; the delivery callbacks acknowledge the submitted records."""
    keys, values, headers = converters()
    records = source_batch(impl, topic)
    tracker = impl.SubmittedRecords()
    submitted = tracker.submit_all(records)
    failures: list[Any] = []

    def on_delivery(sub: Any) -> Any:
        def callback(err: Any, msg: Any) -> None:
            if err is None:
                sub.ack()
            else:
                failures.append(err)

        return callback

    # A small queue makes the producer refuse records (BufferError) so the core must poll and retry.
    producer = clients.Producer({"bootstrap.servers": kafka.bootstrap_servers, "queue.buffering.max.messages": 7,
                                 "linger.ms": 5})
    encoded = impl.encode_source_records(records, keys, values, headers)
    assert impl.produce_batch(producer, encoded, [on_delivery(s) for s in submitted]) == N
    assert producer.flush(30) == 0
    assert not failures
    assert tracker.await_all_messages(10) is True
    return tracker


def consume_all(consumer: Any, n: int, timeout: float = 60.0) -> list[Any]:
    messages: list[Any] = []
    deadline = time.monotonic() + timeout
    while sum(1 for m in messages if m.error() is None) < n and time.monotonic() < deadline:
        messages += consumer.consume(num_messages=n, timeout=0.5)
    return messages


def test_source_batch_then_sink_batch(impl: ModuleType, kafka: EmbeddedKafka, topic_name: str) -> None:
    clients.create_topics(kafka.bootstrap_servers, {topic_name: PARTITIONS})

    tracker = produce(impl, kafka, topic_name)
    committable = tracker.committable_offsets()
    assert dict((p["file"], o["line"]) for p, o in committable.offsets.items()) == {"f0": 57, "f1": 58, "f2": 59}
    assert (committable.num_committable_messages, committable.num_uncommittable_messages) == (N, 0)
    assert tracker.in_flight == 0

    group = f"connect-{topic_name}"
    consumer = clients.Consumer({
        "bootstrap.servers": kafka.bootstrap_servers, "group.id": group, "auto.offset.reset": "earliest",
        "enable.auto.commit": False, "session.timeout.ms": 6000, "enable.partition.eof": True,
    })
    try:
        consumer.subscribe([topic_name])
        keys, values, headers = converters()
        messages = consume_all(consumer, N)
        records = impl.sink_records_from_messages(messages, keys, values, headers)
        assert len(records) == N, "partition-EOF events are skipped"
        by_key = {r.key: r for r in records}
        for i in range(N):
            rec = by_key[f"k{i}"]
            assert rec.value == person(i)
            assert rec.value_schema == PERSON
            assert rec.kafka_partition == i % PARTITIONS
            assert rec.timestamp == 1_700_000_000_000 + i
            assert [(h.key, h.value) for h in rec.headers] == ([("origin", f"f{i % 3}")] if i % 2 else [])

        offsets = impl.SinkOffsets()
        offsets.update(records)
        last = {}
        for r in records:
            last[(r.topic, r.kafka_partition)] = r.kafka_offset
        assert offsets.consumed == {tp: off + 1 for tp, off in last.items()}
        # A task's pre_commit may hold a partition back: commit one offset lower on partition 0.
        held = {tp: (off - 1 if tp[1] == 0 else off) for tp, off in offsets.snapshot().items()}
        to_commit = offsets.set_committable(held)
        consumer.commit(offsets=[clients.TopicPartition(t, p, o) for (t, p), o in to_commit.items()], asynchronous=False)
        offsets.set_committed()
        committed = consumer.committed([clients.TopicPartition(topic_name, p) for p in range(PARTITIONS)], timeout=10)
        assert {(c.topic, c.partition): c.offset for c in committed} == to_commit
        assert not offsets.has_uncommitted()
    finally:
        consumer.close()
