"""The REST API of a real ``kcfast standalone`` process: endpoints, status codes, headers and bodies (spec 1).

One worker serves the whole module; each test uses connector names and topics of its own.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from kcfast._version import KAFKA_VERSION
from kcfast.kafka.clients import cluster_metadata, create_topics
from kcfast.testing import EmbeddedKafka, StandaloneProcess
from kcfast.testing.connectors import read_events

pytestmark = pytest.mark.integration

SOURCE = "kcfast.testing.connectors.MonitorableSourceConnector"
FILE_SOURCE_TASK = "org.apache.kafka.connect.file.FileStreamSourceTask"
INVALID_SUFFIX = (
    "\nYou can also find the above list of errors at the endpoint "
    "`/connector-plugins/{connectorType}/config/validate`"
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rest-api")


WORKER_SETTINGS = {
    "config.providers": "file",
    "config.providers.file.class": "org.apache.kafka.common.config.provider.FileConfigProvider",
}


@pytest.fixture(scope="module")
def worker(module_worker: StandaloneProcess) -> StandaloneProcess:
    return module_worker


@pytest.fixture
def name() -> str:
    return f"conn-{uuid.uuid4().hex[:8]}"


def call(
    worker: StandaloneProcess, method: str, path: str, body: Any = None
) -> tuple[int, dict[str, str], Any]:
    """``(status, headers, json body)`` of one request."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(worker.http.base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            text = resp.read()
            return resp.status, dict(resp.headers), json.loads(text) if text else None
    except urllib.error.HTTPError as exc:
        text = exc.read()
        return exc.code, dict(exc.headers), json.loads(text) if text else None


def full_log(worker: StandaloneProcess) -> str:
    return worker.log_path.read_text(encoding="utf-8", errors="replace")


def error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"error_code": status, "message": message}


def create(worker: StandaloneProcess, name: str, config: dict[str, str], **extra: Any) -> dict[str, Any]:
    status, body = worker.http.request("POST", "/connectors", {"name": name, "config": config, **extra})
    assert status == 201, body
    return body  # type: ignore[no-any-return]


def states(worker: StandaloneProcess, name: str) -> tuple[str, list[str]] | None:
    status, body = worker.http.get(f"/connectors/{name}/status")
    if status != 200:
        return None
    return body["connector"]["state"], [t["state"] for t in body["tasks"]]


def wait_states(worker: StandaloneProcess, name: str, connector: str, tasks: list[str]) -> None:
    worker.wait_for(lambda: states(worker, name) == (connector, tasks), what=f"{name} {connector} {tasks}")


def file_source(workdir: Path, topic: str) -> dict[str, str]:
    source_file = workdir / f"{topic}.txt"
    source_file.write_text("one\ntwo\n", encoding="utf-8")
    return {"connector.class": "FileStreamSource", "topic": topic, "file": str(source_file)}


def monitorable_source(workdir: Path, topic: str, **overrides: str) -> dict[str, str]:
    return {
        "connector.class": SOURCE,
        "topic": topic,
        "tasks.max": "2",
        "messages.per.poll": "5",
        "poll.interval.ms": "50",
        "events.file": str(workdir / f"{topic}.events"),
        **overrides,
    }


# -- root ---------------------------------------------------------------------------------------------------


def test_root_health_openapi_and_router_errors(worker: StandaloneProcess, kafka: EmbeddedKafka) -> None:
    status, _, body = call(worker, "GET", "/")
    assert status == 200
    assert body["version"] == KAFKA_VERSION
    assert isinstance(body["commit"], str) and body["commit"]
    assert body["kafka_cluster_id"] == cluster_metadata(kafka.bootstrap_servers).cluster_id
    assert set(body) == {"version", "commit", "kafka_cluster_id"}

    assert worker.http.get("/health") == (
        200,
        {"status": "healthy", "message": "Worker has completed startup and is ready to handle requests."},
    )

    status, headers, document = call(worker, "GET", "/openapi.json")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path, methods in {
        "/": {"get"},
        "/health": {"get"},
        "/connectors": {"get", "post"},
        "/connectors/{connector}": {"get", "delete"},
        "/connectors/{connector}/config": {"get", "put", "patch"},
        "/connectors/{connector}/status": {"get"},
        "/connectors/{connector}/restart": {"post"},
        "/connectors/{connector}/pause": {"put"},
        "/connectors/{connector}/resume": {"put"},
        "/connectors/{connector}/stop": {"put"},
        "/connectors/{connector}/tasks": {"get"},
        "/connectors/{connector}/tasks/{task}/status": {"get"},
        "/connectors/{connector}/tasks/{task}/restart": {"post"},
        "/connectors/{connector}/topics": {"get"},
        "/connectors/{connector}/topics/reset": {"put"},
        "/connectors/{connector}/offsets": {"get", "patch", "delete"},
        "/connector-plugins": {"get"},
        "/connector-plugins/{plugin}/config": {"get"},
        "/connector-plugins/{plugin}/config/validate": {"put"},
        "/admin/loggers": {"get"},
        "/admin/loggers/{logger}": {"get", "put"},
    }.items():
        assert methods <= set(paths.get(path, {})), path

    assert worker.http.get("/no/such/path") == error(404, "HTTP 404 Not Found")
    assert worker.http.request("DELETE", "/connectors") == error(405, "HTTP 405 Method Not Allowed")


