"""States, target states, task ids and the status listener contracts between the worker and the herder.

The worker reports every connector and task state change through these listeners; the herder turns them into
status records (spec section 2). Listeners are called from connector and task threads: implementations must
be thread-safe and must not block.
"""

from __future__ import annotations

import enum
from typing import NamedTuple, Protocol


class State(str, enum.Enum):
    """Status of a connector or task (``AbstractStatus.State``)."""

    UNASSIGNED = "UNASSIGNED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    FAILED = "FAILED"
    DESTROYED = "DESTROYED"
    RESTARTING = "RESTARTING"
    STOPPED = "STOPPED"


class TargetState(str, enum.Enum):
    """The state a user asked a connector to be in (config topic ``target-state-*``)."""

    STARTED = "STARTED"
    PAUSED = "PAUSED"
    STOPPED = "STOPPED"


class ConnectorTaskId(NamedTuple):
    """A task of a connector; its string form is ``<connector>-<task>`` as in Kafka."""

    connector: str
    task: int

    def __str__(self) -> str:
        return f"{self.connector}-{self.task}"

    def to_json(self) -> dict[str, object]:
        return {"connector": self.connector, "task": self.task}


class ConnectorStatusListener(Protocol):
    """Receives the state changes of connector instances."""

    def on_startup(self, connector: str) -> None: ...
    def on_pause(self, connector: str) -> None: ...
    def on_resume(self, connector: str) -> None: ...
    def on_stop(self, connector: str) -> None: ...
    def on_failure(self, connector: str, cause: BaseException) -> None: ...
    def on_shutdown(self, connector: str) -> None: ...
    def on_restart(self, connector: str) -> None: ...
    def on_deletion(self, connector: str) -> None: ...


class TaskStatusListener(Protocol):
    """Receives the state changes of tasks."""

    def on_startup(self, task: ConnectorTaskId) -> None: ...
    def on_pause(self, task: ConnectorTaskId) -> None: ...
    def on_resume(self, task: ConnectorTaskId) -> None: ...
    def on_failure(self, task: ConnectorTaskId, cause: BaseException) -> None: ...
    def on_shutdown(self, task: ConnectorTaskId) -> None: ...
    def on_restart(self, task: ConnectorTaskId) -> None: ...
    def on_deletion(self, task: ConnectorTaskId) -> None: ...
