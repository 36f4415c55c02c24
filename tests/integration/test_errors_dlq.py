"""Error handling and transformations end to end, through a real ``kcfast standalone`` process.

Kafka's system tests ``connect_test.test_skip_and_log_to_dlq[all|none]`` and
``connect_distributed_test.test_transformations``, and the two cases of its ``ErrorHandlingIntegrationTest``
(a failing transformation with retries, and the errant record reporter), with the same configurations.
"""

from __future__ import annotations

import json
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from kcfast.kafka import clients

pytestmark = pytest.mark.integration


def _dlq_name() -> str:
    """Kafka's dead letter queue name, made unique: the broker outlives each test."""
    return f"my-connector-errors-{uuid.uuid4().hex[:8]}"

JSON = "org.apache.kafka.connect.json.JsonConverter"
STRING = "org.apache.kafka.connect.storage.StringConverter"


# -- helpers -------------------------------------------------------------------------------------------------


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _properties(path: Path, props: dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()), encoding="utf-8")
    return path


def _partitions(bootstrap: str, topic: str) -> int | None:
    md = clients.cluster_metadata(bootstrap).topics.get(topic)
    return None if md is None or md.error is not None else len(md.partitions)


def _consume(bootstrap: str, topic: str, count: int, timeout: float = 30.0, idle: float = 0.0) -> list[Any]:
    """Read ``topic`` from the beginning until ``count`` messages arrived (then ``idle`` more seconds)."""
    deadline = time.monotonic() + timeout
    while _partitions(bootstrap, topic) is None:
        assert time.monotonic() < deadline, f"topic {topic} was never created"
        time.sleep(0.2)
    consumer = clients.new_consumer({"bootstrap.servers": bootstrap, "group.id": f"it-{uuid.uuid4().hex}",
                                     "enable.auto.commit": False})
    try:
        partitions = _partitions(bootstrap, topic) or 1
        consumer.assign([clients.TopicPartition(topic, p, 0) for p in range(partitions)])
        out: list[Any] = []
        while len(out) < count and time.monotonic() < deadline:
            out += [m for m in consumer.consume(500, 0.2) if m.error() is None]
        idle_until = time.monotonic() + idle
        while time.monotonic() < idle_until:
            out += [m for m in consumer.consume(500, 0.2) if m.error() is None]
        return out
    finally:
        consumer.close()


def _produce(bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes | None]]) -> None:
    producer = clients.new_producer({"bootstrap.servers": bootstrap})
    for key, value in records:
        producer.produce(topic, value, key)
        producer.poll(0)
    assert producer.flush(30) == 0


def _committed(bootstrap: str, group: str) -> dict[tuple[str, int], int]:
    return clients.list_group_offsets(clients.new_admin({"bootstrap.servers": bootstrap}), group)


def _task_state(worker: Any, connector: str) -> dict[str, Any] | None:
    status, body = worker.http.get(f"/connectors/{connector}/status")
    return body["tasks"][0] if status == 200 and body.get("tasks") else None


def _skip_and_log_records() -> tuple[list[str], list[str], list[str]]:
    """Kafka's records: even ones are JSON, odd ones miss a quote after the key."""
    lines, good, bad = [], [], []
    for i in range(1000):
        if i % 2 == 0:
            lines.append('{"some_key":%d}' % i)
            good.append("{some_key=%d}" % i)
        else:
            lines.append('{"some_key:%d}' % i)
            bad.append('{"some_key:%d}' % i)
    return lines, good, bad


