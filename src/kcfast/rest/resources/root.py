"""``/``, ``/health``, ``/openapi.json``, ``/metrics`` and the admin endpoints ``/admin/loggers``."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from kcfast import _version
from kcfast.errors import BadRequestError, NotFoundError
from kcfast.rest import entities
from kcfast.rest.entities import ref, worker_status
from kcfast.rest.errors import empty_response, json_response
from kcfast.rest.loggers import LOG4J_LEVELS
from kcfast.rest.resources._common import ROUTES as ROUTES_KEY
from kcfast.rest.resources._common import SETTINGS, Param, Route, herder_of, read_body, require_body

log = logging.getLogger(__name__)

#: The source revision reported by ``GET /`` (``commit``).
COMMIT = getattr(_version, "COMMIT", "unknown")

#: The Prometheus registry ``GET /metrics`` serves (set by the server when it builds the application).
METRICS: web.AppKey[Any] = web.AppKey("metrics", object)


async def server_info(request: web.Request) -> web.Response:
    herder = herder_of(request)
    return json_response(
        {"version": _version.KAFKA_VERSION, "commit": COMMIT, "kafka_cluster_id": herder.kafka_cluster_id}
    )


async def health(request: web.Request) -> web.Response:
    herder = herder_of(request)
    check = asyncio.ensure_future(herder.health_check())
    try:
        await asyncio.wait_for(check, request.app[SETTINGS].health_timeout)
    except TimeoutError:
        stage = herder.current_stage()
        details = stage.summarize() if stage is not None and stage.completed is None else None
        if not herder.is_ready():
            return json_response(worker_status("starting", details), status=503)
        return json_response(worker_status("unhealthy", details), status=500)
    return json_response(worker_status("healthy"))


async def openapi(request: web.Request) -> web.Response:
    from kcfast.rest.openapi import openapi_document

    routes: list[Route] = request.app[ROUTES_KEY]
    return json_response(openapi_document(routes))


async def metrics(request: web.Request) -> web.Response:
    from kcfast.metrics import exposition

    registry = request.app.get(METRICS)
    if registry is None:
        raise NotFoundError("Metrics are not enabled on this listener.")
    body, content_type = exposition(registry)
    return web.Response(body=body, headers={"Content-Type": content_type})


async def list_loggers(request: web.Request) -> web.Response:
    return json_response(herder_of(request).all_logger_levels())


async def get_logger(request: web.Request) -> web.Response:
    name = request.match_info["logger"]
    level = herder_of(request).logger_level(name)
    if level is None:
        raise NotFoundError(f"Logger {name} not found.")
    return json_response(level)


async def set_logger_level(request: web.Request) -> web.Response:
    namespace = request.match_info["logger"]
    body = require_body(await read_body(request, entities.CONFIG_MAP), "level")
    scope = request.query.get("scope", "worker")
    level = body.get("level")
    if level is None:
        raise BadRequestError("Desired 'level' parameter was not specified in request.")
    if level.upper() not in LOG4J_LEVELS:
        raise NotFoundError(f"invalid log level '{level}'.")
    herder = herder_of(request)
    if scope.lower() == "cluster":
        await herder.set_cluster_logger_level(namespace, level)
        return empty_response(204)
    if scope.lower() != "worker":
        log.warning("Received invalid scope '%s' in request to adjust logging level; will default to worker", scope)
    return json_response(herder.set_worker_logger_level(namespace, level))


ROUTES: list[Route] = [
    Route("GET", "/", server_info,
          "Get details about this Connect worker and the ID of the Kafka cluster it is connected to", "Root",
          responses={200: ("Server info", ref("ServerInfo"))}),
    Route("GET", "/health", health, "Health check endpoint to verify worker readiness and liveness", "Root",
          responses={200: ("Healthy", ref("WorkerStatus")), 500: ("Unhealthy", ref("WorkerStatus")),
                     503: ("Starting", ref("WorkerStatus"))}),
    Route("GET", "/openapi.json", openapi, "This OpenAPI document", "Root",
          responses={200: ("OpenAPI 3 document", {"type": "object"})}),
    Route("GET", "/metrics", metrics, "The worker's metrics in the Prometheus text format", "Root",
          responses={200: ("Prometheus text exposition format 0.0.4 (text/plain)", None)}),
]

ADMIN_ROUTES: list[Route] = [
    Route("GET", "/admin/loggers", list_loggers,
          "List the current loggers that have their levels explicitly set and their log levels", "Logging",
          admin=True,
          responses={200: ("Logger name -> level", {"type": "object", "additionalProperties": ref("LoggerLevel")})}),
    Route("GET", "/admin/loggers/{logger}", get_logger, "Get the log level for the specified logger", "Logging",
          admin=True, responses={200: ("Level", ref("LoggerLevel")), 404: ("Unknown logger", ref("ErrorMessage"))}),
    Route("PUT", "/admin/loggers/{logger}", set_logger_level, "Set the log level for the specified logger",
          "Logging", admin=True, body=ref("LevelRequest"),
          query=(Param("scope", {"type": "string", "enum": ["worker", "cluster"], "default": "worker"},
                       "The scope for the logging modification (single-worker, cluster-wide, etc.)"),),
          responses={200: ("Names of the loggers changed (worker scope)", {"type": "array", "items": {"type": "string"}}),
                     204: ("Applied (cluster scope)", None),
                     400: ("No level given", ref("ErrorMessage")), 404: ("Invalid level", ref("ErrorMessage"))}),
]

__all__ = ["ADMIN_ROUTES", "COMMIT", "METRICS", "ROUTES"]
