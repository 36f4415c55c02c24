"""Group membership against an in-memory group coordinator: joins, leader assignment, heartbeats, revocations.

:class:`FakeCoordinator` keeps Kafka's classic group semantics in a few lines: JoinGroup waits until every
member of the group has (re)joined or the rebalance timeout dropped the missing ones, the first member to join leads
(and keeps leading while it is a member),
followers' SyncGroup waits for the leader's assignments, and heartbeats answer "rebalance in progress" while a
rebalance is under way. It also stands in for a coordinator that becomes unreachable.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from kcfast.errors import ConnectError
from kcfast.runtime.distributed.member import (
    COORDINATOR_NOT_AVAILABLE,
    ILLEGAL_GENERATION,
    MEMBER_ID_REQUIRED,
    NOT_COORDINATOR,
    REBALANCE_IN_PROGRESS,
    UNKNOWN_MEMBER_ID,
    CoordinatorUnavailableError,
    JoinResult,
    MemberConfig,
    WorkerGroupMember,
)
from kcfast.runtime.distributed.protocol import (
    CONFIG_MISMATCH,
    Assignment,
    ConnectProtocolCompatibility,
    deserialize_metadata,
)
from kcfast.runtime.status import ConnectorTaskId

#: Kafka error codes the member treats as fatal in a SyncGroup answer.
INCONSISTENT_GROUP_PROTOCOL = 23
GROUP_AUTHORIZATION_FAILED = 30


class FakeCoordinator:
    """One group's coordinator, shared by the members' transports."""

    def __init__(self, rebalance_timeout: float = 1.0) -> None:
        self.rebalance_timeout = rebalance_timeout
        self.available = True
        self.members: dict[str, list[tuple[str, bytes]]] = {}
        self.generation = 0
        self.rebalancing = False
        self.leader = ""
        self.protocol = ""
        self._ids = itertools.count(1)
        self._joins: dict[str, asyncio.Future[JoinResult]] = {}
        self._assignments: asyncio.Future[dict[str, bytes]] | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self.left: list[str] = []

    def transport(self) -> FakeTransport:
        return FakeTransport(self)

    def _check(self) -> None:
        if not self.available:
            raise CoordinatorUnavailableError("coordinator down")

    def _start_rebalance(self) -> None:
        if not self.rebalancing:
            self.rebalancing = True
            self._assignments = None
            loop = asyncio.get_running_loop()
            self._deadline = loop.call_later(self.rebalance_timeout, self._complete, True)

    def _complete(self, timed_out: bool = False) -> None:
        if not self.rebalancing or (not timed_out and set(self._joins) != set(self.members)):
            return
        for missing in set(self.members) - set(self._joins):
            del self.members[missing]
        if self._deadline is not None:
            self._deadline.cancel()
        self.rebalancing = False
        self.generation += 1
        # Like Kafka's coordinator, the leader stays the same while it is a member.
        first = self.leader if self.leader in self._joins else next(iter(self._joins))
        self.leader = first
        offered = [name for name, _ in self.members[first]]
        self.protocol = next(p for p in offered if all(p in dict(m) for m in self.members.values()))
        self._assignments = asyncio.get_running_loop().create_future()
        joins, self._joins = self._joins, {}
        metadata = tuple((m, dict(p)[self.protocol]) for m, p in self.members.items())
        for member, future in joins.items():
            if not future.done():
                future.set_result(
                    JoinResult(
                        0, self.generation, self.protocol, first, member, metadata if member == first else ()
                    )
                )

    async def join(self, member_id: str, protocols: Sequence[tuple[str, bytes]]) -> JoinResult:
        self._check()
        if not member_id:
            return JoinResult(MEMBER_ID_REQUIRED, -1, "", "", f"connect-{next(self._ids)}")
        self.members[member_id] = list(protocols)
        self._start_rebalance()
        future: asyncio.Future[JoinResult] = asyncio.get_running_loop().create_future()
        self._joins[member_id] = future
        self._complete()
        return await future

    async def sync(
        self, generation: int, member_id: str, assignments: Sequence[tuple[str, bytes]]
    ) -> tuple[int, bytes]:
        self._check()
        if member_id not in self.members:
            return UNKNOWN_MEMBER_ID, b""
        if self.rebalancing or generation != self.generation or self._assignments is None:
            return REBALANCE_IN_PROGRESS, b""
        if member_id == self.leader and not self._assignments.done():
            self._assignments.set_result(dict(assignments))
        result = await self._assignments
        return 0, result.get(member_id, b"")

    def heartbeat(self, generation: int, member_id: str) -> int:
        self._check()
        if member_id not in self.members:
            return UNKNOWN_MEMBER_ID
        if self.rebalancing or generation != self.generation:
            return REBALANCE_IN_PROGRESS
        return 0

    def leave(self, member_id: str) -> int:
        self._check()
        self.left.append(member_id)
        if self.members.pop(member_id, None) is not None and self.members:
            self._start_rebalance()
            self._complete()
        return 0


class FakeTransport:
    def __init__(self, coordinator: FakeCoordinator) -> None:
        self.coordinator = coordinator

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def find_coordinator(self, group: str) -> None:
        self.coordinator._check()

    async def join_group(
        self,
        group: str,
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        member_id: str,
        protocol_type: str,
        protocols: Sequence[tuple[str, bytes]],
    ) -> JoinResult:
        assert protocol_type == "connect"
        return await self.coordinator.join(member_id, protocols)

    async def sync_group(
        self, group: str, generation: int, member_id: str, assignments: Sequence[tuple[str, bytes]]
    ) -> tuple[int, bytes]:
        return await self.coordinator.sync(generation, member_id, assignments)

    async def heartbeat(self, group: str, generation: int, member_id: str) -> int:
        return self.coordinator.heartbeat(generation, member_id)

    async def leave_group(self, group: str, member_id: str) -> int:
        return self.coordinator.leave(member_id)


@dataclass
class Snapshot:
    """A config snapshot with connectors ``name`` -> task count."""

    counts: dict[str, int] = field(default_factory=dict)
    offset: int = 0

    def connectors(self) -> list[str]:
        return sorted(self.counts)

    def tasks(self, connector: str) -> list[ConnectorTaskId]:
        return [ConnectorTaskId(connector, i) for i in range(self.counts.get(connector, 0))]


class Recorder:
    """A rebalance listener that keeps what it was told, with what it runs; like the herder, it rejoins after
    an assignment that revoked something, so the revoked work can be handed out."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.running: set[Any] = set()
        self.poll_timeouts = 0
        self.member: WorkerGroupMember | None = None

    async def on_assigned(self, assignment: Assignment, generation: int) -> None:
        self.events.append(("assigned", (generation, assignment)))
        self.running |= set(assignment.connectors) | set(assignment.tasks)
        if (assignment.revoked_connectors or assignment.revoked_tasks) and self.member is not None:
            self.member.request_rejoin()

    async def on_revoked(
        self, leader: str, connectors: Sequence[str], tasks: Sequence[ConnectorTaskId]
    ) -> None:
        self.events.append(("revoked", (sorted(connectors), sorted(tasks))))
        self.running -= set(connectors) | set(tasks)

    def on_poll_timeout_expiry(self) -> None:
        self.poll_timeouts += 1


