"""Status records and the status backing store of a worker.

A status says what state a connector or task is in, on which worker, in which generation, and, for a failure,
the trace of the error (spec section 2). The herder writes statuses as the worker reports state changes; the
REST API reads them. The standalone worker keeps them in memory (:class:`MemoryStatusBackingStore`); the
distributed worker keeps them in the status topic behind the same :class:`StatusBackingStore` protocol.

Active topics (``GET /connectors/{c}/topics``) are kept in the same store, as in Kafka Connect.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from kcfast.runtime.status import ConnectorTaskId, State


@dataclass(frozen=True)
class ConnectorStatus:
    """The state of a connector instance as last reported.

    Attributes:
        id: the connector name.
        state: the state.
        worker_id: ``host:port`` of the worker that reported it.
        generation: the group generation (always 0 in standalone).
        trace: the formatted traceback of a failure, else ``None``.
    """

    id: str
    state: State
    worker_id: str
    generation: int = 0
    trace: str | None = None


@dataclass(frozen=True)
class TaskStatus:
    """The state of a task as last reported; the fields mean what they mean in :class:`ConnectorStatus`."""

    id: ConnectorTaskId
    state: State
    worker_id: str
    generation: int = 0
    trace: str | None = None


@dataclass(frozen=True)
class TopicStatus:
    """A topic a connector's task used (produced to or consumed from) since the last reset.

    Attributes:
        topic: the topic name.
        connector: the connector name.
        task: the task number that first used the topic.
        discover_timestamp: epoch milliseconds at which the use was first recorded.
    """

    topic: str
    connector: str
    task: int
    discover_timestamp: int


class StatusBackingStore(Protocol):
    """Where statuses and active topics live; implementations must be thread-safe."""

    def put_connector(self, status: ConnectorStatus) -> None:
        """Write a connector status; ``DESTROYED`` removes it."""

    def put_connector_safe(self, status: ConnectorStatus) -> None:
        """Write a connector status only if it does not overwrite a newer one from another worker."""

    def put_task(self, status: TaskStatus) -> None:
        """Write a task status; ``DESTROYED`` removes it."""

    def put_task_safe(self, status: TaskStatus) -> None:
        """Write a task status only if it does not overwrite a newer one from another worker."""

    def get_connector(self, connector: str) -> ConnectorStatus | None:
        """The status of a connector, if any."""

    def get_task(self, task: ConnectorTaskId) -> TaskStatus | None:
        """The status of a task, if any."""

    def get_all(self, connector: str) -> list[TaskStatus]:
        """The statuses of every task of a connector, in task order."""

    def connectors(self) -> set[str]:
        """The names of connectors that have a status."""

    def put_topic(self, status: TopicStatus) -> None:
        """Record an active topic."""

    def get_topic(self, connector: str, topic: str) -> TopicStatus | None:
        """The active-topic record of ``topic`` for ``connector``, if any."""

    def get_all_topics(self, connector: str) -> list[TopicStatus]:
        """Every active-topic record of a connector."""

    def delete_topic(self, connector: str, topic: str) -> None:
        """Forget that ``connector`` used ``topic``."""


class MemoryStatusBackingStore:
    """A :class:`StatusBackingStore` in memory, for the standalone worker.

    Thread-safe: every method takes one lock, so listeners may write from task threads while the REST API reads.
    ``put_*_safe`` are plain writes here: a single worker has nothing newer to protect.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connectors: dict[str, ConnectorStatus] = {}
        self._tasks: dict[str, dict[int, TaskStatus]] = {}
        self._topics: dict[str, dict[str, TopicStatus]] = {}

    def put_connector(self, status: ConnectorStatus) -> None:
        """Write a connector status; ``DESTROYED`` removes it."""
        with self._lock:
            if status.state is State.DESTROYED:
                self._connectors.pop(status.id, None)
            else:
                self._connectors[status.id] = status

    def put_connector_safe(self, status: ConnectorStatus) -> None:
        """Same as :meth:`put_connector` in memory."""
        self.put_connector(status)

    def put_task(self, status: TaskStatus) -> None:
        """Write a task status; ``DESTROYED`` removes it."""
        with self._lock:
            if status.state is State.DESTROYED:
                row = self._tasks.get(status.id.connector)
                if row is not None:
                    row.pop(status.id.task, None)
                    if not row:
                        del self._tasks[status.id.connector]
            else:
                self._tasks.setdefault(status.id.connector, {})[status.id.task] = status

    def put_task_safe(self, status: TaskStatus) -> None:
        """Same as :meth:`put_task` in memory."""
        self.put_task(status)

    def get_connector(self, connector: str) -> ConnectorStatus | None:
        """The status of a connector, if any."""
        with self._lock:
            return self._connectors.get(connector)

    def get_task(self, task: ConnectorTaskId) -> TaskStatus | None:
        """The status of a task, if any."""
        with self._lock:
            return self._tasks.get(task.connector, {}).get(task.task)

    def get_all(self, connector: str) -> list[TaskStatus]:
        """The statuses of every task of a connector, in task order."""
        with self._lock:
            row = self._tasks.get(connector, {})
            return [row[k] for k in sorted(row)]

    def connectors(self) -> set[str]:
        """The names of connectors that have a status."""
        with self._lock:
            return set(self._connectors)

    def put_topic(self, status: TopicStatus) -> None:
        """Record an active topic (the first record of a topic wins)."""
        with self._lock:
            self._topics.setdefault(status.connector, {}).setdefault(status.topic, status)

    def get_topic(self, connector: str, topic: str) -> TopicStatus | None:
        """The active-topic record of ``topic`` for ``connector``, if any."""
        with self._lock:
            return self._topics.get(connector, {}).get(topic)

    def get_all_topics(self, connector: str) -> list[TopicStatus]:
        """Every active-topic record of a connector, in the order they were recorded."""
        with self._lock:
            return list(self._topics.get(connector, {}).values())

    def delete_topic(self, connector: str, topic: str) -> None:
        """Forget that ``connector`` used ``topic``."""
        with self._lock:
            row = self._topics.get(connector)
            if row is not None:
                row.pop(topic, None)
                if not row:
                    del self._topics[connector]


__all__ = [
    "ConnectorStatus",
    "MemoryStatusBackingStore",
    "StatusBackingStore",
    "TaskStatus",
    "TopicStatus",
]
