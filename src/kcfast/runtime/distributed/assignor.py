"""The leader's assignors: eager round-robin and incremental cooperative (spec section 4, KIP-415).

Both take the members' JoinGroup metadata and the leader's config snapshot and produce each member's
SyncGroup assignment bytes (:func:`perform_eager_assignment`,
:meth:`IncrementalCooperativeAssignor.perform_assignment`).

The incremental cooperative assignor keeps state between rounds: the previous assignment, pending
revocations, the scheduled rebalance that waits for departed workers (``scheduled.rebalance.max.delay.ms``)
and the back-off of consecutive revoking rounds. :func:`incremental_cooperative_assignment` is the pure form
of one round: it takes an :class:`AssignorState` and returns the next one with the assignment; the
:class:`IncrementalCooperativeAssignor` class holds that state for a leader.

Members are considered in member-id order, so results are deterministic. Time is passed in (epoch or
monotonic milliseconds, as long as the caller is consistent).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from kcfast.runtime.distributed.protocol import (
    CONFIG_MISMATCH,
    CONNECT_PROTOCOL_V0,
    NO_ERROR,
    Assignment,
    ConnectProtocolCompatibility,
    WorkerState,
    deserialize_metadata,
    serialize_assignment,
)
from kcfast.runtime.status import ConnectorTaskId

__all__ = [
    "AssignmentResult",
    "AssignorState",
    "ClusterAssignment",
    "ConfigSnapshot",
    "ConnectorsAndTasks",
    "IncrementalCooperativeAssignor",
    "LeaderState",
    "WorkerLoad",
    "eager_assignment",
    "incremental_cooperative_assignment",
    "perform_eager_assignment",
    "revoking_rebalance_backoff",
]

log = logging.getLogger(__name__)

T = TypeVar("T")


class ConfigSnapshot(Protocol):
    """What the assignors read of a :class:`~kcfast.runtime.config_state.ClusterConfigState`."""

    @property
    def offset(self) -> int:
        """Config topic offset the snapshot reflects."""

    def connectors(self) -> list[str]:
        """Configured connectors."""

    def tasks(self, connector: str) -> list[ConnectorTaskId]:
        """A connector's tasks."""


@dataclass(frozen=True)
class ConnectorsAndTasks:
    """A set of connectors and tasks (ordered, without duplicates)."""

    connectors: tuple[str, ...] = ()
    tasks: tuple[ConnectorTaskId, ...] = ()

    @classmethod
    def of(cls, connectors: Iterable[str] = (), tasks: Iterable[ConnectorTaskId] = ()) -> ConnectorsAndTasks:
        """Build one, dropping duplicates but keeping the first-seen order."""
        return cls(tuple(dict.fromkeys(connectors)), tuple(dict.fromkeys(tasks)))

    def is_empty(self) -> bool:
        """Whether there is neither a connector nor a task."""
        return not self.connectors and not self.tasks


EMPTY = ConnectorsAndTasks()


@dataclass
class WorkerLoad:
    """A worker with the connectors and tasks it runs (or will run); mutable, used while assigning."""

    worker: str
    connectors: list[str] = field(default_factory=list)
    tasks: list[ConnectorTaskId] = field(default_factory=list)

    def assign_connector(self, connector: str) -> None:
        """Add a connector (once)."""
        if connector not in self.connectors:
            self.connectors.append(connector)

    def assign_task(self, task: ConnectorTaskId) -> None:
        """Add a task (once)."""
        if task not in self.tasks:
            self.tasks.append(task)

    def is_empty(self) -> bool:
        """Whether the worker runs nothing."""
        return not self.connectors and not self.tasks


