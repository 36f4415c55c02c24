"""``task-error-metrics`` of a real ``kcfast standalone`` worker whose sink tolerates bad records.

A FileStreamSink with a schemaless JsonConverter, ``errors.tolerance=all``, error logging and a dead letter
queue reads a topic where some records are not JSON; ``GET /metrics`` must then count each bad record once as
a failure, an error, a skipped record, a logged error and a dead letter queue write, as Kafka's
``ErrorHandlingMetrics`` do.
"""

from __future__ import annotations

import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kcfast.kafka import clients

pytestmark = pytest.mark.integration

JSON = "org.apache.kafka.connect.json.JsonConverter"
GROUP = "kafka_connect_task_error_metrics_"


def scrape(worker: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``GET /metrics``, keyed by name and sorted labels."""
    with urllib.request.urlopen(worker.http.base + "/metrics", timeout=30) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def dlq_count(bootstrap: str, topic: str) -> int:
    """How many records the dead letter queue holds (0 before it exists), read from its beginning."""
    md = clients.cluster_metadata(bootstrap).topics.get(topic)
    if md is None or md.error is not None:
        return 0
    consumer = clients.new_consumer({"bootstrap.servers": bootstrap, "group.id": f"it-{uuid.uuid4().hex}",
                                     "enable.auto.commit": False})
    try:
        consumer.assign([clients.TopicPartition(topic, 0, 0)])
        count = 0
        while batch := consumer.consume(500, 0.5):
            count += sum(1 for m in batch if m.error() is None)
        return count
    finally:
        consumer.close()


def test_tolerated_bad_records_are_counted_once_each(standalone: Any, kafka: Any, workdir: Path,
                                                     topic_name: str) -> None:
    bootstrap = kafka.bootstrap_servers
    values = [b'{"n":%d}' % i if i % 3 else b'{"n:%d' % i for i in range(30)]
    bad = sum(1 for v in values if not v.endswith(b"}"))
    clients.create_topics(bootstrap, {topic_name: 1})
    producer = clients.new_producer({"bootstrap.servers": bootstrap})
    for value in values:
        producer.produce(topic_name, value)
    assert producer.flush(30) == 0

    dlq = f"errors-{uuid.uuid4().hex[:8]}"
    sink_file = workdir / "sink.txt"
    connector = workdir / "sink.properties"
    connector.write_text("".join(f"{k}={v}\n" for k, v in {
        "name": "metrics-sink", "connector.class": "FileStreamSink", "tasks.max": "1", "topics": topic_name,
        "file": str(sink_file), "key.converter": JSON, "value.converter": JSON,
        "key.converter.schemas.enable": "false", "value.converter.schemas.enable": "false",
        "errors.tolerance": "all", "errors.log.enable": "true",
        "errors.deadletterqueue.topic.name": dlq, "errors.deadletterqueue.topic.replication.factor": "1",
    }.items()), encoding="utf-8")
    started = int(time.time() * 1000)
    worker = standalone([connector])

    def lines() -> int:
        return len(sink_file.read_text(encoding="utf-8").splitlines()) if sink_file.exists() else 0

    worker.wait_for(lambda: lines() == len(values) - bad and dlq_count(bootstrap, dlq) == bad,
                    what="good records in the file and bad ones in the dead letter queue")
    # Every bad record has reached the dead letter queue: each has gone through the error handling.
    labels = (("connector", "metrics-sink"), ("task", "0"))
    samples = scrape(worker)

    def value(name: str) -> float:
        return samples[(GROUP + name, labels)]

    assert bad == 10, "every third record misses its closing quote and brace"
    assert value("total_record_failures") == bad
    assert value("total_record_errors") == bad
    assert value("total_records_skipped") == bad
    assert value("total_errors_logged") == bad
    assert value("deadletterqueue_produce_requests") == bad
    assert value("deadletterqueue_produce_failures") == 0
    assert value("total_retries") == 0
    assert value("last_error_timestamp") >= started
