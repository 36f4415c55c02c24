"""What the config topic's records mean: their bytes, and the state a worker builds from them (spec 3.1).

Record keys are plain strings; values are the JSON of Kafka's record structs, written by the internal
schemaless JsonConverter:

=============================  ===============================================================================
``connector-<c>``              ``{"properties":{...}}``; ``null`` deletes the connector
``target-state-<c>``           ``{"state":"PAUSED","state.v2":"STOPPED"}`` (``state`` is never ``STOPPED``)
``task-<c>-<n>``               ``{"properties":{...}}``, held back until a commit record applies it
``commit-<c>``                 ``{"tasks":N}``: applies task configs 0..N-1 if all were read, else marks ``c``
                               inconsistent
``tasks-fencing-<c>``          ``{"task-count":N}``
``session-key``                ``{"key":"<base64>","algorithm":"HmacSHA256","creation-timestamp":<ms>}``
``restart-connector-<c>``      ``{"include-tasks":bool,"only-failed":bool}``
``logger-cluster-<namespace>`` ``{"level":"DEBUG"}``
=============================  ===============================================================================

:class:`ConfigLogReader` applies records in topic order (key prefixes are matched in Kafka's order) and hands
out :class:`KafkaClusterConfigState` snapshots; records read after it is marked started also reach a
:class:`ConfigUpdateListener`. No I/O happens here:
:class:`kcfast.storage.kafka_config.KafkaConfigBackingStore` feeds it from the topic.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from kcfast.converters import JsonConverter
from kcfast.data import Schema, SchemaBuilder, Struct
from kcfast.errors import ConnectError, DataError
from kcfast.kafka.log import LogRecord
from kcfast.runtime.config_state import ClusterConfigState, ConfigTransformer
from kcfast.runtime.status import ConnectorTaskId, TargetState

if TYPE_CHECKING:
    from kcfast.runtime.herder import RestartRequest

__all__ = [
    "COMMIT_TASKS_PREFIX",
    "CONNECTOR_PREFIX",
    "LOGGER_CLUSTER_PREFIX",
    "RESTART_PREFIX",
    "SESSION_KEY_KEY",
    "TARGET_STATE_PREFIX",
    "TASK_COUNT_RECORD_PREFIX",
    "TASK_PREFIX",
    "ConfigLogReader",
    "ConfigUpdateListener",
    "KafkaClusterConfigState",
    "SessionKey",
    "connector_config_value",
    "logger_level_value",
    "parse_task_key",
    "restart_request_value",
    "session_key_value",
    "target_state_value",
    "task_count_value",
    "tasks_commit_value",
]

log = logging.getLogger(__name__)

TARGET_STATE_PREFIX = "target-state-"
CONNECTOR_PREFIX = "connector-"
TASK_PREFIX = "task-"
COMMIT_TASKS_PREFIX = "commit-"
TASK_COUNT_RECORD_PREFIX = "tasks-fencing-"
SESSION_KEY_KEY = "session-key"
RESTART_PREFIX = "restart-connector-"
LOGGER_CLUSTER_PREFIX = "logger-cluster-"

_CONNECTOR_CONFIGURATION_V0 = (
    SchemaBuilder.struct()
    .field("properties", SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.OPTIONAL_STRING_SCHEMA).build())
    .build()
)
_CONNECTOR_TASKS_COMMIT_V0 = SchemaBuilder.struct().field("tasks", Schema.INT32_SCHEMA).build()
_TARGET_STATE_V1 = (
    SchemaBuilder.struct()
    .field("state", Schema.STRING_SCHEMA)
    .field("state.v2", Schema.OPTIONAL_STRING_SCHEMA)
    .build()
)
_TASK_COUNT_RECORD_V0 = SchemaBuilder.struct().field("task-count", Schema.INT32_SCHEMA).build()
_SESSION_KEY_V0 = (
    SchemaBuilder.struct()
    .field("key", Schema.STRING_SCHEMA)
    .field("algorithm", Schema.STRING_SCHEMA)
    .field("creation-timestamp", Schema.INT64_SCHEMA)
    .build()
)
_RESTART_REQUEST_V0 = (
    SchemaBuilder.struct()
    .field("include-tasks", Schema.BOOLEAN_SCHEMA)
    .field("only-failed", Schema.BOOLEAN_SCHEMA)
    .build()
)
_LOGGER_LEVEL_V0 = SchemaBuilder.struct().field("level", Schema.STRING_SCHEMA).build()

_converters = threading.local()


def _converter() -> JsonConverter:
    converter = getattr(_converters, "value", None)
    if converter is None:
        converter = JsonConverter()
        converter.configure({"schemas.enable": "false"}, False)
        _converters.value = converter
    return converter


def _serialize(schema: Schema, values: Mapping[str, Any], topic: str = "") -> bytes:
    struct = Struct(schema)
    for name, value in values.items():
        struct.put(name, value)
    data = _converter().from_connect_data(topic, schema, struct)
    if data is None:  # pragma: no cover - a struct always serializes
        raise DataError("Config record serialized to null")
    return bytes(data)


def connector_config_value(properties: Mapping[str, str | None]) -> bytes:
    """The value bytes of a ``connector-*`` or ``task-*`` record: ``{"properties":{...}}``."""
    return _serialize(_CONNECTOR_CONFIGURATION_V0, {"properties": dict(properties)})


def target_state_value(state: TargetState) -> bytes:
    """The value bytes of a ``target-state-*`` record (STOPPED is ``state`` PAUSED for older workers)."""
    legacy = TargetState.PAUSED if state is TargetState.STOPPED else state
    return _serialize(_TARGET_STATE_V1, {"state": legacy.value, "state.v2": state.value})


def parse_task_key(key: str) -> ConnectorTaskId | None:
    """``task-<connector>-<n>`` -> task id (the connector name may contain ``-``); ``None`` if malformed."""
    parts = _java_split(key, "-")
    if len(parts) < 3:
        return None
    try:
        number = _java_int(parts[-1])
    except ValueError:
        return None
    return ConnectorTaskId("-".join(parts[1:-1]), number)


def _java_split(text: str, sep: str) -> list[str]:
    """``String.split`` semantics: trailing empty strings are dropped."""
    parts = text.split(sep)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def _java_int(text: str) -> int:
    """``Integer.parseInt``: optional sign, ASCII digits, 32-bit range."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or not all("0" <= c <= "9" for c in body):
        raise ValueError(text)
    value = int(text)
    if not -(2**31) <= value < 2**31:
        raise ValueError(text)
    return value


