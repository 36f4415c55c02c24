"""``${file:path:key}`` variables: resolved when connectors and tasks run, kept raw in REST responses."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcfast.kafka.clients import create_topics

pytestmark = pytest.mark.integration


def test_file_config_provider_resolves_topic_and_keeps_raw_config(standalone, kafka, workdir: Path,
                                                                   topic_name: str) -> None:
    create_topics(kafka.bootstrap_servers, {topic_name: 1})
    secrets = workdir / "secrets.properties"
    secrets.write_text(f"topic={topic_name}\n", encoding="utf-8")
    source_file = workdir / "in.txt"
    source_file.write_text("alpha\nbeta\n", encoding="utf-8")
    sink_file = workdir / "out.txt"

    worker = standalone(**{
        "config.providers": "file",
        "config.providers.file.class": "org.apache.kafka.common.config.provider.FileConfigProvider",
    })
    raw_topic = "${file:%s:topic}" % secrets
    status, _ = worker.http.request("POST", "/connectors", {"name": "src", "config": {
        "connector.class": "FileStreamSource", "file": str(source_file), "topic": raw_topic}})
    assert status == 201
    status, _ = worker.http.request("POST", "/connectors", {"name": "sink", "config": {
        "connector.class": "FileStreamSink", "file": str(sink_file), "topics": raw_topic}})
    assert status == 201

    worker.wait_for(lambda: sink_file.exists() and sink_file.read_text().splitlines() == ["alpha", "beta"],
                    what="lines through the resolved topic")
    status, config = worker.http.get("/connectors/src/config")
    assert status == 200 and config["topic"] == raw_topic
    status, tasks = worker.http.get("/connectors/sink/tasks")
    assert status == 200 and tasks[0]["config"]["topics"] == raw_topic
    status, topics = worker.http.get("/connectors/src/topics")
    assert status == 200 and topics == {"src": {"topics": [topic_name]}}
