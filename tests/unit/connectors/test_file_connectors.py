"""FileStream connectors driven directly with fake contexts: Kafka's configs, line splitting, offsets, output."""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from connector_fakes import FakeSinkTaskContext, FakeSourceTaskContext

from kcfast import KAFKA_VERSION
from kcfast.api import SinkRecord, TopicPartition
from kcfast.connectors.file import (
    FileStreamSinkConnector,
    FileStreamSinkTask,
    FileStreamSourceConnector,
    FileStreamSourceTask,
)
from kcfast.data import Schema, SchemaBuilder, Struct
from kcfast.errors import ConfigError, ConnectError


def source_task(context: FakeSourceTaskContext, path: Path | None, **props: str) -> FileStreamSourceTask:
    task = FileStreamSourceTask()
    task.poll_wait_seconds = 0.001
    task.initialize(context)
    config = {"topic": "lines", **props}
    if path is not None:
        config["file"] = str(path)
    task.start(config)
    return task


def values(records: list[Any] | None) -> list[str]:
    return [r.value for r in records or ()]


def positions(records: list[Any] | None) -> list[int]:
    return [r.source_offset["position"] for r in records or ()]


class TestSourceConnector:
    def test_config_keys_and_validation(self) -> None:
        connector = FileStreamSourceConnector()
        assert list(connector.config().config_keys()) == ["file", "topic", "batch.size"]
        errors = {v.name: v.error_messages for v in connector.validate({"topic": ""})}
        assert errors == {
            "file": [],
            "topic": ["Invalid value  for configuration topic: String must be non-empty"],
            "batch.size": [],
        }
        assert connector.version() == KAFKA_VERSION

    def test_one_task_config_copy(self) -> None:
        connector = FileStreamSourceConnector()
        props = {"name": "src", "topic": "t", "file": "/tmp/x"}
        connector.start(props)
        configs = connector.task_configs(5)
        assert configs == [props]
        assert configs[0] is not props

    def test_start_rejects_missing_topic(self) -> None:
        with pytest.raises(ConfigError, match='Missing required configuration "topic"'):
            FileStreamSourceConnector().start({"file": "x"})

    def test_exactly_once_support(self) -> None:
        connector = FileStreamSourceConnector()
        assert connector.exactly_once_support({"topic": "t", "file": "f"}).name == "SUPPORTED"
        assert connector.exactly_once_support({"topic": "t"}).name == "UNSUPPORTED"
        assert connector.exactly_once_support({"topic": "t", "file": ""}).name == "UNSUPPORTED"

    def test_alter_offsets_rules(self) -> None:
        connector = FileStreamSourceConnector()
        config = {"topic": "t", "file": "/data/in.txt"}
        ok = [({"filename": "/data/in.txt"}, {"position": 10}), ({"junk": 1}, None)]
        assert connector.alter_offsets(config, ok) is True
        cases = [
            (
                ({"filename": "f"}, {"other": 1}),
                "Offset objects should either be null or contain the key 'position'",
            ),
            (
                ({"filename": "f"}, {"position": "10"}),
                "The value for the 'position' key in the offset is expected to be a Long value",
            ),
            (
                ({"filename": "f"}, {"position": 1.0}),
                "The value for the 'position' key in the offset is expected to be a Long value",
            ),
            (
                ({"filename": "f"}, {"position": -1}),
                "The value for the 'position' key in the offset should be a non-negative value",
            ),
            ((None, {"position": 1}), "Partition objects cannot be null"),
            (({"file": "f"}, {"position": 1}), "Partition objects should contain the key 'filename'"),
        ]
        for pair, message in cases:
            with pytest.raises(ConnectError) as info:
                connector.alter_offsets(config, [pair])  # type: ignore[list-item]
            assert str(info.value) == message
        with pytest.raises(ConnectError) as info:
            connector.alter_offsets({"topic": "t"}, ok)
        assert str(info.value) == (
            "Offsets cannot be modified if the 'file' configuration is unspecified. "
            "This is because stdin is used for input and offsets are not tracked."
        )


