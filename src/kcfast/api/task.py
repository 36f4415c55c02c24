"""Tasks: the instances that copy data, and the contexts through which they talk to the worker.

Mirrors Kafka Connect's ``Task``, ``SourceTask``, ``SinkTask``, ``SourceTaskContext``, ``SinkTaskContext``,
``OffsetStorageReader``, ``ErrantRecordReporter`` and ``TransactionContext``. Each task runs in its own thread:
the worker calls :meth:`Task.start`, then :meth:`SourceTask.poll` or :meth:`SinkTask.put` in a loop, and
:meth:`Task.stop` at the end. ``SourceTask.stop`` may be called from another thread while ``poll`` blocks.

Topic partitions are :class:`~kcfast.api.common.TopicPartition` tuples and offset maps are
``dict[TopicPartition, int]`` (the next offset to consume, as Kafka commits it).
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Collection, Iterable, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from kcfast.api.common import RecordMetadata, TopicPartition, Versioned
from kcfast.errors import ConnectError

if TYPE_CHECKING:
    from kcfast.api.records import SinkRecord, SourceRecord


class Task(Versioned, abc.ABC):
    """Base of all tasks (Java ``Task``)."""

    @abc.abstractmethod
    def version(self) -> str:
        """The task's version (normally its connector's)."""

    @abc.abstractmethod
    def start(self, props: Mapping[str, str]) -> None:
        """Start with the task configuration the connector produced."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop and release resources."""


class OffsetStorageReader(abc.ABC):
    """Reads committed source offsets (Java ``OffsetStorageReader``); implemented by the runtime."""

    @abc.abstractmethod
    def offset(self, partition: Mapping[str, Any]) -> dict[str, Any] | None:
        """The last committed offset of one source partition, or ``None``."""

    def offsets(
        self, partitions: Iterable[Mapping[str, Any]]
    ) -> list[tuple[Mapping[str, Any], dict[str, Any] | None]]:
        """``(partition, offset)`` for each partition, ``offset`` ``None`` where nothing is stored.

        Java returns a map keyed by partition; dicts are not hashable, so this is a list of pairs in the order
        given. The default calls :meth:`offset` for each partition; implementations may batch.
        """
        return [(p, self.offset(p)) for p in partitions]


class TransactionContext(abc.ABC):
    """Lets a source task define transaction boundaries (only with ``transaction.boundary=connector``)."""

    @abc.abstractmethod
    def commit_transaction(self, record: SourceRecord | None = None) -> None:
        """Commit the current transaction: now, or after ``record`` has been processed."""

    @abc.abstractmethod
    def abort_transaction(self, record: SourceRecord | None = None) -> None:
        """Abort the current transaction: now, or after ``record`` (which is then discarded too)."""


class SourceTaskContext(abc.ABC):
    """What a source task can ask of the worker (Java ``SourceTaskContext``)."""

    @abc.abstractmethod
    def configs(self) -> dict[str, str]:
        """The task's configuration."""

    @abc.abstractmethod
    def offset_storage_reader(self) -> OffsetStorageReader:
        """A reader of committed source offsets, to resume where a previous run stopped."""

    def transaction_context(self) -> TransactionContext | None:
        """The transaction context, or ``None`` unless ``transaction.boundary=connector`` with exactly-once."""
        return None


class TransactionBoundary(enum.Enum):
    """Where the transactions of an exactly-once source task end (``transaction.boundary``)."""

    POLL = "poll"
    INTERVAL = "interval"
    CONNECTOR = "connector"

    @classmethod
    def from_property(cls, value: str) -> TransactionBoundary:
        """Parse a ``transaction.boundary`` value, ignoring case and surrounding whitespace.

        Raises:
            ValueError: not one of ``poll``, ``interval``, ``connector``.
        """
        if value is None:
            raise ValueError("Value for transaction boundary property may not be null")
        name = value.upper().strip()
        try:
            return cls[name]
        except KeyError:
            raise ValueError(f"No enum constant TransactionBoundary.{name}") from None

    def __str__(self) -> str:
        return self.value


TransactionBoundary.DEFAULT = TransactionBoundary.POLL  # type: ignore[attr-defined]


