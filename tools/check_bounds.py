"""Check benchmark results against ``benchmarks/bounds.json``; optionally compare them with a baseline.

Usage::

    python tools/check_bounds.py [--loops benchmarks/results/loops-latest.json]
                                 [--core benchmarks/results/latest.json]
                                 [--baseline OLD_LOOPS.json] [--bounds benchmarks/bounds.json]

``--loops`` is what the loop benchmarks save (``bench_*_loop.py``, ``bench_peers.py``, ``bench_scale.py``):
every ratio named in ``min`` that the run measured must reach ``min * (1 - margin)``, and every RSS named in
``max_rss_mb`` must stay at or below it. ``--core`` is pytest-benchmark's JSON of ``bench_core.py``: the
compiled core's speed-up over its twin in each group is printed, and checked where ``min`` has a
``core/<group>`` key. ``--baseline`` prints each ratio beside the one of an earlier loops file. Ratios the
run did not measure are reported as missing, not as failures. Exit status 1 when a bound is not met.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import _loops  # noqa: E402


def load_results(path: Path) -> list[_loops.Result]:
    """The :class:`_loops.Result` objects saved in a loops JSON file."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    fields = ("suite", "case", "side", "records", "seconds", "value_bytes", "rss_kb", "peak_rss_kb", "extra",
              "cpu_s")
    return [_loops.Result(**{k: r[k] for k in fields if k in r}) for r in doc["results"]]


def core_speedups(path: Path) -> dict[str, float]:
    """``{"core/<group>": median time of the twin / median time of the compiled core}`` (pytest-benchmark JSON;
    medians, since a loaded machine puts outliers in the means)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    means: dict[str, dict[str, float]] = {}
    for bench in doc.get("benchmarks", []):
        group = bench.get("group") or bench["name"]
        impl = "python" if "[python" in bench["name"] or "-python" in bench["name"] else "cython"
        means.setdefault(group, {})[impl] = bench["stats"]["median"]
    return {f"core/{g}": m["python"] / m["cython"] for g, m in sorted(means.items())
            if "python" in m and "cython" in m and m["cython"] > 0}


def check(measured: dict[str, float], rss: dict[str, float], bounds: dict[str, Any],
          baseline: dict[str, float] | None = None) -> list[str]:
    """Print one line per bound and return the failures."""
    margin = float(bounds.get("margin", 0.0))
    mins: dict[str, float] = bounds.get("min", {})
    goals: dict[str, float] = bounds.get("goals", {})
    failures = []
    for key in sorted(set(measured) | set(mins)):
        value = measured.get(key)
        if value is None:
            print(f"  {key:<40} {'missing':>8}  (min {mins[key]:.2f}; not measured in this run)")
            continue
        notes = []
        if key in mins:
            floor = mins[key] * (1.0 - margin)
            ok = value >= floor
            notes.append(f"min {mins[key]:.2f} {'ok' if ok else f'FAIL (< {floor:.2f})'}")
            if not ok:
                failures.append(f"{key} = {value:.2f} < {floor:.2f}")
        if key in goals:
            notes.append(f"goal {goals[key]:.2f} {'met' if value >= goals[key] else 'not met'}")
        if baseline is not None and key in baseline:
            notes.append(f"baseline {baseline[key]:.2f} ({(value / baseline[key] - 1) * 100:+.0f}%)")
        print(f"  {key:<40} {value:7.2f}x  {', '.join(notes)}")
    for key, limit in sorted(bounds.get("max_rss_mb", {}).items()):
        value = rss.get(key)
        if value is None:
            print(f"  {key:<40} {'missing':>8}  (max {limit} MB RSS)")
            continue
        ok = value <= limit
        print(f"  {key:<40} {value:6.1f} MB  max {limit} MB {'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(f"{key} RSS {value:.1f} MB > {limit} MB")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loops", type=Path, default=_loops.RESULTS / "loops-latest.json")
    parser.add_argument("--core", type=Path, default=_loops.RESULTS / "latest.json")
    parser.add_argument("--baseline", type=Path, default=None, help="an earlier loops JSON to compare with")
    parser.add_argument("--bounds", type=Path, default=_loops.BOUNDS)
    args = parser.parse_args(argv)

    bounds = _loops.load_bounds(args.bounds)
    measured: dict[str, float] = {}
    rss: dict[str, float] = {}
    if args.loops.exists():
        results = load_results(args.loops)
        measured.update(_loops.measured_ratios(results))
        rss = {f"{r.suite}/{r.case}/{r.side}": r.rss_kb / 1024 for r in results}
        print(f"loops: {args.loops}")
    else:
        print(f"loops: {args.loops} not found (run make bench)")
    if args.core.exists():
        measured.update(core_speedups(args.core))
        print(f"core:  {args.core}")
    baseline = _loops.measured_ratios(load_results(args.baseline)) if args.baseline else None
    failures = check(measured, rss, bounds, baseline)
    if failures:
        print("bounds not met:\n  " + "\n  ".join(failures))
        return 1
    print("all measured bounds met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
