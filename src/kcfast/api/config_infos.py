"""The REST shapes of configuration definitions and validation results (Kafka's ``ConfigInfos`` family).

``PUT /connector-plugins/{p}/config/validate`` answers a :func:`config_infos` dict and
``GET /connector-plugins/{p}/config`` a list of :func:`convert_config_key` dicts. The dicts have exactly
Kafka's field names, in Kafka's order, so ``orjson.dumps`` of them is the answer body::

    {"name": "...", "error_count": 1, "groups": ["Common"],
     "configs": [{"definition": {"name": ..., "type": "STRING", "required": true, "default_value": null,
                                 "importance": "HIGH", "documentation": ..., "group": ..., "order": 1,
                                 "width": "NONE", "display_name": ..., "dependents": []},
                  "value": {"name": ..., "value": null, "recommended_values": [], "errors": [...],
                            "visible": true}}]}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kcfast.api.config import ConfigDef, ConfigKey, ConfigValue, Type, convert_to_string


def convert_config_key(key: ConfigKey, prefix: str = "") -> dict[str, Any]:
    """The ConfigKeyInfo of a definition; ``prefix`` is put before its name (for converter sub-configs).

    ``required`` is true iff the key has no default, and then ``default_value`` is ``None``; otherwise the
    default is stringified as Kafka does (LIST joined by ``,``, CLASS as its name).
    """
    required = not key.has_default()
    return {
        "name": prefix + key.name,
        "type": key.type.name,
        "required": required,
        "default_value": None if required else convert_to_string(key.default_value, key.type),
        "importance": key.importance.name,
        "documentation": key.documentation,
        "group": key.group,
        "order": key.order_in_group,
        "width": key.width.name,
        "display_name": key.display_name,
        "dependents": list(key.dependents),
    }


def convert_config_value(value: ConfigValue, type: Type | None) -> dict[str, Any]:
    """The ConfigValueInfo of a validated value of a key of ``type`` (``None`` for an undefined key).

    The value is stringified (PASSWORD -> ``[hidden]``, LIST joined by ``,``); recommended values are
    stringified one by one (as STRING for a LIST key).
    """
    element_type = Type.STRING if type is Type.LIST else type
    return {
        "name": value.name,
        "value": convert_to_string(value.value, type),
        "recommended_values": [convert_to_string(v, element_type) for v in value.recommended_values],
        "errors": list(value.error_messages),
        "visible": value.visible,
    }


def _keys_of(definition: ConfigDef | Mapping[str, ConfigKey]) -> Mapping[str, ConfigKey]:
    return definition.config_keys() if isinstance(definition, ConfigDef) else definition


def config_infos(
    connector_class_name: str,
    config_def: ConfigDef | Mapping[str, ConfigKey],
    config_values: Iterable[ConfigValue],
    groups: Iterable[str],
) -> dict[str, Any]:
    """The ConfigInfos of a validation (Kafka's ``AbstractHerder.generateResult``).

    Values of keys that ``config_def`` does not define come first, with ``definition`` ``None``; then every
    defined key in definition order, with ``value`` ``None`` if it was not validated. ``error_count`` is the
    total number of error messages.

    Args:
        connector_class_name: the ``name`` field (the ``connector.class`` as the user gave it).
        config_def: the definition, or its ``config_keys()`` mapping.
        config_values: the validated values, e.g. ``config_def.validate(props)``.
        groups: the ``groups`` field.
    """
    keys = _keys_of(config_def)
    error_count = 0
    configs: list[dict[str, Any]] = []
    by_name: dict[str, ConfigValue] = {}
    for value in config_values:
        by_name[value.name] = value
        if value.name not in keys:
            configs.append({"definition": None, "value": convert_config_value(value, None)})
            error_count += len(value.error_messages)
    for name, key in keys.items():
        validated = by_name.get(name)
        value_info = None
        if validated is not None:
            value_info = convert_config_value(validated, key.type)
            error_count += len(validated.error_messages)
        configs.append({"definition": convert_config_key(key), "value": value_info})
    return {
        "name": connector_class_name,
        "error_count": error_count,
        "groups": list(groups),
        "configs": configs,
    }


def prefixed_config_infos(
    config_def: ConfigDef | Mapping[str, ConfigKey] | None,
    config_values: Iterable[ConfigValue] | None,
    prefix: str,
) -> dict[str, Any]:
    """The ConfigInfos of a plugin validated inside a connector config (converters, client overrides).

    Names get ``prefix`` (e.g. ``value.converter.``), entries follow ``config_values``' order, groups are
    those of the keys met, ``name`` is ``""``, and ``error_count`` counts erroring keys, not messages
    (Kafka's ``AbstractHerder.prefixedConfigInfos``). ``config_values`` ``None`` gives an empty result.
    """
    groups: dict[str, None] = {}
    configs: list[dict[str, Any]] = []
    error_count = 0
    keys = _keys_of(config_def) if config_def is not None else {}
    for validated in config_values or ():
        key = keys.get(validated.name)
        key_info = None
        if key is not None:
            if key.group is not None:
                groups[key.group] = None
            key_info = convert_config_key(key, prefix)
        renamed = ConfigValue(
            prefix + validated.name, validated.value, validated.recommended_values, validated.error_messages
        )
        if renamed.error_messages:
            error_count += 1
        configs.append(
            {
                "definition": key_info,
                "value": convert_config_value(renamed, key.type if key is not None else None),
            }
        )
    return {"name": "", "error_count": error_count, "groups": list(groups), "configs": configs}


def merge_config_infos(connector_class_name: str, *infos: Mapping[str, Any] | None) -> dict[str, Any]:
    """Concatenate ConfigInfos (skipping ``None``): summed error counts, groups in first-seen order."""
    groups: dict[str, None] = {}
    configs: list[dict[str, Any]] = []
    error_count = 0
    for info in infos:
        if info is None:
            continue
        error_count += info["error_count"]
        configs.extend(info["configs"])
        groups.update(dict.fromkeys(info["groups"]))
    return {
        "name": connector_class_name,
        "error_count": error_count,
        "groups": list(groups),
        "configs": configs,
    }


def config_error_messages(infos: Mapping[str, Any]) -> list[str]:
    """Every error message of a ConfigInfos, in entry order (the lines of Kafka's 400 "invalid" message)."""
    return [
        msg for entry in infos["configs"] if entry["value"] is not None for msg in entry["value"]["errors"]
    ]


def invalid_config_message(infos: Mapping[str, Any]) -> str:
    """The text of the 400 answer to a create or update whose validation found errors."""
    lines = [
        f"Connector configuration is invalid and contains the following {infos['error_count']} error(s):",
        *config_error_messages(infos),
        "You can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`",
    ]
    return "\n".join(lines)


__all__ = [
    "config_error_messages",
    "config_infos",
    "convert_config_key",
    "convert_config_value",
    "invalid_config_message",
    "merge_config_infos",
    "prefixed_config_infos",
]
