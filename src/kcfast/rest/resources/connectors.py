"""``/connectors``: create, read, reconfigure, pause/resume/stop, restart, delete, topics and offsets."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from kcfast.errors import BadRequestError, NotFoundError, RestError
from kcfast.rest import entities
from kcfast.rest.entities import ref
from kcfast.rest.errors import empty_response, json_response
from kcfast.rest.resources._common import (
    SETTINGS,
    Param,
    Route,
    complete,
    herder_of,
    java_trim,
    location,
    path_int,
    query_flag,
    read_body,
    require_body,
)
from kcfast.runtime.herder import RestartRequest
from kcfast.runtime.status import ConnectorTaskId, TargetState

log = logging.getLogger(__name__)

_INITIAL_STATES = {"RUNNING": TargetState.STARTED, "PAUSED": TargetState.PAUSED, "STOPPED": TargetState.STOPPED}


def _name(request: web.Request) -> str:
    return request.match_info["connector"]


def _check_and_put_name(connector: str, config: dict[str, Any]) -> None:
    included = config.get("name")
    if included is not None:
        if included != connector:
            raise BadRequestError(
                f"Connector name configuration ({included}) doesn't match connector name in the URL ({connector})"
            )
    else:
        config["name"] = connector


async def list_connectors(request: web.Request) -> web.Response:
    herder = herder_of(request)
    if "expand" not in request.query:
        return json_response(herder.connectors())
    expansions = request.query.getall("expand")
    out: dict[str, dict[str, Any]] = {}
    for connector in herder.connectors():
        entry: dict[str, Any] = {}
        try:
            for expansion in expansions:
                if expansion == "status":
                    entry["status"] = herder.connector_status(connector)
                elif expansion == "info":
                    info = herder.connector_info_or_none(connector)
                    if info is None:
                        raise NotFoundError(f"Connector {connector} not found")
                    entry["info"] = info
                else:
                    log.info("Ignoring unknown expansion type %s", expansion)
        except NotFoundError:
            log.debug("Unable to get connector info for %s on this worker", connector)
            continue
        out[connector] = entry
    return json_response(out)


async def create_connector(request: web.Request) -> web.Response:
    body = require_body(await read_body(request, entities.CREATE_CONNECTOR_REQUEST), "CreateConnectorRequest")
    name = java_trim(body.get("name") or "")
    config = require_body(body.get("config"), "config")
    _check_and_put_name(name, config)
    state = body.get("initial_state")
    target = _INITIAL_STATES[state] if state is not None else None
    herder = herder_of(request)
    _, info = await complete(request, herder.put_connector_config(name, config, allow_replace=False, target_state=target))
    return json_response(info, status=201, headers={"Location": location(request, name)})


async def get_connector(request: web.Request) -> web.Response:
    return json_response(await complete(request, herder_of(request).connector_info(_name(request))))


async def get_connector_config(request: web.Request) -> web.Response:
    return json_response(await complete(request, herder_of(request).connector_config(_name(request))))


async def get_tasks_config(request: web.Request) -> web.Response:
    log.warning(
        "The 'GET /connectors/{connector}/tasks-config' endpoint is deprecated and will be removed in the next "
        "major release. Please use the 'GET /connectors/{connector}/tasks' endpoint instead."
    )
    return json_response(await complete(request, herder_of(request).tasks_config(_name(request))))


async def get_connector_status(request: web.Request) -> web.Response:
    return json_response(herder_of(request).connector_status(_name(request)))


def _check_tracking(request: web.Request, reset: bool = False) -> None:
    settings = request.app[SETTINGS]
    if not settings.topic_tracking:
        raise RestError(403, "Topic tracking is disabled.")
    if reset and not settings.topic_tracking_reset:
        raise RestError(403, "Topic tracking reset is disabled.")


async def get_active_topics(request: web.Request) -> web.Response:
    _check_tracking(request)
    connector = _name(request)
    return json_response({connector: herder_of(request).connector_active_topics(connector)})


async def reset_active_topics(request: web.Request) -> web.Response:
    _check_tracking(request, reset=True)
    herder_of(request).reset_connector_active_topics(_name(request))
    return empty_response(202)


async def put_connector_config(request: web.Request) -> web.Response:
    connector = _name(request)
    config = require_body(await read_body(request, entities.CONFIG_MAP), "connector config")
    _check_and_put_name(connector, config)
    herder = herder_of(request)
    created, info = await complete(request, herder.put_connector_config(connector, config, allow_replace=True))
    if created:
        return json_response(info, status=201, headers={"Location": location(request, connector)})
    return json_response(info)


async def patch_connector_config(request: web.Request) -> web.Response:
    patch = require_body(await read_body(request, entities.CONFIG_MAP), "connector config patch")
    return json_response(await complete(request, herder_of(request).patch_connector_config(_name(request), patch)))


async def restart_connector(request: web.Request) -> web.Response:
    restart = RestartRequest(
        _name(request), query_flag(request, "onlyFailed", False), query_flag(request, "includeTasks", False)
    )
    herder = herder_of(request)
    if restart.force_restart_connector_only():
        await complete(request, herder.restart_connector(restart.connector))
        return empty_response(204)
    return json_response(await complete(request, herder.restart_connector_and_tasks(restart)), status=202)


async def stop_connector(request: web.Request) -> web.Response:
    await complete(request, herder_of(request).stop_connector(_name(request)))
    return empty_response(204)


async def pause_connector(request: web.Request) -> web.Response:
    await complete(request, herder_of(request).pause_connector(_name(request)))
    return empty_response(202)


async def resume_connector(request: web.Request) -> web.Response:
    await complete(request, herder_of(request).resume_connector(_name(request)))
    return empty_response(202)


async def get_task_configs(request: web.Request) -> web.Response:
    return json_response(await complete(request, herder_of(request).task_configs(_name(request))))


async def get_task_status(request: web.Request) -> web.Response:
    task = ConnectorTaskId(_name(request), path_int(request, "task"))
    return json_response(herder_of(request).task_status(task))


async def restart_task(request: web.Request) -> web.Response:
    task = ConnectorTaskId(_name(request), path_int(request, "task"))
    await complete(request, herder_of(request).restart_task(task))
    return empty_response(204)


async def delete_connector(request: web.Request) -> web.Response:
    await complete(request, herder_of(request).delete_connector_config(_name(request)))
    return empty_response(204)


async def get_offsets(request: web.Request) -> web.Response:
    return json_response(await complete(request, herder_of(request).connector_offsets(_name(request))))


async def alter_offsets(request: web.Request) -> web.Response:
    body = require_body(await read_body(request, entities.CONNECTOR_OFFSETS), "ConnectorOffsets")
    if not body.get("offsets"):
        raise BadRequestError("Partitions / offsets need to be provided for an alter offsets request")
    message = await complete(request, herder_of(request).alter_connector_offsets(_name(request), body))
    return json_response(message)


async def reset_offsets(request: web.Request) -> web.Response:
    message = await complete(request, herder_of(request).reset_connector_offsets(_name(request)))
    return json_response(message)


async def put_task_configs(request: web.Request) -> web.Response:
    configs = await read_body(request, entities.TASK_CONFIGS, empty_is_null=False)
    await complete(request, herder_of(request).put_task_configs(_name(request), configs))
    return empty_response(204)


async def fence_zombies(request: web.Request) -> web.Response:
    await complete(request, herder_of(request).fence_zombie_source_tasks(_name(request)))
    return empty_response(204)


_C = "/connectors/{connector}"
_TAG = "Connectors"
_NOT_FOUND = ("Unknown connector", ref("ErrorMessage"))
_INFO = ("Connector info", ref("ConnectorInfo"))
_MSG = ("Result", ref("Message"))
_FORWARD = Param("forward", {"type": "boolean"}, "Internal: whether the request was forwarded by another worker")

ROUTES: list[Route] = [
    Route("GET", "/connectors", list_connectors, "List all active connectors", _TAG,
          query=(Param("expand", {"type": "array", "items": {"type": "string", "enum": ["status", "info"]}},
                       "Add the status and/or info of each connector (repeatable)"),),
          responses={200: ("Connector names, or connector name -> expansions",
                           {"oneOf": [{"type": "array", "items": {"type": "string"}},
                                      {"type": "object", "additionalProperties": ref("ConnectorExpansions")}]})}),
    Route("POST", "/connectors", create_connector, "Create a new connector", _TAG,
          body=ref("CreateConnectorRequest"),
          responses={201: ("Created", ref("ConnectorInfo")), 400: ("Invalid config", ref("ErrorMessage")),
                     409: ("Already exists", ref("ErrorMessage"))}),
    Route("GET", _C, get_connector, "Get the details for the specified connector", _TAG,
          responses={200: _INFO, 404: _NOT_FOUND}),
    Route("DELETE", _C, delete_connector, "Delete the specified connector", _TAG,
          responses={204: ("Deleted", None), 404: _NOT_FOUND}),
    Route("GET", _C + "/config", get_connector_config, "Get the configuration for the specified connector", _TAG,
          responses={200: ("Connector config", {"type": "object", "additionalProperties": {"type": "string"}}),
                     404: _NOT_FOUND}),
    Route("PUT", _C + "/config", put_connector_config, "Create or reconfigure the specified connector", _TAG,
          body={"type": "object", "additionalProperties": {"type": "string"}},
          responses={200: ("Updated", ref("ConnectorInfo")), 201: ("Created", ref("ConnectorInfo")),
                     400: ("Invalid config", ref("ErrorMessage"))}),
    Route("PATCH", _C + "/config", patch_connector_config, "Patch the configuration of the specified connector",
          _TAG, body={"type": "object", "additionalProperties": {"type": "string", "nullable": True}},
          responses={200: _INFO, 404: _NOT_FOUND}),
    Route("GET", _C + "/status", get_connector_status, "Get the status for the specified connector", _TAG,
          responses={200: ("Status", ref("ConnectorStateInfo")), 404: _NOT_FOUND}),
    Route("POST", _C + "/restart", restart_connector, "Restart the specified connector", _TAG,
          query=(Param("includeTasks", {"type": "boolean", "default": False}, "Whether to also restart tasks"),
                 Param("onlyFailed", {"type": "boolean", "default": False},
                       "Whether to only restart failed tasks/connectors")),
          responses={202: ("Restart plan", ref("ConnectorStateInfo")), 204: ("Connector restarted", None),
                     404: _NOT_FOUND}),
    Route("PUT", _C + "/stop", stop_connector, "Stop the specified connector", _TAG,
          responses={204: ("Stopped", None)}),
    Route("PUT", _C + "/pause", pause_connector, "Pause the specified connector", _TAG,
          responses={202: ("Pausing", None), 404: _NOT_FOUND}),
    Route("PUT", _C + "/resume", resume_connector, "Resume the specified connector", _TAG,
          responses={202: ("Resuming", None), 404: _NOT_FOUND}),
    Route("GET", _C + "/tasks", get_task_configs,
          "List all tasks and their configurations for the specified connector", _TAG,
          responses={200: ("Tasks", {"type": "array", "items": ref("TaskInfo")}), 404: _NOT_FOUND}),
    Route("GET", _C + "/tasks-config", get_tasks_config,
          "Get the configuration of all tasks for the specified connector", _TAG, deprecated=True,
          responses={200: ("Task configs by task id", {"type": "object"}), 404: _NOT_FOUND}),
    Route("GET", _C + "/tasks/{task}/status", get_task_status,
          "Get the state of the specified task for the specified connector", _TAG,
          responses={200: ("Task state", ref("TaskState")), 404: ("Unknown task", ref("ErrorMessage"))}),
    Route("POST", _C + "/tasks/{task}/restart", restart_task,
          "Restart the specified task for the specified connector", _TAG,
          responses={204: ("Restarted", None), 404: ("Unknown task", ref("ErrorMessage"))}),
    Route("GET", _C + "/topics", get_active_topics,
          "Get the list of topics actively used by the specified connector", _TAG,
          responses={200: ("Connector name -> active topics",
                           {"type": "object", "additionalProperties": ref("ActiveTopicsInfo")}),
                     403: ("Topic tracking is disabled", ref("ErrorMessage"))}),
    Route("PUT", _C + "/topics/reset", reset_active_topics,
          "Reset the list of topics actively used by the specified connector", _TAG,
          responses={202: ("Reset", None), 403: ("Topic tracking (reset) is disabled", ref("ErrorMessage"))}),
    Route("GET", _C + "/offsets", get_offsets, "Get the current offsets for the specified connector", _TAG,
          responses={200: ("Offsets", ref("ConnectorOffsets")), 404: _NOT_FOUND}),
    Route("PATCH", _C + "/offsets", alter_offsets, "Alter the offsets for the specified connector", _TAG,
          body=ref("ConnectorOffsets"),
          responses={200: _MSG, 400: ("Not stopped, or invalid offsets", ref("ErrorMessage")), 404: _NOT_FOUND}),
    Route("DELETE", _C + "/offsets", reset_offsets, "Reset the offsets for the specified connector", _TAG,
          responses={200: _MSG, 400: ("Not stopped", ref("ErrorMessage")), 404: _NOT_FOUND}),
    Route("POST", _C + "/tasks", put_task_configs, "This operation is only for inter-worker communications",
          _TAG, query=(_FORWARD,), hidden=True, responses={204: ("Done", None)}),
    Route("PUT", _C + "/fence", fence_zombies, "This operation is only for inter-worker communications",
          _TAG, query=(_FORWARD,), hidden=True, responses={204: ("Done", None)}),
]

__all__ = ["ROUTES"]
