"""Run a group of ``kcfast distributed`` workers as subprocesses and check what they do, the way a user does.

Each :class:`Cluster` has its own group id and internal topic names, so several clusters can share one broker
(for example :class:`kcfast.testing.EmbeddedKafka`). Workers are driven over their REST API; the helpers read
topics end to end and check the numbered records of the synthetic source connector
(``kcfast.connectors.synthetic.SyntheticSourceConnector``) for gaps.

Example::

    cluster = Cluster(kafka, tmp_path)
    cluster.start(3)
    cluster.workers[0].http.request("POST", "/connectors", {"name": "load", "config": synthetic("t", 3)})
    cluster.wait_for(lambda: cluster.running("load", 3), what="3 running tasks")
    cluster.stop()
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from kcfast.kafka.clients import Consumer, TopicPartition
from kcfast.testing.embedded import EmbeddedKafka, free_port
from kcfast.testing.standalone import RestClient, properties_with, stop_process

__all__ = [
    "DISTRIBUTED_TEMPLATE",
    "FAST_GROUP",
    "SYNTHETIC",
    "Cluster",
    "Worker",
    "assert_no_gap",
    "committed",
    "read_topic",
    "sequences",
    "synthetic",
    "wait_for",
]

SYNTHETIC = "kcfast.connectors.synthetic.SyntheticSourceConnector"

#: The settings of Kafka's sample ``connect-distributed.properties``; :class:`Cluster` replaces the
#: cluster-specific ones (bootstrap servers, group id, topic names) and adds :data:`FAST_GROUP`.
DISTRIBUTED_TEMPLATE = """\
bootstrap.servers=localhost:9092
group.id=connect-cluster
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true
offset.storage.topic=connect-offsets
offset.storage.replication.factor=1
config.storage.topic=connect-configs
config.storage.replication.factor=1
status.storage.topic=connect-status
status.storage.replication.factor=1
offset.flush.interval.ms=10000
"""

#: Short timeouts so that rebalances settle in seconds.
FAST_GROUP = {
    "session.timeout.ms": "6000",
    "heartbeat.interval.ms": "500",
    "rebalance.timeout.ms": "20000",
    "scheduled.rebalance.max.delay.ms": "4000",
    "offset.flush.interval.ms": "500",
    "offset.storage.partitions": "5",
    "status.storage.partitions": "3",
}


def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 60.0,
    what: str = "condition",
    logs: Callable[[], str] | None = None,
) -> Any:
    """Poll ``predicate`` every 250 ms until it returns something truthy, and return that.

    Args:
        predicate: Called repeatedly; an ``OSError`` it raises (a worker not listening yet) means "not yet".
        timeout: Seconds to wait in all.
        what: What is awaited, for the failure message.
        logs: Called on timeout; its text (worker logs) is appended to the failure message.

    Raises:
        AssertionError: ``predicate`` returned nothing truthy within ``timeout``.
    """
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except OSError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})\n{logs() if logs else ''}")


class Worker:
    """``python -m kcfast distributed worker.properties`` in a subprocess, its output kept in ``{name}.log``.

    Args:
        workdir: Where the properties file and the log are written (and the process's working directory).
        name: The worker's name, used for the file names.
        props: The worker properties text.
        port: The REST port the properties' ``listeners`` use.
    """

    def __init__(self, workdir: Path, name: str, props: str, port: int) -> None:
        self.name = name
        self.port = port
        #: The id the worker reports in statuses (``host:port`` of its REST listener).
        self.worker_id = f"127.0.0.1:{port}"
        #: The worker's REST URL, as it advertises itself to the group (leader URL in the metrics).
        self.url = f"http://127.0.0.1:{port}"
        self.props_file = workdir / f"{name}.properties"
        self.props_file.write_text(props, encoding="utf-8")
        self.log_path = workdir / f"{name}.log"
        self.http = RestClient(self.url)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        """Start the process (not waiting for it to serve requests); the log is appended to."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "kcfast", "distributed", str(self.props_file)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.props_file.parent,
            )
        return self

    @property
    def alive(self) -> bool:
        """Whether the process was started and has not exited."""
        return self.proc is not None and self.proc.poll() is None

    def healthy(self) -> bool:
        """Whether ``GET /health`` answers 200.

        Raises:
            AssertionError: The process has exited (the message holds the end of its log).
        """
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
        try:
            status, _ = self.http.get("/health")
        except OSError:
            return False
        return status == 200

    def log(self) -> str:
        """The last 6000 characters of the worker's output."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-6000:]

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """``GET /metrics``: (sample name, sorted labels) -> value.

        Example: ``metrics()[("kafka_connect_connect_worker_rebalance_metrics_epoch", ())]``.
        """
        with urllib.request.urlopen(self.url + "/metrics", timeout=30) as response:
            text = response.read().decode()
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Send ``sig`` and wait for the process to exit; returns its exit code (0 if it was not running).

        Raises:
            AssertionError: It did not exit within ``timeout`` seconds (it is then killed).
        """
        proc, self.proc = self.proc, None
        return stop_process(proc, sig, timeout, self.name, self.log)

    def kill(self) -> None:
        """Stop the process with SIGKILL (``kill -9``): no clean shutdown, no LeaveGroup."""
        self.stop(signal.SIGKILL)


