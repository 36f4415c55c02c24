"""Integration fixtures: ``kcfast standalone`` started as a subprocess, the way a user starts it."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kcfast.testing import EmbeddedKafka, free_port
from kcfast.testing.standalone import StandaloneProcess, properties_with

KAFKA_CONFIG = Path(__file__).resolve().parents[1] / "data" / "kafka-config"


@pytest.fixture
def kafka_sample() -> Any:
    """``kafka_sample(name, **overrides)``: Kafka's own sample properties file with some keys replaced."""

    def sample(name: str, **overrides: str) -> str:
        return properties_with((KAFKA_CONFIG / name).read_text(encoding="utf-8"), **overrides)

    return sample


def worker_properties(kafka: EmbeddedKafka, workdir: Path, port: int, **overrides: str) -> str:
    """Kafka's connect-standalone.properties pointed at ``kafka``, with test-friendly timings."""
    props = {
        "bootstrap.servers": kafka.bootstrap_servers,
        "offset.storage.file.filename": str(workdir / "connect.offsets"),
        "offset.flush.interval.ms": "500",
        "listeners": f"http://127.0.0.1:{port}",
        "consumer.session.timeout.ms": "6000",
        "consumer.heartbeat.interval.ms": "1000",
    }
    props.update(overrides)
    return properties_with((KAFKA_CONFIG / "connect-standalone.properties").read_text(encoding="utf-8"), **props)


@pytest.fixture(scope="module")
def module_worker(kafka: EmbeddedKafka, workdir: Path, request: pytest.FixtureRequest) -> Iterator[StandaloneProcess]:
    """One worker shared by a module's tests (which use their own connector names); the module's
    ``WORKER_SETTINGS`` dict adds or replaces worker settings. Needs a module-scoped ``workdir``."""
    port = free_port()
    props = worker_properties(kafka, workdir, port, **getattr(request.module, "WORKER_SETTINGS", {}))
    proc = StandaloneProcess(workdir, props, [], port).start()
    yield proc
    assert proc.stop() == 0


@pytest.fixture
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="kcfast-it-") as tmp:
        yield Path(tmp)


@pytest.fixture
def standalone(kafka: EmbeddedKafka, workdir: Path) -> Iterator[Any]:
    """Factory: ``standalone(connector_files, **worker_overrides)`` starts a worker; all are stopped at the end."""
    procs: list[StandaloneProcess] = []

    def start(connector_files: list[Path] | None = None, **overrides: str) -> StandaloneProcess:
        port = free_port()
        proc = StandaloneProcess(workdir, worker_properties(kafka, workdir, port, **overrides),
                                 list(connector_files or []), port)
        procs.append(proc)
        return proc.start()

    yield start
    for proc in procs:
        try:
            proc.stop()
        except AssertionError:
            pass


