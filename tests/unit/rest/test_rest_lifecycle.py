"""REST tests of the connector state machine (spec 2): pause/resume/stop, restarts and the offsets API."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from fake_worker import SOURCE, async_test, call, create, error, running

from kcfast.runtime.status import ConnectorTaskId


async def states(session: aiohttp.ClientSession, name: str) -> tuple[str, list[str]]:
    status, body = await call(session, "GET", f"/connectors/{name}/status")
    assert status == 200, body
    return body["connector"]["state"], [t["state"] for t in body["tasks"]]


async def task_count(session: aiohttp.ClientSession, name: str) -> int:
    _, info = await call(session, "GET", f"/connectors/{name}")
    _, tasks = await call(session, "GET", f"/connectors/{name}/tasks")
    assert len(info["tasks"]) == len(tasks)
    return len(tasks)


@async_test
async def test_pause_and_resume_answer_202_and_apply_to_connector_and_tasks() -> None:
    async with running() as (session, _, _):
        await create(session, "c", **{"tasks.max": "2"})
        assert await call(session, "PUT", "/connectors/c/pause") == (202, None)
        assert await states(session, "c") == ("PAUSED", ["PAUSED", "PAUSED"])
        assert await call(session, "PUT", "/connectors/c/pause") == (202, None)
        assert await call(session, "PUT", "/connectors/c/resume") == (202, None)
        assert await states(session, "c") == ("RUNNING", ["RUNNING", "RUNNING"])
        assert await call(session, "PUT", "/connectors/c/resume") == (202, None)
        assert await states(session, "c") == ("RUNNING", ["RUNNING", "RUNNING"])


@async_test
async def test_pause_resume_and_stop_of_an_unknown_connector() -> None:
    async with running() as (session, _, _):
        assert await call(session, "PUT", "/connectors/x/pause") == error(404, "Unknown connector x")
        assert await call(session, "PUT", "/connectors/x/resume") == error(404, "Unknown connector x")
        assert await call(session, "PUT", "/connectors/x/stop") == error(500, "No connector `x` configured")


@async_test
async def test_stop_answers_204_and_leaves_no_tasks() -> None:
    async with running() as (session, _, worker):
        await create(session, "c", **{"tasks.max": "2"})
        assert await call(session, "PUT", "/connectors/c/stop") == (204, None)
        assert await states(session, "c") == ("STOPPED", [])
        assert await task_count(session, "c") == 0
        assert worker.tasks == {}
        assert await call(session, "PUT", "/connectors/c/stop") == (204, None)
        assert await states(session, "c") == ("STOPPED", [])
        assert await call(session, "GET", "/connectors/c/tasks-config") == error(404, "Connector c not found")


@async_test
async def test_the_pause_stop_resume_matrix() -> None:
    async with running() as (session, _, _):
        await create(session, "c", **{"tasks.max": "2"})
        steps = [
            ("stop", ("STOPPED", []), 0),
            ("resume", ("RUNNING", ["RUNNING", "RUNNING"]), 2),
            ("pause", ("PAUSED", ["PAUSED", "PAUSED"]), 2),
            ("stop", ("STOPPED", []), 0),
            ("pause", ("PAUSED", []), 0),
            ("resume", ("RUNNING", ["RUNNING", "RUNNING"]), 2),
        ]
        for action, expected, tasks in steps:
            status, _ = await call(session, "PUT", f"/connectors/c/{action}")
            assert status in (202, 204)
            assert await states(session, "c") == expected, action
            assert await task_count(session, "c") == tasks, action


@async_test
async def test_a_failed_connector_can_be_stopped_and_deleted() -> None:
    async with running() as (session, _, _):
        await create(session, "c", **{"fail.start": "true"})
        assert (await states(session, "c"))[0] == "FAILED"
        assert await call(session, "PUT", "/connectors/c/stop") == (204, None)
        assert await states(session, "c") == ("STOPPED", [])
        assert await call(session, "PUT", "/connectors/c/resume") == (202, None)
        assert await call(session, "DELETE", "/connectors/c") == (204, None)
        assert (await call(session, "GET", "/connectors/c/status"))[0] == 404


@async_test
async def test_a_connector_created_paused_can_be_resumed_and_deleted() -> None:
    async with running() as (session, _, _):
        body = {"name": "c", "config": {"connector.class": SOURCE, "topic": "t"}, "initial_state": "PAUSED"}
        assert (await call(session, "POST", "/connectors", json=body))[0] == 201
        assert await states(session, "c") == ("PAUSED", [])
        await call(session, "PUT", "/connectors/c/resume")
        assert await states(session, "c") == ("RUNNING", ["RUNNING"])
        assert await call(session, "DELETE", "/connectors/c") == (204, None)
        assert (await call(session, "GET", "/connectors/c/status"))[0] == 404


# -- restarts ---------------------------------------------------------------------------------------------------


@async_test
async def test_restart_of_an_unknown_connector_is_404() -> None:
    async with running() as (session, _, _):
        assert await call(session, "POST", "/connectors/x/restart") == error(404, "Connector x not found")
        for query in ("includeTasks=true", "onlyFailed=true", "includeTasks=true&onlyFailed=true"):
            assert await call(session, "POST", f"/connectors/x/restart?{query}") == error(
                404, "Unknown connector: x"
            )


@async_test
async def test_plain_restart_restarts_only_the_connector_synchronously() -> None:
    async with running() as (session, _, worker):
        await create(session, "c", **{"tasks.max": "2"})
        assert await call(session, "POST", "/connectors/c/restart") == (204, None)
        assert worker.connector_starts["c"] == 2
        assert worker.task_starts == {ConnectorTaskId("c", 0): 1, ConnectorTaskId("c", 1): 1}
        assert await states(session, "c") == ("RUNNING", ["RUNNING", "RUNNING"])


@async_test
async def test_restart_with_tasks_answers_the_plan_and_restarts_everything() -> None:
    async with running() as (session, _, worker):
        await create(session, "c", **{"tasks.max": "2"})
        status, plan = await call(session, "POST", "/connectors/c/restart?includeTasks=true")
        assert status == 202
        assert plan["connector"]["state"] == "RESTARTING"
        assert [t["state"] for t in plan["tasks"]] == ["RESTARTING", "RESTARTING"]
        assert plan["name"] == "c" and plan["type"] == "source"
        assert worker.connector_starts["c"] == 2
        assert worker.task_starts == {ConnectorTaskId("c", 0): 2, ConnectorTaskId("c", 1): 2}
        assert await states(session, "c") == ("RUNNING", ["RUNNING", "RUNNING"])


@pytest.mark.parametrize("query", ["onlyFailed=true", "onlyFailed=true&includeTasks=true"])
@async_test
async def test_only_failed_on_a_healthy_connector_is_a_no_op(query: str) -> None:
    async with running() as (session, _, worker):
        await create(session, "c", **{"tasks.max": "2"})
        status, plan = await call(session, "POST", f"/connectors/c/restart?{query}")
        assert status == 202
        assert "RESTARTING" not in str(plan)
        assert worker.connector_starts["c"] == 1
        assert set(worker.task_starts.values()) == {1}


@async_test
async def test_only_failed_tasks_restarts_only_the_failed_task() -> None:
    async with running() as (session, _, worker):
        await create(session, "c", **{"tasks.max": "2"})
        worker.fail_task(ConnectorTaskId("c", 1))
        assert await states(session, "c") == ("RUNNING", ["RUNNING", "FAILED"])
        status, plan = await call(session, "POST", "/connectors/c/restart?onlyFailed=true&includeTasks=true")
        assert status == 202
        assert plan["connector"]["state"] == "RUNNING"
        assert [t["state"] for t in plan["tasks"]] == ["RUNNING", "RESTARTING"]
        assert "the task failed" in plan["tasks"][1]["trace"]
        assert worker.connector_starts["c"] == 1
        assert worker.task_starts == {ConnectorTaskId("c", 0): 1, ConnectorTaskId("c", 1): 2}
        assert await states(session, "c") == ("RUNNING", ["RUNNING", "RUNNING"])


@async_test
async def test_failed_tasks_and_the_other_restart_forms() -> None:
    async with running() as (session, _, worker):
        await create(session, "c", **{"tasks.max": "2"})
        worker.fail_task(ConnectorTaskId("c", 0))
        # plain: the connector only
        assert await call(session, "POST", "/connectors/c/restart") == (204, None)
        assert worker.task_starts[ConnectorTaskId("c", 0)] == 1
        # onlyFailed without tasks: the connector is healthy, nothing happens
        _, plan = await call(session, "POST", "/connectors/c/restart?onlyFailed=true")
        assert "RESTARTING" not in str(plan) and worker.connector_starts["c"] == 2
        # includeTasks: connector and every task
        _, plan = await call(session, "POST", "/connectors/c/restart?includeTasks=true")
        assert [t["state"] for t in plan["tasks"]] == ["RESTARTING", "RESTARTING"]
        assert worker.connector_starts["c"] == 3
        assert worker.task_starts == {ConnectorTaskId("c", 0): 2, ConnectorTaskId("c", 1): 2}


@async_test
async def test_only_failed_restarts_a_failed_connector() -> None:
    async with running() as (session, _, worker):
        await create(session, "c")
        worker.fail_connector("c", RuntimeError("boom"))
        status, plan = await call(session, "POST", "/connectors/c/restart?onlyFailed=true")
        assert status == 202 and plan["connector"]["state"] == "RESTARTING"
        assert "boom" in plan["connector"]["trace"]
        assert await states(session, "c") == ("RUNNING", ["RUNNING"])
        assert worker.connector_starts["c"] == 2


@async_test
async def test_restart_flags_are_read_like_java_booleans() -> None:
    async with running() as (session, _, worker):
        await create(session, "c")
        assert (await call(session, "POST", "/connectors/c/restart?includeTasks=TRUE"))[0] == 202
        assert worker.task_starts[ConnectorTaskId("c", 0)] == 2
        assert (await call(session, "POST", "/connectors/c/restart?includeTasks=yes"))[0] == 204
        assert worker.task_starts[ConnectorTaskId("c", 0)] == 2


@async_test
async def test_task_restart() -> None:
    async with running() as (session, _, worker):
        await create(session, "c", **{"tasks.max": "2"})
        worker.fail_task(ConnectorTaskId("c", 1))
        assert await call(session, "POST", "/connectors/c/tasks/1/restart") == (204, None)
        assert await states(session, "c") == ("RUNNING", ["RUNNING", "RUNNING"])
        assert worker.task_starts[ConnectorTaskId("c", 1)] == 2
        assert await call(session, "POST", "/connectors/c/tasks/5/restart") == error(404, "Task c-5 not found")
        assert await call(session, "POST", "/connectors/x/tasks/0/restart") == error(404, "Connector x not found")


@async_test
async def test_a_task_that_cannot_be_started_is_a_server_error() -> None:
    async with running() as (session, _, _):
        await create(session, "c")
        await call(session, "PUT", "/connectors/c/config",
                   json={"connector.class": SOURCE, "topic": "t", "fail.task.build": "true"})
        assert (await states(session, "c"))[1] == ["FAILED"]
        assert await call(session, "POST", "/connectors/c/tasks/0/restart") == error(500, "Failed to start task: c-0")


@async_test
async def test_a_connector_can_ask_for_new_task_configs() -> None:
    async with running() as (session, herder, worker):
        await create(session, "c", **{"tasks.max": "3", "task.count": "1"})
        assert await task_count(session, "c") == 1
        instance = worker.connectors["c"].instance
        instance.props["task.count"] = "3"
        await asyncio.get_running_loop().run_in_executor(None, worker.connectors["c"].ctx.request_task_reconfiguration)
        await asyncio.sleep(0)
        await herder.submit(_noop)
        assert await task_count(session, "c") == 3


async def _noop() -> None:
    return None


# -- offsets ----------------------------------------------------------------------------------------------------

STOPPED = (
    "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the "
    "specified connector by issuing a 'PUT' request to the '/connectors/c/stop' endpoint"
)
OFFSETS = {"offsets": [{"partition": {"file": "a"}, "offset": {"position": 5}}]}


@async_test
async def test_offsets_can_be_modified_only_when_stopped() -> None:
    async with running() as (session, _, _):
        await create(session, "c")
        assert await call(session, "GET", "/connectors/c/offsets") == (200, {"offsets": []})
        assert await call(session, "PATCH", "/connectors/c/offsets", json=OFFSETS) == error(400, STOPPED)
        await call(session, "PUT", "/connectors/c/pause")
        assert await call(session, "PATCH", "/connectors/c/offsets", json=OFFSETS) == error(400, STOPPED)
        assert await call(session, "DELETE", "/connectors/c/offsets") == error(400, STOPPED)
        await call(session, "PUT", "/connectors/c/stop")
        status, body = await call(session, "PATCH", "/connectors/c/offsets", json=OFFSETS)
        assert status == 200
        assert body == {"message": "The Connect framework-managed offsets for this connector have been altered "
                                   "successfully. However, if this connector manages offsets externally, they will "
                                   "need to be manually altered in the system that the connector uses."}
        assert await call(session, "GET", "/connectors/c/offsets") == (200, OFFSETS)
        status, body = await call(session, "DELETE", "/connectors/c/offsets")
        assert status == 200 and body["message"].startswith(
            "The Connect framework-managed offsets for this connector have been reset successfully."
        )
        assert await call(session, "GET", "/connectors/c/offsets") == (200, {"offsets": []})


@async_test
async def test_offsets_of_an_unknown_connector_are_404() -> None:
    async with running() as (session, _, _):
        assert await call(session, "PATCH", "/connectors/x/offsets", json=OFFSETS) == error(
            404, "Connector x not found"
        )
        assert await call(session, "DELETE", "/connectors/x/offsets") == error(404, "Connector x not found")


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"{}", 400, "Partitions / offsets need to be provided for an alter offsets request"),
        (b'{"offsets": []}', 400, "Partitions / offsets need to be provided for an alter offsets request"),
        (b"[]", 500, "Cannot deserialize value"),
        (b'{"key": []}', 500, "Unrecognized field"),
        (b'{"offsets": {}}', 500, "Cannot deserialize value"),
        (b'{"offsets": [123]}', 500, "Cannot construct instance"),
        (b'{"offsets": [{"key": "val"}]}', 500, "Unrecognized field"),
        (b'{"offsets": [{"partition": []]}]}', 500, "Cannot deserialize value"),
    ],
)
@async_test
async def test_invalid_offsets_bodies(body: bytes, status: int, fragment: str) -> None:
    async with running() as (session, _, _):
        await create(session, "c")
        await call(session, "PUT", "/connectors/c/stop")
        got, answer = await call(session, "PATCH", "/connectors/c/offsets", data=body,
                                 headers={"Content-Type": "application/json"})
        assert got == status and answer["error_code"] == status
        assert fragment in answer["message"]


@async_test
async def test_create_stopped_alter_offsets_then_resume() -> None:
    async with running() as (session, _, _):
        body: dict[str, Any] = {
            "name": "c", "config": {"connector.class": SOURCE, "topic": "t", "alter.result": "true"},
            "initial_state": "STOPPED",
        }
        assert (await call(session, "POST", "/connectors", json=body))[0] == 201
        status, answer = await call(session, "PATCH", "/connectors/c/offsets", json=OFFSETS)
        assert (status, answer) == (200, {"message": "The offsets for this connector have been altered successfully"})
        await call(session, "PUT", "/connectors/c/resume")
        assert await states(session, "c") == ("RUNNING", ["RUNNING"])
        assert await call(session, "GET", "/connectors/c/offsets") == (200, OFFSETS)
