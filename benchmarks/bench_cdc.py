"""CDC benchmark: the PostgreSQL source's snapshot and streaming events/s and the worker's RSS, beside the ceiling.

The ceiling is a plain psycopg2 logical replication read of the same changes (pgoutput messages received and
counted, nothing decoded). The worker runs ``kcfast standalone`` with the PostgreSQL source writing JSON
envelopes to the embedded broker; rates count events from the first to the last one landing in the topic.
PostgreSQL, the broker and this process share the machine with the worker, so the wall-clock rate depends on
the machine; the worker's own CPU time (user + system, all its threads) gives events per CPU-second, the rate
one fully used core would reach. An in-process breakdown shows where the source's time goes: reading the
stream (psycopg2), the record core's pgoutput decoding, row conversion and event building (compiled, and the
pure-Python twin), and JSON conversion.

For the streaming phase it also reports where the CPU went and why the worker did not use all of its CPU: the
worker's CPU seconds by thread name (its Python threads, librdkafka's), the time its threads spent runnable
but waiting for a CPU (run-queue wait, from ``schedstat``: other processes on its CPU), and the CPU seconds of
the broker, the WAL sender and this process. The worker's peak RSS (``VmHWM``, snapshot and streaming
included) is printed against the 200 MB goal.

``KCFAST_CDC_ROWS`` sets the rows of each phase (default 100,000). ``KCFAST_CDC_PIN=1`` (Linux, 2 CPUs or
more) runs the worker on the last CPU and PostgreSQL, the broker and this process on the others (processes
not started here may still use the worker's CPU: the run-queue wait shows how much they took).
``KCFAST_CDC_PROFILE=<file>`` samples the worker with py-spy during the streaming phase (native frames, idle
threads included) and writes the collapsed stacks to ``<file>``. ``KCFAST_CDC_WORKER_PROPS`` adds worker
properties (``;``-separated ``key=value``, e.g. ``producer.buffer.memory=33554432``).
Results are printed and saved to ``benchmarks/results/cdc-latest.json``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kcfast.testing import EmbeddedKafka, StandaloneProcess, free_port
from kcfast.testing.postgres import EmbeddedPostgres

ROWS = int(os.environ.get("KCFAST_CDC_ROWS", "100000"))
PIN = os.environ.get("KCFAST_CDC_PIN", "") in ("1", "true", "yes") and (os.cpu_count() or 1) > 1
PROFILE = os.environ.get("KCFAST_CDC_PROFILE", "")
EXTRA_PROPS = [p.strip() for p in os.environ.get("KCFAST_CDC_WORKER_PROPS", "").split(";") if p.strip()]
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


def _start_profiler(pid: int) -> subprocess.Popen[bytes]:
    """py-spy sampling the worker (all threads, native frames, idle included) until SIGINT."""
    spy = Path(sys.executable).parent / "py-spy"
    proc = subprocess.Popen([str(spy), "record", "--pid", str(pid), "--native", "--idle", "--threads",
                             "--rate", "200", "--format", "raw", "--output", PROFILE],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached before the changes start
    return proc


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _threads_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds of each thread of ``pid``, summed by thread name (librdkafka's ``rdk:broker<n>`` as one)."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            text = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")].rstrip("0123456789_")
        fields = text.rpartition(")")[2].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def _run_queue_wait_s(pid: int) -> float:
    """Seconds the threads of ``pid`` spent runnable but waiting for a CPU (``/proc/<pid>/task/*/schedstat``)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            total += int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


def _others_cpu_s(pids: dict[str, int]) -> dict[str, float]:
    out = {}
    for name, pid in pids.items():
        try:
            out[name] = _cpu_s(pid)
        except OSError:
            out[name] = 0.0
    return out


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


def _wal_sender_pid(pg: EmbeddedPostgres) -> int:
    conn = pg.connect("bench")
    with conn.cursor() as cur:
        cur.execute("SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'bench_slot'")
        row = cur.fetchone()
    conn.close()
    return int(row[0]) if row and row[0] else 0


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
        "value.converter=org.apache.kafka.connect.json.JsonConverter", "producer.linger.ms=5", *EXTRA_PROPS,
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
        profiler = _start_profiler(worker.proc.pid) if PROFILE else None
        others = {"bench process": os.getpid(), "wal sender": _wal_sender_pid(pg)}
        broker_proc = getattr(broker, "_proc", None)
        if broker_proc is not None:
            others["broker"] = broker_proc.pid
        threads0, others0 = _threads_cpu_s(worker.proc.pid), _others_cpu_s(others)
        wait0 = _run_queue_wait_s(worker.proc.pid)
        cpu0 = _cpu_s(worker.proc.pid)
        t0 = time.perf_counter()
        _execute(pg, FILL, (ROWS + 1, 2 * ROWS))
        commit_s = time.perf_counter() - t0
        worker.wait_for(lambda: counter.count >= 2 * ROWS, timeout=600, what="streamed events")
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            profiler.wait(timeout=60)
        first_streamed = min(t for n, t in counter.reached.items() if n > ROWS)
        stream_s = counter.time_of(2 * ROWS) - first_streamed
        stream_from_commit_s = counter.time_of(2 * ROWS) - t0 - commit_s
        stream_cpu_s = counter.cpu_of(2 * ROWS) - cpu0
        rss_stream = _rss_kb(worker.proc.pid)
        threads1, others1 = _threads_cpu_s(worker.proc.pid), _others_cpu_s(others)
        run_queue_wait_s = _run_queue_wait_s(worker.proc.pid) - wait0
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
        "worker_peak_rss_mb": round(rss_stream["VmHWM"] / 1024, 1),
        "worker_peak_rss_under_200_mb_goal": rss_stream["VmHWM"] < 200 * 1024,
        "stream_worker_cpu_s_by_thread": {name: round(cpu - threads0.get(name, 0.0), 2)
                                          for name, cpu in sorted(threads1.items())
                                          if cpu - threads0.get(name, 0.0) > 0},
        "stream_worker_run_queue_wait_s": round(run_queue_wait_s, 2),
        "stream_cpu_s_of_other_processes": {name: round(others1[name] - others0[name], 2) for name in others},
        "in_process_stage_events_per_s": breakdown,
        "machine": machine,
        "worker_pinned_to_one_cpu": PIN,
        "extra_worker_props": EXTRA_PROPS,
        "command": f"KCFAST_CDC_ROWS={ROWS}{' KCFAST_CDC_PIN=1' if PIN else ''} .venv/bin/pytest "
                   "benchmarks/bench_cdc.py -s",
    })
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(_results, indent=2))
    print("\nCDC benchmark:", json.dumps(_results, indent=2))
    peak = _results["worker_peak_rss_mb"]
    print(f"streaming: {_results['stream_events_per_worker_cpu_s']:,.0f} events per worker CPU-second, "
          f"{_results['stream_events_per_s']:,.0f} events/s wall, worker CPU share "
          f"{_results['stream_worker_cpu_share']:.0%} (run-queue wait {_results['stream_worker_run_queue_wait_s']} s)")
    print(f"worker peak RSS (VmHWM) {peak} MB: {'under' if peak < 200 else 'OVER'} the 200 MB goal")
    assert _results["stream_events_per_s"] > 0
