"""Group membership of a distributed worker: the Connect group protocol on ``group.id`` (spec section 4).

A :class:`WorkerGroupMember` joins the group with protocol type ``connect``, offering the sub-protocols of
``connect.protocol`` with the worker's metadata (REST URL, config offset, current assignment). The coordinator
elects a leader; the leader runs the assignor (eager round-robin for ``default``, incremental cooperative for
``compatible``/``sessioned``) and hands every member its assignment through SyncGroup. Between rebalances a
background task heartbeats; a heartbeat answered "rebalance in progress" (or a lost member id) makes the member
rejoin.

Recovery, as Kafka's ``AbstractCoordinator`` and ``WorkerCoordinator`` do it:

- SyncGroup errors: ``REBALANCE_IN_PROGRESS`` rejoins with the same member id; ``ILLEGAL_GENERATION`` drops
  the generation but keeps the member id; ``UNKNOWN_MEMBER_ID`` drops both; coordinator errors mark the
  coordinator unknown; any other error (authorization, inconsistent protocol, fenced instance) is fatal.
- A SyncGroup waits at most ``rebalance.timeout.ms``. The coordinator holds a follower's SyncGroup until the
  generation's leader has sent its own, so an unanswered one means the leader is gone or stuck: the member
  rejoins, and after :data:`UNANSWERED_SYNCS_BEFORE_NEW_MEMBER` SyncGroups in one generation that brought no
  assignment (no answer, or REBALANCE_IN_PROGRESS for a generation the coordinator then hands out again) it
  leaves and joins as a new member (no member id), which makes the coordinator form a new generation.
- The leader always sends its SyncGroup: a failing assignment is replaced by a ``CONFIG_MISMATCH`` assignment
  for every member (all read the config topic and rejoin), and a stopping worker does not abandon it.

The member tells a :class:`RebalanceListener` (the herder) what to stop and what it was given:

- eager: everything is revoked before each JoinGroup, and the new assignment is complete;
- incremental: nothing is revoked at JoinGroup; the assignment lists what is added and what is revoked, and
  the member keeps the rest running;
- a coordinator that cannot be found for ``heartbeat.interval.ms``, or no successful heartbeat for
  ``session.timeout.ms`` (the coordinator has dropped the member by then), revokes the whole assignment, so a
  worker cut off from its group stops its work; it rejoins as soon as the coordinator answers again.

The requests go through a :class:`~kcfast.runtime.distributed.transport.GroupTransport`;
:class:`~kcfast.runtime.distributed.transport.AiokafkaTransport` sends them with aiokafka's low-level client.

Threading: everything runs on one asyncio loop; the member is not thread-safe, except :meth:`wakeup`, which
must still be called on the loop (use ``call_soon_threadsafe`` from other threads).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kcfast.errors import ConnectError
from kcfast.runtime.distributed.assignor import (
    ConfigSnapshot,
    IncrementalCooperativeAssignor,
    LeaderState,
    perform_eager_assignment,
)
from kcfast.runtime.distributed.protocol import (
    CONFIG_MISMATCH,
    PROTOCOL_TYPE,
    Assignment,
    ConnectProtocolCompatibility,
    WorkerState,
    apply_assignment,
    deserialize_assignment,
    metadata_request,
    serialize_assignment,
)
from kcfast.runtime.distributed.transport import (
    AiokafkaTransport,
    CoordinatorUnavailableError,
    GroupTransport,
    JoinResult,
)
from kcfast.runtime.status import ConnectorTaskId

__all__ = [
    "AiokafkaTransport",
    "CoordinatorUnavailableError",
    "GroupTransport",
    "JoinResult",
    "MemberConfig",
    "RebalanceListener",
    "UNANSWERED_SYNCS_BEFORE_NEW_MEMBER",
    "WorkerGroupMember",
]

log = logging.getLogger(__name__)

# Kafka protocol error codes the member handles.
NONE = 0
COORDINATOR_LOAD_IN_PROGRESS = 14
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16
ILLEGAL_GENERATION = 22
UNKNOWN_MEMBER_ID = 25
REBALANCE_IN_PROGRESS = 27
MEMBER_ID_REQUIRED = 79
FENCED_INSTANCE_ID = 82
_COORDINATOR_ERRORS = frozenset({COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR})
_RESET_ERRORS = frozenset({UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID})

#: Unanswered SyncGroups in one generation after which the member leaves and joins as a new member.
UNANSWERED_SYNCS_BEFORE_NEW_MEMBER = 2
#: How long a stopping member still waits for a JoinGroup in flight, so that it can sync as the leader.
JOIN_GRACE_ON_CLOSE_S = 10.0


class RebalanceListener(Protocol):
    """What the member tells the herder (Kafka's ``WorkerRebalanceListener``)."""

    async def on_assigned(self, assignment: Assignment, generation: int) -> None:
        """A rebalance completed with this (complete, for incremental protocols augmented) assignment."""

    async def on_revoked(
        self, leader: str, connectors: Sequence[str], tasks: Sequence[ConnectorTaskId]
    ) -> None:
        """These connectors and tasks must stop now."""

    def on_poll_timeout_expiry(self) -> None:
        """The herder did not poll within ``rebalance.timeout.ms``; the member leaves the group."""


@dataclass(frozen=True)
class MemberConfig:
    """The group settings of a worker (spec section 6, distributed keys).

    Attributes:
        group_id: ``group.id``.
        mode: ``connect.protocol``.
        session_timeout_ms: ``session.timeout.ms``.
        rebalance_timeout_ms: ``rebalance.timeout.ms``.
        heartbeat_interval_ms: ``heartbeat.interval.ms``.
        retry_backoff_ms: ``retry.backoff.ms``.
        max_delay_ms: ``scheduled.rebalance.max.delay.ms``.
    """

    group_id: str
    mode: ConnectProtocolCompatibility = ConnectProtocolCompatibility.SESSIONED
    session_timeout_ms: int = 10000
    rebalance_timeout_ms: int = 60000
    heartbeat_interval_ms: int = 3000
    retry_backoff_ms: int = 100
    max_delay_ms: int = 300000

    @classmethod
    def from_worker_config(cls, config: Any) -> MemberConfig:
        """Read the settings from a distributed :class:`~kcfast.config.WorkerConfig`."""
        return cls(
            group_id=str(config.get_string("group.id")),
            mode=ConnectProtocolCompatibility.from_config(str(config.get_string("connect.protocol"))),
            session_timeout_ms=int(config.get_int("session.timeout.ms")),
            rebalance_timeout_ms=int(config.get_int("rebalance.timeout.ms")),
            heartbeat_interval_ms=int(config.get_int("heartbeat.interval.ms")),
            retry_backoff_ms=int(config.get_long("retry.backoff.ms")),
            max_delay_ms=int(config.get_int("scheduled.rebalance.max.delay.ms")),
        )


class _Closed(Exception):
    """The member is closing: abandon what it was waiting for."""


class WorkerGroupMember:
    """One worker's membership in the Connect group (Kafka's ``WorkerGroupMember`` + ``WorkerCoordinator``).

    Args:
        config: the group settings.
        url: this worker's advertised REST URL (``http://host:port/``).
        config_snapshot: the config store's current snapshot (its ``offset`` goes in the metadata).
        listener: told about revocations and assignments.
        transport: sends the group requests.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        config: MemberConfig,
        url: str,
        config_snapshot: Callable[[], ConfigSnapshot],
        listener: RebalanceListener,
        transport: GroupTransport,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.url = url
        self._snapshot = config_snapshot
        self.listener = listener
        self.transport = transport
        self._clock = clock
        self._member_id = ""
        self.generation = -1
        self.protocol = config.mode
        self.assignment: Assignment | None = None
        self.last_completed_generation = -1
        self.leader_state: LeaderState | None = None
        self._assignor = IncrementalCooperativeAssignor(config.max_delay_ms)
        self._stable = False
        self._rejoin_needed = True
        self._rejoin_requested = False
        self._needs_join_prepare = True
        self._coordinator_known = False
        self._last_poll = clock()
        self._polling = 0
        self._last_heartbeat_ok = clock()
        # Whether a heartbeat failed (no answer, or an error) since the last answered one.
        self._heartbeat_failed = False
        self._woken = False
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._started = False
        self._join_snapshot: ConfigSnapshot | None = None
        # (generation, count) of the SyncGroups that got no answer in a row.
        self._unanswered_syncs = (-1, 0)

    # -- what the herder reads -------------------------------------------------------------------------------

    @property
    def member_id(self) -> str:
        """This member's id while the group is stable, else ``""`` (Kafka's ``memberId()``)."""
        return self._member_id if self._stable else ""

    @property
    def current_protocol_version(self) -> int:
        """The version of the protocol the group uses (that of ``connect.protocol`` before the first join)."""
        return self.protocol.version

    def is_leader(self) -> bool:
        """Whether this member led the last completed rebalance."""
        return (
            self.assignment is not None and self.member_id != "" and self.member_id == self.assignment.leader
        )

    def rejoin_needed(self) -> bool:
        """Whether the member must (re)join before it may do anything else."""
        return (
            self._rejoin_needed or self._rejoin_requested or self.assignment is None or self.assignment.failed
        )

    def owner_url(self, item: str | ConnectorTaskId) -> str | None:
        """REST URL of the member running a connector or task; known only by the leader of a stable group."""
        if self.rejoin_needed() or not self.is_leader() or self.leader_state is None:
            return None
        return self.leader_state.owner_url(item)

    # -- control ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect to the cluster and start heartbeating once joined."""
        await self.transport.start()
        self._started = True
        self._heartbeat_task = asyncio.create_task(self._heartbeat_loop(), name="kcfast-group-heartbeat")

    def wakeup(self) -> None:
        """Make a waiting :meth:`poll` return (call on the loop)."""
        self._woken = True
        self._changed.set()

    def request_rejoin(self) -> None:
        """Rejoin the group at the next :meth:`ensure_active` or :meth:`poll`."""
        log.debug("Request joining group")
        self._rejoin_requested = True
        self._changed.set()

    def interrupt(self) -> None:
        """Abandon joins and waits in progress (the worker is stopping)."""
        self._closing.set()
        self._changed.set()

    async def stop(self) -> None:
        """Leave the group (if in it), stop heartbeating and close the connections."""
        self._closing.set()
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
            try:
                await self._heartbeat_task
            except asyncio.CancelledError:
                pass
            self._heartbeat_task = None
        await self._finish_rebalance_as_leader()
        await self.maybe_leave_group("the consumer is being closed")
        if self._started:
            await self.transport.close()
            self._started = False

    async def _finish_rebalance_as_leader(self) -> None:
        """A leader stopping while its group rebalances takes part in that rebalance before it leaves: the
        coordinator may keep it as the leader of the forming generation, and a leader that leaves before it
        syncs can leave the group without a leader on some coordinators (the embedded test broker's). Bounded
        by :data:`JOIN_GRACE_ON_CLOSE_S` and the SyncGroup timeout; the assignment it gets is not applied."""
        current = self.assignment
        if not (self._rejoin_needed and self._coordinator_known and self._member_id and current is not None
                and current.leader == self._member_id):
            return
        log.info("Leader %s completing the rebalance in progress before leaving the group", self._member_id)
        try:
            await self._join_and_sync()
        except (_Closed, ConnectError, CoordinatorUnavailableError) as exc:
            log.info("The rebalance in progress could not be completed before leaving: %s", exc)

    async def maybe_leave_group(self, reason: str) -> None:
        """Send LeaveGroup if this member has a member id (joined or joining); forget it and the generation.

        A member still waiting for its JoinGroup answer leaves too: the coordinator may already count it in
        (even as the leader of the next generation), and would otherwise wait for it.
        """
        if self._member_id and self._coordinator_known:
            log.info(
                "Member %s sending LeaveGroup request to coordinator due to %s (generation %d)",
                self._member_id,
                reason,
                self.generation,
            )
            try:
                await asyncio.wait_for(
                    self.transport.leave_group(self.config.group_id, self._member_id),
                    self.config.session_timeout_ms / 1000,
                )
            except (CoordinatorUnavailableError, TimeoutError) as exc:
                log.debug("LeaveGroup failed: %s", exc)
        self._reset_generation()

    def revoke_assignment(self) -> Awaitable[None]:
        """Tell the listener to stop everything currently assigned (without leaving the group)."""
        current = self.assignment
        if current is None:
            return asyncio.sleep(0)
        return self.listener.on_revoked(current.leader, list(current.connectors), list(current.tasks))

    # -- the herder's calls ----------------------------------------------------------------------------------

    async def ensure_active(self) -> None:
        """Join (or rejoin) the group if needed and wait until the rebalance completed.

        Returns early, with the rebalance unfinished, only when :meth:`interrupt` was called.

        Raises:
            ConnectError: the coordinator rejected the member for good (incompatible protocol, bad settings).
        """
        self._last_poll = self._clock()
        self._polling += 1
        try:
            await self._revoke_if_session_expired()
            await self._check_coordinator()
            while self.rejoin_needed() and not self._closing.is_set():
                if not self._coordinator_known:
                    await self._check_coordinator()
                    if not self._coordinator_known:
                        await self._sleep(self.config.retry_backoff_ms / 1000)
                        continue
                if self._needs_join_prepare:
                    await self._on_join_prepare()
                    self._needs_join_prepare = False
                if not await self._join_and_sync():
                    await self._sleep(self.config.retry_backoff_ms / 1000)
        except _Closed:
            pass
        finally:
            self._polling -= 1
            self._last_poll = self._clock()

    async def poll(self, timeout: float) -> None:
        """Drive the membership for up to ``timeout`` seconds.

        Returns when :meth:`wakeup` is called, when the timeout expires, or right after a rebalance that became
        necessary (the herder then handles the new assignment).
        """
        deadline = self._clock() + max(0.0, timeout)
        self._last_poll = self._clock()
        self._polling += 1
        try:
            while not self._closing.is_set():
                await self._revoke_if_session_expired()
                if not self._coordinator_known and self._started:
                    await self._check_coordinator()
                if self.rejoin_needed():
                    await self.ensure_active()
                    return
                if self._woken:
                    return
                remaining = deadline - self._clock()
                if remaining <= 0:
                    return
                self._changed.clear()
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    return
        except _Closed:
            pass
        finally:
            self._polling -= 1
            self._woken = False
            self._last_poll = self._clock()

    # -- joining ---------------------------------------------------------------------------------------------

    async def _check_coordinator(self) -> None:
        """Find the coordinator, trying for ``heartbeat.interval.ms``; if it cannot be found, stop the work."""
        if self._coordinator_known:
            return
        deadline = self._clock() + self.config.heartbeat_interval_ms / 1000
        while not self._closing.is_set():
            try:
                await self._race(self.transport.find_coordinator(self.config.group_id))
                self._coordinator_known = True
                log.debug("Discovered group coordinator for group %s", self.config.group_id)
                return
            except CoordinatorUnavailableError as exc:
                log.debug("Group coordinator lookup failed: %s", exc)
            if self._clock() >= deadline:
                break
            await self._sleep(self.config.retry_backoff_ms / 1000)
        current = self.assignment
        if current is not None and not current.failed:
            log.info(
                "Broker coordinator was unreachable for %dms. Revoking previous assignment %s to avoid running "
                "tasks while not being a member the group",
                self.config.heartbeat_interval_ms,
                current,
            )
            await self.listener.on_revoked(current.leader, list(current.connectors), list(current.tasks))
            self.assignment = None
            self._stable = False

    def _session_expired(self) -> bool:
        """Whether this member, while it should be heartbeating, saw its heartbeats fail and none answered for
        ``session.timeout.ms``: the coordinator has dropped it from the group by then."""
        return (
            self._stable
            and self._heartbeat_failed
            and not self.rejoin_needed()
            and self._clock() - self._last_heartbeat_ok > self.config.session_timeout_ms / 1000
        )

    async def _revoke_if_session_expired(self) -> None:
        """Stop all work once the session expired (see :meth:`_session_expired`) and rejoin when possible."""
        if not self._session_expired():
            return
        current = self.assignment
        log.info(
            "No heartbeat was answered for %dms (session.timeout.ms) in generation %d. Revoking previous "
            "assignment %s to avoid running tasks while not being a member of the group, and rejoining",
            self.config.session_timeout_ms,
            self.generation,
            current,
        )
        self._stable = False
        self._rejoin_needed = True
        self.assignment = None
        if current is not None and not current.failed:
            await self.listener.on_revoked(current.leader, list(current.connectors), list(current.tasks))

    def _coordinator_dead(self, reason: object) -> None:
        if self._coordinator_known:
            log.info("Group coordinator is unavailable or invalid (%s); will attempt rediscovery", reason)
        self._coordinator_known = False
        self._changed.set()

    async def _on_join_prepare(self) -> None:
        log.info("Rebalance started")
        self.leader_state = None
        current = self.assignment
        if self.protocol is ConnectProtocolCompatibility.EAGER:
            log.debug("Revoking previous assignment %s", current)
            if current is not None and not current.failed:
                await self.listener.on_revoked(current.leader, list(current.connectors), list(current.tasks))
        else:
            log.debug(
                "Cooperative rebalance triggered. Keeping assignment %s until it's explicitly revoked.",
                current,
            )

    def _metadata(self) -> list[tuple[str, bytes]]:
        snapshot = self._snapshot()
        self._join_snapshot = snapshot
        state = WorkerState(self.url, snapshot.offset, self.assignment)
        return metadata_request(state, self.config.mode)

    async def _join_and_sync(self) -> bool:
        """One JoinGroup + SyncGroup round; ``True`` once an assignment was received."""
        self._stable = False
        log.info(
            "(Re-)joining group %s (member id %r, last generation %d)",
            self.config.group_id,
            self._member_id,
            self.generation,
        )
        protocols = self._metadata()
        try:
            while True:
                # A JoinGroup in flight is not abandoned at once when the worker stops: the coordinator may have
                # made this member the leader of the forming generation, and a leader that leaves before it
                # syncs can leave the group without a leader on some coordinators (the embedded test broker's).
                join = await self._race(
                    self.transport.join_group(
                        self.config.group_id,
                        self.config.session_timeout_ms,
                        self.config.rebalance_timeout_ms,
                        self._member_id,
                        PROTOCOL_TYPE,
                        protocols,
                    ),
                    grace=min(self.config.rebalance_timeout_ms / 1000, JOIN_GRACE_ON_CLOSE_S),
                )
                if join.error == MEMBER_ID_REQUIRED:
                    self._member_id = join.member_id
                    continue
                break
        except CoordinatorUnavailableError as exc:
            self._coordinator_dead(exc)
            return False
        if join.error != NONE:
            self._join_error(join.error)
            return False
        self._member_id = join.member_id
        self.generation = join.generation
        self._rejoin_needed = False
        protocol = ConnectProtocolCompatibility.from_protocol(join.protocol)
        log.info(
            "Joined group %s (generation %d) as %s with protocol %s",
            self.config.group_id,
            join.generation,
            join.member_id,
            join.protocol,
        )
        leader = join.leader_id == join.member_id
        assignments: list[tuple[str, bytes]] = []
        if leader:
            log.info("Elected group leader -- performing assignments using %s", join.protocol)
            assignments = self._perform_assignment(join, protocol)
        sync = asyncio.wait_for(
            self.transport.sync_group(self.config.group_id, join.generation, join.member_id, assignments),
            self._sync_timeout(),
        )
        try:
            # The coordinator holds every follower's SyncGroup until the leader's arrives: the leader sends
            # and awaits it even when the worker is stopping, so that the others get their assignments.
            error, data = await (sync if leader else self._race(sync))
        except CoordinatorUnavailableError as exc:
            log.info("SyncGroup for generation %d failed: %s; rejoining", join.generation, exc)
            self._coordinator_dead(exc)
            self._rejoin_needed = True
            return False
        except TimeoutError:
            await self._sync_unanswered(join.generation, f"got no answer within {self._sync_timeout():.1f} s")
            return False
        if error == REBALANCE_IN_PROGRESS and self._unanswered_syncs[0] == join.generation:
            # A rejoin that got the same generation back, then "rebalancing" again: the coordinator is still
            # waiting for a leader that does not sync.
            await self._sync_unanswered(join.generation, "was answered REBALANCE_IN_PROGRESS again")
            return False
        if error == REBALANCE_IN_PROGRESS:
            self._unanswered_syncs = (join.generation, 1)
        else:
            self._unanswered_syncs = (-1, 0)
        if error != NONE:
            self._sync_error(error, join.generation)
            return False
        log.info("Successfully synced group in generation %d", join.generation)
        if self._closing.is_set() and not self._polling:
            return True  # synced on the way out (stop()): nothing is started any more
        await self._on_join_complete(join.generation, protocol, data)
        return True

    def _sync_timeout(self) -> float:
        """How long a SyncGroup may wait for its answer: ``rebalance.timeout.ms``."""
        return self.config.rebalance_timeout_ms / 1000

    async def _sync_unanswered(self, generation: int, outcome: str) -> None:
        """A SyncGroup of ``generation`` brought no assignment (no answer in time, or REBALANCE_IN_PROGRESS
        for a generation the coordinator then handed out again): rejoin, as a new member if that repeats."""
        last, count = self._unanswered_syncs
        count = count + 1 if last == generation else 1
        self._unanswered_syncs = (generation, count)
        self._rejoin_needed = True
        if count < UNANSWERED_SYNCS_BEFORE_NEW_MEMBER:
            log.info(
                "SyncGroup for generation %d %s (the leader has not sent its assignments); rejoining",
                generation,
                outcome,
            )
            return
        log.info(
            "SyncGroup for generation %d %s: %d SyncGroups in this generation brought no assignment; leaving "
            "the group and joining as a new member so that the coordinator forms a new generation",
            generation,
            outcome,
            count,
        )
        self._unanswered_syncs = (-1, 0)
        await self.maybe_leave_group(f"SyncGroup unanswered in generation {generation}")

    def _perform_assignment(
        self, join: JoinResult, protocol: ConnectProtocolCompatibility
    ) -> list[tuple[str, bytes]]:
        metadata = dict(join.members)
        snapshot = self._join_snapshot if self._join_snapshot is not None else self._snapshot()
        try:
            if protocol is ConnectProtocolCompatibility.EAGER:
                result = perform_eager_assignment(join.member_id, metadata, snapshot, self._snapshot)
            else:
                result = self._assignor.perform_assignment(
                    join.member_id,
                    protocol.protocol,
                    metadata,
                    snapshot,
                    self.last_completed_generation,
                    join.generation,
                    int(self._clock() * 1000),
                    self._snapshot,
                )
        except Exception:  # noqa: BLE001 - the followers wait for this leader's SyncGroup whatever happens
            log.exception(
                "Assignment for generation %d failed; sending every member a failed (CONFIG_MISMATCH) "
                "assignment so that all read the config topic and rejoin",
                join.generation,
            )
            self.leader_state = None
            failed = Assignment(protocol.version, CONFIG_MISMATCH, join.member_id, self.url, snapshot.offset)
            encoded = serialize_assignment(failed, protocol.version)
            return [(member, encoded) for member in metadata]
        self.leader_state = result.leader_state
        return list(result.assignments.items())

    async def _on_join_complete(
        self, generation: int, protocol: ConnectProtocolCompatibility, data: bytes
    ) -> None:
        new = deserialize_assignment(data)
        self.protocol = protocol
        self._rejoin_requested = False
        incremental = protocol is not ConnectProtocolCompatibility.EAGER
        if incremental and (new.revoked_connectors or new.revoked_tasks):
            await self.listener.on_revoked(new.leader, list(new.revoked_connectors), list(new.revoked_tasks))
        self.assignment = apply_assignment(self.assignment, new, incremental)
        self.last_completed_generation = generation
        self._stable = True
        self._needs_join_prepare = True
        self._last_heartbeat_ok = self._clock()
        self._heartbeat_failed = False
        await self.listener.on_assigned(self.assignment, generation)

    def _join_error(self, error: int) -> None:
        if error == UNKNOWN_MEMBER_ID:
            log.debug("Attempt to join group failed due to unknown member id; resetting it")
            self._member_id = ""
            self.generation = -1
        elif error in _COORDINATOR_ERRORS:
            self._coordinator_dead(f"JoinGroup error {error}")
        elif error in (COORDINATOR_LOAD_IN_PROGRESS, REBALANCE_IN_PROGRESS):
            log.debug("JoinGroup answered with retriable error %d", error)
        else:
            raise ConnectError(f"Attempt to join group {self.config.group_id} failed with error code {error}")

    def _sync_error(self, error: int, generation: int) -> None:
        """Handle a SyncGroup error as Kafka's consumer does (see the module docstring)."""
        self._rejoin_needed = True
        if error == REBALANCE_IN_PROGRESS:
            log.info(
                "SyncGroup failed: the group began another rebalance; rejoining (generation %d)", generation
            )
        elif error == ILLEGAL_GENERATION:
            log.info(
                "SyncGroup failed: generation %d is no longer the group's; rejoining with the same member id",
                generation,
            )
            self.generation = -1
            self._stable = False
        elif error == UNKNOWN_MEMBER_ID:
            log.info(
                "SyncGroup failed: member id %s is unknown to the coordinator; rejoining as a new member "
                "(generation %d)",
                self._member_id,
                generation,
            )
            self._reset_generation()
        elif error in _COORDINATOR_ERRORS:
            log.info(
                "SyncGroup failed with error %d; marking the coordinator unknown (generation %d)",
                error,
                generation,
            )
            self._coordinator_dead(f"SyncGroup error {error}")
        else:
            raise ConnectError(
                f"SyncGroup for group {self.config.group_id} failed with error code {error} "
                f"(generation {generation})"
            )

    def _reset_generation(self) -> None:
        self._member_id = ""
        self.generation = -1
        self._stable = False
        self._rejoin_needed = True
        self._changed.set()

    # -- heartbeats ------------------------------------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        interval = self.config.heartbeat_interval_ms / 1000
        while not self._closing.is_set():
            await self._sleep_quietly(interval)
            if self._session_expired():
                # The herder's poll revokes the assignment (on its own task, as every listener call is made).
                self._changed.set()
                continue
            if not self._stable or not self._coordinator_known or self.rejoin_needed():
                continue
            now = self._clock()
            if not self._polling and now - self._last_poll > self.config.rebalance_timeout_ms / 1000:
                self.listener.on_poll_timeout_expiry()
                await self.maybe_leave_group("worker poll timeout has expired.")
                continue
            try:
                error = await asyncio.wait_for(
                    self.transport.heartbeat(self.config.group_id, self.generation, self._member_id),
                    self.config.session_timeout_ms / 1000,
                )
            except (CoordinatorUnavailableError, TimeoutError) as exc:
                self._heartbeat_failed = True
                self._coordinator_dead(exc)
                continue
            self._heartbeat_failed = error not in (NONE, REBALANCE_IN_PROGRESS)
            if error == NONE:
                self._last_heartbeat_ok = self._clock()
            elif error == REBALANCE_IN_PROGRESS:
                # An answer all the same: the coordinator keeps this member while the rebalance lasts.
                self._last_heartbeat_ok = self._clock()
                log.info(
                    "Group %s is rebalancing; rejoining (generation %d)",
                    self.config.group_id,
                    self.generation,
                )
                self._rejoin_needed = True
                self._changed.set()
            elif error in _RESET_ERRORS:
                log.info("Heartbeat failed with error %d; resetting the generation and rejoining", error)
                self._reset_generation()
            elif error in _COORDINATOR_ERRORS:
                self._coordinator_dead(f"Heartbeat error {error}")
            else:
                log.warning("Heartbeat failed with error code %d", error)
            if self._session_expired():
                self._coordinator_dead("session timed out without receiving a heartbeat response")

    # -- waiting ---------------------------------------------------------------------------------------------

    async def _race(self, work: Awaitable[Any], grace: float = 0.0) -> Any:
        """Await ``work`` unless the member is closing first (then raise :class:`_Closed`); once closing, ``work``
        still gets ``grace`` seconds to finish."""
        task = asyncio.ensure_future(work)
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            done, _ = await asyncio.wait({task, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closing.cancel()
        if task not in done and grace > 0:
            done, _ = await asyncio.wait({task}, timeout=grace)
        if task not in done:
            task.cancel()
            raise _Closed()
        return task.result()

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            return
        raise _Closed()

    async def _sleep_quietly(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            pass
