"""The herder: what standalone and distributed workers share (Kafka's ``AbstractHerder``).

A herder owns the connectors' configuration and status and tells the worker what to run. Every mutation is a
request on one queue, drained by one asyncio task (:meth:`Herder.start`), so requests never interleave; the
slow worker calls inside a request run on an executor thread, never on the event loop. Reads that Kafka serves
without the herder lock (status, active topics, loggers) read the thread-safe stores directly.

This module holds the shared parts: the request queue with its progress *stages* (for the "Request timed out"
messages of spec 1.1), the status listener (turning worker callbacks into statuses), connector info and
status shapes, restart plans (spec 2), task-config bookkeeping, dynamic log levels, and connector-config
validation (spec 1.3).
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime
import logging
import re
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kcfast import config as framework
from kcfast.api.config import ConfigValue
from kcfast.api.config_infos import (
    config_infos,
    convert_config_key,
    merge_config_infos,
    prefixed_config_infos,
)
from kcfast.api.connector import ConnectorContext
from kcfast.api.health import ConnectorType
from kcfast.api.policy import ClientType, ConnectorClientConfigRequest
from kcfast.errors import BadRequestError, ConnectError, NotFoundError
from kcfast.rest.loggers import Loggers
from kcfast.runtime.config_state import ClusterConfigState, ConfigTransformer
from kcfast.runtime.status import ConnectorTaskId, State
from kcfast.runtime.status_store import ConnectorStatus, StatusBackingStore, TaskStatus, TopicStatus

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Time a REST request waits for the herder (``RestServer.DEFAULT_REST_REQUEST_TIMEOUT_MS``).
REQUEST_TIMEOUT_S = 90.0
#: Time ``GET /health`` waits for the herder.
HEALTH_CHECK_TIMEOUT_S = 10.0


def _now_ms() -> int:
    return int(time.time() * 1000)


def java_instant(epoch_ms: int) -> str:
    """Format epoch milliseconds as Java's ``Instant.toString``: ``2024-10-25T08:01:02.345Z``."""
    moment = datetime.datetime.fromtimestamp(epoch_ms // 1000, datetime.UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if epoch_ms % 1000:
        text += f".{epoch_ms % 1000:03d}"
    return text + "Z"


# -- stages --------------------------------------------------------------------------------------------------


@dataclass
class Stage:
    """One step of the herder's work, for timeout messages (Kafka's ``Stage``).

    Attributes:
        description: what the herder is doing, e.g. ``starting the connector``.
        started: epoch milliseconds at the start.
        completed: epoch milliseconds at the end, or ``None`` while it runs.
    """

    description: str
    started: int
    completed: int | None = None

    def summarize(self, final_period: bool = True) -> str:
        """``The worker is currently X, which began at T.`` or ``The last operation the worker completed ...``."""
        end = "." if final_period else ""
        if self.completed is not None:
            return (
                f"The last operation the worker completed was {self.description}, which began at "
                f"{java_instant(self.started)} and completed at {java_instant(self.completed)}{end}"
            )
        return f"The worker is currently {self.description}, which began at {java_instant(self.started)}{end}"


class StageBox:
    """The latest stage of one caller's request; the REST layer reads it when the request times out."""

    def __init__(self) -> None:
        self.stage: Stage | None = None


_REQUEST_STAGES: contextvars.ContextVar[StageBox | None] = contextvars.ContextVar("kcfast_request_stage", default=None)


def track_request() -> StageBox:
    """Start tracking the stages of the herder calls made from the current task; returns the box to read."""
    box = StageBox()
    _REQUEST_STAGES.set(box)
    return box


# -- restart requests ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestartRequest:
    """A request to restart a connector and maybe its tasks (``POST /connectors/{c}/restart``)."""

    connector: str
    only_failed: bool = False
    include_tasks: bool = False

    def should_restart_connector(self, status: ConnectorStatus) -> bool:
        """Whether the connector instance restarts, given its status."""
        return not self.only_failed or status.state is State.FAILED

    def should_restart_task(self, status: TaskStatus) -> bool:
        """Whether a task restarts, given its status."""
        return self.include_tasks and (not self.only_failed or status.state is State.FAILED)

    def force_restart_connector_only(self) -> bool:
        """The plain form: restart only the connector instance, synchronously."""
        return not self.only_failed and not self.include_tasks

    def impact_rank(self) -> int:
        """How much the request restarts; a pending request is replaced only by one of higher rank."""
        if self.only_failed:
            return 1 if self.include_tasks else 0
        return 3 if self.include_tasks else 2


@dataclass(frozen=True)
class RestartPlan:
    """What a :class:`RestartRequest` restarts, and the status body answered to the client."""

    request: RestartRequest
    state_info: dict[str, Any]
    task_ids: list[ConnectorTaskId] = field(default_factory=list)

    @property
    def restart_connector(self) -> bool:
        """Whether the connector instance restarts."""
        return bool(self.state_info["connector"]["state"] == State.RESTARTING.value)

    @property
    def restart_tasks(self) -> bool:
        """Whether any task restarts."""
        return bool(self.task_ids)


# -- the connector context -----------------------------------------------------------------------------------



def merge_config_patch(config: Mapping[str, str], patch: Mapping[str, str | None]) -> dict[str, str]:
    """``config`` with ``patch`` applied as ``PATCH /connectors/{c}/config`` does: ``None`` removes a key."""
    merged = dict(config)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged

class HerderConnectorContext(ConnectorContext):
    """The :class:`~kcfast.api.connector.ConnectorContext` a connector instance gets from the herder.

    Both methods may be called from any thread.
    """

    def __init__(self, herder: Herder, connector: str) -> None:
        self._herder = herder
        self._connector = connector

    def request_task_reconfiguration(self) -> None:
        """Ask the herder to regenerate this connector's task configs (and restart tasks if they changed)."""
        self._herder.request_task_reconfiguration(self._connector)

    def raise_error(self, error: BaseException) -> None:
        """Mark the connector FAILED with ``error``."""
        self._herder.connector_failed(self._connector, error)


# -- the herder ----------------------------------------------------------------------------------------------


@dataclass
class _Request:
    fn: Callable[[], Awaitable[Any]]
    future: asyncio.Future[Any] | None
    box: StageBox | None


class Herder:
    """The base of :class:`~kcfast.runtime.standalone.StandaloneHerder` (and the distributed herder).

    Args:
        worker: the :class:`~kcfast.runtime.worker.Worker` that runs connectors and tasks.
        status_store: where statuses and active topics live.
        kafka_cluster_id: the id of the Kafka cluster the worker uses (``GET /``); by default the worker's
            ``kafka_cluster_id`` attribute.
        config_transformer: resolves ``${provider:path:key}`` variables in connector configs.
        wall_ms: the wall clock, in epoch milliseconds (stages, logger timestamps, topic records).

    The status-listener methods (``on_startup`` ... ``on_deletion``) accept a connector name or a
    :class:`ConnectorTaskId`, so the herder serves as both the worker's ``ConnectorStatusListener`` and its
    ``TaskStatusListener``. They are thread-safe.
    """

    def __init__(
        self,
        worker: Any,
        status_store: StatusBackingStore,
        *,
        kafka_cluster_id: str | None = None,
        config_transformer: ConfigTransformer | None = None,
        wall_ms: Callable[[], int] | None = None,
    ) -> None:
        self.worker = worker
        self.worker_id: str = worker.worker_id
        self.status_store = status_store
        self.config_transformer = config_transformer
        self._kafka_cluster_id = kafka_cluster_id
        self.wall_ms = wall_ms or _now_ms
        self.loggers = Loggers(self.wall_ms)
        self._queue: asyncio.Queue[_Request | None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._stage: Stage | None = None
        self._worker_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kcfast-herder")
        self.validation_executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="kcfast-validation")
        self._temp_connectors: dict[str, Any] = {}
        self._temp_lock = threading.Lock()

    # -- identity ------------------------------------------------------------------------------------------

    @property
    def generation(self) -> int:
        """The group generation statuses are written with (0 in standalone)."""
        return 0

    @property
    def kafka_cluster_id(self) -> str | None:
        """The id of the Kafka cluster this worker uses."""
        if self._kafka_cluster_id is not None:
            return self._kafka_cluster_id
        return getattr(self.worker, "kafka_cluster_id", None)

    @property
    def plugins(self) -> Any:
        """The worker's :class:`~kcfast.plugins.Plugins`."""
        return self.worker.plugins

    def rest_middlewares(self) -> list[Any]:
        """Extra aiohttp middlewares the REST server runs for this herder (none here; distributed forwarding)."""
        return []

    def worker_props(self) -> dict[str, Any]:
        """The worker configuration as a flat mapping."""
        config = self.worker.config
        if hasattr(config, "originals"):
            return dict(config.originals())
        return dict(config) if isinstance(config, Mapping) else {}

    # -- the request queue ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start draining the request queue (on the running loop)."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._runner = asyncio.create_task(self._drain(), name="kcfast-herder")

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop draining the queue after the requests already queued (cancelling it after ``timeout``)."""
        if self._queue is not None and self._runner is not None:
            self._queue.put_nowait(None)
            try:
                await asyncio.wait_for(asyncio.shield(self._runner), timeout)
            except TimeoutError:
                log.error("The herder did not finish its requests within %.0f s; abandoning them", timeout)
                self._runner.cancel()
            self._runner = None
            while not self._queue.empty():
                request = self._queue.get_nowait()
                if request is not None and request.future is not None and not request.future.done():
                    request.future.set_exception(ConnectError("The herder is shutting down"))
        self._worker_executor.shutdown(wait=False, cancel_futures=True)
        self.validation_executor.shutdown(wait=False, cancel_futures=True)

    def ready(self) -> None:
        """Mark startup complete: ``GET /health`` answers healthy from now on."""
        self._ready.set()

    def is_ready(self) -> bool:
        """Whether :meth:`ready` was called."""
        return self._ready.is_set()

    async def _drain(self) -> None:
        assert self._queue is not None
        while True:
            request = await self._queue.get()
            if request is None:
                return
            _REQUEST_STAGES.set(request.box)
            try:
                result = await request.fn()
            except asyncio.CancelledError:
                if request.future is not None:
                    request.future.cancel()
                raise
            except Exception as exc:  # noqa: BLE001 - handed to the caller
                if request.future is None:
                    log.error("Herder request failed", exc_info=exc)
                elif not request.future.done():
                    request.future.set_exception(exc)
            else:
                if request.future is not None and not request.future.done():
                    request.future.set_result(result)
            finally:
                if self._stage is not None and self._stage.completed is None:
                    self._stage.completed = self.wall_ms()

    async def submit(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Queue ``fn`` and wait for its result; requests run one at a time, in order."""
        if self._queue is None or self._runner is None:
            raise ConnectError("The herder is not running")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Request(fn, future, _REQUEST_STAGES.get()))
        return await future

    def submit_threadsafe(self, fn: Callable[[], Awaitable[Any]]) -> None:
        """Queue ``fn`` from any thread without waiting for it (failures are logged)."""
        if self._loop is None or self._queue is None:
            log.warning("Dropping a herder request made before the herder started")
            return
        queue = self._queue
        try:
            self._loop.call_soon_threadsafe(queue.put_nowait, _Request(fn, None, None))
        except RuntimeError:  # the loop is closed: the worker is shutting down
            log.debug("Dropping a herder request made after the herder stopped")

    @contextmanager
    def stage(self, description: str) -> Iterator[Stage]:
        """Record that the herder is doing ``description`` until the block ends."""
        current = Stage(description, self.wall_ms())
        self._stage = current
        box = _REQUEST_STAGES.get()
        if box is not None:
            box.stage = current
        try:
            yield current
        finally:
            current.completed = self.wall_ms()

    def current_stage(self) -> Stage | None:
        """The stage the herder is in, or the last one it completed."""
        return self._stage

    async def run_blocking(self, description: str, fn: Callable[..., T], *args: Any) -> T:
        """Run a slow worker call on the herder's executor thread, recording ``description`` as the stage."""
        loop = asyncio.get_running_loop()
        with self.stage(description):
            return await loop.run_in_executor(self._worker_executor, lambda: fn(*args))

    async def health_check(self) -> None:
        """Wait until the herder is ready and its queue answers (bounded by the caller)."""
        await self._ready.wait()

        async def noop() -> None:
            return None

        await self.submit(noop)

    # -- status listener -----------------------------------------------------------------------------------

    def _put(self, target: str | ConnectorTaskId, state: State, trace: str | None = None, safe: bool = False) -> None:
        if isinstance(target, ConnectorTaskId):
            task_status = TaskStatus(target, state, self.worker_id, self.generation, trace)
            (self.status_store.put_task_safe if safe else self.status_store.put_task)(task_status)
        else:
            status = ConnectorStatus(target, state, self.worker_id, self.generation, trace)
            (self.status_store.put_connector_safe if safe else self.status_store.put_connector)(status)

    def on_startup(self, target: str | ConnectorTaskId) -> None:
        """The connector or task started: RUNNING."""
        self._put(target, State.RUNNING)

    def on_pause(self, target: str | ConnectorTaskId) -> None:
        """The connector or task paused: PAUSED."""
        self._put(target, State.PAUSED)

    def on_resume(self, target: str | ConnectorTaskId) -> None:
        """The connector or task resumed: RUNNING."""
        self._put(target, State.RUNNING)

    def on_stop(self, target: str) -> None:
        """The connector instance stopped on request (target state STOPPED): STOPPED."""
        self._put(target, State.STOPPED)

    def on_failure(self, target: str | ConnectorTaskId, cause: BaseException) -> None:
        """The connector or task failed: FAILED with the formatted traceback as the trace."""
        trace = "".join(traceback.format_exception(type(cause), cause, cause.__traceback__))
        self._put(target, State.FAILED, trace, safe=True)

    def on_shutdown(self, target: str | ConnectorTaskId) -> None:
        """The connector or task shut down gracefully: UNASSIGNED."""
        self._put(target, State.UNASSIGNED, safe=True)

    def on_restart(self, target: str | ConnectorTaskId) -> None:
        """The connector or task is about to restart: RESTARTING."""
        self._put(target, State.RESTARTING)

    def on_deletion(self, target: str | ConnectorTaskId) -> None:
        """The connector (with all its tasks) or the task is gone: its statuses are removed."""
        if isinstance(target, str):
            for status in self.status_store.get_all(target):
                self._put(status.id, State.DESTROYED)
        self._put(target, State.DESTROYED)

    def connector_failed(self, connector: str, error: BaseException) -> None:
        """A connector reported an error through its context: it is FAILED."""
        fail = getattr(self.worker, "fail_connector", None)
        if fail is not None:
            fail(connector, error)
        else:
            self.on_failure(connector, error)

    def request_task_reconfiguration(self, connector: str) -> None:
        """Schedule a regeneration of the connector's task configs (thread-safe; overridden by herders)."""
        raise NotImplementedError

    # -- active topics -------------------------------------------------------------------------------------

    def record_active_topic(self, connector: str, topic: str, task: int = 0) -> None:
        """Remember that ``connector`` used ``topic`` (called by the worker from task threads)."""
        if self.status_store.get_topic(connector, topic) is None:
            self.status_store.put_topic(TopicStatus(topic, connector, task, self.wall_ms()))

    def connector_active_topics(self, connector: str) -> dict[str, Any]:
        """``{"topics": [...]}`` for ``connector`` (empty for an unknown connector)."""
        return {"topics": [t.topic for t in self.status_store.get_all_topics(connector)]}

    def reset_connector_active_topics(self, connector: str) -> None:
        """Forget the connector's active topics (the worker reports them again when they are next used)."""
        reset = getattr(self.worker, "reset_active_topics", None)
        if reset is not None:
            reset(connector)
        for status in self.status_store.get_all_topics(connector):
            self.status_store.delete_topic(status.connector, status.topic)

    # -- shapes --------------------------------------------------------------------------------------------

    def connector_type(self, config: Mapping[str, str] | None) -> str:
        """``source``, ``sink`` or ``unknown`` for a connector config."""
        if not config or config.get("connector.class") is None:
            return "unknown"
        try:
            return self.worker.connector_type(dict(config))  # type: ignore[no-any-return]
        except Exception as exc:  # noqa: BLE001 - an unloadable class has type "unknown"
            log.warning("Unable to retrieve connector type", exc_info=exc)
            return "unknown"

    def connector_info_of(self, state: ClusterConfigState, connector: str) -> dict[str, Any] | None:
        """The ConnectorInfo body of ``connector`` in ``state``, or ``None`` if it does not exist."""
        config = state.raw_connector_config(connector)
        if config is None:
            return None
        return {
            "name": connector,
            "config": config,
            "tasks": [t.to_json() for t in state.tasks(connector)],
            "type": self.connector_type(config),
        }

    @staticmethod
    def _state_json(state: str, worker_id: str, trace: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"state": state, "worker_id": worker_id}
        if trace:
            body["trace"] = trace
        return body

    def _raw_config(self, connector: str) -> dict[str, str] | None:
        raise NotImplementedError

    def connector_status(self, connector: str) -> dict[str, Any]:
        """The ConnectorStateInfo body: connector state, tasks sorted by id, ``trace`` only when set.

        Raises:
            NotFoundError: no status for the connector.
        """
        status = self.status_store.get_connector(connector)
        if status is None:
            raise NotFoundError(f"No status found for connector {connector}")
        tasks = [
            {"id": t.id.task, **self._state_json(t.state.value, t.worker_id, t.trace)}
            for t in self.status_store.get_all(connector)
        ]
        tasks.sort(key=lambda t: int(t["id"]))
        return {
            "name": connector,
            "connector": self._state_json(status.state.value, status.worker_id, status.trace),
            "tasks": tasks,
            "type": self.connector_type(self._raw_config(connector)),
        }

    def task_status(self, task: ConnectorTaskId) -> dict[str, Any]:
        """The TaskState body of a task.

        Raises:
            NotFoundError: no status for the task.
        """
        status = self.status_store.get_task(task)
        if status is None:
            raise NotFoundError(f"No status found for task {task}")
        return {"id": task.task, **self._state_json(status.state.value, status.worker_id, status.trace)}

    def build_restart_plan(self, request: RestartRequest) -> RestartPlan | None:
        """What ``request`` restarts given the current statuses; ``None`` if the connector has no status."""
        status = self.status_store.get_connector(request.connector)
        if status is None:
            return None
        connector_state = State.RESTARTING if request.should_restart_connector(status) else status.state
        tasks = []
        ids = []
        for task in self.status_store.get_all(request.connector):
            restarting = request.should_restart_task(task)
            if restarting:
                ids.append(task.id)
            state = State.RESTARTING if restarting else task.state
            tasks.append({"id": task.id.task, **self._state_json(state.value, task.worker_id, task.trace)})
        info = {
            "name": request.connector,
            "connector": self._state_json(connector_state.value, status.worker_id, status.trace),
            "tasks": tasks,
            "type": self.connector_type(self._raw_config(request.connector)),
        }
        return RestartPlan(request, info, ids)

    # -- task configs --------------------------------------------------------------------------------------

    @staticmethod
    def reverse_transform(
        state: ClusterConfigState, connector: str, configs: list[dict[str, str]]
    ) -> list[dict[str, str]]:
        """Put back the raw ``${...}`` text for task-config keys whose connector value holds a variable."""
        raw = state.raw_connector_config(connector) or {}
        keys = [k for k, v in raw.items() if v is not None and has_variable(v)]
        result = []
        for config in configs:
            copy = dict(config)
            for key in keys:
                if key in copy:
                    copy[key] = raw[key]
            result.append(copy)
        return result

    @staticmethod
    def task_configs_changed(state: ClusterConfigState, connector: str, raw_configs: list[dict[str, str]]) -> bool:
        """Whether new task configs differ from the stored ones, or the connector config changed since."""
        count = state.task_count(connector)
        if len(raw_configs) != count:
            log.debug("Connector %s task count changed from %d to %d", connector, count, len(raw_configs))
            return True
        for index in range(count):
            if raw_configs[index] != state.raw_task_config(ConnectorTaskId(connector, index)):
                return True
        if state.applied_connector_config(connector) != state.connector_config(connector):
            log.debug("Forcing task restart for connector %s as its configuration appears to be updated", connector)
            return True
        return False

    # -- validation and plugins ----------------------------------------------------------------------------

    def temp_connector(self, class_name: str) -> Any:
        """A cached instance of a connector class, for validation and type checks."""
        with self._temp_lock:
            instance = self._temp_connectors.get(class_name)
            if instance is None:
                instance = self.plugins.connector_class(class_name)()
                self._temp_connectors[class_name] = instance
            return instance

    async def validate_connector_config(self, props: Mapping[str, str | None], do_log: bool = True) -> dict[str, Any]:
        """Validate a connector config on a validation thread; returns the ConfigInfos body (spec 1.3).

        Raises:
            BadRequestError: no ``connector.class``, or the connector's ``config()``/``validate()`` gave None.
            ConnectError: the connector class cannot be found.
        """
        box = _REQUEST_STAGES.get()
        loop = asyncio.get_running_loop()
        waiting = Stage("waiting for a new thread to become available for connector validation", self.wall_ms())
        if box is not None:
            box.stage = waiting

        def run() -> dict[str, Any]:
            waiting.completed = self.wall_ms()

            def report(description: str) -> Stage:
                stage = Stage(description, self.wall_ms())
                if box is not None:
                    box.stage = stage
                return stage

            return validate_connector_config(self, dict(props), report)

        return await loop.run_in_executor(self.validation_executor, run)

    def connector_plugin_config(self, plugin: str) -> list[dict[str, Any]]:
        """The ConfigKeyInfo list of a plugin: its own keys, then framework keys for connectors."""
        return connector_plugin_config(self, plugin)

    # -- loggers -------------------------------------------------------------------------------------------

    def logger_level(self, name: str) -> dict[str, Any] | None:
        """The level of an existing logger, else ``None``."""
        return self.loggers.level(name)

    def all_logger_levels(self) -> dict[str, dict[str, Any]]:
        """Every logger with an explicit level, plus ``root``."""
        return self.loggers.all_levels()

    def set_worker_logger_level(self, namespace: str, level: str) -> list[str]:
        """Set a level on this worker's loggers in ``namespace``; returns the affected logger names."""
        return self.loggers.set_level(namespace, level)


