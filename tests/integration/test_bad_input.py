"""Bad input and misbehaving connectors against a real worker: the REST answers of Kafka Connect, and after
each case the worker keeps serving and an unrelated pipeline keeps moving records.

The unrelated pipeline (the *canary*) is a monitorable source writing to a topic and a monitorable sink
reading it into a file; it runs for the whole module.
"""

from __future__ import annotations

import threading
import time
import uuid
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
    return tmp_path_factory.mktemp("bad-input")


WORKER_SETTINGS = {
    "task.shutdown.graceful.timeout.ms": "2000",
}


@pytest.fixture(scope="module")
def worker(module_worker: StandaloneProcess) -> StandaloneProcess:
    return module_worker


def states(worker: StandaloneProcess, name: str) -> tuple[str, list[str]] | None:
    status, body = worker.http.get(f"/connectors/{name}/status")
    if status != 200:
        return None
    return body["connector"]["state"], [t["state"] for t in body["tasks"]]


def wait_states(worker: StandaloneProcess, name: str, connector: str, tasks: list[str]) -> dict[str, Any]:
    worker.wait_for(
        lambda: states(worker, name) == (connector, tasks), timeout=30, what=f"{name}: {connector} {tasks}"
    )
    return worker.http.get(f"/connectors/{name}/status")[1]  # type: ignore[no-any-return]


def create(worker: StandaloneProcess, name: str, config: dict[str, str], expect: int = 201) -> Any:
    status, body = worker.http.request("POST", "/connectors", {"name": name, "config": config})
    assert status == expect, body
    return body


class Canary:
    """A source -> topic -> sink pipeline that must keep flowing whatever the tests do to the worker."""

    def __init__(self, worker: StandaloneProcess, kafka: EmbeddedKafka, workdir: Path) -> None:
        self.worker = worker
        self.topic = f"canary-{uuid.uuid4().hex[:8]}"
        self.records = workdir / "canary.records"
        create_topics(kafka.bootstrap_servers, {self.topic: 1})
        create(
            worker,
            "canary-source",
            {
                "connector.class": SOURCE,
                "topic": self.topic,
                "messages.per.poll": "5",
                "poll.interval.ms": "50",
            },
        )
        create(
            worker,
            "canary-sink",
            {"connector.class": SINK, "topics": self.topic, "records.file": str(self.records)},
        )
        self.assert_flowing()
        for name in ("canary-source", "canary-sink"):  # both ends track the topic they use
            assert worker.http.get(f"/connectors/{name}/topics") == (200, {name: {"topics": [self.topic]}})

    def assert_flowing(self) -> None:
        """Both connectors RUNNING and records still arriving (the source makes 100 a second)."""
        seen = len(read_records(self.records))
        self.worker.wait_for(
            lambda: len(read_records(self.records)) >= seen + 20,
            timeout=30,
            what="canary records still flowing",
        )
        for name in ("canary-source", "canary-sink"):
            assert states(self.worker, name) == ("RUNNING", ["RUNNING"]), name
        assert self.worker.http.get("/connectors/canary-sink")[0] == 200  # a request through the herder


@pytest.fixture(scope="module")
def canary(worker: StandaloneProcess, kafka: EmbeddedKafka, workdir: Path) -> Canary:
    return Canary(worker, kafka, workdir)


@pytest.fixture
def name() -> str:
    return f"bad-{uuid.uuid4().hex[:8]}"


def monitorable_source(workdir: Path, name: str, topic: str, **overrides: str) -> dict[str, str]:
    return {
        "connector.class": SOURCE,
        "topic": topic,
        "messages.per.poll": "5",
        "poll.interval.ms": "50",
        "events.file": str(workdir / f"{name}.events"),
        **overrides,
    }


# -- requests -----------------------------------------------------------------------------------------------