# -- connectors ---------------------------------------------------------------------------------------------


def test_create_read_and_delete_a_connector(worker: StandaloneProcess, workdir: Path, name: str) -> None:
    config = file_source(workdir, name)
    status, headers, info = call(worker, "POST", "/connectors", {"name": name, "config": config})
    assert status == 201
    assert headers["Location"].endswith(f"/connectors/{name}")
    expected_info = {
        "name": name,
        "config": {**config, "name": name},
        "tasks": [{"connector": name, "task": 0}],
        "type": "source",
    }
    assert info == expected_info

    assert name in worker.http.get("/connectors")[1]
    assert worker.http.get(f"/connectors/{name}") == (200, expected_info)
    assert worker.http.get(f"/connectors/{name}/config") == (200, {**config, "name": name})
    wait_states(worker, name, "RUNNING", ["RUNNING"])
    worker_id = f"127.0.0.1:{worker.port}"
    status_body = {
        "name": name,
        "connector": {"state": "RUNNING", "worker_id": worker_id},
        "tasks": [{"id": 0, "state": "RUNNING", "worker_id": worker_id}],
        "type": "source",
    }
    assert worker.http.get(f"/connectors/{name}/status") == (200, status_body)
    assert worker.http.get(f"/connectors/{name}/tasks/0/status") == (
        200,
        {"id": 0, "state": "RUNNING", "worker_id": worker_id},
    )

    status, tasks = worker.http.get(f"/connectors/{name}/tasks")
    assert status == 200 and [t["id"] for t in tasks] == [{"connector": name, "task": 0}]
    status, tasks_config = worker.http.get(f"/connectors/{name}/tasks-config")
    assert status == 200 and tasks_config == {f"{name}-0": tasks[0]["config"]}
    assert "The 'GET /connectors/{connector}/tasks-config' endpoint is deprecated" in full_log(worker)

    status, expanded = worker.http.get("/connectors?expand=status&expand=info")
    assert status == 200 and expanded[name] == {"status": status_body, "info": expected_info}
    status, expanded = worker.http.get("/connectors?expand=info")
    assert status == 200 and expanded[name] == {"info": expected_info}
    status, expanded = worker.http.get("/connectors?expand=nonsense")
    assert status == 200 and expanded[name] == {}

    assert worker.http.request("DELETE", f"/connectors/{name}") == (204, None)
    assert name not in worker.http.get("/connectors")[1]
    missing = error(404, f"Connector {name} not found")
    for path in ("", "/config", "/tasks", "/tasks-config"):
        assert worker.http.get(f"/connectors/{name}{path}") == missing, path
    assert worker.http.get(f"/connectors/{name}/status") == error(
        404, f"No status found for connector {name}"
    )
    assert worker.http.get(f"/connectors/{name}/tasks/0/status") == error(
        404, f"No status found for task {name}-0"
    )
    assert worker.http.request("DELETE", f"/connectors/{name}") == missing


def test_task_configs_are_the_connector_config_plus_the_java_task_class(
    worker: StandaloneProcess, workdir: Path, name: str
) -> None:
    # connect_rest_test compares these maps exactly, task.class included.
    config = file_source(workdir, name)
    create(worker, name, config)
    task_config = {**config, "name": name, "task.class": FILE_SOURCE_TASK}
    assert worker.http.get(f"/connectors/{name}/tasks") == (
        200,
        [{"id": {"connector": name, "task": 0}, "config": task_config}],
    )
    assert worker.http.get(f"/connectors/{name}/tasks-config") == (200, {f"{name}-0": task_config})


