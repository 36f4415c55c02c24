"""CDC benchmark: the PostgreSQL source's snapshot and streaming events/s and the worker's RSS, beside the ceiling.

The ceiling is a plain psycopg2 logical replication read of the same changes (pgoutput messages received and
counted, nothing decoded). The worker runs ``kcfast standalone`` with the PostgreSQL source writing JSON
envelopes to the embedded broker; rates count events from the first to the last one landing in the topic.
PostgreSQL, the broker and this process share the machine with the worker, so the wall-clock rate depends on
the machine; the worker's own CPU time (user + system, all its threads) gives events per CPU-second, the rate
one fully used core would reach. An in-process breakdown shows where the source's time goes: reading the
stream (psycopg2), the record core's pgoutput decoding, row conversion and event building (compiled, and the
pure-Python twin), and JSON conversion.

``KCFAST_CDC_ROWS`` sets the rows of each phase (default 100,000). ``KCFAST_CDC_PIN=1`` (Linux, 2 CPUs or
more) runs the worker alone on the last CPU and PostgreSQL, the broker and this process on the others.
Results are printed and saved to ``benchmarks/results/cdc-latest.json``.
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
PIN = os.environ.get("KCFAST_CDC_PIN", "") in ("1", "true", "yes") and (os.cpu_count() or 1) > 1
WORKER_CPU = (os.cpu_count() or 1) - 1
RESULTS = Path(__file__).parent / "results" / "cdc-latest.json"
TABLE = """CREATE TABLE orders (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2),
           created timestamp NOT NULL, status text, qty integer)"""
FILL = """INSERT INTO orders SELECT g, 'customer ' || (g %% 1000), g * 0.01, timestamp '2024-01-01' + g * interval '1 s',
          'new', g %% 10 FROM generate_series(%s, %s) g"""
_results: dict[str, Any] = {}


@pytest.fixture(scope="module")
def pg() -> Iterator[EmbeddedPostgres]:
    if PIN:  # PostgreSQL and the broker, started next, inherit this
        os.sched_setaffinity(0, set(range(WORKER_CPU)))
    with EmbeddedPostgres() as server:
        yield server


def _pin_worker(pid: int) -> None:
    for tid in os.listdir(f"/proc/{pid}/task"):  # threads started later inherit it
        os.sched_setaffinity(int(tid), {WORKER_CPU})


@pytest.fixture(scope="module")
def broker() -> Iterator[EmbeddedKafka]:
    with EmbeddedKafka() as kafka:
        yield kafka


def _execute(pg: EmbeddedPostgres, sql: str, params: tuple[Any, ...] = ()) -> None:
    conn = pg.connect("bench")
    with conn.cursor() as cur:
        cur.execute(sql, params)
    conn.close()


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown")
    return {"cpus": os.cpu_count(), "cpu_model": model, "load_average": os.getloadavg()}


def _rss_kb(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line.split(":")[0]] = int(line.split()[1])
    return out


class _Counter:
    """Counts the topic's records from a consumer thread and notes when each count was first reached, with the
    CPU time the worker had used by then."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        import threading

        from kcfast.kafka.clients import new_consumer

        self.count = 0
        self.first_at = 0.0
        self.first_cpu = 0.0
        self.reached: dict[int, float] = {}
        self.cpu: dict[int, float] = {}
        self.worker_pid = 0
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
                cpu = _cpu_s(self.worker_pid) if self.worker_pid else 0.0
                if not self.first_at:
                    self.first_at, self.first_cpu = time.perf_counter(), cpu
                self.count += sum(1 for m in batch if m.error() is None)
                self.reached[self.count] = time.perf_counter()
                self.cpu[self.count] = cpu

    def time_of(self, count: int) -> float:
        return min(t for n, t in self.reached.items() if n >= count)

    def cpu_of(self, count: int) -> float:
        return self.cpu[min(n for n in self.cpu if n >= count)]

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
    """events/s of each stage of the source over the same stream, measured in this process (CPU time)."""
    import gc
    import select
    from collections import namedtuple

    import psycopg2
    import psycopg2.extras

    from kcfast import _core, _core_py
    from kcfast.connectors.postgres.catalog import TypeRegistry, load_tables
    from kcfast.connectors.postgres.config import PostgresSourceConfig
    from kcfast.connectors.postgres.events import TableEvents
    from kcfast.converters import JsonConverter

    conn = psycopg2.connect(pg.dsn("bench"), connection_factory=psycopg2.extras.LogicalReplicationConnection)
    cur = conn.cursor()
    cur.start_replication(slot_name=slot, decode=False,
                          options={"proto_version": "1", "publication_names": "bench_pub"})
    message = namedtuple("message", "payload data_start")
    payloads: list[Any] = []
    inserts = 0
    t0 = time.process_time()
    while inserts < expected:
        msg = cur.read_message()
        if msg is None:
            select.select([conn], [], [], 1.0)
            continue
        payloads.append(message(msg.payload, msg.data_start))
        inserts += msg.payload[:1] == b"I"
    read_s = time.process_time() - t0
    conn.close()
    config = PostgresSourceConfig.parse({**pg.connector_config("bench"), "topic.prefix": "b"})
    control = pg.connect("bench")
    registry = TypeRegistry()
    with control.cursor() as c:
        tables = load_tables(c, config.filter)
        registry.load(c, {col.type_oid for t in tables for col in t.columns})
    control.close()
    events = TableEvents(tables[0], "b", registry, config.mapping, config.filter.captures_column, "bench")
    out: dict[str, float] = {"psycopg2_read": inserts / read_s}
    records: list[Any] = []
    for name, impl in (("core_events_python", _core_py), ("core_events", _core)):
        table = impl.PgTable(*events.plan_args)
        decoder = impl.PgoutputDecoder({"server": "b"}, lambda payload, t=table: t, True, ("t",))
        gc.collect()
        t0 = time.process_time()
        records = []
        for i in range(0, len(payloads), 2048):  # in flight at once, as in a worker
            records += decoder.decode(payloads[i:i + 2048], time.time_ns() // 1000)
        out[name] = len(records) / (time.process_time() - t0)
    key_conv, value_conv = JsonConverter(), JsonConverter()
    key_conv.configure({"schemas.enable": "true"}, True)
    value_conv.configure({"schemas.enable": "true"}, False)
    t0 = time.process_time()
    for i in range(0, len(records), 2048):
        _core.encode_source_records(records[i:i + 2048], key_conv, value_conv, None)
    out["json"] = len(records) / (time.process_time() - t0)
    return out


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
    machine = _machine()
    worker = StandaloneProcess(tmp_path, worker_props, [connector], port).start()
    try:
        assert worker.proc is not None
        counter.worker_pid = worker.proc.pid
        if PIN:
            _pin_worker(worker.proc.pid)
        worker.wait_for(lambda: counter.count >= ROWS, timeout=600, what="snapshot events")
        snapshot_s = counter.time_of(ROWS) - counter.first_at
        snapshot_cpu_s = counter.cpu_of(ROWS) - counter.first_cpu
        rss_snapshot = _rss_kb(worker.proc.pid)
        # Reference slots created now see exactly the streamed changes below.
        _execute(pg, "SELECT pg_create_logical_replication_slot('ceiling_slot', 'pgoutput')")
        _execute(pg, "SELECT pg_create_logical_replication_slot('breakdown_slot', 'pgoutput')")
        cpu0 = _cpu_s(worker.proc.pid)
        t0 = time.perf_counter()
        _execute(pg, FILL, (ROWS + 1, 2 * ROWS))
        commit_s = time.perf_counter() - t0
        worker.wait_for(lambda: counter.count >= 2 * ROWS, timeout=600, what="streamed events")
        first_streamed = min(t for n, t in counter.reached.items() if n > ROWS)
        stream_s = counter.time_of(2 * ROWS) - first_streamed
        stream_from_commit_s = counter.time_of(2 * ROWS) - t0 - commit_s
        stream_cpu_s = counter.cpu_of(2 * ROWS) - cpu0
        rss_stream = _rss_kb(worker.proc.pid)
    finally:
        worker.stop()
        counter.close()
    ceiling_s = _ceiling(pg, "ceiling_slot", ROWS)
    breakdown = _in_process_breakdown(pg, "breakdown_slot", ROWS)
    machine["load_average_after"] = os.getloadavg()
    _results.update({
        "rows": ROWS,
        "snapshot_events_per_s": ROWS / snapshot_s,
        "snapshot_events_per_worker_cpu_s": ROWS / snapshot_cpu_s if snapshot_cpu_s else float("inf"),
        "stream_events_per_s": ROWS / stream_s,
        "stream_events_per_worker_cpu_s": ROWS / stream_cpu_s if stream_cpu_s else float("inf"),
        "stream_worker_cpu_share": stream_cpu_s / (stream_from_commit_s + commit_s),
        "stream_insert_commit_s": commit_s,
        "stream_events_per_s_from_commit": ROWS / stream_from_commit_s,
        "ceiling_psycopg2_read_per_s": ROWS / ceiling_s if ceiling_s else float("inf"),
        "worker_rss_kb_after_snapshot": rss_snapshot,
        "worker_rss_kb_after_stream": rss_stream,
        "in_process_stage_events_per_s": breakdown,
        "machine": machine,
        "worker_pinned_to_one_cpu": PIN,
        "command": f"KCFAST_CDC_ROWS={ROWS} .venv/bin/pytest benchmarks/bench_cdc.py -s",
    })
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(_results, indent=2))
    print("\nCDC benchmark:", json.dumps(_results, indent=2))
    assert _results["stream_events_per_s"] > 0