def _class_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _int_value(value: Any) -> int:
    """An int field of a schemaless record, truncated to 32 bits as Java's ``(int) long`` does."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConnectError("Expected integer value to be either Integer or Long")
    truncated = int(value) & 0xFFFFFFFF
    return truncated - 2**32 if truncated >= 2**31 else truncated


@dataclass(frozen=True)
class SessionKey:
    """The key that signs internal REST requests (``sessioned`` protocol), as distributed by the leader.

    Attributes:
        key: the raw key bytes.
        algorithm: the key algorithm, e.g. ``HmacSHA256``.
        creation_timestamp: epoch milliseconds of its creation.
    """

    key: bytes
    algorithm: str
    creation_timestamp: int


def tasks_commit_value(task_count: int) -> bytes:
    """The value bytes of a ``commit-*`` record: ``{"tasks":N}``."""
    return _serialize(_CONNECTOR_TASKS_COMMIT_V0, {"tasks": task_count})


def task_count_value(task_count: int) -> bytes:
    """The value bytes of a ``tasks-fencing-*`` record: ``{"task-count":N}``."""
    return _serialize(_TASK_COUNT_RECORD_V0, {"task-count": task_count})


def session_key_value(key: SessionKey) -> bytes:
    """The value bytes of the ``session-key`` record (the key base64-encoded)."""
    return _serialize(
        _SESSION_KEY_V0,
        {
            "key": base64.b64encode(key.key).decode("ascii"),
            "algorithm": key.algorithm,
            "creation-timestamp": key.creation_timestamp,
        },
    )


def restart_request_value(include_tasks: bool, only_failed: bool) -> bytes:
    """The value bytes of a ``restart-connector-*`` record."""
    return _serialize(_RESTART_REQUEST_V0, {"include-tasks": include_tasks, "only-failed": only_failed})


def logger_level_value(level: str) -> bytes:
    """The value bytes of a ``logger-cluster-*`` record: ``{"level":"DEBUG"}``."""
    return _serialize(_LOGGER_LEVEL_V0, {"level": level})


@dataclass(frozen=True)
class KafkaClusterConfigState(ClusterConfigState):
    """A :class:`ClusterConfigState` read from the config topic, with what only a cluster has.

    Attributes:
        session_key: the latest session key, if any.
        inconsistent: connectors whose last commit record came without all its task configs; they have no
            tasks until their task configs are written again.
        task_count_records: the ``tasks-fencing-*`` task count of each connector.
        task_config_generations: how many times each connector's task configs were applied (from 0).
        pending_fencing: connectors whose task configs were written after their last task count record.
    """

    session_key: SessionKey | None = None
    inconsistent: frozenset[str] = frozenset()
    task_count_records: Mapping[str, int] = field(default_factory=dict)
    task_config_generations: Mapping[str, int] = field(default_factory=dict)
    pending_fencing: frozenset[str] = frozenset()

    def tasks(self, connector: str) -> list[ConnectorTaskId]:
        """The connector's task ids, in task order; none while the connector is inconsistent."""
        if connector in self.inconsistent:
            return []
        return super().tasks(connector)

    def inconsistent_connectors(self) -> set[str]:
        """Connectors whose task configs must be written again."""
        return set(self.inconsistent)


