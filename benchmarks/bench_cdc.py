"""CDC benchmark: the PostgreSQL source's snapshot and streaming events/s and the worker's RSS, beside the ceiling.

The ceiling is a plain psycopg2 logical replication read of the same changes (pgoutput messages received and
counted, nothing decoded). The worker runs ``kcfast standalone`` with the PostgreSQL source writing JSON
envelopes to the embedded broker; rates count events from the first to the last one landing in the topic.
An in-process breakdown shows where the source's time goes: pgoutput decoding, row conversion, event
building, JSON conversion.

``KCFAST_CDC_ROWS`` sets the rows of each phase (default 100,000). Results are printed and saved to
``benchmarks/results/cdc-latest.json``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kcfast.testing import EmbeddedKafka, StandaloneProcess, free_port
from kcfast.testing.postgres import EmbeddedPostgres

ROWS = int(os.environ.get("KCFAST_CDC_ROWS", "100000"))
RESULTS = Path(__file__).parent / "results" / "cdc-latest.json"
TABLE = """CREATE TABLE orders (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2),
           created timestamp NOT NULL, status text, qty integer)"""
FILL = """INSERT INTO orders SELECT g, 'customer ' || (g %% 1000), g * 0.01, timestamp '2024-01-01' + g * interval '1 s',
          'new', g %% 10 FROM generate_series(%s, %s) g"""
_results: dict[str, Any] = {}


@pytest.fixture(scope="module")
def pg() -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres() as server:
        yield server


@pytest.fixture(scope="module")
def broker() -> Iterator[EmbeddedKafka]:
    with EmbeddedKafka() as kafka:
        yield kafka


def _execute(pg: EmbeddedPostgres, sql: str, params: tuple[Any, ...] = ()) -> None:
    conn = pg.connect("bench")
    with conn.cursor() as cur:
        cur.execute(sql, params)
    conn.close()


def _rss_kb(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line.split(":")[0]] = int(line.split()[1])
    return out


class _Counter:
    """Counts the topic's records from a consumer thread and notes when each count was first reached."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        import threading

        from kcfast.kafka.clients import new_consumer

        self.count = 0
        self.first_at = 0.0
        self.reached: dict[int, float] = {}
        self._stop = threading.Event()
        self._consumer = new_consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{time.time_ns()}",
                                       "auto.offset.reset": "earliest", "enable.auto.commit": False,
                                       "session.timeout.ms": 6000, "fetch.max.bytes": 52428800})
        self._consumer.subscribe([topic])
        deadline = time.monotonic() + 60
        while not self._consumer.assignment() and time.monotonic() < deadline:
            self._consumer.consume(num_messages=1, timeout=0.2)  # joins the group before the worker starts
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self._consumer.consume(num_messages=10000, timeout=0.2)
            if batch:
                if not self.first_at:
                    self.first_at = time.perf_counter()
                self.count += sum(1 for m in batch if m.error() is None)
                self.reached[self.count] = time.perf_counter()

    def time_of(self, count: int) -> float:
        return min(t for n, t in self.reached.items() if n >= count)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._consumer.close()


def _ceiling(pg: EmbeddedPostgres, slot: str, expected: int) -> float:
    """Seconds a plain psycopg2 replication read takes to receive ``expected`` insert messages."""
    import psycopg2
    import psycopg2.extras

    conn = psycopg2.connect(pg.dsn("bench"), connection_factory=psycopg2.extras.LogicalReplicationConnection)
    cur = conn.cursor()
    cur.start_replication(slot_name=slot, decode=False,
                          options={"proto_version": "1", "publication_names": "bench_pub"})
    seen = 0
    start = None
    import select

    while seen < expected:
        msg = cur.read_message()
        if msg is None:
            select.select([conn], [], [], 1.0)
            continue
        if msg.payload[:1] == b"I":
            if start is None:
                start = time.perf_counter()
            seen += 1
    elapsed = time.perf_counter() - (start or time.perf_counter())
    conn.close()
    return elapsed


