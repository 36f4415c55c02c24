"""Read-only views of the cluster for worker plugins such as REST extensions (Java ``connect.health``)."""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from dataclasses import dataclass


class ConnectorType(enum.Enum):
    """The kind of a connector; ``str()`` is the lower-case name the REST API shows (``source``)."""

    SOURCE = "source"
    SINK = "sink"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


def _check_state(state: str, worker_id: str) -> None:
    if not state or not state.strip():
        raise ValueError("State must not be null or empty")
    if not worker_id or not worker_id.strip():
        raise ValueError("Worker ID must not be null or empty")


@dataclass(frozen=True)
class ConnectorState:
    """The state of a connector instance: ``state`` (``RUNNING``, ...), ``worker_id``, failure ``trace_message``."""

    state: str
    worker_id: str
    trace_message: str | None = None

    def __post_init__(self) -> None:
        _check_state(self.state, self.worker_id)


@dataclass(frozen=True)
class TaskState:
    """The state of one task; ``task_id`` is its number within the connector."""

    task_id: int
    state: str
    worker_id: str
    trace_message: str | None = None

    def __post_init__(self) -> None:
        _check_state(self.state, self.worker_id)


@dataclass(frozen=True)
class ConnectorHealth:
    """A connector's state and its tasks' states by task number."""

    name: str
    connector_state: ConnectorState
    tasks_state: Mapping[int, TaskState]
    type: ConnectorType

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise ValueError("Connector name is required")


class ConnectClusterDetails(abc.ABC):
    """Facts about the Kafka cluster the Connect cluster uses."""

    @abc.abstractmethod
    def kafka_cluster_id(self) -> str:
        """The Kafka cluster id."""


class ConnectClusterState(abc.ABC):
    """What a worker plugin may read about the connectors of the cluster."""

    @abc.abstractmethod
    def connectors(self) -> list[str]:
        """Names of the connectors."""

    @abc.abstractmethod
    def connector_health(self, conn_name: str) -> ConnectorHealth:
        """The health of one connector."""

    def connector_config(self, conn_name: str) -> dict[str, str]:
        """The configuration of one connector."""
        raise NotImplementedError

    def cluster_details(self) -> ConnectClusterDetails:
        """Details of the Kafka cluster."""
        raise NotImplementedError


__all__ = [
    "ConnectClusterDetails",
    "ConnectClusterState",
    "ConnectorHealth",
    "ConnectorState",
    "ConnectorType",
    "TaskState",
]