def _start_skip_and_log(standalone: Any, kafka: Any, workdir: Path, topic: str, dlq: str,
                        tolerance: str) -> tuple[Any, Path]:
    lines, _, _ = _skip_and_log_records()
    clients.create_topics(kafka.bootstrap_servers, {topic: 1})
    source_file, sink_file = workdir / "input.txt", workdir / "output.txt"
    source_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = _properties(workdir / "source.properties", {
        "name": "local-file-source", "connector.class": "FileStreamSource", "tasks.max": "1",
        "file": str(source_file), "topic": topic, "key.converter": STRING, "value.converter": STRING,
    })
    sink = _properties(workdir / "sink.properties", {
        "name": "local-file-sink", "connector.class": "FileStreamSink", "tasks.max": "1",
        "file": str(sink_file), "topics": topic, "key.converter": JSON, "value.converter": JSON,
        "key.converter.schemas.enable": "false", "value.converter.schemas.enable": "false",
        "errors.log.enable": "true", "errors.log.include.messages": "true",
        "errors.deadletterqueue.topic.name": dlq, "errors.deadletterqueue.topic.replication.factor": "1",
        "errors.deadletterqueue.context.headers.enable": "true", "errors.tolerance": tolerance,
    })
    return standalone([source, sink]), sink_file


# -- connect_test.test_skip_and_log_to_dlq -------------------------------------------------------------------


def test_skip_and_log_to_dlq_all(standalone, kafka, workdir: Path, topic_name: str) -> None:
    _, good, bad = _skip_and_log_records()
    dlq = _dlq_name()
    worker, sink_file = _start_skip_and_log(standalone, kafka, workdir, topic_name, dlq, "all")
    bootstrap = kafka.bootstrap_servers

    worker.wait_for(lambda: _lines(sink_file) == good, what="every good record in the output file")
    dead = _consume(bootstrap, dlq, len(bad))
    assert [m.value().decode() for m in dead] == bad
    assert _partitions(bootstrap, dlq) == 1, "the dead letter queue is created with one partition"

    first = dead[0]
    headers = dict(first.headers())
    assert first.key() is None
    assert headers["__connect.errors.topic"] == topic_name.encode()
    assert headers["__connect.errors.partition"] == b"0"
    assert headers["__connect.errors.offset"] == b"1"
    assert headers["__connect.errors.connector.name"] == b"local-file-sink"
    assert headers["__connect.errors.task.id"] == b"0"
    assert headers["__connect.errors.stage"] == b"VALUE_CONVERTER"
    assert headers["__connect.errors.class.name"] == JSON.encode()
    assert headers["__connect.errors.exception.class.name"] == (
        b"org.apache.kafka.connect.errors.DataException")
    assert headers["__connect.errors.exception.message"].startswith(
        b"Converting byte[] to Kafka Connect data failed due to serialization error")
    assert b"Traceback" in headers["__connect.errors.exception.stacktrace"]
    offsets = [dict(m.headers())["__connect.errors.offset"] for m in dead]
    assert offsets == [str(i).encode() for i in range(1, 1000, 2)]

    # Skipped records count as processed: the group commits past the last (bad) record.
    worker.wait_for(lambda: _committed(bootstrap, "connect-local-file-sink").get((topic_name, 0)) == 1000,
                    what="offsets committed past every record")
    assert _task_state(worker, "local-file-sink")["state"] == "RUNNING"
    assert ("Error encountered in task local-file-sink-0. Executing stage 'VALUE_CONVERTER' with class "
            f"'{JSON}', where consumed record is {{topic='{topic_name}', partition=0, offset=1, "
            ) in worker.log_path.read_text(encoding="utf-8")


def test_skip_and_log_to_dlq_none(standalone, kafka, workdir: Path, topic_name: str) -> None:
    _, _, bad = _skip_and_log_records()
    dlq = _dlq_name()
    worker, sink_file = _start_skip_and_log(standalone, kafka, workdir, topic_name, dlq, "none")
    bootstrap = kafka.bootstrap_servers

    task = worker.wait_for(
        lambda: (t := _task_state(worker, "local-file-sink")) and t["state"] == "FAILED" and t,
        what="the sink task to fail")
    assert "Tolerance exceeded in error handler" in task["trace"]
    assert "Converting byte[] to Kafka Connect data failed due to serialization error" in task["trace"]
    # Only the first bad record reaches the dead letter queue, and nothing after it is written or committed.
    assert [m.value().decode() for m in _consume(bootstrap, dlq, 1, idle=1.0)] == [bad[0]]
    assert set(_lines(sink_file)) <= {"{some_key=0}"}
    assert _committed(bootstrap, "connect-local-file-sink").get((topic_name, 0), 0) <= 1
    assert _task_state(worker, "local-file-source")["state"] == "RUNNING"


