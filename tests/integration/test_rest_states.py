"""Connector states over the REST API of a real worker: pause/resume/stop, ``initial_state`` and restarts
(spec 2).

The monitorable test connectors write their lifecycle to an events file, so each test checks what the worker
really did to the connector and task instances, not only what the status endpoint says.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from kcfast.kafka.clients import create_topics
from kcfast.testing import EmbeddedKafka, StandaloneProcess
from kcfast.testing.connectors import read_events, read_records

pytestmark = pytest.mark.integration

SOURCE = "kcfast.testing.connectors.MonitorableSourceConnector"
SINK = "kcfast.testing.connectors.MonitorableSinkConnector"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rest-states")


@pytest.fixture(scope="module")
def worker(module_worker: StandaloneProcess) -> StandaloneProcess:
    return module_worker


@pytest.fixture
def name() -> str:
    return f"conn-{uuid.uuid4().hex[:8]}"


class Connector:
    """A monitorable connector on the worker, with its events file and marker files."""

    def __init__(self, worker: StandaloneProcess, workdir: Path, name: str) -> None:
        self.worker = worker
        self.name = name
        self.events = workdir / f"{name}.events"
        self.broken = workdir / f"{name}.broken"
        self.seen = 0

    def source_config(self, topic: str, **overrides: str) -> dict[str, str]:
        return {
            "connector.class": SOURCE,
            "topic": topic,
            "tasks.max": "2",
            "messages.per.poll": "5",
            "poll.interval.ms": "50",
            "events.file": str(self.events),
            "fail.while.exists": str(self.broken),
            **overrides,
        }

    def create(self, config: dict[str, str], expect: int = 201, **extra: Any) -> dict[str, Any]:
        status, body = self.worker.http.request(
            "POST", "/connectors", {"name": self.name, "config": config, **extra}
        )
        assert status == expect, body
        return body  # type: ignore[no-any-return]

    def request(self, method: str, path: str = "") -> tuple[int, Any]:
        return self.worker.http.request(method, f"/connectors/{self.name}{path}")

    def states(self) -> tuple[str, list[str]] | None:
        status, body = self.worker.http.get(f"/connectors/{self.name}/status")
        if status != 200:
            return None
        return body["connector"]["state"], [t["state"] for t in body["tasks"]]

    def wait(self, connector: str, tasks: list[str]) -> None:
        self.worker.wait_for(
            lambda: self.states() == (connector, tasks), timeout=30, what=f"{self.name}: {connector} {tasks}"
        )

    def task_count(self) -> int:
        _, info = self.worker.http.get(f"/connectors/{self.name}")
        _, tasks = self.worker.http.get(f"/connectors/{self.name}/tasks")
        assert len(info["tasks"]) == len(tasks)
        return len(tasks)

    def new_events(self) -> Counter[str]:
        """The lifecycle events since the last call."""
        events = read_events(self.events)
        fresh, self.seen = events[self.seen :], len(events)
        return Counter(fresh)


@pytest.fixture
def connector(worker: StandaloneProcess, workdir: Path, name: str) -> Connector:
    return Connector(worker, workdir, name)


def events(*names: str) -> Counter[str]:
    return Counter(names)


TASKS_START = ("task 0 start", "task 1 start")
TASKS_STOP = ("task 0 stop", "task 1 stop")


# -- pause / resume / stop ----------------------------------------------------------------------------------


def test_pause_stop_resume_matrix(connector: Connector, kafka: EmbeddedKafka, workdir: Path) -> None:
    topic = connector.name
    create_topics(kafka.bootstrap_servers, {topic: 1})
    connector.create(connector.source_config(topic))
    connector.wait("RUNNING", ["RUNNING", "RUNNING"])
    assert connector.new_events() == events("connector start", *TASKS_START)

    # RUNNING -> STOPPED: tasks are shut down and their configs removed.
    assert connector.request("PUT", "/stop") == (204, None)
    connector.wait("STOPPED", [])
    assert connector.task_count() == 0
    assert connector.new_events() == events("connector stop", *TASKS_STOP)
    assert connector.request("PUT", "/stop") == (204, None)  # idempotent
    assert connector.states() == ("STOPPED", [])

    # STOPPED -> RUNNING: new task configs, new tasks.
    assert connector.request("PUT", "/resume") == (202, None)
    connector.wait("RUNNING", ["RUNNING", "RUNNING"])
    assert connector.task_count() == 2
    assert connector.new_events() == events("connector start", *TASKS_START)

    # RUNNING -> PAUSED: tasks are kept, paused.
    assert connector.request("PUT", "/pause") == (202, None)
    connector.wait("PAUSED", ["PAUSED", "PAUSED"])
    assert connector.task_count() == 2
    assert not [e for e in connector.new_events() if e.startswith("task")]
    assert connector.request("PUT", "/pause") == (202, None)  # idempotent
    assert connector.states() == ("PAUSED", ["PAUSED", "PAUSED"])

    # PAUSED -> STOPPED -> PAUSED: no tasks while paused after a stop.
    assert connector.request("PUT", "/stop") == (204, None)
    connector.wait("STOPPED", [])
    assert connector.new_events()[("task 0 stop")] == 1
    assert connector.request("PUT", "/pause") == (202, None)
    connector.wait("PAUSED", [])
    assert connector.task_count() == 0
    assert not [e for e in connector.new_events() if e.startswith("task")]

    # PAUSED (0 tasks) -> RUNNING, and records flow again.
    assert connector.request("PUT", "/resume") == (202, None)
    connector.wait("RUNNING", ["RUNNING", "RUNNING"])
    assert connector.task_count() == 2
    assert connector.request("PUT", "/resume") == (202, None)  # idempotent
    assert connector.states() == ("RUNNING", ["RUNNING", "RUNNING"])
    assert Counter(e for e in connector.new_events() if e.startswith("task")) == events(*TASKS_START)


def test_pause_stops_the_connector_instance_but_keeps_its_tasks(
    connector: Connector, kafka: EmbeddedKafka
) -> None:
    # Kafka's WorkerConnector calls Connector.stop() on pause and Connector.start() on resume; the tasks stay.
    create_topics(kafka.bootstrap_servers, {connector.name: 1})
    connector.create(connector.source_config(connector.name))
    connector.wait("RUNNING", ["RUNNING", "RUNNING"])
    connector.new_events()
    assert connector.request("PUT", "/pause") == (202, None)
    connector.wait("PAUSED", ["PAUSED", "PAUSED"])
    assert connector.new_events() == events("connector stop")
    assert connector.request("PUT", "/resume") == (202, None)
    connector.wait("RUNNING", ["RUNNING", "RUNNING"])
    assert connector.new_events() == events("connector start")


def test_paused_source_tasks_produce_nothing_until_resumed(
    worker: StandaloneProcess, kafka: EmbeddedKafka, workdir: Path, name: str
) -> None:
    topic = name
    create_topics(kafka.bootstrap_servers, {topic: 1})
    source = Connector(worker, workdir, name)
    sink = Connector(worker, workdir, f"{name}-sink")
    records = workdir / f"{name}.records"
    source.create(source.source_config(topic, **{"tasks.max": "1", "poll.events": "true"}))
    sink.create({"connector.class": SINK, "topics": topic, "records.file": str(records)})
    worker.wait_for(lambda: len(read_records(records)) >= 20, what="records in the sink")

    def polled() -> int:
        return sum(int(e.rsplit(" ", 1)[1]) for e in read_events(source.events) if " polled " in e)

    assert source.request("PUT", "/pause") == (202, None)
    source.wait("PAUSED", ["PAUSED"])
    # The task reports PAUSED from its own thread once it has stopped polling: what it polled so far arrives,
    # then nothing more (one second is twenty poll intervals).
    produced = polled()
    worker.wait_for(lambda: len(read_records(records)) == produced, what="every polled record in the sink")
    time.sleep(1.0)
    assert polled() == produced and len(read_records(records)) == produced

    assert source.request("PUT", "/resume") == (202, None)
    source.wait("RUNNING", ["RUNNING"])
    worker.wait_for(
        lambda: len(read_records(records)) >= produced + 20, what="records flowing after the resume"
    )
    values = [r.value for r in read_records(records)]
    assert values[: produced + 20] == [f"{name}-0-{seq}" for seq in range(produced + 20)], (
        "records continue in sequence after the resume, none lost or repeated"
    )


# -- initial_state ------------------------------------------------------------------------------------------


def test_created_paused_has_no_tasks_until_resumed(connector: Connector, kafka: EmbeddedKafka) -> None:
    create_topics(kafka.bootstrap_servers, {connector.name: 1})
    info = connector.create(connector.source_config(connector.name), initial_state="paused")
    assert info["tasks"] == []
    connector.wait("PAUSED", [])
    assert connector.task_count() == 0
    # A paused connector is not started (Kafka transitions INIT -> PAUSED without Connector.start()).
    assert connector.new_events() == Counter()

    assert connector.request("PUT", "/resume") == (202, None)
    connector.wait("RUNNING", ["RUNNING", "RUNNING"])
    assert connector.new_events() == events("connector start", *TASKS_START)


def test_created_stopped_then_deleted(connector: Connector) -> None:
    info = connector.create(connector.source_config(connector.name), initial_state="STOPPED")
    assert info["tasks"] == []
    connector.wait("STOPPED", [])
    assert connector.new_events() == Counter()
    assert connector.request("DELETE") == (204, None)
    assert connector.request("GET", "/status") == (
        404,
        {"error_code": 404, "message": f"No status found for connector {connector.name}"},
    )


# -- restarts -----------------------------------------------------------------------------------------------


def test_restart_of_an_unknown_connector(worker: StandaloneProcess) -> None:
    for query in ("", "?includeTasks=true", "?onlyFailed=true", "?includeTasks=true&onlyFailed=true"):
        expected = "Connector nope not found" if not query else "Unknown connector: nope"
        assert worker.http.request("POST", f"/connectors/nope/restart{query}") == (
            404,
            {"error_code": 404, "message": expected},
        ), query


def test_restart_of_a_running_connector(connector: Connector) -> None:
    connector.create(connector.source_config(connector.name))
    connector.wait("RUNNING", ["RUNNING", "RUNNING"])
    connector.new_events()

    # Plain: the connector instance only, synchronously.
    assert connector.request("POST", "/restart") == (204, None)
    assert connector.new_events() == events("connector stop", "connector start")
    connector.wait("RUNNING", ["RUNNING", "RUNNING"])

    # onlyFailed on a healthy connector: nothing restarts, the body shows no RESTARTING.
    for query in ("?onlyFailed=true", "?onlyFailed=true&includeTasks=true"):
        status, body = connector.request("POST", f"/restart{query}")
        assert status == 202
        assert body["connector"]["state"] == "RUNNING"
        assert [t["state"] for t in body["tasks"]] == ["RUNNING", "RUNNING"]
    assert connector.new_events() == Counter()

    # includeTasks: the connector and every task, each once.
    status, body = connector.request("POST", "/restart?includeTasks=true")
    assert status == 202
    worker_id = f"127.0.0.1:{connector.worker.port}"
    assert body == {
        "name": connector.name,
        "connector": {"state": "RESTARTING", "worker_id": worker_id},
        "tasks": [{"id": i, "state": "RESTARTING", "worker_id": worker_id} for i in range(2)],
        "type": "source",
    }
    connector.wait("RUNNING", ["RUNNING", "RUNNING"])
    assert connector.new_events() == events("connector stop", "connector start", *TASKS_STOP, *TASKS_START)


def test_restart_of_a_failed_connector(connector: Connector) -> None:
    connector.broken.touch()
    # As Kafka's standalone herder: the connector is stored and FAILED, and the create answers the failure.
    body = connector.create(connector.source_config(connector.name, fail="connector.start"), expect=500)
    assert body == {"error_code": 500,
                    "message": f"Failed to transition connector {connector.name} to state STARTED"}
    connector.wait("FAILED", [])
    _, status = connector.request("GET", "/status")
    assert "connector failed in connector.start as configured" in status["connector"]["trace"]
    assert connector.request("GET", "/config")[0] == 200

    # Still broken: a plain restart fails again, and says so.
    assert connector.request("POST", "/restart") == (500, {
        "error_code": 500, "message": f"Failed to transition connector {connector.name} to state STARTED"})
    connector.wait("FAILED", [])
    connector.broken.unlink()
    status, body = connector.request("POST", "/restart?onlyFailed=true&includeTasks=true")
    assert status == 202 and body["connector"]["state"] == "RESTARTING" and body["tasks"] == []
    # The repaired connector runs, with its tasks.
    connector.wait("RUNNING", ["RUNNING", "RUNNING"])
    assert connector.task_count() == 2


def test_restart_of_failed_tasks(connector: Connector) -> None:
    connector.broken.touch()
    connector.create(
        connector.source_config(connector.name, **{"tasks.max": "3", "fail": "task.poll", "fail.tasks": "1"})
    )
    connector.wait("RUNNING", ["RUNNING", "FAILED", "RUNNING"])
    status, task = connector.request("GET", "/tasks/1/status")
    assert (
        status == 200
        and task["state"] == "FAILED"
        and task["worker_id"] == f"127.0.0.1:{connector.worker.port}"
    )
    assert "task 1 failed in task.poll as configured" in task["trace"]
    connector.new_events()

    # A plain restart restarts the connector instance only; the failed task stays failed.
    assert connector.request("POST", "/restart") == (204, None)
    assert connector.new_events() == events("connector stop", "connector start")
    assert connector.states() == ("RUNNING", ["RUNNING", "FAILED", "RUNNING"])

    # onlyFailed without includeTasks restarts nothing.
    status, body = connector.request("POST", "/restart?onlyFailed=true")
    assert status == 202 and [t["state"] for t in body["tasks"]] == ["RUNNING", "FAILED", "RUNNING"]
    assert body["connector"]["state"] == "RUNNING"
    # onlyFailed with includeTasks restarts only the failed task (which fails again: still broken).
    status, body = connector.request("POST", "/restart?onlyFailed=true&includeTasks=true")
    assert status == 202 and [t["state"] for t in body["tasks"]] == ["RUNNING", "RESTARTING", "RUNNING"]
    assert body["connector"]["state"] == "RUNNING"
    connector.wait("RUNNING", ["RUNNING", "FAILED", "RUNNING"])
    assert Counter(e for e in connector.new_events() if not e.endswith("failed")) == events(
        "task 1 stop", "task 1 start"
    )

    # Repaired, the task restart endpoint brings it back.
    connector.broken.unlink()
    assert connector.request("POST", "/tasks/1/restart") == (204, None)
    connector.wait("RUNNING", ["RUNNING", "RUNNING", "RUNNING"])
    assert connector.new_events()["task 1 start"] == 1

    missing = connector.request("POST", "/tasks/7/restart")
    assert missing == (404, {"error_code": 404, "message": f"Task {connector.name}-7 not found"})
    assert connector.worker.http.request("POST", "/connectors/nope/tasks/0/restart") == (
        404,
        {"error_code": 404, "message": "Connector nope not found"},
    )


def test_failed_connector_can_be_stopped_resumed_and_deleted(connector: Connector) -> None:
    connector.broken.touch()
    connector.create(connector.source_config(connector.name, fail="connector.start"), expect=500)
    connector.wait("FAILED", [])
    assert connector.request("PUT", "/stop") == (204, None)
    connector.wait("STOPPED", [])
    connector.broken.unlink()
    assert connector.request("PUT", "/resume") == (202, None)
    connector.wait("RUNNING", ["RUNNING", "RUNNING"])
    assert connector.request("DELETE") == (204, None)
    assert connector.request("GET")[0] == 404
