"""Small value types shared by the connector API: topic partitions, produce metadata, versioned plugins."""

from __future__ import annotations

from typing import NamedTuple


class TopicPartition(NamedTuple):
    """A Kafka topic partition; hashable, so it keys offset maps (``dict[TopicPartition, int]``)."""

    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}-{self.partition}"


class RecordMetadata(NamedTuple):
    """Where Kafka stored a produced record (given to :meth:`SourceTask.commit_record`).

    ``offset`` and ``timestamp`` are ``-1`` when unknown.
    """

    topic: str
    partition: int
    offset: int = -1
    timestamp: int = -1

    def has_offset(self) -> bool:
        """Whether the broker returned an offset."""
        return self.offset >= 0

    def has_timestamp(self) -> bool:
        """Whether a timestamp is known."""
        return self.timestamp >= 0


class Versioned:
    """A plugin that reports its version (Java ``Versioned``)."""

    def version(self) -> str:
        """The plugin's version string."""
        raise NotImplementedError


__all__ = ["RecordMetadata", "TopicPartition", "Versioned"]