# -- connector config validation (spec 1.3) -----------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}")
_CONVERTERS = (
    ("header.converter", "header converter", "header"),
    ("key.converter", "key converter", "key"),
    ("value.converter", "value converter", "value"),
)


def has_variable(value: str) -> bool:
    """Whether a config value holds a ``${provider:[path:]key}`` reference."""
    return _VARIABLE.search(value) is not None


def _java_map(props: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}={'null' if v is None else v}" for k, v in props.items()) + "}"


def _is_blank(value: str | None) -> bool:
    return value is None or not value.strip()


@contextmanager
def _staged(report: Callable[[str], Stage], description: str) -> Iterator[None]:
    stage = report(description)
    try:
        yield
    finally:
        stage.completed = int(time.time() * 1000)


def _framework_definition(herder: Herder, connector_type: str, props: Mapping[str, Any] | None) -> Any:
    """The framework ConfigDef of a source or sink connector, enriched with the transforms and predicates of
    ``props`` (``None``: not enriched)."""
    if connector_type == "sink":
        base = framework.sink_connector_config_def(herder.plugins)
    else:
        base = framework.source_connector_config_def(herder.plugins)
    return base if props is None else framework.enrich(herder.plugins, base, props, require_full_config=False)


def _sink_checks(props: Mapping[str, str | None], validated: dict[str, Any]) -> None:
    topics, regex = props.get("topics"), props.get("topics.regex")
    dlq = (props.get("errors.deadletterqueue.topic.name") or "").strip()

    def add(name: str, value: Any, message: str) -> None:
        validated.setdefault(name, ConfigValue(name, value)).add_error_message(message)

    if not _is_blank(topics) and not _is_blank(regex):
        message = "topics and topics.regex are mutually exclusive options, but both are set."
        add("topics", topics, message)
        add("topics.regex", regex, message)
    if _is_blank(topics) and _is_blank(regex):
        message = "Must configure one of topics or topics.regex"
        add("topics", topics, message)
        add("topics.regex", regex, message)
    if dlq:
        if not _is_blank(topics):
            listed = list(dict.fromkeys(t.strip() for t in (topics or "").split(",") if t.strip()))
            if dlq in listed:
                add("topics", topics, f"The DLQ topic '{dlq}' may not be included in the list of topics "
                    f"('topics=[{', '.join(listed)}]') consumed by the connector")
        if not _is_blank(regex):
            try:
                matches = re.fullmatch(regex or "", dlq) is not None
            except re.error:
                matches = False
            if matches:
                add("topics.regex", regex, f"The DLQ topic '{dlq}' may not be matched by the regex for the topics "
                    f"('topics.regex={regex}') consumed by the connector")


