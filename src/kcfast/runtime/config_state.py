"""Connector configurations, target states and task configurations: the snapshot and the standalone store.

:class:`ClusterConfigState` is an immutable snapshot of everything a herder knows about its connectors'
configuration (Kafka's ``ClusterConfigState``). Configs are stored *raw*: a value such as
``${file:/secrets.properties:password}`` stays as written, for the REST API and for storage; the accessors
without ``raw_`` resolve such variables through the worker's config transformer, for the connector and task
instances (spec section 6, config providers).

:class:`MemoryConfigBackingStore` keeps the state of a standalone worker in memory. The distributed worker
builds the same snapshots from the config topic.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from kcfast.errors import ConnectError
from kcfast.runtime.status import ConnectorTaskId, TargetState

#: Resolves ``${provider:path:key}`` variables in a configuration.
ConfigTransformer = Callable[[Mapping[str, str]], dict[str, str]]


def _identity(config: Mapping[str, str]) -> dict[str, str]:
    return dict(config)


@dataclass(frozen=True)
class ClusterConfigState:
    """An immutable view of connector configs, target states and task configs.

    Attributes:
        connector_configs: raw connector configs by connector name, in creation order.
        target_states: target state by connector name (a connector without one is STARTED).
        task_configs: raw task configs by task id.
        task_counts: number of tasks of each connector.
        applied_configs: raw connector config that was current when each connector's task configs were
            last written; a connector whose config changed since then must restart its tasks.
        transformer: resolves config variables; ``None`` keeps configs unchanged.
        offset: position in the config topic this snapshot reflects (-1 when not backed by a topic).
    """

    connector_configs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    target_states: Mapping[str, TargetState] = field(default_factory=dict)
    task_configs: Mapping[ConnectorTaskId, Mapping[str, str]] = field(default_factory=dict)
    task_counts: Mapping[str, int] = field(default_factory=dict)
    applied_configs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    transformer: ConfigTransformer | None = None
    offset: int = -1

    def _transform(self, config: Mapping[str, str]) -> dict[str, str]:
        return (self.transformer or _identity)(config)

    def contains(self, connector: str) -> bool:
        """Whether ``connector`` has a configuration."""
        return connector in self.connector_configs

    def connectors(self) -> list[str]:
        """Names of the configured connectors, sorted."""
        return sorted(self.connector_configs)

    def raw_connector_config(self, connector: str) -> dict[str, str] | None:
        """The connector's config as submitted (variables unresolved), or ``None``."""
        config = self.connector_configs.get(connector)
        return None if config is None else dict(config)

    def connector_config(self, connector: str) -> dict[str, str] | None:
        """The connector's config with variables resolved, or ``None``."""
        config = self.connector_configs.get(connector)
        return None if config is None else self._transform(config)

    def target_state(self, connector: str) -> TargetState | None:
        """The connector's target state (STARTED by default), or ``None`` if it is not configured."""
        if connector not in self.connector_configs:
            return None
        return self.target_states.get(connector, TargetState.STARTED)

    def task_count(self, connector: str) -> int:
        """How many task configs the connector has."""
        return self.task_counts.get(connector, 0)

    def tasks(self, connector: str) -> list[ConnectorTaskId]:
        """The connector's task ids, in task order."""
        return [ConnectorTaskId(connector, i) for i in range(self.task_count(connector))]

    def raw_task_config(self, task: ConnectorTaskId) -> dict[str, str] | None:
        """The task's config as stored (variables unresolved), or ``None``."""
        config = self.task_configs.get(task)
        return None if config is None else dict(config)

    def task_config(self, task: ConnectorTaskId) -> dict[str, str] | None:
        """The task's config with variables resolved, or ``None``."""
        config = self.task_configs.get(task)
        return None if config is None else self._transform(config)

    def applied_connector_config(self, connector: str) -> dict[str, str] | None:
        """The resolved connector config at the last task-config write, or ``None``."""
        config = self.applied_configs.get(connector)
        return None if config is None else self._transform(config)


@dataclass
class _ConnectorEntry:
    config: dict[str, str]
    target_state: TargetState
    tasks: list[dict[str, str]] = field(default_factory=list)
    applied: dict[str, str] | None = None


class MemoryConfigBackingStore:
    """The config store of a standalone worker: connector configs, target states and task configs in memory.

    Thread-safe (one lock). Writes take effect at once: the next :meth:`snapshot` sees them.
    """

    def __init__(self, transformer: ConfigTransformer | None = None) -> None:
        self._lock = threading.Lock()
        self._connectors: dict[str, _ConnectorEntry] = {}
        self._transformer = transformer

    def snapshot(self) -> ClusterConfigState:
        """An immutable copy of the current state."""
        with self._lock:
            task_configs: dict[ConnectorTaskId, Mapping[str, str]] = {}
            for name, entry in self._connectors.items():
                for i, config in enumerate(entry.tasks):
                    task_configs[ConnectorTaskId(name, i)] = dict(config)
            return ClusterConfigState(
                connector_configs={n: dict(e.config) for n, e in self._connectors.items()},
                target_states={n: e.target_state for n, e in self._connectors.items()},
                task_configs=task_configs,
                task_counts={n: len(e.tasks) for n, e in self._connectors.items()},
                applied_configs={n: dict(e.applied) for n, e in self._connectors.items() if e.applied is not None},
                transformer=self._transformer,
            )

    def contains(self, connector: str) -> bool:
        """Whether ``connector`` has a configuration."""
        with self._lock:
            return connector in self._connectors

    def put_connector_config(
        self, connector: str, config: Mapping[str, str], target_state: TargetState | None = None
    ) -> None:
        """Create or replace a connector's config; ``target_state`` (default STARTED) applies when given."""
        with self._lock:
            entry = self._connectors.get(connector)
            if entry is None:
                self._connectors[connector] = _ConnectorEntry(dict(config), target_state or TargetState.STARTED)
            else:
                entry.config = dict(config)
                if target_state is not None:
                    entry.target_state = target_state

    def remove_connector_config(self, connector: str) -> None:
        """Forget a connector, its target state and its task configs."""
        with self._lock:
            self._connectors.pop(connector, None)

    def remove_task_configs(self, connector: str) -> None:
        """Drop every task config of a connector.

        Raises:
            ConnectError: the connector does not exist.
        """
        with self._lock:
            entry = self._connectors.get(connector)
            if entry is None:
                raise ConnectError("Cannot remove tasks for non-existing connector")
            entry.tasks = []
            entry.applied = None

    def put_task_configs(self, connector: str, configs: Sequence[Mapping[str, str]]) -> None:
        """Replace a connector's task configs and remember the connector config they were made from.

        Raises:
            ConnectError: the connector does not exist.
        """
        with self._lock:
            entry = self._connectors.get(connector)
            if entry is None:
                raise ConnectError("Cannot put tasks for non-existing connector")
            entry.tasks = [dict(c) for c in configs]
            entry.applied = dict(entry.config)

    def put_target_state(self, connector: str, state: TargetState) -> bool:
        """Set a connector's target state; returns whether it changed.

        Raises:
            ConnectError: the connector does not exist (``No connector `c` configured``).
        """
        with self._lock:
            entry = self._connectors.get(connector)
            if entry is None:
                raise ConnectError(f"No connector `{connector}` configured")
            changed = entry.target_state is not state
            entry.target_state = state
            return changed


__all__ = ["ClusterConfigState", "ConfigTransformer", "MemoryConfigBackingStore"]
