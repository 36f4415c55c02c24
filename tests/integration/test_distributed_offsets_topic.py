"""A source connector with its own ``offsets.storage.topic`` on a ``kcfast distributed`` worker, driven
over REST: its offsets land in its topic with Kafka's key and value bytes, the offsets API reads them, a
stopped and resumed connector continues from them, and a connector without the setting keeps using the
worker's topic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kcfast.kafka.clients import create_topics
from kcfast.testing import EmbeddedKafka
from kcfast.testing.distributed import Cluster, assert_no_gap, committed, read_topic, sequences, synthetic

# One rerun, as the other distributed cluster tests: the embedded broker's coordinator occasionally stalls.
pytestmark = pytest.mark.integration


@pytest.fixture
def cluster(kafka: EmbeddedKafka, tmp_path: Path) -> Iterator[Cluster]:
    group = Cluster(kafka, tmp_path)
    try:
        group.start(1)
        yield group
    finally:
        group.stop()


def stop(cluster: Cluster, connector: str) -> None:
    """``PUT /connectors/{connector}/stop`` and wait until its tasks are gone (their offsets committed)."""
    assert cluster.workers[0].http.request("PUT", f"/connectors/{connector}/stop")[0] == 204
    cluster.wait_for(
        lambda: (s := cluster.status(connector)) is not None and s["tasks"] == [], what=f"{connector} stopped"
    )


def latest(bootstrap: str, topic: str) -> dict[bytes, Any]:
    """The last value of every key in ``topic`` (decoded JSON; None for a tombstone)."""
    out: dict[bytes, Any] = {}
    for _, _, key, value in read_topic(bootstrap, topic):
        assert key is not None
        out[key] = None if value is None else json.loads(value)
    return out


def test_connector_offsets_topic_holds_its_offsets_and_the_connector_resumes_from_it(
    cluster: Cluster, topic_name: str
) -> None:
    bootstrap = cluster.kafka.bootstrap_servers
    own_topic, data, plain_data = f"{topic_name}-offsets", f"{topic_name}-own", f"{topic_name}-plain"
    create_topics(bootstrap, {data: 1, plain_data: 1})
    worker = cluster.workers[0]
    own_config = synthetic(data, 1, rate=300, **{"offsets.storage.topic": own_topic})
    assert worker.http.request("POST", "/connectors", {"name": "own", "config": own_config})[0] == 201
    plain_config = synthetic(plain_data, 1, rate=300)
    assert worker.http.request("POST", "/connectors", {"name": "plain", "config": plain_config})[0] == 201
    cluster.wait_for(lambda: cluster.running("own", 1) and cluster.running("plain", 1), what="both running")
    cluster.wait_for(lambda: committed(worker, "own").get(0, -1) >= 100, what="own offsets committed")
    cluster.wait_for(lambda: committed(worker, "plain").get(0, -1) >= 100, what="plain offsets committed")

    stop(cluster, "own")  # both stopped, so that their topics can be read to their end
    stop(cluster, "plain")
    upto = committed(worker, "own")

    own_key = json.dumps(["own", {"synthetic": data, "task": 0}], separators=(",", ":")).encode()
    in_own_topic = latest(bootstrap, own_topic)
    assert set(in_own_topic) == {own_key}, "only the connector's partition is in its topic"
    assert in_own_topic[own_key] == {"sequence": upto[0]}
    code, body = worker.http.get("/connectors/own/offsets")
    assert code == 200
    partition = {"synthetic": data, "task": 0}
    assert body == {"offsets": [{"partition": partition, "offset": {"sequence": upto[0]}}]}

    # the worker's topic holds the other connector's offsets (and copies of the first one's)
    plain_key = json.dumps(["plain", {"synthetic": plain_data, "task": 0}], separators=(",", ":")).encode()
    in_worker_topic = latest(bootstrap, cluster.topics["offset"])
    assert plain_key in in_worker_topic and plain_key not in in_own_topic
    assert in_worker_topic.get(own_key) == {"sequence": upto[0]}

    assert worker.http.request("PUT", "/connectors/own/resume")[0] == 202
    cluster.wait_for(lambda: cluster.running("own", 1), what="own running again")
    cluster.wait_for(lambda: committed(worker, "own").get(0, -1) >= upto[0] + 100, what="own moving on")
    stop(cluster, "own")
    final = committed(worker, "own")
    seen = assert_no_gap(bootstrap, data, final)
    assert seen[0].count(0) == 1, "the resumed task went on from its committed offset, not from the start"
    assert latest(bootstrap, own_topic)[own_key] == {"sequence": final[0]}
    plain_offset = {"sequence": committed(worker, "plain")[0]}
    assert latest(bootstrap, cluster.topics["offset"])[plain_key] == plain_offset


def test_offsets_api_alters_and_resets_the_connector_topic(cluster: Cluster, topic_name: str) -> None:
    bootstrap = cluster.kafka.bootstrap_servers
    own_topic, data = f"{topic_name}-offsets", f"{topic_name}-data"
    create_topics(bootstrap, {data: 1})
    worker = cluster.workers[0]
    config = synthetic(data, 1, rate=300, **{"offsets.storage.topic": own_topic})
    body = {"name": "alter", "config": config, "initial_state": "STOPPED"}
    assert worker.http.request("POST", "/connectors", body)[0] == 201
    cluster.wait_for(
        lambda: (s := cluster.status("alter")) is not None and s["connector"]["state"] == "STOPPED",
        what="created stopped",
    )
    partition = {"synthetic": data, "task": 0}
    code, reply = worker.http.request(
        "PATCH",
        "/connectors/alter/offsets",
        {"offsets": [{"partition": partition, "offset": {"sequence": 41}}]},
    )
    assert code == 200, reply
    key = json.dumps(["alter", partition], separators=(",", ":")).encode()
    assert latest(bootstrap, own_topic) == {key: {"sequence": 41}}
    assert worker.http.get("/connectors/alter/offsets") == (
        200, {"offsets": [{"partition": partition, "offset": {"sequence": 41}}]})

    assert worker.http.request("PUT", "/connectors/alter/resume")[0] == 202
    cluster.wait_for(lambda: committed(worker, "alter").get(0, -1) >= 60, what="resumed after 41")
    stop(cluster, "alter")
    assert min(sequences(bootstrap, data)[0]) == 42, "the task started after the altered offset"

    code, reply = worker.http.request("DELETE", "/connectors/alter/offsets")
    assert code == 200, reply
    assert latest(bootstrap, own_topic)[key] is None
    assert latest(bootstrap, cluster.topics["offset"])[key] is None
    assert worker.http.get("/connectors/alter/offsets") == (200, {"offsets": []})