# -- ErrorHandlingIntegrationTest ----------------------------------------------------------------------------

PLUGINS = textwrap.dedent('''
    from kcfast.api.config import ConfigDef
    from kcfast.api.connector import SinkConnector
    from kcfast.api.task import SinkTask
    from kcfast.api.transforms import Transformation
    from kcfast.errors import RetriableError


    class FaultyPassthrough(Transformation):
        """Fails once on value-4 and always on value-7, with RetriableError."""

        def __init__(self):
            self.should_fail = True

        def configure(self, configs):
            pass

        def config(self):
            return ConfigDef()

        def apply(self, record):
            if record.value == "value-4" and self.should_fail:
                self.should_fail = False
                raise RetriableError("Error when value='value-4'. A reattempt with this record will succeed.")
            if record.value == "value-7":
                raise RetriableError("Error when value='value-7'")
            return record

        def close(self):
            pass


    class ErrantRecordSinkConnector(SinkConnector):
        def version(self):
            return "1.0"

        def start(self, props):
            self.props = dict(props)

        def task_class(self):
            return ErrantRecordSinkTask

        def task_configs(self, max_tasks):
            return [dict(self.props) for _ in range(max_tasks)]

        def stop(self):
            pass

        def config(self):
            return ConfigDef()


    class ErrantRecordSinkTask(SinkTask):
        """Reports every record it gets to the errant record reporter."""

        def version(self):
            return "1.0"

        def start(self, props):
            self.reporter = self.context.errant_record_reporter()

        def put(self, records):
            for record in records:
                self.reporter.report(record, RuntimeError(f"cannot write {record.value}"))

        def stop(self):
            pass
''')


def _error_handling_config(topic: str, dlq: str) -> dict[str, str]:
    return {
        "tasks.max": "1", "topics": topic, "key.converter": STRING, "value.converter": STRING,
        "errors.log.enable": "true", "errors.log.include.messages": "true",
        "errors.deadletterqueue.topic.name": dlq, "errors.deadletterqueue.context.headers.enable": "true",
        "errors.deadletterqueue.topic.replication.factor": "1", "errors.tolerance": "all",
        "errors.retry.timeout": "1000",
    }


def test_skip_retry_and_dlq_with_headers(standalone, kafka, workdir: Path, topic_name: str) -> None:
    (workdir / "faulty_plugins.py").write_text(PLUGINS, encoding="utf-8")
    bootstrap, dlq, sink_file = kafka.bootstrap_servers, f"{topic_name}-errors", workdir / "sink.txt"
    clients.create_topics(bootstrap, {topic_name: 1})
    worker = standalone()
    config = _error_handling_config(topic_name, dlq) | {
        "connector.class": "FileStreamSink", "file": str(sink_file), "transforms": "failing_transform",
        "transforms.failing_transform.type": "faulty_plugins.FaultyPassthrough",
    }
    status, body = worker.http.request("POST", "/connectors", {"name": "error-conn", "config": config})
    assert status == 201, body
    _produce(bootstrap, topic_name, [(f"key-{i}".encode(), f"value-{i}".encode()) for i in range(1000)])

    expected = [f"value-{i}" for i in range(1000) if i != 7]
    worker.wait_for(lambda: _lines(sink_file) == expected, what="every record but value-7 in the sink file")
    [dead] = _consume(bootstrap, dlq, 1, idle=0.5)
    headers = dict(dead.headers())
    assert (dead.key(), dead.value()) == (b"key-7", b"value-7")
    assert headers["__connect.errors.topic"] == topic_name.encode()
    assert headers["__connect.errors.exception.class.name"] == (
        b"org.apache.kafka.connect.errors.RetriableException")
    assert headers["__connect.errors.exception.message"] == b"Error when value='value-7'"
    assert headers["__connect.errors.stage"] == b"TRANSFORMATION"
    assert headers["__connect.errors.class.name"] == b"faulty_plugins.FaultyPassthrough"
    assert worker.http.request("DELETE", "/connectors/error-conn")[0] == 204