def member(
    coordinator: FakeCoordinator,
    snapshot: Snapshot,
    name: str,
    mode: ConnectProtocolCompatibility = ConnectProtocolCompatibility.SESSIONED,
    **settings: int,
) -> tuple[WorkerGroupMember, Recorder]:
    config = MemberConfig(
        "group",
        mode,
        **{
            "heartbeat_interval_ms": 50,
            "session_timeout_ms": 1000,
            "rebalance_timeout_ms": 5000,
            "retry_backoff_ms": 10,
            "max_delay_ms": 0,
            **settings,
        },
    )
    listener = Recorder()
    worker = WorkerGroupMember(
        config, f"http://{name}:8083/", lambda: snapshot, listener, coordinator.transport()
    )
    listener.member = worker
    return worker, listener


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 20))


async def joined(*members: WorkerGroupMember) -> None:
    await asyncio.gather(*(m.ensure_active() for m in members))


async def settle(members: Sequence[WorkerGroupMember], until: Callable[[], bool]) -> None:
    """Let every member poll on its own, as each worker's herder does, until ``until()`` holds."""
    done = asyncio.Event()

    async def keep_polling(worker: WorkerGroupMember) -> None:
        while not done.is_set():
            await worker.poll(0.05)

    pollers = [asyncio.create_task(keep_polling(m)) for m in members]
    try:
        for _ in range(1000):
            if until():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the group did not settle")
    finally:
        done.set()
        await asyncio.gather(*pollers)