@dataclass(frozen=True)
class ClusterAssignment:
    """The outcome of a round, per worker: what is newly assigned, what is revoked, and all it keeps."""

    newly_assigned_connectors: Mapping[str, list[str]]
    newly_assigned_tasks: Mapping[str, list[ConnectorTaskId]]
    newly_revoked_connectors: Mapping[str, list[str]]
    newly_revoked_tasks: Mapping[str, list[ConnectorTaskId]]
    all_assigned_connectors: Mapping[str, list[str]]
    all_assigned_tasks: Mapping[str, list[ConnectorTaskId]]

    @property
    def all_workers(self) -> set[str]:
        """Every worker mentioned in the assignment."""
        workers: set[str] = set()
        for mapping in (
            self.newly_assigned_connectors,
            self.newly_assigned_tasks,
            self.newly_revoked_connectors,
            self.newly_revoked_tasks,
            self.all_assigned_connectors,
            self.all_assigned_tasks,
        ):
            workers.update(mapping)
        return workers


@dataclass(frozen=True)
class LeaderState:
    """What the leader knows after an assignment: member URLs and who runs what (for forwarding requests)."""

    member_urls: Mapping[str, str]
    connector_owners: Mapping[str, str]
    task_owners: Mapping[ConnectorTaskId, str]

    @classmethod
    def of(
        cls,
        members: Mapping[str, WorkerState],
        connectors: Mapping[str, Sequence[str]],
        tasks: Mapping[str, Sequence[ConnectorTaskId]],
    ) -> LeaderState:
        """Invert per-member assignments into owners."""
        return cls(
            {m: s.url for m, s in members.items()},
            {c: m for m, cs in connectors.items() for c in cs},
            {t: m for m, ts in tasks.items() for t in ts},
        )

    def owner_url(self, item: str | ConnectorTaskId) -> str | None:
        """REST URL of the member running a connector (by name) or a task, if known."""
        owner = (
            self.task_owners.get(item)
            if isinstance(item, ConnectorTaskId)
            else self.connector_owners.get(item)
        )
        return None if owner is None else self.member_urls.get(owner)


@dataclass(frozen=True)
class AssignmentResult:
    """The leader's answer for one round.

    Attributes:
        assignments: member id -> SyncGroup assignment bytes.
        decoded: member id -> the same assignments, unserialized.
        leader_state: owners of connectors and tasks (``None`` when the round failed with CONFIG_MISMATCH).
        snapshot: the config snapshot the assignment was computed from (a fresh one if the leader caught up).
    """

    assignments: dict[str, bytes]
    decoded: dict[str, Assignment]
    leader_state: LeaderState | None
    snapshot: ConfigSnapshot


def _decode_members(member_metadata: Mapping[str, bytes]) -> dict[str, WorkerState]:
    return {member: deserialize_metadata(member_metadata[member]) for member in sorted(member_metadata)}


def _ensure_leader_config(
    max_offset: int, snapshot: ConfigSnapshot, fresh_snapshot: Callable[[], ConfigSnapshot] | None
) -> tuple[int | None, ConfigSnapshot]:
    """The offset to assign at, and the snapshot to use; ``None`` if the leader is behind a member."""
    if snapshot.offset < max_offset:
        updated = fresh_snapshot() if fresh_snapshot is not None else snapshot
        if updated.offset < max_offset:
            log.info(
                "Was selected to perform assignments, but do not have latest config found in sync request. "
                "Returning an empty configuration to trigger re-sync."
            )
            return None, snapshot
        return updated.offset, updated
    return max_offset, snapshot


# -- eager ---------------------------------------------------------------------------------------------------


def eager_assignment(
    members: Iterable[str], snapshot: ConfigSnapshot
) -> tuple[dict[str, list[str]], dict[str, list[ConnectorTaskId]]]:
    """Round-robin over members sorted by id: all connectors (sorted), then each connector's tasks, continuing
    the same circular order.

    Returns:
        ``(connectors by member, tasks by member)``; members that get nothing are absent.
    """
    ordered = sorted(members)
    connectors: dict[str, list[str]] = {}
    tasks: dict[str, list[ConnectorTaskId]] = {}
    if not ordered:
        return connectors, tasks
    position = 0
    names = sorted(snapshot.connectors())
    for connector in names:
        connectors.setdefault(ordered[position % len(ordered)], []).append(connector)
        position += 1
    for connector in names:
        for task in sorted(snapshot.tasks(connector)):
            tasks.setdefault(ordered[position % len(ordered)], []).append(task)
            position += 1
    return connectors, tasks