class ConfigUpdateListener(Protocol):
    """Told about config records read after the store started; called on the store's reader thread."""

    def on_connector_config_remove(self, connector: str) -> None:
        """A connector was deleted."""

    def on_connector_config_update(self, connector: str) -> None:
        """A connector was created or its config changed."""

    def on_task_config_update(self, tasks: list[ConnectorTaskId]) -> None:
        """A commit record applied these task configs (empty when the commit was inconsistent)."""

    def on_connector_target_state_change(self, connector: str) -> None:
        """An existing connector's target state changed."""

    def on_session_key_update(self, key: SessionKey) -> None:
        """A new session key was distributed."""

    def on_restart_request(self, request: RestartRequest) -> None:
        """A restart of a connector (and maybe its tasks) was requested."""

    def on_logging_level_update(self, namespace: str, level: str) -> None:
        """A cluster-wide log level was set."""


class ConfigLogReader:
    """The state of a config topic, built record by record.

    Thread-safe: :meth:`apply` runs on the topic's reader thread while other threads take snapshots. Listener
    calls happen outside the lock, and only once :attr:`started` is set (records read while catching up at
    startup are applied silently, as in Kafka).

    Args:
        topic: the config topic (for the converter).
        transformer: resolves config variables in the snapshots' resolved accessors.
    """

    def __init__(self, topic: str = "", transformer: ConfigTransformer | None = None) -> None:
        self.topic = topic
        self.started = False
        self.listener: ConfigUpdateListener | None = None
        self._transformer = transformer
        self._lock = threading.Lock()
        self._offset = -1
        self._session_key: SessionKey | None = None
        self._connector_configs: dict[str, dict[str, Any]] = {}
        self._target_states: dict[str, TargetState] = {}
        self._task_counts: dict[str, int] = {}
        self._task_configs: dict[ConnectorTaskId, dict[str, Any]] = {}
        self._deferred: dict[str, dict[ConnectorTaskId, dict[str, Any]]] = {}
        self._inconsistent: set[str] = set()
        self._applied: dict[str, dict[str, Any]] = {}
        self._task_count_records: dict[str, int] = {}
        self._task_config_generations: dict[str, int] = {}
        self._pending_fencing: set[str] = set()

    @property
    def offset(self) -> int:
        """Offset after the last config record applied (-1 before any)."""
        return self._offset

    def snapshot(self) -> KafkaClusterConfigState:
        """An immutable copy of the state."""
        with self._lock:
            return KafkaClusterConfigState(
                connector_configs={n: dict(c) for n, c in self._connector_configs.items()},
                target_states=dict(self._target_states),
                task_configs={t: dict(c) for t, c in self._task_configs.items()},
                task_counts=dict(self._task_counts),
                applied_configs={n: dict(c) for n, c in self._applied.items()},
                transformer=self._transformer,
                offset=self._offset,
                session_key=self._session_key,
                inconsistent=frozenset(self._inconsistent),
                task_count_records=dict(self._task_count_records),
                task_config_generations=dict(self._task_config_generations),
                pending_fencing=frozenset(self._pending_fencing),
            )

    def contains(self, connector: str) -> bool:
        """Whether ``connector`` has a configuration."""
        with self._lock:
            return connector in self._connector_configs

    def target_state(self, connector: str) -> TargetState | None:
        """The connector's target state, or ``None`` if it has no configuration."""
        with self._lock:
            if connector not in self._connector_configs:
                return None
            return self._target_states.get(connector, TargetState.STARTED)

    def apply(self, record: LogRecord) -> None:
        """Apply one record read from the config topic (called on the reader thread)."""
        if record.key is None:
            log.error("Discarding config update record with a null key")
            return
        key = record.key.decode("utf-8", "replace")
        try:
            value = _converter().to_connect_data(self.topic, record.value).value
        except (DataError, ValueError) as exc:
            log.error("Failed to convert config data to Kafka Connect format: %s", exc)
            return
        self._offset = record.offset + 1
        if key.startswith(TARGET_STATE_PREFIX):
            self._process_target_state(key[len(TARGET_STATE_PREFIX) :], value)
        elif key.startswith(CONNECTOR_PREFIX):
            self._process_connector_config(key[len(CONNECTOR_PREFIX) :], value)
        elif key.startswith(TASK_PREFIX):
            task = parse_task_key(key)
            if task is None:
                log.error(
                    "Ignoring task configuration because %s couldn't be parsed as a task config key", key
                )
                return
            self._process_task_config(task, value)
        elif key.startswith(COMMIT_TASKS_PREFIX):
            self._process_tasks_commit(key[len(COMMIT_TASKS_PREFIX) :], value)
        elif key.startswith(RESTART_PREFIX):
            self._process_restart_request(key[len(RESTART_PREFIX) :], value)
        elif key.startswith(TASK_COUNT_RECORD_PREFIX):
            self._process_task_count(key[len(TASK_COUNT_RECORD_PREFIX) :], value)
        elif key == SESSION_KEY_KEY:
            self._process_session_key(value)
        elif key.startswith(LOGGER_CLUSTER_PREFIX):
            self._process_logger_level(key[len(LOGGER_CLUSTER_PREFIX) :], value)
        else:
            log.error("Discarding config update record with invalid key: %s", key)

    def _notify(self, method: str, *args: Any) -> None:
        listener = self.listener
        if not self.started or listener is None:
            return
        try:
            getattr(listener, method)(*args)
        except Exception:  # a failing listener must not stop the reader
            log.exception("Config update listener %s failed", method)

    def _process_target_state(self, connector: str, value: Any) -> None:
        removed = False
        changed = True
        with self._lock:
            if value is None:
                log.debug("Removed target state for connector %s due to null value in topic.", connector)
                self._target_states.pop(connector, None)
                removed = True
                if connector in self._connector_configs:
                    self._target_states[connector] = TargetState.STARTED
            else:
                if not isinstance(value, dict):
                    log.error(
                        "Ignoring target state for connector '%s' because it is in the wrong format: %s",
                        connector,
                        _class_name(value),
                    )
                    return
                state = value.get("state.v2")
                if state is not None and not isinstance(state, str):
                    log.error(
                        "Invalid data for target state for connector '%s': 'state.v2' field should be a "
                        "String but is %s",
                        connector,
                        _class_name(state),
                    )
                    state = None
                if state is None:
                    state = value.get("state")
                    if not isinstance(state, str):
                        log.error(
                            "Invalid data for target state for connector '%s': 'state' field should be a "
                            "String but is %s",
                            connector,
                            _class_name(state),
                        )
                        return
                try:
                    target = TargetState(state)
                except ValueError:
                    log.error("Invalid target state for connector '%s': %s", connector, state)
                    return
                previous = self._target_states.get(connector)
                self._target_states[connector] = target
                changed = previous is not target
            exists = connector in self._connector_configs
        if not removed and changed and exists:
            self._notify("on_connector_target_state_change", connector)

    def _process_connector_config(self, connector: str, value: Any) -> None:
        removed = False
        with self._lock:
            if value is None:
                self._remove_connector(connector)
                log.info("Successfully processed removal of connector '%s'", connector)
                removed = True
            else:
                if not isinstance(value, dict):
                    log.error(
                        "Ignoring configuration for connector '%s' because it is in the wrong format: %s",
                        connector,
                        _class_name(value),
                    )
                    return
                properties = value.get("properties")
                if not isinstance(properties, dict):
                    log.error(
                        "Invalid data for config for connector '%s': 'properties' field should be a Map but "
                        "is %s",
                        connector,
                        _class_name(properties),
                    )
                    return
                self._connector_configs[connector] = properties
                self._target_states.setdefault(connector, TargetState.STARTED)
        if removed:
            self._notify("on_connector_config_remove", connector)
        else:
            self._notify("on_connector_config_update", connector)

    def _process_task_config(self, task: ConnectorTaskId, value: Any) -> None:
        with self._lock:
            if value is None:
                log.error("Ignoring task configuration for task %s because it is unexpectedly null", task)
                return
            if not isinstance(value, dict):
                log.error(
                    "Ignoring task configuration for task %s because the value is not a Map but is %s",
                    task,
                    _class_name(value),
                )
                return
            properties = value.get("properties")
            if not isinstance(properties, dict):
                log.error(
                    "Invalid data for config of task %s 'properties' field should be a Map but is %s",
                    task,
                    _class_name(properties),
                )
                return
            log.debug(
                "Storing new config for task %s; this will wait for a commit message before the new config "
                "will take effect.",
                task,
            )
            self._deferred.setdefault(task.connector, {})[task] = properties

    def _process_tasks_commit(self, connector: str, value: Any) -> None:
        updated: list[ConnectorTaskId] = []
        with self._lock:
            connector_config = self._connector_configs.get(connector)
            if connector_config is None:
                # The connector was deleted and compaction removed its records: these task configs are stale.
                self._remove_connector(connector)
                log.debug(
                    "Ignoring task configs for connector %s; it appears that the connector was deleted "
                    "previously and that log compaction has since removed any trace of its previous "
                    "configurations from the config topic",
                    connector,
                )
                return
            if not isinstance(value, dict):
                log.error(
                    "Ignoring connector tasks configuration commit for connector '%s' because it is in the "
                    "wrong format: %s",
                    connector,
                    _class_name(value),
                )
                return
            try:
                task_count = _int_value(value.get("tasks"))
            except ConnectError as exc:
                log.error(
                    "Ignoring connector tasks configuration commit for connector '%s': %s", connector, exc
                )
                return
            deferred = self._deferred.get(connector)
            ids = {t.task for t in deferred} if deferred else set()
            if not all(i in ids for i in range(task_count)):
                log.debug(
                    "We have an incomplete set of task configs for connector '%s' probably due to "
                    "compaction. So we are not doing anything with the new configuration.",
                    connector,
                )
                self._inconsistent.add(connector)
            else:
                if deferred:
                    self._task_configs.update(deferred)
                    updated.extend(deferred)
                    generation = self._task_config_generations.get(connector)
                    self._task_config_generations[connector] = 0 if generation is None else generation + 1
                self._inconsistent.discard(connector)
                self._applied[connector] = dict(connector_config)
            if deferred is not None:
                deferred.clear()
            self._task_counts[connector] = task_count
            self._pending_fencing.add(connector)
        self._notify("on_task_config_update", updated)

    def _process_restart_request(self, connector: str, value: Any) -> None:
        if not isinstance(value, dict):
            log.error("Ignoring restart request because the value is not a Map but is %s", _class_name(value))
            return
        only_failed = value.get("only-failed")
        if not isinstance(only_failed, bool):
            log.warning(
                "Invalid data for restart request 'only-failed' field should be a Boolean but is %s, "
                "defaulting to false",
                _class_name(only_failed),
            )
            only_failed = False
        include_tasks = value.get("include-tasks")
        if not isinstance(include_tasks, bool):
            log.warning(
                "Invalid data for restart request 'include-tasks' field should be a Boolean but is %s, "
                "defaulting to false",
                _class_name(include_tasks),
            )
            include_tasks = False
        from kcfast.runtime.herder import RestartRequest

        self._notify("on_restart_request", RestartRequest(connector, only_failed, include_tasks))

    def _process_task_count(self, connector: str, value: Any) -> None:
        if not isinstance(value, dict):
            log.error(
                "Ignoring task count record for connector '%s' because it is in the wrong format: %s",
                connector,
                _class_name(value),
            )
            return
        try:
            count = _int_value(value.get("task-count"))
        except ConnectError as exc:
            log.error("Ignoring task count record for connector '%s': %s", connector, exc)
            return
        with self._lock:
            self._task_count_records[connector] = count
            self._pending_fencing.discard(connector)

    def _process_session_key(self, value: Any) -> None:
        if value is None:
            log.error("Ignoring session key because it is unexpectedly null")
            return
        if not isinstance(value, dict):
            log.error("Ignoring session key because the value is not a Map but is %s", _class_name(value))
            return
        encoded = value.get("key")
        if not isinstance(encoded, str):
            log.error(
                "Invalid data for session key 'key' field should be a String but is %s", _class_name(encoded)
            )
            return
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            log.error("Ignoring session key because its 'key' field is not valid base64: %s", exc)
            return
        algorithm = value.get("algorithm")
        if not isinstance(algorithm, str):
            log.error(
                "Invalid data for session key 'algorithm' field should be a String but it is %s",
                _class_name(algorithm),
            )
            return
        created = value.get("creation-timestamp")
        if isinstance(created, bool) or not isinstance(created, int):
            log.error(
                "Invalid data for session key 'creation-timestamp' field should be a long but it is %s",
                _class_name(created),
            )
            return
        key = SessionKey(raw, algorithm, created)
        with self._lock:
            self._session_key = key
        self._notify("on_session_key_update", key)

    def _process_logger_level(self, namespace: str, value: Any) -> None:
        if value is None:
            log.error("Ignoring logging level for namespace %s because it is unexpectedly null", namespace)
            return
        if not isinstance(value, dict):
            log.error(
                "Ignoring logging level for namespace %s because the value is not a Map but is %s",
                namespace,
                _class_name(value),
            )
            return
        level = value.get("level")
        if not isinstance(level, str):
            log.error(
                "Invalid data for logging level key 'level' field with namespace %s; should be a String but "
                "it is %s",
                namespace,
                _class_name(level),
            )
            return
        if not self.started:
            log.debug(
                "Ignoring old logging level %s for namespace %s that was written to the config topic before "
                "this worker completed startup",
                level,
                namespace,
            )
            return
        self._notify("on_logging_level_update", namespace, level)

    def _remove_connector(self, connector: str) -> None:
        self._connector_configs.pop(connector, None)
        self._task_counts.pop(connector, None)
        for task in [t for t in self._task_configs if t.connector == connector]:
            del self._task_configs[task]
        self._deferred.pop(connector, None)
        self._applied.pop(connector, None)
