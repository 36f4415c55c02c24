"""Pure-Python twin of ``kcfast._core``: the same API, the fallback when the extension is absent, and the
oracle of the core's tests.

Import it through :mod:`kcfast.core`. Everything here is written for clarity first: the compiled core must
give the same results, and the tests compare the two.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from kcfast._core_common import (
    PARTITION_EOF,
    PRODUCE_RETRY_POLL_SECONDS,
    STAGE_HEADER_CONVERTER,
    STAGE_KEY_CONVERTER,
    STAGE_VALUE_CONVERTER,
    TIMESTAMP_TYPES,
    CommittableOffsets,
    PartitionOffsets,
    TimestampType,
    consume_error,
    conversion_error,
    partition_key,
    produce_error,
    timestamp_of,
)
from kcfast._core_py_transforms import compile_transform_plan, transform_batch
from kcfast.errors import DataError

_NO_TIMESTAMP_TYPE = TimestampType.NO_TIMESTAMP_TYPE

_ConnectHeaders: Any = None


def _headers_class() -> Any:
    """``kcfast.data.ConnectHeaders``, imported on first use so that records without headers cost nothing."""
    global _ConnectHeaders
    if _ConnectHeaders is None:
        from kcfast.data import ConnectHeaders

        _ConnectHeaders = ConnectHeaders
    return _ConnectHeaders


def _as_headers(headers: Any) -> Any:
    """The ``ConnectHeaders`` for what a record was given: nothing, a ``ConnectHeaders``, or header objects."""
    cls = _headers_class()
    if headers is None:
        return cls()
    if isinstance(headers, cls):
        return headers
    return cls(headers)


def _duplicate_headers(headers: Any) -> Any:
    """A copy of a record's stored headers for ``new_record`` (``None`` stays ``None``: nothing to copy)."""
    if headers is None:
        return None
    return _as_headers(headers).duplicate()


def _headers_equal(a: Any, b: Any) -> bool:
    if a is None and b is None:
        return True
    return bool(_as_headers(a) == _as_headers(b))


# ---------------------------------------------------------------------------------------------- records


class ConnectRecord:
    """Base of the records that flow through a connector (Kafka Connect's ``ConnectRecord``).

    Records are immutable: transformations make new ones with :meth:`new_record`. The ``headers`` object
    is created on first access, so a record that never touches its headers does not allocate one; it is
    mutable, as in Kafka Connect.

    Thread safety: a record may be read from any thread; its headers must not be mutated concurrently.
    """

    __slots__ = ("_topic", "_kafka_partition", "_key_schema", "_key", "_value_schema", "_value", "_timestamp", "_headers")

    def __init__(
        self,
        topic: str,
        kafka_partition: int | None,
        key_schema: Any,
        key: Any,
        value_schema: Any,
        value: Any,
        timestamp: int | None = None,
        headers: Any = None,
    ) -> None:
        self._topic = topic
        self._kafka_partition = kafka_partition
        self._key_schema = key_schema
        self._key = key
        self._value_schema = value_schema
        self._value = value
        self._timestamp = timestamp
        self._headers = headers

    @property
    def topic(self) -> str:
        """The Kafka topic of the record."""
        return self._topic

    @property
    def kafka_partition(self) -> int | None:
        """The Kafka partition, or ``None`` to let the producer choose."""
        return self._kafka_partition

    @property
    def key_schema(self) -> Any:
        """The schema of the key, or ``None``."""
        return self._key_schema

    @property
    def key(self) -> Any:
        """The key, as Connect data."""
        return self._key

    @property
    def value_schema(self) -> Any:
        """The schema of the value, or ``None``."""
        return self._value_schema

    @property
    def value(self) -> Any:
        """The value, as Connect data."""
        return self._value

    @property
    def timestamp(self) -> int | None:
        """The timestamp in milliseconds since the epoch, or ``None``."""
        return self._timestamp

    @property
    def headers(self) -> Any:
        """The record's ``kcfast.data.ConnectHeaders`` (created empty on first access if it had none)."""
        headers = self._headers
        if headers is None or headers.__class__ is not _ConnectHeaders:
            headers = self._headers = _as_headers(headers)
        return headers

    def new_record(
        self,
        topic: str,
        kafka_partition: int | None,
        key_schema: Any,
        key: Any,
        value_schema: Any,
        value: Any,
        timestamp: int | None,
        headers: Any = None,
    ) -> ConnectRecord:
        """A record of the same class with the given fields; ``headers=None`` copies this record's headers."""
        raise NotImplementedError

    def _base_equal(self, other: ConnectRecord) -> bool:
        return (
            self._kafka_partition == other._kafka_partition
            and self._topic == other._topic
            and self._key_schema == other._key_schema
            and self._key == other._key
            and self._value_schema == other._value_schema
            and self._value == other._value
            and self._timestamp == other._timestamp
            and _headers_equal(self._headers, other._headers)
        )

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._base_equal(other)  # type: ignore[arg-type]

    __hash__ = None  # type: ignore[assignment]

    def _base_repr(self) -> str:
        return (
            f"topic={self._topic!r}, kafka_partition={self._kafka_partition!r}, key_schema={self._key_schema!r}, "
            f"key={self._key!r}, value_schema={self._value_schema!r}, value={self._value!r}, "
            f"timestamp={self._timestamp!r}, headers={self._headers!r}"
        )


