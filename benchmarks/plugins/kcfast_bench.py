"""Connectors of the loop benchmarks, deployed like any user's connector (a module on ``plugin.path``).

``TimedSinkConnector`` drops what it receives, like a sink that hands batches to a fast store, and records
when its tasks put the first and the last records (``bench.records`` in all); then each task asks for a
commit (``SinkTaskContext.request_commit``) at its next ``put``. With one task that is the ``put`` of the last
batch, so the commit follows at once.

``TimedSourceConnector`` is the built-in synthetic source with timing: it records the first ``poll``, signals
when a task has handed all its records to the worker (the first ``poll`` after its last batch), and records
``commit`` calls made after the task's last offset reached the offset store.

The timings live in :data:`RUNS` (one :class:`Run` per connector name); the benchmark harness runs the worker
in the same process and reads them. Times are ``time.monotonic()`` (one clock for all processes of the
machine); CPU times are ``time.process_time()`` (all threads of the worker process).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Mapping
from typing import Any

from kcfast.api import ConfigDef, Importance, SinkConnector, SinkTask, Task, Type
from kcfast.connectors.synthetic import SEQUENCE_FIELD, SyntheticSourceConnector, SyntheticSourceTask

RECORDS_CONFIG = "bench.records"
SINK_CONFIG_DEF = ConfigDef().define(RECORDS_CONFIG, Type.LONG, importance=Importance.HIGH,
                                     documentation="Records the tasks put in all before they ask for a commit")


class Run:
    """Timings of one benchmark connector, shared by its tasks (thread-safe: updated under a lock)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first_at: float | None = None
        self.first_cpu = 0.0
        self.last_cpu = 0.0
        self.first_batch = 0
        self.records = 0
        self.last_at: float | None = None
        self.all_put = threading.Event()
        self.tasks_done: set[int] = set()
        self.tasks_committed: dict[int, float] = {}
        self.expected_tasks = 1
        self.expected_records = 0
        self.generated = threading.Event()
        self.committed = threading.Event()

    def first(self, n: int) -> None:
        with self.lock:
            if self.first_at is None:
                self.first_at = time.monotonic()
                self.first_cpu = time.process_time()
                self.first_batch = n


RUNS: dict[str, Run] = {}
_RUNS_LOCK = threading.Lock()


def run_of(name: str) -> Run:
    """The :class:`Run` of connector ``name``, created on first use."""
    with _RUNS_LOCK:
        run = RUNS.get(name)
        if run is None:
            run = RUNS[name] = Run()
        return run


# ------------------------------------------------------------------------------------------------------ sink


class TimedSinkConnector(SinkConnector):
    """A sink that drops records and times them (see the module docstring)."""

    def __init__(self) -> None:
        self._props: dict[str, str] = {}

    def version(self) -> str:
        return "1.0"

    def start(self, props: Mapping[str, str]) -> None:
        self._props = dict(props)

    def task_class(self) -> type[Task]:
        return TimedSinkTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [dict(self._props) for _ in range(max_tasks)]

    def stop(self) -> None:
        pass

    def config(self) -> ConfigDef:
        return SINK_CONFIG_DEF


class TimedSinkTask(SinkTask):
    """Counts the records of each batch (no per-record work); asks for a commit once the connector's tasks
    together have put ``bench.records`` records."""

    def __init__(self) -> None:
        self._run: Run | None = None
        self._requested = False

    def version(self) -> str:
        return "1.0"

    def start(self, props: Mapping[str, str]) -> None:
        self._run = run_of(props.get("name", ""))
        self._run.expected_records = int(props[RECORDS_CONFIG])

    def put(self, records: Collection[Any]) -> None:
        n = len(records)
        run = self._run
        assert run is not None
        if n:
            run.first(n)
            with run.lock:
                run.records += n
                if run.records >= run.expected_records and run.last_at is None:
                    run.last_at = time.monotonic()
                    run.last_cpu = time.process_time()
                    run.all_put.set()
        if run.all_put.is_set() and not self._requested:
            self._requested = True
            self.context.request_commit()

    def stop(self) -> None:
        pass


# ---------------------------------------------------------------------------------------------------- source


class TimedSourceConnector(SyntheticSourceConnector):
    """The synthetic source with timing (see the module docstring)."""

    def task_class(self) -> type[Task]:
        return TimedSourceTask


class TimedSourceTask(SyntheticSourceTask):
    """A synthetic source task that reports when it has generated and committed everything.

    Once it has generated its share, a poll returns after 5 ms instead of the synthetic source's 100 ms: the
    worker stops a task only when its poll returns (``SourceTask.stop`` runs on the task's thread, as in
    Kafka), and the timed window would otherwise end with the connector's own idle wait.
    """

    max_wait_seconds = 0.005

    def start(self, props: Mapping[str, str]) -> None:
        super().start(props)
        self._bench = run_of(props.get("name", ""))
        self._bench.expected_tasks = int(props.get("synthetic.task.count", "1"))
        self._signalled = False

    def poll(self) -> list[Any] | None:
        run = self._bench
        if run.first_at is None:
            run.first(0)
        if self._limit >= 0 and self._next >= self._limit and not self._signalled:
            # The worker calls poll again only after it handed the previous batch to the producer.
            self._signalled = True
            with run.lock:
                run.tasks_done.add(self._task_id)
                if len(run.tasks_done) >= run.expected_tasks:
                    run.last_at = time.monotonic()
                    run.generated.set()
        return super().poll()

    def commit(self) -> None:
        if self._limit < 0 or self._task_id in self._bench.tasks_committed:
            return
        stored = self.context.offset_storage_reader().offset(self._partition)
        if stored is not None and stored.get(SEQUENCE_FIELD) == self._limit - 1:
            run = self._bench
            with run.lock:
                run.tasks_committed[self._task_id] = time.monotonic()
                run.last_cpu = time.process_time()
                if len(run.tasks_committed) >= run.expected_tasks:
                    run.committed.set()
