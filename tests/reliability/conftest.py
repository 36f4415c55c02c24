"""Fixtures of the fault and fuzz suites, and the results table they fill.

Each scenario records one row (load held, fault, bad inputs tried, records lost, duplicates seen) with the
``results`` fixture. At the end of the session the table is printed; with ``KCFAST_RELIABILITY_REPORT=1`` it is
also written into ``tests/reliability/README.md`` between the ``results`` markers.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability_harness import ROWS, Results

README = Path(__file__).with_name("README.md")
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


@pytest.fixture
def results() -> Results:
    return Results()


@pytest.fixture
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="kcfast-fault-") as tmp:
        yield Path(tmp)


@pytest.fixture
def fault_broker() -> Iterator[Any]:
    """A broker of this test's own (it gets frozen and killed), never ``KCFAST_BOOTSTRAP``'s."""
    if os.environ.get("KCFAST_BOOTSTRAP"):
        pytest.skip("KCFAST_BOOTSTRAP is set: the fault suites freeze and kill a broker they start themselves")
    from reliability_harness import FaultBroker

    broker = FaultBroker()
    try:
        yield broker
    finally:
        broker.thaw()
        broker.stop()


def table() -> str:
    lines = [
        "| scenario | load held | fault | bad inputs tried | records lost | duplicates seen | outcome |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(ROWS, key=lambda r: r.scenario):
        lines.append(f"| {r.scenario} | {r.load} | {r.fault} | {r.bad_inputs} | {r.lost} | {r.duplicates} | "
                     f"{r.outcome} |")
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not ROWS:
        return
    terminalreporter.write_sep("-", "reliability results")
    terminalreporter.write_line(table())
    if os.environ.get("KCFAST_RELIABILITY_REPORT") in ("1", "true", "yes") and README.exists():
        text = README.read_text(encoding="utf-8")
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            README.write_text(f"{head}{BEGIN}\n{table()}\n{END}{tail}", encoding="utf-8")
            terminalreporter.write_line(f"written to {README}")
