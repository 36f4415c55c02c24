"""Several ``kcfast distributed`` processes in one group, driven over HTTP the way a user drives Kafka Connect.

The workers start from Kafka's own ``connect-distributed.properties`` with a unique group and internal topics
per test, short session timeouts and a short scheduled rebalance delay (the harness is
:mod:`kcfast.testing.distributed`). The tests here share one three-worker cluster: a connector created through
any worker is served by all, REST forwarding and its hop rules, signed internal requests, and the bytes that
land in the internal topics.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kcfast.kafka.clients import create_topics
from kcfast.runtime.distributed.signing import signature_headers
from kcfast.testing import EmbeddedKafka
from kcfast.testing.distributed import Cluster, Worker, read_topic, synthetic

pytestmark = pytest.mark.integration

KAFKA_CONFIG = Path(__file__).resolve().parents[1] / "data" / "kafka-config"
#: Kafka's own sample worker properties, which every test cluster starts from.
TEMPLATE = (KAFKA_CONFIG / "connect-distributed.properties").read_text(encoding="utf-8")


# -- the shared three-worker cluster ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("distributed")


@pytest.fixture(scope="module")
def cluster(kafka: EmbeddedKafka, module_dir: Path) -> Iterator[Cluster]:
    group = Cluster(kafka, module_dir, template=TEMPLATE)
    try:
        group.start(3)
        yield group
    finally:
        group.stop()


REBALANCE = "kafka_connect_connect_worker_rebalance_metrics_"


def _assert_rebalance_metrics(cluster: Cluster) -> None:
    """Every worker's ``GET /metrics`` shows Kafka's connect-worker-rebalance-metrics of the group's current
    generation: the epoch each worker logged when it last joined (the same on all), and the leader's URL."""

    def joined(worker: Worker) -> int | None:
        found = re.findall(r"Joined group at generation (\d+) ", worker.log_path.read_text(encoding="utf-8"))
        return int(found[-1]) if found else None

    def settled() -> list[dict[tuple[str, tuple[tuple[str, str], ...]], float]] | None:
        scraped = [w.metrics() for w in cluster.workers]
        epochs = [m.get((REBALANCE + "epoch", ())) for m in scraped]
        generations = [joined(w) for w in cluster.workers]
        leaders = {k[1] for m in scraped for k in m if k[0] == REBALANCE + "leader_name"}
        busy = any(m.get((REBALANCE + "rebalancing", ())) != 0 for m in scraped)
        stable = len(set(generations)) == 1 and len(leaders) == 1 and not busy
        return scraped if stable and epochs == generations else None

    scraped = cluster.wait_for(settled, what="every worker's epoch at the group's current generation")
    urls = {f"{w.url}/" for w in cluster.workers}
    for metrics in scraped:
        assert metrics[(REBALANCE + "completed_rebalances_total", ())] >= 1
        leader = [dict(k[1])["leader_name"] for k in metrics if k[0] == REBALANCE + "leader_name"]
        assert len(leader) == 1 and leader[0] in urls, (leader, urls)
        assert metrics[(REBALANCE + "connect_protocol", (("connect_protocol", "SESSIONED"),))] == 1


def _forwarded_create(cluster: Cluster, name: str, config: dict[str, str], via: Worker) -> tuple[int, Any]:
    return via.http.request("POST", "/connectors", {"name": name, "config": config})


def test_connector_created_through_any_worker_is_served_by_all(cluster: Cluster, topic_name: str) -> None:
    create_topics(cluster.kafka.bootstrap_servers, {topic_name: 3})
    first, second, third = cluster.workers
    code, body = second.http.request(
        "POST", "/connectors", {"name": "spread", "config": synthetic(topic_name, 6)}
    )
    assert code == 201, body
    assert body["name"] == "spread" and body["tasks"] == [] and body["type"] == "source"

    status = cluster.wait_for(lambda: cluster.running("spread", 6), what="6 running tasks")
    owners = {t["worker_id"] for t in status["tasks"]}
    assert owners == {w.worker_id for w in cluster.workers}, "tasks spread over the three workers"
    per_worker = [sum(1 for t in status["tasks"] if t["worker_id"] == w.worker_id) for w in cluster.workers]
    assert max(per_worker) - min(per_worker) <= 1
    _assert_rebalance_metrics(cluster)

    for worker in cluster.workers:
        assert worker.http.get("/connectors") == (200, ["spread"])
        code, info = worker.http.get("/connectors/spread")
        assert code == 200 and [t["task"] for t in info["tasks"]] == list(range(6))
        code, tasks = worker.http.get("/connectors/spread/tasks")
        assert code == 200 and len(tasks) == 6
        assert all(
            t["config"]["task.class"] == "kcfast.connectors.synthetic.SyntheticSourceTask" for t in tasks
        )
        code, expanded = worker.http.get("/connectors?expand=status&expand=info")
        assert code == 200 and expanded["spread"]["status"]["connector"]["state"] == "RUNNING"

    # A plain restart is forwarded to the worker running the connector instance, through the leader.
    code, _ = third.http.request("POST", "/connectors/spread/restart")
    assert code == 204
    # A task restart likewise reaches the task's owner.
    code, _ = first.http.request("POST", "/connectors/spread/tasks/5/restart")
    assert code == 204

    # Deletion through a follower removes it everywhere, statuses included.
    code, _ = third.http.request("DELETE", "/connectors/spread")
    assert code == 204
    for worker in cluster.workers:
        cluster.wait_for(lambda w=worker: w.http.get("/connectors") == (200, []), what="connector gone")
    cluster.wait_for(lambda: first.http.get("/connectors/spread/status")[0] == 404, what="status removed")