def test_config_provider_variables_stay_raw_in_configs_and_are_resolved_for_the_tasks(
    worker: StandaloneProcess, kafka: EmbeddedKafka, workdir: Path, name: str
) -> None:
    # connect_rest_test: the topic comes from ${file:...}; info, config and task configs show the variable.
    create_topics(kafka.bootstrap_servers, {name: 1})
    secrets = workdir / f"{name}.properties"
    secrets.write_text(f"topic={name}\n", encoding="utf-8")
    variable = f"${{file:{secrets}:topic}}"
    config = {**file_source(workdir, name), "topic": variable}
    info = create(worker, name, config)
    assert info["config"]["topic"] == variable
    assert worker.http.get(f"/connectors/{name}/config")[1]["topic"] == variable
    assert worker.http.get(f"/connectors/{name}/tasks")[1][0]["config"]["topic"] == variable
    # The task writes to the resolved topic.
    worker.wait_for(
        lambda: worker.http.get(f"/connectors/{name}/topics")[1] == {name: {"topics": [name]}},
        what="records written to the resolved topic",
    )


def test_create_rejects_what_kafka_rejects(worker: StandaloneProcess, workdir: Path, name: str) -> None:
    config = file_source(workdir, name)
    create(worker, name, config)
    assert worker.http.request("POST", "/connectors", {"name": name, "config": config}) == error(
        409, f"Connector {name} already exists"
    )

    other = f"{name}-x"
    invalid = {"connector.class": "FileStreamSource", "tasks.max": "0"}
    assert worker.http.request("POST", "/connectors", {"name": other, "config": invalid}) == error(
        400,
        "Connector configuration is invalid and contains the following 2 error(s):\n"
        "Invalid value 0 for configuration tasks.max: Value must be at least 1\n"
        'Missing required configuration "topic" which has no default value.' + INVALID_SUFFIX,
    )
    assert worker.http.request("POST", "/connectors", {"name": other, "config": {"tasks.max": "1"}}) == error(
        400, f"Connector config {{tasks.max=1, name={other}}} contains no connector type"
    )
    status, body = worker.http.request(
        "POST", "/connectors", {"name": other, "config": {"connector.class": "com.example.MissingConnector"}}
    )
    assert status == 500 and body["error_code"] == 500
    assert body["message"].startswith(
        "Failed to find any class that implements Connector and which name matches "
        "com.example.MissingConnector, available connectors are: "
    )
    assert "org.apache.kafka.connect.file.FileStreamSourceConnector" in body["message"]
    assert worker.http.request(
        "POST", "/connectors", {"name": other, "config": {**config, "name": "else"}}
    ) == error(400, f"Connector name configuration (else) doesn't match connector name in the URL ({other})")
    assert worker.http.request("POST", "/connectors", {"name": "  ", "config": config}) == error(
        400,
        "Connector configuration is invalid and contains the following 1 error(s):\n"
        "Invalid value  for configuration name: String may not be empty" + INVALID_SUFFIX,
    )
    status, body = worker.http.request(
        "POST", "/connectors", {"name": other, "config": config, "initial_state": "SLEEPING"}
    )
    assert status == 500 and "No enum constant" in body["message"] and "SLEEPING" in body["message"]
    assert other not in worker.http.get("/connectors")[1]

    # The name is trimmed, as Java's String.trim() does.
    padded = f"{name}-padded"
    info = create(worker, f"  {padded}\t", {**config, "topic": padded})
    assert info["name"] == padded and info["config"]["name"] == padded
    assert worker.http.get(f"/connectors/{padded}")[0] == 200


def test_put_config_creates_then_updates(worker: StandaloneProcess, workdir: Path, name: str) -> None:
    config = file_source(workdir, name)
    status, headers, info = call(worker, "PUT", f"/connectors/{name}/config", config)
    assert status == 201 and headers["Location"].endswith(f"/connectors/{name}")
    assert info == {
        "name": name,
        "config": {**config, "name": name},
        "tasks": [{"connector": name, "task": 0}],
        "type": "source",
    }

    updated = {**config, "topic": f"{name}-2", "batch.size": 10}
    status, headers, info = call(worker, "PUT", f"/connectors/{name}/config", updated)
    assert status == 200 and "Location" not in headers
    stored = {**config, "topic": f"{name}-2", "batch.size": "10", "name": name}  # numbers are stored as text
    assert info == {
        "name": name,
        "config": stored,
        "tasks": [{"connector": name, "task": 0}],
        "type": "source",
    }
    assert worker.http.get(f"/connectors/{name}/config") == (200, stored)
    assert worker.http.get(f"/connectors/{name}/tasks")[1][0]["config"]["topic"] == f"{name}-2"

    assert worker.http.request("PUT", f"/connectors/{name}/config", {**config, "name": "other"}) == error(
        400, f"Connector name configuration (other) doesn't match connector name in the URL ({name})"
    )
    status, body = worker.http.request("PUT", f"/connectors/{name}/config", {**config, "batch.size": "many"})
    assert status == 400 and body["message"].startswith("Connector configuration is invalid")
    assert worker.http.get(f"/connectors/{name}/config") == (200, stored)


