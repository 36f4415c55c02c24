"""``sink-task-metrics`` of a real ``kcfast standalone`` worker whose sink falls behind its topic.

A sink that takes a while over each small batch reads a topic that already holds its records: while it works
through them, ``GET /metrics`` must show ``sink-record-lag-max`` as the records still ahead of the consumer,
and the read and send totals must end at the number of records.
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kcfast.kafka import clients
from kcfast.testing.connectors import read_records

pytestmark = pytest.mark.integration

GROUP = "kafka_connect_sink_task_metrics_"
RECORDS = 2000
BATCH = 100


def scrape(worker: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``GET /metrics``, keyed by name and sorted labels."""
    with urllib.request.urlopen(worker.http.base + "/metrics", timeout=30) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_sink_lag_shows_the_records_ahead_of_a_slow_sink(standalone: Any, kafka: Any, workdir: Path,
                                                         topic_name: str) -> None:
    bootstrap = kafka.bootstrap_servers
    clients.create_topics(bootstrap, {topic_name: 1})
    producer = clients.new_producer({"bootstrap.servers": bootstrap})
    for i in range(RECORDS):
        producer.produce(topic_name, b"%d" % i)
    assert producer.flush(30) == 0

    records_file = workdir / "records.tsv"
    connector = workdir / "sink.properties"
    connector.write_text("".join(f"{k}={v}\n" for k, v in {
        "name": "lagging-sink", "connector.class": "kcfast.testing.connectors.MonitorableSinkConnector",
        "tasks.max": "1", "topics": topic_name, "records.file": str(records_file), "put.delay.ms": "150",
        "consumer.override.max.poll.records": str(BATCH),
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.storage.StringConverter",
    }.items()), encoding="utf-8")
    worker = standalone([connector])
    labels = (("connector", "lagging-sink"), ("task", "0"))

    def received() -> int:
        return len(read_records(records_file)) if records_file.exists() else 0

    lags: list[float] = []
    deadline = time.monotonic() + 120
    while received() < RECORDS and time.monotonic() < deadline:
        lag = scrape(worker).get((GROUP + "sink_record_lag_max", labels))
        if lag is not None:
            lags.append(lag)
        time.sleep(0.2)
    assert received() == RECORDS
    # The sink read 100 records per 150 ms batch from a topic holding 2,000: while it worked through them the
    # consumer was behind the end of the partition by most of the topic, and never by more than all of it.
    assert lags, "sink-record-lag-max was never reported"
    assert max(lags) >= BATCH and max(lags) <= RECORDS
    worker.wait_for(lambda: scrape(worker).get((GROUP + "sink_record_send_total", labels)) == RECORDS,
                    what="every record counted as sent")
    samples = scrape(worker)
    assert samples[(GROUP + "sink_record_read_total", labels)] == RECORDS