ALL = {
    "c",
    ConnectorTaskId("c", 0),
    ConnectorTaskId("c", 1),
    ConnectorTaskId("c", 2),
    ConnectorTaskId("c", 3),
}


def test_two_members_join_with_the_sessioned_protocol_and_share_the_work() -> None:
    async def scenario() -> None:
        coordinator = FakeCoordinator()
        snapshot = Snapshot({"c": 4}, offset=7)
        (a, ra), (b, rb) = member(coordinator, snapshot, "a"), member(coordinator, snapshot, "b")
        await asyncio.gather(a.start(), b.start())
        await joined(a, b)
        assert coordinator.protocol == "sessioned" and a.current_protocol_version == 2
        assert a.is_leader() != b.is_leader()
        leader = a if a.is_leader() else b
        assert leader.owner_url("c") in ("http://a:8083/", "http://b:8083/")
        assert ra.running | rb.running == ALL and not ra.running & rb.running
        assert abs(len([t for t in ra.running if isinstance(t, ConnectorTaskId)]) - 2) == 0
        metadata = deserialize_metadata(dict(coordinator.members[a.member_id])["sessioned"])
        assert (metadata.url, metadata.offset) == ("http://a:8083/", 7)
        await asyncio.gather(a.stop(), b.stop())

    run(scenario)


def test_compatible_protocol_is_chosen_when_one_member_does_not_offer_sessioned() -> None:
    async def scenario() -> None:
        coordinator = FakeCoordinator()
        snapshot = Snapshot({"c": 2})
        a, _ = member(coordinator, snapshot, "a")
        b, _ = member(coordinator, snapshot, "b", ConnectProtocolCompatibility.COMPATIBLE)
        await asyncio.gather(a.start(), b.start())
        await joined(a, b)
        assert coordinator.protocol == "compatible" and a.current_protocol_version == 1
        await asyncio.gather(a.stop(), b.stop())

    run(scenario)


def test_a_joining_member_takes_work_and_nothing_else_is_revoked() -> None:
    async def scenario() -> None:
        coordinator = FakeCoordinator(rebalance_timeout=2.0)
        snapshot = Snapshot({"c": 4})
        (a, ra) = member(coordinator, snapshot, "a")
        await a.start()
        await joined(a)
        assert ra.running == ALL
        (b, rb) = member(coordinator, snapshot, "b")
        await b.start()
        await settle([a, b], lambda: len(rb.running) == 2 and len(ra.running) == 3)
        revoked = [e[1] for e in ra.events if e[0] == "revoked"]
        assert len(revoked) == 1 and len(revoked[0][1]) == 2 and revoked[0][0] == []
        assert ra.running | rb.running == ALL
        assert not any(e[0] == "revoked" for e in rb.events)
        await asyncio.gather(a.stop(), b.stop())

    run(scenario)


def test_eager_members_revoke_everything_before_rejoining() -> None:
    async def scenario() -> None:
        coordinator = FakeCoordinator(rebalance_timeout=2.0)
        snapshot = Snapshot({"c": 4})
        a, ra = member(coordinator, snapshot, "a", ConnectProtocolCompatibility.EAGER)
        await a.start()
        await joined(a)
        assert coordinator.protocol == "default" and ra.running == ALL
        b, rb = member(coordinator, snapshot, "b", ConnectProtocolCompatibility.EAGER)
        await b.start()
        await settle([a, b], lambda: bool(rb.running) and bool(ra.running) and a.generation == b.generation)
        assert ("revoked", (["c"], sorted(ALL - {"c"}))) in ra.events
        assert len(ra.running) + len(rb.running) == 5
        await asyncio.gather(a.stop(), b.stop())

    run(scenario)


