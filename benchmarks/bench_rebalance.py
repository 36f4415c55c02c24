"""Rebalance cost: time until the assignment settles when a worker joins or leaves, and how many tasks stop.

Three ``kcfast distributed`` processes (started from Kafka's ``connect-distributed.properties``) run one
synthetic source connector with 30 tasks. Three events are measured, each from the moment it happens until the
status API shows every task RUNNING on a live worker with task counts differing by at most one:

- ``join``: a third worker joins two (timed from the new worker's REST server answering, and separately from
  its process start);
- ``leave``: a worker stops cleanly (SIGTERM, it leaves the group); its tasks wait for
  ``scheduled.rebalance.max.delay.ms`` before moving, as in Kafka;
- ``kill``: a worker is killed (SIGKILL); the coordinator notices after ``session.timeout.ms``, then the same
  delay applies.

``tasks_restarted`` counts the tasks that wrote any status after the event (stopped, or started elsewhere): a
task that kept running writes none. ``tasks_moved`` counts the tasks whose worker changed. Wall-clock figures
depend on the machine and the broker: the embedded broker holds a rejoining follower's JoinGroup for 3 s, which a
Kafka broker does not.

Run: ``python benchmarks/bench_rebalance.py [--tasks 30] [--delay-ms 3000]`` (``KCFAST_BOOTSTRAP`` selects
another broker), or ``pytest benchmarks/bench_rebalance.py -s``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from test_distributed import Cluster, Worker, read_topic, synthetic  # noqa: E402

from kcfast.kafka.clients import create_topics  # noqa: E402
from kcfast.testing import EmbeddedKafka  # noqa: E402


def _settled(cluster: Cluster, tasks: int) -> Callable[[], dict[str, Any] | None]:
    def check() -> dict[str, Any] | None:
        status = cluster.running("load", tasks)
        if status is None:
            return None
        counts = [sum(1 for t in status["tasks"] if t["worker_id"] == w.worker_id) for w in cluster.live]
        return status if counts and max(counts) - min(counts) <= 1 else None

    return check


def _marks(cluster: Cluster) -> dict[int, int]:
    ends: dict[int, int] = {}
    for partition, offset, _, _ in read_topic(cluster.kafka.bootstrap_servers, cluster.topics["status"]):
        ends[partition] = offset + 1
    return ends


def _restarted_since(cluster: Cluster, marks: dict[int, int]) -> int:
    """Tasks that wrote any status after the marks: every task that stopped or started (a task that kept running
    writes none)."""
    touched = set()
    for partition, offset, key, _ in read_topic(cluster.kafka.bootstrap_servers, cluster.topics["status"]):
        if offset >= marks.get(partition, 0) and key and key.startswith(b"status-task-load-"):
            touched.add(key)
    return len(touched)


def _owners(status: dict[str, Any]) -> dict[int, str]:
    return {t["id"]: t["worker_id"] for t in status["tasks"]}


def measure(
    kafka: EmbeddedKafka, workdir: Path, tasks: int = 30, delay_ms: int = 3000
) -> list[dict[str, Any]]:
    """Run the three events; returns one row per event."""
    cluster = Cluster(kafka, workdir, **{"scheduled.rebalance.max.delay.ms": str(delay_ms)})
    rows: list[dict[str, Any]] = []
    try:
        cluster.start(2)
        topic = f"rebalance-{int(time.time())}"
        create_topics(kafka.bootstrap_servers, {topic: 6})
        code, body = cluster.workers[0].http.request(
            "POST", "/connectors", {"name": "load", "config": synthetic(topic, tasks, rate=300)}
        )
        assert code == 201, body
        settled = _settled(cluster, tasks)
        before = _owners(cluster.wait_for(settled, 120, "first assignment"))

        def event(name: str, act: Callable[[], Worker | None], start_from_rest: bool = False) -> None:
            nonlocal before
            marks = _marks(cluster)
            started = time.monotonic()
            joined = act()
            rest_up = started
            if joined is not None and start_from_rest:
                # From the moment its REST server answers: it has read the internal topics and is joining.
                cluster.wait_for(lambda: joined.http.get("/")[0] == 200, 90, f"{joined.name} serving REST")
                rest_up = time.monotonic()
            after = _owners(cluster.wait_for(settled, 180, f"settled after {name}"))
            done = time.monotonic()
            time.sleep(1.0)  # statuses written at the end of the rebalance reach the topic
            moved = sum(1 for t in after if before.get(t) != after[t])
            rows.append(
                {
                    "event": name,
                    "workers": len(cluster.live),
                    "tasks": tasks,
                    "settle_s": round(done - rest_up, 2),
                    "from_process_start_s": round(done - started, 2),
                    "tasks_moved": moved,
                    "tasks_restarted": _restarted_since(cluster, marks),
                }
            )
            before = after

        def leave() -> None:
            cluster.live[-1].stop()

        def kill() -> None:
            cluster.live[0].kill()

        event("join", cluster.add, start_from_rest=True)
        event("leave", leave)
        cluster.start(1)
        cluster.wait_for(settled, 180, "three workers again")
        before = _owners(cluster.wait_for(settled, 60, "settled"))
        event("kill", kill)
    finally:
        cluster.stop()
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    columns = [
        "event",
        "workers",
        "tasks",
        "settle_s",
        "from_process_start_s",
        "tasks_moved",
        "tasks_restarted",
    ]
    lines = [" | ".join(columns), " | ".join("---" for _ in columns)]
    lines += [" | ".join(str(row[c]) for c in columns) for row in rows]
    return "\n".join(lines)


def test_rebalance_figures(kafka_broker: Any, tmp_path: Path) -> None:
    rows = measure(kafka_broker, tmp_path)
    print("\n" + _table(rows))
    assert [r["event"] for r in rows] == ["join", "leave", "kill"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--delay-ms", type=int, default=3000, help="scheduled.rebalance.max.delay.ms")
    args = parser.parse_args()
    with EmbeddedKafka() as kafka, tempfile.TemporaryDirectory(prefix="kcfast-rebalance-") as tmp:
        rows = measure(kafka, Path(tmp), args.tasks, args.delay_ms)
    print(_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
