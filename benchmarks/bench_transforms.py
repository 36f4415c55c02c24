"""Benchmarks of a transformation chain over a batch of schemaless sink records.

Group ``transforms``: RegexRouter + InsertField$Value + ReplaceField$Value over ``BATCH`` SinkRecords of the
compiled core, run
- by the compiled core in one call (``transform_batch``),
- by the pure-Python twin in one call,
- by the chain's Python stages one record at a time (``apply_tolerant``, the loop without the fast path).

The ratios of the per-record chain to each batch path are printed at the end of the module.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import BATCH, NO_EXTENSIONS
from kcfast.plugins import Plugins
from kcfast.runtime.tolerance import RetryWithToleranceOperator
from kcfast.runtime.transforms import build_chain, stage_specs

CHAIN = {
    "transforms": "route,insert,replace",
    "transforms.route.type": "RegexRouter",
    "transforms.route.regex": "orders-(.*)",
    "transforms.route.replacement": "archive-$1",
    "transforms.insert.type": "org.apache.kafka.connect.transforms.InsertField$Value",
    "transforms.insert.topic.field": "topic",
    "transforms.insert.offset.field": "offset",
    "transforms.insert.static.field": "origin",
    "transforms.insert.static.value": "kcfast",
    "transforms.replace.type": "org.apache.kafka.connect.transforms.ReplaceField$Value",
    "transforms.replace.exclude": "secret",
    "transforms.replace.renames": "id:order_id",
}

VARIANTS = ["cython-batch", "python-batch", "per-record"]
_MIN_SECONDS: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def ratios(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print how much faster each batch path is than the per-record chain, once the module has run."""
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    base = _MIN_SECONDS.get("per-record")
    if reporter is None or capture is None or not base:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for variant in VARIANTS[:2]:
            seconds = _MIN_SECONDS.get(variant)
            if seconds:
                reporter.write_line(
                    f"transforms: {variant} is {base / seconds:.1f}x the per-record chain "
                    f"({seconds * 1e6 / BATCH:.2f} vs {base * 1e6 / BATCH:.2f} us/record, min of rounds)")


def sink_records(core: Any) -> list[Any]:
    value = {"secret": "s", "amount": 12.5, "item": "widget"}
    return [core.SinkRecord(f"orders-{i % 4}", i % 3, None, None, None, {"id": i, **value}, i,
                            1_700_000_000_000 + i) for i in range(BATCH)]


@pytest.mark.parametrize("variant", VARIANTS)
def test_transform_chain(benchmark: Any, run: Any, variant: str) -> None:
    benchmark.group = "transforms"
    benchmark.extra_info["records"] = BATCH
    if variant == "python-batch":
        core = importlib.import_module("kcfast._core_py")
    elif NO_EXTENSIONS:
        pytest.skip("KCFAST_NO_EXTENSIONS=1")
    else:
        core = importlib.import_module("kcfast._core")
    chain = build_chain(CHAIN, Plugins())
    assert chain is not None
    records = sink_records(core)
    expected = [chain.apply(r) for r in records]
    if variant == "per-record":
        operator = RetryWithToleranceOperator()
        results = run(lambda: [chain.apply_tolerant(r, operator)[0] for r in records])
    else:
        plan = core.compile_transform_plan(stage_specs(chain.stages))
        results, failures = run(core.transform_batch, records, plan)
        assert failures == []
    assert results == expected
    assert results[1].topic == "archive-1" and results[1].value == {
        "order_id": 1, "amount": 12.5, "item": "widget", "topic": "archive-1", "offset": 1,
        "origin": "kcfast"}
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        _MIN_SECONDS[variant] = stats.stats.min
