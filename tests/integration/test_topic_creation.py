"""Source topic creation: ``topic.creation.*`` groups, and a real ``kcfast standalone`` creating its topics.

The broker tests mirror Kafka's ``SourceConnectorsIntegrationTest``; the first tests check how the groups are
read from a connector configuration and need no broker.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from kcfast.api.config import ConfigDef
from kcfast.errors import ConfigError, ConnectError
from kcfast.kafka import clients
from kcfast.kafka.log import topic_cleanup_policy
from kcfast.runtime.topic_creation import (
    TopicCreation,
    configured_groups,
    create_topic,
    enrich_config_def,
)

DEFAULTS = {"topic.creation.default.replication.factor": "1", "topic.creation.default.partitions": "3"}


# -- reading the groups --------------------------------------------------------------------------------------


def test_groups_are_read_like_kafka() -> None:
    groups = configured_groups(DEFAULTS | {
        "topic.creation.groups": "compacted, default, logs, compacted",
        "topic.creation.default.include": "ignored-.*",  # the default group matches every topic
        "topic.creation.default.exclude": ".*",
        "topic.creation.default.compression.type": "lz4",
        "topic.creation.compacted.include": "orders-.*, users",
        "topic.creation.compacted.exclude": "orders-tmp-.*",
        "topic.creation.compacted.partitions": "-1",
        "topic.creation.compacted.cleanup.policy": "compact",
        "topic.creation.logs.include": "logs-.*",
        "topic.creation.logs.replication.factor": "-1",
    })
    assert list(groups) == ["compacted", "logs", "default"]
    compacted, logs, default = groups["compacted"], groups["logs"], groups["default"]
    assert (compacted.partitions, compacted.replication_factor, compacted.configs) == (
        -1, 1, {"cleanup.policy": "compact"})
    assert (logs.partitions, logs.replication_factor, logs.configs) == (3, -1, {})
    assert (default.include, default.exclude, default.configs) == ([".*"], [], {"compression.type": "lz4"})
    assert compacted.matches("orders-1") and compacted.matches("users")
    assert not compacted.matches("orders-tmp-1") and not compacted.matches("users-2"), "full matches only"

    creation = TopicCreation(default, groups)
    assert creation.find_first_group("orders-9") is compacted
    assert creation.find_first_group("logs-a") is logs
    assert creation.find_first_group("orders-tmp-1") is default
    assert creation.find_first_group("anything") is default


def test_a_group_without_include_matches_nothing() -> None:
    groups = configured_groups(DEFAULTS | {"topic.creation.groups": "empty"})
    assert not groups["empty"].matches("t") and groups["default"].matches("t")


def test_default_settings_are_required() -> None:
    missing = 'Missing required configuration "topic.creation.default.replication.factor" which has no'
    with pytest.raises(ConfigError, match=missing):
        configured_groups({"topic.creation.groups": "g", "topic.creation.default.partitions": "1"})
    with pytest.raises(ConfigError,
                       match="Number of partitions must be positive, or -1 to use the broker's default"):
        configured_groups(DEFAULTS | {"topic.creation.default.partitions": "0"})
    with pytest.raises(ConfigError, match="Replication factor must be positive"):
        configured_groups(DEFAULTS | {"topic.creation.groups": "g",
                                      "topic.creation.g.replication.factor": "-2"})
    with pytest.raises(ConfigError, match="Syntax error in regular expression"):
        configured_groups(DEFAULTS | {"topic.creation.groups": "g", "topic.creation.g.include": "(unclosed"})


def test_validation_reports_each_topic_creation_error() -> None:
    props = {"topic.creation.groups": "g", "topic.creation.g.partitions": "0"}
    values = enrich_config_def(ConfigDef(), props).validate_all(props)
    errors = {name: v.error_messages for name, v in values.items() if v.error_messages}
    # Without the default group's settings, the listed group's have no default either.
    assert set(errors) == {"topic.creation.default.replication.factor", "topic.creation.default.partitions",
                           "topic.creation.g.replication.factor", "topic.creation.g.partitions"}
    # As in Kafka, the validator of an embedded key names the key without its prefix.
    assert errors["topic.creation.g.partitions"] == [
        "Invalid value 0 for configuration partitions: Number of partitions must be positive, or -1 to use "
        "the broker's default"]
    assert not {n for n, v in enrich_config_def(ConfigDef(), DEFAULTS).validate_all(DEFAULTS).items()
                if v.error_messages}


def test_topic_creation_needs_the_worker_switch_and_connector_keys() -> None:
    assert TopicCreation.from_config({}, {"topic": "t"}) is None
    assert TopicCreation.from_config({"topic.creation.enable": "false"}, DEFAULTS) is None
    creation = TopicCreation.from_config({}, DEFAULTS)
    assert creation is not None and creation.default_group.partitions == 3


class _RefusingAdmin:
    def list_topics(self, timeout: float = -1) -> Any:
        class Meta:
            topics: dict[str, Any] = {}
        return Meta()

    def create_topics(self, topics: list[Any], **kwargs: Any) -> Any:
        from concurrent.futures import Future

        fut: Future[None] = Future()
        error = clients.KafkaError(clients.KafkaError.TOPIC_AUTHORIZATION_FAILED)
        fut.set_exception(clients.KafkaException(error))
        return {topics[0].topic: fut}


def test_a_topic_that_cannot_be_created_fails_the_task() -> None:
    groups = configured_groups(DEFAULTS)
    creation = TopicCreation(groups["default"], groups, admin_factory=lambda conf, log: _RefusingAdmin())
    with pytest.raises(ConnectError, match="^Task failed to create new topic orders. Ensure that the task is "
                                           "authorized to create topics or that the topic exists"):
        creation.maybe_create("orders")
    assert creation.is_required("orders")


# -- a worker creating its topics ----------------------------------------------------------------------------


def _partitions(bootstrap: str, topic: str) -> int | None:
    md = clients.cluster_metadata(bootstrap).topics.get(topic)
    return None if md is None or md.error is not None else len(md.partitions)


def _wait_for_topic(bootstrap: str, topic: str, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while (n := _partitions(bootstrap, topic)) is None:
        assert time.monotonic() < deadline, f"topic {topic} was not created"
        time.sleep(0.2)
    return n


def _source(workdir: Path, name: str, topic: str, extra: dict[str, str]) -> Path:
    data = workdir / f"{name}.txt"
    data.write_text("a\nb\n", encoding="utf-8")
    props = {"name": name, "connector.class": "FileStreamSource", "tasks.max": "1", "file": str(data),
             "topic": topic} | extra
    path = workdir / f"{name}.properties"
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()), encoding="utf-8")
    return path


def _count(bootstrap: str, topic: str, partitions: int) -> int:
    consumer = clients.new_consumer({"bootstrap.servers": bootstrap, "group.id": f"it-{uuid.uuid4().hex}"})
    try:
        consumer.assign([clients.TopicPartition(topic, p, 0) for p in range(partitions)])
        got, deadline = 0, time.monotonic() + 30
        while got < 2 and time.monotonic() < deadline:
            got += len([m for m in consumer.consume(100, 0.2) if m.error() is None])
        return got
    finally:
        consumer.close()


@pytest.mark.integration
def test_topics_are_created_with_their_groups_settings(standalone, kafka, workdir: Path,
                                                       topic_name: str) -> None:
    bootstrap = kafka.bootstrap_servers
    plain, compacted = f"{topic_name}-plain", f"{topic_name}-compacted"
    creation = DEFAULTS | {
        "topic.creation.default.partitions": "5",
        "topic.creation.groups": "compacted",
        "topic.creation.compacted.include": ".*-compacted",
        "topic.creation.compacted.partitions": "2",
        "topic.creation.compacted.cleanup.policy": "compact",
    }
    standalone([_source(workdir, "src-plain", plain, creation),
                _source(workdir, "src-compacted", compacted, creation)])

    assert _wait_for_topic(bootstrap, plain) == 5
    assert _wait_for_topic(bootstrap, compacted) == 2
    admin = clients.new_admin({"bootstrap.servers": bootstrap})
    assert topic_cleanup_policy(admin, compacted) == ["compact"]
    assert topic_cleanup_policy(admin, plain) != ["compact"]
    assert _count(bootstrap, plain, 5) == 2 and _count(bootstrap, compacted, 2) == 2


@pytest.mark.integration
def test_existing_topics_are_left_as_they_are(standalone, kafka, workdir: Path, topic_name: str) -> None:
    bootstrap = kafka.bootstrap_servers
    clients.create_topics(bootstrap, {topic_name: 1})
    settings = DEFAULTS | {"topic.creation.default.partitions": "4"}
    standalone([_source(workdir, "src-existing", topic_name, settings)])
    assert _count(bootstrap, topic_name, 1) == 2
    assert _partitions(bootstrap, topic_name) == 1


@pytest.mark.integration
def test_worker_switch_off_leaves_topics_to_the_broker(standalone, kafka, workdir: Path,
                                                       topic_name: str) -> None:
    bootstrap = kafka.bootstrap_servers
    # What the broker gives a topic it creates on its own when a producer writes to it.
    control = f"{topic_name}-control"
    producer = clients.new_producer({"bootstrap.servers": bootstrap})
    producer.produce(control, b"x")
    assert producer.flush(30) == 0
    broker_default = _wait_for_topic(bootstrap, control)

    settings = DEFAULTS | {"topic.creation.default.partitions": str(broker_default + 3)}
    worker = standalone([_source(workdir, "src-off", topic_name, settings)],
                        **{"topic.creation.enable": "false"})
    assert _wait_for_topic(bootstrap, topic_name) == broker_default
    assert _count(bootstrap, topic_name, broker_default) == 2
    log_text = worker.log_path.read_text(encoding="utf-8")
    assert "for the first time. Checking whether topic exists" not in log_text


def test_create_topic_reports_existing_topics() -> None:
    class Existing(_RefusingAdmin):
        def list_topics(self, timeout: float = -1) -> Any:
            class Meta:
                topics: dict[str, Any] = {"orders": None}
            return Meta()

    assert create_topic(Existing(), "orders", 1, 1) is False
