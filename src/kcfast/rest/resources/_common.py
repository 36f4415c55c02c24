"""What the resource modules share: the route record, app keys, request timeouts and body reading."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

from aiohttp import web

from kcfast.errors import RestError
from kcfast.rest import jsonbody
from kcfast.runtime.herder import HEALTH_CHECK_TIMEOUT_S, REQUEST_TIMEOUT_S, track_request

T = TypeVar("T")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_JAVA_WHITESPACE = "".join(chr(i) for i in range(33))


@dataclass(frozen=True)
class Param:
    """A query parameter of a route, for the OpenAPI document."""

    name: str
    schema: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class Route:
    """One endpoint: what serves it and how the OpenAPI document describes it.

    Attributes:
        method: HTTP method.
        path: aiohttp path template (``/connectors/{connector}``).
        handler: the coroutine serving it.
        summary: one line for the OpenAPI document.
        tag: the OpenAPI tag (the Kafka resource class it mirrors).
        query: query parameters.
        body: JSON Schema of the request body, if any.
        responses: status -> (description, JSON Schema or ``None`` for an empty body).
        admin: served on the admin listeners (``/admin/*``).
        hidden: left out of the OpenAPI document (internal endpoints).
        deprecated: marked deprecated in the OpenAPI document.
    """

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    query: tuple[Param, ...] = ()
    body: dict[str, Any] | None = None
    responses: dict[int, tuple[str, dict[str, Any] | None]] = field(default_factory=dict)
    admin: bool = False
    hidden: bool = False
    deprecated: bool = False


@dataclass
class RestSettings:
    """Per-server settings the handlers read.

    Attributes:
        request_timeout: seconds a request waits for the herder (90 as in Kafka).
        health_timeout: seconds ``GET /health`` waits for the herder (10 as in Kafka).
        topic_tracking: ``topic.tracking.enable``.
        topic_tracking_reset: ``topic.tracking.allow.reset``.
    """

    request_timeout: float = REQUEST_TIMEOUT_S
    health_timeout: float = HEALTH_CHECK_TIMEOUT_S
    topic_tracking: bool = True
    topic_tracking_reset: bool = True


HERDER: web.AppKey[Any] = web.AppKey("herder", object)
SETTINGS: web.AppKey[RestSettings] = web.AppKey("settings", RestSettings)
ROUTES: web.AppKey[list[Route]] = web.AppKey("routes", list)


def herder_of(request: web.Request) -> Any:
    """The herder serving this request."""
    return request.app[HERDER]


def _consume(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


async def complete(request: web.Request, work: Awaitable[T], *, validation: bool = False) -> T:
    """Wait for a herder call within the request timeout.

    On timeout the answer is 500 ``Request timed out. <stage summary>`` naming what the herder was doing
    (for validation, without the final period, as Kafka words it); the herder call itself goes on.
    """
    box = track_request()
    task = asyncio.ensure_future(work)
    task.add_done_callback(_consume)
    try:
        return await asyncio.wait_for(asyncio.shield(task), request.app[SETTINGS].request_timeout)
    except TimeoutError:
        stage = box.stage or herder_of(request).current_stage()
        if stage is None:
            raise RestError(500, "Request timed out") from None
        raise RestError(500, "Request timed out. " + stage.summarize(final_period=not validation)) from None


async def read_body(request: web.Request, expected: jsonbody.JsonType, *, empty_is_null: bool = True) -> Any:
    """Read the JSON body as ``expected`` (malformed or mistyped bodies raise ``JsonBodyError``, a 500)."""
    content_type = request.headers.get("Content-Type")
    if content_type is not None:
        mime = content_type.split(";", 1)[0].strip().lower()
        if mime and mime != "application/json" and not mime.endswith("+json") and mime != "*/*":
            raise web.HTTPUnsupportedMediaType()
    return jsonbody.parse(await request.read(), expected, empty_is_null=empty_is_null)


def require_body(value: T | None, what: str) -> T:
    """The body, or a 500 naming the missing body (Kafka answers an empty body with a 500 too)."""
    if value is None:
        raise RestError(500, f"The request body ({what}) may not be empty")
    return value


def query_flag(request: web.Request, name: str, default: bool) -> bool:
    """A boolean query parameter read like Java's ``Boolean.valueOf``: ``true`` (any case) or false."""
    value = request.query.get(name)
    if value is None:
        return default
    return value.lower() == "true"


def path_int(request: web.Request, name: str) -> int:
    """An integer path parameter; anything else is 404, as the Java router answers."""
    text = request.match_info[name]
    try:
        value = int(text)
    except ValueError:
        raise web.HTTPNotFound() from None
    if not -(2**31) <= value < 2**31 or text.strip() != text or "_" in text:
        raise web.HTTPNotFound()
    return value


def java_trim(text: str) -> str:
    """Java's ``String.trim()``."""
    return text.strip(_JAVA_WHITESPACE)


def location(request: web.Request, connector: str) -> str:
    """The absolute ``Location`` of a created connector."""
    return f"{request.scheme}://{request.host}/connectors/{quote(connector, safe='')}"


__all__ = [
    "HERDER",
    "ROUTES",
    "SETTINGS",
    "Param",
    "RestSettings",
    "Route",
    "complete",
    "herder_of",
    "java_trim",
    "location",
    "path_int",
    "query_flag",
    "read_body",
    "require_body",
]