class SinkRecord(ConnectRecord):
    """A record consumed from Kafka, handed to a sink task (Kafka Connect's ``SinkRecord``).

    ``original_topic``, ``original_kafka_partition`` and ``original_kafka_offset`` are the coordinates the
    record was consumed at; transformations keep them, so offsets are always tracked on the consumed
    partition. They default to the record's own coordinates.
    """

    __slots__ = ("_kafka_offset", "_timestamp_type", "_original_topic", "_original_kafka_partition", "_original_kafka_offset")

    def __init__(
        self,
        topic: str,
        kafka_partition: int | None,
        key_schema: Any,
        key: Any,
        value_schema: Any,
        value: Any,
        kafka_offset: int,
        timestamp: int | None = None,
        timestamp_type: TimestampType = _NO_TIMESTAMP_TYPE,
        headers: Any = None,
        original_topic: str | None = None,
        original_kafka_partition: int | None = None,
        original_kafka_offset: int | None = None,
    ) -> None:
        self._topic = topic
        self._kafka_partition = kafka_partition
        self._key_schema = key_schema
        self._key = key
        self._value_schema = value_schema
        self._value = value
        self._timestamp = timestamp
        self._headers = headers
        self._kafka_offset = kafka_offset
        self._timestamp_type = timestamp_type
        self._original_topic = topic if original_topic is None else original_topic
        self._original_kafka_partition = kafka_partition if original_kafka_partition is None else original_kafka_partition
        self._original_kafka_offset = kafka_offset if original_kafka_offset is None else original_kafka_offset

    @property
    def kafka_offset(self) -> int:
        """The offset of the record in its Kafka partition."""
        return self._kafka_offset

    @property
    def timestamp_type(self) -> TimestampType:
        """How the timestamp was set."""
        return self._timestamp_type

    @property
    def original_topic(self) -> str:
        """The topic the record was consumed from, before any transformation."""
        return self._original_topic

    @property
    def original_kafka_partition(self) -> int | None:
        """The partition the record was consumed from, before any transformation."""
        return self._original_kafka_partition

    @property
    def original_kafka_offset(self) -> int:
        """The offset the record was consumed at, before any transformation."""
        return self._original_kafka_offset

    def new_record(
        self,
        topic: str,
        kafka_partition: int | None,
        key_schema: Any,
        key: Any,
        value_schema: Any,
        value: Any,
        timestamp: int | None,
        headers: Any = None,
    ) -> SinkRecord:
        """A copy with new fields, keeping the Kafka offset, timestamp type and original coordinates."""
        if headers is None:
            headers = _duplicate_headers(self._headers)
        return SinkRecord(
            topic,
            kafka_partition,
            key_schema,
            key,
            value_schema,
            value,
            self._kafka_offset,
            timestamp,
            self._timestamp_type,
            headers,
            self._original_topic,
            self._original_kafka_partition,
            self._original_kafka_offset,
        )

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not SinkRecord:
            return NotImplemented
        assert isinstance(other, SinkRecord)
        return (
            self._base_equal(other)
            and self._kafka_offset == other._kafka_offset
            and self._timestamp_type == other._timestamp_type
            and self._original_topic == other._original_topic
            and self._original_kafka_partition == other._original_kafka_partition
            and self._original_kafka_offset == other._original_kafka_offset
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"SinkRecord({self._base_repr()}, kafka_offset={self._kafka_offset!r}, "
            f"timestamp_type={str(self._timestamp_type)}, original_topic={self._original_topic!r}, "
            f"original_kafka_partition={self._original_kafka_partition!r}, "
            f"original_kafka_offset={self._original_kafka_offset!r})"
        )


class SourceRecord(ConnectRecord):
    """A record produced by a source task, to be written to Kafka (Kafka Connect's ``SourceRecord``).

    ``source_partition`` and ``source_offset`` are maps of string keys to primitive values that say where
    in the source system the record came from; the worker commits the offset once the record is written.
    """

    __slots__ = ("_source_partition", "_source_offset")

    def __init__(
        self,
        source_partition: Mapping[str, Any] | None,
        source_offset: Mapping[str, Any] | None,
        topic: str,
        kafka_partition: int | None = None,
        key_schema: Any = None,
        key: Any = None,
        value_schema: Any = None,
        value: Any = None,
        timestamp: int | None = None,
        headers: Any = None,
    ) -> None:
        self._topic = topic
        self._kafka_partition = kafka_partition
        self._key_schema = key_schema
        self._key = key
        self._value_schema = value_schema
        self._value = value
        self._timestamp = timestamp
        self._headers = headers
        self._source_partition = source_partition
        self._source_offset = source_offset

    @property
    def source_partition(self) -> Mapping[str, Any] | None:
        """Where in the source system the record comes from (a map of string keys)."""
        return self._source_partition

    @property
    def source_offset(self) -> Mapping[str, Any] | None:
        """The position of the record within its source partition (a map of string keys)."""
        return self._source_offset

    def new_record(
        self,
        topic: str,
        kafka_partition: int | None,
        key_schema: Any,
        key: Any,
        value_schema: Any,
        value: Any,
        timestamp: int | None,
        headers: Any = None,
    ) -> SourceRecord:
        """A copy with new fields, keeping the source partition and offset."""
        if headers is None:
            headers = _duplicate_headers(self._headers)
        return SourceRecord(
            self._source_partition,
            self._source_offset,
            topic,
            kafka_partition,
            key_schema,
            key,
            value_schema,
            value,
            timestamp,
            headers,
        )

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not SourceRecord:
            return NotImplemented
        assert isinstance(other, SourceRecord)
        return (
            self._base_equal(other)
            and self._source_partition == other._source_partition
            and self._source_offset == other._source_offset
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"SourceRecord(source_partition={self._source_partition!r}, source_offset={self._source_offset!r}, "
            f"{self._base_repr()})"
        )


# ---------------------------------------------------------------------------------------------- offsets

_SUBMITTED = 0
_ACKED = 1
_DROPPED = 2


class _PartitionQueue:
    """The tracked records of one source partition, in submission order, and the acknowledged prefix
    folded into a pending committable offset."""

    __slots__ = ("key", "partition", "records", "pending", "pending_offset")

    def __init__(self, key: Any, partition: Any) -> None:
        self.key = key
        self.partition = partition
        self.records: deque[SubmittedRecord] = deque()
        self.pending = 0
        self.pending_offset: Any = None

    def collapse(self) -> None:
        records = self.records
        while records and records[0]._state == _ACKED:
            self.pending_offset = records.popleft()._offset
            self.pending += 1


