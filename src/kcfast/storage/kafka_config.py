"""Connector and task configurations in the config topic (Kafka's ``KafkaConfigBackingStore``, spec 3.1).

Every worker of a cluster reads the single-partition config topic into the same state. The record formats and
the rules that turn records into that state live in :mod:`kcfast.runtime.distributed.config_log`; this module
writes the records (in Kafka's sequences) and feeds what is read back to a
:class:`~kcfast.runtime.distributed.config_log.ConfigLogReader`.

:class:`KafkaConfigBackingStore` offers the interface of the standalone
:class:`~kcfast.runtime.config_state.MemoryConfigBackingStore` (``snapshot``, ``contains``, ``put_*``), plus
the records only a cluster has, and tells a :class:`ConfigUpdateListener` about changes read after it
started.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

from kcfast.errors import ConfigError, ConnectError
from kcfast.kafka.log import (
    LogFactory,
    RecordLog,
    TopicSpec,
    client_id_base,
    internal_client_config,
    internal_log,
    internal_topic_settings,
)
from kcfast.runtime.config_state import ConfigTransformer
from kcfast.runtime.distributed.config_log import (
    COMMIT_TASKS_PREFIX,
    CONNECTOR_PREFIX,
    LOGGER_CLUSTER_PREFIX,
    RESTART_PREFIX,
    SESSION_KEY_KEY,
    TARGET_STATE_PREFIX,
    TASK_COUNT_RECORD_PREFIX,
    TASK_PREFIX,
    ConfigLogReader,
    ConfigUpdateListener,
    KafkaClusterConfigState,
    SessionKey,
    connector_config_value,
    logger_level_value,
    parse_task_key,
    restart_request_value,
    session_key_value,
    target_state_value,
    task_count_value,
    tasks_commit_value,
)
from kcfast.runtime.status import TargetState

if TYPE_CHECKING:
    from kcfast.config import WorkerConfig
    from kcfast.runtime.herder import RestartRequest

__all__ = [
    "ConfigUpdateListener",
    "KafkaClusterConfigState",
    "KafkaConfigBackingStore",
    "SessionKey",
    "connector_config_value",
    "parse_task_key",
    "target_state_value",
]

log = logging.getLogger(__name__)

#: Seconds a write (with its read-back) may take in total (Kafka's ``READ_WRITE_TOTAL_TIMEOUT_MS``).
READ_WRITE_TOTAL_TIMEOUT_S = 30.0


class KafkaConfigBackingStore:
    """The config store of a distributed worker, on the config topic.

    Thread-safe. Writes block until Kafka acknowledged them and (except target states and log levels) until
    they were read back, so the next :meth:`snapshot` includes them. Listener callbacks run on the reader
    thread, outside the store's lock. The records and their meaning are in
    :mod:`kcfast.runtime.distributed.config_log`.

    Args:
        topic: the config topic (``config.storage.topic``).
        client_config: how to reach the brokers (``bootstrap.servers``, security settings).
        replication_factor: replication factor when creating the topic (-1: the broker's default).
        topic_settings: other topic configs when creating it (``config.storage.*``).
        client_id: client id of the store's clients.
        transformer: resolves config variables in the snapshots' resolved accessors.
        exactly_once: read only committed records.
        log_factory: builds the log from the record callback instead of a :class:`KafkaBasedLog` (tests).
    """

    def __init__(
        self,
        topic: str,
        client_config: Mapping[str, Any],
        replication_factor: int = 3,
        topic_settings: Mapping[str, str] | None = None,
        client_id: str = "connect-configs",
        transformer: ConfigTransformer | None = None,
        exactly_once: bool = False,
        log_factory: LogFactory | None = None,
    ) -> None:
        if not topic or not topic.strip():
            raise ConfigError("Must specify topic for connector configuration.")
        self.topic = topic
        self._reader = ConfigLogReader(topic, transformer)
        if log_factory is not None:
            self._log: RecordLog = log_factory(self._reader.apply)
        else:
            spec = TopicSpec(
                topic,
                1,
                replication_factor,
                dict(topic_settings or {}),
                "config.storage.topic",
                "connector configurations",
            )
            consumer = {"isolation.level": "read_committed"} if exactly_once else None
            self._log = internal_log(
                spec, client_config, client_id, self._reader.apply, consumer_overrides=consumer
            )

    @classmethod
    def from_worker_config(
        cls, config: WorkerConfig, transformer: ConfigTransformer | None = None
    ) -> KafkaConfigBackingStore:
        """The config store a distributed worker's configuration describes (``config.storage.*``)."""
        originals = config.originals()
        base = client_id_base(config.get_string("group.id"), config.get_string("client.id"))
        return cls(
            str(config.get_string("config.storage.topic")),
            internal_client_config(originals),
            replication_factor=int(config.get_short("config.storage.replication.factor") or 3),
            topic_settings=internal_topic_settings(originals, "config.storage."),
            client_id=base + "configs",
            transformer=transformer,
            exactly_once=str(config.get_string("exactly.once.source.support")).lower() == "enabled",
        )

    # -- lifecycle -------------------------------------------------------------------------------------------

    def set_update_listener(self, listener: ConfigUpdateListener | None) -> None:
        """Set who is told about records read after :meth:`start`."""
        self._reader.listener = listener

    def start(self) -> None:
        """Create or validate the topic and read it to the end; records read later reach the listener.

        Raises:
            ConfigError: the topic is not compacted, or has more than one partition.
            ConnectError: the topic could not be created or read.
        """
        log.info("Starting KafkaConfigBackingStore")
        self._log.start()
        count = self._log.partition_count
        if count > 1:
            self._log.stop()
            raise ConfigError(
                f"Topic '{self.topic}' supplied via the 'config.storage.topic' property is required to have "
                "a single partition in order to guarantee consistency of connector configurations, but found "
                f"{count} partitions."
            )
        self._reader.started = True
        log.info("Started KafkaConfigBackingStore")

    def stop(self) -> None:
        """Stop reading and writing."""
        log.info("Closing KafkaConfigBackingStore")
        self._reader.started = False
        try:
            self._log.stop()
        except Exception:  # closing quietly, as Kafka does
            log.exception("Failed to stop the KafkaBasedLog for the config topic")
        log.info("Closed KafkaConfigBackingStore")

    def refresh(self, timeout: float) -> None:
        """Read the topic to its end.

        Raises:
            TimeoutError: not caught up within ``timeout`` seconds.
            ConnectError: the topic could not be read.
        """
        self._log.read_to_end(timeout)

    def claim_write_privileges(self) -> None:
        """Become the exclusive writer (needed only with a transactional config writer, not used yet)."""

    # -- reads -----------------------------------------------------------------------------------------------

    @property
    def offset(self) -> int:
        """Offset after the last config record read (-1 before any)."""
        return self._reader.offset

    def snapshot(self) -> KafkaClusterConfigState:
        """An immutable copy of everything read so far."""
        return self._reader.snapshot()

    def contains(self, connector: str) -> bool:
        """Whether ``connector`` has a configuration."""
        return self._reader.contains(connector)

    # -- writes ----------------------------------------------------------------------------------------------

    def put_connector_config(
        self, connector: str, config: Mapping[str, str], target_state: TargetState | None = None
    ) -> None:
        """Write a connector's config, preceded by its target state when one is given, and read them back.

        Raises:
            ConnectError: ``Error writing connector configuration to Kafka``.
        """
        records: list[tuple[str, bytes | None]] = []
        if target_state is not None:
            records.append((TARGET_STATE_PREFIX + connector, target_state_value(target_state)))
        records.append((CONNECTOR_PREFIX + connector, connector_config_value(config)))
        self._write(records, "Error writing connector configuration to Kafka", read_back=True)

    def remove_connector_config(self, connector: str) -> None:
        """Write the connector and target-state tombstones and read them back.

        Raises:
            ConnectError: ``Error removing connector configuration from Kafka``.
        """
        records: list[tuple[str, bytes | None]] = [
            (CONNECTOR_PREFIX + connector, None),
            (TARGET_STATE_PREFIX + connector, None),
        ]
        self._write(records, "Error removing connector configuration from Kafka", read_back=True)

    def put_task_configs(self, connector: str, configs: Sequence[Mapping[str, str]]) -> None:
        """Write a connector's task configs and then the commit record that applies them.

        The sequence is Kafka's: read to end, every ``task-*`` record, read to end (when there are tasks),
        ``commit-<connector>``, read to end.

        Raises:
            ConnectError: ``Error writing task configurations to Kafka`` or ``Error writing root
                configuration to Kafka``.
        """
        timer = _Timer(READ_WRITE_TOTAL_TIMEOUT_S)
        self._read_to_end(timer, "Error writing root configuration to Kafka")
        records: list[tuple[str, bytes | None]] = [
            (f"{TASK_PREFIX}{connector}-{i}", connector_config_value(config))
            for i, config in enumerate(configs)
        ]
        self._send(records, timer, "Error writing task configurations to Kafka")
        if records:
            self._read_to_end(timer, "Error writing root configuration to Kafka")
        commit = tasks_commit_value(len(records))
        self._send(
            [(COMMIT_TASKS_PREFIX + connector, commit)], timer, "Error writing root configuration to Kafka"
        )
        self._read_to_end(timer, "Error writing root configuration to Kafka")

    def remove_task_configs(self, connector: str) -> None:
        """Give a connector an empty task set (a ``commit-*`` record with ``tasks`` 0, as a stop does)."""
        self.put_task_configs(connector, [])

    def put_target_state(self, connector: str, state: TargetState) -> bool:
        """Write a connector's target state (acknowledged, not read back).

        Returns:
            Whether it differs from the target state read so far.

        Raises:
            ConnectError: the connector does not exist (``No connector `c` configured``), or the write failed
                (``Error writing target state to Kafka``).
        """
        current = self._reader.target_state(connector)
        if current is None:
            raise ConnectError(f"No connector `{connector}` configured")
        changed = current is not state
        self._write(
            [(TARGET_STATE_PREFIX + connector, target_state_value(state))],
            "Error writing target state to Kafka",
            read_back=False,
        )
        return changed

    def put_task_count_record(self, connector: str, task_count: int) -> None:
        """Write a ``tasks-fencing-*`` record and read it back.

        Raises:
            ConnectError: ``Error writing task count record to Kafka``.
        """
        value = task_count_value(task_count)
        self._write(
            [(TASK_COUNT_RECORD_PREFIX + connector, value)],
            "Error writing task count record to Kafka",
            read_back=True,
        )

    def put_session_key(self, key: SessionKey) -> None:
        """Write the ``session-key`` record and read it back.

        Raises:
            ConnectError: ``Error writing session key to Kafka``.
        """
        value = session_key_value(key)
        self._write([(SESSION_KEY_KEY, value)], "Error writing session key to Kafka", read_back=True)

    def put_restart_request(self, request: RestartRequest) -> None:
        """Write a ``restart-connector-*`` record and read it back.

        Raises:
            ConnectError: ``Error writing <request> to Kafka``.
        """
        value = restart_request_value(request.include_tasks, request.only_failed)
        description = (
            f"restart request for {{connectorName='{request.connector}', "
            f"onlyFailed={str(request.only_failed).lower()}, "
            f"includeTasks={str(request.include_tasks).lower()}}}"
        )
        self._write(
            [(RESTART_PREFIX + request.connector, value)],
            f"Error writing {description} to Kafka",
            read_back=True,
        )

    def put_logger_level(self, namespace: str, level: str) -> None:
        """Write a ``logger-cluster-*`` record (acknowledged, not read back).

        Raises:
            ConnectError: ``Error writing logger level to Kafka``.
        """
        value = logger_level_value(level)
        self._write(
            [(LOGGER_CLUSTER_PREFIX + namespace, value)],
            "Error writing logger level to Kafka",
            read_back=False,
        )

    def _write(self, records: list[tuple[str, bytes | None]], message: str, read_back: bool) -> None:
        timer = _Timer(READ_WRITE_TOTAL_TIMEOUT_S)
        self._send(records, timer, message)
        if read_back:
            self._read_to_end(timer, message)

    def _send(self, records: list[tuple[str, bytes | None]], timer: _Timer, message: str) -> None:
        try:
            futures: list[Future[Any]] = [
                self._log.send(key.encode("utf-8"), value) for key, value in records
            ]
            for future in futures:
                future.result(timeout=timer.remaining())
        except (ConnectError, FutureTimeout, TimeoutError) as exc:
            log.error("%s", message, exc_info=exc)
            raise ConnectError(message) from exc

    def _read_to_end(self, timer: _Timer, message: str) -> None:
        try:
            self._log.read_to_end(timer.remaining())
        except (ConnectError, TimeoutError) as exc:
            log.error("%s", message, exc_info=exc)
            raise ConnectError(message) from exc


class _Timer:
    """The time left of an overall budget shared by the steps of one write."""

    def __init__(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self._deadline - time.monotonic())