class TestSourceTask:
    def test_lines_split_on_every_terminator(
        self, tmp_path: Path, source_context: FakeSourceTaskContext
    ) -> None:
        path = tmp_path / "in.txt"
        path.write_bytes(b"one\ntwo\r\nthree\rfour\n\nlast-incomplete")
        task = source_task(source_context, path)
        records = task.poll()
        assert values(records) == ["one", "two", "three", "four", ""]
        assert positions(records) == [4, 9, 15, 20, 21]
        first = records[0]
        assert first.source_partition == {"filename": str(path)}
        assert first.topic == "lines"
        assert first.kafka_partition is None
        assert first.key is None and first.key_schema is None
        assert first.value_schema == Schema.STRING_SCHEMA
        assert isinstance(first.timestamp, int)
        # The incomplete line is emitted once it is terminated.
        assert task.poll() is None
        with path.open("ab") as f:
            f.write(b" done\n")
        assert values(task.poll()) == ["last-incomplete done"]
        task.stop()

    def test_trailing_carriage_return_waits_for_next_char(
        self, tmp_path: Path, source_context: FakeSourceTaskContext
    ) -> None:
        path = tmp_path / "in.txt"
        path.write_bytes(b"a\r")
        task = source_task(source_context, path)
        assert task.poll() is None
        with path.open("ab") as f:
            f.write(b"\nb\r")
        records = task.poll()
        assert values(records) == ["a"]
        assert positions(records) == [3]  # \r\n counted as one terminator of two characters
        with path.open("ab") as f:
            f.write(b"c\n")
        records = task.poll()
        assert values(records) == ["b", "c"]
        assert positions(records) == [5, 7]
        task.stop()

    def test_batch_size_returns_early_and_keeps_the_rest(
        self, tmp_path: Path, source_context: FakeSourceTaskContext
    ) -> None:
        path = tmp_path / "in.txt"
        path.write_text("".join(f"line{i}\n" for i in range(7)))
        task = source_task(source_context, path, **{"batch.size": "3"})
        assert values(task.poll()) == ["line0", "line1", "line2"]
        assert values(task.poll()) == ["line3", "line4", "line5"]
        assert values(task.poll()) == ["line6"]
        assert task.poll() is None
        task.stop()

    def test_restart_resumes_after_committed_position(
        self, tmp_path: Path, source_context: FakeSourceTaskContext
    ) -> None:
        path = tmp_path / "in.txt"
        path.write_text("first\nsecond\n")
        task = source_task(source_context, path)
        source_context.commit_records(task.poll())
        task.stop()
        with path.open("a") as f:
            f.write("third\n")
        restarted = source_task(source_context, path)
        records = restarted.poll()
        assert values(records) == ["third"]
        assert positions(records) == [19]
        restarted.stop()

    def test_restart_in_non_ascii_file_resumes_at_the_next_line(
        self, tmp_path: Path, source_context: FakeSourceTaskContext
    ) -> None:
        path = tmp_path / "in.txt"
        first = ["ünïcode 1", "\U0001f600 2", "ascii 3"]
        path.write_text("".join(f"{line}\n" for line in first), encoding="utf-8")
        task = source_task(source_context, path)
        records = task.poll()
        assert values(records) == first
        source_context.commit_records(records)
        task.stop()
        with path.open("a", encoding="utf-8") as f:
            f.write("ëxtra 4\n")
        restarted = source_task(source_context, path)
        records = restarted.poll()
        assert values(records) == ["ëxtra 4"]
        assert source_context.reader.stored[0][1] == {"position": 23}  # 10 + 5 (the emoji is 2) + 8
        assert positions(records) == [31]
        restarted.stop()

    def test_position_beyond_end_skips_data_as_it_arrives(
        self, tmp_path: Path, source_context: FakeSourceTaskContext
    ) -> None:
        path = tmp_path / "in.txt"
        path.write_text("abc\n")
        source_context.reader.commit({"filename": str(path)}, {"position": 9})
        task = source_task(source_context, path)
        assert task.poll() is None
        with path.open("a") as f:
            f.write("defg\nnext\n")
        records = task.poll()
        assert values(records) == ["next"]
        assert positions(records) == [14]
        task.stop()

    def test_positions_count_java_chars(self, tmp_path: Path, source_context: FakeSourceTaskContext) -> None:
        path = tmp_path / "in.txt"
        path.write_text("é\n\U0001f600\nz\n", encoding="utf-8")
        task = source_task(source_context, path)
        records = task.poll()
        assert values(records) == ["é", "\U0001f600", "z"]
        # Java counts UTF-16 units: é is 1, the emoji (outside the BMP) is 2.
        assert positions(records) == [2, 5, 7]
        task.stop()

    def test_offset_of_wrong_type(self, tmp_path: Path, source_context: FakeSourceTaskContext) -> None:
        path = tmp_path / "in.txt"
        path.write_text("x\n")
        source_context.reader.commit({"filename": str(path)}, {"position": "3"})
        task = source_task(source_context, path)
        with pytest.raises(ConnectError, match="^Offset position is the incorrect type$"):
            task.poll()

    def test_waits_for_missing_file(self, tmp_path: Path, source_context: FakeSourceTaskContext) -> None:
        path = tmp_path / "later.txt"
        task = source_task(source_context, path)
        assert task.poll() is None
        path.write_text("now\n")
        assert values(task.poll()) == ["now"]
        task.stop()

    def test_stop_wakes_a_waiting_poll(self, tmp_path: Path, source_context: FakeSourceTaskContext) -> None:
        task = source_task(source_context, tmp_path / "never.txt")
        task.poll_wait_seconds = 60.0
        result: list[Any] = ["not returned"]
        poller = threading.Thread(target=lambda: result.__setitem__(0, task.poll()))
        poller.start()
        task.stop()
        poller.join(timeout=10)
        assert not poller.is_alive()
        assert result == [None]

    def test_stdin_has_no_offsets(
        self, monkeypatch: pytest.MonkeyPatch, source_context: FakeSourceTaskContext
    ) -> None:
        read_end, write_end = os.pipe()

        class PipeStdin:
            def fileno(self) -> int:
                return read_end

        monkeypatch.setattr(sys, "stdin", PipeStdin())
        try:
            task = source_task(source_context, None)
            assert task.poll() is None  # nothing written yet: no blocking
            os.write(write_end, b"from stdin\npartial")
            records = task.poll()
            assert values(records) == ["from stdin"]
            assert records[0].source_partition == {"filename": None}
            assert records[0].source_offset == {"position": None}
            task.stop()
            os.fstat(read_end)  # stdin is not closed by stop()
        finally:
            os.close(read_end)
            os.close(write_end)


