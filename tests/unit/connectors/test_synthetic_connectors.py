"""The synthetic source and the discarding sink, driven directly with fake contexts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from connector_fakes import FakeSinkTaskContext, FakeSourceTaskContext

from kcfast.api import SinkRecord
from kcfast.connectors.synthetic import (
    DiscardSinkConnector,
    DiscardSinkTask,
    SyntheticSourceConnector,
    SyntheticSourceTask,
)
from kcfast.data import Schema, Struct
from kcfast.errors import ConfigError, ConnectError


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def task_configs(max_tasks: int = 1, **props: str) -> list[dict[str, str]]:
    connector = SyntheticSourceConnector()
    connector.start({"name": "gen", "topic": "synthetic", **props})
    return connector.task_configs(max_tasks)


def started_task(
    context: FakeSourceTaskContext, config: dict[str, str], clock: FakeClock | None = None
) -> SyntheticSourceTask:
    task = SyntheticSourceTask(clock) if clock is not None else SyntheticSourceTask()
    task.max_wait_seconds = 0.0
    task.initialize(context)
    task.start(config)
    return task


def drain(task: SyntheticSourceTask, polls: int = 10) -> Iterator[list[Any]]:
    for _ in range(polls):
        batch = task.poll()
        if batch is None:
            return
        yield batch


def test_task_configs_name_each_task() -> None:
    configs = task_configs(3, records="10")
    assert [(c["synthetic.task.id"], c["synthetic.task.count"]) for c in configs] == [
        ("0", "3"),
        ("1", "3"),
        ("2", "3"),
    ]
    assert all(c["topic"] == "synthetic" and c["records"] == "10" for c in configs)


def test_bad_config_is_rejected() -> None:
    with pytest.raises(
        ConfigError, match="Invalid value random for configuration key: String must be one of: none, sequence"
    ):
        task_configs(key="random")
    with pytest.raises(ConfigError, match="Value must be at least -1"):
        task_configs(records="-2")


def test_generates_batches_with_schema(source_context: FakeSourceTaskContext) -> None:
    (config,) = task_configs(records="5", **{"batch.size": "2", "value.size": "16"})
    task = started_task(source_context, config)
    batches = list(drain(task))
    assert [len(b) for b in batches] == [2, 2, 1]
    records = [r for b in batches for r in b]
    assert [r.source_offset for r in records] == [{"sequence": n} for n in range(5)]
    first = records[0]
    assert first.source_partition == {"synthetic": "synthetic", "task": 0}
    assert first.topic == "synthetic"
    assert first.key is None and first.key_schema is None
    assert isinstance(first.value, Struct)
    first.value.validate()
    assert first.value_schema.name == "kcfast.synthetic.Value"
    assert [f.name for f in first.value_schema.fields] == ["task", "sequence", "timestamp", "payload"]
    assert first.value.get("sequence") == 0
    assert first.value.get("payload") == "x" * 16
    assert task.poll() is None


def test_schemaless_with_sequence_keys(source_context: FakeSourceTaskContext) -> None:
    (config,) = task_configs(records="3", schema="false", key="sequence", **{"value.size": "0"})
    records = [r for b in drain(started_task(source_context, config)) for r in b]
    assert [r.key for r in records] == [0, 1, 2]
    assert records[2].key_schema is None and records[2].value_schema is None
    assert records[2].value["sequence"] == 2
    assert records[2].value["payload"] == ""
    assert set(records[2].value) == {"task", "sequence", "timestamp", "payload"}


def test_sequence_keys_have_int64_schema(source_context: FakeSourceTaskContext) -> None:
    (config,) = task_configs(records="1", key="sequence")
    (record,) = next(drain(started_task(source_context, config)))
    assert record.key == 0
    assert record.key_schema == Schema.INT64_SCHEMA


def test_restart_resumes_after_last_committed(source_context: FakeSourceTaskContext) -> None:
    (config,) = task_configs(records="5", **{"batch.size": "3"})
    task = started_task(source_context, config)
    source_context.commit_records(task.poll())
    task.stop()
    assert task.poll() is None  # stopped
    restarted = started_task(source_context, config)
    rest = [r for b in drain(restarted) for r in b]
    assert [r.source_offset["sequence"] for r in rest] == [3, 4]


def test_tasks_share_the_records(source_context: FakeSourceTaskContext) -> None:
    configs = task_configs(2, records="5")
    counts = []
    partitions = []
    for config in configs:
        records = [r for b in drain(started_task(FakeSourceTaskContext(), config)) for r in b]
        counts.append(len(records))
        partitions.append(records[0].source_partition)
    assert counts == [3, 2]
    assert partitions == [{"synthetic": "synthetic", "task": 0}, {"synthetic": "synthetic", "task": 1}]


@pytest.mark.parametrize(("per_task", "expected"), [("true", [[0, 0], [1, 1]]), ("false", [[None, None], [None, None]])])
def test_partition_per_task(per_task: str, expected: list[list[int | None]]) -> None:
    configs = task_configs(2, records="4", **{"partition.per.task": per_task})
    chosen = [
        [r.kafka_partition for b in drain(started_task(FakeSourceTaskContext(), config)) for r in b]
        for config in configs
    ]
    assert chosen == expected


def test_unbounded_keeps_generating(source_context: FakeSourceTaskContext) -> None:
    (config,) = task_configs(**{"batch.size": "50"})
    task = started_task(source_context, config)
    batches = [task.poll() for _ in range(4)]
    assert [b[-1].source_offset["sequence"] for b in batches if b] == [49, 99, 149, 199]


def test_rate_limits_records_per_second(source_context: FakeSourceTaskContext) -> None:
    clock = FakeClock()
    (config,) = task_configs(rate="10", **{"batch.size": "100"})
    task = started_task(source_context, config, clock)
    assert task.poll() is None  # nothing due at the start
    clock.now += 0.5
    assert len(task.poll() or []) == 5
    assert task.poll() is None
    clock.now += 0.25
    assert len(task.poll() or []) == 2
    clock.now += 5
    assert len(task.poll() or []) == 50  # catches up with the records due so far
    clock.now += 60
    assert len(task.poll() or []) == 100  # but never more than batch.size at once


def test_rate_is_shared_between_tasks(source_context: FakeSourceTaskContext) -> None:
    clock = FakeClock()
    config = task_configs(2, rate="10")[1]
    task = started_task(source_context, config, clock)
    clock.now += 1.0
    assert len(task.poll() or []) == 5


def test_stored_offset_of_wrong_type(source_context: FakeSourceTaskContext) -> None:
    source_context.reader.commit({"synthetic": "synthetic", "task": 0}, {"sequence": "7"})
    (config,) = task_configs()
    with pytest.raises(ConnectError, match="incorrect type"):
        started_task(source_context, config)


class TestDiscardSink:
    def test_counts_per_connector(self, sink_context: FakeSinkTaskContext) -> None:
        DiscardSinkTask.reset_counts()
        connector = DiscardSinkConnector()
        connector.start({"name": "drop", "topics": "t"})
        assert connector.config().config_keys() == {}
        tasks = []
        for config in connector.task_configs(2):
            task = DiscardSinkTask()
            task.initialize(sink_context)
            task.start(config)
            tasks.append(task)
        tasks[0].put([SinkRecord("t", 0, None, None, None, i, i) for i in range(3)])
        tasks[1].put([])
        tasks[1].put([SinkRecord("t", 1, None, None, None, "x", 0)])
        assert [t.records for t in tasks] == [3, 1]
        assert DiscardSinkTask.count("drop") == 4
        assert DiscardSinkTask.count("other") == 0
        DiscardSinkTask.reset_counts()
        assert DiscardSinkTask.count("drop") == 0
