"""The core's DirectProducer (the source tasks' producer) against a real broker: what it writes, its delivery
callbacks, a full queue, failed deliveries, rejected records, settings and logs; and the fallback to
confluent-kafka's producer."""

from __future__ import annotations

import importlib
import logging
import threading
import time
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING

from kcfast.errors import ConnectError
from kcfast.kafka import clients, direct
from kcfast.testing import EmbeddedKafka
from kcfast.testing.embedded import free_port

pytestmark = pytest.mark.integration

NO_EXTENSIONS = direct.unavailable_reason() == "the pure-Python core is in use"
compiled_only = pytest.mark.skipif(NO_EXTENSIONS, reason="KCFAST_NO_EXTENSIONS=1: the compiled core is not under test")


def new_producer(conf: dict[str, Any], log: Any = None) -> Any:
    producer = clients.new_source_producer(conf, log)
    assert type(producer).__name__ == "DirectProducer", direct.unavailable_reason()
    return producer


def consume(bootstrap: str, topic: str, n: int, timeout: float = 60.0) -> list[Any]:
    """Every record of ``topic``, read from the start of each partition (no group to join)."""
    consumer = clients.Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{topic}",
                                 "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([clients.TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        messages: list[Any] = []
        deadline = time.monotonic() + timeout
        while len(messages) < n and time.monotonic() < deadline:
            messages += [m for m in consumer.consume(num_messages=n, timeout=0.5) if m.error() is None]
        return messages
    finally:
        consumer.close()


@compiled_only
def test_records_arrive_as_encoded(kafka: EmbeddedKafka, topic_name: str) -> None:
    core = importlib.import_module("kcfast._core")
    clients.create_topics(kafka.bootstrap_servers, {topic_name: 3})
    encoded = [
        (topic_name, i % 3 if i % 4 else -1, None if i % 5 == 0 else b"k%d" % i,
         None if i % 7 == 0 and i % 5 else b"v%d" % i,
         [("origin", b"f%d" % (i % 3)), ("empty", None)] if i % 2 else None, 1_700_000_000_000 + i if i % 3 else 0)
        for i in range(40)
    ]
    tracker = core.SubmittedRecords()
    submitted = tracker.submit_all([core.SourceRecord({"p": 0}, {"o": i}, topic_name, None, None, None, None, None)
                                    for i in range(20)])
    seen: list[Any] = []
    callbacks: list[Any] = list(submitted[:20]) + [lambda err, msg: seen.append((err, msg))] * 20
    producer = new_producer({"bootstrap.servers": kafka.bootstrap_servers, "linger.ms": 5})
    before = time.time()
    assert core.produce_batch(producer, encoded, callbacks) == 40
    assert producer.flush(30) == 0 and len(producer) == 0
    assert tracker.in_flight == 0, "every SubmittedRecord was acknowledged"
    assert seen == [(None, None)] * 20, "other callbacks get no error and no message"
    committable = tracker.committable_offsets()
    assert committable.num_committable_messages == 20
    assert [offset for _, offset in committable.offsets.items()] == [{"o": 19}]

    # Every record has a key or a value of its own (tombstones and keyless records included).
    received = {(m.key(), m.value()): m for m in consume(kafka.bootstrap_servers, topic_name, 40)}
    assert len(received) == 40
    for topic, partition, key, value, headers, timestamp in encoded:
        message = received[(key, value)]
        if partition != -1:
            assert message.partition() == partition
        if timestamp:
            assert message.timestamp()[1] == timestamp
        else:
            assert message.timestamp()[1] >= int(before * 1000) - 1000, "no timestamp: the time of sending"
        assert (message.headers() or None) == headers