class SubmittedRecord:
    """One source record handed to the producer, waiting for its delivery acknowledgement.

    Made by :meth:`SubmittedRecords.submit`. ``ack()`` may be called from any thread (librdkafka's
    delivery callbacks); ``drop()`` only from the thread that owns the ``SubmittedRecords``. The record is
    also a delivery callback: ``record(err, msg)`` acknowledges it when ``err`` is ``None`` and otherwise
    calls the owner's ``on_failure(record, err, msg)``, leaving the record unacknowledged.
    """

    __slots__ = ("_owner", "_queue", "_partition", "_offset", "_state")

    def __init__(self, owner: SubmittedRecords, queue: _PartitionQueue, partition: Any, offset: Any) -> None:
        self._owner = owner
        self._queue = queue
        self._partition = partition
        self._offset = offset
        self._state = _SUBMITTED

    @property
    def source_partition(self) -> Any:
        """The source partition of the record."""
        return self._partition

    @property
    def source_offset(self) -> Any:
        """The source offset of the record."""
        return self._offset

    @property
    def acked(self) -> bool:
        """Whether the record was acknowledged."""
        return self._state == _ACKED

    def ack(self) -> None:
        """Acknowledge the record: it was written, so its offset may be committed once every earlier
        record of its source partition is acknowledged too. Idempotent and final: a dropped record stays
        dropped, an acknowledged one stays acknowledged."""
        owner = self._owner
        with owner._lock:
            if self._state != _SUBMITTED:
                return
            self._state = _ACKED
            owner._in_flight -= 1
            queue = self._queue
            if queue.records and queue.records[0] is self:
                queue.collapse()
            done = owner._in_flight == 0
            waiter = owner._waiter
        if done and waiter is not None:
            waiter.set()

    def __call__(self, err: Any, msg: Any) -> None:
        if err is None:
            self.ack()
            return
        handler = self._owner.on_failure
        if handler is not None:
            handler(self, err, msg)

    def drop(self) -> bool:
        """Stop tracking the record without acknowledging it (it was filtered, or the producer rejected it
        and it will be retried). Returns whether the record was still tracked; an acknowledged record is
        no longer tracked (its offset is, or was, committable) and stays acknowledged."""
        owner = self._owner
        with owner._lock:
            if self._state != _SUBMITTED:
                return False
            queue = self._queue
            records = queue.records
            removed = False
            if records and records[-1] is self:
                records.pop()
                removed = True
            else:
                for i in range(len(records) - 1, -1, -1):
                    if records[i] is self:
                        del records[i]
                        removed = True
                        break
            self._state = _DROPPED
            owner._in_flight -= 1
            queue.collapse()
            if not records and not queue.pending and owner._queues.get(queue.key) is queue:
                del owner._queues[queue.key]
            done = owner._in_flight == 0
            waiter = owner._waiter
        if done and waiter is not None:
            waiter.set()
        return removed

    def __repr__(self) -> str:
        state = ("submitted", "acked", "dropped")[self._state]
        return f"SubmittedRecord(source_partition={self._partition!r}, source_offset={self._offset!r}, {state})"


class SubmittedRecords:
    """Source records in flight, per source partition, and the offsets that can be committed.

    Kafka Connect's ``SubmittedRecords``: records are submitted in the order the task returned them,
    before they are handed to the producer. Each is later acknowledged (``ack``, from the delivery
    callback) or dropped (``drop``). :meth:`committable_offsets` returns, per source partition, the offset
    of the last record of the contiguous acknowledged prefix, and forgets those records.

    Acknowledged records at the head of a partition are folded into that partition's pending committable
    offset as their acknowledgements arrive, so memory holds the records in flight, not every record
    acknowledged since the last offset flush.

    Invariants: per source partition, tracked records are in submission order; ``in_flight`` counts the
    records neither acknowledged nor dropped.

    ``on_failure``: called as ``on_failure(record, err, msg)`` when a record used as a delivery callback
    reports a failure (``None``: the failure is ignored and the record stays unacknowledged).

    Thread safety: ``submit``, ``submit_all``, ``drop`` and ``committable_offsets`` must be called from one
    thread (the task thread). ``SubmittedRecord.ack`` may be called from any thread.
    ``await_all_messages`` and ``in_flight`` may be used from any thread.
    """

    __slots__ = ("_queues", "_in_flight", "_lock", "_waiter", "on_failure")

    def __init__(self) -> None:
        self._queues: dict[Any, _PartitionQueue] = {}
        self._in_flight = 0
        self._lock = threading.Lock()
        self._waiter: threading.Event | None = None
        self.on_failure: Any = None

    @property
    def in_flight(self) -> int:
        """Records submitted and neither acknowledged nor dropped."""
        return self._in_flight

    def submit(self, source_partition: Mapping[str, Any] | None, source_offset: Mapping[str, Any] | None) -> SubmittedRecord:
        """Track a record about to be produced; returns the handle to ``ack`` or ``drop`` it."""
        key = partition_key(source_partition)
        with self._lock:
            queue = self._queues.get(key)
            if queue is None:
                queue = self._queues[key] = _PartitionQueue(key, source_partition)
            submitted = SubmittedRecord(self, queue, source_partition, source_offset)
            queue.records.append(submitted)
            self._in_flight += 1
        return submitted

    def submit_all(self, records: Sequence[SourceRecord]) -> list[SubmittedRecord]:
        """``submit`` each source record of a batch, in order."""
        return [self.submit(r.source_partition, r.source_offset) for r in records]

    def committable_offsets(self) -> CommittableOffsets:
        """Forget the acknowledged records at the head of each partition and return their last offsets."""
        entries: dict[Any, tuple[Any, Any]] = {}
        committable = uncommittable = largest = 0
        largest_partition = None
        with self._lock:
            empty = []
            for key, queue in self._queues.items():
                queue.collapse()
                if queue.pending:
                    entries[key] = (queue.partition, queue.pending_offset)
                    committable += queue.pending
                    queue.pending = 0
                    queue.pending_offset = None
                remaining = len(queue.records)
                uncommittable += remaining
                if remaining > largest:
                    largest = remaining
                    largest_partition = queue.partition
                if not remaining:
                    empty.append(key)
            for key in empty:
                del self._queues[key]
            num_deques = len(self._queues)
        return CommittableOffsets(
            PartitionOffsets(entries), committable, uncommittable, num_deques, largest, largest_partition
        )

    def await_all_messages(self, timeout: float | None) -> bool:
        """Wait until every record submitted so far is acknowledged or dropped, at most ``timeout`` seconds
        (``None``: no limit). Returns whether they all were."""
        waiter = threading.Event()
        self._waiter = waiter
        with self._lock:
            if self._in_flight == 0:
                return True
        return waiter.wait(timeout)


