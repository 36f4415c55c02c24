"""REST tests of creating, reading, reconfiguring and deleting connectors (spec 1.1-1.3)."""

from __future__ import annotations

import logging

import pytest
from fake_worker import SINK, SOURCE, async_test, call, create, error, running

from kcfast.runtime.status import ConnectorTaskId


@async_test
async def test_a_new_worker_lists_no_connectors() -> None:
    async with running() as (session, _, _):
        assert await call(session, "GET", "/connectors") == (200, [])


@async_test
async def test_create_answers_201_with_location_and_the_connector_info() -> None:
    async with running() as (session, _, _):
        body = {"name": "src", "config": {"connector.class": SOURCE, "topic": "t", "tasks.max": 2}}
        async with session.post("/connectors", json=body) as response:
            assert response.status == 201
            assert response.headers["Location"].endswith("/connectors/src")
            assert response.headers["Content-Type"].startswith("application/json")
            info = await response.json()
        assert info == {
            "name": "src",
            "config": {"connector.class": SOURCE, "topic": "t", "tasks.max": "2", "name": "src"},
            "tasks": [{"connector": "src", "task": 0}, {"connector": "src", "task": 1}],
            "type": "source",
        }
        assert await call(session, "GET", "/connectors") == (200, ["src"])


@async_test
async def test_create_trims_the_name_and_puts_it_in_the_config() -> None:
    async with running() as (session, _, _):
        info = await create(session, "  padded\t")
        assert info["name"] == "padded"
        assert info["config"]["name"] == "padded"


@async_test
async def test_create_rejects_a_config_name_that_differs_from_the_request_name() -> None:
    async with running() as (session, _, _):
        body = {"name": "a", "config": {"connector.class": SOURCE, "topic": "t", "name": "b"}}
        assert await call(session, "POST", "/connectors", json=body) == error(
            400, "Connector name configuration (b) doesn't match connector name in the URL (a)"
        )


@async_test
async def test_create_of_an_existing_connector_is_a_conflict() -> None:
    async with running() as (session, _, _):
        await create(session, "src")
        body = {"name": "src", "config": {"connector.class": SOURCE, "topic": "t"}}
        assert await call(session, "POST", "/connectors", json=body) == error(409, "Connector src already exists")


@async_test
async def test_create_with_an_invalid_config_lists_every_error() -> None:
    async with running() as (session, _, worker):
        body = {"name": "bad", "config": {"connector.class": SOURCE, "tasks.max": "0"}}
        assert await call(session, "POST", "/connectors", json=body) == error(
            400,
            "Connector configuration is invalid and contains the following 2 error(s):\n"
            "Invalid value 0 for configuration tasks.max: Value must be at least 1\n"
            'Missing required configuration "topic" which has no default value.\n'
            "You can also find the above list of errors at the endpoint "
            "`/connector-plugins/{connectorType}/config/validate`",
        )
        assert await call(session, "GET", "/connectors") == (200, [])
        assert worker.connector_starts == {}


@async_test
async def test_create_without_connector_class_names_the_config() -> None:
    async with running() as (session, _, _):
        body = {"name": "x", "config": {"tasks.max": "1"}}
        assert await call(session, "POST", "/connectors", json=body) == error(
            400, "Connector config {tasks.max=1, name=x} contains no connector type"
        )


@async_test
async def test_create_with_an_unknown_class_is_a_server_error_listing_the_connectors() -> None:
    async with running() as (session, _, _):
        body = {"name": "x", "config": {"connector.class": "NoSuchConnector"}}
        status, answer = await call(session, "POST", "/connectors", json=body)
        assert status == 500 and answer["error_code"] == 500
        assert answer["message"].startswith(
            "Failed to find any class that implements Connector and which name matches NoSuchConnector, "
            "available connectors are: "
        )


@async_test
async def test_a_null_config_value_is_a_validation_error() -> None:
    async with running() as (session, _, _):
        body = {"name": "x", "config": {"connector.class": SOURCE, "topic": "t", "extra": None}}
        status, answer = await call(session, "POST", "/connectors", json=body)
        assert status == 400
        assert "contains the following 1 error(s):\nNull value can not be supplied as the configuration value." in (
            answer["message"]
        )


@async_test
async def test_a_sink_needs_exactly_one_of_topics_and_topics_regex() -> None:
    async with running() as (session, _, _):
        body = {"name": "s", "config": {"connector.class": SINK}}
        status, answer = await call(session, "POST", "/connectors", json=body)
        assert status == 400
        assert answer["message"].count("Must configure one of topics or topics.regex") == 2
        body["config"].update({"topics": "a", "topics.regex": "b.*"})
        status, answer = await call(session, "POST", "/connectors", json=body)
        assert status == 400
        assert "contains the following 2 error(s)" in answer["message"]
        assert "topics and topics.regex are mutually exclusive options, but both are set." in answer["message"]


