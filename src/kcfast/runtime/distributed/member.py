"""Group membership of a distributed worker: the Connect group protocol on ``group.id`` (spec section 4).

A :class:`WorkerGroupMember` joins the group with protocol type ``connect``, offering the sub-protocols of
``connect.protocol`` with the worker's metadata (REST URL, config offset, current assignment). The coordinator
elects a leader; the leader runs the assignor (eager round-robin for ``default``, incremental cooperative for
``compatible``/``sessioned``) and hands every member its assignment through SyncGroup. Between rebalances a
background task heartbeats; a heartbeat answered "rebalance in progress" (or a lost member id) makes the member
rejoin.

The member tells a :class:`RebalanceListener` (the herder) what to stop and what it was given:

- eager: everything is revoked before each JoinGroup, and the new assignment is complete;
- incremental: nothing is revoked at JoinGroup; the assignment lists what is added and what is revoked, and
  the member keeps the rest running;
- a coordinator that cannot be found for ``heartbeat.interval.ms`` revokes the whole assignment, so a worker
  cut off from its group stops its work.

The requests go through a :class:`GroupTransport`; :class:`AiokafkaTransport` sends them with aiokafka's
low-level client, which is the only place kcfast uses aiokafka.

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

from kcfast.errors import ConnectError, RetriableError
from kcfast.runtime.distributed.assignor import (
    ConfigSnapshot,
    IncrementalCooperativeAssignor,
    LeaderState,
    perform_eager_assignment,
)
from kcfast.runtime.distributed.protocol import (
    PROTOCOL_TYPE,
    Assignment,
    ConnectProtocolCompatibility,
    WorkerState,
    apply_assignment,
    deserialize_assignment,
    metadata_request,
)
from kcfast.runtime.status import ConnectorTaskId

__all__ = [
    "AiokafkaTransport",
    "CoordinatorUnavailableError",
    "GroupTransport",
    "JoinResult",
    "MemberConfig",
    "RebalanceListener",
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


class CoordinatorUnavailableError(RetriableError):
    """The group coordinator could not be reached (or is no longer the coordinator)."""


@dataclass(frozen=True)
class JoinResult:
    """A JoinGroup response: ``members`` (member id, metadata) is filled for the leader only."""

    error: int
    generation: int
    protocol: str
    leader_id: str
    member_id: str
    members: tuple[tuple[str, bytes], ...] = ()


class GroupTransport(Protocol):
    """The group requests a member sends to its coordinator.

    Every method raises :class:`CoordinatorUnavailableError` when the coordinator cannot be reached; Kafka
    error codes of the responses are returned, not raised.
    """

    async def start(self) -> None:
        """Connect to the cluster."""

    async def close(self) -> None:
        """Close every connection."""

    async def find_coordinator(self, group: str) -> None:
        """Find the group's coordinator and connect to it."""

    async def join_group(
        self,
        group: str,
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        member_id: str,
        protocol_type: str,
        protocols: Sequence[tuple[str, bytes]],
    ) -> JoinResult:
        """JoinGroup (may wait up to the rebalance timeout for the other members)."""

    async def sync_group(
        self, group: str, generation: int, member_id: str, assignments: Sequence[tuple[str, bytes]]
    ) -> tuple[int, bytes]:
        """SyncGroup; returns ``(error, this member's assignment bytes)``."""

    async def heartbeat(self, group: str, generation: int, member_id: str) -> int:
        """Heartbeat; returns the error code."""

    async def leave_group(self, group: str, member_id: str) -> int:
        """LeaveGroup; returns the error code."""


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
        self._woken = False
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._started = False
        self._join_snapshot: ConfigSnapshot | None = None

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
        await self.maybe_leave_group("the consumer is being closed")
        if self._started:
            await self.transport.close()
            self._started = False

    async def maybe_leave_group(self, reason: str) -> None:
        """Send LeaveGroup if this member has joined, and forget the member id and generation."""
        if self._member_id and self.generation >= 0 and self._coordinator_known:
            log.info("Member %s sending LeaveGroup request to coordinator due to %s", self._member_id, reason)
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
                self._last_heartbeat_ok = self._clock()
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
        log.info("(Re-)joining group %s", self.config.group_id)
        protocols = self._metadata()
        try:
            while True:
                join = await self._race(
                    self.transport.join_group(
                        self.config.group_id,
                        self.config.session_timeout_ms,
                        self.config.rebalance_timeout_ms,
                        self._member_id,
                        PROTOCOL_TYPE,
                        protocols,
                    )
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
        assignments: list[tuple[str, bytes]] = []
        if join.leader_id == join.member_id:
            log.info("Elected group leader -- performing assignments using %s", join.protocol)
            assignments = self._perform_assignment(join, protocol)
        try:
            error, data = await self._race(
                asyncio.wait_for(
                    self.transport.sync_group(
                        self.config.group_id, join.generation, join.member_id, assignments
                    ),
                    self._sync_timeout(),
                )
            )
        except CoordinatorUnavailableError as exc:
            self._coordinator_dead(exc)
            self._rejoin_needed = True
            return False
        except TimeoutError:
            # The leader's assignment normally arrives within milliseconds; a coordinator that holds a follower's
            # SyncGroup much longer has moved on (or lost the request): join again rather than wait.
            log.info(
                "SyncGroup for generation %d got no answer within %.1f s; rejoining",
                join.generation,
                self._sync_timeout(),
            )
            self._rejoin_needed = True
            return False
        if error != NONE:
            self._sync_error(error)
            return False
        await self._on_join_complete(join.generation, protocol, data)
        return True

    def _sync_timeout(self) -> float:
        return max(3.0, min(self.config.session_timeout_ms, self.config.rebalance_timeout_ms) / 1000)

    def _perform_assignment(
        self, join: JoinResult, protocol: ConnectProtocolCompatibility
    ) -> list[tuple[str, bytes]]:
        metadata = dict(join.members)
        snapshot = self._join_snapshot if self._join_snapshot is not None else self._snapshot()
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

    def _sync_error(self, error: int) -> None:
        self._rejoin_needed = True
        if error in _RESET_ERRORS:
            self._reset_generation()
        elif error in _COORDINATOR_ERRORS:
            self._coordinator_dead(f"SyncGroup error {error}")
        elif error != REBALANCE_IN_PROGRESS:
            log.warning(
                "SyncGroup for group %s failed with error code %d; rejoining", self.config.group_id, error
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
                self._coordinator_dead(exc)
                continue
            if error == NONE:
                self._last_heartbeat_ok = self._clock()
            elif error == REBALANCE_IN_PROGRESS:
                log.info("Group %s is rebalancing; rejoining", self.config.group_id)
                self._rejoin_needed = True
                self._changed.set()
            elif error in _RESET_ERRORS:
                log.info("Heartbeat failed with error %d; resetting the generation and rejoining", error)
                self._reset_generation()
            elif error in _COORDINATOR_ERRORS:
                self._coordinator_dead(f"Heartbeat error {error}")
            else:
                log.warning("Heartbeat failed with error code %d", error)
            if self._clock() - self._last_heartbeat_ok > self.config.session_timeout_ms / 1000:
                self._coordinator_dead("session timeout expired without a successful heartbeat")

    # -- waiting ---------------------------------------------------------------------------------------------

    async def _race(self, work: Awaitable[Any]) -> Any:
        """Await ``work`` unless the member is closing first (then raise :class:`_Closed`)."""
        task = asyncio.ensure_future(work)
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            done, _ = await asyncio.wait({task, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closing.cancel()
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


# -- aiokafka ------------------------------------------------------------------------------------------------


class AiokafkaTransport:
    """:class:`GroupTransport` over aiokafka's low-level client (PLAINTEXT and SSL listeners).

    Args:
        bootstrap_servers: ``host:port,...``.
        client_id: the client id (the coordinator uses it as the prefix of member ids).
        request_timeout_ms: per-request timeout; JoinGroup waits up to the rebalance timeout, so the member
            passes at least ``rebalance.timeout.ms`` + 5 s.
        retry_backoff_ms: back-off between metadata retries.
        security_protocol: ``PLAINTEXT`` or ``SSL``.
        ssl_cafile: CA bundle (PEM) for ``SSL``.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        client_id: str,
        request_timeout_ms: int = 65000,
        retry_backoff_ms: int = 100,
        security_protocol: str = "PLAINTEXT",
        ssl_cafile: str | None = None,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.client_id = client_id
        self.request_timeout_ms = request_timeout_ms
        self.retry_backoff_ms = retry_backoff_ms
        self.security_protocol = security_protocol
        self.ssl_cafile = ssl_cafile
        self._client: Any = None
        self._coordinator: int | None = None

    async def start(self) -> None:
        from aiokafka.client import AIOKafkaClient

        ssl_context = None
        if self.security_protocol.upper() == "SSL":
            import ssl

            ssl_context = ssl.create_default_context(cafile=self.ssl_cafile)
        self._client = AIOKafkaClient(
            bootstrap_servers=self.bootstrap_servers,
            client_id=self.client_id,
            request_timeout_ms=self.request_timeout_ms,
            retry_backoff_ms=self.retry_backoff_ms,
            security_protocol=self.security_protocol.upper(),
            ssl_context=ssl_context,
        )
        while True:
            try:
                await self._client.bootstrap()
                return
            except Exception as exc:  # noqa: BLE001 - aiokafka raises several types; keep trying
                log.warning("Unable to bootstrap the group client from %s: %s", self.bootstrap_servers, exc)
                await asyncio.sleep(1.0)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def find_coordinator(self, group: str) -> None:
        from aiokafka.client import ConnectionGroup, CoordinationType
        from aiokafka.errors import KafkaError

        try:
            coordinator = await self._client.coordinator_lookup(CoordinationType.GROUP, group)
            ready = await self._client.ready(coordinator, group=ConnectionGroup.COORDINATION)
        except (KafkaError, OSError, TimeoutError, AssertionError) as exc:
            self._client.force_metadata_update()
            raise CoordinatorUnavailableError(str(exc) or type(exc).__name__) from exc
        if not ready:
            raise CoordinatorUnavailableError(f"coordinator {coordinator} is not ready")
        self._coordinator = coordinator

    async def _send(self, request: Any) -> Any:
        from aiokafka.client import ConnectionGroup
        from aiokafka.errors import KafkaError

        if self._coordinator is None:
            raise CoordinatorUnavailableError("coordinator unknown")
        try:
            return await self._client.send(self._coordinator, request, group=ConnectionGroup.COORDINATION)
        except (KafkaError, OSError, TimeoutError) as exc:
            self._coordinator = None
            raise CoordinatorUnavailableError(str(exc) or type(exc).__name__) from exc

    async def join_group(
        self,
        group: str,
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        member_id: str,
        protocol_type: str,
        protocols: Sequence[tuple[str, bytes]],
    ) -> JoinResult:
        from aiokafka.protocol.group import JoinGroupRequest

        response = await self._send(
            JoinGroupRequest(
                group,
                session_timeout_ms,
                rebalance_timeout_ms,
                member_id,
                None,
                protocol_type,
                list(protocols),
            )
        )
        members = tuple((m[0], bytes(m[-1])) for m in response.members)
        return JoinResult(
            response.error_code,
            response.generation_id,
            response.group_protocol or "",
            response.leader_id or "",
            response.member_id or "",
            members,
        )

    async def sync_group(
        self, group: str, generation: int, member_id: str, assignments: Sequence[tuple[str, bytes]]
    ) -> tuple[int, bytes]:
        from aiokafka.protocol.group import SyncGroupRequest

        response = await self._send(SyncGroupRequest(group, generation, member_id, None, list(assignments)))
        return int(response.error_code), bytes(response.member_assignment or b"")

    async def heartbeat(self, group: str, generation: int, member_id: str) -> int:
        from aiokafka.protocol.group import HeartbeatRequest

        response = await self._send(HeartbeatRequest(group, generation, member_id))
        return int(response.error_code)

    async def leave_group(self, group: str, member_id: str) -> int:
        from aiokafka.protocol.group import LeaveGroupRequest

        response = await self._send(LeaveGroupRequest(group, member_id))
        return int(response.error_code)