def test_patch_config_merges_removes_and_changes_the_task_count(
    worker: StandaloneProcess, workdir: Path, name: str
) -> None:
    config = monitorable_source(workdir, name, **{"extra.key": "x"})
    create(worker, name, config)
    wait_states(worker, name, "RUNNING", ["RUNNING"] * 2)

    status, info = worker.http.request(
        "PATCH", f"/connectors/{name}/config", {"tasks.max": 3, "added.key": "y", "extra.key": None}
    )
    assert status == 200
    expected = {k: v for k, v in config.items() if k != "extra.key"} | {
        "tasks.max": "3",
        "added.key": "y",
        "name": name,
    }
    assert info["config"] == expected
    assert info["tasks"] == [{"connector": name, "task": i} for i in range(3)]
    assert worker.http.get(f"/connectors/{name}/config") == (200, expected)
    wait_states(worker, name, "RUNNING", ["RUNNING"] * 3)

    status, info = worker.http.request("PATCH", f"/connectors/{name}/config", {"tasks.max": "1"})
    assert status == 200 and info["tasks"] == [{"connector": name, "task": 0}]
    wait_states(worker, name, "RUNNING", ["RUNNING"])
    assert len(worker.http.get(f"/connectors/{name}/tasks")[1]) == 1

    assert worker.http.request("PATCH", "/connectors/no-such-connector/config", {"a": "b"}) == error(
        404, "Connector no-such-connector not found"
    )


def test_client_overrides_are_allowed_by_the_default_policy(
    worker: StandaloneProcess, workdir: Path, name: str
) -> None:
    info = create(worker, name, {**file_source(workdir, name), "producer.override.linger.ms": "1"})
    assert info["config"]["producer.override.linger.ms"] == "1"
    wait_states(worker, name, "RUNNING", ["RUNNING"])


# -- topics -------------------------------------------------------------------------------------------------


def test_active_topics_are_tracked_reset_and_cleared(
    worker: StandaloneProcess, kafka: EmbeddedKafka, workdir: Path, name: str
) -> None:
    first, second = f"{name}-a", f"{name}-b"
    create_topics(kafka.bootstrap_servers, {first: 1, second: 1})
    assert worker.http.get(f"/connectors/{name}/topics") == (200, {name: {"topics": []}})
    create(worker, name, monitorable_source(workdir, first, **{"tasks.max": "1"}))
    worker.wait_for(
        lambda: worker.http.get(f"/connectors/{name}/topics")[1] == {name: {"topics": [first]}},
        what="the first topic tracked",
    )

    worker.http.request("PATCH", f"/connectors/{name}/config", {"topic": second})
    worker.wait_for(
        lambda: sorted(worker.http.get(f"/connectors/{name}/topics")[1][name]["topics"]) == [first, second],
        what="both topics tracked (in any order, as Kafka answers a set)",
    )

    assert worker.http.request("PUT", f"/connectors/{name}/topics/reset") == (202, None)
    # Only the topic used after the reset comes back (records flow every 50 ms).
    worker.wait_for(
        lambda: worker.http.get(f"/connectors/{name}/topics")[1] == {name: {"topics": [second]}},
        timeout=15,
        what="the topic in use tracked again after the reset",
    )

    assert worker.http.request("DELETE", f"/connectors/{name}") == (204, None)
    assert worker.http.get(f"/connectors/{name}/topics") == (200, {name: {"topics": []}})


# -- plugins ------------------------------------------------------------------------------------------------