class SinkOffsets:
    """The offsets of a sink task, per topic-partition ``(topic, partition)``.

    - ``consumed``: the next offset to read, i.e. the offset of the last record handed to the task + 1
      (Kafka Connect's "current offsets", passed to ``SinkTask.pre_commit``);
    - ``committable``: what the next commit writes: the last committed offsets overlaid with what
      ``pre_commit`` returned (which may lower or hold back a partition), set by :meth:`set_committable`;
    - ``last_committed``: what the last successful commit wrote (:meth:`set_committed`).

    Partitions become tracked by :meth:`assign`, :meth:`rewind` or the first record :meth:`update` sees,
    and stop being tracked by :meth:`remove`. Keys of new partitions are made by ``partition_type(topic,
    partition)`` (default: a plain tuple), so a named tuple type can be used throughout.

    Thread safety: not thread-safe; used from the task thread only.
    """

    __slots__ = ("_consumed", "_committable", "_committed", "_tp")

    def __init__(self, partition_type: Callable[[str, int], Any] | None = None) -> None:
        self._consumed: dict[Any, int] = {}
        self._committable: dict[Any, int] = {}
        self._committed: dict[Any, int] = {}
        self._tp: Callable[[str, int], Any] = partition_type if partition_type is not None else _pair

    @property
    def consumed(self) -> dict[Any, int]:
        """A copy of the next offset to read per partition."""
        return dict(self._consumed)

    @property
    def committable(self) -> dict[Any, int]:
        """A copy of the offsets the next commit writes."""
        return dict(self._committable)

    @property
    def last_committed(self) -> dict[Any, int]:
        """A copy of the offsets the last commit wrote."""
        return dict(self._committed)

    def __len__(self) -> int:
        return len(self._consumed)

    def __contains__(self, tp: object) -> bool:
        return tp in self._consumed

    def assign(self, positions: Mapping[Any, int]) -> None:
        """Track newly assigned partitions at their current positions (consumed = committed = position)."""
        for tp, offset in positions.items():
            self._consumed[tp] = offset
            self._committable[tp] = offset
            self._committed[tp] = offset

    def update(self, records: Sequence[SinkRecord]) -> None:
        """Advance ``consumed`` past a batch of records handed to the task, by their original coordinates."""
        for rec in records:
            self.update_offset(rec._original_topic, rec._original_kafka_partition, rec._original_kafka_offset + 1)

    def update_offset(self, topic: str, partition: int, offset: int) -> None:
        """Set the next offset to read of one partition (e.g. past a record that failed and was skipped)."""
        pair = (topic, partition)
        if pair not in self._consumed:
            self._consumed[self._tp(topic, partition)] = offset
        else:
            self._consumed[pair] = offset

    def snapshot(self) -> dict[Any, int]:
        """A copy of ``consumed``: what the task is offered in ``pre_commit``."""
        return dict(self._consumed)

    def set_committable(self, offsets: Mapping[Any, int] | None) -> dict[Any, int]:
        """Take what ``pre_commit`` returned: offsets of tracked partitions are used, others ignored; a
        partition left out keeps its last committed offset. Returns a copy of the new ``committable``."""
        committable = dict(self._committed)
        if offsets:
            for tp, offset in offsets.items():
                if tp in self._consumed:
                    committable[tp] = offset
        self._committable = committable
        return dict(committable)

    def has_uncommitted(self) -> bool:
        """Whether ``committable`` differs from what was last committed (else a commit can be skipped)."""
        return self._committable != self._committed

    def set_committed(self, offsets: Mapping[Any, int] | None = None) -> None:
        """Record a successful commit of ``offsets`` (default: ``committable``) of tracked partitions."""
        for tp, offset in (self._committable if offsets is None else offsets).items():
            if tp in self._consumed:
                self._committed[tp] = offset
                self._committable[tp] = offset

    def remove(self, partitions: Iterable[Any]) -> None:
        """Stop tracking revoked partitions."""
        for tp in partitions:
            self._consumed.pop(tp, None)
            self._committable.pop(tp, None)
            self._committed.pop(tp, None)

    def rewind(self, tp: Any, offset: int) -> None:
        """The task asked to read ``tp`` from ``offset`` again (``SinkTaskContext.offset``): every view
        of the partition moves there, as Kafka Connect does after its seek."""
        self._consumed[tp] = offset
        self._committable[tp] = offset
        self._committed[tp] = offset

    def __repr__(self) -> str:
        return f"SinkOffsets(consumed={self._consumed!r}, committable={self._committable!r}, last_committed={self._committed!r})"


def _pair(topic: str, partition: int) -> tuple[str, int]:
    return (topic, partition)


# ---------------------------------------------------------------------------------------------- convert


def sink_records_from_messages(
    messages: Sequence[Any], key_converter: Any, value_converter: Any, header_converter: Any
) -> list[SinkRecord]:
    """Convert a consumed batch (``Consumer.consume(num_messages)``) into SinkRecords, in order.

    Key, value and headers go through the converters (``to_connect_data`` / ``to_connect_header``), in
    Kafka Connect's order: key, value, headers. Messages that carry the partition-EOF event are skipped;
    any other consumer error raises ``ConnectError`` (``RetriableError`` if librdkafka says it is
    retriable) with ``index``, ``topic``, ``partition``, ``offset`` attributes.

    Raises:
        DataError: a message could not be converted; ``index`` is its position in ``messages``, and
            ``topic``, ``partition``, ``offset``, ``stage`` say which record and which converter.
    """
    records: list[SinkRecord] = []
    for index, msg in enumerate(messages):
        err = msg.error()
        if err is not None:
            if err.code() == PARTITION_EOF:
                continue
            raise consume_error(index, msg, err)
        topic = msg.topic()
        partition = msg.partition()
        offset = msg.offset()
        ts_type, ts = msg.timestamp()
        raw_key = msg.key()
        raw_value = msg.value()
        raw_headers = msg.headers()
        try:
            key = key_converter.to_connect_data(topic, raw_key)
        except Exception as exc:
            raise conversion_error(index, topic, partition, offset, STAGE_KEY_CONVERTER, key_converter, exc) from exc
        try:
            value = value_converter.to_connect_data(topic, raw_value)
        except Exception as exc:
            raise conversion_error(index, topic, partition, offset, STAGE_VALUE_CONVERTER, value_converter, exc) from exc
        headers = None
        if raw_headers:
            try:
                headers = _to_connect_headers(topic, raw_headers, header_converter)
            except Exception as exc:
                raise conversion_error(
                    index, topic, partition, offset, STAGE_HEADER_CONVERTER, header_converter, exc
                ) from exc
        records.append(
            SinkRecord(
                topic,
                partition,
                key.schema,
                key.value,
                value.schema,
                value.value,
                offset,
                timestamp_of(ts_type, ts),
                TIMESTAMP_TYPES[ts_type] if 0 <= ts_type < 3 else _NO_TIMESTAMP_TYPE,
                headers,
            )
        )
    return records


def _to_connect_headers(topic: str, raw_headers: list[tuple[str, bytes | None]], header_converter: Any) -> Any:
    headers = _headers_class()()
    for name, raw in raw_headers:
        if header_converter is None:
            headers.add_bytes(name, raw)
        else:
            headers.add(name, header_converter.to_connect_header(topic, name, raw))
    return headers


