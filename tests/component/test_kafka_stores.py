"""The Kafka-topic stores against a real broker: topic creation and validation, read-back by a second store,
and the exact bytes and partitions a plain consumer sees (spec section 3)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from kcfast.errors import ConfigError, ConnectError
from kcfast.kafka.clients import TopicPartition, create_topics, new_admin, new_consumer
from kcfast.kafka.log import KafkaBasedLog, LogRecord, TopicSpec, topic_cleanup_policy
from kcfast.runtime.herder import RestartRequest
from kcfast.runtime.status import ConnectorTaskId as T
from kcfast.runtime.status import State, TargetState
from kcfast.runtime.status_store import ConnectorStatus, TaskStatus, TopicStatus
from kcfast.storage.kafka_config import KafkaConfigBackingStore
from kcfast.storage.kafka_offsets import KafkaOffsetBackingStore
from kcfast.storage.kafka_status import KafkaStatusBackingStore
from kcfast.storage.offsets import OffsetStorageReaderImpl, OffsetStorageWriter
from kcfast.testing import EmbeddedKafka

pytestmark = pytest.mark.integration


def murmur2(data: bytes) -> int:
    """Java's ``Utils.murmur2`` (signed 32-bit result)."""
    m, seed = 0x5BD1E995, 0x9747B28C
    h = (seed ^ len(data)) & 0xFFFFFFFF
    for i in range(len(data) // 4):
        k = int.from_bytes(data[4 * i : 4 * i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail = data[len(data) & ~3 :]
    if len(tail) == 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if len(tail) >= 1:
        h ^= tail[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h - 2**32 if h >= 2**31 else h


def java_partition(key: bytes, partitions: int) -> int:
    """Where Java's default partitioner puts a keyed record."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def test_murmur2_helper_matches_kafkas_vectors() -> None:
    assert murmur2(b"21") == -973932308
    assert murmur2(b"foobar") == -790332482
    assert murmur2(b"a-little-bit-longer-string") == -1486304829
    assert murmur2(b"abc") == 479470107


def read_all(kafka: EmbeddedKafka, topic: str, expected: int, timeout: float = 15.0) -> list[Any]:
    """Every record of ``topic`` through a plain consumer (assign from the beginning, no group)."""
    consumer = new_consumer(
        {
            "bootstrap.servers": kafka.bootstrap_servers,
            "group.id": "kcfast-test-reader",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 50,
        }
    )
    try:
        partitions = sorted(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        consumer.assign([TopicPartition(topic, p, -2) for p in partitions])
        messages: list[Any] = []
        deadline = time.monotonic() + timeout
        while len(messages) < expected and time.monotonic() < deadline:
            msg = consumer.poll(0.1)
            if msg is not None and msg.error() is None:
                messages.append(msg)
        return messages
    finally:
        consumer.close()


def cleanup_policy(kafka: EmbeddedKafka, topic: str) -> list[str]:
    return topic_cleanup_policy(new_admin({"bootstrap.servers": kafka.bootstrap_servers}), topic, 10)


@pytest.fixture
def client(kafka: EmbeddedKafka) -> dict[str, str]:
    return {"bootstrap.servers": kafka.bootstrap_servers}


@pytest.fixture
def stoppers() -> Iterator[list[Any]]:
    started: list[Any] = []
    yield started
    for item in reversed(started):
        item.stop()


# -- the log -------------------------------------------------------------------------------------------------


def test_log_creates_a_compacted_topic_and_keys_land_where_java_puts_them(
    kafka: EmbeddedKafka, topic_name: str, client: dict[str, str], stoppers: list[Any]
) -> None:
    seen: list[LogRecord] = []
    log = KafkaBasedLog(
        topic_name,
        client,
        client,
        seen.append,
        admin_config=client,
        topic_spec=TopicSpec(topic_name, 5, 1, {}, "status.storage.topic", "statuses"),
    )
    log.start()
    stoppers.append(log)
    assert log.partition_count == 5
    assert cleanup_policy(kafka, topic_name) == ["compact"]

    keys = [f"key-{i}".encode() for i in range(40)]
    futures = [log.send(k, b"v" + k) for k in keys]
    log.read_to_end(15)
    assert sorted(r.key for r in seen if r.key is not None) == sorted(keys)
    for future in futures:
        metadata = future.result(timeout=1)
        key = keys[futures.index(future)]
        assert metadata.partition == java_partition(key, 5)

    again: list[LogRecord] = []
    reader = KafkaBasedLog(topic_name, None, client, again.append, admin_config=client)
    reader.start()  # returns once caught up
    stoppers.append(reader)
    assert sorted((r.partition, r.offset, r.key, r.value) for r in again) == sorted(
        (r.partition, r.offset, r.key, r.value) for r in seen
    )


def test_read_only_and_stopped_logs_refuse_work(topic_name: str, client: dict[str, str]) -> None:
    reader = KafkaBasedLog(
        topic_name,
        None,
        client,
        lambda record: None,
        admin_config=client,
        topic_spec=TopicSpec(topic_name, 1, 1),
    )
    reader.start()
    with pytest.raises(ConnectError, match="read-only mode"):
        reader.send(b"k", b"v")
    reader.stop()
    with pytest.raises(ConnectError, match="not running"):
        reader.read_to_end(1)


def test_existing_topic_without_compaction_is_refused(
    kafka: EmbeddedKafka, topic_name: str, client: dict[str, str]
) -> None:
    create_topics(kafka.bootstrap_servers, {topic_name: 3}, {"cleanup.policy": "delete"})
    store = KafkaOffsetBackingStore(topic_name, client, partitions=3, replication_factor=1)
    with pytest.raises(ConfigError) as info:
        store.start()
    assert str(info.value) == (
        f"Topic '{topic_name}' supplied via the 'offset.storage.topic' property is required to have "
        "'cleanup.policy=compact' to guarantee consistency and durability of source connector offsets, but "
        "found the topic currently has 'cleanup.policy=delete'. Continuing would likely result in eventually "
        "losing source connector offsets and problems restarting this Connect cluster in the future. Change "
        "the 'offset.storage.topic' property in the Connect worker configurations to use a topic with "
        "'cleanup.policy=compact'."
    )


# -- config store --------------------------------------------------------------------------------------------


def test_config_store_written_by_one_worker_is_read_by_another(
    kafka: EmbeddedKafka, topic_name: str, client: dict[str, str], stoppers: list[Any]
) -> None:
    writer = KafkaConfigBackingStore(topic_name, client, replication_factor=1, client_id="w1-configs")
    writer.start()
    stoppers.append(writer)
    assert cleanup_policy(kafka, topic_name) == ["compact"]

    writer.put_connector_config(
        "orders", {"connector.class": "FileStreamSource", "file": "/tmp/in"}, TargetState.PAUSED
    )
    writer.put_task_configs(
        "orders", [{"task.class": "A", "file": "/tmp/in"}, {"task.class": "A", "file": "x"}]
    )
    writer.put_connector_config("gone", {"connector.class": "X"})
    writer.remove_connector_config("gone")
    writer.put_connector_config("halted", {"connector.class": "Y"})
    writer.put_target_state("halted", TargetState.STOPPED)
    writer.remove_task_configs("halted")

    reader = KafkaConfigBackingStore(topic_name, client, replication_factor=1, client_id="w2-configs")
    reader.start()
    stoppers.append(reader)
    ours, theirs = writer.snapshot(), reader.snapshot()
    assert theirs == ours
    assert theirs.connectors() == ["halted", "orders"]
    assert theirs.target_state("orders") is TargetState.PAUSED
    assert theirs.target_state("halted") is TargetState.STOPPED
    assert theirs.tasks("orders") == [T("orders", 0), T("orders", 1)]
    assert theirs.raw_task_config(T("orders", 1)) == {"task.class": "A", "file": "x"}
    assert theirs.tasks("halted") == []
    assert theirs.offset == 11

    records = read_all(kafka, topic_name, 11)
    assert [(m.key(), m.value()) for m in records] == [
        (b"target-state-orders", b'{"state":"PAUSED","state.v2":"PAUSED"}'),
        (b"connector-orders", b'{"properties":{"connector.class":"FileStreamSource","file":"/tmp/in"}}'),
        (b"task-orders-0", b'{"properties":{"task.class":"A","file":"/tmp/in"}}'),
        (b"task-orders-1", b'{"properties":{"task.class":"A","file":"x"}}'),
        (b"commit-orders", b'{"tasks":2}'),
        (b"connector-gone", b'{"properties":{"connector.class":"X"}}'),
        (b"connector-gone", None),
        (b"target-state-gone", None),
        (b"connector-halted", b'{"properties":{"connector.class":"Y"}}'),
        (b"target-state-halted", b'{"state":"PAUSED","state.v2":"STOPPED"}'),
        (b"commit-halted", b'{"tasks":0}'),
    ]


def test_config_store_listener_hears_another_workers_writes(
    topic_name: str, client: dict[str, str], stoppers: list[Any]
) -> None:
    events: list[tuple[str, Any]] = []

    class Listener:
        def on_connector_config_update(self, connector: str) -> None:
            events.append(("update", connector))

        def on_task_config_update(self, tasks: list[T]) -> None:
            events.append(("tasks", tuple(tasks)))

        def on_restart_request(self, request: RestartRequest) -> None:
            events.append(("restart", request))

    watcher = KafkaConfigBackingStore(topic_name, client, replication_factor=1)
    watcher.set_update_listener(Listener())  # type: ignore[arg-type]
    watcher.start()
    stoppers.append(watcher)
    writer = KafkaConfigBackingStore(topic_name, client, replication_factor=1)
    writer.start()
    stoppers.append(writer)
    writer.put_connector_config("c", {"k": "v"})
    writer.put_task_configs("c", [{"task.class": "A"}])
    writer.put_restart_request(RestartRequest("c", only_failed=True, include_tasks=True))
    watcher.refresh(15)
    assert events == [
        ("update", "c"),
        ("tasks", (T("c", 0),)),
        ("restart", RestartRequest("c", only_failed=True, include_tasks=True)),
    ]
    assert watcher.snapshot() == writer.snapshot()


def test_config_topic_with_more_than_one_partition_is_refused(
    kafka: EmbeddedKafka, topic_name: str, client: dict[str, str]
) -> None:
    create_topics(kafka.bootstrap_servers, {topic_name: 2}, {"cleanup.policy": "compact"})
    store = KafkaConfigBackingStore(topic_name, client, replication_factor=1)
    with pytest.raises(ConfigError, match="is required to have a single partition .* but found 2 partitions"):
        store.start()


# -- offset store --------------------------------------------------------------------------------------------


def test_offset_store_bytes_partitions_and_read_back(
    kafka: EmbeddedKafka, topic_name: str, client: dict[str, str], stoppers: list[Any]
) -> None:
    store = KafkaOffsetBackingStore(topic_name, client, partitions=25, replication_factor=1)
    store.start()
    stoppers.append(store)
    writer = OffsetStorageWriter(store, "local-file-source")
    for i in range(10):
        writer.offset({"filename": f"/tmp/in-{i}.txt"}, {"position": 100 + i})
    assert writer.begin_flush()
    writer.do_flush().result(timeout=15)  # type: ignore[union-attr]

    records = read_all(kafka, topic_name, 10)
    assert len(records) == 10
    for msg in records:
        assert msg.partition() == java_partition(msg.key(), 25)
    by_key = {m.key(): m.value() for m in records}
    assert by_key[b'["local-file-source",{"filename":"/tmp/in-3.txt"}]'] == b'{"position":103}'

    other = KafkaOffsetBackingStore(topic_name, client, partitions=25, replication_factor=1)
    other.start()
    stoppers.append(other)
    reader = OffsetStorageReaderImpl(other, "local-file-source")
    assert reader.offset({"filename": "/tmp/in-7.txt"}) == {"position": 107}
    assert len(other.connector_partitions("local-file-source")) == 10

    # a tombstone written by one store removes the partition for the other
    store.set({b'["local-file-source",{"filename":"/tmp/in-7.txt"}]': None}).result(timeout=15)
    assert reader.offset({"filename": "/tmp/in-7.txt"}) is None
    assert len(other.connector_partitions("local-file-source")) == 9


# -- status store --------------------------------------------------------------------------------------------


def test_status_store_round_trip(
    kafka: EmbeddedKafka, topic_name: str, client: dict[str, str], stoppers: list[Any]
) -> None:
    store = KafkaStatusBackingStore(topic_name, client, partitions=5, replication_factor=1)
    store.start()
    stoppers.append(store)
    store.put_connector(ConnectorStatus("orders", State.RUNNING, "10.0.0.1:8083", 7))
    store.put_task(
        TaskStatus(T("orders", 0), State.FAILED, "10.0.0.1:8083", 7, "java.lang.RuntimeException: x")
    )
    store.put_topic(TopicStatus("orders-topic", "orders", 0, 1700000000000))
    store.read_to_end(15)
    assert store.get_connector("orders") == ConnectorStatus("orders", State.RUNNING, "10.0.0.1:8083", 7)

    other = KafkaStatusBackingStore(topic_name, client, partitions=5, replication_factor=1)
    other.start()
    stoppers.append(other)
    assert other.get_connector("orders") == store.get_connector("orders")
    assert other.get_all("orders") == store.get_all("orders")
    assert other.get_all_topics("orders") == [TopicStatus("orders-topic", "orders", 0, 1700000000000)]

    values = {m.key(): m.value() for m in read_all(kafka, topic_name, 3)}
    assert values == {
        b"status-connector-orders": b'{"state":"RUNNING","trace":null,"worker_id":"10.0.0.1:8083",'
        b'"generation":7}',
        b"status-task-orders-0": b'{"state":"FAILED","trace":"java.lang.RuntimeException: x",'
        b'"worker_id":"10.0.0.1:8083","generation":7}',
        b"status-topic-orders-topic:connector-orders": b'{"topic":{"name":"orders-topic",'
        b'"connector":"orders","task":0,"discoverTimestamp":1700000000000}}',
    }

    store.put_task(TaskStatus(T("orders", 0), State.DESTROYED, "10.0.0.1:8083", 7))
    store.read_to_end(15)
    other.read_to_end(15)
    assert other.get_all("orders") == []
