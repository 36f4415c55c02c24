"""The operations of the distributed herder that requests and config events start (mixed into
:class:`~kcfast.runtime.distributed.herder.DistributedHerder`): the REST API's calls, task reconfiguration,
config-topic events and restart requests.

Reads that need the herder's config snapshot and every write run as requests on the tick loop. Writes that only
the leader may make raise :class:`~kcfast.runtime.distributed.forwarding.NotLeaderError` on other workers, and
restarts raise :class:`~kcfast.runtime.distributed.forwarding.NotAssignedError` on the leader when another worker
runs the connector or task; the REST layer forwards both. A pending config-driven rebalance raises
:class:`~kcfast.errors.RebalanceNeededError` (500 on reads, 409 on forwardable writes). Pause, resume and cluster
log levels are written to the config topic from any worker, outside the tick loop, as Kafka does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp
import orjson

from kcfast.api.config_infos import invalid_config_message
from kcfast.errors import (
    AlreadyExistsError,
    BadRequestError,
    ConnectError,
    NotFoundError,
    RebalanceNeededError,
    RestError,
)
from kcfast.runtime.distributed.config_log import SessionKey
from kcfast.runtime.distributed.forwarding import NotAssignedError, NotLeaderError
from kcfast.runtime.distributed.signing import signature_headers, verify_request
from kcfast.runtime.herder import RestartRequest, merge_config_patch
from kcfast.runtime.status import ConnectorTaskId, TargetState

__all__ = ["DistributedRequests"]

log = logging.getLogger(__name__)

#: Back-off of task reconfiguration retries: 250 ms doubling up to 60 s (Kafka's values).
RECONFIGURE_BACKOFF_INITIAL_MS = 250
RECONFIGURE_BACKOFF_MAX_MS = 60000


class DistributedRequests:
    """The herder operations the REST API calls, for a distributed worker."""

    if TYPE_CHECKING:
        _config_state: Any
        _assignment: Any
        _session_key: SessionKey | None
        _key_expiration: float
        _needs_reconfig_rebalance: bool
        _connector_config_updates: set[str]
        _target_state_changes: set[str]
        _task_config_updates: set[ConnectorTaskId]
        _pending_restarts: dict[str, RestartRequest]
        key_ttl_ms: int
        signature_algorithm: str
        config_store: Any
        member: Any
        worker: Any
        group_id: str
        worker_sync_timeout: float
        verification_algorithms: list[str]
        validation_executor: Any

        async def submit(self, fn: Callable[[], Awaitable[Any]]) -> Any: ...
        async def run_blocking(self, description: str, fn: Callable[..., Any], *args: Any) -> Any: ...
        def is_leader(self) -> bool: ...
        def leader_url(self) -> str | None: ...
        def connector_info_of(self, state: Any, connector: str) -> dict[str, Any] | None: ...
        def connector_type(self, config: Mapping[str, str] | None) -> str: ...
        def build_restart_plan(self, request: RestartRequest) -> Any: ...
        def _signing_enabled(self) -> bool: ...
        def wall_ms(self) -> int: ...
        def stage(self, description: str) -> Any: ...
        def submit_threadsafe(self, fn: Callable[[], Awaitable[Any]]) -> None: ...
        def _add_request(self, delay_ms: float, fn: Callable[[], Awaitable[Any]]) -> None: ...
        def _spawn(self, work: Awaitable[Any]) -> None: ...
        def http_session(self) -> aiohttp.ClientSession: ...
        def connector_failed(self, connector: str, error: BaseException) -> None: ...
        def on_restart(self, target: str | ConnectorTaskId) -> None: ...
        def reverse_transform(self, state: Any, connector: str, configs: list[dict[str, str]]) -> Any: ...
        def task_configs_changed(self, state: Any, connector: str, raw: list[dict[str, str]]) -> bool: ...
        async def _start_connector(self, connector: str) -> BaseException | None: ...
        async def _start_task(self, task: ConnectorTaskId) -> bool: ...
        async def _refresh_config_snapshot(self, timeout: float) -> bool: ...

    def _check_rebalance_needed(self) -> None:
        if self._needs_reconfig_rebalance:
            raise RebalanceNeededError("Request cannot be completed because a rebalance is expected")

    def _require_leader(self, message: str) -> None:
        if not self.is_leader():
            raise NotLeaderError(message, self.leader_url())

    async def connector_info(self, connector: str) -> dict[str, Any]:
        """The ConnectorInfo body; raises :class:`NotFoundError` or :class:`RebalanceNeededError`."""

        async def read() -> dict[str, Any]:
            self._check_rebalance_needed()
            info = self.connector_info_of(self._config_state, connector)
            if info is None:
                raise NotFoundError(f"Connector {connector} not found")
            return info

        return await self.submit(read)  # type: ignore[no-any-return]

    async def connector_config(self, connector: str) -> dict[str, str]:
        """The raw connector config."""
        return dict((await self.connector_info(connector))["config"])

    async def task_configs(self, connector: str) -> list[dict[str, Any]]:
        """``[{"id": ..., "config": ...}]`` of the connector's tasks."""

        async def read() -> list[dict[str, Any]]:
            self._check_rebalance_needed()
            state = self._config_state
            if not state.contains(connector):
                raise NotFoundError(f"Connector {connector} not found")
            return [{"id": t.to_json(), "config": state.raw_task_config(t)} for t in state.tasks(connector)]

        return await self.submit(read)  # type: ignore[no-any-return]

    async def tasks_config(self, connector: str) -> dict[str, dict[str, str]]:
        """``{"c-0": {...}}`` (empty when the connector has no tasks)."""
        tasks = await self.task_configs(connector)
        return {f"{t['id']['connector']}-{t['id']['task']}": t["config"] for t in tasks}

    async def validate_connector_config(
        self, props: Mapping[str, str | None], do_log: bool = True
    ) -> dict[str, Any]:
        """The shared validation, plus the distributed check that a sink's consumer group is not the workers'."""
        infos: dict[str, Any] = await super().validate_connector_config(props, do_log)  # type: ignore[misc]
        key = "consumer.override.group.id"
        if key in props:
            if props[key] == self.group_id:
                _add_error(
                    infos,
                    key,
                    props[key],
                    f"Consumer group {self.group_id} conflicts with Connect worker group {self.group_id}",
                )
        elif (
            self.connector_type({k: v for k, v in props.items() if v is not None}) == "sink"
            and f"connect-{props.get('name')}" == self.group_id
        ):
            _add_error(
                infos,
                "name",
                props.get("name"),
                f"Consumer group for sink connector named {props.get('name')}"
                f" conflicts with Connect worker group {self.group_id}",
            )
        return infos

    async def put_connector_config(
        self,
        connector: str,
        config: Mapping[str, str | None],
        *,
        allow_replace: bool,
        target_state: TargetState | None = None,
    ) -> tuple[bool, dict[str, Any]]:
        """Create or replace a connector (leader only); returns ``(created, ConnectorInfo)``."""
        props = dict(config)
        infos = await self.validate_connector_config(props)
        clean = {k: v for k, v in props.items() if v is not None}

        async def write() -> tuple[bool, dict[str, Any]]:
            if infos["error_count"] > 0:
                raise BadRequestError(invalid_config_message(infos))
            self._require_leader("Only the leader can set connector configs.")
            exists = self._config_state.contains(connector)
            if exists and not allow_replace:
                raise AlreadyExistsError(f"Connector {connector} already exists")
            await self.run_blocking(
                f"writing a config for connector {connector} to the config topic",
                self.config_store.put_connector_config,
                connector,
                clean,
                target_state,
            )
            info = {
                "name": connector,
                "config": clean,
                "tasks": [t.to_json() for t in self._config_state.tasks(connector)],
                "type": self.connector_type(clean),
            }
            return not exists, info

        return await self.submit(write)  # type: ignore[no-any-return]

    async def patch_connector_config(self, connector: str, patch: Mapping[str, str | None]) -> dict[str, Any]:
        """Merge ``patch`` into the connector's config and write it (leader only)."""

        async def current() -> dict[str, str]:
            self._require_leader("Only the leader can set connector configs.")
            config = self._config_state.raw_connector_config(connector)
            if config is None:
                raise NotFoundError(f"Connector {connector} not found")
            return config  # type: ignore[no-any-return]

        patched = merge_config_patch(await self.submit(current), patch)
        _, info = await self.put_connector_config(connector, patched, allow_replace=True)
        return info

    async def delete_connector_config(self, connector: str) -> None:
        """Delete a connector (leader only)."""

        async def delete() -> None:
            self._require_leader("Only the leader can delete connector configs.")
            if not self._config_state.contains(connector):
                raise NotFoundError(f"Connector {connector} not found")
            await self.run_blocking(
                f"removing the config for connector {connector} from the config topic",
                self.config_store.remove_connector_config,
                connector,
            )

        await self.submit(delete)

    async def _put_target_state(self, connector: str, target: TargetState) -> None:
        if not self.config_store.contains(connector):
            raise NotFoundError(f"Unknown connector {connector}")
        await asyncio.get_running_loop().run_in_executor(
            self.validation_executor, self.config_store.put_target_state, connector, target
        )

    async def pause_connector(self, connector: str) -> None:
        """Write target state PAUSED (from any worker, not forwarded)."""
        await self._put_target_state(connector, TargetState.PAUSED)

    async def resume_connector(self, connector: str) -> None:
        """Write target state STARTED (from any worker, not forwarded)."""
        await self._put_target_state(connector, TargetState.STARTED)

    async def stop_connector(self, connector: str) -> None:
        """Write an empty task set, then target state STOPPED (leader only)."""

        async def stop() -> None:
            if not self._config_state.contains(connector):
                raise NotFoundError(f"Unknown connector {connector}")
            self._require_leader("Only the leader can transition connectors to the STOPPED state.")
            await self._write_task_configs(connector, [])
            await self.run_blocking(
                f"writing the STOPPED target stage for connector {connector} to the config topic",
                self.config_store.put_target_state,
                connector,
                TargetState.STOPPED,
            )
            if not await self._refresh_config_snapshot(self.worker_sync_timeout):
                log.warning(
                    "Failed to read to end of config topic after writing the STOPPED target state for "
                    "connector %s",
                    connector,
                )

        await self.submit(stop)

    def _owner_or_leader(self, item: str | ConnectorTaskId, what: str) -> None:
        if self.is_leader():
            raise NotAssignedError(
                f"Cannot restart {what} since it is not assigned to this member", self.member.owner_url(item)
            )
        if what == "connector":
            raise NotLeaderError("Only the leader can process restart requests.", self.leader_url())
        raise NotLeaderError(
            f"Cannot restart {what} since it is not assigned to this member", self.leader_url()
        )

    async def restart_connector(self, connector: str) -> None:
        """Restart the connector instance where it runs (forwarded to its owner)."""

        async def restart() -> None:
            self._check_rebalance_needed()
            if not self._config_state.contains(connector):
                raise NotFoundError(f"Unknown connector: {connector}")
            if self._assignment is None or connector not in self._assignment.connectors:
                self._owner_or_leader(connector, "connector")
            await self.run_blocking(
                f"stopping restarted connector {connector}", self.worker.stop_and_await_connector, connector
            )
            error = await self._start_connector(connector)
            if error is not None:  # Kafka answers the restart with the failure (500)
                raise ConnectError(f"Failed to start connector: {connector}") from error

        await self.submit(restart)

    async def restart_task(self, task: ConnectorTaskId) -> None:
        """Restart one task where it runs (forwarded to its owner)."""

        async def restart() -> None:
            self._check_rebalance_needed()
            if not self._config_state.contains(task.connector):
                raise NotFoundError(f"Unknown connector: {task.connector}")
            if self._config_state.task_config(task) is None:
                raise NotFoundError(f"Unknown task: {task}")
            if self._assignment is None or task not in self._assignment.tasks:
                self._owner_or_leader(task, "task")
            await self.run_blocking(f"restarting task {task}", self.worker.stop_and_await_tasks, [task])
            if not await self._start_task(task):
                raise ConnectError(f"Failed to start task: {task}")

        await self.submit(restart)

    async def restart_connector_and_tasks(self, request: RestartRequest) -> dict[str, Any]:
        """Write a ``restart-connector-*`` record (leader only) and answer the plan."""

        async def restart() -> dict[str, Any]:
            self._check_rebalance_needed()
            if not self._config_state.contains(request.connector):
                raise NotFoundError(f"Unknown connector: {request.connector}")
            self._require_leader("Only the leader can process restart requests.")
            await self.run_blocking(
                f"writing restart request for connector {request.connector} to the config topic",
                self.config_store.put_restart_request,
                request,
            )
            plan = self.build_restart_plan(request)
            if plan is None:
                raise NotFoundError(f"Status for connector {request.connector} not found")
            return dict(plan.state_info)

        return await self.submit(restart)  # type: ignore[no-any-return]

    async def connector_offsets(self, connector: str) -> dict[str, Any]:
        """``{"offsets": [...]}`` for a connector in any state."""

        async def read() -> dict[str, Any]:
            if not self._config_state.contains(connector):
                raise NotFoundError(f"Connector {connector} not found")
            offsets: dict[str, Any] = await self.run_blocking(
                "reading the connector's offsets",
                self.worker.connector_offsets,
                connector,
                self._config_state.connector_config(connector),
            )
            return offsets

        return await self.submit(read)  # type: ignore[no-any-return]

    async def _modify_offsets(self, connector: str, offsets: dict[str, Any] | None) -> dict[str, str]:
        async def modify() -> dict[str, str]:
            self._check_rebalance_needed()
            self._require_leader("Only the leader can process external offsets modification requests")
            if not await self._refresh_config_snapshot(self.worker_sync_timeout):
                raise ConnectError("Failed to read to end of config topic before modifying connector offsets")
            state = self._config_state
            if not state.contains(connector):
                raise NotFoundError(f"Connector {connector} not found")
            if state.target_state(connector) is not TargetState.STOPPED or state.task_count(connector) != 0:
                raise BadRequestError(
                    "Connectors must be in the STOPPED state before their offsets can be modified. This can be done "
                    f"for the specified connector by issuing a 'PUT' request to the '/connectors/{connector}/stop' "
                    "endpoint"
                )
            verb = "resetting" if offsets is None else "altering"
            message = await self.run_blocking(
                f"{verb} offsets for connector {connector}",
                self.worker.modify_connector_offsets,
                connector,
                state.connector_config(connector),
                offsets,
            )
            return {"message": str(message)}

        return await self.submit(modify)  # type: ignore[no-any-return]

    async def alter_connector_offsets(self, connector: str, offsets: dict[str, Any]) -> dict[str, str]:
        """Alter the offsets of a STOPPED connector (leader only)."""
        if not offsets or not offsets.get("offsets"):
            raise ConnectError("The offsets to be altered may not be null or empty")
        return await self._modify_offsets(connector, offsets)

    async def reset_connector_offsets(self, connector: str) -> dict[str, str]:
        """Reset the offsets of a STOPPED connector (leader only)."""
        return await self._modify_offsets(connector, None)

    async def set_cluster_logger_level(self, namespace: str, level: str) -> None:
        """Write ``logger-cluster-<namespace>``; every worker applies it when read."""
        await asyncio.get_running_loop().run_in_executor(
            self.validation_executor, self.config_store.put_logger_level, namespace, level
        )

    def verify_internal_request(self, body: bytes, headers: Any) -> None:
        """Check an internal request's signature when the group uses the ``sessioned`` protocol."""
        if self._signing_enabled():
            key = self._session_key.key if self._session_key is not None else None
            verify_request(body, headers, key, self.verification_algorithms)

    async def put_task_configs(self, connector: str, configs: list[dict[str, str]]) -> None:
        """Internal: another worker's task configs for ``connector`` (leader only)."""

        async def write() -> None:
            self._require_leader("Only the leader may write task configurations.")
            if not self._config_state.contains(connector):
                raise NotFoundError(f"Connector {connector} not found")
            await self._write_task_configs(
                connector, [{str(k): str(v) for k, v in c.items()} for c in configs]
            )

        await self.submit(write)

    async def fence_zombie_source_tasks(self, connector: str) -> None:
        """Internal: record the task count of a source connector's current generation (leader only)."""

        async def fence() -> None:
            self._require_leader("Only the leader may perform zombie fencing.")
            state = self._config_state
            if not state.contains(connector):
                raise NotFoundError(f"Connector {connector} not found")
            if self.connector_type(state.connector_config(connector)) != "source":
                raise BadRequestError(f"Connector {connector} is not a source connector")
            if not await self._refresh_config_snapshot(self.worker_sync_timeout):
                raise ConnectError("Failed to read to end of config topic before performing zombie fencing")
            state = self._config_state
            if connector in getattr(state, "pending_fencing", ()):
                await self.run_blocking(
                    f"writing a task count record for connector {connector} to the config topic",
                    self.config_store.put_task_count_record,
                    connector,
                    state.task_count(connector),
                )

        await self.submit(fence)

    # -- task configs --------------------------------------------------------------------------------------

    def request_task_reconfiguration(self, connector: str) -> None:
        """Regenerate the connector's task configs (thread-safe; retried with back-off on failure)."""
        initial = self.wall_ms()
        self.submit_threadsafe(lambda: self._reconfigure_connector(connector, initial, 0))

    def _retry_reconfiguration(
        self, connector: str, error: BaseException, initial: int, attempt: int
    ) -> None:
        if isinstance(error, RestError) and error.status == 403 and initial + 60000 >= self.wall_ms():
            log.debug(
                "Failed to reconfigure connector's tasks (%s), possibly due to expired session key. Retrying "
                "after backoff",
                connector,
            )
        else:
            log.error(
                "Failed to reconfigure connector's tasks (%s), retrying after backoff.",
                connector,
                exc_info=error,
            )
        delay = min(RECONFIGURE_BACKOFF_INITIAL_MS * 2**attempt, RECONFIGURE_BACKOFF_MAX_MS)
        self._add_request(delay, lambda: self._reconfigure_connector(connector, initial, attempt + 1))

    async def _reconfigure_connector(self, connector: str, initial: int, attempt: int) -> None:
        if not self.worker.is_running(connector):
            log.info("Skipping reconfiguration of connector %s since it is not running", connector)
            return
        state = self._config_state
        target = state.target_state(connector)
        if target is not TargetState.STARTED:
            log.info(
                "Skipping reconfiguration of connector %s since its target state is %s", connector, target
            )
            return
        try:
            configs = await self.run_blocking(
                f"generating task configs for connector {connector}",
                self.worker.connector_task_configs,
                connector,
                state.connector_config(connector),
            )
        except Exception as exc:  # noqa: BLE001 - the connector fails; nothing to retry
            log.error("Failed to generate task configs for connector %s", connector, exc_info=exc)
            self.connector_failed(connector, exc)
            return
        raw = self.reverse_transform(state, connector, configs)
        if not self.task_configs_changed(state, connector, raw):
            return
        if self.is_leader():
            try:
                await self._write_task_configs(connector, raw)
            except Exception as exc:  # noqa: BLE001
                self._retry_reconfiguration(connector, exc, initial, attempt)
            return
        leader = self.leader_url()

        async def forward() -> None:
            try:
                if not leader:
                    raise ConnectError(
                        "Request to leader to reconfigure connector tasks failed because the URL of "
                        "the leader's REST interface is empty!"
                    )
                await self._post_task_configs(leader, connector, raw)
            except Exception as exc:  # noqa: BLE001
                self._retry_reconfiguration(connector, exc, initial, attempt)

        self._spawn(forward())

    async def _post_task_configs(self, leader: str, connector: str, configs: list[dict[str, str]]) -> None:
        url = f"{leader.rstrip('/')}/connectors/{quote(connector, safe='')}/tasks"
        body = orjson.dumps(configs)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._session_key is not None:
            headers.update(signature_headers(self._session_key.key, body, self.signature_algorithm))
        log.debug("Forwarding task configurations for connector %s to leader", connector)
        try:
            async with self.http_session().post(url, data=body, headers=headers) as response:
                status, data = response.status, await response.read()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise RestError(500, f"IO Error trying to forward REST request: {exc}") from exc
        if status >= 400:
            message = orjson.loads(data).get("message", "") if data else ""
            raise RestError(status, str(message))
        if not 200 <= status < 300:
            raise RestError(500, f"Unexpected status code when handling forwarded request: {status}")

    async def _write_task_configs(self, connector: str, configs: list[dict[str, str]]) -> None:
        if configs and self._config_state.target_state(connector) is TargetState.STOPPED:
            raise BadRequestError(
                f"Cannot submit non-empty set of task configs for stopped connector {connector}"
            )
        await self.run_blocking(
            f"writing {len(configs)} task configs for connector {connector} to the config topic",
            self.config_store.put_task_configs,
            connector,
            configs,
        )

    # -- config topic events (on the loop) -----------------------------------------------------------------

    def _on_connector_config_remove(self, connector: str) -> None:
        log.info("Connector %s config removed", connector)
        if self._config_state.contains(connector):
            self._needs_reconfig_rebalance = True
        else:
            self._connector_config_updates.add(connector)
        self.member.wakeup()

    def _on_connector_config_update(self, connector: str) -> None:
        log.info("Connector %s config updated", connector)
        if not self._config_state.contains(connector):
            self._needs_reconfig_rebalance = True
        else:
            self._connector_config_updates.add(connector)
        self.member.wakeup()

    def _on_task_config_update(self, tasks: list[ConnectorTaskId]) -> None:
        log.info("Tasks %s configs updated", [str(t) for t in tasks])
        self._needs_reconfig_rebalance = True
        self._task_config_updates.update(tasks)
        self.member.wakeup()

    def _on_target_state_change(self, connector: str) -> None:
        log.info("Connector %s target state change", connector)
        self._target_state_changes.add(connector)
        self.member.wakeup()

    def _on_session_key_update(self, key: SessionKey) -> None:
        log.info("Session key updated")
        self._session_key = key
        if self.key_ttl_ms > 0:
            self._key_expiration = key.creation_timestamp + self.key_ttl_ms

    def _on_restart_request(self, request: RestartRequest) -> None:
        log.info("Received and enqueuing %s", request)
        existing = self._pending_restarts.get(request.connector)
        if existing is None or request.impact_rank() > existing.impact_rank():
            self._pending_restarts[request.connector] = request
        self.member.wakeup()

    async def _process_restart_requests(self) -> None:
        requests, self._pending_restarts = list(self._pending_restarts.values()), {}
        for request in requests:
            try:
                with self.stage(f"handling restart request for connector {request.connector}"):
                    await self._do_restart(request)
            except Exception as exc:  # noqa: BLE001
                log.warning(
                    "Unexpected error while trying to process %s, the restart request will be skipped.",
                    request,
                    exc_info=exc,
                )

    async def _do_restart(self, request: RestartRequest) -> None:
        plan = self.build_restart_plan(request)
        if plan is None:
            log.debug(
                "Skipping restart of connector '%s' since no status is available: %s",
                request.connector,
                request,
            )
            return
        assignment = self._assignment
        local_tasks = set(assignment.tasks) if assignment is not None else set()
        tasks = [t for t in plan.task_ids if t in local_tasks]
        restart_connector = (
            plan.restart_connector and assignment is not None and request.connector in assignment.connectors
        )
        if restart_connector:
            await self.run_blocking(
                f"stopping to-be-restarted connector {request.connector}",
                self.worker.stop_and_await_connector,
                request.connector,
            )
            self.on_restart(request.connector)
        if tasks:
            await self.run_blocking(
                f"stopping {len(tasks)} to-be-restarted tasks for connector {request.connector}",
                self.worker.stop_and_await_tasks,
                tasks,
            )
            for task in tasks:
                self.on_restart(task)
        if restart_connector:
            await self._start_connector(request.connector)
        for task in tasks:
            await self._start_task(task)
        log.info("Completed restart plan for %s", request)


def _add_error(infos: dict[str, Any], key: str, value: Any, message: str) -> None:
    """Add a validation error on ``key`` to a ConfigInfos body."""
    for entry in infos.get("configs", []):
        current = entry.get("value")
        if current is not None and current.get("name") == key:
            current.setdefault("errors", []).append(message)
            break
    else:
        infos.setdefault("configs", []).append(
            {
                "definition": None,
                "value": {
                    "name": key,
                    "value": value,
                    "recommended_values": [],
                    "errors": [message],
                    "visible": True,
                },
            }
        )
    infos["error_count"] = int(infos.get("error_count", 0)) + 1
