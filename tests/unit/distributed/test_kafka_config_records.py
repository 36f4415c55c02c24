"""The config store's records (spec 3.1): the exact bytes written, and how records read shape the snapshot."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from kcfast.errors import ConfigError, ConnectError
from kcfast.runtime.herder import RestartRequest
from kcfast.runtime.status import ConnectorTaskId as T
from kcfast.runtime.status import TargetState
from kcfast.storage.kafka_config import (
    KafkaConfigBackingStore,
    SessionKey,
    connector_config_value,
    parse_task_key,
    target_state_value,
)


class Listener:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def on_connector_config_remove(self, connector: str) -> None:
        self.events.append(("remove", connector))

    def on_connector_config_update(self, connector: str) -> None:
        self.events.append(("update", connector))

    def on_task_config_update(self, tasks: list[T]) -> None:
        self.events.append(("tasks", tuple(tasks)))

    def on_connector_target_state_change(self, connector: str) -> None:
        self.events.append(("target", connector))

    def on_session_key_update(self, key: SessionKey) -> None:
        self.events.append(("session", key))

    def on_restart_request(self, request: RestartRequest) -> None:
        self.events.append(("restart", request))

    def on_logging_level_update(self, namespace: str, level: str) -> None:
        self.events.append(("logger", namespace, level))


def store_on(topic: Any, listener: Listener | None = None) -> KafkaConfigBackingStore:
    store = KafkaConfigBackingStore("connect-configs", {}, log_factory=topic.log)
    if listener is not None:
        store.set_update_listener(listener)
    return store


def raw(topic: Any, key: str, value: bytes | None) -> None:
    """A record written by someone else (another worker, an older version)."""
    topic.append(key.encode(), value)


def test_record_bytes() -> None:
    assert (
        connector_config_value({"name": "c", "tasks.max": "1"})
        == b'{"properties":{"name":"c","tasks.max":"1"}}'
    )
    assert target_state_value(TargetState.STARTED) == b'{"state":"STARTED","state.v2":"STARTED"}'
    assert target_state_value(TargetState.PAUSED) == b'{"state":"PAUSED","state.v2":"PAUSED"}'
    assert target_state_value(TargetState.STOPPED) == b'{"state":"PAUSED","state.v2":"STOPPED"}'


def test_create_with_initial_state_writes_target_state_first(fake_topic: Any) -> None:
    topic = fake_topic()
    store = store_on(topic)
    store.start()
    store.put_connector_config("c", {"connector.class": "X"}, TargetState.STOPPED)
    assert [(r.key, r.value) for r in topic.records] == [
        (b"target-state-c", b'{"state":"PAUSED","state.v2":"STOPPED"}'),
        (b"connector-c", b'{"properties":{"connector.class":"X"}}'),
    ]
    snapshot = store.snapshot()
    assert snapshot.raw_connector_config("c") == {"connector.class": "X"}
    assert snapshot.target_state("c") is TargetState.STOPPED
    assert snapshot.offset == 2


def test_task_configs_apply_only_on_a_complete_commit(fake_topic: Any) -> None:
    topic = fake_topic()
    store = store_on(topic)
    store.start()
    store.put_connector_config("my-conn", {"k": "v"})
    store.put_task_configs("my-conn", [{"task.class": "A", "n": "0"}, {"task.class": "A", "n": "1"}])
    assert topic.keys()[1:] == ["task-my-conn-0", "task-my-conn-1", "commit-my-conn"]
    assert topic.records[-1].value == b'{"tasks":2}'
    snapshot = store.snapshot()
    assert snapshot.tasks("my-conn") == [T("my-conn", 0), T("my-conn", 1)]
    assert snapshot.raw_task_config(T("my-conn", 1)) == {"task.class": "A", "n": "1"}
    assert snapshot.applied_connector_config("my-conn") == {"k": "v"}
    assert snapshot.task_config_generations == {"my-conn": 0}

    # task records without their commit change nothing
    raw(topic, "task-my-conn-0", connector_config_value({"task.class": "B"}))
    store.refresh(1)
    assert store.snapshot().raw_task_config(T("my-conn", 0)) == {"task.class": "A", "n": "0"}

    # a commit that names a task whose config was not read leaves the connector inconsistent, without tasks
    raw(topic, "commit-my-conn", b'{"tasks":2}')
    store.refresh(1)
    snapshot = store.snapshot()
    assert snapshot.inconsistent_connectors() == {"my-conn"}
    assert snapshot.tasks("my-conn") == []
    assert snapshot.task_count("my-conn") == 2

    # a complete set repairs it
    store.put_task_configs("my-conn", [{"task.class": "C"}])
    snapshot = store.snapshot()
    assert snapshot.inconsistent_connectors() == set()
    assert snapshot.tasks("my-conn") == [T("my-conn", 0)]
    assert snapshot.raw_task_config(T("my-conn", 0)) == {"task.class": "C"}


def test_stop_writes_an_empty_commit(fake_topic: Any) -> None:
    topic = fake_topic()
    store = store_on(topic)
    store.start()
    store.put_connector_config("c", {})
    store.put_task_configs("c", [{"task.class": "A"}])
    store.remove_task_configs("c")
    assert (topic.records[-1].key, topic.records[-1].value) == (b"commit-c", b'{"tasks":0}')
    assert store.snapshot().tasks("c") == []


def test_deletion_writes_both_tombstones_and_forgets_the_connector(fake_topic: Any) -> None:
    topic = fake_topic()
    store = store_on(topic)
    store.start()
    store.put_connector_config("c", {"a": "b"}, TargetState.PAUSED)
    store.put_task_configs("c", [{"task.class": "A"}])
    store.remove_connector_config("c")
    assert [(r.key, r.value) for r in topic.records[-2:]] == [
        (b"connector-c", None),
        (b"target-state-c", None),
    ]
    snapshot = store.snapshot()
    assert not snapshot.contains("c") and snapshot.tasks("c") == [] and snapshot.target_state("c") is None
    assert not store.contains("c")


def test_task_records_of_a_compacted_away_connector_are_ignored(fake_topic: Any) -> None:
    topic = fake_topic()
    raw(topic, "task-gone-0", connector_config_value({"task.class": "A"}))
    raw(topic, "commit-gone", b'{"tasks":1}')
    store = store_on(topic)
    store.start()
    snapshot = store.snapshot()
    assert snapshot.connectors() == [] and snapshot.task_count("gone") == 0 and snapshot.tasks("gone") == []


def test_target_state_parsing_prefers_v2_and_falls_back_to_state(fake_topic: Any) -> None:
    topic = fake_topic()
    raw(topic, "connector-old", connector_config_value({}))
    raw(topic, "target-state-old", b'{"state":"PAUSED"}')
    raw(topic, "connector-bad", connector_config_value({}))
    raw(topic, "target-state-bad", b'{"state":"PAUSED","state.v2":5}')
    raw(topic, "connector-nope", connector_config_value({}))
    raw(topic, "target-state-nope", b'{"state":"SLEEPING"}')
    raw(topic, "target-state-early", b'{"state":"PAUSED","state.v2":"STOPPED"}')
    store = store_on(topic)
    store.start()
    snapshot = store.snapshot()
    assert snapshot.target_state("old") is TargetState.PAUSED
    assert snapshot.target_state("bad") is TargetState.PAUSED
    assert snapshot.target_state("nope") is TargetState.STARTED
    # a target state written before its connector applies once the connector arrives
    assert snapshot.target_state("early") is None
    raw(topic, "connector-early", connector_config_value({}))
    store.refresh(1)
    assert store.snapshot().target_state("early") is TargetState.STOPPED


def test_task_keys_split_on_dashes() -> None:
    assert parse_task_key("task-my-connector-12") == T("my-connector", 12)
    assert parse_task_key("task-c-0") == T("c", 0)
    assert parse_task_key("task-c") is None
    assert parse_task_key("task-c-x") is None
    assert parse_task_key("task-c-") is None


def test_listener_hears_only_records_read_after_start(fake_topic: Any) -> None:
    topic = fake_topic()
    raw(topic, "connector-a", connector_config_value({}))
    raw(topic, "logger-cluster-org.foo", b'{"level":"DEBUG"}')
    raw(topic, "restart-connector-a", b'{"include-tasks":true,"only-failed":true}')
    listener = Listener()
    store = store_on(topic, listener)
    store.start()
    assert listener.events == []

    store.put_connector_config("b", {"x": "1"})
    store.put_target_state("b", TargetState.PAUSED)
    store.put_target_state("b", TargetState.PAUSED)  # unchanged: no event
    store.put_task_configs("b", [{"task.class": "T"}])
    store.put_restart_request(RestartRequest("b", only_failed=True, include_tasks=False))
    raw(topic, "restart-connector-b", b'{"include-tasks":"yes"}')
    store.put_logger_level("org.bar", "TRACE")
    store.put_session_key(SessionKey(b"\x01\x02\x03", "HmacSHA256", 1700000000000))
    raw(topic, "mystery-key", b"{}")
    store.remove_connector_config("b")
    store.refresh(1)
    assert listener.events == [
        ("update", "b"),
        ("target", "b"),
        ("tasks", (T("b", 0),)),
        ("restart", RestartRequest("b", only_failed=True, include_tasks=False)),
        ("restart", RestartRequest("b", only_failed=False, include_tasks=False)),
        ("logger", "org.bar", "TRACE"),
        ("session", SessionKey(b"\x01\x02\x03", "HmacSHA256", 1700000000000)),
        ("remove", "b"),
    ]


def test_small_record_bytes(fake_topic: Any) -> None:
    topic = fake_topic()
    store = store_on(topic)
    store.start()
    store.put_connector_config("c", {})
    store.put_restart_request(RestartRequest("c", only_failed=False, include_tasks=True))
    store.put_logger_level("org.apache.kafka", "DEBUG")
    store.put_session_key(SessionKey(b"key-bytes", "HmacSHA256", 1234))
    store.put_task_count_record("c", 3)
    values = {r.key: r.value for r in topic.records}
    assert values[b"restart-connector-c"] == b'{"include-tasks":true,"only-failed":false}'
    assert values[b"logger-cluster-org.apache.kafka"] == b'{"level":"DEBUG"}'
    assert (
        values[b"session-key"] == b'{"key":"a2V5LWJ5dGVz","algorithm":"HmacSHA256","creation-timestamp":1234}'
    )
    assert values[b"tasks-fencing-c"] == b'{"task-count":3}'
    snapshot = store.snapshot()
    assert snapshot.session_key == SessionKey(b"key-bytes", "HmacSHA256", 1234)
    assert snapshot.task_count_records == {"c": 3}


def test_invalid_records_are_logged_and_skipped(fake_topic: Any, caplog: pytest.LogCaptureFixture) -> None:
    topic = fake_topic()
    raw(topic, "connector-a", b"not json")
    raw(topic, "connector-b", b'{"properties":"nope"}')
    raw(topic, "session-key", b'{"key":"!!","algorithm":"HmacSHA256","creation-timestamp":1}')
    raw(topic, "connector-c", connector_config_value({"ok": "1"}))
    store = store_on(topic)
    with caplog.at_level(logging.ERROR, logger="kcfast.storage.kafka_config"):
        store.start()
    snapshot = store.snapshot()
    assert snapshot.connectors() == ["c"] and snapshot.session_key is None
    assert "Failed to convert config data" in caplog.text
    assert "'properties' field should be a Map" in caplog.text


def test_more_than_one_partition_is_refused(fake_topic: Any) -> None:
    store = KafkaConfigBackingStore("cfg", {}, log_factory=fake_topic("cfg", partitions=2).log)
    with pytest.raises(
        ConfigError,
        match=r"^Topic 'cfg' supplied via the 'config.storage.topic' property is required "
        r"to have a single partition in order to guarantee consistency of "
        r"connector configurations, but found 2 partitions.$",
    ):
        store.start()


def test_put_target_state_of_a_missing_connector(fake_topic: Any) -> None:
    store = store_on(fake_topic())
    store.start()
    with pytest.raises(ConnectError, match="No connector `x` configured"):
        store.put_target_state("x", TargetState.PAUSED)


def test_failed_write_raises_kafkas_message(fake_topic: Any) -> None:
    topic = fake_topic()
    store = store_on(topic)
    store.start()
    topic.fail_next.append(ConnectError("broker down"))
    with pytest.raises(ConnectError, match="^Error writing connector configuration to Kafka$"):
        store.put_connector_config("c", {})


def test_empty_topic_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Must specify topic for connector configuration."):
        KafkaConfigBackingStore(" ", {})
