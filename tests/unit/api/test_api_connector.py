"""Default behaviours of connectors, tasks, contexts and small API types."""

from __future__ import annotations

import importlib
from collections.abc import Collection, Mapping
from typing import Any

import pytest

from kcfast import api
from kcfast.api import (
    ConfigData,
    ConfigDef,
    ConfigProvider,
    ConfigValidation,
    ConfigValue,
    Connector,
    ConnectorContext,
    ConnectorTransactionBoundaries,
    NonEmptyString,
    OffsetStorageReader,
    SinkConnector,
    SinkTask,
    SinkTaskContext,
    SourceConnector,
    SourceTask,
    SourceTaskContext,
    Task,
    TopicPartition,
    TransactionBoundary,
    Type,
    group_partitions,
)
from kcfast.api.common import RecordMetadata
from kcfast.api.health import ConnectorHealth, ConnectorState, ConnectorType, TaskState
from kcfast.errors import ConnectError

CONFIG_DEF = ConfigDef().define("topic", Type.STRING, validator=NonEmptyString())


class RecordingContext(ConnectorContext):
    def __init__(self) -> None:
        self.reconfigurations = 0
        self.errors: list[BaseException] = []

    def request_task_reconfiguration(self) -> None:
        self.reconfigurations += 1

    def raise_error(self, error: BaseException) -> None:
        self.errors.append(error)


class NoopSourceTask(SourceTask):
    def version(self) -> str:
        return "1"

    def start(self, props: Mapping[str, str]) -> None:
        pass

    def poll(self) -> None:
        return None

    def stop(self) -> None:
        pass


class EventSource(SourceConnector):
    def __init__(self) -> None:
        self.events: list[Any] = []

    def version(self) -> str:
        return "1.2.3"

    def start(self, props: Mapping[str, str]) -> None:
        self.events.append(("start", dict(props)))

    def task_class(self) -> type[Task]:
        return NoopSourceTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [{}]

    def stop(self) -> None:
        self.events.append("stop")

    def config(self) -> ConfigDef:
        return CONFIG_DEF


class NullConfigSink(SinkConnector):
    def version(self) -> str:
        return "0"

    def start(self, props: Mapping[str, str]) -> None:
        pass

    def task_class(self) -> type[Task]:
        return SinkTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return []

    def stop(self) -> None:
        pass

    def config(self) -> ConfigDef:
        return None  # type: ignore[return-value]


class TestConnector:
    def test_reconfigure_is_stop_then_start(self) -> None:
        connector = EventSource()
        connector.reconfigure({"topic": "t"})
        assert connector.events == ["stop", ("start", {"topic": "t"})]

    def test_default_validate_uses_config_def(self) -> None:
        result = EventSource().validate({"topic": ""})
        assert isinstance(result, ConfigValidation)
        assert result.config_values() == [
            ConfigValue("topic", "", [], ["Invalid value  for configuration topic: String must be non-empty"])
        ]
        assert list(result) == result.config_values()

    def test_validate_with_null_config_def(self) -> None:
        with pytest.raises(ConnectError) as info:
            NullConfigSink().validate({})
        assert str(info.value) == (
            f"{__name__}.NullConfigSink.config() must return a ConfigDef that is not null."
        )

    def test_context_after_initialize(self) -> None:
        connector = EventSource()
        with pytest.raises(ConnectError, match="has not been initialized"):
            _ = connector.context
        context = RecordingContext()
        connector.initialize(context, [{"task": "config"}])
        assert connector.context is context
        connector.context.request_task_reconfiguration()
        assert context.reconfigurations == 1

    def test_source_defaults(self) -> None:
        connector = EventSource()
        assert connector.exactly_once_support({}) is None
        assert connector.can_define_transaction_boundaries({}) is ConnectorTransactionBoundaries.UNSUPPORTED
        assert connector.alter_offsets({}, [({"file": "x"}, {"position": 1})]) is False

    def test_sink_defaults(self) -> None:
        assert NullConfigSink().alter_offsets({}, {TopicPartition("t", 0): 5}) is False
        assert SinkConnector.TOPICS_CONFIG == "topics"
        assert SinkConnector.TOPICS_REGEX_CONFIG == "topics.regex"
        assert SinkTask.TOPICS_CONFIG == "topics"
        assert SinkTask.TOPICS_REGEX_CONFIG == "topics.regex"

    def test_abstract_methods_are_enforced(self) -> None:
        class Incomplete(SourceConnector):
            def version(self) -> str:
                return "1"

        with pytest.raises(TypeError):
            Incomplete()  # type: ignore[abstract]
        with pytest.raises(TypeError):
            Connector()  # type: ignore[abstract]


class FlushRecordingSink(SinkTask):
    def __init__(self) -> None:
        self.flushed: list[Mapping[TopicPartition, int]] = []

    def version(self) -> str:
        return "1"

    def start(self, props: Mapping[str, str]) -> None:
        pass

    def put(self, records: Collection[Any]) -> None:
        pass

    def flush(self, current_offsets: Mapping[TopicPartition, int]) -> None:
        self.flushed.append(dict(current_offsets))

    def stop(self) -> None:
        pass