def test_an_unreachable_coordinator_stops_the_work_and_leave_is_sent_on_stop() -> None:
    async def scenario() -> None:
        coordinator = FakeCoordinator()
        a, ra = member(coordinator, Snapshot({"c": 4}), "a")
        await a.start()
        await joined(a)
        assert ra.running == ALL
        coordinator.available = False
        # The member keeps trying to rejoin while the coordinator is away, as the herder's tick does.
        polling = asyncio.create_task(a.poll(10))
        for _ in range(200):
            if not ra.running:
                break
            await asyncio.sleep(0.01)
        assert ra.running == set() and ra.events[-1][0] == "revoked"
        assert not polling.done()
        coordinator.available = True
        await polling
        assert ra.running == ALL and a.member_id
        member_id = a.member_id
        await a.stop()
        assert coordinator.left == [member_id]

    run(scenario)


def test_a_herder_stuck_outside_poll_makes_the_member_leave() -> None:
    async def scenario() -> None:
        coordinator = FakeCoordinator()
        a, ra = member(coordinator, Snapshot({"c": 1}), "a", rebalance_timeout_ms=200)
        await a.start()
        await joined(a)
        member_id = a.member_id
        await asyncio.sleep(0.6)
        assert ra.poll_timeouts >= 1 and coordinator.left == [member_id]
        assert a.rejoin_needed()
        await a.stop()

    run(scenario)


@pytest.mark.parametrize("mode", list(ConnectProtocolCompatibility))
def test_metadata_offers_the_protocols_of_the_mode(mode: ConnectProtocolCompatibility) -> None:
    async def scenario() -> None:
        coordinator = FakeCoordinator()
        a, _ = member(coordinator, Snapshot(), "a", mode)
        await a.start()
        await joined(a)
        offered = [name for name, _ in coordinator.members[a.member_id]]
        expected = {
            "sessioned": ["sessioned", "compatible", "default"],
            "compatible": ["compatible", "default"],
            "default": ["default"],
        }[mode.protocol]
        assert offered == expected and coordinator.protocol == mode.protocol
        await a.stop()

    run(scenario)


# -- recovery: unanswered and failed SyncGroups, a failing leader, a lost session ---------------------------


class StallingCoordinator(FakeCoordinator):
    """A coordinator that, like Kafka's, answers a known member's JoinGroup during the sync phase with the
    current generation (no new rebalance), and holds followers' SyncGroups until the leader's arrives; unlike
    Kafka's, it never drops a leader that does not sync. Only a new member (or a LeaveGroup) starts a new
    rebalance, which answers the held SyncGroups with REBALANCE_IN_PROGRESS."""

    def __init__(self, rebalance_timeout: float = 1.0, answer_after: float | None = None) -> None:
        super().__init__(rebalance_timeout)
        #: If set, a held SyncGroup is answered REBALANCE_IN_PROGRESS after this many seconds (the embedded
        #: broker does so) instead of being held until the member gives up.
        self.answer_after = answer_after
        self.syncs: list[tuple[int, str]] = []
        self._last: dict[str, JoinResult] = {}

    def _start_rebalance(self) -> None:
        if not self.rebalancing and self._assignments is not None and not self._assignments.done():
            self._assignments.set_result({})
        super()._start_rebalance()

    async def join(self, member_id: str, protocols: Sequence[tuple[str, bytes]]) -> JoinResult:
        syncing = not self.rebalancing and self._assignments is not None and not self._assignments.done()
        if syncing and member_id in self._last and member_id in self.members:
            return self._last[member_id]
        result = await super().join(member_id, protocols)
        if result.error == 0:
            self._last[member_id] = result
        return result

    async def sync(
        self, generation: int, member_id: str, assignments: Sequence[tuple[str, bytes]]
    ) -> tuple[int, bytes]:
        self.syncs.append((generation, member_id))
        self._check()
        if member_id not in self.members:
            return UNKNOWN_MEMBER_ID, b""
        held = self._assignments
        if self.rebalancing or generation != self.generation or held is None or held.done():
            return REBALANCE_IN_PROGRESS, b""
        if member_id == self.leader:
            held.set_result(dict(assignments))
        # A follower that stops waiting leaves the generation's assignments pending for the others.
        try:
            result = await asyncio.wait_for(asyncio.shield(held), self.answer_after)
        except TimeoutError:
            return REBALANCE_IN_PROGRESS, b""
        return (0, result.get(member_id, b"")) if member_id in result else (REBALANCE_IN_PROGRESS, b"")


