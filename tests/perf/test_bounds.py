"""The performance guard: the sink and source loops on a small number of records, side by side with the
plain confluent-kafka loops, against the minimum ratios of ``benchmarks/bounds.json``.

Only ratios measured in this run are compared, never absolute times: the plain loop's CPU time per record
over the worker's (``cpu/<suite>/json/kcfast``), which holds steady when other processes share the cores,
unlike records/s. A ratio passes when it reaches its minimum less the guard margin of ``bounds.json``; a pair
that misses is measured again (up to ``ATTEMPTS`` times) so that a moment of noise does not fail the suite,
while a real regression misses every time. ``KCFAST_PERF_RECORDS`` changes the number of records.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kcfast.testing import EmbeddedKafka

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import _data  # noqa: E402
import _loops  # noqa: E402

RECORDS = int(os.environ.get("KCFAST_PERF_RECORDS", "200000"))
ATTEMPTS = 3

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def bounds() -> dict[str, object]:
    return _loops.load_bounds()


def _guard(bounds: dict[str, object], key: str,
           measure: Callable[[], tuple[_loops.Result, _loops.Result]]) -> None:
    minimum = float(bounds["min"][key])  # type: ignore[index]
    floor = minimum * (1.0 - float(bounds["guard_margin"]))  # type: ignore[arg-type]
    seen = []
    for _ in range(ATTEMPTS):
        ceiling, kcfast = measure()
        if kcfast.extra.get("implementation") != "cython":
            pytest.skip("the compiled core is not built: the bounds are those of the compiled core")
        ratio = ceiling.cpu_us / kcfast.cpu_us
        seen.append(f"{ratio:.2f} ({kcfast.cpu_us:.2f} vs {ceiling.cpu_us:.2f} CPU us/record; "
                    f"{kcfast.rate:,.0f} vs {ceiling.rate:,.0f} records/s)")
        if ratio >= floor:
            return
    pytest.fail(f"{key}: kcfast's efficiency was {', '.join(seen)} of the plain loop's; "
                f"the bound is {minimum:.2f} (failing below {floor:.2f})")


def test_sink_loop_json_keeps_its_ratio_to_the_plain_loop(kafka: EmbeddedKafka,
                                                          bounds: dict[str, object]) -> None:
    bootstrap = kafka.bootstrap_servers
    topic = _loops.preload(bootstrap, _data.json_values(RECORDS))

    def measure() -> tuple[_loops.Result, _loops.Result]:
        return _loops.sink_ceiling(bootstrap, topic), _loops.sink_worker(bootstrap, topic, "json")

    _guard(bounds, "cpu/sink/json/kcfast", measure)


def test_source_loop_json_keeps_its_ratio_to_the_plain_loop(kafka: EmbeddedKafka,
                                                            bounds: dict[str, object]) -> None:
    bootstrap = kafka.bootstrap_servers

    def measure() -> tuple[_loops.Result, _loops.Result]:
        return _loops.source_ceiling(bootstrap, RECORDS), _loops.source_worker(bootstrap, RECORDS, "json")

    _guard(bounds, "cpu/source/json/kcfast", measure)