class Cluster:
    """Workers of one group on ``kafka``, with a unique group id and unique internal topic names.

    Args:
        kafka: The broker (anything with a ``bootstrap_servers`` attribute).
        workdir: Where the workers' properties files and logs go.
        protocol: The ``connect.protocol`` setting.
        template: Worker properties text the settings are applied to; :data:`DISTRIBUTED_TEMPLATE` by default.
        **overrides: Worker settings that replace or add to the cluster's settings, for every worker.
    """

    def __init__(
        self,
        kafka: EmbeddedKafka,
        workdir: Path,
        protocol: str = "sessioned",
        template: str | None = None,
        **overrides: str,
    ) -> None:
        self.kafka = kafka
        self.workdir = workdir
        self.template = DISTRIBUTED_TEMPLATE if template is None else template
        suffix = uuid.uuid4().hex[:8]
        self.group = f"connect-cluster-{suffix}"
        self.topics = {
            "config": f"connect-configs-{suffix}",
            "offset": f"connect-offsets-{suffix}",
            "status": f"connect-status-{suffix}",
        }
        self.settings = {
            "bootstrap.servers": kafka.bootstrap_servers,
            "group.id": self.group,
            "config.storage.topic": self.topics["config"],
            "offset.storage.topic": self.topics["offset"],
            "status.storage.topic": self.topics["status"],
            "connect.protocol": protocol,
            **FAST_GROUP,
            **overrides,
        }
        self.workers: list[Worker] = []
        self._count = 0

    def add(self, port: int | None = None, **overrides: str) -> Worker:
        """Start one more worker (not waiting for it), with ``overrides`` for this worker only."""
        self._count += 1
        port = port or free_port()
        props = properties_with(
            self.template, **{**self.settings, "listeners": f"http://127.0.0.1:{port}", **overrides}
        )
        worker = Worker(self.workdir, f"worker-{self._count}", props, port).start()
        self.workers.append(worker)
        return worker

    def start(self, count: int) -> list[Worker]:
        """Start ``count`` workers and wait until every one is healthy; returns them."""
        started = [self.add() for _ in range(count)]
        for worker in started:
            wait_for(worker.healthy, 90, f"{worker.name} healthy", worker.log)
        return started

    @property
    def live(self) -> list[Worker]:
        """The workers whose process is running, in start order."""
        return [w for w in self.workers if w.alive]

    def logs(self) -> str:
        """The end of every worker's log, one section per worker."""
        return "\n".join(f"===== {w.name}\n{w.log()}" for w in self.workers)

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
        """:func:`wait_for` with the workers' logs in the failure message."""
        return wait_for(predicate, timeout, what, self.logs)

    def status(self, connector: str, via: Worker | None = None) -> dict[str, Any] | None:
        """``GET /connectors/{connector}/status`` through ``via`` (the first live worker by default), or
        None if it does not answer 200."""
        worker = via or self.live[0]
        code, body = worker.http.get(f"/connectors/{connector}/status")
        return body if code == 200 else None

    def running(self, connector: str, tasks: int, on: set[str] | None = None) -> dict[str, Any] | None:
        """The status once the connector and exactly ``tasks`` tasks are RUNNING on the ``on`` worker ids (the
        live workers by default), else None."""
        body = self.status(connector)
        if body is None or body["connector"]["state"] != "RUNNING" or len(body["tasks"]) != tasks:
            return None
        workers = on if on is not None else {w.worker_id for w in self.live}
        if (
            all(t["state"] == "RUNNING" and t["worker_id"] in workers for t in body["tasks"])
            and body["connector"]["worker_id"] in workers
        ):
            return body
        return None

    def stop(self) -> None:
        """Stop every worker (SIGTERM), ignoring those that do not stop in time."""
        for worker in self.workers:
            try:
                worker.stop()
            except AssertionError:
                pass


