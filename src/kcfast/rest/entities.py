"""The REST entities: how request bodies are read and what response bodies look like.

Request bodies are read with :mod:`kcfast.rest.jsonbody` against the types below, named after Kafka
Connect's entity classes so that error messages name the same types Kafka's do. Response bodies are plain
dicts with Kafka's field names, serialized with orjson; :data:`SCHEMAS` describes them for the OpenAPI
document.
"""

from __future__ import annotations

from typing import Any

from kcfast.rest.jsonbody import ANY, STRING, JsonType, bean, enum_of, list_of, map_of

_ENTITIES = "org.apache.kafka.connect.runtime.rest.entities"

#: A flat connector config (``Map<String, String>``): numbers and booleans are read as their text.
CONFIG_MAP = map_of(STRING)

#: ``POST /connectors``.
CREATE_CONNECTOR_REQUEST = bean(
    f"{_ENTITIES}.CreateConnectorRequest",
    {
        "name": STRING,
        "config": CONFIG_MAP,
        "initial_state": enum_of(f"{_ENTITIES}.CreateConnectorRequest$InitialState", ("RUNNING", "PAUSED", "STOPPED")),
    },
)

#: One entry of ``PATCH /connectors/{c}/offsets``.
CONNECTOR_OFFSET = bean(f"{_ENTITIES}.ConnectorOffset", {"partition": map_of(ANY), "offset": map_of(ANY)})

#: ``PATCH /connectors/{c}/offsets``.
CONNECTOR_OFFSETS = bean(f"{_ENTITIES}.ConnectorOffsets", {"offsets": list_of(CONNECTOR_OFFSET)})

#: ``POST /connectors/{c}/tasks`` (internal).
TASK_CONFIGS = list_of(CONFIG_MAP)

# -- response shapes (JSON Schema, for the OpenAPI document) -------------------------------------------------


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_STR = {"type": "string"}
_STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_NULLABLE_STR = {"type": "string", "nullable": True}
_STATE = {"type": "string", "enum": ["UNASSIGNED", "RUNNING", "PAUSED", "FAILED", "RESTARTING", "STOPPED"]}
_TYPE = {"type": "string", "enum": ["source", "sink", "unknown"]}

SCHEMAS: dict[str, dict[str, Any]] = {
    "ErrorMessage": _obj({"error_code": {"type": "integer"}, "message": _NULLABLE_STR}, ["error_code", "message"]),
    "ServerInfo": _obj({"version": _STR, "commit": _STR, "kafka_cluster_id": _NULLABLE_STR}),
    "WorkerStatus": _obj({"status": {"type": "string", "enum": ["healthy", "starting", "unhealthy"]}, "message": _STR}),
    "ConnectorTaskId": _obj({"connector": _STR, "task": {"type": "integer"}}, ["connector", "task"]),
    "ConnectorInfo": _obj(
        {"name": _STR, "config": _STR_MAP, "tasks": {"type": "array", "items": _ref("ConnectorTaskId")}, "type": _TYPE},
        ["name", "config", "tasks", "type"],
    ),
    "ConnectorState": _obj({"state": _STATE, "worker_id": _STR, "trace": _STR}, ["state", "worker_id"]),
    "TaskState": _obj(
        {"id": {"type": "integer"}, "state": _STATE, "worker_id": _STR, "trace": _STR}, ["id", "state", "worker_id"]
    ),
    "ConnectorStateInfo": _obj(
        {
            "name": _STR,
            "connector": _ref("ConnectorState"),
            "tasks": {"type": "array", "items": _ref("TaskState")},
            "type": _TYPE,
        },
        ["name", "connector", "tasks", "type"],
    ),
    "ConnectorExpansions": _obj({"status": _ref("ConnectorStateInfo"), "info": _ref("ConnectorInfo")}),
    "TaskInfo": _obj({"id": _ref("ConnectorTaskId"), "config": _STR_MAP}, ["id", "config"]),
    "CreateConnectorRequest": _obj(
        {
            "name": _STR,
            "config": _STR_MAP,
            "initial_state": {"type": "string", "enum": ["RUNNING", "PAUSED", "STOPPED"]},
        },
        ["name", "config"],
    ),
    "ConnectorOffset": _obj(
        {"partition": {"type": "object"}, "offset": {"type": "object", "nullable": True}}, ["partition"]
    ),
    "ConnectorOffsets": _obj({"offsets": {"type": "array", "items": _ref("ConnectorOffset")}}, ["offsets"]),
    "Message": _obj({"message": _STR}, ["message"]),
    "ActiveTopicsInfo": _obj({"topics": {"type": "array", "items": _STR}}, ["topics"]),
    "PluginInfo": _obj({"class": _STR, "type": _STR, "version": _STR}, ["class", "type"]),
    "ConfigKeyInfo": _obj(
        {
            "name": _STR,
            "type": _STR,
            "required": {"type": "boolean"},
            "default_value": _NULLABLE_STR,
            "importance": _STR,
            "documentation": _NULLABLE_STR,
            "group": _NULLABLE_STR,
            "order": {"type": "integer"},
            "width": _STR,
            "display_name": _NULLABLE_STR,
            "dependents": {"type": "array", "items": _STR},
        }
    ),
    "ConfigValueInfo": _obj(
        {
            "name": _STR,
            "value": _NULLABLE_STR,
            "recommended_values": {"type": "array", "items": _STR},
            "errors": {"type": "array", "items": _STR},
            "visible": {"type": "boolean"},
        }
    ),
    "ConfigInfo": _obj(
        {
            "definition": {**_ref("ConfigKeyInfo"), "nullable": True},
            "value": {**_ref("ConfigValueInfo"), "nullable": True},
        }
    ),
    "ConfigInfos": _obj(
        {
            "name": _STR,
            "error_count": {"type": "integer"},
            "groups": {"type": "array", "items": _STR},
            "configs": {"type": "array", "items": _ref("ConfigInfo")},
        }
    ),
    "LoggerLevel": _obj({"level": _STR, "last_modified": {"type": "integer", "nullable": True}}, ["level"]),
    "LevelRequest": _obj({"level": _STR}, ["level"]),
}


def ref(name: str) -> dict[str, str]:
    """A JSON Schema reference to one of :data:`SCHEMAS`."""
    return _ref(name)


def plugin_info(class_name: str, plugin_type: str, version: str | None) -> dict[str, Any]:
    """A PluginInfo body; ``version`` is left out when the plugin has none (``undefined``)."""
    body: dict[str, Any] = {"class": class_name, "type": plugin_type}
    if version is not None and version != "undefined":
        body["version"] = version
    return body


def worker_status(status: str, details: str | None = None) -> dict[str, str]:
    """The WorkerStatus body of ``GET /health`` for ``healthy``, ``starting`` or ``unhealthy``."""
    if status == "healthy":
        return {"status": status, "message": "Worker has completed startup and is ready to handle requests."}
    if status == "starting":
        message = "Worker is still starting up."
    else:
        message = "Worker was unable to handle this request and may be unable to handle other requests."
    if details is not None:
        message += " " + details
    return {"status": status, "message": message}


__all__ = [
    "CONFIG_MAP",
    "CONNECTOR_OFFSET",
    "CONNECTOR_OFFSETS",
    "CREATE_CONNECTOR_REQUEST",
    "SCHEMAS",
    "TASK_CONFIGS",
    "JsonType",
    "plugin_info",
    "ref",
    "worker_status",
]
