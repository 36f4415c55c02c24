"""Fake worker contexts that let connector tests drive tasks directly, without Kafka."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kcfast.api import OffsetStorageReader, SinkTaskContext, SourceTaskContext, TopicPartition


class MemoryOffsetReader(OffsetStorageReader):
    """Committed source offsets kept in a list of (partition, offset) pairs."""

    def __init__(self) -> None:
        self.stored: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def commit(self, partition: Mapping[str, Any], offset: Mapping[str, Any]) -> None:
        self.stored = [(p, o) for p, o in self.stored if p != partition]
        self.stored.append((dict(partition), dict(offset)))

    def offset(self, partition: Mapping[str, Any]) -> dict[str, Any] | None:
        for p, o in self.stored:
            if p == partition:
                return o
        return None


class FakeSourceTaskContext(SourceTaskContext):
    def __init__(self, configs: dict[str, str] | None = None) -> None:
        self._configs = configs or {}
        self.reader = MemoryOffsetReader()

    def configs(self) -> dict[str, str]:
        return self._configs

    def offset_storage_reader(self) -> OffsetStorageReader:
        return self.reader

    def commit_records(self, records: list[Any] | None) -> None:
        """What the worker does once records are acknowledged: keep the last offset per partition."""
        for record in records or ():
            self.reader.commit(record.source_partition, record.source_offset)


class FakeSinkTaskContext(SinkTaskContext):
    def __init__(self) -> None:
        self.commit_requests = 0

    def configs(self) -> dict[str, str]:
        return {}

    def offset(self, offsets_or_tp: Any, offset: int | None = None) -> None:
        pass

    def timeout(self, timeout_ms: int) -> None:
        pass

    def assignment(self) -> set[TopicPartition]:
        return set()

    def pause(self, *partitions: TopicPartition) -> None:
        pass

    def resume(self, *partitions: TopicPartition) -> None:
        pass

    def request_commit(self) -> None:
        self.commit_requests += 1
