"""Sink loop: a preloaded topic read by the plain confluent-kafka loop and by a standalone worker.

Per case, in one run on the same topic: ``ceiling`` (``consume(batch)`` + ``orjson.loads`` per value; for
``bytes`` only ``value()``), ``kcfast`` (a standalone worker on the compiled core running a Python sink with
the case's converters: ``json`` JsonConverter without schemas, ``json-schema`` with schemas on enveloped
data, ``bytes`` ByteArrayConverter) and ``kcfast-twin`` (the same worker on the pure-Python core). The
worker is timed from its first ``put`` until the broker holds its committed end offsets.
"""

from __future__ import annotations

from typing import Any

import pytest

import _data
import _loops

CASES = ("json", "json-schema", "bytes")
SIDES = ("ceiling", "kcfast", "kcfast-twin")


@pytest.fixture(scope="module")
def topics(kafka_broker: Any, loop_records: int) -> dict[str, _loops.Topic]:
    """The JSON topic (also read raw by the ``bytes`` case) and the enveloped one, preloaded once."""
    plain = _loops.preload(kafka_broker.bootstrap_servers, _data.json_values(loop_records))
    enveloped = _loops.preload(kafka_broker.bootstrap_servers, _data.envelope_values(loop_records))
    return {"json": plain, "bytes": plain, "json-schema": enveloped}


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("case", CASES)
def test_sink_loop(kafka_broker: Any, topics: dict[str, _loops.Topic], record_result: Any, loop_rounds: int,
                   case: str, side: str) -> None:
    bootstrap, topic = kafka_broker.bootstrap_servers, topics[case]
    if side == "ceiling":
        result = _loops.median_of(
            lambda: _loops.sink_ceiling(bootstrap, topic, "none" if case == "bytes" else "json", case=case),
            loop_rounds)
    else:
        impl = "cython" if side == "kcfast" else "python"
        result = _loops.median_of(lambda: _loops.sink_worker(bootstrap, topic, case, impl), loop_rounds)
        assert result.extra["implementation"] == impl
    record_result(result)
    assert result.records > topic.records // 2