class SourceTask(Task):
    """A task that reads from another system and returns records to produce to Kafka."""

    TRANSACTION_BOUNDARY_CONFIG = "transaction.boundary"
    TransactionBoundary = TransactionBoundary

    _context: SourceTaskContext | None = None

    def initialize(self, context: SourceTaskContext) -> None:
        """Give the task its context; called before :meth:`start`."""
        self._context = context

    @property
    def context(self) -> SourceTaskContext:
        """The context given to :meth:`initialize`.

        Raises:
            ConnectError: the task has not been initialized.
        """
        if self._context is None:
            raise ConnectError(f"{type(self).__qualname__} has not been initialized with a context")
        return self._context

    @abc.abstractmethod
    def poll(self) -> list[SourceRecord] | None:
        """New records to produce, or ``None`` if there are none now.

        Called in a loop from the task's thread; it may block briefly but should return (``None``) regularly
        so the task can be paused or stopped.
        """

    def commit(self) -> None:
        """Called after the offsets of produced records have been committed (no-op by default)."""

    def commit_record(self, record: SourceRecord, metadata: RecordMetadata | None) -> None:
        """Called once Kafka acknowledged ``record``; ``metadata`` is ``None`` if a transform dropped it."""


class ErrantRecordReporter(abc.ABC):
    """Sends records a sink task could not process to the error reporters (DLQ, log)."""

    @abc.abstractmethod
    def report(self, record: SinkRecord, error: BaseException) -> Future[None]:
        """Report ``record`` with the ``error`` it caused; the future completes once it is reported."""


class SinkTaskContext(abc.ABC):
    """What a sink task can ask of the worker (Java ``SinkTaskContext``)."""

    @abc.abstractmethod
    def configs(self) -> dict[str, str]:
        """The task's configuration."""

    @abc.abstractmethod
    def offset(
        self, offsets_or_tp: Mapping[TopicPartition, int] | TopicPartition, offset: int | None = None
    ) -> None:
        """Reset consumer positions before the next poll: ``offset({tp: n, ...})`` or ``offset(tp, n)``."""

    @abc.abstractmethod
    def timeout(self, timeout_ms: int) -> None:
        """After a :class:`~kcfast.errors.RetriableError` from ``put``, wait this long before redelivering."""

    @abc.abstractmethod
    def assignment(self) -> set[TopicPartition]:
        """The partitions currently assigned to the task."""

    @abc.abstractmethod
    def pause(self, *partitions: TopicPartition) -> None:
        """Stop fetching from ``partitions`` until :meth:`resume`."""

    @abc.abstractmethod
    def resume(self, *partitions: TopicPartition) -> None:
        """Fetch again from paused ``partitions``."""

    @abc.abstractmethod
    def request_commit(self) -> None:
        """Ask for an offset commit as soon as possible."""

    def errant_record_reporter(self) -> ErrantRecordReporter | None:
        """The reporter of bad records, or ``None`` when no DLQ topic or error logging is configured."""
        return None


class SinkTask(Task):
    """A task that receives records consumed from Kafka and writes them to another system."""

    TOPICS_CONFIG = "topics"
    TOPICS_REGEX_CONFIG = "topics.regex"

    _context: SinkTaskContext | None = None

    def initialize(self, context: SinkTaskContext) -> None:
        """Give the task its context; called before :meth:`start`."""
        self._context = context

    @property
    def context(self) -> SinkTaskContext:
        """The context given to :meth:`initialize`.

        Raises:
            ConnectError: the task has not been initialized.
        """
        if self._context is None:
            raise ConnectError(f"{type(self).__qualname__} has not been initialized with a context")
        return self._context

    @abc.abstractmethod
    def put(self, records: Collection[SinkRecord]) -> None:
        """Write (or buffer) ``records``; called after every consumer poll, even with no records.

        Raise :class:`~kcfast.errors.RetriableError` to have the same batch delivered again later.
        """

    def flush(self, current_offsets: Mapping[TopicPartition, int]) -> None:
        """Make everything :meth:`put` so far durable (no-op by default)."""

    def pre_commit(self, current_offsets: Mapping[TopicPartition, int]) -> Mapping[TopicPartition, int]:
        """The offsets that are safe to commit; by default :meth:`flush` then ``current_offsets`` unchanged."""
        self.flush(current_offsets)
        return current_offsets

    def open(self, partitions: Collection[TopicPartition]) -> None:
        """Partitions were assigned to the task (no-op by default)."""

    def close(self, partitions: Collection[TopicPartition]) -> None:
        """Partitions are being taken away: drop what is buffered for them (no-op by default)."""


__all__ = [
    "ErrantRecordReporter",
    "OffsetStorageReader",
    "SinkTask",
    "SinkTaskContext",
    "SourceTask",
    "SourceTaskContext",
    "Task",
    "TransactionBoundary",
    "TransactionContext",
]
