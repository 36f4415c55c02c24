"""The broker misbehaves under load: frozen for 20 s (SIGSTOP), or killed and replaced by an empty one."""

from __future__ import annotations

import json
import time

import pytest
from reliability_harness import Pipeline, TopicTail, sink_lines, task_states, wait_until

from kcfast.storage.javaser import decode_hashmap

pytestmark = pytest.mark.integration

FREEZE_SECONDS = 20
#: Partitions the test broker gives a topic it creates when a producer first writes to it.
NEW_TOPIC_PARTITIONS = 4


def test_broker_frozen_for_20s_under_load(fault_broker, workdir, results) -> None:
    pipeline = Pipeline(fault_broker, workdir, records=80_000, rate=4_000)
    try:
        worker = pipeline.start_worker()
        wait_until(lambda: sink_lines(pipeline) >= 8_000, 60, "records flowing through the pipeline")
        fault_broker.freeze()
        frozen_at = time.monotonic()
        try:
            # The worker keeps answering while its broker is gone: REST does not depend on Kafka.
            assert worker.http.get("/health")[0] == 200
            states_during = task_states(worker, "numbered") + task_states(worker, "file-sink")
            time.sleep(max(0.0, FREEZE_SECONDS - (time.monotonic() - frozen_at)))
        finally:
            fault_broker.thaw()
        topic, sink = pipeline.wait_complete(worker, timeout=120)
        assert topic.missing(pipeline.shares) == set()
        assert sink.missing(pipeline.shares) == set()
        assert task_states(worker, "numbered") == ["RUNNING", "RUNNING"]
        assert task_states(worker, "file-sink") == ["RUNNING"]
        assert worker.http.get("/health")[0] == 200
        results.record("broker frozen 20 s", load="80 000 records at 4 000/s, 2 source tasks + file sink",
                       fault="SIGSTOP 20 s, SIGCONT", lost=0,
                       duplicates=f"topic {topic.duplicates}, sink {sink.duplicates}",
                       outcome=f"tasks during the freeze {states_during}, after it all RUNNING; REST answered "
                       "during the freeze")
    finally:
        pipeline.stop_all()


def test_broker_killed_and_replaced_on_the_same_port(fault_broker, workdir, results) -> None:
    # Four partitions, as many as the test broker gives a topic it creates on first use: the new broker's topic
    # then has the partitions every consumer already knows.
    pipeline = Pipeline(fault_broker, workdir, records=40_000, rate=4_000, partitions=NEW_TOPIC_PARTITIONS)
    tail = TopicTail(fault_broker.bootstrap, pipeline.topic)
    try:
        worker = pipeline.start_worker()
        wait_until(lambda: len(tail.snapshot()) >= 8_000, 60, "records flowing")
        fault_broker.kill()
        before = tail.snapshot()  # what the old broker served before it died
        tail.close()
        # Without a broker the worker still answers, and says what its tasks are doing.
        assert worker.http.get("/")[0] == 200
        states_during = task_states(worker, "numbered")
        assert set(states_during) <= {"RUNNING", "FAILED"}
        # Nothing is acknowledged during the outage: after one flush the offsets file holds, per task, the last
        # record of the acknowledged prefix.
        time.sleep(1.0)
        committed = committed_sequences(pipeline)
        # The new broker creates the topic when the worker's producer reaches it. (Creating it here would race
        # with that, and the test broker answers CreateTopics for an existing topic by emptying it.)
        fault_broker.replace()
        restarts = 0

        def finished() -> bool:
            nonlocal restarts
            states = task_states(worker, "numbered")
            if "FAILED" in states:
                # An honest FAILED with its cause; a restart of the failed tasks resumes from the offsets file.
                _, body = worker.http.get("/connectors/numbered/status")
                assert all(t.get("trace") for t in body["tasks"] if t["state"] == "FAILED")
                worker.http.request("POST", "/connectors/numbered/restart?includeTasks=true&onlyFailed=true")
                restarts += 1
                return False
            return all(s == "RUNNING" for s in states) and sink_has_last_records(pipeline)

        wait_until(finished, 120, "the source to finish on the new broker")
        after = pipeline.topic_ledger()  # everything the new broker holds
        for (t, s), p in {**before.partition, **after.partition}.items():
            assert p == t, "each task writes its own partition"
        # A record the killed broker acknowledged but nobody read before it died is gone with its memory. Each task
        # writes one partition, so such records come after the last one of their task read from the old broker
        # and before the first one the new broker received: everything not acknowledged is sent again.
        gone_with_broker, lost = set(), set()
        for t, n in pipeline.shares.items():
            read_before = [s for (task, s) in before.seen if task == t]
            received_after = [s for (task, s) in after.seen if task == t]
            last_read, first_new = max(read_before, default=-1), min(received_after, default=n)
            for s in range(n):
                if (t, s) not in before.seen and (t, s) not in after.seen:
                    (gone_with_broker if last_read < s < first_new else lost).add((t, s))
        assert lost == set(), f"{len(lost)} records lost by the worker, e.g. {sorted(lost)[:5]}"
        # The sink follows the new broker too: every record the new broker holds reaches the file.
        wait_until(lambda: set(after.seen) <= set(pipeline.sink_ledger().seen), 60, "the sink to catch up")
        sink = pipeline.sink_ledger()
        assert worker.http.get("/health")[0] == 200
        final = task_states(worker, "numbered")
        results.record(
            "broker killed, new empty broker on the same port",
            load="40 000 records at 4 000/s, 2 source tasks + file sink",
            fault="SIGKILL of the broker (its memory-only data is lost); a new broker on the same port",
            lost=f"0 by the worker ({len(gone_with_broker)} acknowledged by the dead broker and gone with it, "
                 f"{sum(1 for t, s in gone_with_broker if s <= committed.get(t, -1))} of them already committed)",
            duplicates=f"topic {before.merged(after).duplicates}, sink {sink.duplicates}",
            outcome=f"tasks during the outage {states_during}, at the end {final}, {restarts} restart(s) asked",
        )
    finally:
        tail.close()
        pipeline.stop_all()


def committed_sequences(pipeline: Pipeline) -> dict[int, int]:
    """The last committed sequence number per task, from the offsets file."""
    offsets = decode_hashmap(pipeline.offsets_file.read_bytes()) if pipeline.offsets_file.exists() else {}
    out = {}
    for key, value in offsets.items():
        name, partition = json.loads(key)
        if name == "numbered" and value is not None:
            out[partition["task"]] = json.loads(value)["sequence"]
    return out


def sink_has_last_records(pipeline: Pipeline) -> bool:
    seen = pipeline.sink_ledger().seen
    return all((t, n - 1) in seen for t, n in pipeline.shares.items())
