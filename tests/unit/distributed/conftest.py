"""An in-memory topic standing in for Kafka under the internal-topic stores (no network in unit tests)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pytest

from kcfast.errors import ConnectError
from kcfast.kafka.log import DeliveryCallback, LogRecord, RecordMetadata


class FakeTopic:
    """Records appended in order; every log on it reads the same records.

    ``fail_next`` makes the next sends fail with the given errors (one per send).
    """

    def __init__(self, name: str = "topic", partitions: int = 1) -> None:
        self.name = name
        self.partitions = partitions
        self.records: list[LogRecord] = []
        self.fail_next: list[BaseException] = []
        self.sent = 0

    def log(self, callback: Callable[[LogRecord], None]) -> FakeLog:
        return FakeLog(self, callback)

    def append(self, key: bytes | None, value: bytes | None) -> LogRecord:
        partition = 0 if self.partitions == 1 or key is None else sum(key) % self.partitions
        offset = sum(1 for r in self.records if r.partition == partition)
        record = LogRecord(self.name, partition, offset, key, value, 0)
        self.records.append(record)
        return record

    def keys(self) -> list[str | None]:
        return [None if r.key is None else r.key.decode() for r in self.records]


class FakeLog:
    """A :class:`~kcfast.kafka.log.RecordLog` on a :class:`FakeTopic`; it reads on start and read_to_end."""

    def __init__(self, topic: FakeTopic, callback: Callable[[LogRecord], None]) -> None:
        self.topic = topic
        self.callback = callback
        self.read = 0
        self.started = False
        self.stopped = False

    @property
    def partition_count(self) -> int:
        return self.topic.partitions

    def start(self) -> None:
        self.started = True
        self.read_to_end()

    def stop(self) -> None:
        self.stopped = True

    def send(
        self, key: bytes | None, value: bytes | None, callback: DeliveryCallback | None = None
    ) -> Future[RecordMetadata]:
        future: Future[RecordMetadata] = Future()
        self.topic.sent += 1
        if self.topic.fail_next:
            error = self.topic.fail_next.pop(0)
            future.set_exception(error)
            if callback is not None:
                callback(error, None)
            return future
        record = self.topic.append(key, value)
        metadata = RecordMetadata(record.topic, record.partition, record.offset)
        future.set_result(metadata)
        if callback is not None:
            callback(None, metadata)
        return future

    def flush(self, timeout: float | None = None) -> None:
        pass

    def read_to_end(self, timeout: float | None = None) -> None:
        if self.stopped:
            raise ConnectError("stopped")
        while self.read < len(self.topic.records):
            record = self.topic.records[self.read]
            self.read += 1
            self.callback(record)


@pytest.fixture
def fake_topic() -> Callable[..., Any]:
    """``fake_topic(name="topic", partitions=1)``: a new in-memory topic."""
    return FakeTopic
