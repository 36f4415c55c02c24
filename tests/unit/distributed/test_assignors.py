"""The eager and incremental cooperative assignors, round by round (the cases of Kafka's assignor tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kcfast.runtime.config_state import ClusterConfigState
from kcfast.runtime.distributed.assignor import (
    AssignorState,
    ClusterAssignment,
    ConnectorsAndTasks,
    IncrementalCooperativeAssignor,
    WorkerLoad,
    eager_assignment,
    incremental_cooperative_assignment,
    perform_eager_assignment,
    revoking_rebalance_backoff,
)
from kcfast.runtime.distributed.protocol import (
    CONFIG_MISMATCH,
    Assignment,
    WorkerState,
    deserialize_assignment,
    serialize_eager_metadata,
    serialize_incremental_metadata,
)
from kcfast.runtime.status import ConnectorTaskId as T

DEFAULT_DELAY = 300000
CONFIG_OFFSET = 618


def config_state(connectors: dict[str, int], offset: int = CONFIG_OFFSET) -> ClusterConfigState:
    return ClusterConfigState(
        connector_configs={c: {} for c in connectors},
        task_counts=dict(connectors),
        task_configs={T(c, i): {} for c, n in connectors.items() for i in range(n)},
        offset=offset,
    )


class Cluster:
    """A simulated group: members apply what the assignor hands out, round after round."""

    def __init__(self, max_delay: int = DEFAULT_DELAY) -> None:
        self.connectors: dict[str, int] = {"connector1": 4, "connector2": 4}
        self.members: dict[str, ConnectorsAndTasks] = {"worker1": ConnectorsAndTasks()}
        self.generation = 1000
        self.now = 1_000_000
        self.max_delay = max_delay
        self.reset_assignor()
        self.result: ClusterAssignment | None = None

    def reset_assignor(self) -> None:
        """A new leader: nothing remembered (its last completed generation is the current one)."""
        self.assignor = IncrementalCooperativeAssignor(
            self.max_delay, AssignorState(previous_generation_id=self.generation)
        )

    @property
    def delay(self) -> int:
        return self.assignor.delay

    def add_workers(self, *workers: str) -> None:
        for worker in workers:
            assert worker not in self.members
            self.members[worker] = ConnectorsAndTasks()

    def add_worker(self, worker: str, connectors: list[str], tasks: list[T]) -> None:
        self.members[worker] = ConnectorsAndTasks.of(connectors, tasks)

    def remove_workers(self, *workers: str) -> None:
        for worker in workers:
            del self.members[worker]

    def rebalance(self, failed: bool = False, generation_mismatch: bool = False) -> ClusterAssignment:
        self.generation += 1
        last_completed = self.generation - 2 if generation_mismatch else self.generation - 1
        result = self.assignor.perform_task_assignment(
            config_state(self.connectors), last_completed, self.generation, dict(self.members), self.now
        )
        self.result = result
        self._assert_no_redundant_assignments(result)
        if not failed:
            self._apply(result)
        return result

    def _apply(self, result: ClusterAssignment) -> None:
        for worker in result.all_workers:
            current = self.members.get(worker, ConnectorsAndTasks())
            connectors = [
                c for c in current.connectors if c not in result.newly_revoked_connectors.get(worker, [])
            ]
            connectors += result.newly_assigned_connectors.get(worker, [])
            tasks = [t for t in current.tasks if t not in result.newly_revoked_tasks.get(worker, [])]
            tasks += result.newly_assigned_tasks.get(worker, [])
            assert set(connectors) == set(result.all_assigned_connectors[worker])
            assert set(tasks) == set(result.all_assigned_tasks[worker])
            self.members[worker] = ConnectorsAndTasks.of(connectors, tasks)

    def _assert_no_redundant_assignments(self, result: ClusterAssignment) -> None:
        new_connectors = [c for cs in result.newly_assigned_connectors.values() for c in cs]
        new_tasks = [t for ts in result.newly_assigned_tasks.values() for t in ts]
        assert len(new_connectors) == len(set(new_connectors))
        assert len(new_tasks) == len(set(new_tasks))
        existing_connectors = {c for a in self.members.values() for c in a.connectors}
        existing_tasks = {t for a in self.members.values() for t in a.tasks}
        assert not existing_connectors & set(new_connectors)
        assert not existing_tasks & set(new_tasks)

    # -- assertions ------------------------------------------------------------------------------------------

    def connector_counts(self) -> list[int]:
        return sorted(len(a.connectors) for a in self.members.values())

    def task_counts(self) -> list[int]:
        return sorted(len(a.tasks) for a in self.members.values())

    def assert_allocations(self, connectors: list[int], tasks: list[int]) -> None:
        assert self.connector_counts() == sorted(connectors)
        assert self.task_counts() == sorted(tasks)

    def assert_workers(self, *workers: str) -> None:
        assert self.result is not None
        assert self.result.all_workers == set(workers)

    def assert_no_revocations(self) -> None:
        assert self.result is not None
        assert all(not v for v in self.result.newly_revoked_connectors.values())
        assert all(not v for v in self.result.newly_revoked_tasks.values())

    def assert_empty_assignment(self) -> None:
        self.assert_no_revocations()
        assert self.result is not None
        assert all(not v for v in self.result.newly_assigned_connectors.values())
        assert all(not v for v in self.result.newly_assigned_tasks.values())

    def assert_balanced_and_complete(self) -> None:
        connectors, tasks = self.connector_counts(), self.task_counts()
        assert connectors[-1] - connectors[0] <= 1, connectors
        assert tasks[-1] - tasks[0] <= 1, tasks
        assert sorted(c for a in self.members.values() for c in a.connectors) == sorted(self.connectors)
        expected_tasks = {T(c, i) for c, n in self.connectors.items() for i in range(n)}
        assigned = [t for a in self.members.values() for t in a.tasks]
        assert len(assigned) == len(expected_tasks) and set(assigned) == expected_tasks


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    yield Cluster()


# -- workers joining -----------------------------------------------------------------------------------------


def test_worker_joins(cluster: Cluster) -> None:
    cluster.rebalance()
    assert cluster.delay == 0
    cluster.assert_workers("worker1")
    cluster.assert_allocations([2], [8])
    cluster.assert_balanced_and_complete()

    cluster.add_workers("worker2")
    cluster.rebalance()  # revokes half of worker1's work first
    assert cluster.delay == 0
    cluster.assert_workers("worker1", "worker2")
    cluster.assert_allocations([0, 1], [0, 4])

    cluster.rebalance()  # then hands it to worker2
    cluster.assert_no_revocations()
    assert cluster.delay == 0
    cluster.assert_allocations([1, 1], [4, 4])
    cluster.assert_balanced_and_complete()

    cluster.rebalance()
    assert cluster.delay == 0
    cluster.assert_empty_assignment()


def test_workers_joining_after_revocations_are_throttled(cluster: Cluster) -> None:
    cluster.connectors["connector3"] = 4
    cluster.rebalance()
    cluster.assert_allocations([3], [12])

    cluster.add_workers("worker2")
    cluster.rebalance()
    cluster.assert_allocations([0, 2], [0, 6])

    # a revoking round right after one: no revocation, a 40 ms delay instead
    cluster.add_workers("worker3")
    cluster.rebalance()
    assert cluster.delay == 40
    cluster.assert_workers("worker1", "worker2", "worker3")
    cluster.assert_allocations([0, 1, 2], [3, 3, 6])

    cluster.now += cluster.delay
    cluster.add_workers("worker4")
    cluster.rebalance()
    cluster.assert_allocations([0, 0, 1, 1], [0, 3, 3, 3])

    cluster.add_workers("worker5")
    cluster.rebalance()
    assert cluster.delay == 1600  # the second consecutive revoking round backs off further
    cluster.assert_allocations([0, 0, 1, 1, 1], [1, 2, 3, 3, 3])

    cluster.now += cluster.delay
    cluster.add_workers("worker6")
    cluster.rebalance()
    assert cluster.delay == 0
    cluster.assert_allocations([0, 0, 0, 1, 1, 1], [0, 1, 2, 2, 2, 2])

    cluster.rebalance()
    cluster.assert_allocations([0, 0, 0, 1, 1, 1], [2, 2, 2, 2, 2, 2])
    cluster.assert_balanced_and_complete()


def test_revocations_are_immediate_when_max_delay_is_zero() -> None:
    cluster = Cluster(max_delay=0)
    cluster.connectors["connector3"] = 4
    cluster.rebalance()
    cluster.add_workers("worker2")
    cluster.rebalance()
    cluster.assert_allocations([0, 2], [0, 6])
    cluster.add_workers("worker3")
    cluster.rebalance()
    assert cluster.delay == 0
    cluster.assert_allocations([0, 1, 1], [3, 3, 4])
    cluster.rebalance()
    cluster.assert_no_revocations()
    cluster.assert_allocations([1, 1, 1], [4, 4, 4])
    cluster.assert_balanced_and_complete()


def test_successive_revocations_with_max_delay_equal_to_initial_backoff() -> None:
    cluster = Cluster(max_delay=1)
    cluster.connectors["connector3"] = 4
    cluster.rebalance()
    cluster.add_workers("worker2")
    cluster.rebalance()
    cluster.assert_allocations([0, 2], [0, 6])
    cluster.add_workers("worker3")
    cluster.rebalance()
    assert cluster.delay == 1
    cluster.assert_allocations([0, 1, 2], [3, 3, 6])


def test_worker_joining_during_delayed_rebalance(cluster: Cluster) -> None:
    cluster.connectors["connector3"] = 4
    cluster.rebalance()
    cluster.add_workers("worker2")
    cluster.rebalance()
    cluster.assert_allocations([0, 2], [0, 6])

    cluster.add_workers("worker3")
    cluster.rebalance()
    assert cluster.delay > 0
    cluster.assert_no_revocations()
    cluster.assert_allocations([0, 1, 2], [3, 3, 6])

    cluster.now += cluster.delay // 2
    cluster.add_workers("worker4")
    cluster.rebalance()
    assert cluster.delay > 0
    cluster.assert_no_revocations()
    cluster.assert_allocations([0, 0, 1, 2], [0, 3, 3, 6])

    cluster.now += cluster.delay
    cluster.add_workers("worker5")
    cluster.rebalance()
    assert cluster.delay == 0
    cluster.assert_allocations([0, 0, 0, 1, 1], [0, 0, 2, 3, 3])

    cluster.rebalance()
    assert cluster.delay == 0
    cluster.assert_no_revocations()
    cluster.assert_allocations([0, 0, 1, 1, 1], [2, 2, 2, 3, 3])
    cluster.assert_balanced_and_complete()


# -- workers leaving -----------------------------------------------------------------------------------------


def test_worker_leaves_for_good(cluster: Cluster) -> None:
    cluster.add_workers("worker2")
    cluster.rebalance()
    cluster.assert_allocations([1, 1], [4, 4])

    cluster.remove_workers("worker2")
    cluster.rebalance()  # nothing moves yet: the delay starts
    assert cluster.delay == DEFAULT_DELAY
    cluster.assert_workers("worker1")
    cluster.assert_empty_assignment()

    cluster.now += DEFAULT_DELAY // 2
    cluster.rebalance()
    assert cluster.delay == DEFAULT_DELAY // 2
    cluster.assert_empty_assignment()

    cluster.now += DEFAULT_DELAY // 2 + 1
    cluster.rebalance()
    assert cluster.delay == 0
    cluster.assert_allocations([2], [8])
    cluster.assert_balanced_and_complete()


def test_worker_leaves_and_comes_back_within_the_delay(cluster: Cluster) -> None:
    cluster.add_workers("worker2")
    cluster.rebalance()
    cluster.assert_allocations([1, 1], [4, 4])
    worker1_before = cluster.members["worker1"]

    cluster.remove_workers("worker2")
    cluster.rebalance()
    assert cluster.delay == DEFAULT_DELAY
    cluster.assert_empty_assignment()

    cluster.now += DEFAULT_DELAY // 2
    cluster.rebalance()
    assert cluster.delay == DEFAULT_DELAY // 2

    cluster.now += DEFAULT_DELAY // 4
    cluster.add_workers("worker2")
    cluster.rebalance()  # still within the delay: the lost work waits for it to expire
    assert cluster.delay == DEFAULT_DELAY // 4
    cluster.assert_workers("worker1", "worker2")
    cluster.assert_empty_assignment()

    cluster.now += DEFAULT_DELAY // 4
    cluster.rebalance()  # expired: the returning worker gets its work back, nothing else moves
    assert cluster.delay == 0
    cluster.assert_no_revocations()
    cluster.assert_allocations([1, 1], [4, 4])
    cluster.assert_balanced_and_complete()
    assert cluster.members["worker1"] == worker1_before


def test_scheduled_delay_disabled_reassigns_lost_work_at_once() -> None:
    cluster = Cluster(max_delay=0)
    cluster.add_workers("worker2")
    cluster.rebalance()
    cluster.remove_workers("worker2")
    cluster.rebalance()
    assert cluster.delay == 0
    cluster.assert_workers("worker1")
    cluster.assert_allocations([2], [8])
    cluster.assert_balanced_and_complete()


def test_leader_leaves_for_good(cluster: Cluster) -> None:
    cluster.add_workers("worker2", "worker3")
    cluster.rebalance()
    cluster.assert_allocations([0, 1, 1], [2, 3, 3])
    cluster.assert_balanced_and_complete()

    cluster.remove_workers("worker1")
    cluster.reset_assignor()  # the new leader remembers nothing, so worker1's work is simply unassigned
    cluster.rebalance()
    assert cluster.delay == 0
    cluster.assert_workers("worker2", "worker3")
    cluster.assert_allocations([1, 1], [4, 4])
    cluster.assert_balanced_and_complete()

    cluster.rebalance()
    cluster.assert_empty_assignment()


def test_leader_bounces_and_returns_as_a_new_worker(cluster: Cluster) -> None:
    cluster.add_workers("worker2", "worker3")
    cluster.rebalance()
    cluster.remove_workers("worker1")
    cluster.reset_assignor()
    cluster.rebalance()
    cluster.assert_allocations([1, 1], [4, 4])

    cluster.add_workers("worker1")
    cluster.rebalance()
    assert cluster.delay == 0
    cluster.assert_allocations([0, 1, 1], [0, 3, 3])
    cluster.rebalance()
    cluster.assert_no_revocations()
    cluster.assert_allocations([0, 1, 1], [2, 3, 3])
    cluster.assert_balanced_and_complete()


# -- failed rounds, deletions, duplicates --------------------------------------------------------------------


def test_first_assignment_attempt_fails(cluster: Cluster) -> None:
    cluster.add_workers("worker2")
    cluster.rebalance(failed=True)
    cluster.assert_allocations([0, 0], [0, 0])
    # the same members come back with nothing: the lost work is treated as new, without a delay
    cluster.rebalance()
    assert cluster.delay == 0
    cluster.assert_allocations([1, 1], [4, 4])
    cluster.assert_balanced_and_complete()


@pytest.mark.parametrize("mismatch", [False, True])
def test_subsequent_assignment_attempt_fails(cluster: Cluster, mismatch: bool) -> None:
    cluster.add_workers("worker2")
    cluster.rebalance()
    cluster.add_workers("worker3")
    cluster.rebalance(failed=True)
    cluster.assert_allocations([0, 1, 1], [0, 4, 4])

    cluster.rebalance(generation_mismatch=mismatch)
    assert cluster.delay > 0
    cluster.assert_allocations([0, 1, 1], [0, 4, 4])

    cluster.now += cluster.delay
    cluster.rebalance()
    cluster.assert_allocations([0, 1, 1], [0, 3, 3])
    cluster.rebalance()
    cluster.assert_allocations([0, 1, 1], [2, 3, 3])
    cluster.assert_balanced_and_complete()


def test_deleted_connectors_are_revoked(cluster: Cluster) -> None:
    cluster.connectors["connector3"] = 4
    cluster.add_workers("worker2")
    cluster.rebalance()
    cluster.assert_allocations([1, 2], [6, 6])
    del cluster.connectors["connector3"]
    result = cluster.rebalance()
    assert cluster.delay == 0
    revoked = [c for cs in result.newly_revoked_connectors.values() for c in cs]
    assert revoked == ["connector3"]
    cluster.assert_allocations([1, 1], [4, 4])
    cluster.assert_balanced_and_complete()


def test_duplicated_work_is_revoked_then_reassigned(cluster: Cluster) -> None:
    cluster.rebalance()
    cluster.add_worker("worker2", ["connector1"], [T("connector1", i) for i in range(4)])
    cluster.rebalance()
    assert cluster.delay == 0
    cluster.assert_allocations([0, 1], [0, 4])
    cluster.rebalance()
    cluster.assert_no_revocations()
    cluster.assert_allocations([1, 1], [4, 4])
    cluster.assert_balanced_and_complete()
    cluster.rebalance()
    cluster.assert_empty_assignment()


def test_duplicated_work_of_a_deleted_connector(cluster: Cluster) -> None:
    cluster.rebalance()
    del cluster.connectors["connector1"]
    cluster.add_worker("worker2", ["connector1"], [T("connector1", i) for i in range(4)])
    cluster.rebalance()
    cluster.assert_allocations([0, 1], [0, 2])
    cluster.rebalance()
    cluster.assert_no_revocations()
    cluster.assert_allocations([0, 1], [2, 2])
    cluster.assert_balanced_and_complete()


# -- the assignment helpers ----------------------------------------------------------------------------------


def load(worker: str, c_start: int, c_num: int, t_start: int, t_num: int) -> WorkerLoad:
    return WorkerLoad(
        worker,
        [f"connector{i}" for i in range(c_start, c_start + c_num)],
        [T("task", i) for i in range(t_start, t_start + t_num)],
    )


def test_assign_connectors_and_tasks_when_balanced() -> None:
    loads = [load(f"worker{i}", 2 * i, 2, 2 * i, 2) for i in range(3)]
    IncrementalCooperativeAssignor.assign_connectors(loads, [f"connector{i}" for i in range(6, 11)])
    IncrementalCooperativeAssignor.assign_tasks(loads, [T("task", i) for i in range(6, 11)])
    assert loads[0].connectors[2:] == ["connector6", "connector9"]
    assert loads[1].connectors[2:] == ["connector7", "connector10"]
    assert loads[2].connectors[2:] == ["connector8"]
    assert loads[0].tasks[2:] == [T("task", 6), T("task", 9)]
    assert loads[2].tasks[2:] == [T("task", 8)]


def test_assign_when_imbalanced_fills_the_least_loaded_first() -> None:
    loads = [
        load("worker0", 0, 2, 0, 2),
        load("worker1", 2, 3, 2, 3),
        load("worker2", 5, 4, 5, 4),
        WorkerLoad("worker3"),
    ]
    IncrementalCooperativeAssignor.assign_connectors(loads, [f"connector{i}" for i in range(9, 24)])
    IncrementalCooperativeAssignor.assign_tasks(loads, [T("task", i) for i in range(9, 24)])
    assert [len(w.connectors) for w in loads] == [6, 6, 6, 6]
    assert [len(w.tasks) for w in loads] == [6, 6, 6, 6]


# -- lost-assignment handling in isolation -------------------------------------------------------------------


def three_loads() -> dict[str, WorkerLoad]:
    return {
        "worker0": load("worker0", 0, 2, 0, 4),
        "worker1": load("worker1", 2, 2, 4, 4),
        "worker2": load("worker2", 4, 2, 8, 4),
    }


def test_lost_assignment_handling_when_worker_bounces() -> None:
    now = 0
    assignor = IncrementalCooperativeAssignor(DEFAULT_DELAY)
    loads = three_loads()
    assert assignor.handle_lost_assignments(ConnectorsAndTasks(), list(loads.values()), now).is_empty()
    assert (assignor.candidate_workers, assignor.scheduled_rebalance, assignor.delay) == ([], 0, 0)

    assignor.previous_members = frozenset(loads)
    lost_load = loads.pop("worker1")
    lost = ConnectorsAndTasks.of(lost_load.connectors, lost_load.tasks)
    assert assignor.handle_lost_assignments(lost, list(loads.values()), now).is_empty()
    assert (assignor.candidate_workers, assignor.scheduled_rebalance, assignor.delay) == (
        [],
        DEFAULT_DELAY,
        DEFAULT_DELAY,
    )

    assignor.previous_members = frozenset(loads)
    now += DEFAULT_DELAY // 2
    loads["worker1"] = WorkerLoad("worker1")  # back, empty
    assert assignor.handle_lost_assignments(lost, list(loads.values()), now).is_empty()
    assert assignor.candidate_workers == ["worker1"]
    assert (assignor.scheduled_rebalance, assignor.delay) == (now + DEFAULT_DELAY // 2, DEFAULT_DELAY // 2)

    assignor.previous_members = frozenset(loads)
    now += DEFAULT_DELAY // 2
    assert assignor.handle_lost_assignments(lost, list(loads.values()), now).is_empty()
    assert set(lost.connectors) <= set(loads["worker1"].connectors)
    assert set(lost.tasks) <= set(loads["worker1"].tasks)
    assert (assignor.candidate_workers, assignor.scheduled_rebalance, assignor.delay) == ([], 0, 0)


def test_lost_assignment_handling_with_more_than_one_candidate() -> None:
    now = 0
    assignor = IncrementalCooperativeAssignor(DEFAULT_DELAY)
    loads = three_loads()
    assignor.previous_members = frozenset(loads)
    lost_load = loads.pop("worker1")
    lost = ConnectorsAndTasks.of(lost_load.connectors, lost_load.tasks)
    loads["worker3"] = WorkerLoad("worker3")
    assignor.handle_lost_assignments(lost, list(loads.values()), now)
    assert assignor.candidate_workers == ["worker3"]

    assignor.previous_members = frozenset(loads)
    now += DEFAULT_DELAY // 2
    loads["worker1"] = WorkerLoad("worker1")
    assignor.handle_lost_assignments(lost, list(loads.values()), now)
    assert set(assignor.candidate_workers) == {"worker1", "worker3"}

    assignor.previous_members = frozenset(loads)
    now += DEFAULT_DELAY // 2
    loads["worker1"] = load("worker1", 6, 2, 8, 4)
    loads["worker3"] = load("worker3", 8, 2, 12, 4)
    assignor.handle_lost_assignments(lost, list(loads.values()), now)
    got_connectors = loads["worker1"].connectors + loads["worker3"].connectors
    got_tasks = loads["worker1"].tasks + loads["worker3"].tasks
    assert set(lost.connectors) <= set(got_connectors) and set(lost.tasks) <= set(got_tasks)
    assert (assignor.candidate_workers, assignor.scheduled_rebalance, assignor.delay) == ([], 0, 0)


@pytest.mark.parametrize("comes_back_briefly", [False, True])
def test_lost_assignment_handling_when_worker_leaves_for_good(comes_back_briefly: bool) -> None:
    now = 0
    assignor = IncrementalCooperativeAssignor(DEFAULT_DELAY)
    loads = three_loads()
    assignor.previous_members = frozenset(loads)
    lost_load = loads.pop("worker1")
    lost = ConnectorsAndTasks.of(lost_load.connectors, lost_load.tasks)
    assignor.handle_lost_assignments(lost, list(loads.values()), now)
    assert assignor.delay == DEFAULT_DELAY

    now += DEFAULT_DELAY // 2
    if comes_back_briefly:
        loads["worker1"] = WorkerLoad("worker1")
    assignor.handle_lost_assignments(lost, list(loads.values()), now)
    assert assignor.delay == DEFAULT_DELAY // 2
    assert assignor.candidate_workers == (["worker1"] if comes_back_briefly else [])

    now += DEFAULT_DELAY // 2
    loads.pop("worker1", None)
    to_reassign = assignor.handle_lost_assignments(lost, list(loads.values()), now)
    assert to_reassign == lost
    assert (assignor.candidate_workers, assignor.scheduled_rebalance, assignor.delay) == ([], 0, 0)


def test_lost_assignment_handling_when_delay_is_disabled() -> None:
    assignor = IncrementalCooperativeAssignor(0)
    loads = three_loads()
    assignor.previous_members = frozenset(loads)
    lost_load = loads.pop("worker1")
    lost = ConnectorsAndTasks.of(lost_load.connectors, lost_load.tasks)
    assert assignor.handle_lost_assignments(lost, list(loads.values()), 0) == lost
    assert (assignor.candidate_workers, assignor.scheduled_rebalance, assignor.delay) == ([], 0, 0)


def test_revoking_rebalance_backoff() -> None:
    assert [revoking_rebalance_backoff(k, 300000) for k in (1, 2, 3)] == [40, 1600, 64000]
    assert revoking_rebalance_backoff(4, 300000) in (299999, 300000)
    assert revoking_rebalance_backoff(1, 0) == 0
    assert revoking_rebalance_backoff(5, 1) == 1


# -- the pure form, and balance at scale ---------------------------------------------------------------------


def test_pure_function_threads_state_between_rounds() -> None:
    snapshot = config_state({"a": 3, "b": 3})
    state = AssignorState()
    members = {"w1": ConnectorsAndTasks(), "w2": ConnectorsAndTasks()}
    first, state = incremental_cooperative_assignment(state, snapshot, members, -1, 1, 0, DEFAULT_DELAY)
    assert state.previous_generation_id == 1 and state.previous_members == frozenset({"w1", "w2"})
    members = {
        m: ConnectorsAndTasks.of(first.all_assigned_connectors[m], first.all_assigned_tasks[m])
        for m in members
    }
    again, state2 = incremental_cooperative_assignment(state, snapshot, members, 1, 2, 10, DEFAULT_DELAY)
    assert all(not v for v in again.newly_assigned_tasks.values())
    assert state2.previous_assignment == state.previous_assignment


@pytest.mark.parametrize("workers,connectors,tasks", [(3, 3, 10), (4, 7, 5), (5, 1, 31)])
def test_counts_differ_by_at_most_one_after_joins(workers: int, connectors: int, tasks: int) -> None:
    cluster = Cluster(max_delay=0)
    cluster.connectors = {f"c{i}": tasks for i in range(connectors)}
    cluster.rebalance()
    for i in range(2, workers + 1):
        cluster.add_workers(f"worker{i}")
        cluster.rebalance()
        cluster.rebalance()
    cluster.assert_balanced_and_complete()


# -- eager ---------------------------------------------------------------------------------------------------


def test_eager_round_robin_connectors_then_tasks() -> None:
    snapshot = config_state({"b": 2, "a": 1})
    connectors, tasks = eager_assignment(["m2", "m1", "m3"], snapshot)
    assert connectors == {"m1": ["a"], "m2": ["b"]}
    # the circular iterator continues after the connectors: m3 gets the first task
    assert tasks == {"m3": [T("a", 0)], "m1": [T("b", 0)], "m2": [T("b", 1)]}


def test_eager_assignment_bytes_and_leader_state() -> None:
    snapshot = config_state({"a": 2}, offset=10)
    metadata = {
        "m1": serialize_eager_metadata(WorkerState("http://one:8083/", 10)),
        "m2": serialize_eager_metadata(WorkerState("http://two:8083/", 9)),
    }
    result = perform_eager_assignment("m1", metadata, snapshot)
    assert {m: deserialize_assignment(b) for m, b in result.assignments.items()} == result.decoded
    assert result.decoded["m1"] == Assignment(0, 0, "m1", "http://one:8083/", 10, ("a",), (T("a", 1),))
    assert result.decoded["m2"].tasks == (T("a", 0),)
    assert result.leader_state is not None
    assert result.leader_state.owner_url("a") == "http://one:8083/"
    assert result.leader_state.owner_url(T("a", 0)) == "http://two:8083/"


def test_leader_behind_a_member_answers_config_mismatch() -> None:
    stale = config_state({"a": 1}, offset=5)
    metadata = {
        "m1": serialize_eager_metadata(WorkerState("http://one/", 5)),
        "m2": serialize_eager_metadata(WorkerState("http://two/", 8)),
    }
    result = perform_eager_assignment("m1", metadata, stale, fresh_snapshot=lambda: stale)
    assert all(
        a.error == CONFIG_MISMATCH and a.offset == 8 and not a.connectors for a in result.decoded.values()
    )
    fresh = config_state({"a": 1}, offset=9)
    result = perform_eager_assignment("m1", metadata, stale, fresh_snapshot=lambda: fresh)
    assert all(a.error == 0 and a.offset == 9 for a in result.decoded.values())
    assert result.snapshot is fresh


@pytest.mark.parametrize("protocol,version", [("compatible", 1), ("sessioned", 2)])
def test_incremental_perform_assignment_speaks_the_chosen_version(protocol: str, version: int) -> None:
    snapshot = config_state({"a": 2}, offset=3)
    previous = Assignment(version, 0, "m1", "http://one/", 3, ("a",), (T("a", 0), T("a", 1)))
    metadata = {
        "m1": serialize_incremental_metadata(WorkerState("http://one/", 3, previous), version == 2),
        "m2": serialize_incremental_metadata(WorkerState("http://two/", 3), version == 2),
    }
    assignor = IncrementalCooperativeAssignor(DEFAULT_DELAY, AssignorState(previous_generation_id=4))
    result = assignor.perform_assignment("m1", protocol, metadata, snapshot, 4, 5, 0)
    decoded = {m: deserialize_assignment(b) for m, b in result.assignments.items()}
    assert decoded == result.decoded
    assert {a.version for a in decoded.values()} == {version}
    # m1 ran everything; joining m2 makes m1 give up a task (balance 1/1 tasks, 1/0 connectors)
    assert decoded["m1"].revoked_tasks == (T("a", 0),)
    assert decoded["m2"].tasks == ()
    assert result.leader_state is not None and result.leader_state.owner_url("a") == "http://one/"
