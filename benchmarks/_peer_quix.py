"""Quix Streams on the loop benchmarks' jobs, run in the peers' environment: ``python _peer_quix.py '<spec>'``.

- ``quix-sink``: an Application reading the preloaded JSON topic (``value_deserializer="json"``) into a
  ``BatchingSink`` that drops its batches, the Quix counterpart of the worker's sink. Timed from the first
  record added to the sink to the last one (generous to Quix: the checkpoint that writes the last batch and
  commits comes later and is not counted); the time of that last write is reported as well.
- ``quix-produce``: ``Application.get_producer()`` with ``Topic.serialize`` (JSON) of the same value dicts
  the synthetic source builds, then ``flush``: Quix's way of producing outside a dataframe.

Prints one JSON line ``{"event": "result", ...}`` like ``_child.py``. Times are ``time.monotonic()``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

from _child import emit, memory_kb


def quix_sink(spec: dict[str, Any]) -> None:
    from quixstreams import Application
    from quixstreams.sinks.base import BatchingSink, SinkBatch

    total = spec["records"]
    state: dict[str, Any] = {"added": 0, "written": 0, "first": 0.0, "last": 0.0, "last_write": 0.0}

    class DropSink(BatchingSink):
        def add(self, value: Any, key: Any, timestamp: int, headers: Any, topic: str, partition: int,
                offset: int) -> None:
            super().add(value, key, timestamp, headers, topic, partition, offset)
            state["added"] += 1
            if state["added"] == 1:
                state["first"] = time.monotonic()
                state["first_cpu"] = time.process_time()
            elif state["added"] == total:
                state["last"] = time.monotonic()
                state["last_cpu"] = time.process_time()

        def write(self, batch: SinkBatch) -> None:
            state["written"] += batch.size
            if state["written"] >= total:
                state["last_write"] = time.monotonic()
                state["memory"] = memory_kb()
                app.stop()

    app = Application(broker_address=spec["bootstrap"], consumer_group=spec["group"],
                      auto_offset_reset="earliest", consumer_extra_config=spec["consumer"],
                      loglevel="WARNING", auto_create_topics=False, use_changelog_topics=False)
    topic = app.topic(spec["topic"], value_deserializer="json")
    app.dataframe(topic).sink(DropSink())
    app.run()
    emit(event="result", records=total - 1, seconds=state["last"] - state["first"],
         cpu_s=state["last_cpu"] - state["first_cpu"], last_write_s=state["last_write"] - state["first"], **state["memory"])


def quix_produce(spec: dict[str, Any]) -> None:
    from quixstreams import Application

    app = Application(broker_address=spec["bootstrap"], producer_extra_config=spec["producer"],
                      loglevel="WARNING", auto_create_topics=False)
    topic = app.topic(spec["topic"], value_serializer="json")
    total, chunk = spec["records"], spec["batch"]
    payload = "x" * spec["value_size"]
    with app.get_producer() as producer:
        started = time.monotonic()
        cpu = time.process_time()
        for begin in range(0, total, chunk):
            timestamp = time.time_ns() // 1_000_000
            for sequence in range(begin, min(begin + chunk, total)):
                msg = topic.serialize(value={"task": 0, "sequence": sequence, "timestamp": timestamp,
                                             "payload": payload})
                producer.produce(topic=topic.name, value=msg.value, key=msg.key)
        left = producer.flush(60)
        ended = time.monotonic()
        cpu = time.process_time() - cpu
    if left:
        raise SystemExit(f"{left} records were not acknowledged")
    emit(event="result", records=total, seconds=ended - started, cpu_s=cpu, **memory_kb())


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    spec = json.loads(sys.argv[1])
    {"quix-sink": quix_sink, "quix-produce": quix_produce}[spec["side"]](spec)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
