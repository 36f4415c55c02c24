"""Exceptions to HTTP answers: every error is ``{"error_code": N, "message": "..."}`` with ``N`` the status.

The mapping is Kafka Connect's ``ConnectExceptionMapper``: :class:`~kcfast.errors.RestError` carries its
status, :class:`~kcfast.errors.NotFoundError` is 404, :class:`~kcfast.errors.AlreadyExistsError` 409,
:class:`~kcfast.errors.BadRequestError` 400, and anything else (including plain
:class:`~kcfast.errors.ConnectError` and malformed request bodies) is 500 with the exception's message.
Router errors (unknown path, wrong method, non-JSON body) get the same body with Jersey's message
(``HTTP 404 Not Found``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from kcfast.errors import AlreadyExistsError, BadRequestError, NotFoundError, RestError

log = logging.getLogger(__name__)

JSON = "application/json"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response (orjson; ``None`` members are kept as ``null``)."""
    return web.Response(body=orjson.dumps(body), status=status, content_type=JSON, headers=headers)


def empty_response(status: int) -> web.Response:
    """A response without a body (202, 204)."""
    return web.Response(status=status)


def error_response(status: int, message: str | None, headers: Any = None) -> web.Response:
    """The error body every failing request gets."""
    return json_response({"error_code": status, "message": message}, status=status, headers=headers)


def status_of(exc: BaseException) -> int:
    """The HTTP status an exception is answered with."""
    if isinstance(exc, RestError):
        return exc.status
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, AlreadyExistsError):
        return 409
    if isinstance(exc, BadRequestError):
        return 400
    return 500


def message_of(exc: BaseException) -> str:
    """The message of an exception as the REST API shows it."""
    if isinstance(exc, RestError):
        return exc.message
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc) or type(exc).__name__


def _reason(exc: web.HTTPException) -> str:
    return f"HTTP {exc.status} {exc.reason}"


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every exception (and every router error) into the JSON error body."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow",)}
        return error_response(exc.status, _reason(exc), headers=headers)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes an error body
        status = status_of(exc)
        if status >= 500:
            log.error("Uncaught exception in REST call to %s", request.path, exc_info=exc)
        else:
            log.debug("Request to %s failed: %s", request.path, exc)
        return error_response(status, message_of(exc))


__all__ = [
    "JSON",
    "empty_response",
    "error_middleware",
    "error_response",
    "json_response",
    "message_of",
    "status_of",
]
