"""A worker double for the herder and REST tests, and the small connectors it runs.

:class:`FakeWorker` keeps the worker contract the herder relies on (start/stop connectors in a target
state, generate task configs, start/stop tasks, report every state change to the status listeners, read and
modify offsets) without Kafka or threads: connector instances run in the calling thread and tasks are
records. Tests drive failures with :meth:`FakeWorker.fail_task` and connector configs (``fail.start``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from kcfast.api._config_types import Importance, Type
from kcfast.api.config import ConfigDef
from kcfast.api.connector import SinkConnector, SourceConnector
from kcfast.api.task import SinkTask, SourceTask
from kcfast.api.validators import NonEmptyString
from kcfast.errors import BadRequestError, ConnectError
from kcfast.plugins import Plugins
from kcfast.runtime.status import ConnectorTaskId, TargetState

SOURCE = "fake_worker.FakeSourceConnector"
SINK = "fake_worker.FakeSinkConnector"


def async_test(fn: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run a coroutine test function on a fresh event loop."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return run


# -- connectors ----------------------------------------------------------------------------------------------


class FakeSourceTask(SourceTask):
    def version(self) -> str:
        return "1.0"

    def start(self, props: Mapping[str, str]) -> None:
        pass

    def poll(self) -> list[Any] | None:
        return None

    def stop(self) -> None:
        pass


class FakeSinkTask(SinkTask):
    def version(self) -> str:
        return "1.0"

    def start(self, props: Mapping[str, str]) -> None:
        pass

    def put(self, records: Sequence[Any]) -> None:
        pass

    def stop(self) -> None:
        pass


#: Held closed, it blocks ``validate()`` of connectors configured with ``block.validate=true``.
VALIDATE_GATE = threading.Event()


class _Behaviour:
    """Connector behaviour driven by its config: ``fail.start``, ``task.count``, ``alter.result``,
    ``block.validate``."""

    props: dict[str, str]

    def validate(self, props: Mapping[str, str]) -> Any:
        if props.get("block.validate") == "true":
            VALIDATE_GATE.wait(10)
        return super().validate(props)  # type: ignore[misc]

    def version(self) -> str:
        return "1.0"

    def start(self, props: Mapping[str, str]) -> None:
        if props.get("fail.start") == "true":
            raise ConnectError("the connector was told to fail in start()")
        self.props = dict(props)

    def stop(self) -> None:
        pass

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        count = int(self.props.get("task.count", max_tasks))
        return [{"task.index": str(i), "setting": self.props.get("setting", "")} for i in range(count)]

    def alter_offsets(self, connector_config: Mapping[str, str], offsets: Any) -> bool:
        return connector_config.get("alter.result") == "true"


class FakeSourceConnector(_Behaviour, SourceConnector):
    """A source connector with one required key, ``topic``."""

    def config(self) -> ConfigDef:
        return ConfigDef().define(
            "topic", Type.STRING, validator=NonEmptyString(), importance=Importance.HIGH,
            documentation="The topic to publish data to",
        ).define("setting", Type.STRING, "", importance=Importance.LOW, documentation="Copied into task configs")

    def task_class(self) -> type:
        return FakeSourceTask


class FakeSinkConnector(_Behaviour, SinkConnector):
    """A sink connector with no keys of its own."""

    def config(self) -> ConfigDef:
        return ConfigDef().define("setting", Type.STRING, "", importance=Importance.LOW, documentation="Setting")

    def task_class(self) -> type:
        return FakeSinkTask


class NotAConnector:
    """A class that is no plugin at all."""


# -- the worker ----------------------------------------------------------------------------------------------


@dataclass
class _Connector:
    instance: Any
    props: dict[str, str]
    listener: Any
    ctx: Any
    state: TargetState | None = None
    failed: bool = False


@dataclass
class FakeTask:
    """A running task: its configs and the target state it was last told."""

    id: ConnectorTaskId
    connector_props: dict[str, str]
    props: dict[str, str]
    listener: Any
    target: TargetState


class FakeWorker:
    """See the module docstring. Thread-safe enough for the herder (one lock)."""

    def __init__(self, worker_id: str = "127.0.0.1:8083", plugins: Plugins | None = None) -> None:
        self.worker_id = worker_id
        self.kafka_cluster_id = "fake-cluster-id"
        self.plugins = plugins or Plugins()
        self.config: dict[str, str] = {"key.converter": "org.apache.kafka.connect.json.JsonConverter"}
        self.connectors: dict[str, _Connector] = {}
        self.tasks: dict[ConnectorTaskId, FakeTask] = {}
        self.connector_starts: Counter[str] = Counter()
        self.task_starts: Counter[ConnectorTaskId] = Counter()
        self.offsets: dict[str, dict[str, Any]] = {}
        self.started = False
        self.block_start = threading.Event()
        self.block_start.set()
        self._lock = threading.RLock()

    # lifecycle
    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stop_and_await_tasks(list(self.tasks))
        for name in list(self.connectors):
            self.stop_and_await_connector(name)
        self.started = False

    # connectors
    def connector_type(self, props: Mapping[str, str]) -> str:
        try:
            cls = self.plugins.connector_class(props.get("connector.class", ""))
        except ConnectError:
            return "unknown"
        return self.plugins.connector_type(cls)

    def start_connector(self, name: str, props: dict[str, str], ctx: Any, listener: Any, target: TargetState) -> None:
        self.block_start.wait()
        with self._lock:
            if name in self.connectors:
                raise ConnectError(f"Connector with name {name} already exists")
            try:
                instance = self.plugins.connector_class(props["connector.class"])()
            except Exception as exc:  # noqa: BLE001
                listener.on_failure(name, exc)
                return
            wc = _Connector(instance, dict(props), listener, ctx)
            self.connectors[name] = wc
            self.connector_starts[name] += 1
            self._transition(name, wc, target)

    def _transition(self, name: str, wc: _Connector, target: TargetState) -> None:
        if wc.failed:
            if target is TargetState.STOPPED:
                wc.state = target
                wc.listener.on_stop(name)
            return
        try:
            if target is not TargetState.STOPPED and wc.state in (None, TargetState.STOPPED):
                wc.instance.initialize(wc.ctx)
                wc.instance.start(wc.props)
            elif target is TargetState.STOPPED and wc.state in (TargetState.STARTED, TargetState.PAUSED):
                wc.instance.stop()
        except Exception as exc:  # noqa: BLE001
            wc.failed = True
            wc.listener.on_failure(name, exc)
            return
        previous, wc.state = wc.state, target
        if target is TargetState.STARTED:
            (wc.listener.on_resume if previous is TargetState.PAUSED else wc.listener.on_startup)(name)
        elif target is TargetState.PAUSED:
            wc.listener.on_pause(name)
        else:
            wc.listener.on_stop(name)

    def is_running(self, name: str) -> bool:
        wc = self.connectors.get(name)
        return wc is not None and not wc.failed and wc.state is TargetState.STARTED

    def connector_task_configs(self, name: str, props: dict[str, str]) -> list[dict[str, str]]:
        wc = self.connectors[name]
        max_tasks = int(props.get("tasks.max", "1"))
        configs = wc.instance.task_configs(max_tasks)
        if len(configs) > max_tasks and props.get("tasks.max.enforce", "true") != "false":
            raise ConnectError(f"The connector {name} has generated {len(configs)} tasks, which is greater than "
                               f"{max_tasks}, the maximum number of tasks it is configured to create.")
        out = []
        for config in configs:
            config = dict(config, **{"task.class": f"{wc.instance.task_class().__module__}."
                                                   f"{wc.instance.task_class().__qualname__}"})
            for key in ("topics", "topics.regex"):
                if key in props:
                    config[key] = props[key]
            out.append(config)
        return out

    def stop_and_await_connector(self, name: str) -> None:
        with self._lock:
            wc = self.connectors.pop(name, None)
        if wc is None:
            return
        if wc.state in (TargetState.STARTED, TargetState.PAUSED):
            wc.instance.stop()
        if not wc.failed:
            wc.listener.on_shutdown(name)

    def set_target_state(self, name: str, target: TargetState) -> None:
        wc = self.connectors.get(name)
        if wc is not None:
            self._transition(name, wc, target)
        for task in list(self.tasks.values()):
            if task.id.connector == name and target is not TargetState.STOPPED and task.target is not target:
                task.target = target
                (task.listener.on_resume if target is TargetState.STARTED else task.listener.on_pause)(task.id)

    def fail_connector(self, name: str, exc: BaseException) -> None:
        wc = self.connectors.get(name)
        if wc is not None:
            wc.failed = True
            wc.listener.on_failure(name, exc)

    def connector_names(self) -> set[str]:
        return set(self.connectors)

    # tasks
    def start_task(self, task_id: ConnectorTaskId, connector_props: dict[str, str], props: dict[str, str],
                   listener: Any, target: TargetState) -> bool:
        with self._lock:
            if task_id in self.tasks:
                raise ConnectError(f"Task already exists in this worker: {task_id}")
            self.task_starts[task_id] += 1
            if connector_props.get("fail.task.build") == "true":
                listener.on_failure(task_id, ConnectError("the task could not be built"))
                return False
            self.tasks[task_id] = FakeTask(task_id, dict(connector_props), dict(props), listener, target)
        (listener.on_pause if target is TargetState.PAUSED else listener.on_startup)(task_id)
        return True

    def stop_and_await_tasks(self, ids: list[ConnectorTaskId]) -> None:
        for task_id in ids:
            with self._lock:
                task = self.tasks.pop(task_id, None)
            if task is not None:
                task.listener.on_shutdown(task_id)

    def task_ids(self) -> set[ConnectorTaskId]:
        return set(self.tasks)

    def fail_task(self, task_id: ConnectorTaskId, message: str = "the task failed") -> None:
        """Test helper: the task thread died with an error."""
        task = self.tasks[task_id]
        try:
            raise ConnectError(message)
        except ConnectError as exc:
            task.listener.on_failure(task_id, exc)

    # offsets
    def connector_offsets(self, name: str, props: Mapping[str, str]) -> dict[str, Any]:
        return {"offsets": list(self.offsets.get(name, {}).values())}

    def modify_connector_offsets(self, name: str, props: Mapping[str, str], body: dict[str, Any] | None) -> str:
        stored = self.offsets.setdefault(name, {})
        if body is None:
            stored.clear()
            verb = "reset"
        else:
            for entry in body["offsets"]:
                partition = entry.get("partition")
                if partition is None:
                    raise BadRequestError("The partition for a source connector offset cannot be null or missing")
                key = repr(sorted(partition.items()))
                if entry.get("offset") is None:
                    stored.pop(key, None)
                else:
                    stored[key] = {"partition": partition, "offset": entry["offset"]}
            verb = "altered"
        if props.get("alter.result") == "true":
            return f"The offsets for this connector have been {verb} successfully"
        return (f"The Connect framework-managed offsets for this connector have been {verb} successfully. However, "
                f"if this connector manages offsets externally, they will need to be manually {verb} in the "
                "system that the connector uses.")


# -- running a herder behind the REST server -----------------------------------------------------------------


@contextlib.asynccontextmanager
async def running(
    *, request_timeout: float | None = None, health_timeout: float | None = None, ready: bool = True,
    topic_tracking: bool = True, topic_tracking_reset: bool = True, props: Mapping[str, Any] | None = None,
) -> AsyncIterator[tuple[aiohttp.ClientSession, Any, FakeWorker]]:
    """A StandaloneHerder over a FakeWorker behind a RestServer on a free loopback port.

    Yields ``(session, herder, worker)``; the session's base URL is the server.
    """
    from kcfast.rest.resources._common import RestSettings
    from kcfast.rest.server import RestConfig, RestServer
    from kcfast.runtime.standalone import StandaloneHerder

    config = RestConfig.from_props({"listeners": "http://127.0.0.1:0", **(props or {})})
    settings = RestSettings(topic_tracking=topic_tracking, topic_tracking_reset=topic_tracking_reset)
    if request_timeout is not None:
        settings.request_timeout = request_timeout
    if health_timeout is not None:
        settings.health_timeout = health_timeout
    server = RestServer(config, settings)
    server.bind()
    worker = FakeWorker(server.worker_id())
    herder = StandaloneHerder(worker)
    await herder.start()
    if ready:
        herder.ready()
    await server.start(herder)
    port = server.ports()[0]
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
            yield session, herder, worker
    finally:
        worker.block_start.set()
        await server.stop()
        await herder.stop()


# -- stand-ins for parts of kcfast another module provides -----------------------------------------------------


def install_stand_ins(monkeypatch: Any) -> None:
    """Use an allow-all client override policy while kcfast has none of its own."""
    try:
        Plugins().override_policy_class("All")
    except ConnectError:
        from kcfast.api.policy import ConnectorClientConfigOverridePolicy

        class AllowAll(ConnectorClientConfigOverridePolicy):
            def validate(self, request: Any) -> list[Any]:
                from kcfast.api.config import ConfigValue

                return [ConfigValue(k, v) for k, v in request.client_props.items()]

        monkeypatch.setattr(Plugins, "override_policy_class", lambda self, name: AllowAll)


# -- request helpers --------------------------------------------------------------------------------------------


async def create(session: aiohttp.ClientSession, name: str, cls: str = SOURCE, **config: Any) -> dict[str, Any]:
    body = {"name": name, "config": {"connector.class": cls, "topic": "t", **config}}
    async with session.post("/connectors", json=body) as response:
        assert response.status == 201, await response.text()
        return await response.json()  # type: ignore[no-any-return]


async def call(session: aiohttp.ClientSession, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with session.request(method, path, **kwargs) as response:
        text = await response.text()
        return response.status, (await response.json() if text else None)


def error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"error_code": status, "message": message}
