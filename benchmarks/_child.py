"""One side of a loop benchmark, run in its own process: ``python _child.py '<json spec>'``.

Sides (``spec["side"]``):

- ``sink-ceiling``: the plain confluent-kafka loop, ``consume(num_messages)`` and ``orjson.loads`` of each
  value (``decode: "json"``) or only ``value()`` (``decode: "none"``);
- ``source-ceiling``: build the synthetic source's value dicts, ``orjson.dumps``, ``produce``, ``flush``;
- ``sink-worker`` / ``source-worker``: a standalone worker (``StandaloneRuntime`` on uvloop, as ``kcfast
  standalone`` runs it) with the timed connectors of ``plugins/kcfast_bench.py``.

The child prints JSON lines on stdout. A ``sink-worker`` prints ``{"event": "all_put", ...}`` when the last
record was put, then waits for a line on stdin (the parent checks the committed offsets meanwhile) before it
stops the worker. Every side ends with ``{"event": "result", ...}``. Times are ``time.monotonic()``, one clock
for all processes of the machine. This file only needs confluent-kafka and orjson for the ceilings, so it
also runs in the peers' environment.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def emit(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def memory_kb() -> dict[str, int]:
    """Resident set size now (``rss_kb``) and at its peak (``peak_rss_kb``) of this process."""
    out = {"rss_kb": 0, "peak_rss_kb": 0}
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                out["rss_kb"] = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                out["peak_rss_kb"] = int(line.split()[1])
    return out


# ------------------------------------------------------------------------------------------------ ceilings


def sink_ceiling(spec: dict[str, Any]) -> None:
    import orjson
    from confluent_kafka import Consumer

    consumer = Consumer({**spec["consumer"], "group.id": spec["group"]})
    consumer.subscribe([spec["topic"]])
    total, batch, decode = spec["records"], spec["batch"], spec["decode"] == "json"
    loads = orjson.loads
    seen = 0
    first_batch = 0
    started = 0.0
    nbytes = 0
    while seen < total:
        messages = consumer.consume(batch, 0.5)
        if not messages:
            continue
        if not seen:
            # Timing starts once the first batch is in, as the worker's starts at its first put.
            started = time.monotonic()
            cpu = time.process_time()
            first_batch = len(messages)
        if decode:
            for msg in messages:
                loads(msg.value())
        else:
            for msg in messages:
                msg.value()
        seen += len(messages)
    ended = time.monotonic()
    cpu = time.process_time() - cpu
    mem = memory_kb()
    consumer.close()
    emit(event="result", records=seen - first_batch, seconds=ended - started, cpu_s=cpu, **mem)


def source_ceiling(spec: dict[str, Any]) -> None:
    import orjson
    from confluent_kafka import Producer

    producer = Producer(spec["producer"])
    topic, total, chunk = spec["topic"], spec["records"], spec["batch"]
    payload = "x" * spec["value_size"]
    dumps, produce, poll = orjson.dumps, producer.produce, producer.poll
    started = time.monotonic()
    cpu = time.process_time()
    for begin in range(0, total, chunk):
        timestamp = time.time_ns() // 1_000_000
        for sequence in range(begin, min(begin + chunk, total)):
            value = dumps({"task": 0, "sequence": sequence, "timestamp": timestamp, "payload": payload})
            while True:
                try:
                    produce(topic, value)
                    break
                except BufferError:
                    poll(0.001)
        poll(0)
    left = producer.flush(60)
    ended = time.monotonic()
    cpu = time.process_time() - cpu
    if left:
        raise SystemExit(f"{left} records were not acknowledged")
    emit(event="result", records=total, seconds=ended - started, cpu_s=cpu, **memory_kb())


# -------------------------------------------------------------------------------------------------- worker


def _worker_props(spec: dict[str, Any], workdir: Path) -> dict[str, str]:
    from kcfast.testing import free_port

    props = {
        "bootstrap.servers": spec["bootstrap"],
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "offset.storage.file.filename": str(workdir / "connect.offsets"),
        "offset.flush.interval.ms": "10000",
        "listeners": f"http://127.0.0.1:{free_port()}",
        "plugin.path": str(HERE / "plugins"),
    }
    props.update({f"consumer.{k}": str(v) for k, v in spec.get("consumer", {}).items()})
    props.update({f"producer.{k}": str(v) for k, v in spec.get("producer", {}).items()})
    props.update(spec.get("worker", {}))
    return props


async def _run_worker(spec: dict[str, Any]) -> None:
    import tempfile

    from kcfast import core
    from kcfast.runtime.standalone_main import StandaloneRuntime

    # The worker imports the plugin module from plugin.path; importing it first under the same name gives
    # this harness the same module, and so the same timings.
    sys.path.append(str(HERE / "plugins"))
    import kcfast_bench

    with tempfile.TemporaryDirectory(prefix="kcfast-bench-") as tmp:
        runtime = StandaloneRuntime(_worker_props(spec, Path(tmp)))
        await runtime.start()
        runtime.ready()
        try:
            names = [f"{spec['name']}-{i}" for i in range(spec.get("connectors", 1))]
            for name in names:
                await runtime.create_connector(name, {**spec["connector"], "name": name})
            runs = [kcfast_bench.run_of(name) for name in names]
            loop = asyncio.get_running_loop()
            if spec["side"] == "sink-worker":
                for run in runs:
                    await loop.run_in_executor(None, run.all_put.wait)
                mem = memory_kb()
                emit(event="all_put", last_put=max(r.last_at or 0.0 for r in runs))
                await loop.run_in_executor(None, sys.stdin.readline)
                records = sum(r.records for r in runs) - min(runs, key=lambda r: r.first_at or 0.0).first_batch
                first = min(r.first_at or 0.0 for r in runs)
                emit(event="result", records=records, first=first, last_put=max(r.last_at or 0.0 for r in runs),
                     cpu_s=max(r.last_cpu for r in runs) - min(r.first_cpu for r in runs),
                     implementation=core.IMPLEMENTATION, **mem)
            else:
                for run in runs:
                    await loop.run_in_executor(None, run.generated.wait)
                mem = memory_kb()
                # A user stops the connector (PUT /connectors/<name>/stop): its tasks wait for the broker's
                # acknowledgements and flush the offsets; the timed task records that final commit.
                for name in names:
                    await runtime.herder.stop_connector(name)
                for run in runs:
                    if not await loop.run_in_executor(None, run.committed.wait, 60):
                        raise SystemExit("the source offsets were not committed")
                first = min(r.first_at or 0.0 for r in runs)
                ended = max(max(r.tasks_committed.values()) for r in runs)
                emit(event="result", records=spec["records"], seconds=ended - first,
                     last_generated=max(r.last_at or 0.0 for r in runs) - first,
                     cpu_s=max(r.last_cpu for r in runs) - min(r.first_cpu for r in runs),
                     implementation=core.IMPLEMENTATION, **mem)
        finally:
            await runtime.stop()


def worker(spec: dict[str, Any]) -> None:
    import logging

    import uvloop

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="[%(asctime)s] %(levelname)s %(message)s (%(name)s)")
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(_run_worker(spec))


def main() -> None:
    spec = json.loads(sys.argv[1])
    side = spec["side"]
    if side == "sink-ceiling":
        sink_ceiling(spec)
    elif side == "source-ceiling":
        source_ceiling(spec)
    elif side in ("sink-worker", "source-worker"):
        worker(spec)
    else:
        raise SystemExit(f"unknown side {side!r}")
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: its cost is not part of any measurement


if __name__ == "__main__":
    main()
