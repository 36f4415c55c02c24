"""Fixtures of the benchmarks: both implementations of the core, batches of consumed messages, and for the
loop benchmarks a broker, the number of records and the collected results.

Run with ``make bench`` (or ``pytest benchmarks``; ``-k core`` for the core alone). ``--calibrate`` switches
every core benchmark to ``benchmark.pedantic`` with fixed rounds, for comparable runs on noisy machines.
``--records N`` (or ``KCFAST_BENCH_RECORDS``) sets the records of each loop benchmark (default 1,000,000);
``--rounds N`` (or ``KCFAST_BENCH_ROUNDS``) runs each side of the sink, source and peers loops N times and keeps
the round with the median CPU time per record.
The loop benchmarks print their table at the end and save it to ``benchmarks/results/loops-latest.json``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from _data import order_schema, order_structs, order_values  # noqa: F401 - re-exported for bench_*.py

NO_EXTENSIONS = os.environ.get("KCFAST_NO_EXTENSIONS", "") in ("1", "true", "yes")

BATCH = 1000
"""Messages per consumed batch in the batch benchmarks."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--records",
        type=int,
        default=int(os.environ.get("KCFAST_BENCH_RECORDS", "1000000")),
        help="records of each loop benchmark (default 1000000, or KCFAST_BENCH_RECORDS)",
    )
    parser.addoption(
        "--rounds",
        type=int,
        default=int(os.environ.get("KCFAST_BENCH_ROUNDS", "1")),
        help="rounds of each loop benchmark side; the round with the median CPU time per record is kept "
             "(default 1, or KCFAST_BENCH_ROUNDS)",
    )
    parser.addoption(
        "--calibrate",
        action="store_true",
        default=False,
        help="run each benchmark with benchmark.pedantic (fixed rounds and iterations)",
    )


@pytest.fixture(params=["cython", "python"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    """The compiled core and its pure-Python twin, in turn."""
    if request.param == "python":
        return importlib.import_module("kcfast._core_py")
    if NO_EXTENSIONS:
        pytest.skip("KCFAST_NO_EXTENSIONS=1")
    return importlib.import_module("kcfast._core")


@pytest.fixture
def run(benchmark: Any, request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``run(fn, *args)`` benchmarks ``fn(*args)``; ``run(fn, setup=make_args)`` calls ``make_args()``
    before each round (untimed) for benchmarks that consume their input. Pedantic with ``--calibrate``."""

    def runner(fn: Callable[..., Any], *args: Any, setup: Callable[[], tuple[Any, ...]] | None = None) -> Any:
        if setup is not None:
            return benchmark.pedantic(fn, setup=lambda: (setup(), {}), rounds=30, warmup_rounds=2)
        if request.config.getoption("--calibrate"):
            return benchmark.pedantic(fn, args=args, rounds=50, iterations=5, warmup_rounds=2)
        return benchmark(fn, *args)

    return runner


# ------------------------------------------------------------------------------------- loop benchmarks


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[Any]:
    """A broker for the whole run: ``KCFAST_BOOTSTRAP`` if set, else the embedded one."""
    from kcfast.testing import EmbeddedKafka

    with EmbeddedKafka() as broker:
        yield broker


@pytest.fixture(scope="session")
def loop_records(request: pytest.FixtureRequest) -> int:
    """Records of each loop benchmark."""
    return int(request.config.getoption("--records"))


@pytest.fixture(scope="session")
def loop_rounds(request: pytest.FixtureRequest) -> int:
    """Rounds of each loop benchmark side (``_loops.median_of``)."""
    return int(request.config.getoption("--rounds"))


@pytest.fixture
def record_result(request: pytest.FixtureRequest) -> Callable[[Any], Any]:
    """``record_result(result)`` keeps a loop benchmark's :class:`_loops.Result` for the final table."""

    def keep(result: Any) -> Any:
        _RESULTS.append(result)
        request.node.user_properties.append(("result", result.as_dict()))
        return result

    return keep


_RESULTS: list[Any] = []


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _RESULTS:
        return
    import time

    import _loops

    terminalreporter.write_sep("=", "loop benchmarks (ratios are to the ceiling of the same suite and case)")
    terminalreporter.write_line(_loops.table(_RESULTS))
    for line in _loops.round_lines(_RESULTS):
        terminalreporter.write_line(line)
    for line in _loops.summary_lines(_RESULTS):
        terminalreporter.write_line(line)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    records = config.getoption("--records")
    for name in ("loops-latest.json", f"loops-{stamp}.json"):
        _loops.save(_RESULTS, _loops.RESULTS / name, records=records, command=" ".join(config.invocation_params.args))
    terminalreporter.write_line(f"saved {_loops.RESULTS / 'loops-latest.json'}")


# ---------------------------------------------------------------------------------------------- data

KINDS = ("bytes", "string", "json", "json-schema")


def converters(kind: str) -> tuple[Any, Any, Any]:
    """(key converter, value converter, header converter) for a benchmark kind."""
    from kcfast.converters import ByteArrayConverter, JsonConverter, SimpleHeaderConverter, StringConverter

    headers = SimpleHeaderConverter()
    headers.configure({})
    if kind == "bytes":
        key: Any = ByteArrayConverter()
        value: Any = ByteArrayConverter()
    elif kind == "string":
        key, value = StringConverter(), StringConverter()
    else:
        key, value = StringConverter(), JsonConverter()
    key.configure({}, True)
    value.configure({"schemas.enable": "true" if kind == "json-schema" else "false"}, False)
    return key, value, headers


def value_bytes(kind: str, n: int) -> list[bytes]:
    """The value bytes of ``n`` records as a producer of that kind writes them."""
    import orjson

    if kind in ("bytes", "json"):
        return [orjson.dumps(v) for v in order_values(n)]
    if kind == "string":
        return [f"line {i}: {'x' * 150}".encode() for i in range(n)]
    _, conv, _ = converters(kind)
    schema = order_schema()
    return [conv.from_connect_data("orders", schema, s) for s in order_structs(n)]


def messages(kind: str, n: int) -> list[Any]:
    """A consumed batch of ``n`` ``confluent_kafka.Message`` objects of that kind."""
    from confluent_kafka import Message

    return [
        Message(topic="orders", partition=i % 4, offset=i, key=b"%d" % i, value=v, timestamp=(1, 1_700_000_000_000 + i))
        for i, v in enumerate(value_bytes(kind, n))
    ]


def source_records(impl: ModuleType, kind: str, n: int) -> list[Any]:
    """``n`` SourceRecords of that kind."""
    from kcfast.data import Schema

    key_schema, keys = Schema.OPTIONAL_STRING_SCHEMA, [str(i) for i in range(n)]
    if kind == "bytes":
        values: list[Any] = value_bytes("bytes", n)
        schema = Schema.OPTIONAL_BYTES_SCHEMA
        key_schema, keys = Schema.OPTIONAL_BYTES_SCHEMA, [b"%d" % i for i in range(n)]
    elif kind == "string":
        values = [v.decode() for v in value_bytes("string", n)]
        schema = Schema.OPTIONAL_STRING_SCHEMA
    elif kind == "json":
        values, schema = order_values(n), None
    else:
        values, schema = order_structs(n), order_schema()
    return [
        impl.SourceRecord({"table": "orders"}, {"lsn": i}, "orders", None, key_schema, k, schema, v)
        for i, (k, v) in enumerate(zip(keys, values))
    ]
