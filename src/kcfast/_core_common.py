"""Constants, enums and small helpers shared verbatim by both implementations of the record core.

``kcfast._core`` (compiled) and ``kcfast._core_py`` (pure Python) import this module, so a value defined here
is the same object whichever implementation is in use: ``TimestampType.CREATE_TIME`` from one compares equal
(and identical) to the one from the other.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from typing import Any

from kcfast.errors import ConnectError, DataError, RetriableError


class TimestampType(enum.StrEnum):
    """How the timestamp of a consumed record was set (Kafka's ``TimestampType``).

    The string value is Kafka's name of the type (``str(TimestampType.CREATE_TIME) == "CreateTime"``).
    """

    NO_TIMESTAMP_TYPE = "NoTimestampType"
    CREATE_TIME = "CreateTime"
    LOG_APPEND_TIME = "LogAppendTime"


# librdkafka's timestamp types, as ``Message.timestamp()[0]`` reports them:
# TIMESTAMP_NOT_AVAILABLE = 0, TIMESTAMP_CREATE_TIME = 1, TIMESTAMP_LOG_APPEND_TIME = 2.
TIMESTAMP_TYPES: tuple[TimestampType, TimestampType, TimestampType] = (
    TimestampType.NO_TIMESTAMP_TYPE,
    TimestampType.CREATE_TIME,
    TimestampType.LOG_APPEND_TIME,
)

# librdkafka's RD_KAFKA_RESP_ERR__PARTITION_EOF: not an error, the consumer reached the end of a partition.
# The value is fixed by librdkafka's ABI, so the core needs no import of confluent_kafka to recognise it.
PARTITION_EOF = -191

# The stage names of Kafka Connect's error reporting (``Stage`` in the runtime's errors package) that the
# core can fail in when it converts a record.
STAGE_KEY_CONVERTER = "KEY_CONVERTER"
STAGE_VALUE_CONVERTER = "VALUE_CONVERTER"
STAGE_HEADER_CONVERTER = "HEADER_CONVERTER"

# How long produce_batch polls the producer for delivery reports when its queue is full, in seconds.
PRODUCE_RETRY_POLL_SECONDS = 0.1


def canonical_value(value: Any) -> Any:
    """A hashable form of one value of a source partition map, distinct for values Java tells apart.

    ``1``, ``1.0`` and ``True`` are equal in Python but are different ``Long``, ``Double`` and ``Boolean``
    values in a Java map, so numbers carry their type. Strings, which never equal a non-string, stand for
    themselves.
    """
    cls = value.__class__
    if cls is str:
        return value
    if cls is dict or isinstance(value, Mapping):
        return ("map", partition_key(value))
    if cls is list or cls is tuple:
        return ("list", tuple([canonical_value(item) for item in value]))
    if cls is bytearray or cls is memoryview:
        return (bytes, bytes(value))
    try:
        hash(value)
    except TypeError:
        return ("repr", repr(value))
    return (cls, value)


def partition_key(partition: Mapping[str, Any] | None) -> Any:
    """A hashable key for a source partition map: equal for maps Java's ``Map.equals`` finds equal.

    The key ignores the order of the map's entries. ``None`` (a record without source partition) is its
    own key.
    """
    if partition is None:
        return None
    if len(partition) == 1:
        for name, value in partition.items():
            return ((name, canonical_value(value)),)
    try:
        names = sorted(partition)
    except TypeError:  # keys of mixed types: order them by their text, still the same for equal maps
        names = sorted(partition, key=repr)
    return tuple([(name, canonical_value(partition[name])) for name in names])


def timestamp_of(timestamp_type: int, timestamp: int) -> int | None:
    """The record timestamp of a consumed message: ``None`` when the broker gave none (as Kafka Connect
    turns ``RecordBatch.NO_TIMESTAMP`` into ``null``)."""
    if timestamp_type == 0 or timestamp < 0:
        return None
    return timestamp


def _converter_name(converter: Any) -> str:
    cls = converter.__class__
    return f"{cls.__module__}.{cls.__qualname__}"


_WHAT = {STAGE_KEY_CONVERTER: "key", STAGE_VALUE_CONVERTER: "value", STAGE_HEADER_CONVERTER: "headers"}


def conversion_error(
    index: int, topic: Any, partition: Any, offset: Any, stage: str, converter: Any, cause: BaseException
) -> DataError:
    """The ``DataError`` raised when record ``index`` of a batch fails to convert at ``stage``.

    The message names the record (topic, partition and, for consumed records, offset), the stage and
    converter class, and the cause; the attributes let the worker apply its error tolerance and go on
    with the rest of the batch.
    """
    where = f"topic {topic!r}, partition {partition}"
    if offset is not None:
        where += f", offset {offset}"
    error = DataError(
        f"Failed to convert the {_WHAT[stage]} of the record at {where} "
        f"(stage {stage}, {_converter_name(converter)}): {cause}"
    )
    error.index = index  # type: ignore[attr-defined]
    error.topic = topic  # type: ignore[attr-defined]
    error.partition = partition  # type: ignore[attr-defined]
    error.offset = offset  # type: ignore[attr-defined]
    error.stage = stage  # type: ignore[attr-defined]
    return error


def consume_error(index: int, message: Any, kafka_error: Any) -> ConnectError:
    """The error raised for a consumed message that carries a librdkafka error (other than partition EOF).

    ``RetriableError`` when librdkafka says the error is retriable, else ``ConnectError``; attributes
    ``index``, ``topic``, ``partition``, ``offset`` and ``kafka_error``.
    """
    try:
        retriable = bool(kafka_error.retriable())
    except Exception:  # noqa: BLE001 - an error object without retriable(): treat as not retriable
        retriable = False
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    cls = RetriableError if retriable else ConnectError
    error = cls(f"Consumer error at topic {topic!r}, partition {partition}, offset {offset}: {kafka_error}")
    error.index = index  # type: ignore[attr-defined]
    error.topic = topic  # type: ignore[attr-defined]
    error.partition = partition  # type: ignore[attr-defined]
    error.offset = offset  # type: ignore[attr-defined]
    error.kafka_error = kafka_error  # type: ignore[attr-defined]
    return error


def produce_error(index: int, produced: int, topic: Any, partition: Any, cause: BaseException) -> ConnectError:
    """The error raised when ``Producer.produce`` refuses record ``index`` for a reason other than a full
    queue; ``produced`` records were handed to the producer before it."""
    error = ConnectError(f"Unrecoverable exception trying to send a record to topic {topic!r}, partition {partition}: {cause}")
    error.index = index  # type: ignore[attr-defined]
    error.produced = produced  # type: ignore[attr-defined]
    return error


class PartitionOffsets(Mapping[Any, Any]):
    """A read-only mapping from source partition maps (dicts) to source offset maps.

    Source partitions are dicts, which Python cannot hash, so the mapping keys them internally by
    :func:`partition_key`. Iterating yields the partition dicts; ``items()`` yields ``(partition, offset)``
    pairs; ``mapping[partition]`` looks up by value equality, like a Java ``Map<Map<String,?>, ...>``.
    """

    __slots__ = ("_entries",)

    def __init__(self, entries: dict[Any, tuple[Any, Any]] | None = None) -> None:
        # key -> (partition, offset); the dict is owned by this object from now on.
        self._entries: dict[Any, tuple[Any, Any]] = entries if entries is not None else {}

    @classmethod
    def from_pairs(cls, pairs: Any) -> PartitionOffsets:
        """Build a mapping from ``(partition, offset)`` pairs or from another ``PartitionOffsets``."""
        if isinstance(pairs, PartitionOffsets):
            return cls(dict(pairs._entries))
        if isinstance(pairs, Mapping):
            pairs = pairs.items()
        return cls({partition_key(p): (p, o) for p, o in pairs})

    def __getitem__(self, partition: Any) -> Any:
        return self._entries[partition_key(partition)][1]

    def __contains__(self, partition: object) -> bool:
        try:
            return partition_key(partition) in self._entries  # type: ignore[arg-type]
        except (TypeError, AttributeError):
            return False

    def __iter__(self) -> Iterator[Any]:
        return (entry[0] for entry in self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def items(self) -> Any:
        """The ``(partition, offset)`` pairs."""
        return list(self._entries.values())

    def merged(self, newer: PartitionOffsets) -> PartitionOffsets:
        """A new mapping with this one's entries overwritten by ``newer``'s."""
        entries = dict(self._entries)
        entries.update(newer._entries)
        return PartitionOffsets(entries)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PartitionOffsets):
            return self._entries == other._entries
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        body = ", ".join(f"{p!r}: {o!r}" for p, o in self._entries.values())
        return f"PartitionOffsets({{{body}}})"


class CommittableOffsets:
    """A snapshot of the source offsets that can be committed, and counts of the records behind them.

    Made by ``SubmittedRecords.committable_offsets()``. ``offsets`` maps each source partition to the
    offset of the last record of its contiguous acknowledged prefix. Immutable; thread-safe.
    """

    __slots__ = (
        "offsets",
        "num_committable_messages",
        "num_uncommittable_messages",
        "num_deques",
        "largest_deque_size",
        "largest_deque_partition",
    )

    EMPTY: CommittableOffsets

    def __init__(
        self,
        offsets: PartitionOffsets | Mapping[Any, Any] | Any = None,
        num_committable_messages: int = 0,
        num_uncommittable_messages: int = 0,
        num_deques: int = 0,
        largest_deque_size: int = 0,
        largest_deque_partition: Mapping[str, Any] | None = None,
    ) -> None:
        if offsets is None:
            offsets = PartitionOffsets()
        elif not isinstance(offsets, PartitionOffsets):
            offsets = PartitionOffsets.from_pairs(offsets)
        self.offsets: PartitionOffsets = offsets
        """Source partition -> committable source offset."""
        self.num_committable_messages = num_committable_messages
        """Records acknowledged and not preceded by an unacknowledged one of their partition."""
        self.num_uncommittable_messages = num_uncommittable_messages
        """Records not acknowledged, or preceded by an unacknowledged one of their partition."""
        self.num_deques = num_deques
        """Source partitions that still have uncommittable records."""
        self.largest_deque_size = largest_deque_size
        """The most uncommittable records of one source partition."""
        self.largest_deque_partition = largest_deque_partition
        """The source partition with the most uncommittable records (``None`` if there are none)."""

    def has_pending(self) -> bool:
        """Whether some records could not be committed yet."""
        return self.num_uncommittable_messages > 0

    def is_empty(self) -> bool:
        """Whether the snapshot holds no offsets and counted no records."""
        return self.num_committable_messages == 0 and self.num_uncommittable_messages == 0 and not self.offsets

    def updated_with(self, newer: CommittableOffsets) -> CommittableOffsets:
        """Combine with a newer snapshot: offsets merged (newer wins), committable counts summed, pending
        counts taken from ``newer``."""
        return CommittableOffsets(
            self.offsets.merged(newer.offsets),
            self.num_committable_messages + newer.num_committable_messages,
            newer.num_uncommittable_messages,
            newer.num_deques,
            newer.largest_deque_size,
            newer.largest_deque_partition,
        )

    def __repr__(self) -> str:
        return (
            f"CommittableOffsets(offsets={self.offsets!r}, num_committable_messages={self.num_committable_messages}, "
            f"num_uncommittable_messages={self.num_uncommittable_messages}, num_deques={self.num_deques}, "
            f"largest_deque_size={self.largest_deque_size}, largest_deque_partition={self.largest_deque_partition!r})"
        )


CommittableOffsets.EMPTY = CommittableOffsets()


__all__ = [
    "CommittableOffsets",
    "PARTITION_EOF",
    "PRODUCE_RETRY_POLL_SECONDS",
    "STAGE_HEADER_CONVERTER",
    "STAGE_KEY_CONVERTER",
    "STAGE_VALUE_CONVERTER",
    "TIMESTAMP_TYPES",
    "PartitionOffsets",
    "TimestampType",
    "canonical_value",
    "consume_error",
    "conversion_error",
    "produce_error",
    "timestamp_of",
    "partition_key",
]
