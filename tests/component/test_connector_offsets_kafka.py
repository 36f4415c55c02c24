"""A connector's own offsets topic against a real broker: created from the worker's ``offset.storage.*``
settings, written with Kafka's key bytes and partitioning, read back by a fresh store, falling back on the
worker topic, and shared by connectors naming the same topic."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kcfast.config import WorkerConfig
from kcfast.kafka.clients import new_admin
from kcfast.kafka.log import topic_cleanup_policy
from kcfast.runtime import offsets_api
from kcfast.storage.connector_offset_store import SourceOffsetStores
from kcfast.storage.kafka_offsets import KafkaOffsetBackingStore
from kcfast.storage.offsets import OffsetStorageReaderImpl, OffsetStorageWriter
from kcfast.testing import EmbeddedKafka
from test_kafka_stores import java_partition, read_all  # the sibling module's broker helpers

pytestmark = pytest.mark.integration


@pytest.fixture
def config(kafka: EmbeddedKafka, topic_name: str) -> WorkerConfig:
    return WorkerConfig(
        {
            "bootstrap.servers": kafka.bootstrap_servers,
            "group.id": f"g-{topic_name}",
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "config.storage.topic": f"{topic_name}-configs",
            "status.storage.topic": f"{topic_name}-status",
            "offset.storage.topic": f"{topic_name}-offsets",
            "offset.storage.partitions": "3",
            "offset.storage.replication.factor": "1",
            "offset.storage.retention.ms": "3600000",
        },
        distributed=True,
    )


@pytest.fixture
def worker_store(config: WorkerConfig) -> Iterator[KafkaOffsetBackingStore]:
    store = KafkaOffsetBackingStore.from_worker_config(config)
    store.start()
    yield store
    store.stop()


def flush(store: Any, connector: str, offsets: dict[str, int | None]) -> None:
    writer = OffsetStorageWriter(store, connector)
    for name, position in offsets.items():
        writer.offset({"file": name}, None if position is None else {"position": position})
    assert writer.begin_flush()
    writer.do_flush().result(timeout=20)  # type: ignore[union-attr]


def test_own_topic_is_created_written_like_kafka_and_read_back_with_fallback(
    kafka: EmbeddedKafka, config: WorkerConfig, worker_store: KafkaOffsetBackingStore, topic_name: str
) -> None:
    own = f"{topic_name}-own"
    stores = SourceOffsetStores(config, worker_store)
    assert stores.permitted
    props = {"offsets.storage.topic": own}
    # an offset written before the connector had its own topic
    flush(worker_store, "src", {"old": 5})

    store = stores.open("src", "src", props)
    try:
        admin = new_admin({"bootstrap.servers": kafka.bootstrap_servers})
        assert topic_cleanup_policy(admin, own, 10) == ["compact"]
        assert len(admin.list_topics(own, timeout=10).topics[own].partitions) == 3
        flush(store, "src", {"a": 10, "b": 20})
        reader = OffsetStorageReaderImpl(store, "src")
        assert reader.offset({"file": "old"}) == {"position": 5}
        assert reader.offset({"file": "a"}) == {"position": 10}
    finally:
        stores.close("src")

    records = read_all(kafka, own, 2)
    by_key = {m.key(): m.value() for m in records}
    assert by_key == {
        b'["src",{"file":"a"}]': b'{"position":10}',
        b'["src",{"file":"b"}]': b'{"position":20}',
    }
    assert all(m.partition() == java_partition(m.key(), 3) for m in records)
    # the worker topic holds the copies as well as the older offset
    worker_keys = {m.key() for m in read_all(kafka, str(config.get_string("offset.storage.topic")), 3)}
    assert b'["src",{"file":"a"}]' in worker_keys and b'["src",{"file":"old"}]' in worker_keys

    # a fresh worker's store (another process) sees the same offsets through the REST read
    other_worker = KafkaOffsetBackingStore.from_worker_config(config)
    other_worker.start()
    try:
        again = SourceOffsetStores(config, other_worker)
        with again.opened("src", props) as fresh:
            body = offsets_api.read_source_offsets(fresh, "src")
        assert sorted((o["partition"]["file"], o["offset"]["position"]) for o in body["offsets"]) == [
            ("a", 10), ("b", 20), ("old", 5)]
        # a reset writes tombstones to both topics: nothing is found afterwards, not even the older offset
        with again.opened("src", props) as fresh:
            message = offsets_api.modify_source_offsets(fresh, _NoAlter(), "src", props, None)
        assert "reset successfully" in message
        with again.opened("src", props) as fresh:
            assert offsets_api.read_source_offsets(fresh, "src") == {"offsets": []}
            assert OffsetStorageReaderImpl(fresh, "src").offset({"file": "old"}) is None
        again.close_all()
    finally:
        other_worker.stop()


class _NoAlter:
    def alter_offsets(self, _config: dict[str, str], _offsets: Any) -> bool:
        return False


def test_connectors_naming_one_topic_share_its_store(
    kafka: EmbeddedKafka, config: WorkerConfig, worker_store: KafkaOffsetBackingStore, topic_name: str
) -> None:
    own = f"{topic_name}-shared"
    stores = SourceOffsetStores(config, worker_store)
    one = stores.open("one", "one", {"offsets.storage.topic": own})
    two = stores.open(("two", 0), "two", {"offsets.storage.topic": own})
    try:
        assert stores.shared.users(own) == 2
        flush(one, "one", {"x": 1})
        flush(two, "two", {"x": 2})
        assert OffsetStorageReaderImpl(two, "one").offset({"file": "x"}) == {"position": 1}
        assert [p for p in two.connector_partitions("two")] == [{"file": "x"}]
    finally:
        stores.close_all()
    assert stores.shared.users(own) == 0
    assert len(read_all(kafka, own, 2)) == 2
