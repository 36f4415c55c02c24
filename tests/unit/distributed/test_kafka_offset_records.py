"""The Kafka offsets store on an in-memory topic: raw bytes in, the same bytes out, tombstones, callbacks."""

from __future__ import annotations

from typing import Any

import pytest

from kcfast.errors import ConfigError, ConnectError
from kcfast.storage.kafka_offsets import KafkaOffsetBackingStore
from kcfast.storage.offsets import OffsetStorageReaderImpl, OffsetStorageWriter, connector_offsets


def store_on(topic: Any) -> KafkaOffsetBackingStore:
    store = KafkaOffsetBackingStore("connect-offsets", {}, log_factory=topic.log)
    store.start()
    return store


def test_writer_bytes_reach_the_topic_and_another_store(fake_topic: Any) -> None:
    topic = fake_topic(partitions=25)
    store = store_on(topic)
    writer = OffsetStorageWriter(store, "local-file-source")
    writer.offset({"filename": "/tmp/in.txt"}, {"position": 12})
    assert writer.begin_flush()
    writer.do_flush().result(timeout=1)  # type: ignore[union-attr]
    assert [(r.key, r.value) for r in topic.records] == [
        (b'["local-file-source",{"filename":"/tmp/in.txt"}]', b'{"position":12}')
    ]

    other = store_on(topic)
    reader = OffsetStorageReaderImpl(other, "local-file-source")
    assert reader.offset({"filename": "/tmp/in.txt"}) == {"position": 12}
    assert connector_offsets(other, "local-file-source") == [({"filename": "/tmp/in.txt"}, {"position": 12})]


def test_get_reads_to_the_end_and_tombstones_remove(fake_topic: Any) -> None:
    topic = fake_topic()
    store = store_on(topic)
    topic.append(b'["c",{"p":1}]', b'{"o":1}')  # written by another worker
    assert store.get([b'["c",{"p":1}]', b"missing"]) == {b'["c",{"p":1}]': b'{"o":1}', b"missing": None}
    assert store.connector_partitions("c") == [{"p": 1}]
    store.set({b'["c",{"p":1}]': None}).result(timeout=1)
    assert store.get([b'["c",{"p":1}]']) == {b'["c",{"p":1}]': None}
    assert store.connector_partitions("c") == []


def test_set_reports_completion_once(fake_topic: Any) -> None:
    topic = fake_topic()
    store = store_on(topic)
    calls: list[Any] = []
    store.set({b"a": b"1", b"b": b"2"}, lambda e, r: calls.append(e)).result(timeout=1)
    assert calls == [None]

    calls.clear()
    topic.fail_next.append(ConnectError("boom"))
    future = store.set({b"x": b"1", b"y": b"2"}, lambda e, r: calls.append(e))
    with pytest.raises(ConnectError, match="boom"):
        future.result(timeout=1)
    assert len(calls) == 1 and isinstance(calls[0], ConnectError)

    calls.clear()
    store.set({}, lambda e, r: calls.append(e)).result(timeout=1)
    assert calls == [None]


def test_missing_topic_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Offset storage topic must be specified"):
        KafkaOffsetBackingStore("", {})
