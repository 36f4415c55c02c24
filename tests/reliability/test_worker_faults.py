"""The worker misbehaves, or is mistreated, under load: SIGKILL and restart, an offsets file that cannot be
written, and connectors that hang in ``stop()``."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import pytest
from reliability_harness import Pipeline, sink_lines, task_states, wait_until

from kcfast.kafka.clients import list_group_offsets, new_admin

pytestmark = pytest.mark.integration


def test_worker_killed_under_load_resumes_from_the_offsets_file(fault_broker, workdir, results) -> None:
    pipeline = Pipeline(fault_broker, workdir, records=60_000, rate=5_000)
    try:
        worker = pipeline.start_worker()
        admin = new_admin({"bootstrap.servers": fault_broker.bootstrap})
        # Under load, after both sides committed at least once (offset.flush.interval.ms is 500 ms).
        wait_until(lambda: sum(list_group_offsets(admin, "connect-file-sink", timeout=5).values()) >= 10_000, 60,
                   "the sink to commit offsets")
        assert worker.stop(signal.SIGKILL) == -signal.SIGKILL
        killed_at = sink_lines(pipeline)
        assert pipeline.offsets_file.exists(), "source offsets were flushed before the kill"
        worker = pipeline.start_worker()
        topic, sink = pipeline.wait_complete(worker, timeout=90)
        assert topic.missing(pipeline.shares) == set()
        assert sink.missing(pipeline.shares) == set()
        assert task_states(worker, "numbered") == ["RUNNING", "RUNNING"]
        results.record("worker SIGKILLed under load, restarted",
                       load="60 000 records at 5 000/s, 2 source tasks + file sink",
                       fault=f"SIGKILL after {killed_at} records reached the sink; same files restarted",
                       lost=0, duplicates=f"topic {topic.duplicates}, sink {sink.duplicates}",
                       outcome="resumed from the offsets file and the sink group's committed offsets")
    finally:
        pipeline.stop_all()


def test_offsets_file_unwritable_then_worker_killed(fault_broker, workdir, results) -> None:
    pipeline = Pipeline(fault_broker, workdir, records=40_000, rate=4_000)
    try:
        worker = pipeline.start_worker()
        wait_until(lambda: sink_lines(pipeline) >= 8_000, 60, "records flowing")
        wait_until(pipeline.offsets_file.exists, 10, "a first offsets flush")
        # A directory where the file was: every rewrite of the offsets file now fails (even for root).
        pipeline.offsets_file.unlink()
        pipeline.offsets_file.mkdir()
        (pipeline.offsets_file / "in-the-way").write_text("x")
        blocked_at = sink_lines(pipeline)
        wait_until(lambda: "Unable to write the offsets file" in worker.log(), 15, "the flush failure to be logged")
        # The tasks keep running (Kafka logs the failed flush and tries again at the next interval).
        wait_until(lambda: sink_lines(pipeline) >= blocked_at + 4_000, 30, "records still flowing")
        states = task_states(worker, "numbered")
        assert states == ["RUNNING", "RUNNING"]
        assert worker.stop(signal.SIGKILL) == -signal.SIGKILL
        shutil.rmtree(pipeline.offsets_file)
        # Restarted without offsets: the source starts again from its first record. Duplicates, no loss.
        worker = pipeline.start_worker()
        topic, sink = pipeline.wait_complete(worker, timeout=90)
        assert topic.missing(pipeline.shares) == set() and sink.missing(pipeline.shares) == set()
        assert pipeline.offsets_file.is_file()
        results.record("offsets file unwritable, then worker SIGKILLed",
                       load="40 000 records at 4 000/s, 2 source tasks + file sink",
                       fault="offsets file replaced by a directory; SIGKILL; restart with the path cleared",
                       lost=0, duplicates=f"topic {topic.duplicates}, sink {sink.duplicates}",
                       outcome=f"flush failures logged, tasks {states} while unwritable; re-sent from the start")
    finally:
        pipeline.stop_all()


HANGING = '''
import threading

from kcfast.connectors.synthetic import SyntheticSourceConnector, SyntheticSourceTask

RELEASE = threading.Event()
HANG_SECONDS = {hang}


class HangingStopConnector(SyntheticSourceConnector):
    """Its stop() does not return (for a while)."""

    def stop(self):
        RELEASE.wait(HANG_SECONDS)


class HangingStopTask(SyntheticSourceTask):
    def stop(self):
        RELEASE.wait(HANG_SECONDS)


class HangingTaskConnector(SyntheticSourceConnector):
    """Its tasks' stop() does not return (for a while)."""

    def task_class(self):
        return HangingStopTask
'''

HANG_SECONDS = 25


def _connector_file(workdir: Path, name: str, cls: str, topic: str) -> Path:
    path = workdir / f"{name}.properties"
    path.write_text(f"name={name}\nconnector.class=hanging.{cls}\ntopic={topic}\nrate=100\ntasks.max=1\n"
                    "schema=false\n", encoding="utf-8")
    return path


def test_connectors_hanging_in_stop_do_not_take_the_worker_down(fault_broker, workdir, results) -> None:
    (workdir / "hanging.py").write_text(HANGING.format(hang=HANG_SECONDS), encoding="utf-8")
    pipeline = Pipeline(fault_broker, workdir, records=30_000, rate=3_000)
    files = [pipeline.source_props, pipeline.sink_props,
             _connector_file(workdir, "hang-task", "HangingTaskConnector", pipeline.topic + "-h1"),
             _connector_file(workdir, "hang-connector", "HangingStopConnector", pipeline.topic + "-h2")]
    outcome = []
    try:
        worker = pipeline.start_worker(files)
        for name in ("hang-task", "hang-connector"):
            wait_until(lambda n=name: task_states(worker, n) == ["RUNNING"], 30, f"{name} running")
        for name in ("hang-task", "hang-connector"):
            started = time.monotonic()
            status, _ = worker.http.request("DELETE", f"/connectors/{name}")
            took = time.monotonic() - started
            outcome.append(f"DELETE {name}: {status} after {took:.1f} s")
            assert status == 204
            # Kafka gives up on a task after task.shutdown.graceful.timeout.ms (3 s here) and on a connector
            # after 5 s; allow generous slack, but far less than the hang.
            assert took < 15, outcome
            assert worker.http.get("/health")[0] == 200
        topic, sink = pipeline.wait_complete(worker, timeout=60)
        assert topic.missing(pipeline.shares) == set() and sink.missing(pipeline.shares) == set()
        started = time.monotonic()
        assert worker.stop(timeout=30) == 0
        outcome.append(f"SIGTERM exit after {time.monotonic() - started:.1f} s")
        results.record("connectors hanging in stop()", load="30 000 records at 3 000/s + 2 hanging connectors",
                       fault=f"Connector.stop() and SourceTask.stop() block {HANG_SECONDS} s",
                       lost=0, duplicates=f"topic {topic.duplicates}, sink {sink.duplicates}",
                       outcome="; ".join(outcome))
    except BaseException:
        results.record("connectors hanging in stop()", load="30 000 records at 3 000/s + 2 hanging connectors",
                       fault=f"Connector.stop() and SourceTask.stop() block {HANG_SECONDS} s",
                       outcome="FAILS (known): " + ("; ".join(outcome) or "worker blocked"))
        raise
    finally:
        pipeline.stop_all()
