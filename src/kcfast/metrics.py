"""Kafka Connect's metrics, served in the Prometheus text format (``GET /metrics``).

Kafka Connect registers its metrics in groups (``connector-metrics``, ``connector-task-metrics``,
``source-task-metrics``, ``sink-task-metrics``, ``connect-worker-metrics``, ``connect-worker-rebalance-metrics``,
``task-error-metrics``) with the tags ``connector`` and ``task``. kcfast serves the same metrics under the
names a Prometheus JMX exporter gives them: ``kafka_connect_<group>_<metric>`` with every ``-`` turned into
``_`` (:func:`metric_name`), labelled ``connector`` and ``task``. ``docs/operations.md`` lists them all.

Nothing here runs per record. :class:`ConnectCollector` reads the worker and herder when Prometheus scrapes;
the task loops record into a :class:`TaskMetrics` once per batch (a few integer additions) and the worker
into a :class:`WorkerMetrics` once per start. Averages, maxima and rates are windowed like Kafka's sampled
stats (:class:`WindowedStat`: ``metrics.num.samples`` samples of ``metrics.sample.window.ms``).

Thread safety: a :class:`TaskMetrics` is written by its task thread only and read by the scraping thread
without a lock; a scrape may see a batch half-recorded, never a broken value. :class:`WorkerMetrics` takes a
lock.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

PREFIX = "kafka_connect"

CONNECTOR_GROUP = "connector-metrics"
TASK_GROUP = "connector-task-metrics"
SOURCE_TASK_GROUP = "source-task-metrics"
SINK_TASK_GROUP = "sink-task-metrics"
WORKER_GROUP = "connect-worker-metrics"
REBALANCE_GROUP = "connect-worker-rebalance-metrics"
TASK_ERROR_GROUP = "task-error-metrics"

#: Kafka's defaults of ``metrics.sample.window.ms`` (in seconds) and ``metrics.num.samples``.
DEFAULT_WINDOW_S = 30.0
DEFAULT_SAMPLES = 2

#: The text exposition format every Prometheus version reads (kcfast's names need no UTF-8 escaping).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Task states as Kafka's status metrics spell them.
_TASK_STATES = ("running", "paused", "failed", "unassigned", "destroyed", "restarting")


def metric_name(group: str, name: str) -> str:
    """The Prometheus name of Kafka metric ``name`` in ``group``.

    >>> metric_name("source-task-metrics", "source-record-poll-total")
    'kafka_connect_source_task_metrics_source_record_poll_total'
    """
    return f"{PREFIX}_{group}_{name}".replace("-", "_").replace(".", "_")


def _wall_ms() -> int:
    return int(time.time() * 1000)


# -- windowed statistics -------------------------------------------------------------------------------------


class WindowedStat:
    """Count, sum and maximum of recorded values over a sliding window, like Kafka's sampled stats.

    The window is ``samples`` samples of ``window_s`` seconds each; a sample older than the whole window is
    forgotten. Lifetime totals (:attr:`count`, :attr:`total`, :attr:`max_ever`) are kept as well.

    Args:
        window_s: length of one sample (``metrics.sample.window.ms``).
        samples: number of samples (``metrics.num.samples``).
        clock: monotonic seconds.
    """

    __slots__ = ("_window", "_samples", "_clock", "_current", "count", "total", "max_ever")

    def __init__(self, window_s: float = DEFAULT_WINDOW_S, samples: int = DEFAULT_SAMPLES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._window = float(window_s)
        self._clock = clock
        start = clock()
        # Each sample: [start, count, sum, max].
        self._samples: list[list[float]] = [[start, 0, 0.0, -math.inf] for _ in range(max(1, samples))]
        self._current = 0
        self.count = 0
        self.total = 0.0
        self.max_ever = -math.inf

    def record(self, value: float, now: float | None = None) -> None:
        """Add one value."""
        if now is None:
            now = self._clock()
        sample = self._samples[self._current]
        if now - sample[0] >= self._window:
            self._current = (self._current + 1) % len(self._samples)
            sample = self._samples[self._current]
            sample[0], sample[1], sample[2], sample[3] = now, 0, 0.0, -math.inf
        sample[1] += 1
        sample[2] += value
        if value > sample[3]:
            sample[3] = value
        self.count += 1
        self.total += value
        if value > self.max_ever:
            self.max_ever = value

    def _live(self, now: float) -> list[list[float]]:
        horizon = self._window * len(self._samples)
        return [s for s in list(self._samples) if now - s[0] < horizon and s[1] > 0]

    def avg(self, now: float | None = None) -> float:
        """Mean of the values in the window (NaN when there are none, as Kafka reports)."""
        live = self._live(self._clock() if now is None else now)
        count = sum(s[1] for s in live)
        return sum(s[2] for s in live) / count if count else math.nan

    def max(self, now: float | None = None) -> float:
        """Largest value in the window (NaN when there are none)."""
        live = self._live(self._clock() if now is None else now)
        return max((s[3] for s in live), default=math.nan)

    def rate(self, now: float | None = None) -> float:
        """Sum of the values in the window per second, over at least ``samples - 1`` whole samples (Kafka's Rate)."""
        now = self._clock() if now is None else now
        horizon = self._window * len(self._samples)
        samples = [s for s in list(self._samples) if now - s[0] < horizon]
        if not samples:
            return 0.0
        elapsed = now - min(s[0] for s in samples)
        elapsed = max(elapsed, self._window * (len(self._samples) - 1), 1e-9)
        return sum(s[2] for s in samples if s[1] > 0) / elapsed


# -- what the task loops and the worker record ---------------------------------------------------------------


class TaskMetrics:
    """What one task's loop records, once per batch, for the task metric groups.

    The worker creates one per task (``worker_task.metrics = TaskMetrics(...)``); the loop calls:

    - source tasks: :meth:`record_poll` after each ``SourceTask.poll`` that returned records, and
      :meth:`record_write` from the delivery callbacks (or per produced batch);
    - sink tasks: :meth:`record_read` after each consume, :meth:`record_put` after each ``SinkTask.put``;
    - both: :meth:`record_commit` after each offset commit attempt, :meth:`record_state` on every state
      change, and the ``record_*`` error methods from the retry-with-tolerance operator.

    Args:
        window_s: ``metrics.sample.window.ms`` in seconds.
        samples: ``metrics.num.samples``.
        clock: monotonic seconds.
        wall_ms: epoch milliseconds (``last-error-timestamp``).
    """

    def __init__(self, window_s: float = DEFAULT_WINDOW_S, samples: int = DEFAULT_SAMPLES,
                 clock: Callable[[], float] = time.monotonic, wall_ms: Callable[[], int] = _wall_ms) -> None:
        self._clock = clock
        self._wall_ms = wall_ms

        def stat() -> WindowedStat:
            return WindowedStat(window_s, samples, clock)

        self.batch_size = stat()
        self.commit_time_ms = stat()
        self.commit_attempts = 0
        self.commit_failures = 0
        self._commit_outcomes = stat()  # 1.0 per success, 0.0 per failure: avg = success ratio
        self.poll_time_ms = stat()
        self.polled = stat()
        self.written = stat()
        self.read = stat()
        self.put_time_ms = stat()
        self.sent = stat()
        self.lag = stat()  # sink: records between the consumer's position and the partition end, sampled
        self.commit_seq_no = 0
        self.commit_completions = stat()
        self.commit_skips = stat()
        self.record_failures = 0
        self.record_errors = 0
        self.records_skipped = 0
        self.retries = 0
        self.errors_logged = 0
        self.dlq_produce_requests = 0
        self.dlq_produce_failures = 0
        self.last_error_timestamp = 0
        self._state = "unassigned"
        self._state_since = clock()
        self._time_in: dict[str, float] = {}
        self._created = self._state_since

    # -- common ------------------------------------------------------------------------------------------

    def record_state(self, state: str) -> None:
        """The task entered ``state`` (``running``, ``paused``, ``failed``, ...)."""
        now = self._clock()
        self._time_in[self._state] = self._time_in.get(self._state, 0.0) + now - self._state_since
        self._state = state.lower()
        self._state_since = now

    def state_ratio(self, state: str, now: float | None = None) -> float:
        """The fraction of the task's life spent in ``state`` (``running-ratio``, ``pause-ratio``)."""
        now = self._clock() if now is None else now
        lifetime = now - self._created
        if lifetime <= 0:
            return 0.0
        spent = self._time_in.get(state, 0.0) + (now - self._state_since if self._state == state else 0.0)
        return min(1.0, spent / lifetime)

    def record_commit(self, duration_ms: float, success: bool) -> None:
        """One offset commit attempt took ``duration_ms`` and succeeded or failed."""
        now = self._clock()
        self.commit_attempts += 1
        self.commit_seq_no += 1
        self._commit_outcomes.record(1.0 if success else 0.0, now)
        if success:
            self.commit_time_ms.record(duration_ms, now)
            self.commit_completions.record(1.0, now)
        else:
            self.commit_failures += 1

    def commit_success_ratio(self) -> float:
        """The fraction of commit attempts in the window that succeeded (NaN without attempts)."""
        return self._commit_outcomes.avg()

    # -- source ------------------------------------------------------------------------------------------

    def record_poll(self, records: int, duration_ms: float) -> None:
        """``SourceTask.poll`` returned ``records`` records (before transforms) in ``duration_ms``."""
        now = self._clock()
        self.poll_time_ms.record(duration_ms, now)
        self.polled.record(records, now)
        self.batch_size.record(records, now)

    def record_write(self, records: int) -> None:
        """``records`` records (after transforms) were written to Kafka."""
        self.written.record(records)

    # -- sink --------------------------------------------------------------------------------------------

    def record_read(self, records: int) -> None:
        """``records`` records were read from Kafka (before transforms)."""
        now = self._clock()
        self.read.record(records, now)
        self.batch_size.record(records, now)

    def record_lag(self, lag: int) -> None:
        """The largest number of records between the consumer's position and a partition's end."""
        self.lag.record(lag)

    def record_put(self, records: int, duration_ms: float) -> None:
        """``SinkTask.put`` took ``records`` records (after transforms) in ``duration_ms``."""
        now = self._clock()
        self.sent.record(records, now)
        self.put_time_ms.record(duration_ms, now)

    def record_commit_skip(self) -> None:
        """An offset commit completed too late and was ignored."""
        self.commit_skips.record(1.0)

    # -- errors (task-error-metrics) ---------------------------------------------------------------------

    def record_failure(self) -> None:
        """One attempt at processing a record failed."""
        self.record_failures += 1
        self.last_error_timestamp = self._wall_ms()

    def record_error(self) -> None:
        """A record failed after every retry (an error, tolerated or not)."""
        self.record_errors += 1
        self.last_error_timestamp = self._wall_ms()

    def record_skipped(self, records: int = 1) -> None:
        """Records were skipped because of tolerated errors."""
        self.records_skipped += records

    def record_retry(self) -> None:
        """An operation was retried."""
        self.retries += 1

    def record_error_logged(self) -> None:
        """An error was logged (``errors.log.enable``)."""
        self.errors_logged += 1

    def record_dlq_request(self, failed: bool = False) -> None:
        """A record was written (or failed to be written) to the dead letter queue."""
        self.dlq_produce_requests += 1
        if failed:
            self.dlq_produce_failures += 1


class WorkerMetrics:
    """Worker-wide counters: connector and task startups, and (distributed) rebalances. Thread-safe.

    Args:
        window_s: ``metrics.sample.window.ms`` in seconds.
        samples: ``metrics.num.samples``.
        clock: monotonic seconds.
        wall_ms: epoch milliseconds.
    """

    def __init__(self, window_s: float = DEFAULT_WINDOW_S, samples: int = DEFAULT_SAMPLES,
                 clock: Callable[[], float] = time.monotonic, wall_ms: Callable[[], int] = _wall_ms) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._wall_ms = wall_ms
        self.connector_startups = {"attempts": 0, "success": 0, "failure": 0}
        self.task_startups = {"attempts": 0, "success": 0, "failure": 0}
        self.rebalance_enabled = False
        self.connect_protocol = ""
        self.leader_name = ""
        self.epoch = -1
        self.completed_rebalances = 0
        self.rebalancing = False
        self.rebalance_time_ms = WindowedStat(window_s, samples, clock)
        self._rebalance_started: float | None = None
        self.last_rebalance_completed_ms: int | None = None

    def record_connector_startup(self, success: bool) -> None:
        """A connector start was attempted and succeeded or failed."""
        with self._lock:
            self.connector_startups["attempts"] += 1
            self.connector_startups["success" if success else "failure"] += 1

    def record_task_startup(self, success: bool) -> None:
        """A task start was attempted and succeeded or failed."""
        with self._lock:
            self.task_startups["attempts"] += 1
            self.task_startups["success" if success else "failure"] += 1

    def rebalance_started(self) -> None:
        """The worker began a rebalance (distributed)."""
        with self._lock:
            self.rebalance_enabled = True
            self.rebalancing = True
            self._rebalance_started = self._clock()

    def rebalance_completed(self, epoch: int, leader: str, protocol: str) -> None:
        """The worker completed a rebalance with this generation, leader and protocol (distributed)."""
        with self._lock:
            self.rebalance_enabled = True
            if self._rebalance_started is not None:
                self.rebalance_time_ms.record((self._clock() - self._rebalance_started) * 1000.0)
            self._rebalance_started = None
            self.rebalancing = False
            self.completed_rebalances += 1
            self.epoch = epoch
            self.leader_name = leader
            self.connect_protocol = protocol
            self.last_rebalance_completed_ms = self._wall_ms()


# -- the collector -------------------------------------------------------------------------------------------


class _Families:
    """Metric families of one scrape, created on first use, in a stable order."""

    def __init__(self) -> None:
        self._families: dict[str, Metric] = {}

    def add(self, group: str, name: str, doc: str, labels: Mapping[str, str], value: float | None,
            counter: bool = False) -> None:
        if value is None:
            return
        full = metric_name(group, name)
        family = self._families.get(full)
        if family is None:
            if counter:
                family = CounterMetricFamily(full, doc, labels=list(labels))
            else:
                family = GaugeMetricFamily(full, doc, labels=list(labels))
            self._families[full] = family
        family.add_metric(list(labels.values()), float(value))

    def __iter__(self) -> Iterator[Metric]:
        return iter(self._families.values())


def _state_name(status: Any) -> str | None:
    if status is None:
        return None
    state = getattr(status, "state", status)
    return str(getattr(state, "value", state)).lower()


class ConnectCollector(Collector):
    """Reads the worker and the herder when Prometheus scrapes, and yields Kafka Connect's metrics.

    Args:
        herder: the worker's herder (its ``worker`` and ``status_store`` are read).
        clock: monotonic seconds (for windowed stats).
    """

    def __init__(self, herder: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.herder = herder
        self._clock = clock

    # The collector is registered with a registry that would call collect() once to learn the names;
    # describe() returning nothing avoids reading the worker at registration time.
    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        families = _Families()
        try:
            self._collect(families)
        except Exception as exc:  # noqa: BLE001 - a scrape never fails because the worker changed under it
            log.warning("Error while collecting metrics: %s", exc, exc_info=log.isEnabledFor(logging.DEBUG))
        return list(families)

    # -- parts -------------------------------------------------------------------------------------------

    def _worker(self) -> Any:
        return getattr(self.herder, "worker", None)

    def _connector_names(self) -> list[str]:
        names: set[str] = set()
        worker = self._worker()
        if worker is not None:
            names.update(worker.connector_names())
        store = getattr(self.herder, "status_store", None)
        if store is not None:
            names.update(store.connectors())
        return sorted(names)

    def _connector_config(self, name: str) -> Mapping[str, str]:
        snapshot = getattr(self.herder, "snapshot", None)
        if snapshot is None:
            return {}
        try:
            return snapshot().raw_connector_config(name) or {}
        except Exception:  # noqa: BLE001
            return {}

    def _collect(self, families: _Families) -> None:
        worker = self._worker()
        store = getattr(self.herder, "status_store", None)
        names = self._connector_names()
        task_ids = sorted(worker.task_ids()) if worker is not None else []
        now = self._clock()

        # connect-worker-metrics
        running_connectors = [n for n in names if worker is not None and n in worker.connector_names()]
        families.add(WORKER_GROUP, "connector-count", "The number of connectors run in this worker.", {},
                     len(running_connectors))
        families.add(WORKER_GROUP, "task-count", "The number of tasks run in this worker.", {}, len(task_ids))
        wm = getattr(worker, "metrics", None) if worker is not None else None
        if isinstance(wm, WorkerMetrics):
            self._worker_startups(families, wm)
            if wm.rebalance_enabled:
                self._rebalance(families, wm, now)

        for name in names:
            self._connector(families, name, store, worker)

        for tid in task_ids:
            worker_task = worker.task(tid)
            if worker_task is not None:
                self._task(families, tid, worker_task, store, now)

    def _worker_startups(self, families: _Families, wm: WorkerMetrics) -> None:
        for kind, counts in (("connector", dict(wm.connector_startups)), ("task", dict(wm.task_startups))):
            attempts = counts["attempts"]
            families.add(WORKER_GROUP, f"{kind}-startup-attempts-total",
                         f"The total number of {kind} startups that this worker has attempted.", {}, attempts,
                         counter=True)
            for outcome, verb in (("success", "succeeded"), ("failure", "failed")):
                families.add(WORKER_GROUP, f"{kind}-startup-{outcome}-total",
                             f"The total number of {kind} starts that {verb}.", {}, counts[outcome], counter=True)
                families.add(WORKER_GROUP, f"{kind}-startup-{outcome}-percentage",
                             f"The average percentage of this worker's {kind}s starts that {verb}.", {},
                             counts[outcome] / attempts if attempts else 0.0)

    def _rebalance(self, families: _Families, wm: WorkerMetrics, now: float) -> None:
        g = REBALANCE_GROUP
        families.add(g, "connect-protocol", "The Connect protocol used by this cluster",
                     {"connect_protocol": wm.connect_protocol}, 1)
        families.add(g, "leader-name", "The name of the group leader.", {"leader_name": wm.leader_name}, 1)
        families.add(g, "epoch", "The epoch or generation number of this worker.", {}, wm.epoch)
        families.add(g, "completed-rebalances-total", "The total number of rebalances completed by this worker.",
                     {}, wm.completed_rebalances, counter=True)
        families.add(g, "rebalancing", "Whether this worker is currently rebalancing.", {}, int(wm.rebalancing))
        families.add(g, "rebalance-max-time-ms", "The maximum time in milliseconds spent by this worker to "
                     "rebalance.", {}, wm.rebalance_time_ms.max(now))
        families.add(g, "rebalance-avg-time-ms", "The average time in milliseconds spent by this worker to "
                     "rebalance.", {}, wm.rebalance_time_ms.avg(now))
        since = -1.0
        if wm.last_rebalance_completed_ms is not None:
            since = float(_wall_ms() - wm.last_rebalance_completed_ms)
        families.add(g, "time-since-last-rebalance-ms", "The time in milliseconds since this worker completed "
                     "the most recent rebalance.", {}, since)

    def _connector(self, families: _Families, name: str, store: Any, worker: Any) -> None:
        labels = {"connector": name}
        status = _state_name(store.get_connector(name)) if store is not None else None
        if status is not None:
            families.add(CONNECTOR_GROUP, "status", "The status of the connector.", {**labels, "status": status}, 1)
        config = self._connector_config(name)
        connector_class = config.get("connector.class")
        if connector_class:
            families.add(CONNECTOR_GROUP, "connector-class", "The name of the connector class.",
                         {**labels, "connector_class": connector_class}, 1)
            ctype = self.herder.connector_type(config) if hasattr(self.herder, "connector_type") else None
            if ctype:
                families.add(CONNECTOR_GROUP, "connector-type", "The type of the connector. One of 'source' or "
                             "'sink'.", {**labels, "connector_type": ctype}, 1)
        instance = worker.connector(name) if worker is not None else None
        if instance is not None:
            try:
                version = str(instance.version())
            except Exception:  # noqa: BLE001 - a connector's version() is its own code
                version = None
            if version:
                families.add(CONNECTOR_GROUP, "connector-version", "The version of the connector class, as "
                             "reported by the connector.", {**labels, "connector_version": version}, 1)
        if store is not None:
            tasks = [_state_name(s) for s in store.get_all(name)]
            families.add(WORKER_GROUP, "connector-total-task-count", "The number of tasks of the connector on "
                         "the worker.", labels, len(tasks))
            for state in _TASK_STATES:
                families.add(WORKER_GROUP, f"connector-{state}-task-count",
                             f"The number of {state} tasks of the connector on the worker.", labels,
                             sum(1 for t in tasks if t == state))

    def _task(self, families: _Families, tid: Any, worker_task: Any, store: Any, now: float) -> None:
        labels = {"connector": tid.connector, "task": str(tid.task)}
        status = _state_name(store.get_task(tid)) if store is not None else None
        if status is not None:
            families.add(TASK_GROUP, "status", "The status of the connector task.", {**labels, "status": status}, 1)
        tm = getattr(worker_task, "metrics", None)
        if not isinstance(tm, TaskMetrics):
            tm = None
        is_source = hasattr(worker_task, "records_sent") or hasattr(worker_task, "submitted")
        is_sink = hasattr(worker_task, "records_put") or hasattr(worker_task, "assignment")
        if tm is not None:
            self._task_common(families, labels, tm, now)
            self._task_errors(families, labels, tm)
        if is_source:
            self._source_task(families, labels, worker_task, tm, now)
        elif is_sink:
            self._sink_task(families, labels, worker_task, tm, now)

    @staticmethod
    def _task_common(families: _Families, labels: dict[str, str], tm: TaskMetrics, now: float) -> None:
        g = TASK_GROUP
        families.add(g, "running-ratio", "The fraction of time this task has spent in the running state.", labels,
                     tm.state_ratio("running", now))
        families.add(g, "pause-ratio", "The fraction of time this task has spent in the pause state.", labels,
                     tm.state_ratio("paused", now))
        families.add(g, "offset-commit-max-time-ms", "The maximum time in milliseconds taken by this task to "
                     "commit offsets.", labels, tm.commit_time_ms.max(now))
        families.add(g, "offset-commit-avg-time-ms", "The average time in milliseconds taken by this task to "
                     "commit offsets.", labels, tm.commit_time_ms.avg(now))
        families.add(g, "batch-size-max", "The number of records in the largest batch the task has processed "
                     "so far.", labels, tm.batch_size.max_ever if tm.batch_size.count else math.nan)
        families.add(g, "batch-size-avg", "The average number of records in the batches the task has processed "
                     "so far.", labels, tm.batch_size.total / tm.batch_size.count if tm.batch_size.count else math.nan)
        ratio = tm.commit_success_ratio()
        families.add(g, "offset-commit-success-percentage", "The average percentage of this task's offset "
                     "commit attempts that succeeded.", labels, 0.0 if math.isnan(ratio) else ratio)
        families.add(g, "offset-commit-failure-percentage", "The average percentage of this task's offset "
                     "commit attempts that failed.", labels, 0.0 if math.isnan(ratio) else 1.0 - ratio)

    @staticmethod
    def _task_errors(families: _Families, labels: dict[str, str], tm: TaskMetrics) -> None:
        g = TASK_ERROR_GROUP
        for name, doc, value in (
            ("total-record-failures", "The number of record processing failures in this task.", tm.record_failures),
            ("total-record-errors", "The number of record processing errors in this task.", tm.record_errors),
            ("total-records-skipped", "The number of records skipped due to errors.", tm.records_skipped),
            ("total-retries", "The number of operations retried.", tm.retries),
            ("total-errors-logged", "The number of errors that were logged.", tm.errors_logged),
            ("deadletterqueue-produce-requests", "The number of attempted writes to the dead letter queue.",
             tm.dlq_produce_requests),
            ("deadletterqueue-produce-failures", "The number of failed writes to the dead letter queue.",
             tm.dlq_produce_failures),
            ("last-error-timestamp", "The epoch timestamp when this task last encountered an error.",
             tm.last_error_timestamp),
        ):
            families.add(g, name, doc, labels, value)

    @staticmethod
    def _source_task(families: _Families, labels: dict[str, str], worker_task: Any, tm: TaskMetrics | None,
                     now: float) -> None:
        g = SOURCE_TASK_GROUP
        if tm is not None:
            families.add(g, "source-record-poll-total", "The total number of records produced/polled (before "
                         "transformation) by this task.", labels, tm.polled.total, counter=True)
            families.add(g, "source-record-poll-rate", "The average per-second number of records produced/polled "
                         "(before transformation) by this task.", labels, tm.polled.rate(now))
            families.add(g, "poll-batch-max-time-ms", "The maximum time in milliseconds taken by this task to poll "
                         "for a batch of source records.", labels, tm.poll_time_ms.max(now))
            families.add(g, "poll-batch-avg-time-ms", "The average time in milliseconds taken by this task to poll "
                         "for a batch of source records.", labels, tm.poll_time_ms.avg(now))
            families.add(g, "source-record-write-rate", "The average per-second number of records written to "
                         "Kafka by this task (after transformation).", labels, tm.written.rate(now))
        written = tm.written.total if tm is not None and tm.written.count else getattr(worker_task, "records_sent", None)
        families.add(g, "source-record-write-total", "The number of records output from the transformations and "
                     "written to Kafka by this task since it was last restarted.", labels, written, counter=True)
        submitted = getattr(worker_task, "submitted", None)
        if submitted is not None:
            families.add(g, "source-record-active-count", "The number of records that have been produced by this "
                         "task but not yet completely written to Kafka.", labels, submitted.in_flight)

    @staticmethod
    def _sink_task(families: _Families, labels: dict[str, str], worker_task: Any, tm: TaskMetrics | None,
                   now: float) -> None:
        g = SINK_TASK_GROUP
        if tm is not None:
            families.add(g, "sink-record-read-total", "The total number of records read from Kafka by this task "
                         "since it was last restarted.", labels, tm.read.total, counter=True)
            families.add(g, "sink-record-read-rate", "The average per-second number of records read from Kafka by "
                         "this task (before transformation).", labels, tm.read.rate(now))
            families.add(g, "sink-record-send-rate", "The average per-second number of records put to this task "
                         "(after transformation).", labels, tm.sent.rate(now))
            families.add(g, "put-batch-max-time-ms", "The maximum time taken by this task to put a batch of sinks "
                         "records.", labels, tm.put_time_ms.max(now))
            families.add(g, "put-batch-avg-time-ms", "The average time taken by this task to put a batch of sinks "
                         "records.", labels, tm.put_time_ms.avg(now))
            if tm.lag.count:
                families.add(g, "sink-record-lag-max", "The maximum lag in terms of number of records that the sink "
                             "task is behind the consumer's position for any topic partitions.", labels,
                             tm.lag.max(now))
            families.add(g, "offset-commit-seq-no", "The current sequence number for offset commits.", labels,
                         tm.commit_seq_no)
            families.add(g, "offset-commit-completion-total", "The total number of offset commit completions that "
                         "were completed successfully.", labels, tm.commit_completions.total, counter=True)
            families.add(g, "offset-commit-completion-rate", "The average per-second number of offset commit "
                         "completions that were completed successfully.", labels, tm.commit_completions.rate(now))
            families.add(g, "offset-commit-skip-total", "The total number of offset commit completions that were "
                         "received too late and skipped/ignored.", labels, tm.commit_skips.total, counter=True)
            families.add(g, "offset-commit-skip-rate", "The average per-second number of offset commit completions "
                         "that were received too late and skipped/ignored.", labels, tm.commit_skips.rate(now))
        sent = tm.sent.total if tm is not None and tm.sent.count else getattr(worker_task, "records_put", None)
        families.add(g, "sink-record-send-total", "The total number of records output from the transformations "
                     "and sent/put to this task since it was last restarted.", labels, sent, counter=True)
        assignment = getattr(worker_task, "assignment", None)
        if assignment is not None:
            families.add(g, "partition-count", "The number of topic partitions assigned to this task.", labels,
                         len(list(assignment)))
        offsets = getattr(worker_task, "offsets", None)
        if offsets is not None:
            try:
                consumed = offsets.consumed
                committed = offsets.last_committed
            except (AttributeError, RuntimeError):  # changed while read: leave it out of this scrape
                return
            active = sum(max(0, off - committed[tp]) for tp, off in consumed.items() if tp in committed)
            families.add(g, "sink-record-active-count", "The number of records that have been read from Kafka but "
                         "not yet completely committed/flushed/acknowledged by the sink task.", labels, active)


def new_registry(herder: Any, process: bool = True) -> CollectorRegistry:
    """A registry with a :class:`ConnectCollector` for ``herder`` (and the process and Python collectors)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ConnectCollector(herder))
    if process:
        from prometheus_client.gc_collector import GCCollector
        from prometheus_client.platform_collector import PlatformCollector
        from prometheus_client.process_collector import ProcessCollector

        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
    return registry


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The registry in the Prometheus text format, and its content type."""
    return generate_latest(registry), CONTENT_TYPE


__all__ = [
    "CONNECTOR_GROUP",
    "CONTENT_TYPE",
    "REBALANCE_GROUP",
    "SINK_TASK_GROUP",
    "SOURCE_TASK_GROUP",
    "TASK_ERROR_GROUP",
    "TASK_GROUP",
    "WORKER_GROUP",
    "ConnectCollector",
    "TaskMetrics",
    "WindowedStat",
    "WorkerMetrics",
    "exposition",
    "metric_name",
    "new_registry",
]
