"""Peers: Quix Streams on the same jobs, on the same broker and data, beside the ceiling and kcfast.

``json``: the preloaded JSON topic into a batching sink (Quix) or the worker's timed sink (kcfast), with the
plain loop as ceiling, run also in the peers' environment (``ceiling-peers-env``) since Quix Streams pins
an older confluent-kafka. ``produce``: the synthetic source's values as JSON to a topic. Quix Streams runs
in its own environment (``benchmarks/results/peers-venv``, made by ``make bench``; or ``KCFAST_PEERS_PYTHON``);
without it these benchmarks are skipped with the reason.
"""

from __future__ import annotations

from typing import Any

import pytest

import _data
import _loops

SINK_SIDES = ("ceiling", "ceiling-peers-env", "kcfast", "quix")
PRODUCE_SIDES = ("ceiling", "kcfast", "quix")


@pytest.fixture(scope="module")
def peers() -> dict[str, str]:
    reason = _loops.peers_unavailable()
    if reason:
        pytest.skip(reason)
    return _loops.peers_versions()


@pytest.fixture(scope="module")
def json_topic(kafka_broker: Any, loop_records: int) -> _loops.Topic:
    return _loops.preload(kafka_broker.bootstrap_servers, _data.json_values(loop_records))


@pytest.mark.parametrize("side", SINK_SIDES)
def test_peers_sink(kafka_broker: Any, peers: dict[str, str], json_topic: _loops.Topic, record_result: Any,
                    loop_rounds: int, side: str) -> None:
    bootstrap = kafka_broker.bootstrap_servers

    def measure() -> _loops.Result:
        if side == "ceiling":
            return _loops.sink_ceiling(bootstrap, json_topic, suite="peers")
        if side == "ceiling-peers-env":
            return _loops.sink_ceiling(bootstrap, json_topic, suite="peers", side=side, python=_loops.PEERS_PYTHON)
        if side == "kcfast":
            return _loops.sink_worker(bootstrap, json_topic, "json", suite="peers")
        return _loops.quix_sink(bootstrap, json_topic)

    result = _loops.median_of(measure, loop_rounds)
    if side == "quix":
        result.extra.update(peers)
    record_result(result)
    assert result.records >= json_topic.records // 2


@pytest.mark.parametrize("side", PRODUCE_SIDES)
def test_peers_produce(kafka_broker: Any, peers: dict[str, str], loop_records: int, loop_rounds: int,
                       record_result: Any, side: str) -> None:
    bootstrap = kafka_broker.bootstrap_servers

    def measure() -> _loops.Result:
        if side == "ceiling":
            return _loops.source_ceiling(bootstrap, loop_records, suite="peers", case="produce")
        if side == "kcfast":
            measured = _loops.source_worker(bootstrap, loop_records, "json", suite="peers", side="kcfast")
            measured.case = "produce"
            return measured
        return _loops.quix_produce(bootstrap, loop_records)

    result = _loops.median_of(measure, loop_rounds)
    if side == "quix":
        result.extra.update(peers)
    record_result(result)
    assert result.records == loop_records