class TestSinkConnector:
    def test_configs(self) -> None:
        connector = FileStreamSinkConnector()
        assert list(connector.config().config_keys()) == ["file"]
        connector.start({"file": "/tmp/out", "topics": "t"})
        assert connector.task_configs(3) == [{"file": "/tmp/out", "topics": "t"}] * 3
        assert connector.alter_offsets({}, {TopicPartition("t", 0): None}) is True
        assert connector.version() == KAFKA_VERSION


def sink_record(value: Any, schema: Any = None, offset: int = 0) -> SinkRecord:
    return SinkRecord("t", 0, None, None, schema, value, offset)


class TestSinkTask:
    def test_writes_java_text_of_values(self, tmp_path: Path, sink_context: FakeSinkTaskContext) -> None:
        path = tmp_path / "out.txt"
        path.write_text("existing\n")
        task = FileStreamSinkTask()
        task.initialize(sink_context)
        task.start({"file": str(path)})
        schema = (
            SchemaBuilder.struct().field("f", Schema.STRING_SCHEMA).field("n", Schema.INT32_SCHEMA).build()
        )
        task.put(
            [
                sink_record("plain"),
                sink_record({"some_key": 1, "b": [1, 2]}),
                sink_record(None),
                sink_record(True),
                sink_record(2.5),
                sink_record(Struct(schema).put("f", "x").put("n", 7), schema),
                sink_record("ünïcode"),
            ]
        )
        task.put([])
        offsets = {TopicPartition("t", 0): 7}
        assert task.pre_commit(offsets) == offsets
        assert path.read_text(encoding="utf-8") == (
            "existing\nplain\n{some_key=1, b=[1, 2]}\nnull\ntrue\n2.5\nStruct{f=x,n=7}\nünïcode\n"
        )
        task.stop()

    def test_stdout_when_no_file(
        self, capsys: pytest.CaptureFixture[str], sink_context: FakeSinkTaskContext
    ) -> None:
        task = FileStreamSinkTask()
        task.initialize(sink_context)
        task.start({})
        task.put([sink_record("to stdout"), sink_record(dt.date(2024, 1, 2).isoformat())])
        task.flush({})
        task.stop()
        assert capsys.readouterr().out == "to stdout\n2024-01-02\n"
        assert not sys.stdout.closed

    def test_cannot_create_file(self, tmp_path: Path) -> None:
        task = FileStreamSinkTask()
        target = tmp_path / "missing-dir" / "out.txt"
        with pytest.raises(ConnectError) as info:
            task.start({"file": str(target)})
        assert str(info.value) == f"Couldn't find or create file '{target}' for FileStreamSinkTask"
