"""The loop benchmarks' harness: preload data, run each side in its own process, collect and print results.

Every side of a comparison reads (or writes) the same topic of the same broker, with the same client
settings (:data:`CONSUMER`, :data:`PRODUCER`), one after the other, so that the ratios of one run are
comparable. Used by ``bench_*_loop.py``, ``bench_peers.py``, ``bench_scale.py`` and ``tests/perf``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CHILD = HERE / "_child.py"
RESULTS = HERE / "results"
PEERS_PYTHON = Path(os.environ.get("KCFAST_PEERS_PYTHON", str(RESULTS / "peers-venv" / "bin" / "python")))

#: librdkafka consumer settings of every sink side. The queue of prefetched messages is raised so that the
#: broker's fetch round trips do not bound the loops (at the defaults both sides wait on the broker and the
#: ratio says nothing about the worker); the short session timeout makes the group join take ~3 s.
CONSUMER: dict[str, Any] = {
    "queued.min.messages": 1_000_000,
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 1000,
}
#: The producer settings of the worker's source tasks (its defaults), given to the ceiling as well.
PRODUCER: dict[str, Any] = {"acks": "all", "linger.ms": 5, "partitioner": "murmur2_random"}
PARTITIONS = 4
SOURCE_VALUE_SIZE = 100
SOURCE_BATCH = 1000

JSON = "org.apache.kafka.connect.json.JsonConverter"
STRING = "org.apache.kafka.connect.storage.StringConverter"
BYTES = "org.apache.kafka.connect.converters.ByteArrayConverter"
SINK_CONVERTERS: dict[str, dict[str, str]] = {
    "json": {"key.converter": STRING, "value.converter": JSON, "value.converter.schemas.enable": "false"},
    "json-schema": {"key.converter": STRING, "value.converter": JSON, "value.converter.schemas.enable": "true"},
    "bytes": {"key.converter": BYTES, "value.converter": BYTES},
}


def sink_batch() -> int:
    """Messages per ``consume`` call: the worker's default, so the ceiling reads in the same batches."""
    from kcfast.runtime.sink_task import DEFAULT_BATCH

    return int(DEFAULT_BATCH)


@dataclasses.dataclass
class Result:
    """One side of one comparison."""

    suite: str
    case: str
    side: str
    records: int
    seconds: float
    value_bytes: float = 0.0
    rss_kb: int = 0
    peak_rss_kb: int = 0
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    cpu_s: float = 0.0

    @property
    def rate(self) -> float:
        """Records per second."""
        return self.records / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_us(self) -> float:
        """CPU microseconds per record, all threads of the process (steadier than records/s on a busy
        machine, since time spent waiting for a core does not count)."""
        return self.cpu_s / self.records * 1e6 if self.records else 0.0

    @property
    def mb_per_s(self) -> float:
        """Value megabytes (10^6 bytes) per second."""
        return self.rate * self.value_bytes / 1e6

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out.update(records_per_s=round(self.rate, 1), mb_per_s=round(self.mb_per_s, 2),
                   cpu_us_per_record=round(self.cpu_us, 3))
        return out


def median_of(measure: Callable[[], Result], rounds: int) -> Result:
    """Run ``measure`` ``rounds`` times and keep the round with the median CPU time per record; every round's
    CPU microseconds per record and records/s go to ``extra["rounds"]`` (a single round keeps none)."""
    results = [measure() for _ in range(max(1, rounds))]
    if len(results) == 1:
        return results[0]
    ordered = sorted(results, key=lambda r: r.cpu_us)
    kept = ordered[(len(ordered) - 1) // 2]
    kept.extra["rounds"] = [{"cpu_us_per_record": round(r.cpu_us, 3), "records_per_s": round(r.rate, 1)}
                            for r in results]
    return kept


# ---------------------------------------------------------------------------------------------- the data


@dataclasses.dataclass
class Topic:
    """A preloaded topic."""

    name: str
    records: int
    value_bytes: float
    end_offsets: dict[int, int]


def preload(bootstrap: str, values: Sequence[bytes], name: str | None = None, partitions: int = PARTITIONS) -> Topic:
    """Create a topic and write ``values`` to it (keys ``b"0"``, ``b"1"``, ...); return its end offsets."""
    from confluent_kafka import Producer

    from kcfast.kafka.clients import create_topics

    name = name or f"bench-{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, {name: partitions})
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50, "batch.size": 1_000_000,
                         "queue.buffering.max.messages": 1_000_000, "partitioner": "murmur2_random"})
    # End offsets come from the delivery reports: the embedded broker's high watermark can lag behind.
    ends: dict[int, int] = {}
    failed: list[Any] = []

    def delivered(err: Any, msg: Any) -> None:
        if err is not None:
            failed.append(err)
        elif msg.offset() >= ends.get(msg.partition(), 0):
            ends[msg.partition()] = msg.offset() + 1

    produce, poll = producer.produce, producer.poll
    for i, value in enumerate(values):
        while True:
            try:
                produce(name, value, b"%d" % i, on_delivery=delivered)
                break
            except BufferError:
                poll(0.01)
    if producer.flush(120) or failed:
        raise RuntimeError(f"preloading the benchmark topic failed: {failed[:3]}")
    return Topic(name, len(values), sum(map(len, values)) / max(1, len(values)), ends)