FILE_SOURCE_CONFIGS = {
    "name",
    "connector.class",
    "tasks.max",
    "tasks.max.enforce",
    "key.converter",
    "value.converter",
    "header.converter",
    "batch.size",
    "topic",
    "file",
    "transforms",
    "predicates",
    "config.action.reload",
    "errors.retry.timeout",
    "errors.retry.delay.max.ms",
    "errors.tolerance",
    "errors.log.enable",
    "errors.log.include.messages",
    "topic.creation.groups",
    "exactly.once.support",
    "transaction.boundary",
    "transaction.boundary.interval.ms",
    "offsets.storage.topic",
}
FILE_SINK_CONFIGS = {
    "name",
    "connector.class",
    "tasks.max",
    "tasks.max.enforce",
    "key.converter",
    "value.converter",
    "header.converter",
    "topics",
    "topics.regex",
    "file",
    "transforms",
    "predicates",
    "config.action.reload",
    "errors.retry.timeout",
    "errors.retry.delay.max.ms",
    "errors.tolerance",
    "errors.log.enable",
    "errors.log.include.messages",
    "errors.deadletterqueue.topic.name",
    "errors.deadletterqueue.topic.replication.factor",
    "errors.deadletterqueue.context.headers.enable",
}


def test_connector_plugins_are_listed_in_kafka_order(worker: StandaloneProcess) -> None:
    status, plugins = worker.http.get("/connector-plugins")
    assert status == 200
    assert {
        "class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
        "type": "sink",
        "version": KAFKA_VERSION,
    } in plugins
    assert {
        "class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
        "type": "source",
        "version": KAFKA_VERSION,
    } in plugins
    assert {p["type"] for p in plugins} == {"sink", "source"}
    assert all(set(p) <= {"class", "type", "version"} for p in plugins)
    assert [p["type"] for p in plugins] == sorted((p["type"] for p in plugins), key=["sink", "source"].index)
    for kind in ("sink", "source"):
        names = [p["class"] for p in plugins if p["type"] == kind]
        assert names == sorted(names)

    status, everything = worker.http.get("/connector-plugins?connectorsOnly=false")
    assert status == 200
    order = ["sink", "source", "transformation", "predicate", "converter", "header_converter"]
    assert [p["type"] for p in everything] == sorted((p["type"] for p in everything), key=order.index)
    for plugin in (
        {"class": "org.apache.kafka.connect.json.JsonConverter", "type": "converter"},
        {"class": "org.apache.kafka.connect.storage.SimpleHeaderConverter", "type": "header_converter"},
        {"class": "org.apache.kafka.connect.transforms.InsertField$Value", "type": "transformation"},
        {"class": "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone", "type": "predicate"},
    ):
        assert {**plugin, "version": KAFKA_VERSION} in everything


def test_plugin_config_definitions(worker: StandaloneProcess) -> None:
    status, keys = worker.http.get("/connector-plugins/FileStreamSource/config")
    assert status == 200
    assert [k["name"] for k in keys[:3]] == ["file", "topic", "batch.size"]
    assert {k["name"] for k in keys} == FILE_SOURCE_CONFIGS
    topic = next(k for k in keys if k["name"] == "topic")
    assert topic == {
        "name": "topic",
        "type": "STRING",
        "required": True,
        "default_value": None,
        "importance": "HIGH",
        "documentation": "The topic to publish data to",
        "group": None,
        "order": -1,
        "width": "NONE",
        "display_name": "topic",
        "dependents": [],
    }
    status, keys = worker.http.get(
        "/connector-plugins/org.apache.kafka.connect.file.FileStreamSinkConnector/config"
    )
    assert status == 200 and {k["name"] for k in keys} == FILE_SINK_CONFIGS

    assert worker.http.get("/connector-plugins/NoSuchPlugin/config") == error(
        404, "Unknown plugin NoSuchPlugin."
    )
    assert worker.http.get("/connector-plugins/kcfast.runtime.worker.Worker/config") == error(
        400,
        "Invalid plugin class kcfast.runtime.worker.Worker. Valid types are sink, source, converter, "
        "header_converter, transformation, predicate.",
    )


def _validate(worker: StandaloneProcess, plugin: str, config: dict[str, Any]) -> tuple[int, Any]:
    return worker.http.request("PUT", f"/connector-plugins/{plugin}/config/validate", config)


