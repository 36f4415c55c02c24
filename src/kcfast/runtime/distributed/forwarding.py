"""REST requests a distributed worker cannot serve itself: forwarding to the leader or owner (spec 1.1).

Writes that only the leader may make (create, reconfigure, delete, stop, restarts, offsets changes, internal
task-config writes) and restarts that only a connector's or task's owner may perform raise a
:class:`RequestTargetError` carrying the URL of the worker that can. :func:`forwarding_middleware` catches it
and forwards the request there with Kafka's hop rules:

- the first worker (no ``forward`` parameter) forwards with ``?forward=true``;
- a worker receiving ``forward=true`` may forward once more, with ``forward=false``;
- a worker receiving ``forward=false`` answers 409 ``Cannot complete request because of a conflicting
  operation (e.g. worker rebalance)``;
- an unknown target answers 409 ``... no known leader URL ...``.

Only the ``Authorization`` header is copied; other query parameters (``includeTasks``, ``onlyFailed``) are kept.
The answer is passed back: an error status with its message, a success with its body (a ``Location`` is
rewritten to this worker's address). A pending config-driven rebalance answers 409 on these endpoints (and 500
on the reads, through the usual error mapping). The same middleware checks the signature of internal requests
before they reach the herder.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import orjson
from aiohttp import web

from kcfast.errors import ConnectError, RebalanceNeededError, RestError
from kcfast.rest.errors import JSON

__all__ = [
    "FORWARDABLE",
    "SIGNED",
    "NotAssignedError",
    "NotLeaderError",
    "RequestTargetError",
    "forward_request",
    "forwarding_middleware",
]

log = logging.getLogger(__name__)

_C = "/connectors/{connector}"
#: Endpoints whose requests may be forwarded: (method, route path).
FORWARDABLE = frozenset(
    {
        ("POST", "/connectors"),
        ("PUT", _C + "/config"),
        ("PATCH", _C + "/config"),
        ("POST", _C + "/restart"),
        ("PUT", _C + "/stop"),
        ("POST", _C + "/tasks/{task}/restart"),
        ("DELETE", _C),
        ("PATCH", _C + "/offsets"),
        ("DELETE", _C + "/offsets"),
        ("POST", _C + "/tasks"),
        ("PUT", _C + "/fence"),
    }
)
#: Internal endpoints whose requests must be signed under the ``sessioned`` protocol.
SIGNED = frozenset({("POST", _C + "/tasks"), ("PUT", _C + "/fence")})

STALE_CONFIG = (
    "Cannot complete request momentarily due to stale configuration (typically caused by a concurrent "
    "config change)"
)
NO_LEADER = (
    "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway."
)
CONFLICT = "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"


class RequestTargetError(ConnectError):
    """This worker cannot serve the request; ``forward_url`` (``http://host:port/``, or ``None``) can."""

    def __init__(self, message: str, forward_url: str | None) -> None:
        super().__init__(message)
        self.forward_url = forward_url


class NotLeaderError(RequestTargetError):
    """Only the leader may serve the request."""


class NotAssignedError(RequestTargetError):
    """Only the worker running the connector or task may serve the request."""


class InternalRequestVerifier(Protocol):
    """What checks internal request signatures (the distributed herder)."""

    def verify_internal_request(self, body: bytes, headers: Any) -> None:
        """Raise the 400/403/503 error of a badly signed request."""


def _route_key(request: web.Request) -> tuple[str, str] | None:
    resource = request.match_info.route.resource
    if resource is None:
        return None
    path = resource.canonical
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return request.method, path


def forwarding_middleware(verifier: InternalRequestVerifier, session: Any) -> Any:
    """The aiohttp middleware of a distributed worker (put it after the error middleware).

    Args:
        verifier: checks internal request signatures (``verify_internal_request(body, headers)``).
        session: a callable returning the :class:`aiohttp.ClientSession` used to forward.
    """

    @web.middleware
    async def forwarding(request: web.Request, handler: Any) -> web.StreamResponse:
        key = _route_key(request)
        if key in SIGNED:
            verifier.verify_internal_request(await request.read(), request.headers)
        if key not in FORWARDABLE:
            return await handler(request)  # type: ignore[no-any-return]
        try:
            return await handler(request)  # type: ignore[no-any-return]
        except RequestTargetError as exc:
            return await forward_request(request, exc, session())
        except RebalanceNeededError:
            raise RestError(409, STALE_CONFIG) from None

    return forwarding


def _forward_flag(request: web.Request) -> bool | None:
    value = request.query.get("forward")
    if value is None:
        return None
    return value.lower() == "true"


async def forward_request(
    request: web.Request, target: RequestTargetError, session: aiohttp.ClientSession
) -> web.StreamResponse:
    """Forward ``request`` to ``target.forward_url`` under the hop rules, and answer what the target answered.

    Raises:
        RestError: 409 when the target is unknown or the hop limit is reached; the target's error status and
            message; 500 for an unexpected status or an I/O error.
    """
    forward = _forward_flag(request)
    if forward is False:
        log.error(
            "Request '%s %s' failed because it couldn't find the target Connect worker within two hops "
            "(between workers).",
            request.method,
            request.path,
        )
        raise RestError(409, CONFLICT)
    if target.forward_url is None:
        raise RestError(409, NO_LEADER)
    query: list[tuple[str, str]] = [("forward", "true" if forward is None else "false")]
    query += [(k, v) for k, v in request.query.items() if k != "forward"]
    url = target.forward_url.rstrip("/") + request.rel_url.raw_path
    headers = {"Accept": JSON, "User-Agent": "kafka-connect"}
    if "Authorization" in request.headers:
        headers["Authorization"] = request.headers["Authorization"]
    body = await request.read()
    if body:
        headers["Content-Type"] = JSON
    log.debug("Forwarding request %s %s", request.method, url)
    try:
        async with session.request(
            request.method, url, params=query, data=body or None, headers=headers, allow_redirects=False
        ) as response:
            status = response.status
            data = await response.read()
            location = response.headers.get("Location")
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        log.error("IO error forwarding REST request to %s", url, exc_info=exc)
        raise RestError(500, f"IO Error trying to forward REST request: {exc}") from exc
    if status == 204:
        return web.Response(status=204)
    if status >= 400:
        raise RestError(status, _error_message(data))
    if not 200 <= status < 300:
        raise RestError(500, f"Unexpected status code when handling forwarded request: {status}")
    out_headers = {}
    if location:
        path = urlsplit(location).path
        out_headers["Location"] = f"{request.scheme}://{request.host}{path}"
    if not data:
        return web.Response(status=status, headers=out_headers)
    return web.Response(body=data, status=status, content_type=JSON, headers=out_headers)


def _error_message(data: bytes) -> str:
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        return data.decode("utf-8", "replace")
    if isinstance(body, dict) and "message" in body:
        return str(body["message"])
    return data.decode("utf-8", "replace")