def _in_process_breakdown(pg: EmbeddedPostgres, slot: str, expected: int) -> dict[str, float]:
    """events/s of each stage of the source over the same stream, measured in this process."""
    import select

    import psycopg2
    import psycopg2.extras

    from kcfast import core
    from kcfast.connectors.postgres.catalog import TypeRegistry, load_tables
    from kcfast.connectors.postgres.config import PostgresSourceConfig
    from kcfast.connectors.postgres.events import TableEvents, source_struct
    from kcfast.connectors.postgres.pgoutput import decode
    from kcfast.converters import JsonConverter

    conn = psycopg2.connect(pg.dsn("bench"), connection_factory=psycopg2.extras.LogicalReplicationConnection)
    cur = conn.cursor()
    cur.start_replication(slot_name=slot, decode=False,
                          options={"proto_version": "1", "publication_names": "bench_pub"})
    payloads: list[tuple[bytes, int]] = []
    while sum(1 for p, _ in payloads if p[:1] == b"I") < expected:
        msg = cur.read_message()
        if msg is None:
            select.select([conn], [], [], 1.0)
            continue
        payloads.append((msg.payload, msg.data_start))
    conn.close()
    config = PostgresSourceConfig.parse({**pg.connector_config("bench"), "topic.prefix": "b"})
    control = pg.connect("bench")
    registry = TypeRegistry()
    with control.cursor() as c:
        tables = load_tables(c, config.filter)
        registry.load(c, {col.type_oid for t in tables for col in t.columns})
    control.close()
    events = TableEvents(tables[0], "b", registry, config.mapping, config.filter.captures_column)
    inserts = [(p, lsn) for p, lsn in payloads if p[:1] == b"I"]
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    decoded = [decode(p) for p, _ in inserts]
    out["decode"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = [events.row(d[2]) for d in decoded]
    out["rows"] = time.perf_counter() - t0
    from kcfast.api import SourceRecord

    t0 = time.perf_counter()
    records = []
    part = {"server": "b"}
    for (d, row), (_, lsn) in zip(zip(decoded, rows), inserts):
        source = source_struct("b", "bench", "public", "orders", 0, None, 1, lsn, 0)
        records.append(SourceRecord(part, {"lsn": lsn}, events.topic, None, events.key_schema,
                                    events.key(d[2], row), events.envelope_schema,
                                    events.envelope(None, row, source, "c", 0), 0))
    out["events"] = time.perf_counter() - t0
    key_conv, value_conv = JsonConverter(), JsonConverter()
    key_conv.configure({"schemas.enable": "true"}, True)
    value_conv.configure({"schemas.enable": "true"}, False)
    t0 = time.perf_counter()
    for i in range(0, len(records), 2048):
        core.encode_source_records(records[i:i + 2048], key_conv, value_conv, None)
    out["json"] = time.perf_counter() - t0
    return {stage: len(inserts) / seconds for stage, seconds in out.items()}


def test_cdc_snapshot_and_streaming(pg: EmbeddedPostgres, broker: EmbeddedKafka, tmp_path: Path) -> None:
    pg.create_database("bench")
    _execute(pg, TABLE)
    _execute(pg, FILL, (1, ROWS))
    _execute(pg, "CREATE PUBLICATION bench_pub FOR ALL TABLES")
    topic = "bench.public.orders"
    from kcfast.kafka.clients import create_topics

    create_topics(broker.bootstrap_servers, {topic: 1})
    port = free_port()
    worker_props = "\n".join([
        f"bootstrap.servers={broker.bootstrap_servers}", f"listeners=http://127.0.0.1:{port}",
        f"offset.storage.file.filename={tmp_path / 'offsets'}", "offset.flush.interval.ms=1000",
        "key.converter=org.apache.kafka.connect.json.JsonConverter",
        "value.converter=org.apache.kafka.connect.json.JsonConverter", "producer.linger.ms=5",
    ]) + "\n"
    connector = tmp_path / "source.json"
    connector.write_text(json.dumps({"name": "bench-source", "config": {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector", "topic.prefix": "bench",
        "slot.name": "bench_slot", "publication.name": "bench_pub", "publication.autocreate.mode": "disabled",
        **pg.connector_config("bench")}}))
    counter = _Counter(broker.bootstrap_servers, topic)
    worker = StandaloneProcess(tmp_path, worker_props, [connector], port).start()
    try:
        assert worker.proc is not None
        worker.wait_for(lambda: counter.count >= ROWS, timeout=600, what="snapshot events")
        snapshot_s = counter.time_of(ROWS) - counter.first_at
        rss_snapshot = _rss_kb(worker.proc.pid)
        # Reference slots created now see exactly the streamed changes below.
        _execute(pg, "SELECT pg_create_logical_replication_slot('ceiling_slot', 'pgoutput')")
        _execute(pg, "SELECT pg_create_logical_replication_slot('breakdown_slot', 'pgoutput')")
        t0 = time.perf_counter()
        _execute(pg, FILL, (ROWS + 1, 2 * ROWS))
        commit_s = time.perf_counter() - t0
        worker.wait_for(lambda: counter.count >= 2 * ROWS, timeout=600, what="streamed events")
        first_streamed = min(t for n, t in counter.reached.items() if n > ROWS)
        stream_s = counter.time_of(2 * ROWS) - first_streamed
        stream_from_commit_s = counter.time_of(2 * ROWS) - t0 - commit_s
        rss_stream = _rss_kb(worker.proc.pid)
    finally:
        worker.stop()
        counter.close()
    ceiling_s = _ceiling(pg, "ceiling_slot", ROWS)
    breakdown = _in_process_breakdown(pg, "breakdown_slot", ROWS)
    _results.update({
        "rows": ROWS,
        "snapshot_events_per_s": ROWS / snapshot_s,
        "stream_events_per_s": ROWS / stream_s,
        "stream_insert_commit_s": commit_s,
        "stream_events_per_s_from_commit": ROWS / stream_from_commit_s,
        "ceiling_psycopg2_read_per_s": ROWS / ceiling_s if ceiling_s else float("inf"),
        "worker_rss_kb_after_snapshot": rss_snapshot,
        "worker_rss_kb_after_stream": rss_stream,
        "in_process_stage_events_per_s": breakdown,
    })
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(_results, indent=2))
    print("\nCDC benchmark:", json.dumps(_results, indent=2))
    assert _results["stream_events_per_s"] > 0
