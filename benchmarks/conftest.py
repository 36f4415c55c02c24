"""Fixtures of the benchmarks: both implementations of the core, and batches of consumed messages.

Run with ``make bench`` (or ``pytest benchmarks --benchmark-only``). ``--calibrate`` switches every
benchmark to ``benchmark.pedantic`` with fixed rounds, for comparable runs on noisy machines.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

NO_EXTENSIONS = os.environ.get("KCFAST_NO_EXTENSIONS", "") in ("1", "true", "yes")

BATCH = 1000
"""Messages per consumed batch in the batch benchmarks."""


def pytest_collect_file(parent: pytest.Collector, file_path: Any) -> pytest.Module | None:
    """Collect ``bench_<area>.py`` modules (pytest's default pattern is ``test_*.py``)."""
    if file_path.suffix == ".py" and file_path.name.startswith("bench_"):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


def pytest_addoption(parser: pytest.Parser) -> None:
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


# ---------------------------------------------------------------------------------------------- data

KINDS = ("bytes", "string", "json", "json-schema")


def order_values(n: int) -> list[dict[str, Any]]:
    """``n`` order-like JSON objects of about 170 bytes each, with nested fields."""
    return [
        {
            "id": 1_000_000 + i,
            "customer": {"name": f"Cust {i % 997:04d}", "email": f"c{i % 997}@ex.com", "tier": "gold"},
            "items": [{"sku": f"A-{i % 13}", "qty": 1 + i % 3}, {"sku": "B-7", "qty": 1}],
            "total": round(10 + (i % 1000) * 0.37, 2),
            "paid": i % 2 == 0,
            "ts": 1_700_000_000_000 + i,
        }
        for i in range(n)
    ]


_ORDER_SCHEMA: Any = None


def order_schema() -> Any:
    """The Connect schema of the order values (one object, as a connector defines it once)."""
    global _ORDER_SCHEMA
    if _ORDER_SCHEMA is None:
        _ORDER_SCHEMA = _build_order_schema()
    return _ORDER_SCHEMA


def _build_order_schema() -> Any:
    from kcfast.data import Schema, SchemaBuilder

    customer = (
        SchemaBuilder.struct().name("Customer")
        .field("name", Schema.STRING_SCHEMA).field("email", Schema.OPTIONAL_STRING_SCHEMA)
        .field("tier", Schema.STRING_SCHEMA).build()
    )
    item = SchemaBuilder.struct().name("Item").field("sku", Schema.STRING_SCHEMA).field("qty", Schema.INT32_SCHEMA).build()
    return (
        SchemaBuilder.struct().name("Order")
        .field("id", Schema.INT64_SCHEMA).field("customer", customer)
        .field("items", SchemaBuilder.array(item).build()).field("total", Schema.FLOAT64_SCHEMA)
        .field("paid", Schema.BOOLEAN_SCHEMA).field("ts", Schema.INT64_SCHEMA).build()
    )


def order_structs(n: int) -> list[Any]:
    from kcfast.data import Struct

    schema = order_schema()
    customer_schema = schema.field("customer").schema
    item_schema = schema.field("items").schema.value_schema
    out = []
    for v in order_values(n):
        c = v["customer"]
        out.append(
            Struct(schema).put("id", v["id"])
            .put("customer", Struct(customer_schema).put("name", c["name"]).put("email", c["email"]).put("tier", c["tier"]))
            .put("items", [Struct(item_schema).put("sku", it["sku"]).put("qty", it["qty"]) for it in v["items"]])
            .put("total", v["total"]).put("paid", v["paid"]).put("ts", v["ts"])
        )
    return out


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
