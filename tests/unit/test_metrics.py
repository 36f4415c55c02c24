"""Metrics: Kafka Connect's names in the Prometheus format, windowed stats, and ``GET /metrics``."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kcfast.metrics import ConnectCollector, TaskMetrics, WindowedStat, WorkerMetrics, metric_name, new_registry
from kcfast.rest.resources import root
from kcfast.rest.server import create_app
from kcfast.runtime.status import ConnectorTaskId, State
from kcfast.runtime.status_store import ConnectorStatus, MemoryStatusBackingStore, TaskStatus


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- names and stats -----------------------------------------------------------------------------------------


def test_names_follow_the_jmx_exporter_convention() -> None:
    assert metric_name("source-task-metrics", "source-record-poll-total") == (
        "kafka_connect_source_task_metrics_source_record_poll_total"
    )
    assert metric_name("connect-worker-metrics", "connector-count") == "kafka_connect_connect_worker_metrics_connector_count"


def test_windowed_stat_forgets_samples_older_than_the_window() -> None:
    clock = ManualClock()
    stat = WindowedStat(window_s=30, samples=2, clock=clock)
    assert math.isnan(stat.avg()) and math.isnan(stat.max())
    stat.record(10)
    stat.record(30)
    assert stat.avg() == 20 and stat.max() == 30
    clock.now += 31  # second sample
    stat.record(2)
    assert stat.avg() == 14 and stat.max() == 30
    clock.now += 31  # the first sample is now older than 60 s
    assert stat.avg() == 2 and stat.max() == 2
    clock.now += 61
    assert math.isnan(stat.avg())
    assert (stat.count, stat.total, stat.max_ever) == (3, 42, 30)


def test_windowed_rate_is_per_second_over_at_least_one_full_sample() -> None:
    clock = ManualClock()
    stat = WindowedStat(window_s=30, samples=2, clock=clock)
    clock.now += 1
    stat.record(300)  # 300 records one second in: Kafka divides by 30 s, not 1 s
    assert stat.rate() == pytest.approx(10.0)
    clock.now += 44
    stat.record(150)
    assert stat.rate() == pytest.approx(450 / 45)


def test_task_metrics_commit_percentages_and_state_ratio() -> None:
    clock = ManualClock()
    tm = TaskMetrics(clock=clock)
    tm.record_state("running")
    clock.now += 30
    tm.record_state("paused")
    clock.now += 10
    assert tm.state_ratio("running") == pytest.approx(0.75)
    assert tm.state_ratio("paused") == pytest.approx(0.25)
    tm.record_commit(4.0, True)
    tm.record_commit(8.0, True)
    tm.record_commit(100.0, False)
    assert tm.commit_success_ratio() == pytest.approx(2 / 3)
    assert tm.commit_time_ms.avg() == 6.0 and tm.commit_seq_no == 3


# -- the collector -------------------------------------------------------------------------------------------


@dataclass
class FakeOffsets:
    consumed: dict[Any, int]
    last_committed: dict[Any, int]


@dataclass
class FakeSubmitted:
    in_flight: int


@dataclass
class FakeSourceTask:
    records_sent: int
    submitted: FakeSubmitted
    metrics: Any = None


@dataclass
class FakeSinkTask:
    records_put: int
    assignment: set[Any]
    offsets: FakeOffsets
    metrics: Any = None


class FakeConnector:
    def version(self) -> str:
        return "3.9.0"


@dataclass
class FakeWorker:
    tasks: dict[ConnectorTaskId, Any]
    connectors: dict[str, Any]
    metrics: Any = None

    def connector_names(self) -> set[str]:
        return set(self.connectors)

    def task_ids(self) -> set[ConnectorTaskId]:
        return set(self.tasks)

    def task(self, tid: ConnectorTaskId) -> Any:
        return self.tasks.get(tid)

    def connector(self, name: str) -> Any:
        return self.connectors.get(name)


@dataclass
class FakeSnapshot:
    configs: dict[str, dict[str, str]]

    def raw_connector_config(self, name: str) -> dict[str, str] | None:
        return self.configs.get(name)


@dataclass
class FakeHerder:
    worker: FakeWorker
    configs: dict[str, dict[str, str]]
    status_store: MemoryStatusBackingStore = field(default_factory=MemoryStatusBackingStore)

    def snapshot(self) -> FakeSnapshot:
        return FakeSnapshot(self.configs)

    def connector_type(self, config: dict[str, str]) -> str:
        return "source" if "Source" in config["connector.class"] else "sink"


def _scrape(collector: ConnectCollector) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    text = generate_latest(registry).decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _herder() -> FakeHerder:
    src0, sink0 = ConnectorTaskId("src", 0), ConnectorTaskId("sink", 0)
    tm = TaskMetrics()
    tm.record_state("running")
    tm.record_poll(100, 2.0)
    tm.record_poll(50, 4.0)
    tm.record_write(140)
    tm.record_error()
    source = FakeSourceTask(records_sent=150, submitted=FakeSubmitted(10), metrics=tm)
    sink = FakeSinkTask(records_put=7, assignment={("t", 0), ("t", 1)},
                        offsets=FakeOffsets({("t", 0): 20, ("t", 1): 5}, {("t", 0): 12}))
    worker = FakeWorker({src0: source, sink0: sink}, {"src": FakeConnector(), "sink": FakeConnector()},
                        metrics=WorkerMetrics())
    worker.metrics.record_task_startup(True)
    worker.metrics.record_task_startup(False)
    herder = FakeHerder(worker, {"src": {"connector.class": "FileStreamSource"},
                                 "sink": {"connector.class": "FileStreamSink"}})
    herder.status_store.put_connector(ConnectorStatus("src", State.RUNNING, "w:1"))
    herder.status_store.put_connector(ConnectorStatus("sink", State.FAILED, "w:1", trace="boom"))
    herder.status_store.put_task(TaskStatus(src0, State.RUNNING, "w:1"))
    herder.status_store.put_task(TaskStatus(sink0, State.PAUSED, "w:1"))
    return herder


def test_collector_reports_worker_connector_and_task_metrics() -> None:
    samples = _scrape(ConnectCollector(_herder()))
    src = (("connector", "src"), ("task", "0"))
    sink = (("connector", "sink"), ("task", "0"))

    def value(name: str, labels: tuple[tuple[str, str], ...] = ()) -> float:
        return samples[(name, tuple(sorted(labels)))]

    assert value("kafka_connect_connect_worker_metrics_connector_count") == 2
    assert value("kafka_connect_connect_worker_metrics_task_count") == 2
    assert value("kafka_connect_connect_worker_metrics_task_startup_attempts_total") == 2
    assert value("kafka_connect_connect_worker_metrics_task_startup_failure_percentage") == 0.5
    assert value("kafka_connect_connect_worker_metrics_connector_paused_task_count", (("connector", "sink"),)) == 1
    assert value("kafka_connect_connect_worker_metrics_connector_running_task_count", (("connector", "sink"),)) == 0
    assert value("kafka_connect_connector_metrics_status", (("connector", "sink"), ("status", "failed"))) == 1
    assert value("kafka_connect_connector_metrics_connector_type",
                 (("connector", "src"), ("connector_type", "source"))) == 1
    assert value("kafka_connect_connector_metrics_connector_version",
                 (("connector", "src"), ("connector_version", "3.9.0"))) == 1
    assert value("kafka_connect_connector_task_metrics_status", (*src, ("status", "running"))) == 1
    assert value("kafka_connect_source_task_metrics_source_record_poll_total", src) == 150
    assert value("kafka_connect_source_task_metrics_source_record_write_total", src) == 140
    assert value("kafka_connect_source_task_metrics_poll_batch_avg_time_ms", src) == 3.0
    assert value("kafka_connect_source_task_metrics_poll_batch_max_time_ms", src) == 4.0
    assert value("kafka_connect_source_task_metrics_source_record_active_count", src) == 10
    assert value("kafka_connect_connector_task_metrics_batch_size_max", src) == 100
    assert value("kafka_connect_task_error_metrics_total_record_errors", src) == 1
    # A task without a TaskMetrics still reports what its loop counts.
    assert value("kafka_connect_sink_task_metrics_sink_record_send_total", sink) == 7
    assert value("kafka_connect_sink_task_metrics_partition_count", sink) == 2
    assert value("kafka_connect_sink_task_metrics_sink_record_active_count", sink) == 8
    assert ("kafka_connect_sink_task_metrics_sink_record_read_total", sink) not in samples
    # Standalone workers have no rebalance metrics.
    assert not any(name.startswith("kafka_connect_connect_worker_rebalance") for name, _ in samples)


def test_rebalance_metrics_appear_once_the_worker_rebalances() -> None:
    herder = _herder()
    wm = herder.worker.metrics
    wm.rebalance_started()
    wm.rebalance_completed(7, "http://w1:8083/", "SESSIONED")
    samples = _scrape(ConnectCollector(herder))
    assert samples[("kafka_connect_connect_worker_rebalance_metrics_epoch", ())] == 7
    assert samples[("kafka_connect_connect_worker_rebalance_metrics_completed_rebalances_total", ())] == 1
    assert samples[("kafka_connect_connect_worker_rebalance_metrics_connect_protocol",
                    (("connect_protocol", "SESSIONED"),))] == 1
    assert samples[("kafka_connect_connect_worker_rebalance_metrics_rebalancing", ())] == 0


def test_a_scrape_survives_a_worker_that_breaks_while_read() -> None:
    herder = _herder()

    def broken() -> set[ConnectorTaskId]:
        raise RuntimeError("dictionary changed size during iteration")

    herder.worker.task_ids = broken  # type: ignore[method-assign]
    assert _scrape(ConnectCollector(herder)) == {}


def test_metrics_endpoint_serves_the_prometheus_text_format() -> None:
    async def run() -> tuple[int, str, str]:
        app = create_app(_herder(), root.ROUTES)
        runner = aiohttp.web.AppRunner(app)
        await runner.setup()
        site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                    return response.status, response.headers["Content-Type"], await response.text()
        finally:
            await runner.cleanup()

    status, content_type, text = asyncio.run(run())
    assert status == 200
    assert content_type.startswith("text/plain") and "version=0.0.4" in content_type
    names = {family.name for family in text_string_to_metric_families(text)}
    assert "kafka_connect_source_task_metrics_source_record_poll" in names  # counters drop _total in the parser
    assert "process_cpu_seconds" in names


def test_registry_has_the_process_collectors_only_when_asked() -> None:
    from prometheus_client import generate_latest

    text = generate_latest(new_registry(_herder(), process=False)).decode()
    assert "process_cpu_seconds_total" not in text
    assert "kafka_connect_connect_worker_metrics_task_count 2.0" in text