@pytest.mark.parametrize("answer_after", [None, 0.05], ids=["held", "answered-rebalancing"])
def test_a_follower_whose_leader_never_syncs_rejoins_as_a_new_member(answer_after: float | None) -> None:
    async def scenario() -> None:
        coordinator = StallingCoordinator(rebalance_timeout=0.3, answer_after=answer_after)
        snapshot = Snapshot({"c": 4})
        # A leader that joins and then never sends its SyncGroup (a worker stuck or gone mid-rebalance).
        silent, protocols = coordinator.transport(), [("sessioned", b"")]
        silent_id = (await silent.join_group("group", 1000, 300, "", "connect", protocols)).member_id
        await silent.join_group("group", 1000, 300, silent_id, "connect", protocols)
        b, rb = member(coordinator, snapshot, "b", rebalance_timeout_ms=200)
        await b.start()
        joining = asyncio.create_task(b.ensure_active())
        while not coordinator.rebalancing:
            await asyncio.sleep(0.01)
        stalled = (await silent.join_group("group", 1000, 300, silent_id, "connect", protocols)).generation
        assert coordinator.leader == silent_id
        await joining
        assert coordinator.leader == b.member_id and rb.running == ALL
        # Two SyncGroups of the stalled generation brought nothing, then b left and came back with a new id.
        old_ids = {m for g, m in coordinator.syncs if g == stalled}
        assert len([g for g, _ in coordinator.syncs if g == stalled]) == 2 and len(old_ids) == 1
        assert coordinator.left == list(old_ids) and b.member_id not in old_ids
        assert b.generation > stalled
        await b.stop()

    run(scenario)


class ScriptedTransport(FakeTransport):
    """A transport whose next SyncGroups answer the scripted error codes; records what the member sends."""

    def __init__(self, coordinator: FakeCoordinator, sync_errors: Sequence[int]) -> None:
        super().__init__(coordinator)
        self.sync_errors = list(sync_errors)
        self.join_ids: list[str] = []
        self.lookups = 0
        self.group_requests_fail = False

    async def find_coordinator(self, group: str) -> None:
        self.lookups += 1
        await super().find_coordinator(group)

    async def join_group(
        self,
        group: str,
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        member_id: str,
        protocol_type: str,
        protocols: Sequence[tuple[str, bytes]],
    ) -> JoinResult:
        if self.group_requests_fail:
            raise CoordinatorUnavailableError("no answer")
        self.join_ids.append(member_id)
        return await super().join_group(
            group, session_timeout_ms, rebalance_timeout_ms, member_id, protocol_type, protocols
        )

    async def sync_group(
        self, group: str, generation: int, member_id: str, assignments: Sequence[tuple[str, bytes]]
    ) -> tuple[int, bytes]:
        if self.group_requests_fail:
            raise CoordinatorUnavailableError("no answer")
        if self.sync_errors:
            return self.sync_errors.pop(0), b""
        return await super().sync_group(group, generation, member_id, assignments)

    async def heartbeat(self, group: str, generation: int, member_id: str) -> int:
        if self.group_requests_fail:
            raise CoordinatorUnavailableError("no answer")
        return await super().heartbeat(group, generation, member_id)


def scripted(
    coordinator: FakeCoordinator, sync_errors: Sequence[int] = (), **settings: int
) -> tuple[WorkerGroupMember, Recorder, ScriptedTransport]:
    worker, listener = member(coordinator, Snapshot({"c": 4}), "a", **settings)
    transport = ScriptedTransport(coordinator, sync_errors)
    worker.transport = transport
    return worker, listener, transport