def perform_eager_assignment(
    leader_id: str,
    member_metadata: Mapping[str, bytes],
    snapshot: ConfigSnapshot,
    fresh_snapshot: Callable[[], ConfigSnapshot] | None = None,
) -> AssignmentResult:
    """The leader's assignment for the ``default`` protocol (v0 bytes).

    Args:
        leader_id: this (the leader's) member id.
        member_metadata: member id -> JoinGroup metadata bytes.
        snapshot: the leader's config snapshot.
        fresh_snapshot: reads a newer snapshot when a member is ahead of ``snapshot``.
    """
    members = _decode_members(member_metadata)
    max_offset = max(state.offset for state in members.values())
    leader_url = members[leader_id].url
    offset, snapshot = _ensure_leader_config(max_offset, snapshot, fresh_snapshot)
    if offset is None:
        decoded = {
            m: Assignment(CONNECT_PROTOCOL_V0, CONFIG_MISMATCH, leader_id, leader_url, max_offset)
            for m in members
        }
        return AssignmentResult(
            {m: serialize_assignment(a, CONNECT_PROTOCOL_V0) for m, a in decoded.items()},
            decoded,
            None,
            snapshot,
        )
    connectors, tasks = eager_assignment(members, snapshot)
    decoded = {
        m: Assignment(
            CONNECT_PROTOCOL_V0,
            NO_ERROR,
            leader_id,
            leader_url,
            offset,
            tuple(connectors.get(m, ())),
            tuple(tasks.get(m, ())),
        )
        for m in members
    }
    return AssignmentResult(
        {m: serialize_assignment(a, CONNECT_PROTOCOL_V0) for m, a in decoded.items()},
        decoded,
        LeaderState.of(members, connectors, tasks),
        snapshot,
    )


# -- incremental cooperative ---------------------------------------------------------------------------------


def revoking_rebalance_backoff(attempts: int, max_delay: int) -> int:
    """Delay before the ``attempts``-th consecutive revoking round: 40^attempts ms, at most ``max_delay``.

    Kafka's ``ExponentialBackoff(1, 40, maxDelay, 0)`` (initial interval 0 when ``max_delay`` is 0).
    """
    initial = min(max_delay, 0 if max_delay == 0 else 1)
    exp_max = math.log(max_delay / max(initial, 1)) / math.log(40) if max_delay > initial else 0.0
    if exp_max == 0:
        return initial
    term = initial * math.pow(40, min(attempts, exp_max))
    return min(int(term), max_delay)


@dataclass(frozen=True)
class AssignorState:
    """What the incremental cooperative assignor remembers between rounds (Kafka's assignor fields).

    Attributes:
        previous_assignment: everything assigned after the previous round (including lost items).
        previous_revocation: what the previous round revoked.
        revoked_in_previous: whether the previous round made load-balancing revocations.
        candidate_workers: workers that came back empty during a delay, in arrival order.
        scheduled_rebalance: time at which the delay ends (0: no delay scheduled).
        delay: milliseconds sent to members so they rejoin when the delay ends (0: none).
        previous_generation_id: the generation of the previous round (-1: none).
        previous_members: the members of the previous round.
        successive_revoking_rebalances: count of consecutive revoking rounds (for the back-off).
    """

    previous_assignment: ConnectorsAndTasks = EMPTY
    previous_revocation: ConnectorsAndTasks = EMPTY
    revoked_in_previous: bool = False
    candidate_workers: tuple[str, ...] = ()
    scheduled_rebalance: int = 0
    delay: int = 0
    previous_generation_id: int = -1
    previous_members: frozenset[str] = frozenset()
    successive_revoking_rebalances: int = 0