class TestTasks:
    def test_pre_commit_flushes_and_returns_same_offsets(self) -> None:
        task = FlushRecordingSink()
        offsets = {TopicPartition("t", 0): 10, TopicPartition("t", 1): 3}
        assert task.pre_commit(offsets) is offsets
        assert task.flushed == [offsets]
        task.open([TopicPartition("t", 0)])
        task.close([TopicPartition("t", 0)])

    def test_source_task_defaults(self) -> None:
        task = NoopSourceTask()
        task.commit()
        task.commit_record(object(), None)  # type: ignore[arg-type]
        with pytest.raises(ConnectError, match="has not been initialized"):
            _ = task.context
        assert SourceTask.TRANSACTION_BOUNDARY_CONFIG == "transaction.boundary"

    def test_contexts_optional_members(self) -> None:
        class SinkCtx(SinkTaskContext):
            def configs(self) -> dict[str, str]:
                return {}

            def offset(self, offsets_or_tp: Any, offset: int | None = None) -> None:
                pass

            def timeout(self, timeout_ms: int) -> None:
                pass

            def assignment(self) -> set[TopicPartition]:
                return set()

            def pause(self, *partitions: TopicPartition) -> None:
                pass

            def resume(self, *partitions: TopicPartition) -> None:
                pass

            def request_commit(self) -> None:
                pass

        class Reader(OffsetStorageReader):
            def offset(self, partition: Mapping[str, Any]) -> dict[str, Any] | None:
                return {"position": 7} if partition.get("filename") == "a" else None

        class SourceCtx(SourceTaskContext):
            def configs(self) -> dict[str, str]:
                return {"k": "v"}

            def offset_storage_reader(self) -> OffsetStorageReader:
                return Reader()

        assert SinkCtx().errant_record_reporter() is None
        source_context = SourceCtx()
        assert source_context.transaction_context() is None
        reader = source_context.offset_storage_reader()
        assert reader.offsets([{"filename": "a"}, {"filename": "b"}]) == [
            ({"filename": "a"}, {"position": 7}),
            ({"filename": "b"}, None),
        ]
        task = NoopSourceTask()
        task.initialize(source_context)
        assert task.context.configs() == {"k": "v"}

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("poll", TransactionBoundary.POLL),
            (" Interval ", TransactionBoundary.INTERVAL),
            ("CONNECTOR", TransactionBoundary.CONNECTOR),
        ],
    )
    def test_transaction_boundary_from_property(self, text: str, expected: TransactionBoundary) -> None:
        assert TransactionBoundary.from_property(text) is expected
        assert str(expected) == expected.name.lower()

    def test_transaction_boundary_errors_and_default(self) -> None:
        with pytest.raises(ValueError, match="No enum constant"):
            TransactionBoundary.from_property("sometimes")
        assert TransactionBoundary.DEFAULT is TransactionBoundary.POLL  # type: ignore[attr-defined]


class TestSmallTypes:
    def test_topic_partition_is_hashable_value(self) -> None:
        tp = TopicPartition("orders", 3)
        assert {tp: 1}[TopicPartition("orders", 3)] == 1
        assert str(tp) == "orders-3"
        assert tp.topic == "orders" and tp.partition == 3

    def test_record_metadata(self) -> None:
        assert RecordMetadata("t", 0, 42, 1000).has_offset()
        assert not RecordMetadata("t", 0).has_offset()

    @pytest.mark.parametrize(
        ("count", "groups", "expected"),
        [
            (5, 2, [[0, 1, 2], [3, 4]]),
            (2, 3, [[0], [1], []]),
            (6, 3, [[0, 1], [2, 3], [4, 5]]),
            (0, 2, [[], []]),
        ],
    )
    def test_group_partitions(self, count: int, groups: int, expected: list[list[int]]) -> None:
        assert group_partitions(list(range(count)), groups) == expected

    def test_group_partitions_rejects_no_groups(self) -> None:
        with pytest.raises(ValueError, match="Number of groups must be positive."):
            group_partitions([1], 0)

    def test_health_types(self) -> None:
        assert str(ConnectorType.SOURCE) == "source"
        health = ConnectorHealth(
            "c",
            ConnectorState("RUNNING", "host:8083"),
            {0: TaskState(0, "FAILED", "host:8083", "trace")},
            ConnectorType.SINK,
        )
        assert health.tasks_state[0].trace_message == "trace"
        with pytest.raises(ValueError, match="Worker ID must not be null or empty"):
            ConnectorState("RUNNING", " ")

    def test_config_provider_defaults(self) -> None:
        class Static(ConfigProvider):
            def get(self, path: str, keys: Any = None) -> ConfigData:
                data = {"user": "u", "password": "p"}
                return ConfigData({k: v for k, v in data.items() if keys is None or k in keys}, ttl=1000)

        provider = Static()
        provider.configure({})
        assert provider.get("/secrets", ["user", "missing"]) == ConfigData({"user": "u"}, 1000)
        assert ConfigData().data == {} and ConfigData().ttl is None
        with pytest.raises(NotImplementedError):
            provider.subscribe("/secrets", ["user"], lambda path, data: None)
        with pytest.raises(NotImplementedError):
            provider.unsubscribe_all()
        provider.close()

    def test_unknown_attribute(self) -> None:
        with pytest.raises(AttributeError):
            _ = api.NoSuchThing  # type: ignore[attr-defined]


def test_record_types_are_reexported_from_the_core() -> None:
    core = importlib.import_module("kcfast.core")
    from kcfast.api import records

    assert api.SourceRecord is core.SourceRecord
    assert api.SinkRecord is core.SinkRecord
    assert records.TimestampType is core.TimestampType
    assert records.ConnectRecord is core.ConnectRecord
