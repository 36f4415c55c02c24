"""The distributed herder without Kafka: workers in one process, in-memory internal topics and coordinator.

Each herder runs a :class:`FakeWorker` (connectors and tasks are records) over config and status stores on
shared in-memory topics that deliver every record to every reader at once, and joins the group through the
in-memory coordinator of ``test_member.py``.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from test_member import FakeCoordinator

from kcfast.config import WorkerConfig
from kcfast.errors import BadRequestError, NotFoundError, RestError
from kcfast.rest.resources._common import RestSettings
from kcfast.rest.server import RestConfig, RestServer
from kcfast.runtime.distributed.forwarding import NotAssignedError, NotLeaderError
from kcfast.runtime.distributed.herder import DistributedHerder
from kcfast.runtime.distributed.signing import signature_headers
from kcfast.runtime.herder import RestartRequest
from kcfast.runtime.status import ConnectorTaskId, State, TargetState
from kcfast.storage.kafka_config import KafkaConfigBackingStore
from kcfast.storage.kafka_status import KafkaStatusBackingStore

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "rest"))
from fake_worker import SOURCE, FakeWorker, install_stand_ins  # noqa: E402

# The in-memory topic of this folder's conftest (imported by path: several folders have a conftest module).
_spec = importlib.util.spec_from_file_location("distributed_fakes", Path(__file__).with_name("conftest.py"))
assert _spec is not None and _spec.loader is not None
_fakes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fakes)
FakeLog, FakeTopic = _fakes.FakeLog, _fakes.FakeTopic


@pytest.fixture(autouse=True)
def _stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    install_stand_ins(monkeypatch)


class LiveTopic(FakeTopic):
    """A topic whose readers see each record as soon as it is written, as the stores' reader threads do."""

    def __init__(self, name: str, partitions: int = 1) -> None:
        super().__init__(name, partitions)
        self.readers: list[FakeLog] = []

    def log(self, callback: Callable[[Any], None]) -> FakeLog:
        reader = super().log(callback)
        self.readers.append(reader)
        return reader

    def append(self, key: bytes | None, value: bytes | None) -> Any:
        record = super().append(key, value)
        for reader in self.readers:
            if reader.started and not reader.stopped:
                reader.read_to_end()
        return record


PROPS = {
    "group.id": "connect-cluster",
    "config.storage.topic": "connect-configs",
    "offset.storage.topic": "connect-offsets",
    "status.storage.topic": "connect-status",
    "key.converter": "org.apache.kafka.connect.json.JsonConverter",
    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
    "heartbeat.interval.ms": "50",
    "session.timeout.ms": "1000",
    "scheduled.rebalance.max.delay.ms": "0",
    "worker.sync.timeout.ms": "1000",
}


class Cluster:
    def __init__(self) -> None:
        self.coordinator = FakeCoordinator(rebalance_timeout=5.0)
        self.configs = LiveTopic("connect-configs")
        self.statuses = LiveTopic("connect-status", 3)
        self.herders: list[DistributedHerder] = []
        self.servers: list[RestServer] = []

    async def add(self, worker: FakeWorker | None = None, **props: str) -> DistributedHerder:
        """A worker with its REST server (followers send task configs to the leader's)."""
        server = RestServer(
            RestConfig.from_props({"listeners": "http://127.0.0.1:0"}), RestSettings(health_timeout=0.5)
        )
        server.bind()
        self.servers.append(server)
        worker = worker or FakeWorker(server.worker_id())
        config = WorkerConfig({**PROPS, **props}, distributed=True)
        configs = KafkaConfigBackingStore("connect-configs", {}, log_factory=self.configs.log)
        statuses = KafkaStatusBackingStore("connect-status", {}, log_factory=self.statuses.log)
        herder = DistributedHerder(
            worker,
            config,
            statuses,
            configs,
            server.advertised_url(),
            transport=self.coordinator.transport(),
            kafka_cluster_id="cluster",
        )
        self.herders.append(herder)
        await herder.start()
        await server.start(herder)
        return herder

    def config_records(self) -> list[tuple[str, Any]]:
        return [
            (r.key.decode(), None if r.value is None else json.loads(r.value))
            for r in self.configs.records
            if r.key is not None
        ]


@asynccontextmanager
async def cluster(
    workers: int, ready: bool = True, **props: str
) -> AsyncIterator[tuple[Cluster, list[DistributedHerder]]]:
    group = Cluster()
    herders = [await group.add(**props) for _ in range(workers)]
    try:
        if ready:
            await asyncio.wait_for(asyncio.gather(*(h.health_check() for h in herders)), 10)
        yield group, herders
    finally:
        for server in group.servers:
            await server.stop()
        for herder in herders:
            await herder.stop(timeout=10)


