"""REST behaviour that depends on the worker's configuration or state: ``/health`` while starting and
while the worker is busy, topic tracking switches, and client override policies (spec 1.2, 6, 11.2)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kcfast.kafka.clients import create_topics
from kcfast.testing import EmbeddedKafka, StandaloneProcess, free_port, properties_with
from kcfast.testing.connectors import read_events

pytestmark = pytest.mark.integration

KAFKA_CONFIG = Path(__file__).resolve().parents[1] / "data" / "kafka-config"
SOURCE = "kcfast.testing.connectors.MonitorableSourceConnector"
INVALID_SUFFIX = (
    "\nYou can also find the above list of errors at the endpoint "
    "`/connector-plugins/{connectorType}/config/validate`"
)

Starter = Callable[..., StandaloneProcess]


@pytest.fixture(scope="module")
def start_worker(kafka: EmbeddedKafka, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Starter]:
    """``start_worker(connector_files=(), wait=True, **overrides)``: a worker in its own directory."""
    procs: list[StandaloneProcess] = []

    def start(connector_files: tuple[Path, ...] = (), **overrides: str) -> StandaloneProcess:
        workdir = tmp_path_factory.mktemp("worker-config")
        port = free_port()
        props = properties_with(
            (KAFKA_CONFIG / "connect-standalone.properties").read_text(encoding="utf-8"),
            **{
                "bootstrap.servers": kafka.bootstrap_servers,
                "offset.storage.file.filename": str(workdir / "connect.offsets"),
                "offset.flush.interval.ms": "500",
                "listeners": f"http://127.0.0.1:{port}",
                **overrides,
            },
        )
        proc = StandaloneProcess(workdir, props, list(connector_files), port)
        procs.append(proc)
        return proc.start()

    yield start
    for proc in procs:
        proc.stop()


def source_config(topic: str, **overrides: str) -> dict[str, str]:
    return {
        "connector.class": SOURCE,
        "topic": topic,
        "messages.per.poll": "5",
        "poll.interval.ms": "50",
        **overrides,
    }


def test_health_while_starting_and_while_busy(start_worker: Starter, tmp_path: Path) -> None:
    # A connector given on the command line blocks in start(): the REST server answers, the worker is not
    # ready.
    hold = tmp_path / "hold"
    hold.touch()
    connector_file = tmp_path / "slow.json"
    connector_file.write_text(
        json.dumps(
            {
                "name": "slow",
                "config": source_config("slow", block="connector.start", **{"block.while.exists": str(hold)}),
            }
        ),
        encoding="utf-8",
    )
    worker = start_worker((connector_file,))
    try:
        status, body = worker.http.get("/health")
        assert (status, body["status"]) == (503, "starting")
        assert body["message"].startswith("Worker is still starting up.")
        assert "The worker is currently starting the connector, which began at " in body["message"]
    finally:
        hold.unlink()
    worker.wait_for(lambda: worker.http.get("/health")[0] == 200, what="a healthy worker")
    assert worker.http.get("/health")[1] == {
        "status": "healthy",
        "message": "Worker has completed startup and is ready to handle requests.",
    }
    worker.wait_for(
        lambda: worker.http.get("/connectors/slow/status")[1]["connector"]["state"] == "RUNNING",
        what="the slow connector running",
    )

    # Once ready, a herder stuck in a request makes the worker unhealthy (500), not starting.
    hold.touch()
    answers: dict[str, Any] = {}
    events = tmp_path / "stuck.events"
    creating = threading.Thread(
        target=lambda: answers.update(
            create=worker.http.request(
                "POST",
                "/connectors",
                {
                    "name": "stuck",
                    "config": source_config(
                        "stuck",
                        block="connector.start",
                        **{"block.while.exists": str(hold), "events.file": str(events)},
                    ),
                },
            )
        ),
        daemon=True,
    )
    creating.start()
    try:
        worker.wait_for(
            lambda: "connector start-blocked" in read_events(events), what="the connector blocked"
        )
        status, body = worker.http.get("/health")
        assert (status, body["status"]) == (500, "unhealthy")
        assert body["message"].startswith(
            "Worker was unable to handle this request and may be unable to handle other requests."
        )
        assert "starting the connector" in body["message"]
    finally:
        hold.unlink()
        creating.join(timeout=60)
    assert answers["create"][0] == 201
    assert worker.http.get("/health")[0] == 200


@pytest.fixture(scope="module")
def strict_worker(start_worker: Starter) -> StandaloneProcess:
    """Topic tracking off, no client overrides allowed."""
    return start_worker(
        **{"topic.tracking.enable": "false", "connector.client.config.override.policy": "None"}
    )


@pytest.fixture(scope="module")
def principal_worker(start_worker: Starter) -> StandaloneProcess:
    """Topic tracking on but not resettable, only principal-related overrides allowed."""
    return start_worker(
        **{"topic.tracking.allow.reset": "false", "connector.client.config.override.policy": "Principal"}
    )


def test_topic_tracking_disabled(strict_worker: StandaloneProcess, kafka: EmbeddedKafka) -> None:
    name = f"track-{uuid.uuid4().hex[:8]}"
    create_topics(kafka.bootstrap_servers, {name: 1})
    assert (
        strict_worker.http.request("POST", "/connectors", {"name": name, "config": source_config(name)})[0]
        == 201
    )
    disabled = (403, {"error_code": 403, "message": "Topic tracking is disabled."})
    for connector in (name, "unknown"):
        assert strict_worker.http.get(f"/connectors/{connector}/topics") == disabled
        assert strict_worker.http.request("PUT", f"/connectors/{connector}/topics/reset") == disabled


def test_topic_tracking_reset_disabled(principal_worker: StandaloneProcess, kafka: EmbeddedKafka) -> None:
    name = f"track-{uuid.uuid4().hex[:8]}"
    create_topics(kafka.bootstrap_servers, {name: 1})
    assert (
        principal_worker.http.request("POST", "/connectors", {"name": name, "config": source_config(name)})[0]
        == 201
    )
    principal_worker.wait_for(
        lambda: principal_worker.http.get(f"/connectors/{name}/topics") == (200, {name: {"topics": [name]}}),
        what="the topic tracked",
    )
    assert principal_worker.http.request("PUT", f"/connectors/{name}/topics/reset") == (
        403,
        {"error_code": 403, "message": "Topic tracking reset is disabled."},
    )
    assert principal_worker.http.get(f"/connectors/{name}/topics") == (200, {name: {"topics": [name]}})


def test_none_policy_rejects_every_client_override(strict_worker: StandaloneProcess) -> None:
    name = f"policy-{uuid.uuid4().hex[:8]}"
    config = source_config(name, **{"producer.override.linger.ms": "1"})
    assert strict_worker.http.request("POST", "/connectors", {"name": name, "config": config}) == (
        400,
        {
            "error_code": 400,
            "message": "Connector configuration is invalid and contains the following 1 error(s):\n"
            "The 'None' policy does not allow 'linger.ms' to be overridden in the connector configuration."
            + INVALID_SUFFIX,
        },
    )
    assert (
        strict_worker.http.request("POST", "/connectors", {"name": name, "config": source_config(name)})[0]
        == 201
    )


def test_principal_policy_allows_only_principal_overrides(principal_worker: StandaloneProcess) -> None:
    def validate(**overrides: str) -> Any:
        status, body = principal_worker.http.request(
            "PUT",
            f"/connector-plugins/{SOURCE}/config/validate",
            {"name": "v", **source_config("v", **overrides)},
        )
        assert status == 200
        return body

    allowed = validate(
        **{
            "producer.override.sasl.mechanism": "PLAIN",
            "producer.override.security.protocol": "SASL_PLAINTEXT",
            "producer.override.sasl.jaas.config": "x required;",
        }
    )
    assert allowed["error_count"] == 0
    rejected = validate(**{"producer.override.linger.ms": "1"})
    assert rejected["error_count"] == 1
    errors = {c["value"]["name"]: c["value"]["errors"] for c in rejected["configs"] if c["value"]["errors"]}
    assert errors == {
        "producer.override.linger.ms": [
            "The 'Principal' policy does not allow 'linger.ms' to be overridden in the connector "
            "configuration."
        ]
    }
