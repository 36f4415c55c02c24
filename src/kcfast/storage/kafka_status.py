"""Connector, task and active-topic statuses in the status topic (``KafkaStatusBackingStore``, spec 3.3).

Records (keys are plain strings, values the internal schemaless JSON):

======================================  ==================================================================
``status-connector-<c>``                ``{"state":"RUNNING","trace":null,"worker_id":"host:8083",``
                                        ``"generation":7}``
``status-task-<c>-<n>``                 the same shape
``status-topic-<topic>:connector-<c>``  ``{"topic":{"name":"<topic>","connector":"<c>","task":<n>,``
                                        ``"discoverTimestamp":<ms>}}``
======================================  ==================================================================

A ``DESTROYED`` status and a deleted topic are written as tombstones. Writes are asynchronous: the store's
view changes when the record is read back from the topic, so every worker sees the same sequence. A write
that fails with a retriable error is sent again unless a newer status superseded it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from kcfast.converters import JsonConverter
from kcfast.data import Schema, SchemaBuilder, Struct
from kcfast.errors import ConfigError, ConnectError, DataError, RetriableError
from kcfast.kafka.log import (
    LogFactory,
    LogRecord,
    RecordLog,
    RecordMetadata,
    TopicSpec,
    client_id_base,
    internal_client_config,
    internal_log,
    internal_topic_settings,
)
from kcfast.runtime.status import ConnectorTaskId, State
from kcfast.runtime.status_store import ConnectorStatus, TaskStatus, TopicStatus

if TYPE_CHECKING:
    from kcfast.config import WorkerConfig

__all__ = [
    "CONNECTOR_STATUS_PREFIX",
    "TASK_STATUS_PREFIX",
    "TOPIC_STATUS_PREFIX",
    "TOPIC_STATUS_SEPARATOR",
    "KafkaStatusBackingStore",
    "parse_task_status_key",
    "status_value",
    "topic_status_value",
]

log = logging.getLogger(__name__)

TASK_STATUS_PREFIX = "status-task-"
CONNECTOR_STATUS_PREFIX = "status-connector-"
TOPIC_STATUS_PREFIX = "status-topic-"
TOPIC_STATUS_SEPARATOR = ":connector-"

_STATUS_SCHEMA_V0 = (
    SchemaBuilder.struct()
    .field("state", Schema.STRING_SCHEMA)
    .field("trace", SchemaBuilder.string().optional().build())
    .field("worker_id", Schema.STRING_SCHEMA)
    .field("generation", Schema.INT32_SCHEMA)
    .build()
)
_TOPIC_STATUS_VALUE_SCHEMA_V0 = (
    SchemaBuilder.struct()
    .field("name", Schema.STRING_SCHEMA)
    .field("connector", Schema.STRING_SCHEMA)
    .field("task", Schema.INT32_SCHEMA)
    .field("discoverTimestamp", Schema.INT64_SCHEMA)
    .build()
)
_TOPIC_STATUS_SCHEMA_V0 = SchemaBuilder.map(Schema.STRING_SCHEMA, _TOPIC_STATUS_VALUE_SCHEMA_V0).build()

_converters = threading.local()


def _converter() -> JsonConverter:
    converter = getattr(_converters, "value", None)
    if converter is None:
        converter = JsonConverter()
        converter.configure({"schemas.enable": "false"}, False)
        _converters.value = converter
    return converter


def status_value(status: ConnectorStatus | TaskStatus) -> bytes | None:
    """The value bytes of a connector or task status; ``None`` (a tombstone) for ``DESTROYED``."""
    if status.state is State.DESTROYED:
        return None
    struct = Struct(_STATUS_SCHEMA_V0)
    struct.put("state", status.state.value)
    if status.trace is not None:
        struct.put("trace", status.trace)
    struct.put("worker_id", status.worker_id)
    struct.put("generation", status.generation)
    return bytes(_converter().from_connect_data("", _STATUS_SCHEMA_V0, struct) or b"")


def topic_status_value(status: TopicStatus | None) -> bytes | None:
    """The value bytes of an active-topic record; ``None`` (a tombstone) for ``None``."""
    if status is None:
        return None
    struct = Struct(_TOPIC_STATUS_VALUE_SCHEMA_V0)
    struct.put("name", status.topic)
    struct.put("connector", status.connector)
    struct.put("task", status.task)
    struct.put("discoverTimestamp", status.discover_timestamp)
    return bytes(_converter().from_connect_data("", _TOPIC_STATUS_SCHEMA_V0, {"topic": struct}) or b"")


def parse_task_status_key(key: str) -> ConnectorTaskId | None:
    """``status-task-<connector>-<n>`` -> task id; ``None`` if malformed (at least four ``-`` parts)."""
    parts = key.split("-")
    while parts and parts[-1] == "":
        parts.pop()
    if len(parts) < 4:
        return None
    last = parts[-1]
    body = last[1:] if last[:1] in ("+", "-") else last
    if not body or not all("0" <= c <= "9" for c in body) or not -(2**31) <= int(last) < 2**31:
        log.warning("Invalid task status key %s", key)
        return None
    return ConnectorTaskId("-".join(parts[2:-1]), int(last))


S = TypeVar("S", ConnectorStatus, TaskStatus)


@dataclass
class _CacheEntry(Generic[S]):
    """The last status read for a key, and the write sequence used to drop superseded retries."""

    value: S | None = None
    sequence: int = 0
    deleted: bool = False

    def can_write_safely(self, status: S, sequence: int | None = None) -> bool:
        ok = (
            self.value is None
            or self.value.worker_id == status.worker_id
            or self.value.generation <= status.generation
        )
        return ok and (sequence is None or self.sequence == sequence)


class KafkaStatusBackingStore:
    """A :class:`~kcfast.runtime.status_store.StatusBackingStore` on the status topic.

    Thread-safe. ``put_*`` return at once; the new status is visible to ``get_*`` once read back from the
    topic (call :meth:`read_to_end` to wait for it). ``put_*_safe`` skips a write that would overwrite a
    status of a newer generation written by another worker.

    Args:
        topic: the status topic (``status.storage.topic``).
        client_config: how to reach the brokers (``bootstrap.servers``, security settings).
        partitions: partitions when creating the topic.
        replication_factor: replication factor when creating the topic (-1: the broker's default).
        topic_settings: other topic configs when creating it (``status.storage.*``).
        client_id: client id of the store's clients.
        log_factory: builds the log from the record callback instead of a :class:`KafkaBasedLog` (tests).
    """

    def __init__(
        self,
        topic: str,
        client_config: Mapping[str, Any],
        partitions: int = 5,
        replication_factor: int = 3,
        topic_settings: Mapping[str, str] | None = None,
        client_id: str = "connect-statuses",
        log_factory: LogFactory | None = None,
    ) -> None:
        if not topic or not topic.strip():
            raise ConfigError("Must specify topic for connector status.")
        self.topic = topic
        self._lock = threading.RLock()
        self._generation = 0
        self._connectors: dict[str, _CacheEntry[ConnectorStatus]] = {}
        self._tasks: dict[str, dict[int, _CacheEntry[TaskStatus]]] = {}
        self._topics: dict[str, dict[str, TopicStatus]] = {}
        self._retry = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"status-store-retry-{topic}")
        if log_factory is not None:
            self._log: RecordLog = log_factory(self._on_record)
        else:
            spec = TopicSpec(
                topic,
                partitions,
                replication_factor,
                dict(topic_settings or {}),
                "status.storage.topic",
                "connector and task statuses",
            )
            # The store retries retriable failures itself, and drops retries a newer status superseded.
            self._log = internal_log(
                spec, client_config, client_id, self._on_record, producer_overrides={"retries": 0}
            )

    @classmethod
    def from_worker_config(cls, config: WorkerConfig) -> KafkaStatusBackingStore:
        """The status store a distributed worker's configuration describes (``status.storage.*``)."""
        originals = config.originals()
        base = client_id_base(config.get_string("group.id"), config.get_string("client.id"))
        return cls(
            str(config.get_string("status.storage.topic")),
            internal_client_config(originals),
            partitions=int(config.get_int("status.storage.partitions") or 5),
            replication_factor=int(config.get_short("status.storage.replication.factor") or 3),
            topic_settings=internal_topic_settings(originals, "status.storage."),
            client_id=base + "statuses",
        )

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Create or validate the topic and read it to the end.

        Raises:
            ConfigError: the topic exists and is not compacted.
            ConnectError: the topic could not be created or read.
        """
        self._log.start()

    def stop(self) -> None:
        """Deliver pending writes and stop."""
        try:
            self._log.stop()
        finally:
            self._retry.shutdown(wait=True, cancel_futures=True)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every status written so far is acknowledged."""
        self._log.flush(timeout)

    def read_to_end(self, timeout: float | None = None) -> None:
        """Wait until every status in the topic now (including this worker's writes) is read back.

        Raises:
            TimeoutError: not caught up within ``timeout`` seconds.
        """
        self._log.read_to_end(timeout)

    # -- writes ----------------------------------------------------------------------------------------------

    def put_connector(self, status: ConnectorStatus) -> None:
        """Write a connector status; ``DESTROYED`` writes a tombstone."""
        self._send_status(
            CONNECTOR_STATUS_PREFIX + status.id, status, self._connector_entry(status.id), False
        )

    def put_connector_safe(self, status: ConnectorStatus) -> None:
        """Write a connector status unless another worker wrote one of a newer generation."""
        self._send_status(CONNECTOR_STATUS_PREFIX + status.id, status, self._connector_entry(status.id), True)

    def put_task(self, status: TaskStatus) -> None:
        """Write a task status; ``DESTROYED`` writes a tombstone."""
        key = f"{TASK_STATUS_PREFIX}{status.id.connector}-{status.id.task}"
        self._send_status(key, status, self._task_entry(status.id), False)

    def put_task_safe(self, status: TaskStatus) -> None:
        """Write a task status unless another worker wrote one of a newer generation."""
        key = f"{TASK_STATUS_PREFIX}{status.id.connector}-{status.id.task}"
        self._send_status(key, status, self._task_entry(status.id), True)

    def put_topic(self, status: TopicStatus) -> None:
        """Record that a connector uses a topic."""
        self._send_topic(status.connector, status.topic, status)

    def delete_topic(self, connector: str, topic: str) -> None:
        """Forget that ``connector`` used ``topic`` (a tombstone)."""
        self._send_topic(connector, topic, None)

    def _connector_entry(self, connector: str) -> _CacheEntry[ConnectorStatus]:
        with self._lock:
            entry = self._connectors.get(connector)
            if entry is None:
                entry = self._connectors[connector] = _CacheEntry()
            return entry

    def _task_entry(self, task: ConnectorTaskId) -> _CacheEntry[TaskStatus]:
        with self._lock:
            row = self._tasks.setdefault(task.connector, {})
            entry = row.get(task.task)
            if entry is None:
                entry = row[task.task] = _CacheEntry()
            return entry

    def _send_status(self, key: str, status: S, entry: _CacheEntry[S], safe: bool) -> None:
        with self._lock:
            self._generation = status.generation
            if safe and not entry.can_write_safely(status):
                return
            entry.sequence += 1
            sequence = entry.sequence
        value = status_value(status)
        raw_key = key.encode("utf-8")

        def on_delivery(error: BaseException | None, _metadata: RecordMetadata | None) -> None:
            if error is None:
                return
            if isinstance(error, RetriableError):
                with self._lock:
                    if (
                        entry.deleted
                        or status.generation != self._generation
                        or (safe and not entry.can_write_safely(status, sequence))
                    ):
                        return
                self._resend(raw_key, value, on_delivery)
            else:
                log.error("Failed to write status update", exc_info=error)

        self._safe_send(raw_key, value, on_delivery)

    def _send_topic(self, connector: str, topic: str, status: TopicStatus | None) -> None:
        raw_key = f"{TOPIC_STATUS_PREFIX}{topic}{TOPIC_STATUS_SEPARATOR}{connector}".encode()
        value = topic_status_value(status)

        def on_delivery(error: BaseException | None, _metadata: RecordMetadata | None) -> None:
            if error is None:
                return
            if isinstance(error, RetriableError):
                self._resend(raw_key, value, on_delivery)
            else:
                log.error("Failed to write status update", exc_info=error)

        self._safe_send(raw_key, value, on_delivery)

    def _safe_send(self, key: bytes, value: bytes | None, callback: Any) -> None:
        try:
            self._log.send(key, value, callback)
        except RetriableError as exc:
            callback(exc, None)
        except ConnectError:
            log.exception("Failed to write status update")

    def _resend(self, key: bytes, value: bytes | None, callback: Any) -> None:
        try:
            self._retry.submit(self._safe_send, key, value, callback)
        except RuntimeError:  # the store is stopping
            log.debug("Not retrying status write %s: the store is stopped", key)

    # -- reads -----------------------------------------------------------------------------------------------

    def get_connector(self, connector: str) -> ConnectorStatus | None:
        """The status of a connector, as last read."""
        with self._lock:
            entry = self._connectors.get(connector)
            return None if entry is None else entry.value

    def get_task(self, task: ConnectorTaskId) -> TaskStatus | None:
        """The status of a task, as last read."""
        with self._lock:
            entry = self._tasks.get(task.connector, {}).get(task.task)
            return None if entry is None else entry.value

    def get_all(self, connector: str) -> list[TaskStatus]:
        """The statuses of every task of a connector, in task order."""
        with self._lock:
            row = self._tasks.get(connector, {})
            return [row[t].value for t in sorted(row) if row[t].value is not None]  # type: ignore[misc]

    def connectors(self) -> set[str]:
        """The connectors this store has an entry for (read, or written by this worker)."""
        with self._lock:
            return set(self._connectors)

    def get_topic(self, connector: str, topic: str) -> TopicStatus | None:
        """The active-topic record of ``topic`` for ``connector``, as last read."""
        with self._lock:
            return self._topics.get(connector, {}).get(topic)

    def get_all_topics(self, connector: str) -> list[TopicStatus]:
        """Every active-topic record of a connector, as last read."""
        with self._lock:
            return list(self._topics.get(connector, {}).values())

    # -- reading records -------------------------------------------------------------------------------------

    def _on_record(self, record: LogRecord) -> None:
        if record.key is None:
            log.warning("Discarding record with a null key")
            return
        key = record.key.decode("utf-8", "replace")
        if key.startswith(CONNECTOR_STATUS_PREFIX):
            self._read_connector_status(key, record.value)
        elif key.startswith(TASK_STATUS_PREFIX):
            self._read_task_status(key, record.value)
        elif key.startswith(TOPIC_STATUS_PREFIX):
            self._read_topic_status(key, record.value)
        else:
            log.warning("Discarding record with invalid key %s", key)

    def _parse(self, data: bytes, what: str) -> tuple[State, str | None, str, int] | None:
        try:
            value = _converter().to_connect_data(self.topic, data).value
            if not isinstance(value, dict):
                log.error("Invalid %s status type %s", what, type(value).__name__)
                return None
            state = State(value.get("state"))
            trace = value.get("trace")
            worker = value.get("worker_id")
            generation = value.get("generation")
            if (
                (trace is not None and not isinstance(trace, str))
                or not isinstance(worker, str)
                or isinstance(generation, bool)
                or not isinstance(generation, int)
            ):
                raise DataError(f"Invalid {what} status fields: {value}")
            return state, trace, worker, _int32(generation)
        except (DataError, ValueError) as exc:
            log.error("Failed to deserialize %s status", what, exc_info=exc)
            return None

    def _read_connector_status(self, key: str, value: bytes | None) -> None:
        connector = key[len(CONNECTOR_STATUS_PREFIX) :]
        if not connector:
            log.warning("Discarding record with invalid connector status key %s", key)
            return
        if value is None:
            with self._lock:
                entry = self._connectors.pop(connector, None)
                if entry is not None:
                    entry.deleted = True
                for task_entry in self._tasks.pop(connector, {}).values():
                    task_entry.deleted = True
            return
        parsed = self._parse(value, "connector")
        if parsed is None:
            return
        state, trace, worker, generation = parsed
        with self._lock:
            self._connector_entry(connector).value = ConnectorStatus(
                connector, state, worker, generation, trace
            )

    def _read_task_status(self, key: str, value: bytes | None) -> None:
        task = parse_task_status_key(key)
        if task is None:
            log.warning("Discarding record with invalid task status key %s", key)
            return
        if value is None:
            with self._lock:
                row = self._tasks.get(task.connector)
                entry = row.pop(task.task, None) if row is not None else None
                if row is not None and not row:
                    del self._tasks[task.connector]
                if entry is not None:
                    entry.deleted = True
            return
        parsed = self._parse(value, "task")
        if parsed is None:
            log.warning("Failed to parse task status with key %s", key)
            return
        state, trace, worker, generation = parsed
        status = TaskStatus(task, state, worker, generation, trace)
        with self._lock:
            entry = self._task_entry(task)
            current = entry.value
            # A worker that has not read a newer RUNNING status may still report UNASSIGNED for the same task
            # during quick rebalances; such a stale report is ignored.
            if (
                status.state is State.UNASSIGNED
                and current is not None
                and current.state is State.RUNNING
                and current.generation >= status.generation
            ):
                log.debug("Ignoring stale status %s in favour of more up to date status %s", status, current)
                return
            entry.value = status

    def _read_topic_status(self, key: str, value: bytes | None) -> None:
        delimiter = key.find(":")
        begin = len(TOPIC_STATUS_PREFIX)
        if begin > delimiter:
            log.warning("Discarding record with invalid topic status key %s", key)
            return
        topic = key[begin:delimiter]
        if not topic:
            log.warning("Discarding record with invalid topic status key containing empty topic %s", key)
            return
        begin = delimiter + len(TOPIC_STATUS_SEPARATOR)
        if begin > len(key):
            log.warning("Discarding record with invalid topic status key %s", key)
            return
        connector = key[begin:]
        if not connector:
            log.warning("Discarding record with invalid topic status key containing empty connector %s", key)
            return
        if value is None:
            with self._lock:
                row = self._topics.get(connector)
                if row is not None:
                    row.pop(topic, None)
            return
        status = self._parse_topic_status(value)
        if status is None:
            log.warning("Failed to parse topic status with key %s", key)
            return
        with self._lock:
            self._topics.setdefault(connector, {})[topic] = status

    def _parse_topic_status(self, data: bytes) -> TopicStatus | None:
        try:
            value = _converter().to_connect_data(self.topic, data).value
            if not isinstance(value, dict):
                log.error("Invalid topic status value %s", value)
                return None
            inner = value.get("topic")
            if not isinstance(inner, dict):
                log.error("Invalid topic status value %s for field topic", inner)
                return None
            name, connector = inner.get("name"), inner.get("connector")
            task, discovered = inner.get("task"), inner.get("discoverTimestamp")
            if (
                not isinstance(name, str)
                or not isinstance(connector, str)
                or isinstance(task, bool)
                or not isinstance(task, int)
                or isinstance(discovered, bool)
                or not isinstance(discovered, int)
            ):
                raise DataError(f"Invalid topic status fields: {inner}")
            return TopicStatus(name, connector, _int32(task), discovered)
        except (DataError, ValueError) as exc:
            log.error("Failed to deserialize topic status", exc_info=exc)
            return None


def _int32(value: int) -> int:
    """Java's ``Long.intValue()``."""
    value &= 0xFFFFFFFF
    return value - 2**32 if value >= 2**31 else value