@compiled_only
def test_a_submitted_batch_is_acknowledged_as_a_whole(kafka: EmbeddedKafka, topic_name: str) -> None:
    """The batch submit_all returns, given as the callbacks: records are acknowledged per partition in order,
    and the tracker's records stay valid while their messages are in flight, even once the batch is gone."""
    import gc

    core = importlib.import_module("kcfast._core")
    clients.create_topics(kafka.bootstrap_servers, {topic_name: 2})
    producer = new_producer({"bootstrap.servers": kafka.bootstrap_servers, "linger.ms": 20})
    tracker = core.SubmittedRecords()
    parts = [{"table": "a"}, {"table": "b"}]
    records = [core.SourceRecord(parts[i % 3 == 0], {"o": i}, topic_name, i % 2, None, None, None, b"%d" % i)
               for i in range(500)]
    batch = tracker.submit_all(records)
    encoded = [(r.topic, r.kafka_partition, None, r.value, None, 0) for r in records]
    assert core.produce_batch(producer, encoded, batch) == 500
    assert tracker.in_flight == 500
    del batch
    gc.collect()
    assert producer.flush(30) == 0
    assert tracker.in_flight == 0
    committable = tracker.committable_offsets()
    assert committable.num_committable_messages == 500
    assert sorted((p["table"], o["o"]) for p, o in committable.offsets.items()) == [("a", 499), ("b", 498)]
    assert sorted(int(m.value()) for m in consume(kafka.bootstrap_servers, topic_name, 500)) == list(range(500))
    with pytest.raises(ValueError, match="2 submitted records for 3 records"):
        core.produce_batch(producer, encoded[:3], tracker.submit_all(records[:2]))


@compiled_only
def test_send_source_records_encodes_and_produces_in_turn(kafka: EmbeddedKafka, topic_name: str) -> None:
    """Records go out in order through the converters; one that fails to convert stops the call, after the
    records before it were produced and before any after it."""
    from kcfast.converters import JsonConverter, StringConverter
    from kcfast.data import Schema
    from kcfast.errors import DataError

    core = importlib.import_module("kcfast._core")
    producer = new_producer({"bootstrap.servers": kafka.bootstrap_servers, "linger.ms": 5})
    key_conv, value_conv = StringConverter(), JsonConverter()
    key_conv.configure({}, True)
    value_conv.configure({"schemas.enable": "false"}, False)
    values: list[Any] = [{"n": i} for i in range(300)]
    values[200] = {"n": object()}  # no Connect schema type: the converter refuses it
    tracker = core.SubmittedRecords()
    records = [core.SourceRecord({"p": 0}, {"o": i}, topic_name, 0, Schema.STRING_SCHEMA, f"k{i}", None, v)
               for i, v in enumerate(values)]
    batch = tracker.submit_all(records)
    with pytest.raises(DataError) as info:
        core.send_source_records(producer, records, key_conv, value_conv, None, batch)
    assert (info.value.index, info.value.stage) == (200, "VALUE_CONVERTER")
    assert producer.flush(30) == 0
    assert tracker.in_flight == 100, "the 200 records before it were produced and acknowledged"
    assert core.send_source_records(producer, records, key_conv, value_conv, None, batch, 201) == 99
    batch[200].drop()
    assert producer.flush(30) == 0 and tracker.in_flight == 0
    assert list(tracker.committable_offsets().offsets.values()) == [{"o": 299}]
    received = consume(kafka.bootstrap_servers, topic_name, 299)
    assert [(m.key(), m.value()) for m in received] == [
        (b"k%d" % i, b'{"n":%d}' % i) for i in range(300) if i != 200]


@compiled_only
def test_a_failed_record_of_a_submitted_batch_reaches_on_failure() -> None:
    import gc

    core = importlib.import_module("kcfast._core")
    producer = new_producer({"bootstrap.servers": f"127.0.0.1:{free_port()}", "message.timeout.ms": 300,
                             "reconnect.backoff.ms": 50})
    tracker = core.SubmittedRecords()
    failures: list[Any] = []
    tracker.on_failure = lambda sub, err, msg: failures.append((sub.source_offset, sub.acked, err.code(), msg))
    records = [core.SourceRecord({"p": 0}, {"o": i}, "t", None, None, None, None, b"v") for i in range(3)]
    encoded = [(r.topic, -1, None, r.value, None, 0) for r in records]
    assert core.produce_batch(producer, encoded, tracker.submit_all(records)) == 3
    assert tracker.in_flight == 3 and tracker.committable_offsets().num_committable_messages == 0
    # The producer keeps the records it has in flight: the reports still find them once the task's tracker
    # is gone.
    del tracker
    gc.collect()
    assert producer.flush(10) == 0
    assert sorted(f[0]["o"] for f in failures) == [0, 1, 2]
    assert {f[1:] for f in failures} == {(False, clients.KafkaError._MSG_TIMED_OUT, None)}