def test_pause_and_resume_from_a_follower_and_forwarded_errors(cluster: Cluster, topic_name: str) -> None:
    create_topics(cluster.kafka.bootstrap_servers, {topic_name: 1})
    first, second, third = cluster.workers
    code, created = third.http.request(
        "POST", "/connectors", {"name": "pausable", "config": synthetic(topic_name, 2, rate=50)}
    )
    assert code == 201, created
    cluster.wait_for(lambda: cluster.running("pausable", 2), what="running")

    assert second.http.request("PUT", "/connectors/pausable/pause") == (202, None)
    cluster.wait_for(
        lambda: (
            (s := cluster.status("pausable", first)) is not None
            and s["connector"]["state"] == "PAUSED"
            and [t["state"] for t in s["tasks"]] == ["PAUSED", "PAUSED"]
        ),
        what="paused everywhere",
    )
    assert first.http.request("PUT", "/connectors/pausable/resume") == (202, None)
    cluster.wait_for(lambda: cluster.running("pausable", 2), what="resumed")

    # Errors of the worker a request was forwarded to come back unchanged.
    code, body = second.http.request(
        "POST", "/connectors", {"name": "pausable", "config": synthetic(topic_name, 1)}
    )
    assert (code, body) == (409, {"error_code": 409, "message": "Connector pausable already exists"})
    assert second.http.request("DELETE", "/connectors/missing") == (
        404,
        {"error_code": 404, "message": "Connector missing not found"},
    )
    assert third.http.request("PUT", "/connectors/missing/pause") == (
        404,
        {"error_code": 404, "message": "Unknown connector missing"},
    )
    # A request already forwarded twice is not forwarded again.
    leader_hops = [w.http.request("DELETE", "/connectors/pausable?forward=false") for w in cluster.workers]
    conflicts = [r for r in leader_hops if r[0] == 409]
    assert conflicts and all(
        r[1]
        == {
            "error_code": 409,
            "message": "Cannot complete request because of a conflicting operation (e.g. worker rebalance)",
        }
        for r in conflicts
    )
    deleted = [r for r in leader_hops if r[0] == 204]
    assert len(deleted) == 1, "only the leader serves a request that may not be forwarded"


def test_internal_task_config_endpoint_requires_a_valid_signature(cluster: Cluster) -> None:
    body = json.dumps([{"task.class": "x"}]).encode()
    for worker in cluster.workers:
        # Checked before the connector lookup: an unknown connector still answers 400, not 404.
        assert worker.http.request("POST", "/connectors/nope/tasks", raw=body) == (
            400,
            {"error_code": 400, "message": "Internal request missing required signature"},
        )
    headers = signature_headers(b"not the session key", body)
    code, answer = _signed_post(cluster.workers[0], "/connectors/nope/tasks", body, headers)
    assert (code, answer) == (
        403,
        {"error_code": 403, "message": "Internal request contained invalid signature."},
    )
    headers["X-Connect-Request-Signature-Algorithm"] = "HmacFoo"
    code, answer = _signed_post(cluster.workers[0], "/connectors/nope/tasks", body, headers)
    assert (code, answer) == (400, {"error_code": 400, "message": "Algorithm HmacFoo not available"})