def test_unknown_classes_and_invalid_configs(worker: StandaloneProcess, canary: Canary, name: str) -> None:
    unknown = {"connector.class": "org.example.NoSuchConnector", "tasks.max": "1"}
    missing_class = (
        "Failed to find any class that implements Connector and which name matches "
        "org.example.NoSuchConnector, available connectors are: "
    )
    for method, path, body in (
        ("POST", "/connectors", {"name": name, "config": unknown}),
        ("PUT", f"/connectors/{name}/config", unknown),
        ("PUT", "/connector-plugins/NoSuchConnector/config/validate", unknown),
    ):
        status, answer = worker.http.request(method, path, body)
        assert status == 500 and answer["error_code"] == 500, path
        assert answer["message"].startswith(missing_class), path

    # Kafka reports an unparsable value twice (parse, then the validator sees null), and the missing topics
    # on both keys.
    assert worker.http.request(
        "POST",
        "/connectors",
        {
            "name": name,
            "config": {"connector.class": "FileStreamSink", "tasks.max": "many", "errors.tolerance": "some"},
        },
    ) == (
        400,
        {
            "error_code": 400,
            "message": "Connector configuration is invalid and contains the following 5 error(s):\n"
            "Invalid value many for configuration tasks.max: Not a number of type INT\n"
            "Invalid value null for configuration tasks.max: Value must be non-null\n"
            "Invalid value some for configuration errors.tolerance: String must be one of: none, all\n"
            "Must configure one of topics or topics.regex\n"
            "Must configure one of topics or topics.regex\n"
            "You can also find the above list of errors at the endpoint "
            "`/connector-plugins/{connectorType}/config/validate`",
        },
    )
    assert worker.http.request("POST", "/connectors", {"name": name, "config": {"topic": "t"}}) == (
        400,
        {
            "error_code": 400,
            "message": f"Connector config {{topic=t, name={name}}} contains no connector type",
        },
    )

    assert name not in worker.http.get("/connectors")[1]
    canary.assert_flowing()


@pytest.mark.parametrize(
    ("method", "path", "body", "problem"),
    [
        ("POST", "/connectors", b'{"name": "x", "config": {', "Unexpected end-of-input"),
        ("POST", "/connectors", b"not json", "Unrecognized token 'not'"),
        (
            "POST",
            "/connectors",
            b'{"name": "x", "config": "abc"}',
            "Cannot construct instance of `java.util.LinkedHashMap`",
        ),
        (
            "POST",
            "/connectors",
            b'{"name": "x", "config": {"topic": ["a"]}}',
            "Cannot deserialize value of type `java.lang.String` from Array value",
        ),
        (
            "POST",
            "/connectors",
            b'{"name": "x", "config": {}, "priority": 1}',
            'Unrecognized field "priority"',
        ),
        ("POST", "/connectors", b"[]", "Cannot deserialize value of type"),
        ("PUT", "/connectors/x/config", b"[]", "Cannot deserialize value of type `java.util.LinkedHashMap"),
        (
            "PATCH",
            "/connectors/x/config",
            b'{"topic": {"a": 1}}',
            "Cannot deserialize value of type `java.lang.String` from Object value",
        ),
        ("PUT", "/connector-plugins/FileStreamSink/config/validate", b"5", "Cannot construct instance of"),
        (
            "PUT",
            "/admin/loggers/root",
            b'{"level": ["DEBUG"]}',
            "Cannot deserialize value of type `java.lang.String`",
        ),
        (
            "PATCH",
            "/connectors/x/offsets",
            b'{"offsets": {}}',
            "Cannot deserialize value of type `java.util.ArrayList",
        ),
    ],
)
def test_malformed_and_mistyped_bodies_are_answered_with_500(
    worker: StandaloneProcess, canary: Canary, method: str, path: str, body: bytes, problem: str
) -> None:
    status, answer = worker.http.request(method, path, raw=body)
    assert (status, answer["error_code"]) == (500, 500)
    assert problem in answer["message"]
    assert worker.http.get("/connectors/x")[0] == 404, "nothing was created"
    canary.assert_flowing()


