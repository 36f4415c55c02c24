"""What the fault suites share: a broker of their own, a worker running a numbered pipeline, and the ledger
that checks by sequence number that nothing was lost.

The pipeline is ``SyntheticSourceConnector`` (``tasks.max`` tasks, each numbering its records 0, 1, 2, ...
and committing the number as its source offset) -> a topic -> ``FileStreamSink`` into a file. The topic and
the sink file are both read back and every ``(task, sequence)`` pair is counted: a pair never seen is a lost
record, a pair seen twice a duplicate.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kcfast.kafka.clients import create_topics, new_consumer
from kcfast.testing import EmbeddedKafka, free_port
from kcfast.testing.standalone import StandaloneProcess

SINK_LINE = re.compile(r"\{task=(\d+), sequence=(\d+),")

WORKER_PROPS = {
    "key.converter": "org.apache.kafka.connect.json.JsonConverter",
    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
    "key.converter.schemas.enable": "false",
    "value.converter.schemas.enable": "false",
    "offset.flush.interval.ms": "500",
    "consumer.session.timeout.ms": "6000",
    "consumer.heartbeat.interval.ms": "1000",
    "task.shutdown.graceful.timeout.ms": "3000",
}


def share(total: int, task: int, tasks: int) -> int:
    """Records of ``total`` the synthetic source's task ``task`` of ``tasks`` generates."""
    per_task, leftover = divmod(total, tasks)
    return per_task + (1 if task < leftover else 0)


# -- the results table ----------------------------------------------------------------------------------------


@dataclass
class Row:
    scenario: str
    load: str
    fault: str
    bad_inputs: str
    lost: int | str
    duplicates: int | str
    outcome: str


ROWS: list[Row] = []


class Results:
    """Where a scenario writes what it measured."""

    def record(self, scenario: str, *, load: str = "-", fault: str = "-", bad_inputs: str = "-",
               lost: int | str = "-", duplicates: int | str = "-", outcome: str = "") -> None:
        ROWS[:] = [r for r in ROWS if r.scenario != scenario]
        ROWS.append(Row(scenario, load, fault, bad_inputs, lost, duplicates, outcome))


# -- the broker ----------------------------------------------------------------------------------------------


class FaultBroker:
    """An embedded broker this test alone uses, so it can be frozen, killed and replaced on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.kafka = EmbeddedKafka(port=self.port).start()

    @property
    def bootstrap(self) -> str:
        return self.kafka.bootstrap_servers

    def freeze(self) -> None:
        self.kafka.freeze()

    def thaw(self) -> None:
        self.kafka.thaw()

    def kill(self) -> None:
        """SIGKILL: the broker's memory-only data is gone with it."""
        pid = self.kafka.pid
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        self.kafka.stop()

    def replace(self) -> None:
        """Start a new, empty broker on the same port."""
        self.kafka = EmbeddedKafka(port=self.port).start()

    def stop(self) -> None:
        self.kafka.stop()


# -- the pipeline --------------------------------------------------------------------------------------------