def test_validate_the_file_connectors(worker: StandaloneProcess, workdir: Path) -> None:
    source_class = "org.apache.kafka.connect.file.FileStreamSourceConnector"
    status, infos = _validate(
        worker,
        "FileStreamSourceConnector",
        {"connector.class": source_class, "name": "v", "topic": "t", "file": "/tmp/in"},
    )
    assert status == 200
    assert (infos["name"], infos["error_count"]) == (source_class, 0)
    assert {c["value"]["name"] for c in infos["configs"]} == FILE_SOURCE_CONFIGS
    assert "Common" in infos["groups"]

    sink_class = "org.apache.kafka.connect.file.FileStreamSinkConnector"
    status, infos = _validate(
        worker,
        "FileStreamSinkConnector",
        {"connector.class": sink_class, "name": "v", "topics": "t", "file": "/tmp/out"},
    )
    assert status == 200
    assert (infos["name"], infos["error_count"]) == (sink_class, 0)
    assert {c["value"]["name"] for c in infos["configs"]} == FILE_SINK_CONFIGS

    # Errors are answered with 200: neither topics nor topics.regex is one error on each.
    status, infos = _validate(worker, "FileStreamSink", {"connector.class": "FileStreamSink", "name": "v"})
    assert status == 200 and infos["error_count"] == 2
    errors = {c["value"]["name"]: c["value"]["errors"] for c in infos["configs"]}
    assert errors["topics"] == errors["topics.regex"] == ["Must configure one of topics or topics.regex"]
    # A JSON null for a key nothing defines comes first, with no definition.
    status, infos = _validate(
        worker,
        "FileStreamSink",
        {"connector.class": "FileStreamSink", "name": "v", "topics": "t", "my.key": None},
    )
    assert status == 200 and infos["error_count"] == 1
    assert infos["configs"][0] == {
        "definition": None,
        "value": {
            "name": "my.key",
            "value": None,
            "recommended_values": [],
            "errors": ["Null value can not be supplied as the configuration value."],
            "visible": True,
        },
    }

    assert _validate(worker, "FileStreamSinkConnector", {"connector.class": "FileStreamSource"}) == error(
        400, "Included connector type FileStreamSource does not match request type FileStreamSinkConnector"
    )
    assert _validate(worker, "FileStreamSinkConnector", {"name": "x"}) == error(
        400, "Connector config {name=x} contains no connector type"
    )


# -- loggers ------------------------------------------------------------------------------------------------


def test_logger_levels_change_what_the_worker_logs(worker: StandaloneProcess) -> None:
    status, loggers = worker.http.get("/admin/loggers")
    assert status == 200 and loggers["root"]["level"] == "INFO"

    namespace = "kcfast.rest"
    status, changed = worker.http.request("PUT", f"/admin/loggers/{namespace}", {"level": "DEBUG"})
    assert status == 200
    assert changed == sorted(changed) and namespace in changed and "kcfast.rest.errors" in changed
    assert all(n.startswith(namespace) for n in changed)
    status, level = worker.http.get(f"/admin/loggers/{namespace}")
    assert status == 200 and level["level"] == "DEBUG" and isinstance(level["last_modified"], int)
    # Setting the same level again keeps the timestamp.
    worker.http.request("PUT", f"/admin/loggers/{namespace}", {"level": "debug"})
    assert worker.http.get(f"/admin/loggers/{namespace}") == (200, level)
    assert worker.http.get("/admin/loggers")[1][namespace] == level

    # The new level is in force: a 404 is logged at DEBUG by the REST error mapper.
    worker.http.get("/connectors/debug-level-probe")
    worker.wait_for(
        lambda: "Request to /connectors/debug-level-probe failed" in full_log(worker),
        what="a DEBUG line in the worker log",
    )

    assert worker.http.request("PUT", f"/admin/loggers/{namespace}?scope=cluster", {"level": "INFO"}) == (
        204,
        None,
    )
    assert worker.http.get(f"/admin/loggers/{namespace}")[1]["level"] == "INFO"

    assert worker.http.request("PUT", f"/admin/loggers/{namespace}", {"level": "LOUD"}) == error(
        404, "invalid log level 'LOUD'."
    )
    assert worker.http.request("PUT", f"/admin/loggers/{namespace}", {"other": "x"}) == error(
        400, "Desired 'level' parameter was not specified in request."
    )
    assert worker.http.get("/admin/loggers/no.such.logger") == error(404, "Logger no.such.logger not found.")


def test_events_show_one_start_per_instance(worker: StandaloneProcess, workdir: Path, name: str) -> None:
    # The monitorable connectors record their lifecycle: creating a connector starts it and each task once.
    config = monitorable_source(workdir, name)
    create(worker, name, config)
    wait_states(worker, name, "RUNNING", ["RUNNING"] * 2)
    assert sorted(read_events(config["events.file"])) == ["connector start", "task 0 start", "task 1 start"]