def _ordered_union(*groups: Iterable[T]) -> list[T]:
    return list(dict.fromkeys(item for group in groups for item in group))


def _minus(items: Iterable[T], *exclude: Iterable[T]) -> list[T]:
    removed: set[T] = set()
    for group in exclude:
        removed.update(group)
    return [item for item in items if item not in removed]


class IncrementalCooperativeAssignor:
    """The incremental cooperative assignor of a leader, with its state across rounds.

    Not thread-safe: the leader runs one round at a time.

    Args:
        max_delay: ``scheduled.rebalance.max.delay.ms``.
        state: the state to start from (default: nothing remembered).
    """

    def __init__(self, max_delay: int, state: AssignorState | None = None) -> None:
        self.max_delay = max_delay
        state = state or AssignorState()
        self.previous_assignment = state.previous_assignment
        self.previous_revocation = state.previous_revocation
        self.revoked_in_previous = state.revoked_in_previous
        self.candidate_workers: list[str] = list(state.candidate_workers)
        self.scheduled_rebalance = state.scheduled_rebalance
        self.delay = state.delay
        self.previous_generation_id = state.previous_generation_id
        self.previous_members: frozenset[str] = state.previous_members
        self.successive_revoking_rebalances = state.successive_revoking_rebalances

    @property
    def state(self) -> AssignorState:
        """The state to carry to the next round."""
        return AssignorState(
            self.previous_assignment,
            self.previous_revocation,
            self.revoked_in_previous,
            tuple(self.candidate_workers),
            self.scheduled_rebalance,
            self.delay,
            self.previous_generation_id,
            self.previous_members,
            self.successive_revoking_rebalances,
        )

    # -- the leader's entry point ----------------------------------------------------------------------------

    def perform_assignment(
        self,
        leader_id: str,
        protocol: str,
        member_metadata: Mapping[str, bytes],
        snapshot: ConfigSnapshot,
        last_completed_generation_id: int,
        generation_id: int,
        now: int,
        fresh_snapshot: Callable[[], ConfigSnapshot] | None = None,
    ) -> AssignmentResult:
        """The leader's assignment for the ``compatible`` or ``sessioned`` protocol.

        Args:
            leader_id: this (the leader's) member id.
            protocol: the protocol the coordinator chose (``compatible`` or ``sessioned``).
            member_metadata: member id -> JoinGroup metadata bytes.
            snapshot: the leader's config snapshot.
            last_completed_generation_id: the generation of this worker's last completed join (-1: none).
            generation_id: the generation of this round.
            now: the time in milliseconds.
            fresh_snapshot: reads a newer snapshot when a member is ahead of ``snapshot``.
        """
        version = ConnectProtocolCompatibility.from_protocol(protocol).version
        members = _decode_members(member_metadata)
        max_offset = max(state.offset for state in members.values())
        leader_url = members[leader_id].url
        offset, snapshot = _ensure_leader_config(max_offset, snapshot, fresh_snapshot)
        if offset is None:
            decoded = {
                m: Assignment(version, CONFIG_MISMATCH, leader_id, leader_url, max_offset) for m in members
            }
            return AssignmentResult(
                {m: serialize_assignment(a, version) for m, a in decoded.items()}, decoded, None, snapshot
            )
        current = {
            m: ConnectorsAndTasks.of(s.assignment.connectors, s.assignment.tasks) if s.assignment else EMPTY
            for m, s in members.items()
        }
        cluster = self.perform_task_assignment(
            snapshot, last_completed_generation_id, generation_id, current, now
        )
        decoded = {
            m: Assignment(
                version,
                NO_ERROR,
                leader_id,
                leader_url,
                offset,
                tuple(cluster.newly_assigned_connectors.get(m, ())),
                tuple(cluster.newly_assigned_tasks.get(m, ())),
                tuple(cluster.newly_revoked_connectors.get(m, ())),
                tuple(cluster.newly_revoked_tasks.get(m, ())),
                self.delay,
            )
            for m in members
        }
        leader_state = LeaderState.of(members, cluster.all_assigned_connectors, cluster.all_assigned_tasks)
        return AssignmentResult(
            {m: serialize_assignment(a, version) for m, a in decoded.items()}, decoded, leader_state, snapshot
        )

    # -- one round -------------------------------------------------------------------------------------------

    def perform_task_assignment(
        self,
        snapshot: ConfigSnapshot,
        last_completed_generation_id: int,
        generation_id: int,
        member_assignments: Mapping[str, ConnectorsAndTasks],
        now: int,
    ) -> ClusterAssignment:
        """Compute one round from what each member runs now (their allocations)."""
        if self.previous_generation_id != last_completed_generation_id:
            log.debug(
                "Clearing the view of previous assignments due to generation mismatch between previous "
                "generation ID %d and last completed generation ID %d.",
                self.previous_generation_id,
                last_completed_generation_id,
            )
            self.previous_assignment = EMPTY
        members = {m: member_assignments[m] for m in sorted(member_assignments)}

        configured_connectors = sorted(snapshot.connectors())
        configured = ConnectorsAndTasks.of(
            configured_connectors, (t for c in configured_connectors for t in snapshot.tasks(c))
        )
        active = ConnectorsAndTasks.of(
            (c for a in members.values() for c in a.connectors),
            (t for a in members.values() for t in a.tasks),
        )

        # A revocation that did not take effect: start over from what is actually running.
        if not self.previous_revocation.is_empty():
            active_connectors, active_tasks = set(active.connectors), set(active.tasks)
            if any(c in active_connectors for c in self.previous_revocation.connectors) or any(
                t in active_tasks for t in self.previous_revocation.tasks
            ):
                self.previous_assignment = active
            self.previous_revocation = EMPTY

        previous = self.previous_assignment
        deleted = ConnectorsAndTasks(
            tuple(sorted(_minus(previous.connectors, configured.connectors))),
            tuple(sorted(_minus(previous.tasks, configured.tasks))),
        )
        duplicated = self._duplicated(members)
        lost = ConnectorsAndTasks(
            tuple(sorted(_minus(previous.connectors, active.connectors, deleted.connectors))),
            tuple(sorted(_minus(previous.tasks, active.tasks, deleted.tasks))),
        )
        created = ConnectorsAndTasks(
            tuple(sorted(_minus(configured.connectors, previous.connectors, active.connectors))),
            tuple(sorted(_minus(configured.tasks, previous.tasks, active.tasks))),
        )
        log.debug("Deleted: %s, duplicated: %s, lost: %s, created: %s", deleted, duplicated, lost, created)

        current_loads = {
            m: (_minus(a.connectors, deleted.connectors), _minus(a.tasks, deleted.tasks))
            for m, a in members.items()
        }

        deleted_to_revoke = self._intersection(deleted, members)
        duplicated_to_revoke = self._intersection(duplicated, members)
        to_revoke: dict[str, tuple[list[str], list[ConnectorTaskId]]] = {}
        self._add_all(to_revoke, deleted_to_revoke)
        self._add_all(to_revoke, duplicated_to_revoke)

        next_loads = [WorkerLoad(m, list(a.connectors), list(a.tasks)) for m, a in members.items()]
        self._remove_all(next_loads, deleted_to_revoke)
        self._remove_all(next_loads, duplicated_to_revoke)

        lost_to_reassign = self.handle_lost_assignments(lost, next_loads, now)

        if self.delay == 0:
            balancing = self._load_balancing_revocations(configured, next_loads)
            if self.revoked_in_previous and balancing:
                self.successive_revoking_rebalances += 1
                self.delay = revoking_rebalance_backoff(self.successive_revoking_rebalances, self.max_delay)
                if self.delay != 0:
                    self.scheduled_rebalance = now + self.delay
                    log.debug("Skipping revocations in the current round with a delay of %dms", self.delay)
                else:
                    self._add_all(to_revoke, balancing)
                    self._remove_all(next_loads, balancing)
            elif balancing:
                self._add_all(to_revoke, balancing)
                self._remove_all(next_loads, balancing)
                self.revoked_in_previous = True
            elif self.revoked_in_previous:
                self.revoked_in_previous = False
                self.successive_revoking_rebalances = 0
        else:
            log.debug(
                "Delayed rebalance is active. Delaying %dms before revoking connectors and tasks", self.delay
            )
            self.revoked_in_previous = False

        self.assign_connectors(next_loads, _ordered_union(created.connectors, lost_to_reassign.connectors))
        self.assign_tasks(next_loads, _ordered_union(created.tasks, lost_to_reassign.tasks))

        next_connectors = {w.worker: list(w.connectors) for w in next_loads}
        next_tasks = {w.worker: list(w.tasks) for w in next_loads}
        revoked_connectors = {m: list(r[0]) for m, r in to_revoke.items()}
        revoked_tasks = {m: list(r[1]) for m, r in to_revoke.items()}

        self.previous_assignment = self._compute_previous(to_revoke, next_connectors, next_tasks, lost)
        self.previous_generation_id = generation_id
        self.previous_members = frozenset(members)

        return ClusterAssignment(
            {m: _minus(cs, current_loads[m][0]) for m, cs in next_connectors.items()},
            {m: _minus(ts, current_loads[m][1]) for m, ts in next_tasks.items()},
            revoked_connectors,
            revoked_tasks,
            {m: _minus(cs, revoked_connectors.get(m, ())) for m, cs in next_connectors.items()},
            {m: _minus(ts, revoked_tasks.get(m, ())) for m, ts in next_tasks.items()},
        )

    def handle_lost_assignments(
        self, lost: ConnectorsAndTasks, loads: list[WorkerLoad], now: int
    ) -> ConnectorsAndTasks:
        """Decide what happens to items whose worker is gone.

        Lost items are reassigned at once when no worker left (a failed previous round) or when delays are
        disabled; otherwise a delay starts (or continues), and when it has expired they go round-robin to the
        workers that came back empty meanwhile (their loads are updated in place), else to everyone as new.

        Returns:
            The lost items to assign as if they were new in this round.
        """
        if lost.is_empty() and not self.revoked_in_previous:
            self._reset_delay()
            return EMPTY
        active = {w.worker: w for w in loads}
        if self.scheduled_rebalance <= 0 and self.previous_members <= set(active):
            log.debug(
                "No worker seems to have departed the group during the rebalance; reassigning missing "
                "connectors and tasks as new ones"
            )
            return lost
        if self.max_delay == 0:
            log.debug(
                "Scheduled rebalance delays are disabled; reassigning all lost connectors and tasks now"
            )
            return lost
        if self.scheduled_rebalance > 0 and now >= self.scheduled_rebalance:
            log.debug("Delayed rebalance expired. Reassigning lost tasks")
            result = EMPTY
            candidates = [active[w] for w in self.candidate_workers if w in active]
            if candidates:
                for i, connector in enumerate(lost.connectors):
                    candidates[i % len(candidates)].assign_connector(connector)
                for i, task in enumerate(lost.tasks):
                    candidates[i % len(candidates)].assign_task(task)
            else:
                log.debug(
                    "No single candidate worker was found to assign lost tasks. Treating lost tasks as new"
                )
                result = lost
            self._reset_delay()
            self.revoked_in_previous = False
            return result
        for load in loads:
            if load.is_empty() and load.worker not in self.candidate_workers:
                self.candidate_workers.append(load.worker)
        if now < self.scheduled_rebalance:
            self.delay = self._calculate_delay(now)
            log.debug(
                "Delayed rebalance in progress. Task reassignment is postponed. New delay: %d", self.delay
            )
        else:
            self.delay = self.max_delay
            log.debug("Resetting rebalance delay to the max: %d", self.delay)
        self.scheduled_rebalance = now + self.delay
        return EMPTY

    @staticmethod
    def assign_connectors(loads: list[WorkerLoad], connectors: Sequence[str]) -> None:
        """Give ``connectors`` to the least-loaded workers, level by level (sorts ``loads`` in place)."""
        IncrementalCooperativeAssignor._assign(
            loads, connectors, lambda w: len(w.connectors), WorkerLoad.assign_connector
        )

    @staticmethod
    def assign_tasks(loads: list[WorkerLoad], tasks: Sequence[ConnectorTaskId]) -> None:
        """Give ``tasks`` to the least-loaded workers, level by level (sorts ``loads`` in place)."""
        IncrementalCooperativeAssignor._assign(loads, tasks, lambda w: len(w.tasks), WorkerLoad.assign_task)

    @staticmethod
    def _assign(
        loads: list[WorkerLoad],
        items: Sequence[T],
        size: Callable[[WorkerLoad], int],
        assign: Callable[[WorkerLoad, T], None],
    ) -> None:
        if not loads:
            return
        loads.sort(key=lambda w: (size(w), w.worker))
        first = loads[0]
        index = 0
        while index < len(items):
            first_load = size(first)
            up_to = next((i for i, w in enumerate(loads) if size(w) > first_load), len(loads))
            for worker in loads[:up_to]:
                assign(worker, items[index])
                index += 1
                if index >= len(items):
                    break

    # -- helpers ---------------------------------------------------------------------------------------------

    def _reset_delay(self) -> None:
        self.candidate_workers.clear()
        self.scheduled_rebalance = 0
        self.delay = 0

    def _calculate_delay(self, now: int) -> int:
        diff = self.scheduled_rebalance - now
        return min(diff, self.max_delay) if diff > 0 else 0

    @staticmethod
    def _duplicated(members: Mapping[str, ConnectorsAndTasks]) -> ConnectorsAndTasks:
        connector_counts: dict[str, int] = {}
        task_counts: dict[ConnectorTaskId, int] = {}
        for assignment in members.values():
            for c in assignment.connectors:
                connector_counts[c] = connector_counts.get(c, 0) + 1
            for t in assignment.tasks:
                task_counts[t] = task_counts.get(t, 0) + 1
        return ConnectorsAndTasks(
            tuple(c for c, n in connector_counts.items() if n > 1),
            tuple(t for t, n in task_counts.items() if n > 1),
        )

    @staticmethod
    def _intersection(
        items: ConnectorsAndTasks, members: Mapping[str, ConnectorsAndTasks]
    ) -> dict[str, tuple[list[str], list[ConnectorTaskId]]]:
        connectors, tasks = set(items.connectors), set(items.tasks)
        return {
            m: ([c for c in a.connectors if c in connectors], [t for t in a.tasks if t in tasks])
            for m, a in members.items()
        }

    @staticmethod
    def _add_all(
        base: dict[str, tuple[list[str], list[ConnectorTaskId]]],
        extra: Mapping[str, tuple[list[str], list[ConnectorTaskId]]],
    ) -> None:
        for worker, (connectors, tasks) in extra.items():
            current = base.setdefault(worker, ([], []))
            current[0].extend(c for c in connectors if c not in current[0])
            current[1].extend(t for t in tasks if t not in current[1])

    @staticmethod
    def _remove_all(
        loads: list[WorkerLoad], remove: Mapping[str, tuple[list[str], list[ConnectorTaskId]]]
    ) -> None:
        for load in loads:
            connectors, tasks = remove.get(load.worker, ([], []))
            load.connectors[:] = _minus(load.connectors, connectors)
            load.tasks[:] = _minus(load.tasks, tasks)

    def _compute_previous(
        self,
        to_revoke: Mapping[str, tuple[list[str], list[ConnectorTaskId]]],
        connectors: Mapping[str, list[str]],
        tasks: Mapping[str, list[ConnectorTaskId]],
        lost: ConnectorsAndTasks,
    ) -> ConnectorsAndTasks:
        previous_connectors = _ordered_union(*connectors.values())
        previous_tasks = _ordered_union(*tasks.values())
        revoked_connectors = _ordered_union(
            self.previous_revocation.connectors, *(r[0] for r in to_revoke.values())
        )
        revoked_tasks = _ordered_union(self.previous_revocation.tasks, *(r[1] for r in to_revoke.values()))
        self.previous_revocation = ConnectorsAndTasks(tuple(revoked_connectors), tuple(revoked_tasks))
        previous_connectors = _minus(previous_connectors, *(r[0] for r in to_revoke.values()))
        previous_tasks = _minus(previous_tasks, *(r[1] for r in to_revoke.values()))
        return ConnectorsAndTasks.of(
            previous_connectors + list(lost.connectors), previous_tasks + list(lost.tasks)
        )

    def _load_balancing_revocations(
        self, configured: ConnectorsAndTasks, loads: list[WorkerLoad]
    ) -> dict[str, tuple[list[str], list[ConnectorTaskId]]]:
        """What to take away from over-loaded workers so none runs more than its fair share."""
        if all(w.is_empty() for w in loads) or configured.is_empty():
            return {}
        connector_revocations = _balance(len(configured.connectors), loads, lambda w: w.connectors)
        task_revocations = _balance(len(configured.tasks), loads, lambda w: w.tasks)
        result: dict[str, tuple[list[str], list[ConnectorTaskId]]] = {}
        for worker, connectors in connector_revocations.items():
            result.setdefault(worker, ([], []))[0].extend(connectors)
        for worker, tasks in task_revocations.items():
            result.setdefault(worker, ([], []))[1].extend(tasks)
        return result