async def eventually(predicate: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    for _ in range(int(timeout / 0.02)):
        result = predicate()
        if result:
            return result
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 60))


def leader_and_follower(herders: list[DistributedHerder]) -> tuple[DistributedHerder, DistributedHerder]:
    leader = next(h for h in herders if h.is_leader())
    return leader, next(h for h in herders if h is not leader)


def task_states(herder: DistributedHerder, connector: str) -> list[tuple[str, str]]:
    return [(t.state.value, t.worker_id) for t in herder.status_store.get_all(connector)]


def test_leader_writes_configs_tasks_and_session_key_and_work_is_spread() -> None:
    async def scenario() -> None:
        async with cluster(2) as (group, herders):
            leader, follower = leader_and_follower(herders)
            with pytest.raises(NotLeaderError) as not_leader:
                await follower.put_connector_config(
                    "c", {"connector.class": SOURCE, "topic": "t", "name": "c"}, allow_replace=False
                )
            assert not_leader.value.forward_url == leader.url
            created, info = await leader.put_connector_config(
                "c",
                {"connector.class": SOURCE, "topic": "t", "tasks.max": "4", "name": "c"},
                allow_replace=False,
            )
            assert created and info["tasks"] == [] and info["type"] == "source"
            await eventually(
                lambda: (
                    len(task_states(leader, "c")) == 4
                    and all(s == "RUNNING" for s, _ in task_states(leader, "c"))
                ),
                "4 running tasks",
            )
            owners = {w for _, w in task_states(follower, "c")}
            assert owners == {leader.worker_id, follower.worker_id}
            keys = [k for k, _ in group.config_records()]
            assert keys[0] == "session-key"
            assert keys[1:] == ["connector-c", "task-c-0", "task-c-1", "task-c-2", "task-c-3", "commit-c"]
            key = group.config_records()[0][1]
            assert key["algorithm"] == "HmacSHA256" and len(base64.b64decode(key["key"])) == 32
            status = leader.status_store.get_task(ConnectorTaskId("c", 0))
            assert status is not None and status.generation == leader.generation >= 1
            assert (await follower.connector_info("c"))["tasks"] == [
                {"connector": "c", "task": i} for i in range(4)
            ]

    run(scenario)


def test_pause_from_a_follower_and_stop_by_the_leader() -> None:
    async def scenario() -> None:
        async with cluster(2) as (group, herders):
            leader, follower = leader_and_follower(herders)
            await leader.put_connector_config(
                "p",
                {"connector.class": SOURCE, "topic": "t", "tasks.max": "2", "name": "p"},
                allow_replace=False,
            )
            await eventually(lambda: len(task_states(leader, "p")) == 2, "tasks")
            await follower.pause_connector("p")
            await eventually(
                lambda: [s for s, _ in task_states(leader, "p")] == ["PAUSED", "PAUSED"], "paused"
            )
            assert group.config_records()[-1] == ("target-state-p", {"state": "PAUSED", "state.v2": "PAUSED"})
            with pytest.raises(NotFoundError, match="^Unknown connector nope$"):
                await follower.resume_connector("nope")
            with pytest.raises(NotLeaderError):
                await follower.stop_connector("p")
            await leader.stop_connector("p")
            await eventually(lambda: task_states(leader, "p") == [], "no task statuses")
            connector = leader.status_store.get_connector("p")
            assert connector is not None and connector.state is State.STOPPED
            assert group.config_records()[-2:] == [
                ("commit-p", {"tasks": 0}),
                ("target-state-p", {"state": "PAUSED", "state.v2": "STOPPED"}),
            ]
            assert leader.snapshot().target_state("p") is TargetState.STOPPED

    run(scenario)