@pytest.mark.parametrize(
    ("state", "expected"), [("RUNNING", "RUNNING"), ("paused", "PAUSED"), ("Stopped", "STOPPED")]
)
@async_test
async def test_create_in_an_initial_state(state: str, expected: str) -> None:
    async with running() as (session, _, worker):
        body = {"name": "c", "config": {"connector.class": SOURCE, "topic": "t"}, "initial_state": state}
        status, info = await call(session, "POST", "/connectors", json=body)
        assert status == 201
        _, status_body = await call(session, "GET", "/connectors/c/status")
        assert status_body["connector"]["state"] == expected
        tasks = 1 if expected == "RUNNING" else 0
        assert len(info["tasks"]) == tasks and len(status_body["tasks"]) == tasks
        assert len(worker.tasks) == tasks


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"name": "x", "config": {', "Unexpected end-of-input"),
        (b"not json", "Unrecognized token 'not'"),
        (b'{"name": "x", "config": []}', "Cannot deserialize value of type `java.util.LinkedHashMap"),
        (b'{"name": "x", "config": {"a": {"b": 1}}}', "Cannot deserialize value of type `java.lang.String`"),
        (b'{"name": "x", "conf": {}}', 'Unrecognized field "conf"'),
        (b'{"name": "x", "config": {}, "initial_state": "sleeping"}', "Cannot construct instance"),
        (b"[1]", "Cannot deserialize value"),
        (b"", "may not be empty"),
        (b'{"name": "x"}', "may not be empty"),
    ],
)
@async_test
async def test_unreadable_create_bodies_are_server_errors(body: bytes, fragment: str) -> None:
    async with running() as (session, _, _):
        status, answer = await call(
            session, "POST", "/connectors", data=body, headers={"Content-Type": "application/json"}
        )
        assert status == 500 and answer["error_code"] == 500
        assert fragment in answer["message"]


@async_test
async def test_numbers_and_booleans_in_configs_are_kept_as_their_text() -> None:
    async with running() as (session, _, _):
        data = b'{"connector.class": "' + SOURCE.encode() + b'", "topic": "t", "tasks.max": 1, "setting": 1.50}'
        status, _ = await call(session, "PUT", "/connectors/c/config", data=data,
                               headers={"Content-Type": "application/json"})
        assert status == 201
        _, config = await call(session, "GET", "/connectors/c/config")
        assert config["tasks.max"] == "1" and config["setting"] == "1.50"


@async_test
async def test_a_body_that_is_not_json_is_unsupported_media_type() -> None:
    async with running() as (session, _, _):
        status, answer = await call(session, "PUT", "/connectors/c/config", data=b"a=b",
                                    headers={"Content-Type": "text/plain"})
        assert (status, answer) == error(415, "HTTP 415 Unsupported Media Type")


@async_test
async def test_reads_of_an_unknown_connector_are_404() -> None:
    async with running() as (session, _, _):
        for path in ("/connectors/nope", "/connectors/nope/config", "/connectors/nope/tasks",
                     "/connectors/nope/tasks-config", "/connectors/nope/offsets"):
            assert await call(session, "GET", path) == error(404, "Connector nope not found"), path
        assert await call(session, "GET", "/connectors/nope/status") == error(
            404, "No status found for connector nope"
        )
        assert await call(session, "GET", "/connectors/nope/tasks/0/status") == error(
            404, "No status found for task nope-0"
        )
        assert await call(session, "DELETE", "/connectors/nope") == error(404, "Connector nope not found")
        assert await call(session, "PATCH", "/connectors/nope/config", json={"a": "b"}) == error(
            404, "Connector nope not found"
        )


@async_test
async def test_task_ids_in_paths_must_be_integers() -> None:
    async with running() as (session, _, _):
        await create(session, "c")
        assert await call(session, "GET", "/connectors/c/tasks/x/status") == error(404, "HTTP 404 Not Found")
        assert await call(session, "POST", "/connectors/c/tasks/1.5/restart") == error(404, "HTTP 404 Not Found")


@async_test
async def test_reads_of_a_connector() -> None:
    async with running() as (session, _, worker):
        await create(session, "c", setting="v")
        status, info = await call(session, "GET", "/connectors/c")
        assert status == 200 and info["type"] == "source" and info["tasks"] == [{"connector": "c", "task": 0}]
        assert await call(session, "GET", "/connectors/c/config") == (
            200, {"connector.class": SOURCE, "topic": "t", "setting": "v", "name": "c"}
        )
        task_config = {"task.index": "0", "setting": "v", "task.class": "fake_worker.FakeSourceTask"}
        assert await call(session, "GET", "/connectors/c/tasks") == (
            200, [{"id": {"connector": "c", "task": 0}, "config": task_config}]
        )
        assert await call(session, "GET", "/connectors/c/tasks/0/status") == (
            200, {"id": 0, "state": "RUNNING", "worker_id": worker.worker_id}
        )


@async_test
async def test_tasks_config_is_deprecated_and_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    async with running() as (session, _, _):
        await create(session, "c")
        with caplog.at_level(logging.WARNING):
            status, body = await call(session, "GET", "/connectors/c/tasks-config")
        assert status == 200 and list(body) == ["c-0"]
        assert any("tasks-config' endpoint is deprecated" in r.getMessage() for r in caplog.records)