def _balance(
    total: int, loads: list[WorkerLoad], allocation: Callable[[WorkerLoad], list[T]]
) -> dict[str, list[T]]:
    """Per worker, the first items beyond its target: ``total // n``, plus one for ``total % n`` workers."""
    workers = len(loads)
    minimum = total // workers
    extras = total % workers
    at_minimum = sum(1 for w in loads if len(allocation(w)) == minimum)
    at_extra = sum(1 for w in loads if len(allocation(w)) == minimum + 1)
    if at_extra == extras and at_minimum + at_extra == workers:
        return {}
    result: dict[str, list[T]] = {}
    allocated_extras = 0
    for load in loads:
        items = allocation(load)
        if len(items) <= minimum:
            continue
        if allocated_extras < extras:
            allocated_extras += 1
            if len(items) == minimum + 1:
                continue
            maximum = minimum + 1
        else:
            maximum = minimum
        result[load.worker] = list(items[: len(items) - maximum])
    return result


def incremental_cooperative_assignment(
    state: AssignorState,
    snapshot: ConfigSnapshot,
    member_assignments: Mapping[str, ConnectorsAndTasks],
    last_completed_generation_id: int,
    generation_id: int,
    now: int,
    max_delay: int,
) -> tuple[ClusterAssignment, AssignorState]:
    """One round of incremental cooperative assignment as a pure function.

    Args:
        state: what the previous rounds left (``AssignorState()`` for a new leader).
        snapshot: the config snapshot.
        member_assignments: member id -> what it runs now (its allocation).
        last_completed_generation_id: the generation of the leader's last completed join.
        generation_id: this round's generation.
        now: the time in milliseconds.
        max_delay: ``scheduled.rebalance.max.delay.ms``.

    Returns:
        The assignment and the state for the next round.
    """
    assignor = IncrementalCooperativeAssignor(max_delay, state)
    result = assignor.perform_task_assignment(
        snapshot, last_completed_generation_id, generation_id, member_assignments, now
    )
    return result, assignor.state