def _converter_infos(
    herder: Herder, props: Mapping[str, Any], validated: Mapping[str, Any], key: str, label: str, kind: str,
    report: Callable[[str], Stage],
) -> dict[str, Any] | None:
    """Validate a converter set in the connector config against its own ConfigDef (keys shown as ``<key>.k``)."""
    class_name, config_value = props.get(key), validated.get(key)
    if class_name is None or config_value is None or config_value.error_messages:
        return None
    step = "load class " + class_name
    instance = None
    try:
        with _staged(report, f"instantiating the connector's {label} for validation"):
            lookup = herder.plugins.header_converter_class if kind == "header" else herder.plugins.converter_class
            instance = lookup(class_name)()
        step = "load ConfigDef from " + label
        with _staged(report, f"retrieving the configuration definition from the connector's {label}"):
            definition = instance.config()
        if definition is None:
            log.warning("%s.config() has returned a null ConfigDef; no further preflight config validation for "
                        "this converter will be performed", class_name)
            return None
        prefix = key + "."
        sub = {k[len(prefix):]: v for k, v in props.items() if k.startswith(prefix)}
        sub.setdefault("converter.type", kind)
        step = "perform config validation for " + label
        with _staged(report, f"performing config validation for the connector's {label}"):
            values = definition.validate(sub)
        return prefixed_config_infos(definition, values, prefix)
    except Exception as exc:  # noqa: BLE001 - reported on the converter key
        config_value.add_error_message(f"Failed to {step}" + (f": {exc}" if str(exc) else ""))
        return None
    finally:
        if instance is not None and hasattr(instance, "close"):
            try:
                instance.close()
            except Exception:  # noqa: BLE001
                log.debug("Error closing %s %s", label, class_name, exc_info=True)


