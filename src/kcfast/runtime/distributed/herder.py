"""The distributed herder: connectors and tasks spread over the workers of a group (Kafka's ``DistributedHerder``).

One asyncio task, the *tick loop*, does all the herder's work, as Kafka's herder thread does:

1. read the config topic to its end before anything else (``/health`` answers 503 "initializing and reading to
   the end of internal topics" meanwhile);
2. make sure this worker is an active member of the group (:class:`~.member.WorkerGroupMember`), and after a
   rebalance catch up with the config offset of the assignment and start the newly assigned connectors and
   tasks (revoked ones were already stopped; everything else keeps running);
3. as the leader, distribute and rotate the session key (``sessioned`` protocol);
4. run the queued requests (REST calls, task reconfigurations, retries), then the pending restart requests;
5. apply config changes read from the config topic: a connector created or deleted, or a new set of task
   configs, asks for a rebalance; a connector config change restarts the connector where it runs; a target
   state change is applied locally;
6. poll the group until the next scheduled request, a wakeup or a rebalance.

Only the leader writes connector configs, task configs, restart requests and session keys; other workers raise
:class:`~.forwarding.NotLeaderError` so the REST layer forwards the request (:mod:`.forwarding`). Pause and resume
are written from any worker. Statuses carry the group generation.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from kcfast.errors import (
    ConnectError,
)
from kcfast.metrics import WorkerMetrics
from kcfast.runtime.config_state import ConfigTransformer
from kcfast.runtime.distributed.config_log import SessionKey
from kcfast.runtime.distributed.forwarding import forwarding_middleware
from kcfast.runtime.distributed.herder_requests import DistributedRequests
from kcfast.runtime.distributed.member import MemberConfig, WorkerGroupMember
from kcfast.runtime.distributed.protocol import CONNECT_PROTOCOL_V0, CONNECT_PROTOCOL_V2, Assignment
from kcfast.runtime.distributed.signing import generate_key
from kcfast.runtime.distributed.transport import AiokafkaTransport, GroupTransport
from kcfast.runtime.herder import _REQUEST_STAGES, Herder, HerderConnectorContext, RestartRequest, StageBox
from kcfast.runtime.status import ConnectorTaskId, TargetState
from kcfast.runtime.status_store import StatusBackingStore

__all__ = ["DistributedHerder"]

log = logging.getLogger(__name__)

BACKOFF_RETRIES = 5


@dataclass(order=True)
class _Request:
    at: float
    seq: int
    fn: Callable[[], Awaitable[Any]] = field(compare=False)
    future: asyncio.Future[Any] | None = field(compare=False, default=None)
    box: StageBox | None = field(compare=False, default=None)


class _ConfigListener:
    """Hands config-topic events (read on the store's thread) to the herder's loop."""

    def __init__(self, herder: DistributedHerder) -> None:
        self._herder = herder

    def _call(self, method: Callable[..., Any], *args: Any) -> None:
        loop = self._herder._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the worker is stopping
                loop.call_soon_threadsafe(method, *args)

    def on_connector_config_remove(self, connector: str) -> None:
        self._call(self._herder._on_connector_config_remove, connector)

    def on_connector_config_update(self, connector: str) -> None:
        self._call(self._herder._on_connector_config_update, connector)

    def on_task_config_update(self, tasks: list[ConnectorTaskId]) -> None:
        self._call(self._herder._on_task_config_update, list(tasks))

    def on_connector_target_state_change(self, connector: str) -> None:
        self._call(self._herder._on_target_state_change, connector)

    def on_session_key_update(self, key: SessionKey) -> None:
        self._call(self._herder._on_session_key_update, key)

    def on_restart_request(self, request: RestartRequest) -> None:
        self._call(self._herder._on_restart_request, request)

    def on_logging_level_update(self, namespace: str, level: str) -> None:
        self._call(self._herder.set_worker_logger_level, namespace, level)


class DistributedHerder(DistributedRequests, Herder):
    """The herder of a distributed worker.

    Args:
        worker: the worker running connectors and tasks (its offset store is the offsets topic).
        config: the distributed :class:`~kcfast.config.WorkerConfig`.
        status_store: the status topic store.
        config_store: the config topic store (:class:`~kcfast.storage.kafka_config.KafkaConfigBackingStore`).
        url: this worker's advertised REST URL.
        transport: the group client (default: aiokafka to ``bootstrap.servers``).
        kafka_cluster_id: see :class:`~kcfast.runtime.herder.Herder`.
        config_transformer: see :class:`~kcfast.runtime.herder.Herder`.
        wall_ms: see :class:`~kcfast.runtime.herder.Herder`.
        clock: monotonic seconds.

    :meth:`start` returns at once; the tick loop reads the internal topics, joins the group and marks the
    herder ready. :meth:`stop` stops every connector and task, the stores and leaves the group.
    """

    def __init__(
        self,
        worker: Any,
        config: Any,
        status_store: StatusBackingStore,
        config_store: Any,
        url: str,
        *,
        transport: GroupTransport | None = None,
        kafka_cluster_id: str | None = None,
        config_transformer: ConfigTransformer | None = None,
        wall_ms: Callable[[], int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            worker,
            status_store,
            kafka_cluster_id=kafka_cluster_id,
            config_transformer=config_transformer,
            wall_ms=wall_ms,
        )
        self.config = config
        self.config_store = config_store
        self.url = url
        self._clock = clock
        self.member_config = MemberConfig.from_worker_config(config)
        self.group_id = self.member_config.group_id
        if transport is None:
            request_timeout = max(
                int(config.get_int("request.timeout.ms")), self.member_config.rebalance_timeout_ms + 5000
            )
            client_id = (config.get_string("client.id") or "").strip() or "connect-1"
            transport = AiokafkaTransport(
                ",".join(config.get_list("bootstrap.servers") or []),
                client_id,
                request_timeout,
                self.member_config.retry_backoff_ms,
                security=config.originals(),
            )
        self.member = WorkerGroupMember(
            self.member_config, url, config_store.snapshot, self, transport, clock
        )
        self.worker_sync_timeout = int(config.get_int("worker.sync.timeout.ms")) / 1000
        self.worker_unsync_backoff = int(config.get_int("worker.unsync.backoff.ms")) / 1000
        self.key_ttl_ms = int(config.get_int("inter.worker.key.ttl.ms"))
        self.key_algorithm = str(config.get_string("inter.worker.key.generation.algorithm"))
        self.key_size = config.get_int("inter.worker.key.size")
        self.signature_algorithm = str(config.get_string("inter.worker.signature.algorithm"))
        self.verification_algorithms = [
            str(a) for a in config.get_list("inter.worker.verification.algorithms") or []
        ]
        self._config_state = config_store.snapshot()
        self._assignment: Assignment | None = None
        self._generation = -1
        self._protocol_version = self.member_config.mode.version
        self._running_connectors: set[str] = set()
        self._running_tasks: set[ConnectorTaskId] = set()
        self._tasks_to_restart: set[ConnectorTaskId] = set()
        self._rebalance_resolved = True
        self._needs_reconfig_rebalance = False
        self._connector_config_updates: set[str] = set()
        self._target_state_changes: set[str] = set()
        self._task_config_updates: set[ConnectorTaskId] = set()
        self._pending_restarts: dict[str, RestartRequest] = {}
        self._scheduled_rebalance = float("inf")
        self._session_key: SessionKey | None = None
        self._key_expiration = float("inf")
        self._can_read_configs = True
        self._backoff_retries = BACKOFF_RETRIES
        self._requests: list[_Request] = []
        self._seq = itertools.count()
        self._stopping = False
        self._stop_event = asyncio.Event()
        self._background: set[asyncio.Task[Any]] = set()
        self._http: aiohttp.ClientSession | None = None
        self._start_stop_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="kcfast-start-stop")
        #: The error that ended the tick loop, if one did (the process should exit).
        self.failure: BaseException | None = None

    # -- identity and reads --------------------------------------------------------------------------------

    @property
    def generation(self) -> int:
        """The group generation of the last rebalance (statuses are written with it)."""
        return self._generation

    @property
    def assignment(self) -> Assignment | None:
        """What this worker was assigned at the last rebalance (``None`` before the first)."""
        return self._assignment

    def is_leader(self) -> bool:
        """Whether this worker leads the group."""
        return bool(self.member.is_leader())

    def leader_url(self) -> str | None:
        """The leader's REST URL, if known."""
        return self._assignment.leader_url if self._assignment is not None else None

    def snapshot(self) -> Any:
        """The latest config snapshot read from the config topic."""
        return self.config_store.snapshot()

    def _raw_config(self, connector: str) -> dict[str, str] | None:
        return self.config_store.snapshot().raw_connector_config(connector)  # type: ignore[no-any-return]

    def connectors(self) -> list[str]:
        """Names of all connectors in the config topic (a local read, never forwarded)."""
        return self.config_store.snapshot().connectors()  # type: ignore[no-any-return]

    def connector_info_or_none(self, connector: str) -> dict[str, Any] | None:
        """The ConnectorInfo of ``connector`` from the local snapshot, or ``None``."""
        return self.connector_info_of(self.config_store.snapshot(), connector)

    def rest_middlewares(self) -> list[Any]:
        """The REST middleware forwarding requests and checking internal signatures."""
        return [forwarding_middleware(self, self.http_session)]

    def http_session(self) -> aiohttp.ClientSession:
        """The client session used to reach other workers."""
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90))
        return self._http

    # -- lifecycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the tick loop (it reads the internal topics, joins the group, then serves requests)."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._runner = asyncio.create_task(self._run(), name="kcfast-distributed-herder")

    async def stop(self, timeout: float = 60.0) -> None:
        """Stop connectors and tasks, the stores, and leave the group."""
        log.info("Herder stopping")
        self._stopping = True
        self._stop_event.set()
        self.member.interrupt()
        if self._runner is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._runner), timeout)
            except TimeoutError:
                log.error("The herder did not stop within %.0f s", timeout)
                self._runner.cancel()
            self._runner = None
        for task in list(self._background):
            task.cancel()
        if self._http is not None:
            await self._http.close()
        self._worker_executor.shutdown(wait=False, cancel_futures=True)
        self.validation_executor.shutdown(wait=False, cancel_futures=True)
        self._start_stop_executor.shutdown(wait=False, cancel_futures=True)
        log.info("Herder stopped")

    async def wait_stopped(self) -> None:
        """Wait until the tick loop ends (after :meth:`stop`, or on a fatal error)."""
        if self._runner is not None:
            await asyncio.shield(self._runner)

    async def _run(self) -> None:
        try:
            with self.stage("initializing and reading to the end of internal topics"):
                await self._start_services()
            self._config_state = self.config_store.snapshot()
            await self.member.start()
            while not self._stopping:
                await self._tick()
                if not self.is_ready() and not self._stopping:
                    self.ready()
                    log.info("Herder started")
            with self.stage("shutting down"):
                await self._halt()
        except Exception as exc:  # noqa: BLE001 - the process exits on it
            log.error("Uncaught exception in herder work thread, exiting: ", exc_info=exc)
            self.failure = exc
            self._fail_requests(ConnectError("Worker is shutting down"))
            with contextlib.suppress(Exception):
                await self._stop_services()

    async def _start_services(self) -> None:
        def start() -> None:
            self.worker.start()
            self.status_store.start()  # type: ignore[attr-defined]
            self.config_store.set_update_listener(_ConfigListener(self))
            self.config_store.start()

        await asyncio.get_running_loop().run_in_executor(self._worker_executor, start)

    async def _stop_services(self) -> None:
        def stop() -> None:
            for close in (self.status_store.stop, self.config_store.stop, self.worker.stop):  # type: ignore[attr-defined]
                try:
                    close()
                except Exception:  # noqa: BLE001 - keep closing
                    log.exception("Failed to stop %s", close)

        await asyncio.get_running_loop().run_in_executor(self._worker_executor, stop)
        await self.member.stop()

    async def _halt(self) -> None:
        log.info("Stopping connectors and tasks that are still assigned to this worker.")
        connectors = sorted(self.worker.connector_names())
        tasks = sorted(self.worker.task_ids())
        await asyncio.gather(
            self._in_pool(self.worker.stop_and_await_tasks, tasks),
            *(self._in_pool(self.worker.stop_and_await_connector, c) for c in connectors),
        )
        self._fail_requests(ConnectError("Worker is shutting down"))
        await self._stop_services()

    def _fail_requests(self, error: BaseException) -> None:
        while self._requests:
            request = heapq.heappop(self._requests)
            if request.future is not None and not request.future.done():
                request.future.set_exception(error)

    # -- the request queue ---------------------------------------------------------------------------------

    def _add_request(
        self,
        delay_ms: float,
        fn: Callable[[], Awaitable[Any]],
        future: asyncio.Future[Any] | None = None,
        box: StageBox | None = None,
    ) -> None:
        request = _Request(self._clock() + delay_ms / 1000, next(self._seq), fn, future, box)
        heapq.heappush(self._requests, request)
        if self._requests[0] is request:
            self.member.wakeup()

    async def submit(self, fn: Callable[[], Awaitable[Any]]) -> Any:
        """Queue ``fn`` for the tick loop and wait for its result."""
        if self._runner is None or self._stopping:
            raise ConnectError("The herder is not running")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._add_request(0, fn, future, _REQUEST_STAGES.get())
        return await future

    def submit_threadsafe(self, fn: Callable[[], Awaitable[Any]]) -> None:
        """Queue ``fn`` from any thread without waiting (failures are logged)."""
        if self._loop is None:
            log.warning("Dropping a herder request made before the herder started")
            return
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._add_request, 0, fn)

    async def _run_request(self, request: _Request) -> None:
        _REQUEST_STAGES.set(request.box)
        try:
            result = await request.fn()
        except Exception as exc:  # noqa: BLE001 - handed to the caller
            if request.future is None:
                log.error("Herder request failed", exc_info=exc)
            elif not request.future.done():
                request.future.set_exception(exc)
        else:
            if request.future is not None and not request.future.done():
                request.future.set_result(result)
        finally:
            _REQUEST_STAGES.set(None)
            if self._stage is not None and self._stage.completed is None:
                self._stage.completed = self.wall_ms()

    async def _in_pool(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._start_stop_executor, lambda: fn(*args))

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), seconds)

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- the tick ------------------------------------------------------------------------------------------

    async def _tick(self) -> None:
        if not self._can_read_configs:
            if await self._read_config_to_end(self.worker_sync_timeout):
                self._can_read_configs = True
            else:
                return
        with self.stage("ensuring membership in the cluster"):
            await self.member.ensure_active()
        if self._stopping or not await self._handle_rebalance_completed():
            return
        now_ms = self.wall_ms()
        if self._check_for_key_rotation(now_ms):
            log.debug("Distributing new session key")
            self._key_expiration = float("inf")
            key = SessionKey(generate_key(self.key_algorithm, self.key_size), self.key_algorithm, now_ms)
            try:
                await self.run_blocking(
                    "writing a new session key to the config topic", self.config_store.put_session_key, key
                )
            except Exception as exc:  # noqa: BLE001 - read to the end and maybe retry
                log.info(
                    "Failed to write new session key to config topic; forcing a read to the end of the config "
                    "topic before possibly retrying",
                    exc_info=exc,
                )
                self._can_read_configs = False
                return
        scheduled: float | None = None
        while self._requests and not self._stopping:
            if self._requests[0].at <= self._clock():
                await self._run_request(heapq.heappop(self._requests))
            else:
                scheduled = self._requests[0].at
                break
        await self._process_restart_requests()
        if self._scheduled_rebalance < float("inf"):
            scheduled = min(scheduled if scheduled is not None else float("inf"), self._scheduled_rebalance)
            self._rebalance_resolved = False
        if self.is_leader() and self._signing_enabled() and self._key_expiration < float("inf"):
            key_at = self._clock() + (self._key_expiration - self.wall_ms()) / 1000
            scheduled = min(scheduled if scheduled is not None else float("inf"), key_at)
        if await self._apply_config_updates() or self._stopping:
            return
        timeout = float("inf") if scheduled is None else max(0.0, scheduled - self._clock())
        with self.stage("polling the group coordinator until interrupted"):
            await self.member.poll(min(timeout, 3600.0))
        await self._handle_rebalance_completed()

    def _signing_enabled(self) -> bool:
        return bool(self.member.current_protocol_version >= CONNECT_PROTOCOL_V2)

    def _check_for_key_rotation(self, now_ms: int) -> bool:
        state_key = getattr(self._config_state, "session_key", None)
        if self._session_key is None and state_key is not None:
            self._on_session_key_update(state_key)
        if not self._signing_enabled() or not self.is_leader():
            return False
        key = self._session_key
        if key is None:
            log.debug(
                "Internal request signing is enabled but no session key has been distributed yet. "
                "Distributing new key now."
            )
            return True
        if self._key_expiration <= now_ms:
            log.debug("Existing key has expired. Distributing new key now.")
            return True
        expected = len(generate_key(self.key_algorithm, self.key_size))
        if key.algorithm != self.key_algorithm or len(key.key) != expected:
            log.debug(
                "Previously-distributed key uses different algorithm/key size than required by current worker "
                "configuration. Distributing new key now."
            )
            return True
        return False

    async def _apply_config_updates(self) -> bool:
        """Handle config-topic events; ``True`` when a rebalance was requested and the tick must start over."""
        if not (
            self._needs_reconfig_rebalance
            or self._connector_config_updates
            or self._target_state_changes
            or self._task_config_updates
        ):
            return False
        self._config_state = self.config_store.snapshot()
        rejoin = False
        if self._needs_reconfig_rebalance:
            log.debug("Requesting rebalance due to reconfiguration of tasks")
            self.member.request_rejoin()
            self._needs_reconfig_rebalance = False
            rejoin = True
            if self.member.current_protocol_version == CONNECT_PROTOCOL_V0:
                self._connector_config_updates.clear()
                self._target_state_changes.clear()
                return True
        updates, self._connector_config_updates = self._connector_config_updates, set()
        changes, self._target_state_changes = self._target_state_changes, set()
        task_updates, self._task_config_updates = self._task_config_updates, set()
        await self._process_connector_config_updates(updates)
        await self._process_target_state_changes(changes)
        if self.member.current_protocol_version != CONNECT_PROTOCOL_V0:
            await self._stop_reconfigured_tasks({t.connector for t in task_updates})
        return rejoin

    async def _process_connector_config_updates(self, updates: set[str]) -> None:
        local = set(self._assignment.connectors) if self._assignment is not None else set()
        restart = []
        for connector in sorted(updates & local):
            remains = self._config_state.contains(connector)
            log.info(
                "Handling connector-only config update by %s connector %s",
                "restarting" if remains else "stopping",
                connector,
            )
            await self.run_blocking(
                f"stopping connector {connector}", self.worker.stop_and_await_connector, connector
            )
            if remains:
                restart.append(connector)
        if restart:
            with self.stage(f"restarting {len(restart)} reconfigured connectors"):
                await asyncio.gather(*(self._start_connector(c) for c in restart))

    async def _process_target_state_changes(self, changes: set[str]) -> None:
        for connector in sorted(changes):
            target = self._config_state.target_state(connector)
            if target is None:
                log.debug("Received target state change for unknown connector: %s", connector)
                continue
            try:
                await self.run_blocking(
                    f"transitioning the connector to {target.value}",
                    self.worker.set_target_state,
                    connector,
                    target,
                )
            except Exception as exc:  # noqa: BLE001 - logged like Kafka's failed transition callback
                log.error("Failed to transition connector to target state", exc_info=exc)
                continue
            if target is TargetState.STARTED and connector in self.worker.connector_names():
                self.request_task_reconfiguration(connector)

    async def _stop_reconfigured_tasks(self, connectors: set[str]) -> None:
        local = set(self._assignment.tasks) if self._assignment is not None else set()
        stop = sorted(t for t in local if t.connector in connectors)
        if not stop:
            return
        log.info(
            "Handling task config update by stopping tasks %s, which will be restarted after rebalance if "
            "still assigned to this worker",
            [str(t) for t in stop],
        )
        await self.run_blocking(
            f"stopping {len(stop)} reconfigured tasks", self.worker.stop_and_await_tasks, stop
        )
        self._tasks_to_restart.update(stop)

    # -- rebalances ----------------------------------------------------------------------------------------

    async def on_assigned(self, assignment: Assignment, generation: int) -> None:
        """The member completed a rebalance (called inside the tick loop)."""
        prior = self._protocol_version
        self._protocol_version = self.member.current_protocol_version
        log.info(
            "Joined group at generation %d with protocol version %d and got assignment: %s with rebalance "
            "delay: %d",
            generation,
            self._protocol_version,
            assignment,
            assignment.delay,
        )
        self._assignment = assignment
        self._generation = generation
        now = self._clock()
        self._scheduled_rebalance = now + assignment.delay / 1000 if assignment.delay > 0 else float("inf")
        if (prior >= CONNECT_PROTOCOL_V2) != (self._protocol_version >= CONNECT_PROTOCOL_V2):
            if self._protocol_version >= CONNECT_PROTOCOL_V2:
                log.info("Internal request validation has been re-enabled")
            else:
                log.warning(
                    "The protocol used by this Connect cluster has been downgraded and internal request "
                    "validation is now disabled (a worker joined with an older connect.protocol)."
                )
        self._rebalance_resolved = False
        metrics = self._worker_metrics()
        if metrics is not None:
            metrics.rebalance_started()
        if self.is_leader():
            self._update_deleted_statuses()
        self.member.wakeup()

    def _worker_metrics(self) -> WorkerMetrics | None:
        """The worker's :class:`WorkerMetrics`, the object ``GET /metrics`` reads (every
        :class:`~kcfast.runtime.worker.Worker` has one; only stand-in workers of unit tests lack it)."""
        metrics = getattr(self.worker, "metrics", None)
        return metrics if isinstance(metrics, WorkerMetrics) else None

    async def on_revoked(
        self, leader: str, connectors: Sequence[str], tasks: Sequence[ConnectorTaskId]
    ) -> None:
        """Stop revoked work, then flush the status topic (called inside the tick loop)."""
        if not (self._rebalance_resolved or self._protocol_version >= 1):
            log.info(
                "Wasn't able to resume work after last rebalance, can skip stopping connectors and tasks"
            )
            return
        with self.stage(f"stopping {len(connectors)} and {len(tasks)} tasks"):
            await asyncio.gather(
                self._in_pool(self.worker.stop_and_await_tasks, list(tasks)),
                *(self._in_pool(self.worker.stop_and_await_connector, c) for c in connectors),
            )
        log.info("Finished stopping tasks in preparation for rebalance")
        self._running_connectors.difference_update(connectors)
        self._running_tasks.difference_update(tasks)
        state = self.config_store.snapshot()
        for connector in {*connectors, *(t.connector for t in tasks)}:
            if not state.contains(connector):
                self.reset_connector_active_topics(connector)
        flush = getattr(self.status_store, "flush", None)
        if flush is not None:
            await self.run_blocking("flushing updates to the status topic", flush)
        log.info("Finished flushing status backing store in preparation for rebalance")

    def on_poll_timeout_expiry(self) -> None:
        """The tick loop was stuck for longer than ``rebalance.timeout.ms``."""
        stage = self.current_stage()
        log.warning(
            "worker poll timeout has expired. The last known action being performed by the worker is : %s and may "
            "contribute to the timeout. Please review the last action (if known) for any corrective actions. One of "
            "the ways of addressing this can be increasing the rebalance.timeout.ms configuration value. Please note "
            "that rebalance.timeout.ms also controls the maximum allowed time for each worker to join the group once "
            "a rebalance has begun so the set value should not be very high",
            "not known" if stage is None else stage.description,
        )

    def on_shutdown(self, target: str | ConnectorTaskId) -> None:
        """The connector or task shut down gracefully: UNASSIGNED, unless its connector was deleted.

        The leader removes a deleted connector's statuses (``_update_deleted_statuses``); an UNASSIGNED that a
        worker wrote after that, when it stopped the connector's work in the rebalance that followed, would
        outlive the connector in the status topic until the next cleanup.
        """
        connector = target.connector if isinstance(target, ConnectorTaskId) else target
        if not self.config_store.snapshot().contains(connector):
            return
        super().on_shutdown(target)

    def _update_deleted_statuses(self) -> None:
        state = self.config_store.snapshot()
        connectors = set(state.connectors())
        for connector in sorted(self.status_store.connectors()):
            if connector not in connectors:
                log.debug("Cleaning status information for connector %s", connector)
                self.on_deletion(connector)
                continue
            remaining = set(state.tasks(connector))
            for status in self.status_store.get_all(connector):
                if status.id not in remaining:
                    self.on_deletion(status.id)

    async def _handle_rebalance_completed(self) -> bool:
        if self._rebalance_resolved:
            return True
        assignment = self._assignment
        if assignment is None:
            return False
        needs_read = needs_rejoin = False
        if assignment.failed:
            needs_rejoin = True
            if self.is_leader():
                log.warning(
                    "Join group completed, but assignment failed and we are the leader. Reading to end of "
                    "config and retrying."
                )
                needs_read = True
            elif self._config_state.offset < assignment.offset:
                log.warning(
                    "Join group completed, but assignment failed and we are lagging. Reading to end of config "
                    "and retrying."
                )
                needs_read = True
            else:
                log.warning(
                    "Join group completed, but assignment failed. We were up to date, so just retrying."
                )
        elif self._config_state.offset < assignment.offset:
            log.warning("Catching up to assignment's config offset.")
            needs_read = True
        if self._scheduled_rebalance <= self._clock():
            log.debug("Requesting rebalance because scheduled rebalance timeout has been reached")
            needs_rejoin = True
            self._scheduled_rebalance = float("inf")
        if needs_read:
            if await self._read_config_to_end(self.worker_sync_timeout):
                self._can_read_configs = True
            else:
                self._can_read_configs = False
                needs_rejoin = True
        if needs_rejoin:
            self.member.request_rejoin()
            return False
        if self._config_state.offset != assignment.offset:
            log.info(
                "Current config state offset %d does not match group assignment %d. Forcing rebalance.",
                self._config_state.offset,
                assignment.offset,
            )
            self.member.request_rejoin()
            return False
        await self._start_work()
        self._rebalance_resolved = True
        metrics = self._worker_metrics()
        if metrics is not None:
            # Kafka's leader-name is the leader's REST URL (the assignment's leaderUrl), not its member id.
            metrics.rebalance_completed(
                self._generation, assignment.leader_url, self.member.protocol.name  # Kafka: the enum name
            )
        if assignment.revoked_connectors or assignment.revoked_tasks:
            self._assignment = Assignment(
                assignment.version,
                assignment.error,
                assignment.leader,
                assignment.leader_url,
                assignment.offset,
                assignment.connectors,
                assignment.tasks,
                (),
                (),
                assignment.delay,
            )
            self.member.request_rejoin()
            return False
        return True

    async def _read_config_to_end(self, timeout: float) -> bool:
        if await self._refresh_config_snapshot(timeout):
            self._backoff_retries = BACKOFF_RETRIES
            return True
        await self.member.maybe_leave_group("taking too long to read the log")
        if self.member.current_protocol_version == CONNECT_PROTOCOL_V0:
            await self._sleep(self.worker_unsync_backoff)
        elif self._backoff_retries > 0:
            await self._sleep(self.member_config.max_delay_ms / 10 / self._backoff_retries / 1000)
            self._backoff_retries -= 1
        else:
            log.info(
                "Revoking current running assignment because after %d retries the worker has not caught up "
                "with the latest Connect cluster updates",
                BACKOFF_RETRIES,
            )
            await self.member.revoke_assignment()
            self._backoff_retries = BACKOFF_RETRIES
        return False

    async def _refresh_config_snapshot(self, timeout: float) -> bool:
        try:
            await self.run_blocking(
                "reading to the end of the config topic", self.config_store.refresh, timeout
            )
        except (TimeoutError, ConnectError) as exc:
            log.warning("Didn't reach end of config log quickly enough: %s", exc)
            self._can_read_configs = False
            return False
        self._config_state = self.config_store.snapshot()
        log.info(
            "Finished reading to end of log and updated config snapshot, new config log offset: %d",
            self._config_state.offset,
        )
        return True

    async def _start_work(self) -> None:
        assignment = self._assignment
        assert assignment is not None
        log.info("Starting connectors and tasks using config offset %d", assignment.offset)
        connectors = [c for c in assignment.connectors if c not in self._running_connectors]
        self._running_tasks.difference_update(self._tasks_to_restart)
        self._tasks_to_restart.clear()
        tasks = [t for t in assignment.tasks if t not in self._running_tasks]
        with self.stage(
            f"starting {len(connectors) + len(tasks)} connector(s) and task(s) after a rebalance"
        ):
            await asyncio.gather(
                *(self._start_connector(c) for c in connectors), *(self._start_task(t) for t in tasks)
            )
        if self.member.current_protocol_version == CONNECT_PROTOCOL_V0:
            self._running_connectors, self._running_tasks = set(), set()
        else:
            self._running_connectors, self._running_tasks = set(assignment.connectors), set(assignment.tasks)
        log.info("Finished starting connectors and tasks")

    async def _start_connector(self, connector: str) -> BaseException | None:
        """Start an assigned connector; returns its failure (already reported as FAILED), or ``None``."""
        state = self._config_state
        config, target = state.connector_config(connector), state.target_state(connector)
        if config is None or target is None:
            log.warning("Not starting connector %s: it is no longer configured", connector)
            return None
        log.info("Starting connector %s", connector)
        try:
            error = await self._in_pool(
                self.worker.start_connector,
                connector,
                config,
                HerderConnectorContext(self, connector),
                self,
                target,
            )
        except Exception as exc:  # noqa: BLE001 - the connector fails, the worker goes on
            log.error("Unexpected error while trying to start connector %s", connector, exc_info=exc)
            self.on_failure(connector, exc)
            return exc
        if target is TargetState.STARTED and error is None:
            initial = self.wall_ms()
            self._add_request(0, lambda: self._reconfigure_connector(connector, initial, 0))
        return error

    async def _start_task(self, task: ConnectorTaskId) -> bool:
        state = self._config_state
        config, task_config = state.connector_config(task.connector), state.task_config(task)
        target = state.target_state(task.connector)
        if config is None or task_config is None or target is None:
            log.warning("Not starting task %s: it is no longer configured", task)
            return False
        log.info("Starting task %s", task)
        try:
            return bool(await self._in_pool(self.worker.start_task, task, config, task_config, self, target))
        except Exception as exc:  # noqa: BLE001
            log.error(
                "Couldn't instantiate task %s because it has an invalid task configuration. This task will not "
                "execute until reconfigured.",
                task,
                exc_info=exc,
            )
            self.on_failure(task, exc)
            return False