@compiled_only
def test_a_full_queue_is_polled_and_nothing_is_dropped(kafka: EmbeddedKafka, topic_name: str) -> None:
    core = importlib.import_module("kcfast._core")
    producer = new_producer({"bootstrap.servers": kafka.bootstrap_servers, "queue.buffering.max.messages": 5})
    acked: list[int] = []
    callbacks = [(lambda i: lambda err, msg: acked.append(i) if err is None else None)(i) for i in range(300)]
    encoded = [(topic_name, 0, None, b"%d" % i, None, 0) for i in range(300)]
    assert core.produce_batch(producer, encoded, callbacks) == 300
    assert producer.flush(30) == 0
    assert sorted(acked) == list(range(300))
    assert [int(m.value()) for m in consume(kafka.bootstrap_servers, topic_name, 300)] == list(range(300))


@compiled_only
def test_failed_deliveries_reach_the_callbacks_and_the_tracker(caplog: pytest.LogCaptureFixture) -> None:
    core = importlib.import_module("kcfast._core")
    caplog.set_level(logging.INFO, logger="kcfast.librdkafka")
    # Nothing listens on this port: every record times out.
    producer = new_producer({"bootstrap.servers": f"127.0.0.1:{free_port()}", "message.timeout.ms": 300,
                             "reconnect.backoff.ms": 50})
    tracker = core.SubmittedRecords()
    failures: list[Any] = []
    tracker.on_failure = lambda sub, err, msg: failures.append((sub, err, msg))
    (sub,) = tracker.submit_all([core.SourceRecord({"p": 0}, {"o": 1}, "t", None, None, None, None, b"v")])
    errors: list[Any] = []
    assert core.produce_batch(producer, [("t", -1, None, b"v", None, 0), ("t", -1, None, b"w", None, 0)],
                              [sub, lambda err, msg: errors.append((err, msg))]) == 2
    assert producer.flush(10) == 0
    assert len(failures) == 1 and failures[0][0] is sub and failures[0][2] is None
    assert failures[0][1].code() == clients.KafkaError._MSG_TIMED_OUT
    assert "timed out" in failures[0][1].str().lower()
    assert len(errors) == 1 and errors[0][0].code() == clients.KafkaError._MSG_TIMED_OUT
    assert tracker.committable_offsets().num_committable_messages == 0, "a failed record is never committable"
    # librdkafka's own log lines reach Python logging, with the client's name.
    assert any(r.name == "kcfast.librdkafka" and producer.name in r.getMessage() for r in caplog.records)


@compiled_only
def test_a_record_librdkafka_rejects_says_which(kafka: EmbeddedKafka, topic_name: str) -> None:
    core = importlib.import_module("kcfast._core")
    producer = new_producer({"bootstrap.servers": kafka.bootstrap_servers, "message.max.bytes": 2000})
    acked: list[Any] = []
    encoded = [(topic_name, 0, None, b"small", None, 0), (topic_name, 0, None, b"x" * 5000, None, 0)]
    with pytest.raises(ConnectError) as info:
        core.produce_batch(producer, encoded, lambda err, msg: acked.append(err))
    assert (info.value.index, info.value.produced) == (1, 1)
    cause = info.value.__cause__
    assert isinstance(cause, clients.KafkaException)
    assert cause.args[0].code() == clients.KafkaError.MSG_SIZE_TOO_LARGE
    assert producer.flush(30) == 0
    assert acked == [None], "the record before it was sent; the rejected one has no callback left behind"
    # Later records still get their own callbacks.
    later: list[str] = []
    assert core.produce_batch(producer, [encoded[0], encoded[0]], [lambda err, msg: later.append("a"),
                                                                    lambda err, msg: later.append("b")]) == 2
    assert producer.flush(30) == 0
    assert sorted(later) == ["a", "b"] and acked == [None]


