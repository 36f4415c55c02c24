"""``kcfast quickstart``: the embedded broker, a standalone worker and a demo pipeline, with live progress.

synthetic source --(JsonConverter)--> topic ``kcfast-quickstart`` --> discard sink (counts records)
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
from typing import Any

TOPIC = "kcfast-quickstart"


def _totals(worker: Any) -> tuple[int, int]:
    sent = put = 0
    for tid in worker.task_ids():
        task = worker.task(tid)
        sent += getattr(task, "records_sent", 0)
        put += getattr(task, "records_put", 0)
    return sent, put


async def _quickstart(port: int, records: int, rate: int, duration: float, out: Any) -> int:
    from kcfast.runtime.standalone_main import StandaloneRuntime
    from kcfast.testing import EmbeddedKafka, free_port

    with EmbeddedKafka() as kafka, tempfile.TemporaryDirectory(prefix="kcfast-quickstart-") as tmp:
        if port == 0:
            port = free_port()
        worker_props = {
            "bootstrap.servers": kafka.bootstrap_servers,
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable": "false",
            "value.converter.schemas.enable": "false",
            "offset.storage.file.filename": os.path.join(tmp, "connect.offsets"),
            "offset.flush.interval.ms": "1000",
            "listeners": f"http://127.0.0.1:{port}",
            "consumer.session.timeout.ms": "6000",
        }
        runtime = StandaloneRuntime(worker_props)
        await runtime.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await runtime.create_connector("quickstart-source", {
                "name": "quickstart-source",
                "connector.class": "SyntheticSource",
                "topic": TOPIC,
                "records": str(records),
                "rate": str(rate),
                "schema": "false",
            })
            await runtime.create_connector("quickstart-sink", {
                "name": "quickstart-sink",
                "connector.class": "DiscardSink",
                "topics": TOPIC,
            })
            runtime.ready()
            print(f"kcfast quickstart: broker {kafka.bootstrap_servers}, REST API {runtime.rest_url}", file=out)
            print(f"  try: curl {runtime.rest_url}connectors?expand=status", file=out)
            print("  Ctrl-C stops the demo.", file=out, flush=True)
            started = last_t = time.monotonic()
            last_put = 0
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), 1.0)
                except asyncio.TimeoutError:
                    pass
                now = time.monotonic()
                sent, put = _totals(runtime.worker)
                rps = (put - last_put) / max(now - last_t, 1e-9)
                last_put, last_t = put, now
                print(f"  produced {sent:>10,}  consumed {put:>10,}  lag {max(sent - put, 0):>8,}  "
                      f"{rps:>10,.0f} records/s", file=out, flush=True)
                if duration and now - started >= duration:
                    break
        finally:
            await runtime.stop()
    return 0


def run_quickstart(port: int = 8083, records: int = -1, rate: int = 20000, duration: float = 0,
                   out: Any = None) -> int:
    return asyncio.run(_quickstart(port, records, rate, duration, out or sys.stdout))