def _override_infos(
    herder: Herder, connector: Any, connector_type: str, props: Mapping[str, Any], prefix: str, client: str,
) -> dict[str, Any]:
    policy_name = herder.worker_props().get("connector.client.config.override.policy") or "All"
    policy = herder.plugins.override_policy_class(str(policy_name))()
    policy.configure(herder.worker_props())
    client_props = {k[len(prefix):]: v for k, v in props.items() if k.startswith(prefix)}
    request = ConnectorClientConfigRequest(
        props.get("name") or "", ConnectorType(connector_type), type(connector), client_props, ClientType[client]
    )
    try:
        values = policy.validate(request)
    finally:
        policy.close()
    return prefixed_config_infos(None, values, prefix)


def validate_connector_config(
    herder: Herder, props: dict[str, Any], report: Callable[[str], Stage]
) -> dict[str, Any]:
    """Kafka's ``AbstractHerder.validateConnectorConfig``: the ConfigInfos of a connector config.

    Raises:
        BadRequestError: no ``connector.class``; the connector's ``config()``/``validate()`` returned None.
        ConnectError: the connector class cannot be found.
    """
    if herder.config_transformer is not None:
        with _staged(report, "resolving transformed configuration properties for the connector"):
            resolved = herder.config_transformer({k: v for k, v in props.items() if v is not None})
            props = {k: (None if v is None else resolved.get(k, v)) for k, v in props.items()}
    class_name = props.get("connector.class")
    if class_name is None:
        raise BadRequestError(f"Connector config {_java_map(props)} contains no connector type")
    connector = herder.temp_connector(class_name)
    connector_type = "source" if herder.plugins.connector_type(connector) == "source" else "sink"
    definition = _framework_definition(herder, connector_type, props)
    with _staged(report, f"validating {connector_type} connector-specific properties for the connector"):
        validated: dict[str, Any] = definition.validate_all(props)
        if connector_type == "sink":
            _sink_checks(props, validated)
    for key, value in props.items():
        if value is None:
            validated.setdefault(key, ConfigValue(key)).add_error_message(
                "Null value can not be supplied as the configuration value."
            )
    values = list(validated.values())
    keys = dict(definition.config_keys())
    groups = dict.fromkeys(definition.groups())
    qualified = f"{type(connector).__module__}.{type(connector).__qualname__}"
    with _staged(report, "retrieving the configuration definition from the connector"):
        own = connector.config()
    if own is None:
        raise BadRequestError(f"{qualified}.config() must return a ConfigDef that is not null.")
    with _staged(report, "performing multi-property validation for the connector"):
        result = connector.validate(props)
    if result is None:
        raise BadRequestError(f"{qualified}.validate() must return a Config that is not null.")
    keys.update(own.config_keys())
    groups.update(dict.fromkeys(own.groups()))
    values.extend(result.config_values())
    converters = {
        key: _converter_infos(herder, props, validated, key, label, kind, report) for key, label, kind in _CONVERTERS
    }
    infos = config_infos(class_name, keys, values, list(groups))
    dlq = not _is_blank(props.get("errors.deadletterqueue.topic.name"))
    uses_topic_creation = any(k.startswith("topic.creation.") for k in props)
    producer = consumer = admin = None
    if connector_type == "source" or dlq:
        with _staged(report, "validating producer config overrides for the connector"):
            producer = _override_infos(herder, connector, connector_type, props, "producer.override.", "PRODUCER")
    if (connector_type == "source" and uses_topic_creation) or (connector_type == "sink" and dlq):
        with _staged(report, "validating admin config overrides for the connector"):
            admin = _override_infos(herder, connector, connector_type, props, "admin.override.", "ADMIN")
    if connector_type == "sink":
        with _staged(report, "validating consumer config overrides for the connector"):
            consumer = _override_infos(herder, connector, connector_type, props, "consumer.override.", "CONSUMER")
    return merge_config_infos(
        class_name, infos, producer, consumer, admin,
        converters["header.converter"], converters["key.converter"], converters["value.converter"],
    )


