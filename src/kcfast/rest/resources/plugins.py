"""``/connector-plugins``: installed plugins, their configuration definitions, and config validation."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from kcfast.errors import BadRequestError
from kcfast.rest import entities
from kcfast.rest.entities import plugin_info, ref
from kcfast.rest.errors import json_response
from kcfast.rest.resources._common import (
    Param,
    Route,
    complete,
    herder_of,
    query_flag,
    read_body,
    require_body,
)

_CONNECTOR_TYPES = ("sink", "source")
_ALIAS_SUFFIX = "Connector"


def _normalized(name: str) -> str:
    if name.endswith(_ALIAS_SUFFIX) and len(name) > len(_ALIAS_SUFFIX):
        return name[: -len(_ALIAS_SUFFIX)]
    return name


def _describe(desc: Any) -> dict[str, Any]:
    plugin_type = desc.type.value if hasattr(desc.type, "value") else str(desc.type)
    return plugin_info(desc.class_name, plugin_type, desc.version)


async def list_plugins(request: web.Request) -> web.Response:
    connectors_only = query_flag(request, "connectorsOnly", True)
    infos = [_describe(d) for d in herder_of(request).plugins.all_plugins()]
    if connectors_only:
        infos = [i for i in infos if i["type"] in _CONNECTOR_TYPES]
    return json_response(infos)


async def plugin_config(request: web.Request) -> web.Response:
    herder = herder_of(request)
    name = request.match_info["plugin"]
    loop = asyncio.get_running_loop()
    keys = await loop.run_in_executor(herder.validation_executor, herder.connector_plugin_config, name)
    return json_response(keys)


async def validate_config(request: web.Request) -> web.Response:
    plugin = request.match_info["plugin"]
    config = require_body(await read_body(request, entities.CONFIG_MAP), "connector config")
    included = config.get("connector.class")
    if included is not None and not _normalized(included).endswith(_normalized(plugin)):
        raise BadRequestError(f"Included connector type {included} does not match request type {plugin}")
    herder = herder_of(request)
    return json_response(await complete(request, herder.validate_connector_config(config, False), validation=True))


_TAG = "Connector plugins"
_P = "/connector-plugins/{plugin}"

ROUTES: list[Route] = [
    Route("GET", "/connector-plugins", list_plugins, "List all connector plugins installed", _TAG,
          query=(Param("connectorsOnly", {"type": "boolean", "default": True},
                       "Whether to list only connectors instead of all plugins"),),
          responses={200: ("Plugins", {"type": "array", "items": ref("PluginInfo")})}),
    Route("GET", _P + "/config", plugin_config, "Get the configuration definition for the specified pluginName",
          _TAG, responses={200: ("Config definitions", {"type": "array", "items": ref("ConfigKeyInfo")}),
                           400: ("Not a plugin class", ref("ErrorMessage")),
                           404: ("Unknown plugin", ref("ErrorMessage"))}),
    Route("PUT", _P + "/config/validate", validate_config,
          "Validate the provided configuration against the configuration definition for the specified pluginName",
          _TAG, body={"type": "object", "additionalProperties": {"type": "string"}},
          responses={200: ("Validation result (also when the config has errors)", ref("ConfigInfos")),
                     400: ("Connector type mismatch or missing connector.class", ref("ErrorMessage"))}),
]

__all__ = ["ROUTES"]
