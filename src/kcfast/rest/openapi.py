"""The OpenAPI 3 document of the REST API, generated from the route table (so it cannot drift from it)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from kcfast import _version
from kcfast.rest.entities import SCHEMAS
from kcfast.rest.resources._common import Route

_PATH_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")
_PATH_PARAM_SCHEMAS = {"task": {"type": "integer"}}


def _operation_id(route: Route) -> str:
    first, *rest = route.handler.__name__.split("_")
    return first + "".join(part.title() for part in rest)


def _operation(route: Route) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": _PATH_PARAM_SCHEMAS.get(name, {"type": "string"})}
        for name in _PATH_PARAM.findall(route.path)
    ]
    for query in route.query:
        param: dict[str, Any] = {"name": query.name, "in": "query", "required": False, "schema": query.schema}
        if query.description:
            param["description"] = query.description
        if query.schema.get("type") == "array":
            param["explode"] = True
        params.append(param)
    operation: dict[str, Any] = {"summary": route.summary, "operationId": _operation_id(route), "tags": [route.tag]}
    if params:
        operation["parameters"] = params
    if route.body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": route.body}}}
    responses: dict[str, Any] = {}
    for status, (description, schema) in sorted(route.responses.items()):
        response: dict[str, Any] = {"description": description}
        if schema is not None:
            response["content"] = {"application/json": {"schema": schema}}
        responses[str(status)] = response
    responses["default"] = {
        "description": "Error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorMessage"}}},
    }
    operation["responses"] = responses
    if route.deprecated:
        operation["deprecated"] = True
    return operation


def openapi_document(routes: Iterable[Route]) -> dict[str, Any]:
    """The OpenAPI 3.0 document of ``routes`` (hidden routes are left out)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if route.hidden:
            continue
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "kcfast REST API",
            "description": f"The Kafka Connect {_version.KAFKA_VERSION} REST API, served by kcfast.",
            "version": _version.__version__,
        },
        "paths": paths,
        "components": {"schemas": SCHEMAS},
    }


__all__ = ["openapi_document"]
