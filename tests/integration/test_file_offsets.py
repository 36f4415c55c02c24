"""The offsets REST API with the FileStream connectors, end to end (spec 1.5 and 11.2 "File integration").

A FileStreamSource reads a file into a one-partition topic and a FileStreamSink writes the topic into another
file; the tests stop a connector, read and change its offsets over REST, resume it and compare the output
file with what must have been (re)processed.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from kcfast.kafka.clients import create_topics
from kcfast.testing import EmbeddedKafka, StandaloneProcess

pytestmark = pytest.mark.integration

ALTERED = {"message": "The offsets for this connector have been altered successfully"}
RESET = {"message": "The offsets for this connector have been reset successfully"}
NO_OFFSETS = "Partitions / offsets need to be provided for an alter offsets request"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("file-offsets")


@pytest.fixture(scope="module")
def worker(module_worker: StandaloneProcess) -> StandaloneProcess:
    return module_worker


class Pipeline:
    """``<name>.in`` -> FileStreamSource ``<name>-source`` -> topic ``<name>`` -> FileStreamSink
    ``<name>-sink`` -> ``<name>.out``."""

    def __init__(self, worker: StandaloneProcess, kafka: EmbeddedKafka, workdir: Path) -> None:
        self.worker = worker
        self.name = f"file-{uuid.uuid4().hex[:8]}"
        self.source, self.sink = f"{self.name}-source", f"{self.name}-sink"
        self.input, self.output = workdir / f"{self.name}.in", workdir / f"{self.name}.out"
        create_topics(kafka.bootstrap_servers, {self.name: 1})

    def write(self, lines: list[str]) -> None:
        with self.input.open("a", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in lines))

    def create_source(self, **extra: Any) -> None:
        config = {"connector.class": "FileStreamSource", "file": str(self.input), "topic": self.name}
        status, body = self.worker.http.request(
            "POST", "/connectors", {"name": self.source, "config": config, **extra}
        )
        assert status == 201, body

    def create_sink(self, **extra: Any) -> None:
        config = {"connector.class": "FileStreamSink", "file": str(self.output), "topics": self.name}
        status, body = self.worker.http.request(
            "POST", "/connectors", {"name": self.sink, "config": config, **extra}
        )
        assert status == 201, body

    def output_lines(self) -> list[str]:
        if not self.output.exists():
            return []
        return self.output.read_text(encoding="utf-8").splitlines()

    def wait_output(self, expected: list[str]) -> None:
        self.worker.wait_for(
            lambda: len(self.output_lines()) >= len(expected),
            timeout=45,
            what=f"{len(expected)} lines in {self.output.name}",
        )
        assert self.output_lines() == expected

    def request(self, connector: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self.worker.http.request(method, f"/connectors/{connector}{path}", body)

    def stop(self, connector: str) -> None:
        assert self.request(connector, "PUT", "/stop") == (204, None)

    def resume(self, connector: str) -> None:
        assert self.request(connector, "PUT", "/resume") == (202, None)

    def offsets(self, connector: str) -> list[dict[str, Any]]:
        status, body = self.request(connector, "GET", "/offsets")
        assert status == 200, body
        return body["offsets"]  # type: ignore[no-any-return]

    def wait_offsets(self, connector: str, expected: list[dict[str, Any]]) -> None:
        self.worker.wait_for(
            lambda: self.offsets(connector) == expected, timeout=30, what=f"offsets {expected}"
        )


@pytest.fixture
def pipeline(worker: StandaloneProcess, kafka: EmbeddedKafka, workdir: Path) -> Pipeline:
    return Pipeline(worker, kafka, workdir)


def lines(prefix: str, count: int) -> list[str]:
    return [f"{prefix} {i}" for i in range(count)]


def test_source_alter_offsets_rereads_the_last_line_and_reset_rereads_everything(pipeline: Pipeline) -> None:
    first = lines("line", 10)
    pipeline.write(first)
    pipeline.create_source()
    pipeline.create_sink()
    pipeline.wait_output(first)

    pipeline.stop(pipeline.source)
    total = sum(len(line) + 1 for line in first)
    partition = {"filename": str(pipeline.input)}
    pipeline.wait_offsets(pipeline.source, [{"partition": partition, "offset": {"position": total}}])

    last_line_start = total - len(first[-1]) - 1
    assert pipeline.request(
        pipeline.source,
        "PATCH",
        "/offsets",
        {"offsets": [{"partition": partition, "offset": {"position": last_line_start}}]},
    ) == (200, ALTERED)
    assert pipeline.offsets(pipeline.source) == [
        {"partition": partition, "offset": {"position": last_line_start}}
    ]
    pipeline.resume(pipeline.source)
    pipeline.wait_output(first + first[-1:])
    pipeline.wait_offsets(pipeline.source, [{"partition": partition, "offset": {"position": total}}])

    pipeline.stop(pipeline.source)
    assert pipeline.request(pipeline.source, "DELETE", "/offsets") == (200, RESET)
    assert pipeline.offsets(pipeline.source) == []
    pipeline.resume(pipeline.source)
    pipeline.wait_output(first + first[-1:] + first)


def test_source_stop_and_resume_continues_from_the_saved_offset(pipeline: Pipeline) -> None:
    first, second = lines("first", 10), lines("second", 10)
    pipeline.write(first)
    pipeline.create_source()
    pipeline.create_sink()
    pipeline.wait_output(first)
    pipeline.stop(pipeline.source)
    pipeline.write(second)
    pipeline.resume(pipeline.source)
    pipeline.wait_output(first + second)


def test_sink_alter_offsets_and_reset_reprocess(pipeline: Pipeline) -> None:
    data = lines("record", 10)
    pipeline.write(data)
    pipeline.create_source()
    pipeline.create_sink()
    pipeline.wait_output(data)

    pipeline.stop(pipeline.sink)
    partition = {"kafka_topic": pipeline.name, "kafka_partition": 0}
    pipeline.wait_offsets(pipeline.sink, [{"partition": partition, "offset": {"kafka_offset": len(data)}}])

    # Offsets given as strings are accepted, and come back as numbers.
    assert pipeline.request(
        pipeline.sink,
        "PATCH",
        "/offsets",
        {
            "offsets": [
                {
                    "partition": {"kafka_topic": pipeline.name, "kafka_partition": "0"},
                    "offset": {"kafka_offset": str(len(data) - 3)},
                }
            ]
        },
    ) == (200, ALTERED)
    assert pipeline.offsets(pipeline.sink) == [
        {"partition": partition, "offset": {"kafka_offset": len(data) - 3}}
    ]
    pipeline.resume(pipeline.sink)
    pipeline.wait_output(data + data[-3:])

    pipeline.stop(pipeline.sink)
    assert pipeline.request(pipeline.sink, "DELETE", "/offsets") == (200, RESET)
    assert pipeline.offsets(pipeline.sink) == []
    pipeline.resume(pipeline.sink)
    pipeline.wait_output(data + data[-3:] + data)


def test_sink_with_two_tasks_reads_two_topics(
    worker: StandaloneProcess, kafka: EmbeddedKafka, workdir: Path
) -> None:
    first, second = Pipeline(worker, kafka, workdir), Pipeline(worker, kafka, workdir)
    first.write(lines("first", 10))
    second.write(lines("second", 10))
    first.create_source()
    second.create_source()
    output = workdir / f"{first.name}.both"
    sink = f"{first.name}-both"
    config = {
        "connector.class": "FileStreamSink",
        "file": str(output),
        "topics": f"{first.name},{second.name}",
        "tasks.max": "2",
    }
    status, info = worker.http.request("POST", "/connectors", {"name": sink, "config": config})
    assert status == 201 and len(info["tasks"]) == 2

    def written() -> list[str]:
        return output.read_text(encoding="utf-8").splitlines() if output.exists() else []

    worker.wait_for(lambda: len(written()) >= 20, timeout=45, what="both topics in the sink file")
    assert sorted(written()) == sorted(lines("first", 10) + lines("second", 10))
    assert [line for line in written() if line.startswith("first")] == lines("first", 10), (
        "order kept per topic"
    )
    status, active = worker.http.get(f"/connectors/{sink}/topics")
    assert status == 200 and set(active[sink]["topics"]) == {first.name, second.name}  # a set, in any order


def test_offsets_can_be_modified_only_when_stopped(pipeline: Pipeline) -> None:
    data = lines("x", 3)
    pipeline.write(data)
    pipeline.create_source()
    stopped_first = (
        400,
        {
            "error_code": 400,
            "message": "Connectors must be in the STOPPED state before their offsets can be "
            "modified. This can be done for the specified connector by issuing a 'PUT' "
            f"request to the '/connectors/{pipeline.source}/stop' endpoint",
        },
    )
    # Offsets can be read in any state.
    saved = [
        {
            "partition": {"filename": str(pipeline.input)},
            "offset": {"position": sum(len(line) + 1 for line in data)},
        }
    ]
    pipeline.wait_offsets(pipeline.source, saved)
    body = {"offsets": [{"partition": {"filename": str(pipeline.input)}, "offset": {"position": 0}}]}
    assert pipeline.request(pipeline.source, "PATCH", "/offsets", body) == stopped_first
    assert pipeline.request(pipeline.source, "DELETE", "/offsets") == stopped_first
    assert pipeline.request(pipeline.source, "PUT", "/pause") == (202, None)
    assert pipeline.request(pipeline.source, "PATCH", "/offsets", body) == stopped_first
    assert pipeline.request(pipeline.source, "DELETE", "/offsets") == stopped_first
    assert pipeline.offsets(pipeline.source) == saved

    missing = (404, {"error_code": 404, "message": "Connector nope not found"})
    assert pipeline.request("nope", "GET", "/offsets") == missing
    assert pipeline.request("nope", "PATCH", "/offsets", body) == missing
    assert pipeline.request("nope", "DELETE", "/offsets") == missing


def test_invalid_offsets_are_rejected_with_kafkas_messages(pipeline: Pipeline) -> None:
    pipeline.create_source(initial_state="STOPPED")
    pipeline.create_sink(initial_state="STOPPED")
    source, sink = pipeline.source, pipeline.sink
    filename = str(pipeline.input)

    def patch(connector: str, body: Any) -> tuple[int, Any]:
        return pipeline.request(connector, "PATCH", "/offsets", body)

    def bad_request(message: str) -> tuple[int, Any]:
        return 400, {"error_code": 400, "message": message}

    for connector in (source, sink):
        assert patch(connector, {}) == bad_request(NO_OFFSETS)
        assert patch(connector, {"offsets": []}) == bad_request(NO_OFFSETS)
        assert patch(connector, {"offsets": None}) == bad_request(NO_OFFSETS)
        status, body = patch(connector, {"offsets": "all"})
        assert status == 500 and body["message"].startswith(
            "Cannot deserialize value of type `java.util.ArrayList<"
        )
        status, body = patch(connector, {"offsets": [], "extra": 1})
        assert status == 500 and body["message"].startswith('Unrecognized field "extra"')
        status, body = pipeline.worker.http.request(
            "PATCH", f"/connectors/{connector}/offsets", raw=b'{"offsets": ['
        )
        assert status == 500 and body["message"].startswith("Unexpected end-of-input")

    # Source offsets: the FileStreamSource connector checks them (its errors are answered with 500).
    for offset, message in (
        ({"position": -1}, "The value for the 'position' key in the offset should be a non-negative value"),
        ({"position": "1"}, "The value for the 'position' key in the offset is expected to be a Long value"),
        ({"pos": 1}, "Offset objects should either be null or contain the key 'position'"),
    ):
        assert patch(source, {"offsets": [{"partition": {"filename": filename}, "offset": offset}]}) == (
            500,
            {"error_code": 500, "message": message},
        )
    assert patch(source, {"offsets": [{"partition": {"file": filename}, "offset": {"position": 1}}]}) == (
        500,
        {"error_code": 500, "message": "Partition objects should contain the key 'filename'"},
    )
    status, body = patch(source, {"offsets": [{"partition": {"filename": [filename]}, "offset": None}]})
    assert status == 500
    # A tombstone for a partition never seen is fine.
    assert patch(source, {"offsets": [{"partition": {"filename": filename}, "offset": None}]}) == (
        200,
        ALTERED,
    )
    assert pipeline.offsets(source) == []

    # Sink offsets: checked by the worker (400).
    topic = pipeline.name
    for entry, message in (
        (
            {"offset": {"kafka_offset": 1}},
            "The partition for a sink connector offset cannot be null or missing",
        ),
        (
            {"partition": {"kafka_topic": topic}, "offset": {"kafka_offset": 1}},
            "The partition for a sink connector offset must contain the keys 'kafka_topic' and "
            "'kafka_partition'",
        ),
        (
            {"partition": {"kafka_topic": None, "kafka_partition": 0}, "offset": {"kafka_offset": 1}},
            "Kafka topic names must be valid strings and may not be null",
        ),
        (
            {"partition": {"kafka_topic": topic, "kafka_partition": None}, "offset": {"kafka_offset": 1}},
            "Kafka partitions must be valid numbers and may not be null",
        ),
        (
            {"partition": {"kafka_topic": topic, "kafka_partition": "one"}, "offset": {"kafka_offset": 1}},
            "Failed to parse the following Kafka partition value in the provided offsets: 'one'. "
            "Partition values for sink connectors need to be integers.",
        ),
        (
            {"partition": {"kafka_topic": topic, "kafka_partition": 0}, "offset": {"offset": 1}},
            "The offset for a sink connector should either be null or contain the key 'kafka_offset'",
        ),
        (
            {"partition": {"kafka_topic": topic, "kafka_partition": 0}, "offset": {"kafka_offset": "ten"}},
            "Failed to parse the following Kafka offset value in the provided offsets: 'ten'. "
            "Offset values for sink connectors need to be integers.",
        ),
    ):
        assert patch(sink, {"offsets": [entry]}) == bad_request(message), entry
