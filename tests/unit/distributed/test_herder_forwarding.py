"""REST forwarding between distributed workers: hop rules, messages, headers, errors (spec 1.1).

Three REST servers run on loopback ports with scripted herders: each herder either serves a request or says
which worker can (``NotLeaderError``/``NotAssignedError``), and the forwarding middleware does the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from kcfast.errors import BadRequestError, NotFoundError, RebalanceNeededError
from kcfast.rest.server import RestConfig, RestServer
from kcfast.runtime.distributed.forwarding import NotAssignedError, NotLeaderError, forwarding_middleware
from kcfast.runtime.herder import Stage


class ScriptedHerder:
    """Answers every herder call with ``script(method, *args)`` and records what it was asked."""

    def __init__(self) -> None:
        self.script: Callable[..., Any] = lambda method, *args: None
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.session: aiohttp.ClientSession | None = None
        self.signed: list[tuple[bytes, dict[str, str]]] = []
        self.reject_signature: Exception | None = None
        self.worker = None
        self.status_store = None
        self.kafka_cluster_id = "cluster"

    def rest_middlewares(self) -> list[Any]:
        return [forwarding_middleware(self, lambda: self.session)]

    def verify_internal_request(self, body: bytes, headers: Any) -> None:
        self.signed.append((body, dict(headers)))
        if self.reject_signature is not None:
            raise self.reject_signature

    def current_stage(self) -> Stage | None:
        return None

    def _call(self, method: str, *args: Any) -> Any:
        self.calls.append((method, args))
        return self.script(method, *args)

    async def put_connector_config(
        self, name: str, config: Any, *, allow_replace: bool, target_state: Any = None
    ) -> Any:
        return self._call("put_connector_config", name, dict(config), allow_replace)

    async def delete_connector_config(self, name: str) -> None:
        self._call("delete_connector_config", name)

    async def restart_connector_and_tasks(self, request: Any) -> Any:
        return self._call("restart_connector_and_tasks", request)

    async def connector_info(self, name: str) -> Any:
        return self._call("connector_info", name)

    async def put_task_configs(self, name: str, configs: Any) -> None:
        self._call("put_task_configs", name, configs)


@asynccontextmanager
async def workers(count: int) -> AsyncIterator[list[tuple[str, ScriptedHerder]]]:
    """``count`` REST servers with scripted herders: ``[(url, herder)]``."""
    servers, out = [], []
    session = aiohttp.ClientSession()
    try:
        for _ in range(count):
            server = RestServer(RestConfig.from_props({"listeners": "http://127.0.0.1:0"}))
            server.bind()
            herder = ScriptedHerder()
            herder.session = session
            await server.start(herder)
            servers.append(server)
            out.append((f"http://127.0.0.1:{server.ports()[0]}/", herder))
        yield out
    finally:
        for server in servers:
            await server.stop()
        await session.close()


async def call(method: str, url: str, **kwargs: Any) -> tuple[int, Any, Any]:
    async with aiohttp.ClientSession() as session, session.request(method, url, **kwargs) as response:
        text = await response.text()
        body = await response.json() if text else None
        return response.status, body, response.headers


def run(coro: Any) -> Any:
    return asyncio.run(coro)


INFO = {"name": "c", "config": {"connector.class": "X", "name": "c"}, "tasks": [], "type": "source"}


def test_a_follower_forwards_a_create_to_the_leader_and_answers_with_its_own_location() -> None:
    async def scenario() -> None:
        async with workers(2) as [(follower_url, follower), (leader_url, leader)]:

            def follower_script(method: str, *args: Any) -> Any:
                raise NotLeaderError("Only the leader can set connector configs.", leader_url)

            follower.script = follower_script
            leader.script = lambda method, *args: (True, INFO)
            body = {"name": "c", "config": {"connector.class": "X"}}
            status, answer, headers = await call(
                "POST",
                follower_url + "connectors",
                json=body,
                headers={"Authorization": "Basic dXNlcjpwdw==", "X-Other": "1"},
            )
            assert (status, answer) == (201, INFO)
            assert headers["Location"] == follower_url + "connectors/c"
            assert leader.calls == [
                ("put_connector_config", ("c", {"connector.class": "X", "name": "c"}, False))
            ]

    run(scenario())


def test_hop_rules_allow_two_forwards_then_answer_409() -> None:
    async def scenario() -> None:
        async with workers(3) as [(a_url, a), (b_url, b), (c_url, c)]:

            def pointing_to(target: str | None) -> Callable[..., Any]:
                def script(method: str, *args: Any) -> Any:
                    raise NotLeaderError("not me", target)

                return script

            # a forwards (forward=true) to b, b forwards once more (forward=false) to c, c may not forward.
            a.script, b.script, c.script = pointing_to(b_url), pointing_to(c_url), pointing_to(a_url)
            status, answer, _ = await call("DELETE", a_url + "connectors/c")
            assert (status, answer) == (
                409,
                {
                    "error_code": 409,
                    "message": "Cannot complete request because of a "
                    "conflicting operation (e.g. worker rebalance)",
                },
            )
            assert [len(h.calls) for h in (a, b, c)] == [1, 1, 1]

    run(scenario())


def test_forward_flags_and_restart_parameters_travel_with_the_request() -> None:
    async def scenario() -> None:
        async with workers(3) as [(a_url, a), (b_url, b), (c_url, c)]:

            def owner_is(target: str | None) -> Callable[..., Any]:
                def script(method: str, *args: Any) -> Any:
                    if target is None:
                        return {
                            "name": "c",
                            "connector": {"state": "RESTARTING", "worker_id": "w"},
                            "tasks": [],
                            "type": "source",
                        }
                    raise NotAssignedError("not assigned here", target)

                return script

            # a (a follower) -> b (the leader, which does not run the connector) -> c (its owner).
            a.script, b.script, c.script = owner_is(b_url), owner_is(c_url), owner_is(None)
            status, answer, _ = await call(
                "POST", a_url + "connectors/c/restart?includeTasks=true&onlyFailed=false"
            )
            assert status == 202 and answer["connector"]["state"] == "RESTARTING"
            requests = [args[0] for h in (a, b, c) for method, args in h.calls]
            assert len(requests) == 3 and all(r.include_tasks and not r.only_failed for r in requests), (
                requests
            )

    run(scenario())


def test_unknown_leader_and_stale_configuration_are_409_and_reads_during_a_rebalance_500() -> None:
    async def scenario() -> None:
        async with workers(1) as [(url, herder)]:

            def no_leader(method: str, *args: Any) -> Any:
                raise NotLeaderError("Only the leader can delete connector configs.", None)

            herder.script = no_leader
            assert (await call("DELETE", url + "connectors/c"))[:2] == (
                409,
                {
                    "error_code": 409,
                    "message": "Cannot complete request momentarily due to no known leader URL, likely "
                    "because a rebalance was underway.",
                },
            )

            def rebalancing(method: str, *args: Any) -> Any:
                raise RebalanceNeededError("Request cannot be completed because a rebalance is expected")

            herder.script = rebalancing
            assert (await call("DELETE", url + "connectors/c"))[:2] == (
                409,
                {
                    "error_code": 409,
                    "message": "Cannot complete request momentarily due to stale configuration "
                    "(typically caused by a concurrent config change)",
                },
            )
            assert (await call("GET", url + "connectors/c"))[:2] == (
                500,
                {"error_code": 500, "message": "Request cannot be completed because a rebalance is expected"},
            )

    run(scenario())


def test_a_request_that_may_not_be_forwarded_again_is_a_conflict() -> None:
    async def scenario() -> None:
        async with workers(1) as [(url, herder)]:

            def elsewhere(method: str, *args: Any) -> Any:
                raise NotLeaderError("not me", "http://127.0.0.1:1/")

            herder.script = elsewhere
            status, answer, _ = await call("DELETE", url + "connectors/c?forward=false")
            assert status == 409 and answer["message"].startswith(
                "Cannot complete request because of a conflicting"
            )

    run(scenario())


def test_errors_of_the_target_come_back_and_io_errors_are_500() -> None:
    async def scenario() -> None:
        async with workers(2) as [(a_url, a), (b_url, b)]:

            def to_b(method: str, *args: Any) -> Any:
                raise NotLeaderError("not me", b_url)

            def missing(method: str, *args: Any) -> Any:
                raise NotFoundError("Connector c not found")

            a.script, b.script = to_b, missing
            assert (await call("DELETE", a_url + "connectors/c"))[:2] == (
                404,
                {"error_code": 404, "message": "Connector c not found"},
            )

            def unreachable(method: str, *args: Any) -> Any:
                raise NotLeaderError("not me", "http://127.0.0.1:1/")

            a.script = unreachable
            status, answer, _ = await call("DELETE", a_url + "connectors/c")
            assert status == 500 and answer["message"].startswith("IO Error trying to forward REST request: ")

    run(scenario())


@pytest.mark.parametrize(
    "error, status",
    [
        (BadRequestError("Internal request missing required signature"), 400),
        (None, 204),
    ],
)
def test_internal_requests_are_checked_before_the_herder_sees_them(
    error: Exception | None, status: int
) -> None:
    async def scenario() -> None:
        async with workers(1) as [(url, herder)]:
            herder.reject_signature = error
            body = b'[{"k":"v"}]'
            answer = await call(
                "POST",
                url + "connectors/c/tasks",
                data=body,
                headers={"Content-Type": "application/json", "X-Connect-Authorization": "abc"},
            )
            assert answer[0] == status
            assert herder.signed[0][0] == body and herder.signed[0][1]["X-Connect-Authorization"] == "abc"
            assert herder.calls == ([] if error else [("put_task_configs", ("c", [{"k": "v"}]))])

    run(scenario())