def encode_source_records(
    records: Sequence[SourceRecord], key_converter: Any, value_converter: Any, header_converter: Any
) -> list[tuple[str, int, bytes | None, bytes | None, list[tuple[str, bytes | None]] | None, int]]:
    """Serialize a batch of SourceRecords into ``(topic, partition, key, value, headers, timestamp)``
    tuples for ``Producer.produce``: partition ``-1`` lets the producer choose, headers ``None`` means none,
    timestamp ``0`` means "now".

    Headers, key and value go through the converters in Kafka Connect's order: headers, key, value.

    Raises:
        DataError: a record could not be converted; ``index`` is its position in ``records``, ``topic``
            and ``partition`` are the record's, ``offset`` is ``None``, ``stage`` names the converter.
    """
    encoded = []
    for index, rec in enumerate(records):
        topic = rec.topic
        partition = rec.kafka_partition
        headers = None
        if rec._headers is not None:
            try:
                headers = _from_connect_headers(topic, rec.headers, header_converter)
            except Exception as exc:
                raise conversion_error(index, topic, partition, None, STAGE_HEADER_CONVERTER, header_converter, exc) from exc
        try:
            key = key_converter.from_connect_data(topic, rec.key_schema, rec.key)
        except Exception as exc:
            raise conversion_error(index, topic, partition, None, STAGE_KEY_CONVERTER, key_converter, exc) from exc
        try:
            value = value_converter.from_connect_data(topic, rec.value_schema, rec.value)
        except Exception as exc:
            raise conversion_error(index, topic, partition, None, STAGE_VALUE_CONVERTER, value_converter, exc) from exc
        timestamp = rec.timestamp
        encoded.append(
            (topic, -1 if partition is None else partition, key, value, headers, 0 if timestamp is None else timestamp)
        )
    return encoded


def _from_connect_headers(topic: str, headers: Any, header_converter: Any) -> list[tuple[str, bytes | None]] | None:
    result = []
    for header in headers:
        name = header.key
        result.append((name, header_converter.from_connect_header(topic, name, header.schema, header.value)))
    return result or None


def produce_batch(
    producer: Any,
    encoded: Sequence[tuple[str, int, bytes | None, bytes | None, list[tuple[str, bytes | None]] | None, int]],
    callback: Any,
    start: int = 0,
) -> int:
    """``producer.produce`` each encoded record from ``encoded[start]`` on, in order; returns how many.

    ``callback`` is the delivery callback of every record, or a sequence of callbacks indexed like
    ``encoded``, or ``None``. When the producer's queue is full (``BufferError``) the producer is polled
    (serving delivery callbacks) and the same record is retried: no record is dropped.

    ``produce`` is called as confluent-kafka's ``Producer.produce(topic, value, key, partition, callback)``
    with ``timestamp=`` and ``headers=`` only when set (positional arguments are the cheapest to pass); a
    producer that rejects that form with ``TypeError`` gets ``on_delivery=``, ``timestamp=`` and
    ``headers=`` keywords instead.

    Raises:
        ConnectError: ``produce`` failed otherwise; ``index`` is the failed record's position, ``produced``
            how many were produced before it; the producer's exception is the cause.
    """
    per_record = callback is not None and not callable(callback)
    positional = True
    produced = 0
    for index in range(start, len(encoded)):
        topic, partition, key, value, headers, timestamp = encoded[index]
        on_delivery = callback[index] if per_record else callback
        while True:
            try:
                if not positional:
                    producer.produce(topic, value, key, partition, on_delivery=on_delivery, timestamp=timestamp,
                                     headers=headers)
                elif headers is None and timestamp == 0:
                    producer.produce(topic, value, key, partition, on_delivery)
                elif headers is None:
                    producer.produce(topic, value, key, partition, on_delivery, timestamp=timestamp)
                else:
                    producer.produce(topic, value, key, partition, on_delivery, timestamp=timestamp,
                                     headers=headers)
                break
            except BufferError:
                producer.poll(PRODUCE_RETRY_POLL_SECONDS)
            except TypeError as exc:
                if positional:
                    positional = False
                    continue
                raise produce_error(index, produced, topic, partition, exc) from exc
            except Exception as exc:
                raise produce_error(index, produced, topic, partition, exc) from exc
        produced += 1
    return produced


# ---------------------------------------------------------------------------------------------- pgoutput
#
# PostgreSQL change data capture: pgoutput messages and snapshot rows -> Debezium change events, one call
# per batch. The compiled core converts the common column kinds itself and calls a column's Python converter
# for anything else; here every value goes through the Python converter, the reference of both.

_PG_KINDS = frozenset((
    "python", "text", "bool", "int", "float", "decimal", "date", "time_us", "time_ms", "time_ns",
    "timestamp_us", "timestamp_ms", "timestamp_ns", "zoned_timestamp", "bytea",
))
_PG_EPOCH_OFFSET_US = 946_684_800_000_000
# Debezium's Source block (io.debezium.connector.postgresql.Source): the fields an event fills in.
_SRC_TS_MS, _SRC_SNAPSHOT, _SRC_SEQUENCE, _SRC_TS_US, _SRC_TS_NS, _SRC_TXID, _SRC_LSN = 3, 4, 6, 7, 8, 11, 12


class _PgUnchanged:
    """A tuple column the server did not send: an unchanged TOASTed value."""

    __slots__ = ()


_PG_UNCHANGED = _PgUnchanged()


def _pg_need(pos: int, size: int, n: int) -> None:
    if size < 0 or pos + size > n:
        raise DataError("pgoutput: truncated message")


def _pg_u32(buf: bytes, pos: int) -> int:
    return int.from_bytes(buf[pos:pos + 4], "big")


def _pg_scan(buf: bytes, pos: int) -> tuple[list[Any], int]:
    """The cells of the tuple data at ``pos`` (bytes of a text value, None for NULL, ``_PG_UNCHANGED``) and
    the position after it."""
    n = len(buf)
    _pg_need(pos, 2, n)
    count = int.from_bytes(buf[pos:pos + 2], "big")
    pos += 2
    cells: list[Any] = []
    for _ in range(count):
        _pg_need(pos, 1, n)
        kind = buf[pos]
        pos += 1
        if kind == 116:  # 't'
            _pg_need(pos, 4, n)
            length = int.from_bytes(buf[pos:pos + 4], "big", signed=True)
            pos += 4
            _pg_need(pos, length, n)
            cells.append(buf[pos:pos + length])
            pos += length
        elif kind == 110:  # 'n'
            cells.append(None)
        elif kind == 117:  # 'u'
            cells.append(_PG_UNCHANGED)
        else:
            raise DataError(f"pgoutput: unexpected tuple column kind {chr(kind)!r}")
    return cells, pos


