"""Bad inputs: the REST API fuzzed from its own OpenAPI document, converters fed arbitrary bytes, and garbage
on a topic a sink reads. The worker never crashes, never answers an unexpected 5xx, and keeps serving."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_harness import Pipeline, Results, task_states, wait_until

from kcfast import _core_py, core
from kcfast.converters import (
    BooleanConverter,
    ByteArrayConverter,
    DoubleConverter,
    FloatConverter,
    IntegerConverter,
    JsonConverter,
    LongConverter,
    ShortConverter,
    SimpleHeaderConverter,
    StringConverter,
)
from kcfast.errors import DataError
from kcfast.kafka.clients import create_topics, new_producer

#: Python errors that mean a bug when they escape a request handler (Kafka's own 500s are ConnectErrors).
PYTHON_BUGS = re.compile(r"^(TypeError|KeyError|AttributeError|IndexError|ValueError|AssertionError|RuntimeError|"
                         r"UnicodeDecodeError|UnicodeEncodeError|RecursionError|OverflowError|ZeroDivisionError|"
                         r"NameError|UnboundLocalError)\b", re.M)

CONVERTERS: list[tuple[str, type, dict[str, str]]] = [
    ("json+schemas", JsonConverter, {}),
    ("json-schemaless", JsonConverter, {"schemas.enable": "false"}),
    ("string", StringConverter, {}),
    ("bytes", ByteArrayConverter, {}),
    ("int", IntegerConverter, {}),
    ("long", LongConverter, {}),
    ("short", ShortConverter, {}),
    ("float", FloatConverter, {}),
    ("double", DoubleConverter, {}),
    ("boolean", BooleanConverter, {}),
]

# Bytes that look like what converters expect, mutated; and plain random bytes.
_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
).map(lambda v: json.dumps({"schema": v, "payload": v} if isinstance(v, dict) else v).encode())
PAYLOADS = st.one_of(st.binary(max_size=256), _JSONISH,
                     _JSONISH.flatmap(lambda b: st.integers(0, max(0, len(b) - 1)).map(lambda i: b[:i] + b[i + 1:])))


_TRIED = {"values": 0, "batches": 0}


@pytest.fixture(scope="module", autouse=True)
def _record_converter_fuzz() -> Any:
    """After the module, put what the converter fuzz tried in the results table."""
    yield
    if _TRIED["values"] or _TRIED["batches"]:
        Results().record("converter byte fuzz (hypothesis)",
                         bad_inputs=f"{_TRIED['values']} values through {len(CONVERTERS)} converters and the header "
                         f"converter; {_TRIED['batches']} batches through both cores",
                         outcome="only DataError raised; both cores agree")


@pytest.mark.parametrize(("name", "cls", "configs"), CONVERTERS, ids=[c[0] for c in CONVERTERS])
@settings(max_examples=300, deadline=None, database=None)
@given(data=PAYLOADS)
def test_converters_never_crash_on_arbitrary_bytes(name: str, cls: type, configs: dict[str, str], data: bytes) -> None:
    _TRIED["values"] += 1
    conv = cls()
    conv.configure(dict(configs), False)
    try:
        conv.to_connect_data("t", data)
    except DataError:
        pass
    header = SimpleHeaderConverter()
    header.configure({})
    header.to_connect_header("t", "h", data)  # header values that do not parse are kept as strings


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(st.tuples(st.none() | PAYLOADS, st.none() | PAYLOADS), min_size=1, max_size=8))
def test_batch_conversion_fails_only_with_data_errors_on_both_cores(batch: list[tuple[Any, Any]]) -> None:
    from confluent_kafka import Message

    _TRIED["batches"] += 1
    messages = [Message(topic="t", partition=0, offset=i, key=k, value=v, timestamp=(1, 1)) for i, (k, v) in
                enumerate(batch)]
    kc, vc = JsonConverter(), JsonConverter()
    kc.configure({"schemas.enable": "false"}, True)
    vc.configure({}, False)
    hc = SimpleHeaderConverter()
    hc.configure({})
    outcomes = []
    for impl in {core, _core_py}:
        try:
            outcomes.append(len(impl.sink_records_from_messages(messages, kc, vc, hc)))
        except DataError as exc:
            outcomes.append(("DataError", getattr(exc, "index", None)))
    assert len(set(map(str, outcomes))) == 1, f"the two cores disagree: {outcomes}"


# -- against a running worker -------------------------------------------------------------------------------


def _python_bugs(log: str) -> list[str]:
    """Tracebacks of request handlers that ended in a plain Python error."""
    bugs = []
    for chunk in log.split("Uncaught exception in REST call")[1:]:
        last = [line for line in chunk.splitlines() if line and not line.startswith((" ", "Traceback"))][:8]
        bugs += [line for line in last if PYTHON_BUGS.match(line)]
    return bugs


@pytest.mark.integration
def test_rest_api_fuzzed_from_its_openapi_document(fault_broker: Any, workdir: Path, results: Any) -> None:
    try:
        import schemathesis
    except ImportError:
        pytest.skip("KCFAST_FUZZ: schemathesis not installed (pip install 'kcfast[fuzz]')")
    pipeline = Pipeline(fault_broker, workdir, records=2_000, rate=1_000)
    try:
        worker = pipeline.start_worker()
        base = worker.http.base
        schema = schemathesis.openapi.from_url(base + "/openapi.json")
        schema.config.update(base_url=base, request_timeout=30)
        tried = 0
        unexpected: list[str] = []
        operations = [op.ok() for op in schema.get_all_operations()]

        for operation in operations:
            @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def check(case: Any) -> None:
                nonlocal tried
                response = case.call()
                tried += 1
                if response.status_code < 500:
                    return
                label = f"{case.method} {case.formatted_path} -> {response.status_code}"
                try:
                    body = response.json()
                except ValueError:
                    unexpected.append(f"{label}: not the JSON error body: {response.text[:200]}")
                    return
                if set(body) != {"error_code", "message"} or body["error_code"] != response.status_code:
                    unexpected.append(f"{label}: {body}")
                elif PYTHON_BUGS.match(str(body["message"])):
                    unexpected.append(f"{label}: {body['message']}")

            check()
        assert worker.proc is not None and worker.proc.poll() is None, "the worker is still running"
        assert worker.http.get("/")[0] == 200 and worker.http.get("/health")[0] == 200
        bugs = _python_bugs(worker.log_path.read_text(encoding="utf-8", errors="replace"))
        results.record("REST API fuzz (schemathesis)", load="a running source + sink pipeline",
                       bad_inputs=f"{tried} generated requests over {len(operations)} operations",
                       outcome=f"{len(unexpected)} unexpected 5xx, {len(bugs)} handler crashes; worker kept serving")
        assert unexpected == [], unexpected[:10]
        assert bugs == [], bugs[:10]
    finally:
        pipeline.stop_all()


@pytest.mark.integration
def test_garbage_on_a_topic_fails_only_the_task_that_reads_it(fault_broker: Any, workdir: Path,
                                                               results: Any) -> None:
    pipeline = Pipeline(fault_broker, workdir, records=10_000, rate=2_000)
    garbage_topic = f"garbage-{uuid.uuid4().hex[:8]}"
    create_topics(fault_broker.bootstrap, {garbage_topic: 1})
    producer = new_producer({"bootstrap.servers": fault_broker.bootstrap})
    bad = [b"\x00\xff{", b"{\"schema\": 1", b"not json", b"\xc3\x28", b"[1, 2", b"{}}"]
    for i, value in enumerate(bad * 5):
        producer.produce(garbage_topic, value=value, key=str(i).encode())
    assert producer.flush(30) == 0
    strict = workdir / "strict-sink.properties"
    strict.write_text(f"name=strict-sink\nconnector.class=FileStreamSink\ntopics={garbage_topic}\n"
                      f"file={workdir / 'strict.txt'}\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\n"
                      "value.converter.schemas.enable=true\n", encoding="utf-8")
    try:
        worker = pipeline.start_worker([pipeline.source_props, pipeline.sink_props, strict])
        wait_until(lambda: task_states(worker, "strict-sink") == ["FAILED"], 60, "the strict sink to fail")
        _, status = worker.http.get("/connectors/strict-sink/status")
        trace = status["tasks"][0]["trace"]
        assert "Tolerance exceeded" in trace or "DataError" in trace or "JsonConverter" in trace, trace
        topic, sink = pipeline.wait_complete(worker, timeout=60)
        assert topic.missing(pipeline.shares) == set() and sink.missing(pipeline.shares) == set()
        assert worker.http.get("/health")[0] == 200
        results.record("garbage on a sink's topic", load="10 000 records at 2 000/s beside it",
                       bad_inputs=f"{len(bad) * 5} malformed JSON values", lost=0,
                       duplicates=f"topic {topic.duplicates}, sink {sink.duplicates}",
                       outcome="the reading task FAILED with the conversion error; the rest kept running")
    finally:
        pipeline.stop_all()