def test_errant_record_reporter(standalone, kafka, workdir: Path, topic_name: str) -> None:
    (workdir / "faulty_plugins.py").write_text(PLUGINS, encoding="utf-8")
    bootstrap, dlq = kafka.bootstrap_servers, f"{topic_name}-errors"
    clients.create_topics(bootstrap, {topic_name: 1})
    worker = standalone()
    config = _error_handling_config(topic_name, dlq) | {
        "connector.class": "faulty_plugins.ErrantRecordSinkConnector",
        # Small batches, so that records are reported across many put() calls.
        "consumer.override.max.poll.records": "5",
    }
    status, body = worker.http.request("POST", "/connectors", {"name": "errant-conn", "config": config})
    assert status == 201, body
    _produce(bootstrap, topic_name, [(f"key-{i}".encode(), f"value-{i}".encode()) for i in range(1000)])

    dead = _consume(bootstrap, dlq, 1000)
    assert sorted(m.key() for m in dead) == sorted(f"key-{i}".encode() for i in range(1000))
    assert {dict(m.headers())["__connect.errors.stage"] for m in dead} == {b"TASK_PUT"}
    assert dict(dead[0].headers())["__connect.errors.exception.message"] == b"cannot write value-0"
    worker.wait_for(lambda: _committed(bootstrap, "connect-errant-conn").get((topic_name, 0)) == 1000,
                    what="offsets committed once the reports completed")
    assert _task_state(worker, "errant-conn")["state"] == "RUNNING"


# -- connect_distributed_test.test_transformations -----------------------------------------------------------


def test_transformations_hoist_and_insert_timestamp(standalone, kafka, workdir: Path,
                                                    topic_name: str) -> None:
    clients.create_topics(kafka.bootstrap_servers, {topic_name: 1})
    source_file = workdir / "input.txt"
    lines = [f"line-{i}" for i in range(10)]
    source_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = _properties(workdir / "source.properties", {
        "name": "file-src", "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
        "tasks.max": "1", "file": str(source_file), "topic": topic_name,
        "transforms": "hoistToStruct,insertTimestampField",
        "transforms.hoistToStruct.type": "org.apache.kafka.connect.transforms.HoistField$Value",
        "transforms.hoistToStruct.field": "content",
        "transforms.insertTimestampField.type": "org.apache.kafka.connect.transforms.InsertField$Value",
        "transforms.insertTimestampField.timestamp.field": "inserted_ts",
    })
    standalone([source])  # the worker's converters: JsonConverter with schemas

    messages = _consume(kafka.bootstrap_servers, topic_name, len(lines))
    expected_schema = {"type": "struct", "fields": [
        {"type": "string", "optional": False, "field": "content"},
        {"type": "int64", "optional": True, "name": "org.apache.kafka.connect.data.Timestamp", "version": 1,
         "field": "inserted_ts"},
    ], "optional": False}
    assert len(messages) == len(lines)
    for line, msg in zip(lines, messages):
        ts_type, ts = msg.timestamp()
        assert ts_type == 1, "CreateTime"
        value = json.loads(msg.value())
        assert value == {"schema": expected_schema, "payload": {"content": line, "inserted_ts": ts}}
        assert msg.value() == (
            b'{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"content"},'
            b'{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,'
            b'"field":"inserted_ts"}],"optional":false},"payload":{"content":"%s","inserted_ts":%d}}'
            % (line.encode(), ts))
        assert msg.key() is None
