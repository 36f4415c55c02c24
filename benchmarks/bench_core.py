"""Benchmarks of the record core, on the compiled core and its pure-Python twin.

Groups:
- ``sink-bytes``, ``sink-string``, ``sink-json``, ``sink-json-schema``: one consumed batch of ``BATCH``
  ``confluent_kafka.Message`` objects -> SinkRecords (``sink_records_from_messages``);
- ``source-bytes``, ``source-json``, ``source-json-schema``: a batch of SourceRecords -> produce-ready
  tuples (``encode_source_records``);
- ``source-json-decimal``, ``sink-json-decimal``: the same with a change-event-like value of three Decimal
  fields (``numeric`` columns: base64 unscaled values, as JsonConverter writes them by default), one batch
  each way;
- ``offsets-source``: submit, ack and ``committable_offsets`` of a batch; ``offsets-sink``: ``update``;
- ``records``: SinkRecord construction and ``new_record``.

Goals (issue 2): compiled >= 5x the twin on ``sink-json-schema``; >= 1M SinkRecords/s on ``sink-bytes``
(one batch of 1000 in <= 1 ms).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from conftest import BATCH, KINDS, converters, messages, source_records

Run = Callable[..., Any]


# --------------------------------------------------------------------------------------------- sink batches


@pytest.mark.parametrize("kind", KINDS)
def test_sink_batch(benchmark: Any, run: Run, impl: ModuleType, kind: str) -> None:
    benchmark.group = f"sink-{kind}"
    benchmark.extra_info["records"] = BATCH
    batch = messages(kind, BATCH)
    key_converter, value_converter, header_converter = converters(kind)
    records = run(impl.sink_records_from_messages, batch, key_converter, value_converter, header_converter)
    assert len(records) == BATCH


# ------------------------------------------------------------------------------------------- source batches

@pytest.mark.parametrize("kind", KINDS)
def test_source_encode(benchmark: Any, run: Run, impl: ModuleType, kind: str) -> None:
    benchmark.group = f"source-{kind}"
    benchmark.extra_info["records"] = BATCH
    records = source_records(impl, kind, BATCH)
    key_converter, value_converter, header_converter = converters(kind)
    encoded = run(impl.encode_source_records, records, key_converter, value_converter, header_converter)
    assert len(encoded) == BATCH


# ----------------------------------------------------------------------------------------- Decimal fields


def _decimal_schema() -> Any:
    from kcfast.data import Decimal, Schema, SchemaBuilder

    return (
        SchemaBuilder.struct().name("orders.Value")
        .field("id", Schema.INT64_SCHEMA).field("customer", Schema.OPTIONAL_STRING_SCHEMA)
        .field("amount", Decimal.builder(2).optional().build()).field("price", Decimal.builder(4).optional().build())
        .field("balance", Decimal.builder(2).optional().build()).field("qty", Schema.OPTIONAL_INT32_SCHEMA).build()
    )


def _decimal_structs(n: int) -> list[Any]:
    import decimal

    from kcfast.data import Struct

    schema = _decimal_schema()
    return [
        Struct(schema).put("id", i).put("customer", f"customer {i % 1000}")
        .put("amount", decimal.Decimal(i).scaleb(-2)).put("price", decimal.Decimal(-37 * i - 5).scaleb(-4))
        .put("balance", decimal.Decimal(10**20 + i).scaleb(-2)).put("qty", i % 10)
        for i in range(n)
    ]


def _decimal_converter() -> Any:
    from kcfast.converters import JsonConverter

    conv = JsonConverter()
    conv.configure({"schemas.enable": "true"}, False)
    return conv


def test_source_encode_decimal(benchmark: Any, run: Run, impl: ModuleType) -> None:
    benchmark.group = "source-json-decimal"
    benchmark.extra_info["records"] = BATCH
    schema, conv = _decimal_schema(), _decimal_converter()
    records = [impl.SourceRecord({"t": "orders"}, {"lsn": i}, "orders", None, None, None, schema, s)
               for i, s in enumerate(_decimal_structs(BATCH))]
    _, _, header_converter = converters("json-schema")
    encoded = run(impl.encode_source_records, records, conv, conv, header_converter)
    assert [e[3] for e in encoded[:3]] == [conv.from_connect_data("orders", schema, r.value) for r in records[:3]]


def test_sink_batch_decimal(benchmark: Any, run: Run, impl: ModuleType) -> None:
    from confluent_kafka import Message

    benchmark.group = "sink-json-decimal"
    benchmark.extra_info["records"] = BATCH
    schema, conv = _decimal_schema(), _decimal_converter()
    structs = _decimal_structs(BATCH)
    batch = [Message(topic="orders", partition=0, offset=i, value=conv.from_connect_data("orders", schema, s),
                     timestamp=(1, 1_700_000_000_000 + i)) for i, s in enumerate(structs)]
    _, _, header_converter = converters("json-schema")
    records = run(impl.sink_records_from_messages, batch, conv, conv, header_converter)
    assert [r.value for r in records] == structs


# ------------------------------------------------------------------------------------------------- offsets


def test_source_offsets_cycle(benchmark: Any, run: Run, impl: ModuleType) -> None:
    benchmark.group = "offsets-source"
    benchmark.extra_info["records"] = BATCH
    records = [impl.SourceRecord({"table": f"t{i % 4}"}, {"lsn": i}, "topic", value=i) for i in range(BATCH)]

    def cycle() -> Any:
        tracker = impl.SubmittedRecords()
        for submitted in tracker.submit_all(records):
            submitted.ack()
        return tracker.committable_offsets()

    result = run(cycle)
    assert result.num_committable_messages == BATCH


def test_sink_offsets_update(benchmark: Any, run: Run, impl: ModuleType) -> None:
    benchmark.group = "offsets-sink"
    benchmark.extra_info["records"] = BATCH
    batch = [impl.SinkRecord("topic", i // 250, None, None, None, None, i) for i in range(BATCH)]
    offsets = impl.SinkOffsets()
    run(offsets.update, batch)
    assert offsets.consumed[("topic", 3)] == BATCH


# ------------------------------------------------------------------------------------------------- records


def test_sink_record_construct(benchmark: Any, run: Run, impl: ModuleType) -> None:
    benchmark.group = "records"
    benchmark.extra_info["records"] = BATCH
    cls = impl.SinkRecord

    def build() -> list[Any]:
        return [cls("topic", 0, None, b"k", None, b"v", i, 1_700_000_000_000) for i in range(BATCH)]

    assert len(run(build)) == BATCH


def test_sink_new_record(benchmark: Any, run: Run, impl: ModuleType) -> None:
    benchmark.group = "records-new"
    benchmark.extra_info["records"] = BATCH
    batch = [impl.SinkRecord("topic", 0, None, b"k", None, b"v", i, 1_700_000_000_000) for i in range(BATCH)]

    def transform() -> list[Any]:
        return [r.new_record("renamed", r.kafka_partition, None, r.key, None, r.value, r.timestamp) for r in batch]

    assert len(run(transform)) == BATCH