def test_restarts_go_to_the_owner_and_restart_requests_are_written_by_the_leader() -> None:
    async def scenario() -> None:
        async with cluster(2) as (group, herders):
            leader, follower = leader_and_follower(herders)
            await leader.put_connector_config(
                "r",
                {"connector.class": SOURCE, "topic": "t", "tasks.max": "2", "name": "r"},
                allow_replace=False,
            )
            await eventually(lambda: len(task_states(leader, "r")) == 2, "tasks")
            assert leader.assignment is not None and follower.assignment is not None
            leader_tasks = [t for t in leader.assignment.tasks if t.connector == "r"]
            follower_task = next(t for t in follower.assignment.tasks if t.connector == "r")
            with pytest.raises(NotAssignedError) as elsewhere:
                await leader.restart_task(follower_task)
            assert elsewhere.value.forward_url == follower.url
            if leader_tasks:
                with pytest.raises(NotLeaderError) as to_leader:
                    await follower.restart_task(leader_tasks[0])
                assert to_leader.value.forward_url == leader.url
            starts = follower.worker.task_starts[follower_task]
            await follower.restart_task(follower_task)
            assert follower.worker.task_starts[follower_task] == starts + 1
            with pytest.raises(NotFoundError, match="^Unknown task: r-7$"):
                await leader.restart_task(ConnectorTaskId("r", 7))
            plan = await leader.restart_connector_and_tasks(
                RestartRequest("r", only_failed=False, include_tasks=True)
            )
            assert plan["connector"]["state"] == "RESTARTING"
            assert group.config_records()[-1] == (
                "restart-connector-r",
                {"include-tasks": True, "only-failed": False},
            )
            await eventually(
                lambda: follower.worker.task_starts[follower_task] == starts + 2, "restart executed"
            )

    run(scenario)


def test_internal_task_configs_need_the_session_key() -> None:
    async def scenario() -> None:
        async with cluster(1) as (group, [herder]):
            await herder.put_connector_config(
                "s", {"connector.class": SOURCE, "topic": "t", "name": "s"}, allow_replace=False
            )
            body = b'[{"task.class":"fake_worker.FakeSourceTask","topic":"t"}]'
            with pytest.raises(BadRequestError, match="missing required signature"):
                herder.verify_internal_request(body, {})
            with pytest.raises(RestError) as forbidden:
                herder.verify_internal_request(body, signature_headers(b"wrong", body))
            assert forbidden.value.status == 403
            key = base64.b64decode(group.config_records()[0][1]["key"])
            herder.verify_internal_request(body, signature_headers(key, body))
            await herder.put_task_configs("s", json.loads(body))
            assert group.config_records()[-1] == ("commit-s", {"tasks": 1})
            with pytest.raises(NotFoundError, match="^Connector nope not found$"):
                await herder.put_task_configs("nope", [])

    run(scenario)


def test_deleting_a_connector_rebalances_and_removes_its_statuses() -> None:
    async def scenario() -> None:
        async with cluster(2) as (_, herders):
            leader, follower = leader_and_follower(herders)
            await leader.put_connector_config(
                "d",
                {"connector.class": SOURCE, "topic": "t", "tasks.max": "2", "name": "d"},
                allow_replace=False,
            )
            await eventually(lambda: len(task_states(leader, "d")) == 2, "tasks")
            with pytest.raises(NotLeaderError):
                await follower.delete_connector_config("d")
            await leader.delete_connector_config("d")
            # Statuses go once the deletion is read back; the tasks stop with the rebalance that follows.
            await eventually(
                lambda: follower.status_store.get_connector("d") is None and task_states(follower, "d") == [],
                "statuses removed",
            )
            await eventually(
                lambda: follower.connectors() == [] and not follower.worker.tasks and not leader.worker.tasks,
                "the connector and its tasks stopped on both workers",
            )

    run(scenario)


def test_health_is_503_while_the_internal_topics_are_read_and_200_once_joined() -> None:
    async def scenario() -> None:
        group = Cluster()
        worker = FakeWorker("127.0.0.1:1")
        worker.block_start.clear()
        original = worker.start

        def slow_start() -> None:
            worker.block_start.wait(10)
            original()

        worker.start = slow_start  # type: ignore[method-assign]
        herder = await group.add(worker)
        url = f"http://127.0.0.1:{group.servers[0].ports()[0]}/health"
        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(url) as response:
                    body = await response.json()
                assert response.status == 503 and body["status"] == "starting"
                assert body["message"].startswith(
                    "Worker is still starting up. The worker is currently initializing "
                    "and reading to the end of internal topics, which began at "
                )
                worker.block_start.set()
                await asyncio.wait_for(herder.health_check(), 10)
                async with session.get(url) as response:
                    assert response.status == 200
        finally:
            worker.block_start.set()
            for server in group.servers:
                await server.stop()
            await herder.stop(timeout=10)

    run(scenario)


def test_the_leader_rotates_the_session_key_when_it_expires() -> None:
    async def scenario() -> None:
        async with cluster(1, **{"inter.worker.key.ttl.ms": "300"}) as (group, [_]):
            keys = await eventually(
                lambda: (
                    [v for k, v in group.config_records() if k == "session-key"][:2]
                    if sum(k == "session-key" for k, _ in group.config_records()) >= 2
                    else None
                ),
                "a rotated key",
            )
            assert keys[0]["key"] != keys[1]["key"]
            assert keys[1]["creation-timestamp"] - keys[0]["creation-timestamp"] >= 300

    run(scenario)
