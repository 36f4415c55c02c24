"""Distributed workers coming and going under load: a killed worker's task moves, a joining worker takes its
share without stopping anything else, and a rolling restart keeps paused connectors paused and offsets going.

Every test runs its own cluster (the harness is :mod:`kcfast.testing.distributed`). Data is checked end to end
with the synthetic source's sequence numbers: each task numbers its records 0, 1, 2... and commits
``{"sequence": n}`` offsets, so a task that resumes elsewhere continues after its last committed offset.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kcfast.kafka.clients import create_topics
from kcfast.testing import EmbeddedKafka
from kcfast.testing.distributed import Cluster, assert_no_gap, committed, read_topic, sequences, synthetic

pytestmark = pytest.mark.integration

KAFKA_CONFIG = Path(__file__).resolve().parents[1] / "data" / "kafka-config"
#: Kafka's own sample worker properties, which every test cluster starts from.
TEMPLATE = (KAFKA_CONFIG / "connect-distributed.properties").read_text(encoding="utf-8")


@pytest.fixture
def new_cluster(kafka: EmbeddedKafka, tmp_path: Path) -> Iterator[Any]:
    clusters: list[Cluster] = []

    def make(**overrides: str) -> Cluster:
        cluster = Cluster(kafka, tmp_path, template=TEMPLATE, **overrides)
        clusters.append(cluster)
        return cluster

    yield make
    for cluster in clusters:
        cluster.stop()


def _owners(status: dict[str, Any]) -> dict[int, str]:
    return {t["id"]: t["worker_id"] for t in status["tasks"]}


def _advanced(cluster: Cluster, topic: str, beyond: dict[int, int], by: int) -> bool:
    seen = sequences(cluster.kafka.bootstrap_servers, topic)
    return all(max(seen.get(t, [-1])) >= beyond.get(t, 0) + by for t in beyond)


def test_killed_worker_task_moves_and_no_record_is_missing(new_cluster: Any, topic_name: str) -> None:
    cluster = new_cluster()
    cluster.start(3)
    create_topics(cluster.kafka.bootstrap_servers, {topic_name: 3})
    code, _ = cluster.workers[0].http.request(
        "POST", "/connectors", {"name": "load", "config": synthetic(topic_name, 3, rate=600)}
    )
    assert code == 201
    status = cluster.wait_for(lambda: cluster.running("load", 3), what="3 running tasks")
    victim_id = _owners(status)[0]
    victim = next(w for w in cluster.workers if w.worker_id == victim_id)
    cluster.wait_for(lambda: _advanced(cluster, topic_name, {0: 0, 1: 0, 2: 0}, 300), what="records flowing")

    victim.kill()
    survivors = {w.worker_id for w in cluster.live}
    moved = cluster.wait_for(
        lambda: cluster.running("load", 3, on=survivors),
        timeout=90,
        what="every task running on the surviving workers",
    )
    assert _owners(moved)[0] in survivors and _owners(moved)[0] != victim_id
    before = {t: max(n) for t, n in sequences(cluster.kafka.bootstrap_servers, topic_name).items()}
    cluster.wait_for(
        lambda: _advanced(cluster, topic_name, before, 300), what="records flowing after the move"
    )

    assert cluster.live[0].http.request("PUT", "/connectors/load/stop")[0] == 204
    cluster.wait_for(lambda: (s := cluster.status("load")) is not None and s["tasks"] == [], what="stopped")
    upto = committed(cluster.live[0], "load")
    assert min(upto.values()) >= 300
    seen = assert_no_gap(cluster.kafka.bootstrap_servers, topic_name, upto)
    assert all(n.count(0) == 1 for n in seen.values()), "a moved task resumes from its committed offset"


def test_joining_worker_takes_its_share_without_stopping_other_tasks(
    new_cluster: Any, topic_name: str
) -> None:
    cluster = new_cluster()
    cluster.start(2)
    create_topics(cluster.kafka.bootstrap_servers, {topic_name: 3})
    code, _ = cluster.workers[1].http.request(
        "POST", "/connectors", {"name": "six", "config": synthetic(topic_name, 6, rate=60)}
    )
    assert code == 201
    before = _owners(cluster.wait_for(lambda: cluster.running("six", 6), what="6 running tasks"))
    status_topic = cluster.topics["status"]

    def task_states(since: dict[int, int]) -> tuple[dict[int, list[tuple[str, str]]], dict[int, int]]:
        """(task -> [(state, worker)] written at or after ``since``, partition -> next offset)."""
        changes: dict[int, list[tuple[str, str]]] = {}
        ends: dict[int, int] = {}
        for partition, offset, key, value in read_topic(cluster.kafka.bootstrap_servers, status_topic):
            ends[partition] = offset + 1
            if offset < since.get(partition, 0) or key is None or not key.startswith(b"status-task-six-"):
                continue
            record = json.loads(value) if value is not None else {"state": "DESTROYED", "worker_id": ""}
            changes.setdefault(int(key.rsplit(b"-", 1)[1]), []).append((record["state"], record["worker_id"]))
        return changes, ends

    def settled_mark() -> dict[int, int] | None:
        # The topic as read must already end with every task RUNNING where REST says it runs.
        changes, ends = task_states({})
        done = all(changes.get(t, [("", "")])[-1] == ("RUNNING", w) for t, w in before.items())
        return ends if done else None

    mark = cluster.wait_for(settled_mark, what="the RUNNING statuses in the status topic")

    newcomer = cluster.start(1)[0]

    def balanced() -> dict[str, Any] | None:
        status = cluster.running("six", 6)
        if status is None:
            return None
        counts = [sum(1 for t in status["tasks"] if t["worker_id"] == w.worker_id) for w in cluster.workers]
        return status if max(counts) - min(counts) <= 1 and min(counts) > 0 else None

    after = _owners(cluster.wait_for(balanced, timeout=90, what="tasks balanced over three workers"))
    assert sorted(after.values()).count(newcomer.worker_id) == 2
    kept = {t for t in before if before[t] == after[t]}
    moved = set(before) - kept
    assert len(moved) == 2 and {after[t] for t in moved} == {newcomer.worker_id}

    def history() -> dict[int, list[tuple[str, str]]] | None:
        changes, _ = task_states(mark)
        done = all(changes.get(t, [("", "")])[-1] == ("RUNNING", newcomer.worker_id) for t in moved)
        return changes if done else None

    changes = cluster.wait_for(history, what="the moved tasks' statuses in the status topic")
    for task in kept:
        assert task not in changes, f"task {task} was not revoked but changed state: {changes[task]}"
    for task in moved:
        assert ("UNASSIGNED", before[task]) in changes[task], changes[task]


def test_rolling_restart_keeps_paused_connectors_paused_and_offsets_continuing(
    new_cluster: Any, topic_name: str
) -> None:
    cluster = new_cluster()
    cluster.start(3)
    running_topic, paused_topic = topic_name, topic_name + "-paused"
    create_topics(cluster.kafka.bootstrap_servers, {running_topic: 3, paused_topic: 1})
    http = cluster.workers[0].http
    assert (
        http.request(
            "POST", "/connectors", {"name": "steady", "config": synthetic(running_topic, 3, rate=150)}
        )[0]
        == 201
    )
    assert (
        http.request("POST", "/connectors", {"name": "idle", "config": synthetic(paused_topic, 2, rate=50)})[
            0
        ]
        == 201
    )
    cluster.wait_for(lambda: cluster.running("steady", 3) and cluster.running("idle", 2), what="both running")
    assert cluster.workers[1].http.request("PUT", "/connectors/idle/pause") == (202, None)

    def idle_paused() -> bool:
        status = cluster.status("idle")
        live = {w.worker_id for w in cluster.live}
        return (
            status is not None
            and status["connector"]["state"] == "PAUSED"
            and len(status["tasks"]) == 2
            and all(t["state"] == "PAUSED" and t["worker_id"] in live for t in status["tasks"])
        )

    cluster.wait_for(idle_paused, what="idle paused")
    paused_count = len(read_topic(cluster.kafka.bootstrap_servers, paused_topic))

    for old in list(cluster.workers):
        assert old.stop() == 0, old.log()
        cluster.start(1)
        cluster.wait_for(
            lambda: cluster.running("steady", 3), timeout=90, what=f"steady running after {old.name}"
        )
        cluster.wait_for(idle_paused, timeout=90, what=f"idle still paused after {old.name}")

    assert len(cluster.live) == 3 and not any(w in cluster.live for w in cluster.workers[:3])
    before = {t: max(n) for t, n in sequences(cluster.kafka.bootstrap_servers, running_topic).items()}
    cluster.wait_for(
        lambda: _advanced(cluster, running_topic, before, 100), what="records after the restarts"
    )
    assert cluster.live[0].http.request("PUT", "/connectors/steady/stop")[0] == 204
    cluster.wait_for(lambda: (s := cluster.status("steady")) is not None and s["tasks"] == [], what="stopped")
    seen = assert_no_gap(cluster.kafka.bootstrap_servers, running_topic, committed(cluster.live[0], "steady"))
    assert all(n.count(0) == 1 for n in seen.values()), "offsets continued through the restarts"
    assert len(read_topic(cluster.kafka.bootstrap_servers, paused_topic)) == paused_count