@dataclass
class Pipeline:
    """A numbered source -> topic -> file sink pipeline, and the worker processes that run it."""

    broker: FaultBroker
    workdir: Path
    records: int
    rate: int
    tasks: int = 2
    partitions: int = 2
    topic: str = field(default_factory=lambda: f"seq-{uuid.uuid4().hex[:8]}")
    extra_worker_props: dict[str, str] = field(default_factory=dict)
    workers: list[StandaloneProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        create_topics(self.broker.bootstrap, {self.topic: self.partitions})
        self.sink_file = self.workdir / "sink.txt"
        self.offsets_file = self.workdir / "offsets" / "connect.offsets"
        self.offsets_file.parent.mkdir(exist_ok=True)
        self.source_props = self.workdir / "source.properties"
        self.source_props.write_text(
            "name=numbered\n"
            "connector.class=kcfast.connectors.synthetic.SyntheticSourceConnector\n"
            f"topic={self.topic}\nrecords={self.records}\nrate={self.rate}\ntasks.max={self.tasks}\n"
            # One partition per task: while two producers write to one partition, the test broker can let a
            # consumer see a later batch before an earlier one is readable, and the consumer then skips the
            # earlier one (see README.md). Kafka never does; this keeps the suite about the worker.
            "schema=false\nkey=sequence\nvalue.size=8\npartition.per.task=true\n",
            encoding="utf-8",
        )
        self.sink_props = self.workdir / "sink.properties"
        self.sink_props.write_text(
            f"name=file-sink\nconnector.class=FileStreamSink\ntopics={self.topic}\nfile={self.sink_file}\n",
            encoding="utf-8",
        )

    @property
    def shares(self) -> dict[int, int]:
        return {t: share(self.records, t, self.tasks) for t in range(self.tasks)}

    def start_worker(self, connector_files: list[Path] | None = None, **overrides: str) -> StandaloneProcess:
        port = free_port()
        props = {
            "bootstrap.servers": self.broker.bootstrap,
            "offset.storage.file.filename": str(self.offsets_file),
            "listeners": f"http://127.0.0.1:{port}",
            **WORKER_PROPS,
            **self.extra_worker_props,
            **overrides,
        }
        text = "\n".join(f"{k}={v}" for k, v in props.items()) + "\n"
        files = connector_files if connector_files is not None else [self.source_props, self.sink_props]
        worker = StandaloneProcess(self.workdir, text, files, port)
        self.workers.append(worker)
        return worker.start()

    def stop_all(self) -> None:
        for worker in self.workers:
            try:
                worker.stop(timeout=30)
            except AssertionError:
                pass

    def sink_ledger(self) -> Ledger:
        ledger = Ledger()
        if self.sink_file.exists():
            ledger.add(SINK_LINE.findall(self.sink_file.read_text(encoding="utf-8", errors="replace")))
        return ledger

    def topic_ledger(self, timeout: float = 10.0) -> Ledger:
        return read_topic(self.broker.bootstrap, self.topic, timeout)

    def wait_complete(self, worker: StandaloneProcess, timeout: float = 90.0) -> tuple[Ledger, Ledger]:
        """Wait until the topic and the sink file hold every record; returns their ledgers."""
        deadline = time.monotonic() + timeout
        topic = sink = Ledger()
        while time.monotonic() < deadline:
            sink = self.sink_ledger()
            if not sink.missing(self.shares):
                topic = self.topic_ledger()
                if not topic.missing(self.shares):
                    return topic, sink
            time.sleep(0.5)
        topic = self.topic_ledger()
        raise AssertionError(
            f"records still missing after {timeout}s: topic {len(topic.missing(self.shares))}, sink "
            f"{len(sink.missing(self.shares))} (first: {sorted(sink.missing(self.shares))[:5]})\n{worker.log()}"
        )


# -- counting ------------------------------------------------------------------------------------------------


class Ledger:
    """How many times each ``(task, sequence)`` was seen, and in which partition."""

    def __init__(self) -> None:
        self.seen: Counter[tuple[int, int]] = Counter()
        self.partition: dict[tuple[int, int], int] = {}

    def add(self, pairs: Iterable[tuple[Any, ...]]) -> None:
        for task, sequence, *partition in pairs:
            pair = (int(task), int(sequence))
            self.seen[pair] += 1
            if partition:
                self.partition[pair] = partition[0]

    def __len__(self) -> int:
        return sum(self.seen.values())

    def missing(self, shares: dict[int, int]) -> set[tuple[int, int]]:
        return {(t, s) for t, n in shares.items() for s in range(n) if (t, s) not in self.seen}

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self.seen.values() if count > 1)

    def merged(self, other: Ledger) -> Ledger:
        out = Ledger()
        out.seen = Counter(self.seen) + Counter(other.seen)
        out.partition = {**self.partition, **other.partition}
        return out


def _pairs(messages: list[Any]) -> Iterable[tuple[int, int, int]]:
    for message in messages:
        if message.error() is not None or message.value() is None:
            continue
        value = json.loads(message.value())
        yield value["task"], value["sequence"], message.partition()


def read_topic(bootstrap: str, topic: str, timeout: float = 10.0, idle: float = 1.5) -> Ledger:
    """Read ``topic`` from the beginning until nothing new arrives for ``idle`` seconds."""
    consumer = new_consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4().hex[:8]}",
                             "auto.offset.reset": "earliest", "enable.auto.commit": False,
                             "session.timeout.ms": 6000})
    ledger = Ledger()
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout
        last_new = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - last_new < idle + (3 if not ledger.seen else 0):
            batch = consumer.consume(5000, 0.2)
            if batch:
                ledger.add(_pairs(batch))
                last_new = time.monotonic()
    finally:
        consumer.close()
    return ledger


class TopicTail:
    """Reads a topic continuously in a thread (it follows a broker replaced on the same address)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.ledger = Ledger()
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._consumer = new_consumer({"bootstrap.servers": bootstrap, "group.id": f"tail-{uuid.uuid4().hex[:8]}",
                                       "auto.offset.reset": "earliest", "enable.auto.commit": False,
                                       "fetch.wait.max.ms": 10, "session.timeout.ms": 6000})
        self._consumer.subscribe([topic])
        self._thread = threading.Thread(target=self._run, name="topic-tail", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self._consumer.consume(5000, 0.05)
            if batch:
                with self.lock:
                    self.ledger.add(_pairs(batch))

    def snapshot(self) -> Ledger:
        with self.lock:
            out = Ledger()
            out.seen = Counter(self.ledger.seen)
            out.partition = dict(self.ledger.partition)
            return out

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(10)
        self._consumer.close()


# -- waiting -------------------------------------------------------------------------------------------------


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def task_states(worker: StandaloneProcess, connector: str) -> list[str]:
    status, body = worker.http.get(f"/connectors/{connector}/status")
    if status != 200:
        return []
    return [t["state"] for t in body["tasks"]]


def sink_lines(pipeline: Pipeline) -> int:
    if not pipeline.sink_file.exists():
        return 0
    return pipeline.sink_file.read_text(encoding="utf-8", errors="replace").count("\n")