@pytest.mark.parametrize(
    ("error", "same_member_id", "lookups"),
    [
        pytest.param(REBALANCE_IN_PROGRESS, True, 1, id="rebalance-in-progress"),
        pytest.param(ILLEGAL_GENERATION, True, 1, id="illegal-generation"),
        pytest.param(UNKNOWN_MEMBER_ID, False, 1, id="unknown-member-id"),
        pytest.param(NOT_COORDINATOR, True, 2, id="not-coordinator"),
        pytest.param(COORDINATOR_NOT_AVAILABLE, True, 2, id="coordinator-not-available"),
    ],
)
def test_a_failed_sync_group_is_retried_as_kafka_does(error: int, same_member_id: bool, lookups: int) -> None:
    async def scenario() -> None:
        coordinator = FakeCoordinator(rebalance_timeout=0.2)
        a, ra, transport = scripted(coordinator, [error])
        await a.start()
        await a.ensure_active()
        assert ra.running == ALL and len([e for e in ra.events if e[0] == "assigned"]) == 1
        # "" asks for a member id; the first real JoinGroup carries it, and so does the retry unless it was reset.
        first_id = transport.join_ids[1]
        retry = transport.join_ids[2]
        assert (retry == first_id) is same_member_id and (retry == "") is not same_member_id
        assert transport.lookups == lookups, "coordinator errors make the member look the coordinator up again"
        await a.stop()

    run(scenario)


@pytest.mark.parametrize("error", [GROUP_AUTHORIZATION_FAILED, INCONSISTENT_GROUP_PROTOCOL])
def test_an_unexpected_sync_group_error_is_fatal(error: int) -> None:
    async def scenario() -> None:
        coordinator = FakeCoordinator()
        a, ra, _ = scripted(coordinator, [error])
        await a.start()
        with pytest.raises(ConnectError, match=f"error code {error}"):
            await a.ensure_active()
        assert ra.running == set()
        await a.stop()

    run(scenario)


def test_a_leader_whose_assignment_fails_still_syncs_and_the_group_recovers() -> None:
    async def scenario() -> None:
        coordinator = FakeCoordinator(rebalance_timeout=2.0)
        snapshot = Snapshot({"c": 4})
        (a, ra), (b, rb) = member(coordinator, snapshot, "a"), member(coordinator, snapshot, "b")
        await asyncio.gather(a.start(), b.start())
        await joined(a, b)
        leader = a if a.is_leader() else b
        assign = leader._assignor.perform_assignment
        calls = itertools.count()

        def failing_once(*args: Any) -> Any:
            if next(calls) == 0:
                raise RuntimeError("assignor bug")
            return assign(*args)

        leader._assignor.perform_assignment = failing_once  # type: ignore[method-assign]
        failed = coordinator.generation + 1
        a.request_rejoin()
        b.request_rejoin()
        await settle([a, b], lambda: a.generation == b.generation > failed and not a.rejoin_needed())
        for recorder in (ra, rb):
            assigned = {g: assignment for kind, (g, assignment) in recorder.events if kind == "assigned"}
            assert assigned[failed].error == CONFIG_MISMATCH and assigned[max(assigned)].error == 0
        assert ra.running | rb.running == ALL and not ra.running & rb.running
        await asyncio.gather(a.stop(), b.stop())

    run(scenario)


def test_heartbeats_unanswered_for_the_session_timeout_stop_the_work_until_the_member_rejoins() -> None:
    async def scenario() -> None:
        coordinator = FakeCoordinator(rebalance_timeout=0.2)
        a, ra, transport = scripted(coordinator, session_timeout_ms=300)
        await a.start()
        await a.ensure_active()
        assert ra.running == ALL
        # The coordinator is still found, but answers no group request (heartbeats included).
        transport.group_requests_fail = True
        polling = asyncio.create_task(a.poll(10))
        for _ in range(300):
            if not ra.running:
                break
            await asyncio.sleep(0.01)
        assert ra.running == set() and ra.events[-1][0] == "revoked" and not polling.done()
        transport.group_requests_fail = False
        await polling
        assert ra.running == ALL and a.member_id
        await a.stop()

    run(scenario)


