"""The standalone herder: one worker, connector configs and statuses in memory (Kafka's ``StandaloneHerder``).

Every operation that changes something runs as one request on the herder queue, so two REST calls never
interleave their effects; inside a request, slow worker calls run on the herder's executor thread. The
behaviour follows Kafka's standalone herder (spec sections 1.2, 1.5 and 2):

- create/update validates first (on a validation thread, outside the queue), then stops the old instance,
  stores the config, starts the connector in its target state and, if it is running and STARTED, generates
  task configs; tasks restart when the generated configs differ or the connector config changed;
- STOPPED removes the task configs (so ``tasks`` is ``[]``) before stopping the connector instance;
- PAUSED and STOPPED connectors generate no task configs;
- a plain restart restarts only the connector instance; the planned form marks what restarts RESTARTING
  and answers the plan;
- offsets can be modified only when the connector is STOPPED and has no task configs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from kcfast.api.config_infos import invalid_config_message
from kcfast.errors import AlreadyExistsError, BadRequestError, ConnectError, NotFoundError
from kcfast.runtime.config_state import ClusterConfigState, ConfigTransformer, MemoryConfigBackingStore
from kcfast.runtime.herder import Herder, HerderConnectorContext, RestartRequest, merge_config_patch
from kcfast.runtime.status import ConnectorTaskId, TargetState
from kcfast.runtime.status_store import MemoryStatusBackingStore, StatusBackingStore

log = logging.getLogger(__name__)


def _stopped_message(connector: str) -> str:
    return (
        "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the "
        f"specified connector by issuing a 'PUT' request to the '/connectors/{connector}/stop' endpoint"
    )


class StandaloneHerder(Herder):
    """The herder of a standalone worker.

    Args:
        worker: the worker that runs connectors and tasks.
        status_store: defaults to a new :class:`MemoryStatusBackingStore`.
        config_store: defaults to a new :class:`MemoryConfigBackingStore` using ``config_transformer``.
        kafka_cluster_id: see :class:`Herder`.
        config_transformer: see :class:`Herder`.
        wall_ms: see :class:`Herder`.

    Call :meth:`start` on the event loop before anything else, create the connectors given on the command
    line, then call :meth:`ready`; :meth:`stop` stops every connector and task and then the worker.
    """

    def __init__(
        self,
        worker: Any,
        *,
        status_store: StatusBackingStore | None = None,
        config_store: MemoryConfigBackingStore | None = None,
        kafka_cluster_id: str | None = None,
        config_transformer: ConfigTransformer | None = None,
        wall_ms: Callable[[], int] | None = None,
    ) -> None:
        super().__init__(
            worker,
            status_store if status_store is not None else MemoryStatusBackingStore(),
            kafka_cluster_id=kafka_cluster_id,
            config_transformer=config_transformer,
            wall_ms=wall_ms,
        )
        self.config_store = config_store if config_store is not None else MemoryConfigBackingStore(config_transformer)

    # -- lifecycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the request queue and the worker."""
        await super().start()
        await self.submit(lambda: self.run_blocking("starting the worker", self.worker.start))

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop every task and connector, then the worker, then the queue.

        Requests still queued run first; if they do not finish within ``timeout`` seconds (a connector stuck in
        ``start()``), the worker is stopped anyway.
        """

        async def shutdown() -> None:
            state = self.snapshot()
            # Every task at once: they stop in parallel (a sink's consumer takes a while to leave its group),
            # within one task.shutdown.graceful.timeout.ms rather than one per connector.
            tasks = [task for name in state.connectors() for task in state.tasks(name)]
            if tasks:
                await self.run_blocking("stopping the connectors' tasks", self.worker.stop_and_await_tasks, tasks)
            for name in state.connectors():
                await self.run_blocking("stopping the connector", self.worker.stop_and_await_connector, name)
            await self.run_blocking("stopping the worker", self.worker.stop)

        if self._queue is not None:
            try:
                await asyncio.wait_for(self.submit(shutdown), timeout)
            except TimeoutError:
                log.error("Herder requests did not finish within %.0f s; stopping the worker anyway", timeout)
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(None, self.worker.stop)
            except Exception as exc:  # noqa: BLE001 - keep stopping
                log.error("Error while stopping the herder", exc_info=exc)
        await super().stop(timeout=min(timeout, 1.0))

    # -- reads ---------------------------------------------------------------------------------------------

    def snapshot(self) -> ClusterConfigState:
        """The current connector configs, target states and task configs."""
        return self.config_store.snapshot()

    def _raw_config(self, connector: str) -> dict[str, str] | None:
        return self.snapshot().raw_connector_config(connector)

    def connectors(self) -> list[str]:
        """The names of all connectors, sorted."""
        return self.snapshot().connectors()

    def connector_info_or_none(self, connector: str) -> dict[str, Any] | None:
        """The ConnectorInfo body of ``connector`` now, or ``None`` (for ``GET /connectors?expand=info``)."""
        return self.connector_info_of(self.snapshot(), connector)

    def _info(self, connector: str) -> dict[str, Any]:
        info = self.connector_info_or_none(connector)
        if info is None:
            raise NotFoundError(f"Connector {connector} not found")
        return info

    async def connector_info(self, connector: str) -> dict[str, Any]:
        """The ConnectorInfo body; raises :class:`NotFoundError` (``Connector c not found``)."""

        async def read() -> dict[str, Any]:
            return self._info(connector)

        return await self.submit(read)

    async def connector_config(self, connector: str) -> dict[str, str]:
        """The raw connector config; raises :class:`NotFoundError`."""
        info = await self.connector_info(connector)
        return dict(info["config"])

    async def task_configs(self, connector: str) -> list[dict[str, Any]]:
        """``[{"id": {...}, "config": {...}}]`` with raw task configs; raises :class:`NotFoundError`."""

        async def read() -> list[dict[str, Any]]:
            state = self.snapshot()
            if not state.contains(connector):
                raise NotFoundError(f"Connector {connector} not found")
            return [{"id": t.to_json(), "config": state.raw_task_config(t)} for t in state.tasks(connector)]

        return await self.submit(read)

    async def tasks_config(self, connector: str) -> dict[str, dict[str, str]]:
        """``{"c-0": {...}}``; raises :class:`NotFoundError` when the connector is unknown or has no tasks."""
        tasks = await self.task_configs(connector)
        if not tasks:
            raise NotFoundError(f"Connector {connector} not found")
        return {str(ConnectorTaskId(t["id"]["connector"], t["id"]["task"])): t["config"] for t in tasks}

    # -- internals run inside requests ---------------------------------------------------------------------

    async def _start_connector(self, connector: str) -> BaseException | None:
        """Start the connector instance; returns its failure (already reported as FAILED), or ``None``."""
        state = self.snapshot()
        return await self.run_blocking(
            "starting the connector",
            self.worker.start_connector,
            connector,
            state.connector_config(connector),
            HerderConnectorContext(self, connector),
            self,
            state.target_state(connector),
        )

    async def _remove_connector_tasks(self, connector: str) -> None:
        tasks = self.snapshot().tasks(connector)
        if tasks:
            await self.run_blocking("stopping the connector's tasks", self.worker.stop_and_await_tasks, tasks)
            self.config_store.remove_task_configs(connector)
            for task in tasks:
                self.on_deletion(task)

    async def _create_connector_tasks(self, connector: str, tasks: list[ConnectorTaskId] | None = None) -> None:
        state = self.snapshot()
        config = state.connector_config(connector)
        target = state.target_state(connector)
        for task in state.tasks(connector) if tasks is None else tasks:
            await self.run_blocking(
                f"starting task {task}", self.worker.start_task, task, config, state.task_config(task), self, target
            )

    async def _update_connector_tasks(self, connector: str) -> None:
        if not self.worker.is_running(connector):
            log.info("Skipping update of tasks for connector %s since it is not running", connector)
            return
        state = self.snapshot()
        target = state.target_state(connector)
        if target is not TargetState.STARTED:
            log.info("Skipping update of tasks for connector %s since its target state is %s", connector, target)
            return
        try:
            configs = await self.run_blocking(
                "generating task configs for the connector",
                self.worker.connector_task_configs,
                connector,
                state.connector_config(connector),
            )
        except Exception as exc:  # noqa: BLE001 - the connector fails; the request itself succeeds
            log.error("Failed to generate task configs for connector %s", connector, exc_info=exc)
            self.connector_failed(connector, exc)
            return
        raw = self.reverse_transform(state, connector, configs)
        if self.task_configs_changed(state, connector, raw):
            await self._remove_connector_tasks(connector)
            self.config_store.put_task_configs(connector, raw)
            await self._create_connector_tasks(connector)

    async def _apply_target_state(self, connector: str, target: TargetState) -> None:
        try:
            await self.run_blocking(
                f"transitioning the connector to {target.value}", self.worker.set_target_state, connector, target
            )
        except Exception as exc:  # noqa: BLE001 - logged like a failed transition callback
            log.error("Failed to transition connector %s to target state %s", connector, target.value, exc_info=exc)
            return
        if target is TargetState.STARTED:
            await self._update_connector_tasks(connector)

    async def _put_connector_config(
        self,
        connector: str,
        config: dict[str, str],
        target_state: TargetState | None,
        allow_replace: bool,
        infos: Mapping[str, Any],
    ) -> tuple[bool, dict[str, Any]]:
        if infos["error_count"] > 0:
            raise BadRequestError(invalid_config_message(infos))
        created = not self.config_store.contains(connector)
        if not created:
            if not allow_replace:
                raise AlreadyExistsError(f"Connector {connector} already exists")
            await self.run_blocking("stopping the connector", self.worker.stop_and_await_connector, connector)
        with self.stage(f"writing a config for connector {connector}"):
            self.config_store.put_connector_config(connector, config, target_state)
        error = await self._start_connector(connector)
        if error is not None:  # Kafka's standalone herder answers the create or update with the failure (500)
            raise error
        await self._update_connector_tasks(connector)
        return created, self._info(connector)

    # -- writes --------------------------------------------------------------------------------------------

    async def put_connector_config(
        self,
        connector: str,
        config: Mapping[str, str | None],
        *,
        allow_replace: bool,
        target_state: TargetState | None = None,
    ) -> tuple[bool, dict[str, Any]]:
        """Create or replace a connector; returns ``(created, ConnectorInfo)``.

        Raises:
            BadRequestError: invalid config (the "Connector configuration is invalid ..." text) or no class.
            AlreadyExistsError: the connector exists and ``allow_replace`` is false.
            ConnectError: the connector class cannot be found.
        """
        props = dict(config)
        infos = await self.validate_connector_config(props)
        clean = {k: v for k, v in props.items() if v is not None}
        return await self.submit(
            lambda: self._put_connector_config(connector, clean, target_state, allow_replace, infos)
        )

    async def patch_connector_config(self, connector: str, patch: Mapping[str, str | None]) -> dict[str, Any]:
        """Merge ``patch`` into the connector's config (``None`` deletes a key) and apply it like a PUT."""
        info = await self.connector_info(connector)
        patched = merge_config_patch(info["config"], patch)
        _, result = await self.put_connector_config(connector, patched, allow_replace=True)
        return result

    async def delete_connector_config(self, connector: str) -> None:
        """Stop and forget a connector, its tasks, statuses and active topics; raises :class:`NotFoundError`."""

        async def delete() -> None:
            if not self.config_store.contains(connector):
                raise NotFoundError(f"Connector {connector} not found")
            await self._remove_connector_tasks(connector)
            await self.run_blocking("stopping the connector", self.worker.stop_and_await_connector, connector)
            self.config_store.remove_connector_config(connector)
            self.on_deletion(connector)
            self.reset_connector_active_topics(connector)

        await self.submit(delete)

    async def _change_target_state(self, connector: str, target: TargetState) -> None:
        async def change() -> None:
            if not self.config_store.contains(connector):
                raise NotFoundError(f"Unknown connector {connector}")
            if self.config_store.put_target_state(connector, target):
                await self._apply_target_state(connector, target)

        await self.submit(change)

    async def pause_connector(self, connector: str) -> None:
        """Target state PAUSED (idempotent); raises :class:`NotFoundError` (``Unknown connector c``)."""
        await self._change_target_state(connector, TargetState.PAUSED)

    async def resume_connector(self, connector: str) -> None:
        """Target state STARTED (idempotent); raises :class:`NotFoundError` (``Unknown connector c``)."""
        await self._change_target_state(connector, TargetState.STARTED)

    async def stop_connector(self, connector: str) -> None:
        """Remove the task configs, then target state STOPPED (idempotent).

        Raises:
            ConnectError: unknown connector (``No connector `c` configured``; answered with 500 as in Kafka).
        """

        async def stop() -> None:
            await self._remove_connector_tasks(connector)
            if self.config_store.put_target_state(connector, TargetState.STOPPED):
                await self._apply_target_state(connector, TargetState.STOPPED)

        await self.submit(stop)

    def request_task_reconfiguration(self, connector: str) -> None:
        """Schedule a task-config regeneration for ``connector`` (thread-safe)."""

        async def reconfigure() -> None:
            if connector not in self.worker.connector_names():
                log.error("Task that requested reconfiguration does not exist: %s", connector)
                return
            await self._update_connector_tasks(connector)

        self.submit_threadsafe(reconfigure)

    async def restart_connector(self, connector: str) -> None:
        """Restart only the connector instance, synchronously; raises :class:`NotFoundError`."""

        async def restart() -> None:
            if not self.config_store.contains(connector):
                raise NotFoundError(f"Connector {connector} not found")
            await self.run_blocking("stopping the connector", self.worker.stop_and_await_connector, connector)
            error = await self._start_connector(connector)
            if error is not None:
                raise error
            started = self.snapshot().target_state(connector) is TargetState.STARTED
            if started and connector in self.worker.connector_names():
                await self._update_connector_tasks(connector)

        await self.submit(restart)

    async def restart_connector_and_tasks(self, request: RestartRequest) -> dict[str, Any]:
        """Restart what ``request`` selects; returns the plan's ConnectorStateInfo (RESTARTING markers).

        Raises:
            NotFoundError: ``Unknown connector: c`` or ``Status for connector c not found``.
        """

        async def restart() -> dict[str, Any]:
            connector = request.connector
            if not self.config_store.contains(connector):
                raise NotFoundError(f"Unknown connector: {connector}")
            plan = self.build_restart_plan(request)
            if plan is None:
                raise NotFoundError(f"Status for connector {connector} not found")
            log.info("Received restart plan for %s", request)
            if plan.restart_connector:
                await self.run_blocking("stopping the connector", self.worker.stop_and_await_connector, connector)
                self.on_restart(connector)
            if plan.restart_tasks:
                await self.run_blocking("stopping the connector's tasks", self.worker.stop_and_await_tasks, plan.task_ids)
                for task in plan.task_ids:
                    self.on_restart(task)
            if plan.restart_connector:
                await self._start_connector(connector)
            if plan.restart_tasks:
                await self._create_connector_tasks(connector, plan.task_ids)
            if plan.restart_connector:
                # A connector that failed before generating task configs (in start or task_configs) has
                # none: generate them now, as the plain restart and a distributed worker do, instead of
                # leaving a RUNNING connector without tasks. Unchanged configs leave the tasks alone.
                await self._update_connector_tasks(connector)
            return plan.state_info

        return await self.submit(restart)

    async def restart_task(self, task: ConnectorTaskId) -> None:
        """Restart one task synchronously.

        Raises:
            NotFoundError: ``Connector c not found`` or ``Task c-t not found``.
            ConnectError: ``Failed to start task: c-t``.
        """

        async def restart() -> None:
            state = self.snapshot()
            if not state.contains(task.connector):
                raise NotFoundError(f"Connector {task.connector} not found")
            if state.raw_task_config(task) is None:
                raise NotFoundError(f"Task {task} not found")
            await self.run_blocking(f"stopping task {task}", self.worker.stop_and_await_tasks, [task])
            started = await self.run_blocking(
                f"starting task {task}",
                self.worker.start_task,
                task,
                state.connector_config(task.connector),
                state.task_config(task),
                self,
                state.target_state(task.connector),
            )
            if not started:
                raise ConnectError(f"Failed to start task: {task}")

        await self.submit(restart)

    # -- offsets -------------------------------------------------------------------------------------------

    async def connector_offsets(self, connector: str) -> dict[str, Any]:
        """``{"offsets": [...]}`` for a connector in any state; raises :class:`NotFoundError`."""

        async def read() -> dict[str, Any]:
            state = self.snapshot()
            if not state.contains(connector):
                raise NotFoundError(f"Connector {connector} not found")
            return await self.run_blocking(
                "reading the connector's offsets",
                self.worker.connector_offsets,
                connector,
                state.connector_config(connector),
            )

        return await self.submit(read)

    async def _modify_offsets(self, connector: str, offsets: dict[str, Any] | None) -> dict[str, str]:
        async def modify() -> dict[str, str]:
            state = self.snapshot()
            if not state.contains(connector):
                raise NotFoundError(f"Connector {connector} not found")
            if state.target_state(connector) is not TargetState.STOPPED or state.task_count(connector) != 0:
                raise BadRequestError(_stopped_message(connector))
            verb = "resetting" if offsets is None else "altering"
            message = await self.run_blocking(
                f"{verb} the connector's offsets",
                self.worker.modify_connector_offsets,
                connector,
                state.connector_config(connector),
                offsets,
            )
            return {"message": str(message)}

        return await self.submit(modify)

    async def alter_connector_offsets(self, connector: str, offsets: dict[str, Any]) -> dict[str, str]:
        """Alter offsets (body ``{"offsets": [...]}``) of a STOPPED connector; returns ``{"message": ...}``.

        Raises:
            NotFoundError: unknown connector.
            BadRequestError: not STOPPED, or an invalid offset (from the worker).
        """
        if not offsets or not offsets.get("offsets"):
            raise ConnectError("The offsets to be altered may not be null or empty")
        return await self._modify_offsets(connector, offsets)

    async def reset_connector_offsets(self, connector: str) -> dict[str, str]:
        """Reset every offset of a STOPPED connector; returns ``{"message": ...}``."""
        return await self._modify_offsets(connector, None)

    # -- the rest ------------------------------------------------------------------------------------------

    async def set_cluster_logger_level(self, namespace: str, level: str) -> None:
        """Cluster scope: this worker is the whole cluster, so the level is applied here."""
        self.set_worker_logger_level(namespace, level)

    async def put_task_configs(self, connector: str, configs: list[dict[str, str]]) -> None:
        """Internal endpoint of distributed workers: not supported in standalone (500)."""
        raise ConnectError(
            "Kafka Connect in standalone mode does not support externally setting task configurations."
        )

    async def fence_zombie_source_tasks(self, connector: str) -> None:
        """Internal endpoint of distributed workers: not supported in standalone (500)."""
        raise ConnectError("Kafka Connect in standalone mode does not support exactly-once source connectors.")


__all__ = ["StandaloneHerder"]