def read_topic(
    bootstrap: str, topic: str, timeout: float = 30.0
) -> list[tuple[int, int, bytes | None, bytes | None]]:
    """Every record of ``topic`` now: ``(partition, offset, key, value)``, by partition then offset.

    Reads until every partition reported its end once (fetch responses, not ListOffsets, whose answers may lag
    on the embedded broker).

    Raises:
        AssertionError: The end of every partition was not reached within ``timeout`` seconds.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "fetch.wait.max.ms": 100,
        }
    )
    try:
        partitions = list(consumer.list_topics(topic, timeout=timeout).topics[topic].partitions)
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        out: list[tuple[int, int, bytes | None, bytes | None]] = []
        ended: set[int] = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for msg in consumer.consume(500, 0.2):
                error = msg.error()
                if error is None:
                    out.append((msg.partition(), msg.offset(), msg.key(), msg.value()))
                elif error.code() == error._PARTITION_EOF:
                    ended.add(msg.partition())
            if len(ended) == len(partitions):
                return sorted(out, key=lambda r: (r[0], r[1]))
        raise AssertionError(f"could not read {topic} to its end")
    finally:
        consumer.close()


def synthetic(topic: str, tasks: int, rate: float = 200, **extra: str) -> dict[str, str]:
    """The config of a synthetic source writing to ``topic``: numbered JSON records and ``{"sequence": n}``
    offsets per task; ``extra`` adds or replaces settings."""
    return {
        "connector.class": SYNTHETIC,
        "topic": topic,
        "tasks.max": str(tasks),
        "rate": str(rate),
        "schema": "false",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        **extra,
    }


def sequences(bootstrap: str, topic: str) -> dict[int, list[int]]:
    """Sequence numbers of a synthetic source's records in ``topic``, per task, in arrival order."""
    seen: dict[int, list[int]] = {}
    for _, _, _, value in read_topic(bootstrap, topic):
        record = json.loads(value or b"null")
        seen.setdefault(int(record["task"]), []).append(int(record["sequence"]))
    return seen


def committed(worker: Worker, connector: str) -> dict[int, int]:
    """The last committed sequence number of each synthetic task, from ``GET /connectors/{c}/offsets``."""
    code, body = worker.http.get(f"/connectors/{connector}/offsets")
    assert code == 200, body
    return {int(o["partition"]["task"]): int(o["offset"]["sequence"]) for o in body["offsets"]}


def assert_no_gap(bootstrap: str, topic: str, upto: dict[int, int]) -> dict[int, list[int]]:
    """Check every task's numbers cover 0..its committed offset with nothing missing (duplicates are allowed).

    Records after the last committed offset are sent again when the task resumes, so only those up to it must
    already be in the topic. The broker's high watermarks may lag for a few seconds, so the topic is read
    again until it holds the committed numbers.

    Args:
        bootstrap: The broker's bootstrap servers.
        topic: The synthetic source's topic.
        upto: Task -> last committed sequence number (see :func:`committed`).

    Returns:
        The sequence numbers seen per task (as :func:`sequences`).

    Raises:
        AssertionError: Numbers up to a committed offset are still missing after 30 s.
    """

    def missing(seen: dict[int, list[int]]) -> dict[int, list[int]]:
        gaps = {t: sorted(set(range(upto[t] + 1)) - set(seen.get(t, []))) for t in upto}
        return {t: g for t, g in gaps.items() if g}

    def caught_up() -> dict[int, list[int]] | None:
        seen = sequences(bootstrap, topic)
        return seen if sorted(seen) == sorted(upto) and not missing(seen) else None

    try:
        return wait_for(caught_up, 30, f"the committed records in {topic}")  # type: ignore[no-any-return]
    except AssertionError:
        gaps = missing(sequences(bootstrap, topic))
        raise AssertionError(
            f"records up to the committed offsets {upto} are missing: "
            f"{ {t: (len(g), g[:10]) for t, g in gaps.items()} }"
        ) from None
