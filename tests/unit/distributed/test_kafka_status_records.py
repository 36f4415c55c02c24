"""The status store's records (spec 3.3) and its write rules, on an in-memory topic."""

from __future__ import annotations

from typing import Any

import pytest

from kcfast.errors import ConnectError, RetriableError
from kcfast.runtime.status import ConnectorTaskId as T
from kcfast.runtime.status import State
from kcfast.runtime.status_store import ConnectorStatus, TaskStatus, TopicStatus
from kcfast.storage.kafka_status import (
    KafkaStatusBackingStore,
    parse_task_status_key,
    status_value,
    topic_status_value,
)


def store_on(topic: Any) -> KafkaStatusBackingStore:
    store = KafkaStatusBackingStore("connect-status", {}, log_factory=topic.log)
    store.start()
    return store


def test_status_bytes() -> None:
    assert (
        status_value(ConnectorStatus("c", State.RUNNING, "host:8083", 7))
        == b'{"state":"RUNNING","trace":null,"worker_id":"host:8083","generation":7}'
    )
    assert (
        status_value(TaskStatus(T("c", 0), State.FAILED, "h:1", 2, "Traceback\n  line"))
        == b'{"state":"FAILED","trace":"Traceback\\n  line","worker_id":"h:1","generation":2}'
    )
    assert status_value(ConnectorStatus("c", State.DESTROYED, "h:1", 2)) is None
    assert (
        topic_status_value(TopicStatus("orders", "c", 1, 1700000000123))
        == b'{"topic":{"name":"orders","connector":"c","task":1,"discoverTimestamp":1700000000123}}'
    )
    assert topic_status_value(None) is None


def test_keys_and_read_back(fake_topic: Any) -> None:
    topic = fake_topic(partitions=5)
    store = store_on(topic)
    store.put_connector(ConnectorStatus("my-conn", State.RUNNING, "h:1", 3))
    store.put_task(TaskStatus(T("my-conn", 2), State.RUNNING, "h:1", 3))
    store.put_topic(TopicStatus("orders", "my-conn", 2, 99))
    assert sorted(topic.keys()) == [
        "status-connector-my-conn",
        "status-task-my-conn-2",
        "status-topic-orders:connector-my-conn",
    ]
    assert store.get_connector("my-conn") is None  # visible once read back, as in Kafka
    store.read_to_end()
    assert store.get_connector("my-conn") == ConnectorStatus("my-conn", State.RUNNING, "h:1", 3)
    assert store.get_task(T("my-conn", 2)) == TaskStatus(T("my-conn", 2), State.RUNNING, "h:1", 3)
    assert store.get_all("my-conn") == [TaskStatus(T("my-conn", 2), State.RUNNING, "h:1", 3)]
    assert store.get_topic("my-conn", "orders") == TopicStatus("orders", "my-conn", 2, 99)
    assert store.connectors() == {"my-conn"}

    other = store_on(topic)  # another worker reading the same topic
    assert other.get_all("my-conn") == store.get_all("my-conn")
    assert other.get_all_topics("my-conn") == [TopicStatus("orders", "my-conn", 2, 99)]


def test_destroyed_and_deleted_topics_are_tombstones(fake_topic: Any) -> None:
    topic = fake_topic()
    store = store_on(topic)
    store.put_connector(ConnectorStatus("c", State.RUNNING, "h:1", 1))
    store.put_task(TaskStatus(T("c", 0), State.RUNNING, "h:1", 1))
    store.put_task(TaskStatus(T("c", 1), State.RUNNING, "h:1", 1))
    store.put_topic(TopicStatus("t", "c", 0, 5))
    store.read_to_end()
    store.put_task(TaskStatus(T("c", 1), State.DESTROYED, "h:1", 1))
    store.delete_topic("c", "t")
    store.read_to_end()
    assert [(r.key, r.value) for r in topic.records[-2:]] == [
        (b"status-task-c-1", None),
        (b"status-topic-t:connector-c", None),
    ]
    assert [s.id for s in store.get_all("c")] == [T("c", 0)]
    assert store.get_all_topics("c") == []
    # a connector tombstone forgets its tasks too
    store.put_connector(ConnectorStatus("c", State.DESTROYED, "h:1", 1))
    store.read_to_end()
    assert store.get_connector("c") is None and store.get_all("c") == [] and "c" not in store.connectors()


