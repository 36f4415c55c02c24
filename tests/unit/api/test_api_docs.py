"""The examples of docs/api.md run, and behave as the text says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kcfast.api import OffsetStorageReader, SinkRecord, SourceTaskContext, TopicPartition

DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"


def _examples() -> dict[str, Any]:
    pytest.importorskip("kcfast.data", reason="kcfast.data is not importable yet")
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert len(blocks) == 2
    namespace: dict[str, Any] = {"__name__": "api_doc_examples"}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace


class StoredOffsets(OffsetStorageReader):
    def __init__(self, stored: dict[str, Any] | None) -> None:
        self.stored = stored

    def offset(self, partition: Any) -> dict[str, Any] | None:
        return self.stored


class Context(SourceTaskContext):
    def __init__(self, stored: dict[str, Any] | None) -> None:
        self.reader = StoredOffsets(stored)

    def configs(self) -> dict[str, str]:
        return {}

    def offset_storage_reader(self) -> OffsetStorageReader:
        return self.reader


def test_every_java_section_is_in_the_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in (
        "Connector",
        "SourceTask",
        "SinkTaskContext",
        "ConfigDef",
        "SchemaBuilder",
        "ConnectHeaders",
        "JsonConverter",
        "Transformation",
        "Predicate",
        "OffsetStorageReader",
        "ErrantRecordReporter",
    ):
        assert f"`{name}" in text, name  # fmt: skip


def test_source_example_resumes_from_stored_offset() -> None:
    ns = _examples()
    connector = ns["CounterSourceConnector"]()
    assert [v.error_messages for v in connector.validate({"topic": "", "max.count": "-1"})] == [
        ["Invalid value  for configuration topic: String must be non-empty"],
        ["Invalid value -1 for configuration max.count: Value must be at least 0"],
    ]
    connector.start({"topic": "numbers", "max.count": "25"})
    (config,) = connector.task_configs(4)

    task = ns["CounterSourceTask"]()
    task.initialize(Context({"next": 20}))
    task.start(config)
    records = task.poll()
    assert [r.value for r in records] == [20, 21, 22, 23, 24]
    assert records[-1].source_offset == {"next": 25}
    assert records[0].topic == "numbers"
    assert task.poll() is None


def test_sink_example_writes_on_flush() -> None:
    ns = _examples()
    connector = ns["ListSinkConnector"]()
    connector.start({"topics": "t"})
    assert len(connector.task_configs(3)) == 3
    task = ns["ListSinkTask"]()
    task.start({"topics": "t"})
    task.put([SinkRecord("t", 0, None, None, None, f"v{i}", i) for i in range(3)])
    assert task.written == []
    offsets = {TopicPartition("t", 0): 3}
    assert task.pre_commit(offsets) == offsets
    assert task.written == ["v0", "v1", "v2"]