def test_non_json_content_is_refused(worker: StandaloneProcess, canary: Canary) -> None:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(
        worker.http.base + "/connectors",
        data=b"name=x",
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with pytest.raises(urllib.error.HTTPError) as failure:
        urllib.request.urlopen(req, timeout=30)
    assert failure.value.code == 415
    assert failure.value.read() == b'{"error_code":415,"message":"HTTP 415 Unsupported Media Type"}'
    canary.assert_flowing()


def test_unknown_connector_names(worker: StandaloneProcess, canary: Canary) -> None:
    def expect(status: int, message: str) -> tuple[int, Any]:
        return status, {"error_code": status, "message": message}

    not_found = expect(404, "Connector ghost not found")
    cases: list[tuple[str, str, Any, tuple[int, Any]]] = [
        ("GET", "", None, not_found),
        ("GET", "/config", None, not_found),
        ("GET", "/tasks", None, not_found),
        ("GET", "/tasks-config", None, not_found),
        ("GET", "/offsets", None, not_found),
        ("PATCH", "/config", {"a": "b"}, not_found),
        ("DELETE", "", None, not_found),
        ("DELETE", "/offsets", None, not_found),
        ("PATCH", "/offsets", {"offsets": [{"partition": {"a": "b"}, "offset": None}]}, not_found),
        ("POST", "/restart", None, not_found),
        ("POST", "/restart?includeTasks=true", None, expect(404, "Unknown connector: ghost")),
        ("POST", "/tasks/0/restart", None, not_found),
        ("GET", "/status", None, expect(404, "No status found for connector ghost")),
        ("GET", "/tasks/0/status", None, expect(404, "No status found for task ghost-0")),
        ("GET", "/tasks/zero/status", None, expect(404, "HTTP 404 Not Found")),
        ("PUT", "/pause", None, expect(404, "Unknown connector ghost")),
        ("PUT", "/resume", None, expect(404, "Unknown connector ghost")),
        ("PUT", "/stop", None, expect(500, "No connector `ghost` configured")),
        ("GET", "/topics", None, (200, {"ghost": {"topics": []}})),
        ("PUT", "/topics/reset", None, (202, None)),
        (
            "POST",
            "/tasks",
            [],
            expect(
                500,
                "Kafka Connect in standalone mode does not support externally setting task configurations.",
            ),
        ),
        (
            "PUT",
            "/fence",
            None,
            expect(500, "Kafka Connect in standalone mode does not support exactly-once source connectors."),
        ),
    ]
    for method, path, body, expected in cases:
        assert worker.http.request(method, f"/connectors/ghost{path}", body) == expected, (method, path)
    assert "ghost" not in worker.http.get("/connectors")[1]
    canary.assert_flowing()


# -- misbehaving connectors ---------------------------------------------------------------------------------


def test_connector_failing_in_start(
    worker: StandaloneProcess, canary: Canary, workdir: Path, name: str
) -> None:
    body = create(worker, name, monitorable_source(workdir, name, canary.topic, fail="connector.start"), 500)
    assert body == {"error_code": 500, "message": f"Failed to transition connector {name} to state STARTED"}
    status = wait_states(worker, name, "FAILED", [])
    assert "connector failed in connector.start as configured" in status["connector"]["trace"]
    assert status["connector"]["worker_id"] == f"127.0.0.1:{worker.port}"
    canary.assert_flowing()
    assert worker.http.request("DELETE", f"/connectors/{name}") == (204, None)
    canary.assert_flowing()


def test_connector_failing_to_generate_task_configs(
    worker: StandaloneProcess, canary: Canary, workdir: Path, name: str
) -> None:
    create(worker, name, monitorable_source(workdir, name, canary.topic, fail="connector.task_configs"))
    status = wait_states(worker, name, "FAILED", [])
    assert "connector failed in connector.task_configs as configured" in status["connector"]["trace"]
    canary.assert_flowing()


def test_connector_generating_too_many_tasks(
    worker: StandaloneProcess, canary: Canary, workdir: Path, name: str
) -> None:
    create(
        worker,
        name,
        monitorable_source(workdir, name, canary.topic, **{"tasks.max": "2", "tasks.generated": "3"}),
    )
    status = wait_states(worker, name, "FAILED", [])
    assert (
        f"The connector {name} has generated 3 tasks, which is greater than 2, the maximum number of "
        "tasks it is configured to create."
    ) in status["connector"]["trace"]
    status, info = worker.http.request("PATCH", f"/connectors/{name}/config", {"tasks.max.enforce": "false"})
    assert status == 200 and len(info["tasks"]) == 3
    wait_states(worker, name, "RUNNING", ["RUNNING"] * 3)
    canary.assert_flowing()


@pytest.mark.parametrize("point", ["task.start", "task.poll"])
def test_source_task_failing(
    worker: StandaloneProcess, canary: Canary, workdir: Path, name: str, point: str
) -> None:
    config = monitorable_source(
        workdir,
        name,
        canary.topic,
        **{"tasks.max": "2", "fail": point, "fail.tasks": "0", "fail.after.messages": "20"},
    )
    create(worker, name, config)
    status = wait_states(worker, name, "RUNNING", ["FAILED", "RUNNING"])
    assert f"task 0 failed in {point} as configured" in status["tasks"][0]["trace"]
    assert "trace" not in status["tasks"][1]
    if point == "task.poll":
        # The task produced its records before failing; their offsets are committed.
        worker.wait_for(
            lambda: (
                {"partition": {"task.id": f"{name}-0"}, "offset": {"saved": 19}}
                in worker.http.get(f"/connectors/{name}/offsets")[1]["offsets"]
            ),
            what="committed offsets",
        )
    canary.assert_flowing()


def test_sink_task_failing_in_put(
    worker: StandaloneProcess, canary: Canary, workdir: Path, name: str
) -> None:
    records = workdir / f"{name}.records"
    create(
        worker,
        name,
        {
            "connector.class": SINK,
            "topics": canary.topic,
            "records.file": str(records),
            "fail": "task.put",
            "fail.after.messages": "1",
        },
    )
    status = wait_states(worker, name, "RUNNING", ["FAILED"])
    assert "task 0 failed in task.put as configured" in status["tasks"][0]["trace"]
    assert read_records(records), "the first batch was delivered before the failure"
    canary.assert_flowing()


def test_connector_and_task_failing_in_stop(
    worker: StandaloneProcess, canary: Canary, workdir: Path, name: str
) -> None:
    config = monitorable_source(workdir, name, canary.topic, fail="connector.stop,task.stop")
    create(worker, name, config)
    wait_states(worker, name, "RUNNING", ["RUNNING"])
    assert worker.http.request("PUT", f"/connectors/{name}/stop") == (204, None)
    wait_states(worker, name, "STOPPED", [])
    assert {"connector stop-failed", "task 0 stop-failed"} <= set(read_events(config["events.file"]))
    assert worker.http.request("PUT", f"/connectors/{name}/resume") == (202, None)
    wait_states(worker, name, "RUNNING", ["RUNNING"])
    assert worker.http.request("DELETE", f"/connectors/{name}") == (204, None)
    assert worker.http.get(f"/connectors/{name}/status")[0] == 404
    canary.assert_flowing()


@pytest.mark.parametrize("point", ["task.stop", "connector.stop"])
def test_connector_blocking_in_stop_does_not_block_the_worker(
    worker: StandaloneProcess, canary: Canary, workdir: Path, name: str, point: str
) -> None:
    # Kafka gives a task task.shutdown.graceful.timeout.ms (2 s here) and a connector 5 s to stop, then moves
    # on: the deletion completes and every other request is served while the instance is still stuck.
    hold = workdir / f"{name}.hold"
    hold.touch()
    config = monitorable_source(workdir, name, canary.topic, block=point, **{"block.while.exists": str(hold)})
    create(worker, name, config)
    wait_states(worker, name, "RUNNING", ["RUNNING"])
    answers: dict[str, Any] = {}
    deleting = threading.Thread(
        target=lambda: answers.update(delete=worker.http.request("DELETE", f"/connectors/{name}")),
        daemon=True,
    )
    deleting.start()
    try:
        blocked = f"{'task 0' if point == 'task.stop' else 'connector'} stop-blocked"
        worker.wait_for(lambda: blocked in read_events(config["events.file"]), what=blocked)
        deleting.join(timeout=20)
        assert not deleting.is_alive(), (
            f"DELETE did not complete while the {point.split('.')[0]} was stuck in stop()"
        )
        assert answers["delete"] == (204, None)
        assert hold.exists() and f"{blocked.split(' stop')[0]} stop-unblocked" not in read_events(
            config["events.file"]
        )
        assert worker.http.get(f"/connectors/{name}") == (
            404,
            {"error_code": 404, "message": f"Connector {name} not found"},
        )
        canary.assert_flowing()
    finally:
        hold.unlink()
        deleting.join(timeout=60)


def test_sink_waits_for_a_topic_that_does_not_exist_yet(
    worker: StandaloneProcess, kafka: EmbeddedKafka, workdir: Path, name: str
) -> None:
    topic = f"{name}-later"
    records = workdir / f"{name}.records"
    create(worker, f"{name}-sink", {"connector.class": SINK, "topics": topic, "records.file": str(records)})
    wait_states(worker, f"{name}-sink", "RUNNING", ["RUNNING"])
    # Give the consumer time to find that the topic is missing (its first metadata answer, about a second);
    # the task must not fail because of it.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        status = worker.http.get(f"/connectors/{name}-sink/status")[1]
        assert status["tasks"][0]["state"] == "RUNNING", status["tasks"][0].get("trace")
        time.sleep(0.2)
    create_topics(kafka.bootstrap_servers, {topic: 1})
    create(worker, name, monitorable_source(workdir, name, topic))
    # A consumer subscribed to a missing topic picks it up within seconds of its creation.
    worker.wait_for(lambda: len(read_records(records)) >= 20, timeout=30, what="records in the sink")
    assert states(worker, f"{name}-sink") == ("RUNNING", ["RUNNING"])