def test_put_safe_does_not_overwrite_a_newer_generation_of_another_worker(fake_topic: Any) -> None:
    topic = fake_topic()
    store = store_on(topic)
    store.put_task(TaskStatus(T("c", 0), State.RUNNING, "new-owner:1", 8))
    store.read_to_end()
    store.put_task_safe(TaskStatus(T("c", 0), State.UNASSIGNED, "old-owner:1", 7))
    store.put_connector_safe(ConnectorStatus("c", State.RUNNING, "old-owner:1", 7))
    store.read_to_end()
    assert store.get_task(T("c", 0)) == TaskStatus(T("c", 0), State.RUNNING, "new-owner:1", 8)
    assert topic.keys() == ["status-task-c-0", "status-connector-c"]
    # same worker, or a newer generation, may write
    store.put_task_safe(TaskStatus(T("c", 0), State.PAUSED, "new-owner:1", 8))
    store.put_task_safe(TaskStatus(T("c", 0), State.FAILED, "third:1", 9, "boom"))
    store.read_to_end()
    assert store.get_task(T("c", 0)) == TaskStatus(T("c", 0), State.FAILED, "third:1", 9, "boom")


def test_stale_unassigned_does_not_hide_running(fake_topic: Any) -> None:
    topic = fake_topic()
    store = store_on(topic)
    store.put_task(TaskStatus(T("c", 0), State.RUNNING, "a:1", 5))
    store.put_task(TaskStatus(T("c", 0), State.UNASSIGNED, "b:1", 5))
    store.read_to_end()
    assert store.get_task(T("c", 0)).state is State.RUNNING  # type: ignore[union-attr]
    store.put_task(TaskStatus(T("c", 0), State.UNASSIGNED, "b:1", 6))
    store.read_to_end()
    assert store.get_task(T("c", 0)).state is State.UNASSIGNED  # type: ignore[union-attr]


def test_task_status_keys() -> None:
    assert parse_task_status_key("status-task-my-conn-3") == T("my-conn", 3)
    assert parse_task_status_key("status-task-c-0") == T("c", 0)
    assert parse_task_status_key("status-task-c") is None
    assert parse_task_status_key("status-task-c-x") is None


def test_records_from_others_with_bad_shapes_are_skipped(fake_topic: Any) -> None:
    topic = fake_topic()
    topic.append(b"status-connector-a", b'{"state":"NOPE","trace":null,"worker_id":"w","generation":1}')
    topic.append(b"status-connector-b", b"[1]")
    topic.append(b"status-topic-:connector-c", b"{}")
    topic.append(b"status-topic-t:connector-", b"{}")
    topic.append(b"other", b"{}")
    topic.append(b"status-connector-ok", b'{"state":"PAUSED","trace":null,"worker_id":"w:1","generation":2}')
    store = store_on(topic)
    assert store.get_connector("a") is None and store.get_connector("b") is None
    assert store.get_connector("ok") == ConnectorStatus("ok", State.PAUSED, "w:1", 2)


def test_retriable_failures_are_sent_again(fake_topic: Any) -> None:
    topic = fake_topic()
    store = store_on(topic)
    topic.fail_next.append(RetriableError("not enough replicas"))
    store.put_connector(ConnectorStatus("c", State.RUNNING, "w:1", 1))
    store.stop()  # waits for the retry thread
    assert topic.keys() == ["status-connector-c"] and topic.sent == 2


def test_non_retriable_failures_are_only_logged(fake_topic: Any) -> None:
    topic = fake_topic()
    store = store_on(topic)
    topic.fail_next.append(ConnectError("record too large"))
    store.put_connector(ConnectorStatus("c", State.RUNNING, "w:1", 1))
    store.stop()
    assert topic.records == [] and topic.sent == 1


def test_retry_is_dropped_when_a_newer_generation_wrote_meanwhile(
    fake_topic: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = fake_topic()
    store = store_on(topic)
    log = store._log
    real_send = log.send

    def send_after_newer_write(key: bytes, value: bytes | None, callback: Any = None) -> Any:
        # another status of a newer generation is written before this one's failure is handled
        monkeypatch.setattr(log, "send", real_send)
        store.put_task(TaskStatus(T("c", 0), State.RUNNING, "w:1", 2))
        topic.fail_next.append(RetriableError("timeout"))
        return real_send(key, value, callback)

    monkeypatch.setattr(log, "send", send_after_newer_write)
    store.put_connector(ConnectorStatus("c", State.RUNNING, "w:1", 1))
    store.stop()
    assert topic.keys() == ["status-task-c-0"]
    assert topic.sent == 2  # the failed generation-1 write was not sent again


def test_empty_topic_name_is_a_config_error() -> None:
    from kcfast.errors import ConfigError

    with pytest.raises(ConfigError, match="Must specify topic for connector status."):
        KafkaStatusBackingStore("", {})