def _pg_cells(texts: Any) -> list[Any]:
    """The cells of a row given as texts: str values, None for NULL, anything else unchanged."""
    return [t if t is None or type(t) is str else _PG_UNCHANGED for t in texts]


class _PgColumn:
    __slots__ = ("arg", "convert", "fallback", "kind", "name", "position", "unavailable")

    def __init__(self, spec: Sequence[Any]) -> None:
        name, position, kind, arg, convert, fallback, unavailable = spec
        if kind not in _PG_KINDS:
            raise ValueError(f"unknown PostgreSQL converter kind {kind!r}")
        if not callable(convert):
            raise TypeError(f"the converter of column {name!r} is not callable")
        self.name, self.position, self.kind, self.arg = name, position, kind, arg
        self.convert, self.fallback, self.unavailable = convert, fallback, unavailable

    def value(self, cell: str | bytes) -> Any:
        return self.convert(cell if type(cell) is str else cell.decode())  # type: ignore[union-attr]


class PgTable:
    """The plan of one captured table: its schemas, `source` constants and column converters.

    ``columns`` lists the value struct's fields in order, ``key_columns`` the key struct's, each as
    ``(name, position, kind, arg, convert, fallback, unavailable)``: the column's position in the table's
    rows, its converter kind (``kcfast.connectors.postgres.types.KINDS``) with ``arg``, the Python converter
    from the text form, the value a NULL takes in a required field, and the value of an unchanged TOASTed
    column. ``source_head`` is ``(version, connector, server, db)`` of the `source` block.

    Immutable once built; safe to share between threads.
    """

    def __init__(self, topic: str, schema_name: str, table_name: str, key_schema: Any, value_schema: Any,
                 envelope_schema: Any, source_schema: Any, source_head: Sequence[str],
                 columns: Sequence[Sequence[Any]], key_columns: Sequence[Sequence[Any]]) -> None:
        from kcfast.data import Struct

        self._struct = Struct._from_values
        self._topic, self._schema_name, self._table_name = topic, schema_name, table_name
        self._key_schema, self._value_schema = key_schema, value_schema
        self._envelope_schema = envelope_schema
        self._source_schema = source_schema
        version, connector, server, db = source_head
        self._source_template = [version, connector, server, None, None, db, None, None, None, schema_name,
                                 table_name, None, None, None, None, None]
        self._columns = [_PgColumn(spec) for spec in columns]
        self._key_columns = [_PgColumn(spec) for spec in key_columns]
        positions = {c.position: i for i, c in enumerate(self._columns)}
        indexes = [positions.get(c.position) for c in self._key_columns]
        self._key_from_row: list[int] | None = (
            None if None in indexes else indexes  # type: ignore[assignment]
        )
        self._width = 1 + max([c.position for c in self._columns + self._key_columns], default=-1)

    @property
    def topic(self) -> str:
        """The table's topic: ``<topic.prefix>.<schema>.<table>``."""
        return self._topic

    @property
    def schema_name(self) -> str:
        """The table's schema."""
        return self._schema_name

    @property
    def table_name(self) -> str:
        """The table's name."""
        return self._table_name

    @property
    def key_schema(self) -> Any:
        """The key struct's schema (None for a table without a primary key)."""
        return self._key_schema

    @property
    def value_schema(self) -> Any:
        """The row struct's schema (``before`` and ``after``)."""
        return self._value_schema

    @property
    def envelope_schema(self) -> Any:
        """The event value's schema."""
        return self._envelope_schema

    def _check_width(self, cells: list[Any]) -> None:
        if len(cells) < self._width:
            raise DataError(f"A row of {self.schema_name}.{self.table_name} has {len(cells)} columns, "
                            f"{self._width} expected")

    def _error(self, col: _PgColumn, cells: list[Any], exc: Exception) -> DataError:
        text = cells[col.position]
        if type(text) is bytes:
            try:
                text = text.decode()
            except UnicodeDecodeError:
                pass
        return DataError(f"Cannot convert value {text!r} of column {self.schema_name}.{self.table_name}."
                          f"{col.name}: {exc}")

    def _row_values(self, cells: list[Any]) -> list[Any]:
        self._check_width(cells)
        values = []
        col = None
        try:
            for col in self._columns:
                cell = cells[col.position]
                if cell is None:
                    value = None
                elif cell is _PG_UNCHANGED:
                    value = col.unavailable
                else:
                    value = col.value(cell)
                values.append(col.fallback if value is None else value)
        except Exception as exc:
            assert col is not None
            raise self._error(col, cells, exc) from exc
        return values

    def _key_values(self, row_values: list[Any] | None, cells: list[Any]) -> list[Any]:
        if row_values is not None and self._key_from_row is not None:
            return [row_values[i] for i in self._key_from_row]
        self._check_width(cells)
        values = []
        col = None
        try:
            for col in self._key_columns:
                cell = cells[col.position]
                values.append(None if cell is None or cell is _PG_UNCHANGED else col.value(cell))
        except Exception as exc:
            assert col is not None
            raise self._error(col, cells, exc) from exc
        return values

    def _source(self, ts_ms: Any, snapshot: Any, sequence: str, ts_us: Any, ts_ns: Any, txid: Any,
                lsn: Any) -> Any:
        values = list(self._source_template)
        values[_SRC_TS_MS], values[_SRC_SNAPSHOT], values[_SRC_SEQUENCE] = ts_ms, snapshot, sequence
        values[_SRC_TS_US], values[_SRC_TS_NS], values[_SRC_TXID], values[_SRC_LSN] = ts_us, ts_ns, txid, lsn
        return self._struct(self._source_schema, values)

    def _envelope(self, before: Any, after: Any, source: Any, op: str, now: tuple[int, int, int]) -> Any:
        return self._struct(self.envelope_schema, [before, after, source, None, op, now[0], now[1], now[2]])

    def _record(self, partition: Any, offset: Any, key_schema: Any, key: Any, value_schema: Any, value: Any,
                timestamp: Any) -> SourceRecord:
        return SourceRecord(partition, offset, self.topic, None, key_schema, key, value_schema, value,
                            timestamp)

    def row(self, texts: Sequence[Any]) -> Any:
        """The value struct of a row given as texts in table column order (None: NULL; any other non-str
        item: an unchanged TOASTed value)."""
        return self._struct(self.value_schema, self._row_values(_pg_cells(texts)))

    def key(self, texts: Sequence[Any]) -> Any:
        """The key struct of a row given as texts, or None for a table without a primary key."""
        if self.key_schema is None:
            return None
        return self._struct(self.key_schema, self._key_values(None, _pg_cells(texts)))

    def snapshot_records(self, rows: Sequence[Sequence[Any]], partition: Any, lsn: Any, txid: Any,
                         now_us: int, first_marker: str, last_marker: str, last: bool) -> list[SourceRecord]:
        """The read (``op=r``) events of snapshot ``rows`` (texts in table column order).

        The first row's `source.snapshot` is ``first_marker``, the last row's ``last_marker`` (for a single
        row: ``first_marker``), the others ``"true"``; ``last`` marks the last row as the snapshot's last
        record in its offset.
        """
        now = (now_us // 1000, now_us, now_us * 1000)
        sequence = f'[null,"{lsn}"]'
        records = []
        n = len(rows)
        for i, texts in enumerate(rows):
            cells = _pg_cells(texts)
            row_values = self._row_values(cells)
            after = self._struct(self.value_schema, row_values)
            key = None
            if self.key_schema is not None:
                key = self._struct(self.key_schema, self._key_values(row_values, cells))
            marker = first_marker if i == 0 else last_marker if i == n - 1 else "true"
            source = self._source(now[0], marker, sequence, now[1], now[2], txid, lsn)
            offset = {"last_snapshot_record": bool(last and i == n - 1), "lsn": lsn, "txId": txid,
                      "ts_usec": now[1], "snapshot": "INITIAL", "snapshot_completed": False}
            records.append(self._record(partition, offset, self.key_schema, key, self.envelope_schema,
                                        self._envelope(None, after, source, "r", now), now[0]))
        return records


class PgoutputDecoder:
    """The state of one logical replication stream (pgoutput, protocol version 1) and its event building.

    ``read`` and ``decode`` turn a batch of messages (objects with ``payload`` and ``data_start``, as
    psycopg2's ``ReplicationMessage``) into SourceRecords in stream order: Debezium's create, update,
    delete (followed by a tombstone when ``tombstones``), and truncate events, with the source partition
    ``partition`` and Debezium's streaming offsets. A relation message calls ``on_relation(payload)``, which
    returns the table's PgTable, or None for a table that is not captured; changes of unknown tables are
    skipped. ``skip`` (``(txId, lsn_proc, events at lsn_proc)``, from a resumed offset) skips the events of
    an interrupted transaction that were already emitted.

    Not thread-safe: the task's thread uses it.
    """

    def __init__(self, partition: Any, on_relation: Callable[[bytes], PgTable | None],
                 tombstones: bool = True, skipped_operations: Iterable[str] = ()) -> None:
        self._partition = partition
        self._on_relation = on_relation
        self._tombstones = bool(tombstones)
        self._skip_ops = frozenset(skipped_operations)
        self._tables: dict[int, PgTable | None] = {}
        self._xid: int | None = None
        self._commit_us = 0
        self._last_commit: int | None = None
        self._lsn_seen: int | None = None
        self._lsn_count = 0
        self._skip: tuple[int, int, int] | None = None
        self._last_offset: dict[str, Any] | None = None
        self._drained = False
        self._now = (0, 0, 0)

    @property
    def transaction_id(self) -> int | None:
        """The id of the transaction being read (None before the first BEGIN)."""
        return self._xid

    @property
    def commit_time_us(self) -> int:
        """Commit time of the transaction being read, in microseconds since the epoch."""
        return self._commit_us

    @property
    def last_commit_lsn(self) -> int | None:
        """LSN of the last COMMIT read (or resumed from), None before."""
        return self._last_commit

    @last_commit_lsn.setter
    def last_commit_lsn(self, value: int | None) -> None:
        self._last_commit = value

    @property
    def skip(self) -> tuple[int, int, int] | None:
        """``(txId, lsn_proc, events at lsn_proc)`` of already emitted events to skip, or None."""
        return self._skip

    @skip.setter
    def skip(self, value: Sequence[int] | None) -> None:
        self._skip = None if value is None else tuple(value)  # type: ignore[assignment]

    @property
    def offset(self) -> dict[str, Any] | None:
        """The offset of the latest event or COMMIT read (None before any)."""
        return self._last_offset

    @offset.setter
    def offset(self, value: dict[str, Any] | None) -> None:
        self._last_offset = value

    @property
    def drained(self) -> bool:
        """Whether the last ``read`` stopped because no message was waiting."""
        return self._drained

    def table(self, relation_id: int) -> PgTable | None:
        """The PgTable of a relation id, or None (unknown or not captured)."""
        return self._tables.get(relation_id)

    def read(self, read_message: Callable[[], Any], max_records: int, max_messages: int,
             now_us: int) -> list[SourceRecord]:
        """Events of the messages ``read_message()`` returns, until it returns None, ``max_records`` events
        are built or ``max_messages`` messages are read. ``now_us`` is the events' ``ts_us``."""
        records: list[SourceRecord] = []
        self._now = (now_us // 1000, now_us, now_us * 1000)
        self._drained = False
        seen = 0
        while len(records) < max_records and seen < max_messages:
            msg = read_message()
            if msg is None:
                self._drained = True
                break
            seen += 1
            self._message(msg.payload, msg.data_start, records)
        return records

    def decode(self, messages: Iterable[Any], now_us: int) -> list[SourceRecord]:
        """Events of a list of messages (see ``read``)."""
        records: list[SourceRecord] = []
        self._now = (now_us // 1000, now_us, now_us * 1000)
        for msg in messages:
            self._message(msg.payload, msg.data_start, records)
        return records

    def _message(self, payload: bytes, lsn: int, records: list[SourceRecord]) -> None:
        if type(payload) is not bytes:
            raise TypeError(f"pgoutput payloads are bytes, not {type(payload).__name__}")
        n = len(payload)
        if n == 0:
            raise DataError("pgoutput: empty message")
        kind = payload[0]
        if kind in (73, 85, 68):  # 'I', 'U', 'D'
            self._change(payload, lsn, records)
        elif kind == 66:  # 'B'
            _pg_need(1, 20, n)
            self._commit_us = int.from_bytes(payload[9:17], "big", signed=True) + _PG_EPOCH_OFFSET_US
            self._xid = _pg_u32(payload, 17)
            self._lsn_seen, self._lsn_count = None, 0
        elif kind == 67:  # 'C'
            _pg_need(1, 25, n)
            self._last_commit = lsn
            self._last_offset = {"lsn_proc": lsn, "messageType": "COMMIT", "lsn_commit": lsn, "lsn": lsn,
                                 "txId": self._xid, "ts_usec": self._commit_us}
            if self._skip is not None and self._xid is not None and self._xid == self._skip[0]:
                self._skip = None
        elif kind == 82:  # 'R'
            _pg_need(1, 4, n)
            table = self._on_relation(payload)
            if table is not None and type(table) is not PgTable:
                raise TypeError(f"on_relation returned {type(table).__name__}, not PgTable or None")
            self._tables[_pg_u32(payload, 1)] = table
        elif kind == 84:  # 'T'
            self._truncate(payload, lsn, records)
        elif kind not in (89, 79, 77):  # 'Y', 'O', 'M'
            raise DataError(f"pgoutput: unknown message kind {chr(kind)!r}")

    def _offset(self, lsn: int, message_type: str) -> dict[str, Any]:
        if lsn == self._lsn_seen:
            self._lsn_count += 1
        else:
            self._lsn_seen, self._lsn_count = lsn, 1
        offset = {"lsn_proc": lsn, "messageType": message_type, "lsn_events_processed": self._lsn_count,
                  "lsn_commit": self._last_commit, "lsn": lsn, "txId": self._xid, "ts_usec": self._commit_us}
        if self._last_commit is None:
            del offset["lsn_commit"]
        return offset

    def _skipped(self, lsn: int) -> bool:
        skip = self._skip
        if skip is None or self._xid is None or self._xid != skip[0]:
            return False
        if lsn < skip[1]:
            return True
        return lsn == skip[1] and self._lsn_count <= skip[2]

    def _source(self, table: PgTable, lsn: int) -> Any:
        first = "null" if self._last_commit is None else f'"{self._last_commit}"'
        commit_us = self._commit_us
        return table._source(commit_us // 1000, None, f'[{first},"{lsn}"]', commit_us, commit_us * 1000,
                             self._xid, lsn)

    def _emit(self, records: list[SourceRecord], table: PgTable, offset: Any, key: Any,
              envelope: Any) -> None:
        records.append(table._record(self._partition, offset, table.key_schema, key, table.envelope_schema,
                                     envelope, self._commit_us // 1000))
        self._last_offset = offset

    def _tombstone(self, records: list[SourceRecord], table: PgTable, offset: Any, key: Any) -> None:
        if self._tombstones:
            records.append(table._record(self._partition, offset, table.key_schema, key, None, None,
                                         self._commit_us // 1000))

    def _change(self, payload: bytes, lsn: int, records: list[SourceRecord]) -> None:
        _pg_need(1, 5, len(payload))
        table = self._tables.get(_pg_u32(payload, 1))
        if table is None:
            return
        kind, marker = payload[0], payload[5]
        op = "c" if kind == 73 else "u" if kind == 85 else "d"
        offset = self._offset(lsn, "INSERT" if op == "c" else "UPDATE" if op == "u" else "DELETE")
        if (self._skip is not None and self._skipped(lsn)) or op in self._skip_ops:
            return
        source = self._source(table, lsn)
        now = self._now
        struct = table._struct
        if op == "c":
            if marker != 78:  # 'N'
                raise DataError(f"pgoutput: unexpected tuple marker {chr(marker)!r}")
            cells, _ = _pg_scan(payload, 6)
            after_values = table._row_values(cells)
            after = struct(table.value_schema, after_values)
            key = (None if table.key_schema is None
                   else struct(table.key_schema, table._key_values(after_values, cells)))
            self._emit(records, table, offset, key, table._envelope(None, after, source, op, now))
            return
        if op == "d":
            if marker not in (75, 79):  # 'K', 'O'
                raise DataError(f"pgoutput: unexpected tuple marker {chr(marker)!r}")
            cells, _ = _pg_scan(payload, 6)
            before_values = table._row_values(cells)
            before: Any = struct(table.value_schema, before_values)
            key = None if table.key_schema is None else struct(table.key_schema,
                                                               table._key_values(before_values, cells))
            self._emit(records, table, offset, key, table._envelope(before, None, source, op, now))
            self._tombstone(records, table, offset, key)
            return
        # An update: the old row ('K' key columns, 'O' whole row) if the server sent it, then the new row.
        old: list[Any] | None = None
        pos = 6
        if marker in (75, 79):
            old, pos = _pg_scan(payload, 6)
            _pg_need(pos, 1, len(payload))
            marker = payload[pos]
            pos += 1
        if marker != 78:
            raise DataError(f"pgoutput: unexpected tuple marker {chr(marker)!r}")
        cells, _ = _pg_scan(payload, pos)
        after_values = table._row_values(cells)
        after = struct(table.value_schema, after_values)
        key_values = None if table.key_schema is None else table._key_values(after_values, cells)
        key = None if key_values is None else struct(table.key_schema, key_values)
        before = None
        if old is not None and payload[5] == 79:
            before = struct(table.value_schema, table._row_values(old))
        if old is not None and key_values is not None:
            old_key_values = table._key_values(None, old)
            if old_key_values != key_values:
                # The primary key changed: a delete of the old key, its tombstone, then a create.
                old_key = struct(table.key_schema, old_key_values)
                if before is None:
                    before = struct(table.value_schema, table._row_values(old))
                self._emit(records, table, offset, old_key, table._envelope(before, None, source, "d", now))
                self._tombstone(records, table, offset, old_key)
                self._emit(records, table, offset, key, table._envelope(None, after, source, "c", now))
                return
        self._emit(records, table, offset, key, table._envelope(before, after, source, op, now))

    def _truncate(self, payload: bytes, lsn: int, records: list[SourceRecord]) -> None:
        n = len(payload)
        _pg_need(1, 5, n)
        count = _pg_u32(payload, 1)
        _pg_need(6, 4 * count, n)
        for i in range(count):
            table = self._tables.get(_pg_u32(payload, 6 + 4 * i))
            if table is None:
                continue
            offset = self._offset(lsn, "TRUNCATE")
            if "t" in self._skip_ops or (self._skip is not None and self._skipped(lsn)):
                continue
            source = self._source(table, lsn)
            records.append(table._record(self._partition, offset, None, None, table.envelope_schema,
                                         table._envelope(None, None, source, "t", self._now),
                                         self._commit_us // 1000))
            self._last_offset = offset


__all__ = [
    "compile_transform_plan",
    "transform_batch",
    "encode_source_records",
    "produce_batch",
    "sink_records_from_messages",
    "CommittableOffsets",
    "PartitionOffsets",
    "PgTable",
    "PgoutputDecoder",
    "SinkOffsets",
    "SubmittedRecord",
    "SubmittedRecords",
    "ConnectRecord",
    "SinkRecord",
    "SourceRecord",
    "TimestampType",
]