def connector_plugin_config(herder: Herder, plugin: str) -> list[dict[str, Any]]:
    """``GET /connector-plugins/{p}/config``: the plugin's keys, then (connectors) the framework keys.

    Raises:
        NotFoundError: ``Unknown plugin p.``
        BadRequestError: the class is not a plugin of a listed type.
    """
    cls, plugin_type = herder.plugins.plugin_class(plugin)
    kind = str(plugin_type) if plugin_type is not None else ""
    if kind not in ("source", "sink", "converter", "header_converter", "transformation", "predicate"):
        raise BadRequestError(
            f"Invalid plugin class {plugin}. Valid types are sink, source, converter, header_converter, "
            "transformation, predicate."
        )
    instance = cls()
    keys = dict(instance.config().config_keys())
    if kind in ("source", "sink"):
        for name, key in _framework_definition(herder, kind, None).config_keys().items():
            keys.setdefault(name, key)
    return [convert_config_key(key) for key in keys.values()]


__all__ = [
    "HEALTH_CHECK_TIMEOUT_S",
    "REQUEST_TIMEOUT_S",
    "Herder",
    "HerderConnectorContext",
    "RestartPlan",
    "RestartRequest",
    "Stage",
    "StageBox",
    "connector_plugin_config",
    "has_variable",
    "java_instant",
    "track_request",
    "validate_connector_config",
]