def _after_rebalance(request: Callable[[], tuple[int, Any]], timeout: float = 60.0) -> tuple[int, Any]:
    """``request()``'s answer, sent again while it is 409 (a rebalance in progress) for up to ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        code, body = request()
        if code != 409 or time.monotonic() > deadline:
            return code, body
        time.sleep(0.5)


def _signed_post(worker: Worker, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        worker.http.base + path,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_internal_topics_hold_kafka_bytes(cluster: Cluster, topic_name: str) -> None:
    create_topics(cluster.kafka.bootstrap_servers, {topic_name: 1})
    leader = cluster.workers[0]
    config = synthetic(topic_name, 2, rate=10)
    code, _ = leader.http.request(
        "POST", "/connectors", {"name": "golden", "config": config, "initial_state": "PAUSED"}
    )
    assert code == 201
    cluster.wait_for(
        lambda: (s := cluster.status("golden")) is not None and s["connector"]["state"] == "PAUSED",
        what="paused connector",
    )
    assert leader.http.request("PUT", "/connectors/golden/resume") == (202, None)
    cluster.wait_for(lambda: cluster.running("golden", 2), what="running")
    assert leader.http.request("PUT", "/connectors/golden/stop") == (204, None)
    cluster.wait_for(
        lambda: (
            (s := cluster.status("golden")) is not None
            and s["connector"]["state"] == "STOPPED"
            and s["tasks"] == []
        ),
        what="stopped with no tasks",
    )

    records = read_topic(cluster.kafka.bootstrap_servers, cluster.topics["config"])
    mine = [(k.decode(), v) for _, _, k, v in records if k is not None and b"golden" in k]
    properties = dict(config, name="golden")
    expected_connector = b'{"properties":' + json.dumps(properties, separators=(",", ":")).encode() + b"}"
    assert mine[0] == ("target-state-golden", b'{"state":"PAUSED","state.v2":"PAUSED"}')
    assert mine[1] == ("connector-golden", expected_connector)
    assert ("target-state-golden", b'{"state":"STARTED","state.v2":"STARTED"}') in mine
    task_records = [(k, v) for k, v in mine if k.startswith("task-golden-")]
    assert [k for k, _ in task_records] == ["task-golden-0", "task-golden-1"]
    task0 = json.loads(task_records[0][1])["properties"]
    assert (
        task0["task.class"] == "kcfast.connectors.synthetic.SyntheticSourceTask"
        and task0["topic"] == topic_name
    )
    commits = [v for k, v in mine if k == "commit-golden"]
    assert commits == [b'{"tasks":2}', b'{"tasks":0}'], "STOPPED writes an empty task set"
    assert mine[-1] == ("target-state-golden", b'{"state":"PAUSED","state.v2":"STOPPED"}')
    keys = [k.decode() for _, _, k, _ in records if k is not None]
    assert "session-key" in keys
    session = json.loads(next(v for _, _, k, v in records if k == b"session-key"))
    assert (
        list(session) == ["key", "algorithm", "creation-timestamp"] and session["algorithm"] == "HmacSHA256"
    )
    assert len(base64.b64decode(session["key"])) == 32

    statuses = read_topic(cluster.kafka.bootstrap_servers, cluster.topics["status"])
    connector_status = [v for _, _, k, v in statuses if k == b"status-connector-golden" and v is not None]
    pattern = (
        rb'\{"state":"(RUNNING|PAUSED|STOPPED|UNASSIGNED)","trace":null,"worker_id":"127\.0\.0\.1:\d+",'
        rb'"generation":\d+\}'
    )
    assert connector_status and all(re.fullmatch(pattern, v) for v in connector_status), connector_status
    assert json.loads(connector_status[-1])["state"] == "STOPPED"
    task_keys = {k for _, _, k, _ in statuses if k is not None and k.startswith(b"status-task-golden-")}
    assert task_keys == {b"status-task-golden-0", b"status-task-golden-1"}

    # The offsets API works from any worker: changes are forwarded to the leader, reads come from the offsets topic.
    partition = {"synthetic": topic_name, "task": 0}
    body = {"offsets": [{"partition": partition, "offset": {"sequence": 5}}]}
    # Stopping the connector wrote an empty task set, so the group rebalances: a change arriving meanwhile is
    # answered 409 (as Kafka Connect answers it), and a user tries again.
    code, message = _after_rebalance(
        lambda: cluster.workers[1].http.request("PATCH", "/connectors/golden/offsets", body)
    )
    assert code == 200 and message["message"].startswith("The Connect framework-managed offsets for this connector "
                                                         "have been altered successfully.")

    def offsets() -> list[Any]:
        return cluster.workers[2].http.get("/connectors/golden/offsets")[1]["offsets"]  # type: ignore[no-any-return]

    cluster.wait_for(lambda: {"partition": partition, "offset": {"sequence": 5}} in offsets(), what="altered offset")

    # A reset writes tombstones for the partitions the leader has read. The test broker makes a partition's
    # newest records readable late, so first let every worker list every partition the offsets topic holds
    # (as a user looks at the offsets before resetting them).
    def in_topic() -> set[str]:
        latest: dict[bytes, bytes | None] = {}
        for _, _, key, value in read_topic(cluster.kafka.bootstrap_servers, cluster.topics["offset"]):
            if key is not None and key.startswith(b'["golden",'):
                latest[key] = value
        return {json.dumps(json.loads(k)[1], sort_keys=True) for k, v in latest.items() if v is not None}

    def listed(worker: Any) -> set[str]:
        return {json.dumps(o["partition"], sort_keys=True)
                for o in worker.http.get("/connectors/golden/offsets")[1]["offsets"]}

    expected = in_topic()
    assert json.dumps(partition, sort_keys=True) in expected
    cluster.wait_for(lambda: all(listed(w) == expected for w in cluster.workers), what="every partition listed")
    code, message = _after_rebalance(
        lambda: cluster.workers[2].http.request("DELETE", "/connectors/golden/offsets")
    )
    assert code == 200 and "have been reset successfully" in message["message"]
    cluster.wait_for(lambda: offsets() == [], what="offsets reset")
    assert leader.http.request("DELETE", "/connectors/golden")[0] == 204
