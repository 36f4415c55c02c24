"""Pure-Python twin of the core's offset tracking (``_core/offsets.pyx``): ``SubmittedRecords`` (the
acknowledged-prefix algorithm of Kafka's source tasks) and ``SinkOffsets`` (consumed and committable offsets of
a sink task). Import it through :mod:`kcfast.core` (``kcfast._core_py`` re-exports it).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kcfast._core_common import CommittableOffsets, PartitionOffsets, partition_key

if TYPE_CHECKING:
    from kcfast._core_py import SinkRecord, SourceRecord

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