def test_a_member_stopped_while_its_join_is_pending_leaves_the_group() -> None:
    async def scenario() -> None:
        coordinator = FakeCoordinator(rebalance_timeout=5.0)
        snapshot = Snapshot({"c": 1})
        a, _ = member(coordinator, snapshot, "a")
        await a.start()
        await joined(a)
        b, rb = member(coordinator, snapshot, "b")
        await b.start()
        # b's JoinGroup waits for a, which is not polling: the coordinator already counts b in.
        joining = asyncio.create_task(b.ensure_active())
        while not coordinator.rebalancing:
            await asyncio.sleep(0.01)
        (b_id,) = set(coordinator.members) - {a.member_id}
        await b.stop()
        await joining
        assert coordinator.left == [b_id] and rb.events == []
        await a.stop()

    run(scenario)


class SlowJoinCoordinator(FakeCoordinator):
    """Answers each JoinGroup (after the member id round) only after ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        super().__init__(rebalance_timeout=5.0)
        self.delay = delay

    async def join(self, member_id: str, protocols: Sequence[tuple[str, bytes]]) -> JoinResult:
        if member_id:
            self.rebalancing = True
            await asyncio.sleep(self.delay)
            self.rebalancing = False
        return await super().join(member_id, protocols)


def test_a_member_interrupted_during_its_join_still_syncs_as_leader_before_it_leaves() -> None:
    async def scenario() -> None:
        coordinator = SlowJoinCoordinator(delay=0.3)
        a, _ = member(coordinator, Snapshot({"c": 1}), "a")
        await a.start()
        joining = asyncio.create_task(a.ensure_active())
        while not coordinator.rebalancing:  # the JoinGroup carrying the member id is in flight
            await asyncio.sleep(0.01)
        a.interrupt()  # the herder stops: its tick loop ends, then the member leaves
        await joining
        # The coordinator made it the leader of the new generation: it sent the assignments before leaving, so
        # the generation does not wait for a leader that is gone.
        assert coordinator._assignments is not None and coordinator._assignments.done()
        (member_id,) = coordinator.members
        await a.stop()
        assert coordinator.left == [member_id]

    run(scenario)


class AssignerRecordingCoordinator(FakeCoordinator):
    """Records which member handed out each generation's assignments."""

    def __init__(self, rebalance_timeout: float = 1.0) -> None:
        super().__init__(rebalance_timeout)
        self.assigned_by: dict[int, str] = {}

    async def sync(
        self, generation: int, member_id: str, assignments: Sequence[tuple[str, bytes]]
    ) -> tuple[int, bytes]:
        if member_id == self.leader and generation == self.generation and not self.rebalancing:
            self.assigned_by.setdefault(generation, member_id)
        return await super().sync(generation, member_id, assignments)


def test_a_leader_stopped_while_the_group_rebalances_syncs_that_rebalance_before_it_leaves() -> None:
    async def scenario() -> None:
        coordinator = AssignerRecordingCoordinator(rebalance_timeout=5.0)
        snapshot = Snapshot({"c": 2})
        (a, ra), (b, rb) = member(coordinator, snapshot, "a"), member(coordinator, snapshot, "b")
        await asyncio.gather(a.start(), b.start())
        await joined(a, b)
        leader, follower = (a, b) if a.is_leader() else (b, a)
        generation = coordinator.generation
        follower.request_rejoin()
        rejoining = asyncio.create_task(follower.ensure_active())
        while not leader.rejoin_needed():  # the leader's heartbeat saw the rebalance
            await asyncio.sleep(0.01)
        leader_id = leader._member_id
        await leader.stop()
        # The leader joined the rebalance and handed out its assignments before leaving, so the follower got
        # one at once rather than after the coordinator's rebalance timeout.
        await asyncio.wait_for(rejoining, 2.0)
        assert coordinator.assigned_by[generation + 1] == leader_id and coordinator.left == [leader_id]
        assert follower.assignment is not None and not follower.assignment.failed
        await follower.stop()

    run(scenario)
