"""The worker: connector instances and task threads, their clients, converters and offset stores.

The herder decides what runs; the worker runs it. Every method is synchronous and thread-safe; the slow
ones (starting and stopping connectors and tasks) are called by the herder through an executor.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from kcfast import core
from kcfast.api.connector import SourceConnectorContext
from kcfast.errors import ConnectError
from kcfast.logging_setup import LoggingContext
from kcfast.metrics import TaskMetrics, WorkerMetrics
from kcfast.runtime.status import (
    ConnectorStatusListener,
    ConnectorTaskId,
    TargetState,
    TaskStatusListener,
)
from kcfast.runtime.topic_creation import check_source_config
from kcfast.runtime.worker_task import WorkerTask
from kcfast.storage.connector_offset_store import SourceOffsetStores
from kcfast.storage.offsets import OffsetStorageReaderImpl, OffsetStorageWriter

log = logging.getLogger(__name__)


def lookup_kafka_cluster_id(config: Any) -> str | None:
    """The Kafka cluster id that ``GET /`` shows, asked with the worker's connection and security
    settings (Kafka's ``WorkerConfig.lookupKafkaClusterId``). Unlike Kafka, a worker that cannot reach the
    cluster still starts: the id is then ``None``, and the tasks report the broker problems."""
    from kcfast.kafka.clients import cluster_id
    from kcfast.kafka.log import internal_client_config

    settings = {**internal_client_config(config.originals()), "bootstrap.servers": config.bootstrap_servers}
    try:
        return cluster_id(settings, timeout=10.0, log=log)
    except Exception as exc:  # noqa: BLE001 - the worker still starts
        log.warning("Could not read the Kafka cluster id from %s: %s", settings.get("bootstrap.servers"), exc)
        return None


#: How long stopping a connector may take before the worker gives up on it (Kafka: 5 s).
CONNECTOR_SHUTDOWN_TIMEOUT = 5.0

JSON_CONVERTER = "org.apache.kafka.connect.json.JsonConverter"
SIMPLE_HEADER_CONVERTER = "org.apache.kafka.connect.storage.SimpleHeaderConverter"


def _prefixed(props: dict[str, str], prefix: str) -> dict[str, str]:
    return {k[len(prefix):]: v for k, v in props.items() if k.startswith(prefix)}


class SourceConnectorContextImpl(SourceConnectorContext):
    """The herder's connector context plus the offset reader a source connector may use."""

    def __init__(self, inner: Any, reader: Any) -> None:
        self._inner = inner
        self._reader = reader

    def request_task_reconfiguration(self) -> None:
        self._inner.request_task_reconfiguration()

    def raise_error(self, exc: BaseException) -> None:
        self._inner.raise_error(exc)

    def offset_storage_reader(self) -> Any:
        return self._reader


class WorkerConnector:
    """One connector instance and its lifecycle, as Kafka's WorkerConnector.

    States: never started (``None``), STARTED, PAUSED, STOPPED, and ``failed``. Pausing stops the connector
    instance (its tasks stay, paused); resuming starts it again. A failed connector ignores every transition
    but STOPPED, after which it can be started again. Calls into the connector are serialized by a lock.
    """

    def __init__(self, name: str, connector: Any, props: dict[str, str], ctx: Any,
                 listener: ConnectorStatusListener) -> None:
        self.name = name
        self.connector = connector
        self.props = props
        self.ctx = ctx
        self.listener = listener
        self.lock = threading.RLock()
        self.state: TargetState | None = None
        self.started = False  # whether connector.start() returned and stop() has not been called since
        self.failed = False
        self._initialized = False

    def transition_to(self, target: TargetState) -> ConnectError | None:
        """Move the instance to ``target``; returns the error the herder answers with when that fails (Kafka's
        ``Failed to transition connector c to state STARTED``), after reporting the failure to the listener."""
        with self.lock, LoggingContext.for_connector(self.name):
            if self.failed and target is not TargetState.STOPPED:
                log.warning("[%s] Connector is in a failed state; ignoring the transition to %s", self.name,
                            target.value)
                return ConnectError(
                    f"WorkerConnector{{id={self.name}}} Cannot transition connector to {target.value} since it has "
                    "failed")
            if target is self.state and not self.failed:
                return None
            try:
                if target is TargetState.STARTED:
                    first = self.state is None
                    self._start_instance()
                    self.state = TargetState.STARTED
                    (self.listener.on_startup if first else self.listener.on_resume)(self.name)
                else:
                    self._stop_instance()
                    self.state = target
                    self.failed = False
                    (self.listener.on_pause if target is TargetState.PAUSED else self.listener.on_stop)(self.name)
            except Exception as exc:  # noqa: BLE001 - reported as FAILED; the herder decides what to answer
                log.error("[%s] Error while starting connector", self.name, exc_info=exc)
                self.fail(exc)
                error = ConnectError(f"Failed to transition connector {self.name} to state {target.value}")
                error.__cause__ = exc
                return error
            return None

    def fail(self, exc: BaseException) -> None:
        self.failed = True
        self.listener.on_failure(self.name, exc)

    def _start_instance(self) -> None:
        if self.started:
            return
        if not self._initialized:
            self.connector.initialize(self.ctx)
            self._initialized = True
        self.connector.start(dict(self.props))
        self.started = True

    def _stop_instance(self) -> None:
        if not self.started:
            return
        self.started = False
        try:
            self.connector.stop()
        except Exception as exc:  # noqa: BLE001
            log.error("[%s] Error while stopping connector", self.name, exc_info=exc)

    def shutdown(self) -> None:
        with self.lock, LoggingContext.for_connector(self.name):
            self._stop_instance()
            self.state = None
            if not self.failed:
                self.listener.on_shutdown(self.name)


class Worker:
    """Runs connectors and tasks for a herder."""

    def __init__(self, worker_id: str, config: Any, plugins: Any, offset_store: Any,
                 kafka_cluster_id: str | None = None) -> None:
        self.worker_id = worker_id
        self.config = config
        self.plugins = plugins
        self.offset_store = offset_store
        # Source offset stores per connector and task: the worker's, plus a connector's own offsets topic.
        self.source_offsets = SourceOffsetStores(config, offset_store)
        self.kafka_cluster_id = kafka_cluster_id
        self.props: dict[str, str] = dict(config.originals() if hasattr(config, "originals") else config)
        self._connectors: dict[str, WorkerConnector] = {}
        self._tasks: dict[ConnectorTaskId, WorkerTask] = {}
        self._lock = threading.RLock()
        self.topic_listener: Any = None  # callable(connector, topic) for active-topic tracking
        self._active_topics: dict[str, set[str]] = {}
        self.metrics = WorkerMetrics()
        self._metrics_window = int(self.props.get("metrics.sample.window.ms", 30000)) / 1000.0
        self._metrics_samples = int(self.props.get("metrics.num.samples", 2))

    def note_topic(self, connector: str, topic: str) -> None:
        """Report ``topic`` as used by ``connector`` the first time it is seen (since the last reset)."""
        seen = self._active_topics.setdefault(connector, set())
        if topic not in seen:
            seen.add(topic)
            if self.topic_listener is not None:
                self.topic_listener(connector, topic)

    def reset_active_topics(self, connector: str) -> None:
        """Forget which topics ``connector`` used, so they are reported again when next used."""
        self._active_topics.pop(connector, None)

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        self.offset_store.start()

    def stop(self) -> None:
        ids = list(self.task_ids())
        self.stop_and_await_tasks(ids)
        for name in list(self.connector_names()):
            self.stop_and_await_connector(name)
        self.source_offsets.close_all()
        self.offset_store.stop()

    # -- connectors ------------------------------------------------------------------------------------

    def connector_type(self, props: dict[str, str]) -> str:
        try:
            cls = self.plugins.connector_class(props.get("connector.class", ""))
        except Exception:  # noqa: BLE001
            return "unknown"
        return str(self.plugins.connector_type(cls))

    def start_connector(self, name: str, props: dict[str, str], ctx: Any, listener: ConnectorStatusListener,
                        target_state: TargetState) -> BaseException | None:
        """Create the connector and move it to ``target_state``.

        Returns:
            ``None``, or the failure (already reported to ``listener``): the error creating the instance, or
            the failed transition's :class:`ConnectError` (Kafka's standalone herder answers with it).
        """
        with self._lock:
            if name in self._connectors:
                raise ConnectError(f"Connector with name {name} already exists")
        try:
            cls = self.plugins.connector_class(props["connector.class"])
            connector = cls()
            if self.plugins.connector_type(cls) == "source":  # bad topic.creation.* fail the connector
                check_source_config(self.props, props)
        except Exception as exc:  # noqa: BLE001
            log.error("[%s] Failed to create connector", name, exc_info=exc)
            self.metrics.record_connector_startup(False)
            listener.on_failure(name, exc)
            return exc
        if self.plugins.connector_type(cls) == "source":
            try:
                store = self.source_offsets.open(name, name, props)
            except Exception as exc:  # noqa: BLE001 - its own offsets topic cannot be used: the connector fails
                log.error("[%s] Failed to start the connector's offset store", name, exc_info=exc)
                self.metrics.record_connector_startup(False)
                listener.on_failure(name, exc)
                return exc
            ctx = SourceConnectorContextImpl(ctx, OffsetStorageReaderImpl(store, name))
        wc = WorkerConnector(name, connector, dict(props), ctx, listener)
        with self._lock:
            self._connectors[name] = wc
        error = wc.transition_to(target_state)
        self.metrics.record_connector_startup(not wc.failed)
        return error

    def is_running(self, name: str) -> bool:
        wc = self._connectors.get(name)
        return wc is not None and not wc.failed and wc.state is TargetState.STARTED

    def connector_task_configs(self, name: str, props: dict[str, str]) -> list[dict[str, str]]:
        wc = self._connectors.get(name)
        if wc is None:
            raise ConnectError(f"Connector {name} not found in this worker.")
        max_tasks = int(props.get("tasks.max", "1"))
        with wc.lock:
            task_class = wc.connector.task_class()
            configs = wc.connector.task_configs(max_tasks)
        enforce = props.get("tasks.max.enforce", "true").strip().lower() != "false"
        if len(configs) > max_tasks:
            msg = (f"The connector {name} has generated {len(configs)} tasks, which is greater than {max_tasks}, "
                   "the maximum number of tasks it is configured to create. This behaviour should be considered "
                   "a bug and is disallowed. If necessary, it can be permitted by reconfiguring the connector with "
                   "'tasks.max.enforce' set to false; however, this option will be removed in a future release of "
                   "Apache Kafka.")
            if enforce:
                raise ConnectError(msg)
            log.warning(msg)
        out = []
        from kcfast.plugins import class_name as plugin_class_name

        class_name = plugin_class_name(task_class)
        for cfg in configs:
            task_props = {str(k): str(v) for k, v in dict(cfg).items() if v is not None}
            task_props["task.class"] = class_name
            for key in ("topics", "topics.regex"):
                if key in props:
                    task_props[key] = props[key]
            out.append(task_props)
        return out

    def stop_and_await_connector(self, name: str, timeout: float = CONNECTOR_SHUTDOWN_TIMEOUT) -> None:
        """Stop a connector, waiting at most ``timeout`` seconds: a connector stuck in ``stop()`` is left behind
        (and logged) so that it never blocks the worker."""
        with self._lock:
            wc = self._connectors.pop(name, None)
        if wc is None:
            return
        done = threading.Event()
        store = self.source_offsets.held(name)

        def run() -> None:
            try:
                wc.shutdown()
            finally:
                if store is not None:
                    self.source_offsets.close(name, store)
                done.set()

        threading.Thread(target=run, name=f"connector-stop-{name}", daemon=True).start()
        if not done.wait(timeout):
            log.error("[%s] Connector did not stop within %.0f ms; it is abandoned", name, timeout * 1000)

    def set_target_state(self, name: str, state: TargetState) -> None:
        wc = self._connectors.get(name)
        if wc is not None:
            wc.transition_to(state)
        for tid, task in list(self._tasks.items()):
            if tid.connector == name:
                task.transition_to(state)

    def fail_connector(self, name: str, exc: BaseException) -> None:
        wc = self._connectors.get(name)
        if wc is not None:
            wc.fail(exc)

    def connector_names(self) -> set[str]:
        return set(self._connectors)

    # -- offsets REST API ------------------------------------------------------------------------------

    def _admin(self) -> Any:
        from kcfast.kafka.clients import new_admin

        conf = {k: v for k, v in self.props.items() if k in ("bootstrap.servers", "security.protocol")
                or k.startswith(("ssl.", "sasl."))}
        conf.update(_prefixed(self.props, "admin."))
        return new_admin(conf, log)

    def connector_offsets(self, name: str, props: dict[str, str]) -> dict[str, Any]:
        from kcfast.runtime import offsets_api

        if self.connector_type(props) == "sink":
            return offsets_api.read_sink_offsets(self._admin(), name, props)
        with self.source_offsets.opened(name, props) as store:
            return offsets_api.read_source_offsets(store, name)

    def modify_connector_offsets(self, name: str, props: dict[str, str], body: dict[str, Any] | None) -> str:
        """Alter (``body``) or reset (``None``) the offsets of a stopped connector; returns the message."""
        from kcfast.runtime import offsets_api

        connector = self.plugins.connector_class(props["connector.class"])()
        if self.connector_type(props) == "sink":
            return offsets_api.modify_sink_offsets(self._admin(), connector, name, props, body)
        with self.source_offsets.opened(name, props) as store:
            return offsets_api.modify_source_offsets(store, connector, name, props, body)

    def connector(self, name: str) -> Any:
        wc = self._connectors.get(name)
        return wc.connector if wc is not None else None

    # -- tasks -----------------------------------------------------------------------------------------

    def task_ids(self) -> set[ConnectorTaskId]:
        return set(self._tasks)

    def task(self, task_id: ConnectorTaskId) -> WorkerTask | None:
        return self._tasks.get(task_id)

    def _converter(self, kind: str, connector_props: dict[str, str]) -> Any:
        key = f"{kind}.converter"
        source = connector_props if connector_props.get(key) else self.props
        name = source.get(key)
        if kind == "header":
            name = name or SIMPLE_HEADER_CONVERTER
            cls = self.plugins.header_converter_class(name)
            conv = cls()
            configs = _prefixed(source, key + ".")
            configs.setdefault("converter.type", "header")
            conv.configure(configs)
            return conv
        if not name:
            raise ConnectError(f"Missing required configuration \"{key}\" which has no default value.")
        cls = self.plugins.converter_class(name)
        conv = cls()
        configs = _prefixed(source, key + ".")
        configs.setdefault("converter.type", kind)
        conv.configure(configs, kind == "key")
        return conv

    def _client_config(self, kind: str, connector_props: dict[str, str], defaults: dict[str, Any]) -> dict[str, Any]:
        conf: dict[str, Any] = {"bootstrap.servers": self.props.get("bootstrap.servers", "localhost:9092")}
        for key in ("security.protocol", "client.dns.lookup"):
            if key in self.props:
                conf[key] = self.props[key]
        for key, value in self.props.items():
            if key.startswith(("ssl.", "sasl.")):
                conf[key] = value
        conf.update(defaults)
        conf.update(_prefixed(self.props, f"{kind}."))
        conf.update(_prefixed(connector_props, f"{kind}.override."))
        return conf

    def start_task(self, task_id: ConnectorTaskId, connector_props: dict[str, str], task_props: dict[str, str],
                   listener: TaskStatusListener, target_state: TargetState) -> bool:
        with self._lock:
            if task_id in self._tasks:
                raise ConnectError(f"Task already exists in this worker: {task_id}")
        log.info("Creating task %s", task_id)
        try:
            worker_task = self._build_task(task_id, connector_props, task_props, listener, target_state)
        except Exception as exc:  # noqa: BLE001 - a task that cannot be built is FAILED, the worker goes on
            log.error("Failed to start task %s", task_id, exc_info=exc)
            self.metrics.record_task_startup(False)
            listener.on_failure(task_id, exc)
            return False
        worker_task.metrics = TaskMetrics(window_s=self._metrics_window, samples=self._metrics_samples)
        worker_task.errors.metrics = worker_task.metrics  # task-error-metrics, counted by the operator
        with self._lock:
            self._tasks[task_id] = worker_task
        worker_task.start_thread()
        self.metrics.record_task_startup(True)
        return True

    def _build_task(self, task_id: ConnectorTaskId, connector_props: dict[str, str], task_props: dict[str, str],
                    listener: TaskStatusListener, target_state: TargetState) -> WorkerTask:
        from kcfast.plugins import import_class
        from kcfast.runtime.tolerance import (
            RetryWithToleranceOperator,
            build_reporters,
            uses_errant_record_reporter,
        )
        from kcfast.runtime.transforms import build_chain

        task_class = import_class(task_props["task.class"])
        task = task_class()
        kc = self._converter("key", connector_props)
        vc = self._converter("value", connector_props)
        hc = self._converter("header", connector_props)
        chain = build_chain(connector_props, self.plugins)
        common = dict(task_id=task_id, task=task, task_props=task_props, listener=listener,
                      target_state=target_state, worker_config=self.props)
        ctype = self.connector_type(connector_props)
        if ctype == "sink":
            from kcfast.runtime.sink_task import WorkerSinkTask

            consumer_conf = self._client_config("consumer", connector_props, {
                "group.id": f"connect-{task_id.connector}",
                "client.id": f"connector-consumer-{task_id}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "enable.partition.eof": False,
                # Notice topics created after the subscription within seconds, as Kafka's consumer does.
                "topic.metadata.refresh.interval.ms": 5000,
            })
            reporters = build_reporters(
                task_id, connector_props, sink=True,
                dlq_producer_config=self._client_config("producer", connector_props, {
                    "client.id": f"connector-dlq-producer-{task_id}",
                    "acks": "all",
                }),
                dlq_admin_config=self._client_config("admin", connector_props, {
                    "client.id": "connector-dlq-adminclient-",
                }),
            )
            errors = RetryWithToleranceOperator.from_config(connector_props, reporters)
            wt: WorkerTask = WorkerSinkTask(consumer_config=consumer_conf, key_converter=kc, value_converter=vc,
                                            header_converter=hc, transforms=chain, errors=errors,
                                            errant_reporter=uses_errant_record_reporter(connector_props), **common)
            if self.topic_listener is not None:
                connector = task_id.connector

                def on_records(records: list[Any]) -> None:
                    for t in core.record_topics(records):
                        self.note_topic(connector, t)

                wt.on_topic = on_records  # type: ignore[attr-defined]
            return wt
        if ctype == "source":
            from kcfast.runtime.source_task import WorkerSourceTask

            producer_conf = self._client_config("producer", connector_props, {
                "client.id": f"connector-producer-{task_id}",
                "acks": "all",
                "linger.ms": 5,
                # The Java producer's default buffer.memory (32 MB): without it librdkafka queues up to 1 GB.
                "buffer.memory": 33554432,
                "partitioner": "murmur2_random",
            })
            from kcfast.runtime.topic_creation import TopicCreation

            store = self.source_offsets.open(task_id, task_id.connector, connector_props)
            try:
                reader = OffsetStorageReaderImpl(store, task_id.connector)
                writer = OffsetStorageWriter(store, task_id.connector)
                errors = RetryWithToleranceOperator.from_config(connector_props,
                                                                build_reporters(task_id, connector_props, sink=False))
                topic_creation = TopicCreation.from_config(
                    self.props, connector_props,
                    admin_config=self._client_config("admin", connector_props, {
                        "client.id": f"connector-adminclient-{task_id}",
                    }),
                )
                wt = WorkerSourceTask(producer_config=producer_conf, key_converter=kc, value_converter=vc,
                                      header_converter=hc, offset_reader=reader, offset_writer=writer,
                                      transforms=chain, errors=errors, topic_creation=topic_creation, **common)
            except BaseException:
                self.source_offsets.close(task_id)
                raise
            if self.topic_listener is not None:
                name = task_id.connector

                def on_topic(topic: str) -> None:
                    self.note_topic(name, topic)

                wt.on_topic = on_topic
            return wt
        raise ConnectError(f"Cannot start task {task_id}: connector class is neither a source nor a sink")

    def stop_and_await_tasks(self, ids: list[ConnectorTaskId], timeout: float | None = None) -> None:
        """Stop tasks and wait for them, within ``task.shutdown.graceful.timeout.ms`` in total."""
        if timeout is None:
            timeout = int(self.props.get("task.shutdown.graceful.timeout.ms", 5000)) / 1000.0
        tasks = []
        with self._lock:
            for tid in ids:
                wt = self._tasks.pop(tid, None)
                if wt is not None:
                    tasks.append(wt)
        for wt in tasks:
            wt.stop()
        deadline = time.monotonic() + timeout
        for wt in tasks:
            if not wt.await_stop(max(0.0, deadline - time.monotonic())):
                log.error("Graceful stop of task %s failed.", wt.id)
                wt.cancel()
        for wt in tasks:
            self.source_offsets.close(wt.id)
