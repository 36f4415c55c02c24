"""The thread that runs one task, and what source and sink tasks share: target states, stopping, status.

Each task runs in its own thread, as in Kafka Connect, so a blocking connector never stalls the event loop
or another task. The herder changes a task's target state and stops it from another thread; the task
thread reads those requests at the top of each iteration of its loop.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from kcfast.runtime.status import ConnectorTaskId, TargetState, TaskStatusListener

log = logging.getLogger(__name__)


class _MeteredListener:
    """Forwards task state changes to the herder's listener and records them in the task's metrics."""

    def __init__(self, inner: TaskStatusListener, owner: "WorkerTask") -> None:
        self._inner = inner
        self._owner = owner

    def _record(self, state: str) -> None:
        metrics = self._owner.metrics
        if metrics is not None:
            metrics.record_state(state)

    def on_startup(self, task: ConnectorTaskId) -> None:
        self._record("running")
        self._inner.on_startup(task)

    def on_pause(self, task: ConnectorTaskId) -> None:
        self._record("paused")
        self._inner.on_pause(task)

    def on_resume(self, task: ConnectorTaskId) -> None:
        self._record("running")
        self._inner.on_resume(task)

    def on_failure(self, task: ConnectorTaskId, cause: BaseException) -> None:
        self._record("failed")
        self._inner.on_failure(task, cause)

    def on_shutdown(self, task: ConnectorTaskId) -> None:
        self._record("unassigned")
        self._inner.on_shutdown(task)

    def on_restart(self, task: ConnectorTaskId) -> None:
        self._inner.on_restart(task)

    def on_deletion(self, task: ConnectorTaskId) -> None:
        self._inner.on_deletion(task)


class WorkerTask:
    """Base of WorkerSourceTask and WorkerSinkTask: one thread, a target state, a stop flag, a listener.

    Thread-safety: ``transition_to``, ``stop`` and ``await_stop`` may be called from any thread; ``run`` is
    the body of the task's own thread and is the only code that touches the connector's task object and its
    Kafka clients (except ``SourceTask.stop``, which Kafka also calls from another thread).
    """

    def __init__(
        self,
        task_id: ConnectorTaskId,
        task: Any,
        task_props: dict[str, str],
        listener: TaskStatusListener,
        target_state: TargetState,
        worker_config: Any,
    ) -> None:
        self.id = task_id
        self.task = task
        self.task_props = task_props
        self.metrics: Any = None  # kcfast.metrics.TaskMetrics, set by the worker
        self.listener = _MeteredListener(listener, self)
        self.worker_config = worker_config
        self.log = logging.getLogger(f"kcfast.task.{task_id}")
        self._cond = threading.Condition()
        self._target = target_state
        self._stopping = False
        self._cancelled = False
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self.failure: BaseException | None = None

    # -- control, from any thread ------------------------------------------------------------------------

    def start_thread(self) -> None:
        self._thread = threading.Thread(target=self._run_guarded, name=f"task-thread-{self.id}", daemon=True)
        self._thread.start()

    def transition_to(self, state: TargetState) -> None:
        with self._cond:
            self._target = state
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self.on_stop_requested()

    def cancel(self) -> None:
        """Give up on a task that did not stop in time: its results are no longer reported."""
        self._cancelled = True

    def await_stop(self, timeout: float) -> bool:
        return self._done.wait(timeout)

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def target_state(self) -> TargetState:
        return self._target

    def is_paused(self) -> bool:
        return self._target is not TargetState.STARTED

    # -- the task thread ---------------------------------------------------------------------------------

    def on_stop_requested(self) -> None:
        """Hook called from the stopping thread (source tasks call ``SourceTask.stop`` here)."""

    def await_unpaused(self, timeout: float | None = None) -> bool:
        """Block while paused; return True when the task should keep going, False when it is stopping."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self.is_paused() and not self._stopping:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._cond.wait(remaining)
            return not self._stopping

    def _run_guarded(self) -> None:
        from kcfast.logging_setup import LoggingContext

        with LoggingContext.for_task(self.id):
            self._run_reporting()

    def _run_reporting(self) -> None:
        try:
            self.run()
            if not self._cancelled:
                self.listener.on_shutdown(self.id)
        except BaseException as exc:  # noqa: BLE001 - a task failure must never escape its thread
            self.failure = exc
            self.log.error("Task threw an uncaught and unrecoverable exception. Task is being killed and will "
                           "not recover until manually restarted", exc_info=exc)
            if not self._cancelled:
                self.listener.on_failure(self.id, exc)
        finally:
            self._done.set()

    def run(self) -> None:
        raise NotImplementedError
