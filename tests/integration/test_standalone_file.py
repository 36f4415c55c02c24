"""A file moves through Kafka into another file with Kafka's own sample property files, across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcfast.kafka.clients import create_topics
from kcfast.storage.javaser import decode_hashmap

pytestmark = pytest.mark.integration


def _lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    return path.read_text(encoding="utf-8").splitlines()


def test_file_source_to_file_sink_survives_restart(standalone, kafka, kafka_sample, workdir: Path,
                                                   topic_name: str) -> None:
    # One partition, as a Kafka broker's default num.partitions gives Kafka's quickstart: lines keep their order.
    create_topics(kafka.bootstrap_servers, {topic_name: 1})
    source_file = workdir / "test.txt"
    sink_file = workdir / "test.sink.txt"
    first = [f"line {i} ünïcode {'x' * (i % 7)}" for i in range(500)]
    source_file.write_text("\n".join(first) + "\n", encoding="utf-8")

    source_props = workdir / "connect-file-source.properties"
    source_props.write_text(kafka_sample("connect-file-source.properties", file=str(source_file), topic=topic_name))
    sink_props = workdir / "connect-file-sink.properties"
    sink_props.write_text(kafka_sample("connect-file-sink.properties", file=str(sink_file), topics=topic_name))

    worker = standalone([source_props, sink_props])
    worker.wait_for(lambda: len(_lines(sink_file)) >= len(first), what="all lines in the sink file")
    assert _lines(sink_file) == first

    status, body = worker.http.get("/connectors")
    assert status == 200 and sorted(body) == ["local-file-sink", "local-file-source"]
    assert worker.stop() == 0

    # The offsets file is the Java-serialized map Kafka writes: key ["local-file-source",{"filename":...}].
    offsets = decode_hashmap((workdir / "connect.offsets").read_bytes())
    key = ('["local-file-source",{"filename":"%s"}]' % source_file).encode()
    assert key in offsets
    total_chars = sum(len(line) + 1 for line in first)
    assert offsets[key] == b'{"position":%d}' % total_chars

    more = [f"more {i}" for i in range(200)]
    with source_file.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(more) + "\n")
    worker = standalone([source_props, sink_props])
    worker.wait_for(lambda: len(_lines(sink_file)) >= len(first) + len(more), what="appended lines")
    # Give a duplicate the chance to show up before comparing.
    worker.wait_for(lambda: worker.http.get("/connectors/local-file-sink/status")[1]["tasks"][0]["state"] == "RUNNING",
                    what="sink task running")
    assert _lines(sink_file) == first + more, "no line lost or duplicated across the restart"