# --------------------------------------------------------------------------------------------- processes


def run_child(spec: dict[str, Any], *, python: str | Path = sys.executable, env: dict[str, str] | None = None,
              on_event: Callable[[dict[str, Any]], None] | None = None, timeout: float = 600.0,
              script: Path = CHILD) -> dict[str, Any]:
    """Run ``script`` (``_child.py``) with ``spec``; ``on_event`` sees each event before the child goes on."""
    child_env = dict(os.environ)
    child_env.pop("KCFAST_NO_EXTENSIONS", None)
    child_env.update(env or {})
    result: dict[str, Any] | None = None
    with tempfile.TemporaryFile() as log, subprocess.Popen(
            [str(python), str(script), json.dumps(spec)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=log, env=child_env, cwd=HERE) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        deadline = time.monotonic() + timeout
        try:
            for line in proc.stdout:
                event = json.loads(line)
                if event["event"] == "result":
                    result = event
                    break
                if on_event is not None:
                    on_event(event)
                proc.stdin.write(b"go\n")
                proc.stdin.flush()
            proc.wait(max(1.0, deadline - time.monotonic()))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if result is None or proc.returncode != 0:
            log.seek(0)
            tail = log.read()[-6000:].decode("utf-8", "replace")
            raise RuntimeError(f"benchmark side {spec['side']} failed (exit {proc.returncode}):\n{tail}")
    return result


class CommitWatch:
    """Waits until a consumer group's committed offsets reach a topic's end offsets (asked to the broker)."""

    def __init__(self, bootstrap: str, group: str, topic: Topic) -> None:
        from confluent_kafka import Consumer, TopicPartition

        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
        self._partitions = [TopicPartition(topic.name, p) for p in topic.end_offsets]
        self._ends = topic.end_offsets
        self._consumer.committed(self._partitions, timeout=10)  # connects to the coordinator now
        self.reached_at: float | None = None

    def wait(self, timeout: float = 60.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            committed = self._consumer.committed(self._partitions, timeout=10)
            if all(tp.offset >= self._ends[tp.partition] for tp in committed):
                self.reached_at = time.monotonic()
                return self.reached_at
        raise TimeoutError(f"offsets not committed within {timeout}s")

    def close(self) -> None:
        self._consumer.close()


# ------------------------------------------------------------------------------------------------- sides


def sink_ceiling(bootstrap: str, topic: Topic, decode: str = "json", *, suite: str = "sink", case: str = "json",
                 side: str = "ceiling", python: str | Path = sys.executable) -> Result:
    """The plain loop: ``consume(batch)`` and ``orjson.loads`` per value (``decode="none"``: ``value()``)."""
    spec = {"side": "sink-ceiling", "topic": topic.name, "records": topic.records, "batch": sink_batch(),
            "decode": decode, "group": f"bench-ceiling-{uuid.uuid4().hex[:8]}",
            "consumer": {**CONSUMER, "bootstrap.servers": bootstrap, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "enable.partition.eof": False}}
    out = run_child(spec, python=python)
    return Result(suite, case, side, out["records"], out["seconds"], topic.value_bytes, out["rss_kb"],
                  out["peak_rss_kb"], cpu_s=out.get("cpu_s", 0.0))


def _impl_env(impl: str) -> dict[str, str]:
    return {"KCFAST_NO_EXTENSIONS": "1"} if impl == "python" else {}


def sink_worker(bootstrap: str, topic: Topic, case: str = "json", impl: str = "cython", *, tasks: int = 1,
                suite: str = "sink", side: str | None = None) -> Result:
    """A standalone worker running the timed sink with the converters of ``case`` over ``topic``.

    Timed from the first ``put`` to the moment the broker holds the committed end offsets (one task), or to
    the last ``put`` (several tasks: the others commit at their next poll, up to half a second later).
    """
    name = f"bench-sink-{uuid.uuid4().hex[:8]}"
    spec = {"side": "sink-worker", "bootstrap": bootstrap, "name": name, "consumer": CONSUMER,
            "connector": {"connector.class": "kcfast_bench.TimedSinkConnector", "topics": topic.name,
                          "tasks.max": str(tasks), "bench.records": str(topic.records),
                          **SINK_CONVERTERS[case]}}
    watch = CommitWatch(bootstrap, f"connect-{name}-0", topic) if tasks == 1 else None
    try:
        out = run_child(spec, env=_impl_env(impl), on_event=lambda _event: watch.wait() if watch else None)
    finally:
        if watch is not None:
            watch.close()
    end = watch.reached_at if watch is not None else out["last_put"]
    assert end is not None
    return Result(suite, case, side or ("kcfast" if impl == "cython" else "kcfast-twin"), out["records"],
                  end - out["first"], topic.value_bytes, out["rss_kb"], out["peak_rss_kb"],
                  {"implementation": out["implementation"], "tasks": tasks,
                   "last_put_s": round(out["last_put"] - out["first"], 4)}, cpu_s=out["cpu_s"])


def source_value_bytes() -> float:
    """Size of one synthetic value as JSON without schema (the ceiling writes the same dicts)."""
    import orjson

    return float(len(orjson.dumps({"task": 0, "sequence": 500_000, "timestamp": 1_700_000_000_000,
                                   "payload": "x" * SOURCE_VALUE_SIZE})))


def source_ceiling(bootstrap: str, records: int, *, suite: str = "source", case: str = "json",
                   side: str = "ceiling", python: str | Path = sys.executable) -> Result:
    """The plain loop: build each value dict, ``orjson.dumps``, ``produce``; ``flush`` at the end."""
    from kcfast.kafka.clients import create_topics

    name = f"bench-src-{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, {name: PARTITIONS})
    spec = {"side": "source-ceiling", "topic": name, "records": records, "batch": SOURCE_BATCH,
            "value_size": SOURCE_VALUE_SIZE, "producer": {**PRODUCER, "bootstrap.servers": bootstrap}}
    out = run_child(spec, python=python)
    return Result(suite, case, side, out["records"], out["seconds"], source_value_bytes(), out["rss_kb"],
                  out["peak_rss_kb"], cpu_s=out["cpu_s"])


def source_worker(bootstrap: str, records: int, case: str = "json", impl: str = "cython", *, tasks: int = 1,
                  connectors: int = 1, suite: str = "source", side: str | None = None) -> Result:
    """A standalone worker running the timed synthetic source (``records`` over all connectors).

    Timed from the first ``poll`` to the offset flush that holds the last record of every task, which the
    worker does when the connector is stopped, after the broker acknowledged every record.
    """
    from kcfast.kafka.clients import create_topics

    name = f"bench-src-{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, {name: PARTITIONS})
    schema = case == "json-schema"
    spec = {"side": "source-worker", "bootstrap": bootstrap, "name": name, "records": records,
            "connectors": connectors,
            "connector": {"connector.class": "kcfast_bench.TimedSourceConnector", "topic": name,
                          "records": str(records // connectors), "tasks.max": str(tasks),
                          "batch.size": str(SOURCE_BATCH), "value.size": str(SOURCE_VALUE_SIZE),
                          "schema": "true" if schema else "false", "key.converter": STRING,
                          "value.converter": JSON, "value.converter.schemas.enable": "true" if schema else "false"}}
    out = run_child(spec, env=_impl_env(impl))
    return Result(suite, case, side or ("kcfast" if impl == "cython" else "kcfast-twin"),
                  (records // connectors) * connectors, out["seconds"], source_value_bytes(), out["rss_kb"],
                  out["peak_rss_kb"], {"implementation": out["implementation"], "tasks": tasks,
                                       "connectors": connectors,
                                       "last_generated_s": round(out["last_generated"], 4)},
                  cpu_s=out["cpu_s"])


# ------------------------------------------------------------------------------------------------- peers


def peers_unavailable() -> str | None:
    """Why Quix Streams cannot run here, or None. It lives in its own environment (``make bench`` makes it):
    it pins confluent-kafka below the version kcfast is tested with."""
    if not PEERS_PYTHON.exists():
        return f"no peers environment at {PEERS_PYTHON} (make bench creates it; or set KCFAST_PEERS_PYTHON)"
    probe = subprocess.run([str(PEERS_PYTHON), "-c", "import quixstreams, orjson; print(quixstreams.__version__)"],
                           capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        return f"quixstreams does not import in {PEERS_PYTHON}: {probe.stderr.strip()[-500:]}"
    return None


def peers_versions() -> dict[str, str]:
    """Versions of Quix Streams and of its confluent-kafka/librdkafka in the peers' environment."""
    code = ("import json, quixstreams, confluent_kafka; print(json.dumps({'quixstreams': quixstreams.__version__, "
            "'confluent_kafka': confluent_kafka.__version__, 'librdkafka': confluent_kafka.libversion()[0]}))")
    return dict(json.loads(subprocess.run([str(PEERS_PYTHON), "-c", code], capture_output=True, text=True,
                                          check=True, timeout=120).stdout))


def quix_sink(bootstrap: str, topic: Topic, *, suite: str = "peers", case: str = "json") -> Result:
    """Quix Streams reading ``topic`` as JSON into a batching sink (see ``_peer_quix.py``)."""
    spec = {"side": "quix-sink", "bootstrap": bootstrap, "topic": topic.name, "records": topic.records,
            "group": f"bench-quix-{uuid.uuid4().hex[:8]}", "consumer": CONSUMER}
    out = run_child(spec, python=PEERS_PYTHON, script=HERE / "_peer_quix.py", timeout=1800)
    return Result(suite, case, "quix", out["records"], out["seconds"], topic.value_bytes, out["rss_kb"],
                  out["peak_rss_kb"], {"last_write_s": round(out["last_write_s"], 4)}, cpu_s=out["cpu_s"])


def quix_produce(bootstrap: str, records: int, *, suite: str = "peers", case: str = "produce") -> Result:
    """Quix Streams producing the synthetic source's values as JSON (see ``_peer_quix.py``)."""
    from kcfast.kafka.clients import create_topics

    name = f"bench-quix-{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, {name: PARTITIONS})
    spec = {"side": "quix-produce", "bootstrap": bootstrap, "topic": name, "records": records,
            "batch": SOURCE_BATCH, "value_size": SOURCE_VALUE_SIZE, "producer": PRODUCER}
    out = run_child(spec, python=PEERS_PYTHON, script=HERE / "_peer_quix.py", timeout=1800)
    return Result(suite, case, "quix", out["records"], out["seconds"], source_value_bytes(), out["rss_kb"],
                  out["peak_rss_kb"], cpu_s=out["cpu_s"])


# ------------------------------------------------------------------------------------------------ report


def ratios(results: Sequence[Result], reference: str = "ceiling") -> dict[tuple[str, str, str], float]:
    """``{(suite, case, side): rate / rate of the reference side of the same suite and case}``."""
    refs = {(r.suite, r.case): r.rate for r in results if r.side == reference}
    out = {}
    for r in results:
        ref = refs.get((r.suite, r.case))
        if ref:
            out[(r.suite, r.case, r.side)] = r.rate / ref
    return out


def table(results: Sequence[Result]) -> str:
    """A text table of ``results``: records/s, MB/s, ratio to the ceiling of the same case, RSS."""
    ratio = ratios(results)
    head = f"{'suite':<7} {'case':<22} {'side':<18} {'records':>9} {'seconds':>8} {'records/s':>11} " \
           f"{'MB/s':>7} {'x ceiling':>9} {'CPU us/rec':>10} {'RSS MB':>7} {'peak MB':>7}"
    lines = [head, "-" * len(head)]
    for r in results:
        x = ratio.get((r.suite, r.case, r.side))
        lines.append(f"{r.suite:<7} {r.case:<22} {r.side:<18} {r.records:>9} {r.seconds:>8.3f} {r.rate:>11,.0f} "
                     f"{r.mb_per_s:>7.1f} {('%.2f' % x) if x is not None else '-':>9} {r.cpu_us:>10.2f} "
                     f"{r.rss_kb / 1024:>7.1f} {r.peak_rss_kb / 1024:>7.1f}")
    return "\n".join(lines)


def round_lines(results: Sequence[Result]) -> list[str]:
    """For each side measured over several rounds (``median_of``), the spread of its rounds."""
    lines = []
    for r in results:
        rounds = r.extra.get("rounds")
        if rounds:
            cpu = sorted(x["cpu_us_per_record"] for x in rounds)
            rate = sorted(x["records_per_s"] for x in rounds)
            lines.append(f"  {r.suite}/{r.case}/{r.side}: {len(rounds)} rounds, CPU us/record "
                         f"{cpu[0]:.2f}-{cpu[-1]:.2f}, records/s {rate[0]:,.0f}-{rate[-1]:,.0f} "
                         "(median CPU round kept)")
    return lines


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import platform

    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    except OSError:
        pass
    import confluent_kafka

    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "confluent_kafka": confluent_kafka.__version__,
            "librdkafka": confluent_kafka.libversion()[0]}


def save(results: Sequence[Result], path: Path, **meta: Any) -> None:
    """Write ``results`` with their ratios and the machine to ``path`` (JSON)."""
    ratio = ratios(results)
    doc = {"machine": machine(), **meta,
           "results": [{**r.as_dict(), "ratio_to_ceiling": ratio.get((r.suite, r.case, r.side))} for r in results]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


BOUNDS = HERE / "bounds.json"


def load_bounds(path: Path = BOUNDS) -> dict[str, Any]:
    """``bounds.json``: the minimum ratios the guard enforces and the goals they are measured against."""
    return dict(json.loads(path.read_text(encoding="utf-8")))


def measured_ratios(results: Sequence[Result]) -> dict[str, float]:
    """Every ratio of one run's results.

    ``"<suite>/<case>/<side>"``: the side's records/s over the ceiling's; ``"cpu/<suite>/<case>/<side>"``: the
    ceiling's CPU time per record over the side's (the efficiency ratio: it holds steady when other processes
    take the machine's cores, which wall-clock rates do not); ``"speedup/<suite>/<case>"``: the twin's CPU time
    per record over the compiled core's (``rate-speedup/...``: the same in records/s); ``"vs/<case>/<peer>"``:
    the peer's CPU time per record over kcfast's on the same job (``rate-vs/...``: kcfast's records/s over the
    peer's).
    """
    out = {"/".join(key): value for key, value in ratios(results).items() if key[2] != "ceiling"}
    by = {(r.suite, r.case, r.side): r.rate for r in results}
    # The same ratios in CPU time per record (ceiling's over the side's): steadier on a busy machine.
    cpu = {(r.suite, r.case, r.side): r.cpu_us for r in results if r.cpu_us > 0}
    for (suite, case, side), us in cpu.items():
        ref = cpu.get((suite, case, "ceiling"))
        if ref and side != "ceiling":
            out[f"cpu/{suite}/{case}/{side}"] = ref / us
    for (suite, case, side), rate in by.items():
        twin = by.get((suite, case, "kcfast-twin"))
        if side == "kcfast" and twin:
            out[f"rate-speedup/{suite}/{case}"] = rate / twin
            if cpu.get((suite, case, side)) and cpu.get((suite, case, "kcfast-twin")):
                out[f"speedup/{suite}/{case}"] = cpu[(suite, case, "kcfast-twin")] / cpu[(suite, case, side)]
        if suite == "peers" and not side.startswith(("ceiling", "kcfast")) and rate:
            mine = by.get((suite, case, "kcfast"))
            if mine:
                out[f"rate-vs/{case}/{side}"] = mine / rate
            if cpu.get((suite, case, "kcfast")) and cpu.get((suite, case, side)):
                out[f"vs/{case}/{side}"] = cpu[(suite, case, side)] / cpu[(suite, case, "kcfast")]
    source_ceiling = by.get(("source", "json", "ceiling"))
    if source_ceiling:
        for side in ("kcfast", "kcfast-twin"):
            rate = by.get(("source", "json-schema", side))
            if rate:
                out[f"source/json-schema/{side}"] = rate / source_ceiling
    return out


def summary_lines(results: Sequence[Result], bounds: dict[str, Any] | None = None) -> list[str]:
    """One line per measured ratio: its value, the guarded minimum and the goal from ``bounds.json``."""
    try:
        bounds = bounds if bounds is not None else load_bounds()
    except OSError:
        bounds = {}
    mins, goals = bounds.get("min", {}), bounds.get("goals", {})
    lines = []
    for key, value in sorted(measured_ratios(results).items()):
        notes = []
        if key in mins:
            notes.append(f"min {mins[key]:.2f}")
        if key in goals:
            notes.append(f"goal {goals[key]:.2f} {'met' if value >= goals[key] else 'NOT met'}")
        lines.append(f"  {key:<36} {value:7.2f}x  {', '.join(notes)}")
    return lines


# --------------------------------------------------------------------------------------- worker memory


KAFKA_SAMPLES = HERE.parent / "tests" / "data" / "kafka-config"


def process_rss_kb(pid: int) -> dict[str, int]:
    """``rss_kb`` and ``peak_rss_kb`` of process ``pid``."""
    out = {"rss_kb": 0, "peak_rss_kb": 0}
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                out["rss_kb"] = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                out["peak_rss_kb"] = int(line.split()[1])
    return out


def standalone_rss(bootstrap: str, file_connectors: int = 0, lines: int = 10_000, settle: float = 2.0,
                   suite: str = "scale", case: str | None = None) -> Result:
    """RSS of ``kcfast standalone`` (a subprocess, as users start it) with Kafka's sample worker properties,
    idle or running ``file_connectors`` FileStream connectors (half sources reading a file of ``lines``
    lines into a topic, half sinks writing that topic to a file), measured once the sinks hold every line."""
    from kcfast.testing import free_port
    from kcfast.testing.standalone import StandaloneProcess, properties_with

    with tempfile.TemporaryDirectory(prefix="kcfast-rss-") as tmp:
        work = Path(tmp)
        port = free_port()
        worker = properties_with((KAFKA_SAMPLES / "connect-standalone.properties").read_text(encoding="utf-8"),
                                 **{"bootstrap.servers": bootstrap, "listeners": f"http://127.0.0.1:{port}",
                                    "offset.storage.file.filename": str(work / "connect.offsets"),
                                    "consumer.session.timeout.ms": "6000", "consumer.heartbeat.interval.ms": "1000"})
        files, sinks = [], []
        for i in range(file_connectors):
            pair, is_source = i // 2, i % 2 == 0
            topic = f"rss-{uuid.uuid4().hex[:6]}-{pair}" if is_source else topic
            if is_source:
                data = work / f"in-{pair}.txt"
                data.write_text("".join(f"line {n} of file {pair} {'x' * 60}\n" for n in range(lines)),
                                encoding="utf-8")
                sample, overrides = "connect-file-source.properties", {"file": str(data), "topic": topic}
            else:
                out = work / f"out-{pair}.txt"
                sinks.append(out)
                sample, overrides = "connect-file-sink.properties", {"file": str(out), "topics": topic}
            path = work / f"conn-{i}.properties"
            path.write_text(properties_with((KAFKA_SAMPLES / sample).read_text(encoding="utf-8"),
                                            name=f"file-{i}", **overrides), encoding="utf-8")
            files.append(path)
        proc = StandaloneProcess(work, worker, files, port).start()
        try:
            def done() -> bool:
                return all(p.exists() and p.read_bytes().count(b"\n") >= lines for p in sinks)

            proc.wait_for(done, timeout=120, what="the FileStream sinks to hold every line")
            time.sleep(settle)
            assert proc.proc is not None
            mem = process_rss_kb(proc.proc.pid)
        finally:
            proc.stop()
    name = case or (f"filestream-{file_connectors}" if file_connectors else "idle")
    return Result(suite, name, "kcfast", 0, 0.0, 0.0, mem["rss_kb"], mem["peak_rss_kb"],
                  {"connectors": file_connectors, "lines": lines})