@async_test
async def test_list_with_expansions() -> None:
    async with running() as (session, _, worker):
        await create(session, "a")
        await create(session, "b")
        _, both = await call(session, "GET", "/connectors?expand=status&expand=info")
        assert sorted(both) == ["a", "b"]
        assert set(both["a"]) == {"status", "info"}
        assert both["a"]["status"]["connector"] == {"state": "RUNNING", "worker_id": worker.worker_id}
        assert both["b"]["info"]["name"] == "b"
        assert await call(session, "GET", "/connectors?expand=nonsense") == (200, {"a": {}, "b": {}})


@async_test
async def test_put_config_creates_then_updates() -> None:
    async with running() as (session, _, worker):
        config = {"connector.class": SOURCE, "topic": "t", "tasks.max": "2"}
        async with session.put("/connectors/c/config", json=config) as response:
            assert response.status == 201
            assert response.headers["Location"].endswith("/connectors/c")
        async with session.put("/connectors/c/config", json=dict(config, setting="new")) as response:
            assert response.status == 200 and "Location" not in response.headers
            info = await response.json()
        assert info["config"]["setting"] == "new"
        assert worker.connector_starts["c"] == 2
        assert worker.task_starts[ConnectorTaskId("c", 0)] == 2
        status, _ = await call(session, "PUT", "/connectors/c/config", json=dict(config, name="other"))
        assert status == 400


@async_test
async def test_an_unchanged_config_restarts_the_connector_but_not_the_tasks() -> None:
    async with running() as (session, _, worker):
        config = {"connector.class": SOURCE, "topic": "t"}
        await call(session, "PUT", "/connectors/c/config", json=config)
        status, _ = await call(session, "PUT", "/connectors/c/config", json=config)
        assert status == 200
        assert worker.connector_starts["c"] == 2
        assert worker.task_starts[ConnectorTaskId("c", 0)] == 1


@async_test
async def test_a_changed_config_restarts_tasks_even_with_identical_task_configs() -> None:
    async with running() as (session, _, worker):
        config = {"connector.class": SOURCE, "topic": "t"}
        await call(session, "PUT", "/connectors/c/config", json=config)
        await call(session, "PUT", "/connectors/c/config", json=dict(config, topic="other"))
        assert worker.task_starts[ConnectorTaskId("c", 0)] == 2


@async_test
async def test_changing_tasks_max_changes_the_task_count() -> None:
    async with running() as (session, _, _):
        await create(session, "c", **{"tasks.max": "3"})
        _, status = await call(session, "GET", "/connectors/c/status")
        assert [t["id"] for t in status["tasks"]] == [0, 1, 2]
        await call(session, "PATCH", "/connectors/c/config", json={"tasks.max": "1"})
        _, status = await call(session, "GET", "/connectors/c/status")
        assert [t["id"] for t in status["tasks"]] == [0]


@async_test
async def test_patch_merges_and_null_removes_a_key() -> None:
    async with running() as (session, _, _):
        await create(session, "c", setting="old", **{"tasks.max": "2"})
        status, info = await call(session, "PATCH", "/connectors/c/config",
                                  json={"tasks.max": "3", "added": "yes", "setting": None})
        assert status == 200
        assert info["config"] == {"connector.class": SOURCE, "topic": "t", "tasks.max": "3", "name": "c",
                                  "added": "yes"}
        assert len(info["tasks"]) == 3
        status, answer = await call(session, "PATCH", "/connectors/c/config", json={"tasks.max": "-1"})
        assert status == 400 and "Invalid value -1 for configuration tasks.max" in answer["message"]


@async_test
async def test_delete_removes_the_connector_its_tasks_and_statuses() -> None:
    async with running() as (session, _, worker):
        await create(session, "c", **{"tasks.max": "2"})
        status, body = await call(session, "DELETE", "/connectors/c")
        assert (status, body) == (204, None)
        assert await call(session, "GET", "/connectors") == (200, [])
        assert (await call(session, "GET", "/connectors/c/status"))[0] == 404
        assert (await call(session, "GET", "/connectors/c/tasks/0/status"))[0] == 404
        assert worker.connectors == {} and worker.tasks == {}


@async_test
async def test_a_connector_that_fails_to_start_is_created_failed_without_tasks() -> None:
    async with running() as (session, _, worker):
        info = await create(session, "c", **{"fail.start": "true"})
        assert info["tasks"] == []
        _, status = await call(session, "GET", "/connectors/c/status")
        assert status["connector"]["state"] == "FAILED"
        assert "the connector was told to fail in start()" in status["connector"]["trace"]
        assert status["tasks"] == [] and worker.tasks == {}


@async_test
async def test_too_many_task_configs_fail_the_connector() -> None:
    async with running() as (session, _, _):
        info = await create(session, "c", **{"tasks.max": "1", "task.count": "3"})
        assert info["tasks"] == []
        _, status = await call(session, "GET", "/connectors/c/status")
        assert status["connector"]["state"] == "FAILED"
        assert "has generated 3 tasks, which is greater than 1" in status["connector"]["trace"]
        info = await create(session, "d", **{"tasks.max": "1", "task.count": "3", "tasks.max.enforce": "false"})
        assert len(info["tasks"]) == 3
