"""Source loop: records generated, encoded as JSON and written to the broker, by the plain loop and a worker.

Per case, in one run: ``ceiling`` (build the same value dicts as the synthetic source, ``orjson.dumps``,
``produce``, then ``flush``), ``kcfast`` (a standalone worker running the synthetic source with
JsonConverter: ``json`` without schemas, ``json-schema`` with Struct values and schemas) and ``kcfast-twin``
(the same on the pure-Python core). The worker is timed from the first ``poll`` until the offset flush that
holds the last record, after the broker acknowledged all of them. The ``json-schema`` case is compared to
the same schemaless ceiling: its envelope is larger, so its ratio is informative only.
"""

from __future__ import annotations

from typing import Any

import pytest

import _loops

CASES = ("json", "json-schema")
SIDES = ("ceiling", "kcfast", "kcfast-twin")


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("case", CASES)
def test_source_loop(kafka_broker: Any, loop_records: int, loop_rounds: int, record_result: Any, case: str,
                     side: str) -> None:
    bootstrap = kafka_broker.bootstrap_servers
    if side == "ceiling":
        if case != "json":
            pytest.skip("one ceiling (schemaless JSON) serves both cases")
        result = _loops.median_of(lambda: _loops.source_ceiling(bootstrap, loop_records, case=case), loop_rounds)
    else:
        impl = "cython" if side == "kcfast" else "python"
        result = _loops.median_of(lambda: _loops.source_worker(bootstrap, loop_records, case, impl), loop_rounds)
        assert result.extra["implementation"] == impl
    record_result(result)
    assert result.records == loop_records