@compiled_only
def test_settings(kafka: EmbeddedKafka, caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.direct")
    with caplog.at_level(logging.WARNING, logger="test.direct"):
        producer = new_producer({"bootstrap.servers": kafka.bootstrap_servers, "acks": "all",
                                 "enable.idempotence": True, "linger.ms": 5, "no.such.setting": "x"}, log)
    assert producer.ignored == ["no.such.setting"]
    assert "Client setting no.such.setting is not known to librdkafka; ignored" in caplog.text
    with pytest.raises(clients.KafkaException, match="acks"):
        clients.new_source_producer({"bootstrap.servers": kafka.bootstrap_servers, "acks": "several"})
    # A Python callback among the settings needs confluent-kafka's producer.
    fallback = clients.new_source_producer({"bootstrap.servers": kafka.bootstrap_servers,
                                            "stats_cb": lambda stats: None, "statistics.interval.ms": 1000})
    assert isinstance(fallback, clients.Producer)
    producer.close()
    with pytest.raises(RuntimeError, match="closed"):
        producer.poll(0)


def test_switched_off_or_pure_core_falls_back_to_confluent_kafka(kafka: EmbeddedKafka,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KCFAST_DIRECT_PRODUCER", "0")
    assert direct.unavailable_reason() == "KCFAST_DIRECT_PRODUCER is off"
    producer = clients.new_source_producer({"bootstrap.servers": kafka.bootstrap_servers})
    assert isinstance(producer, clients.Producer)
    monkeypatch.delenv("KCFAST_DIRECT_PRODUCER")
    if NO_EXTENSIONS:
        assert isinstance(clients.new_source_producer({"bootstrap.servers": kafka.bootstrap_servers}),
                          clients.Producer)
    else:
        assert direct.unavailable_reason() is None


@compiled_only
def test_str_and_bytes_like_keys_values_and_headers_are_sent_as_bytes(kafka: EmbeddedKafka, topic_name: str) -> None:
    core = importlib.import_module("kcfast._core")
    producer = new_producer({"bootstrap.servers": kafka.bootstrap_servers})
    encoded = [(topic_name, 0, bytearray(b"k1"), "välue", [("h", memoryview(b"hv")), ("s", "text")], 0)]
    assert core.produce_batch(producer, encoded, None) == 1
    assert producer.flush(30) == 0
    (message,) = consume(kafka.bootstrap_servers, topic_name, 1)
    assert (message.key(), message.value()) == (b"k1", "välue".encode())
    assert message.headers() == [("h", b"hv"), ("s", b"text")]


@compiled_only
def test_two_threads_polling_lose_no_report(kafka: EmbeddedKafka, topic_name: str) -> None:
    core = importlib.import_module("kcfast._core")
    producer = new_producer({"bootstrap.servers": kafka.bootstrap_servers, "linger.ms": 1})
    acked: list[int] = []
    done = threading.Event()

    def keep_flushing() -> None:
        while not done.is_set():
            producer.flush(0.05)

    other = threading.Thread(target=keep_flushing)
    other.start()
    try:
        for batch in range(20):
            encoded = [(topic_name, -1, None, b"%d" % (batch * 100 + i), None, 0) for i in range(100)]
            callbacks = [(lambda n: lambda err, msg: acked.append(n) if err is None else None)(batch * 100 + i)
                         for i in range(100)]
            assert core.produce_batch(producer, encoded, callbacks) == 100
            producer.poll(0)
    finally:
        done.set()
        other.join()
    assert producer.flush(30) == 0
    assert sorted(acked) == list(range(2000)), "every report delivered once"


@compiled_only
def test_a_raising_callback_does_not_cost_the_others_their_report(kafka: EmbeddedKafka, topic_name: str) -> None:
    core = importlib.import_module("kcfast._core")
    producer = new_producer({"bootstrap.servers": kafka.bootstrap_servers})
    called: list[int] = []

    def callback(n: int) -> Any:
        def delivered(err: Any, msg: Any) -> None:
            called.append(n)
            if n == 3:
                raise ValueError("callback 3 failed")
        return delivered

    encoded = [(topic_name, 0, None, b"%d" % i, None, 0) for i in range(10)]
    assert core.produce_batch(producer, encoded, [callback(i) for i in range(10)]) == 10
    with pytest.raises(ValueError, match="callback 3 failed"):
        while len(called) < 10:
            producer.poll(0.1)
    producer.flush(10)
    assert sorted(called) == list(range(10))
    # Later records still get their reports.
    assert core.produce_batch(producer, encoded[:2], [callback(10), callback(11)]) == 2
    assert producer.flush(10) == 0
    assert sorted(called) == list(range(12))
