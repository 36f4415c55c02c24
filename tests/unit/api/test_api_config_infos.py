"""The REST shapes of validation results: exact field names, order, stringification and error counts."""

from __future__ import annotations

import json

from kcfast.api.config import (
    ConfigDef,
    ConfigValue,
    Importance,
    NonEmptyString,
    Range,
    Type,
    ValidString,
    Width,
)
from kcfast.api.config_infos import (
    config_error_messages,
    config_infos,
    convert_config_key,
    invalid_config_message,
    merge_config_infos,
    prefixed_config_infos,
)

FILE_SOURCE_DEF = (
    ConfigDef()
    .define("file", Type.STRING, None, importance=Importance.HIGH, documentation="Source filename.")
    .define(
        "topic",
        Type.STRING,
        validator=NonEmptyString(),
        importance=Importance.HIGH,
        documentation="The topic",
    )
    .define("batch.size", Type.INT, 2000, importance=Importance.LOW, documentation="Max records per poll")
)


def test_config_key_info_fields_in_kafka_order() -> None:
    key = (
        ConfigDef()
        .define(
            "tasks.max",
            Type.INT,
            1,
            Range.at_least(1),
            Importance.HIGH,
            "Maximum number of tasks",
            "Common",
            3,
            Width.SHORT,
            "Tasks max",
            ["a"],
        )
        .define("a", Type.STRING, "")
        .config_keys()["tasks.max"]
    )
    info = convert_config_key(key)
    assert list(info) == [
        "name",
        "type",
        "required",
        "default_value",
        "importance",
        "documentation",
        "group",
        "order",
        "width",
        "display_name",
        "dependents",
    ]
    assert info == {
        "name": "tasks.max",
        "type": "INT",
        "required": False,
        "default_value": "1",
        "importance": "HIGH",
        "documentation": "Maximum number of tasks",
        "group": "Common",
        "order": 3,
        "width": "SHORT",
        "display_name": "Tasks max",
        "dependents": ["a"],
    }
    assert convert_config_key(key, "value.converter.")["name"] == "value.converter.tasks.max"


def test_default_value_stringification() -> None:
    config_def = (
        ConfigDef()
        .define("req", Type.STRING)
        .define("lst", Type.LIST, "a, b")
        .define("empty", Type.LIST, "")
        .define("flag", Type.BOOLEAN, False)
        .define("ratio", Type.DOUBLE, 1)
        .define("none", Type.STRING, None)
        .define("pw", Type.PASSWORD, "secret")
        .define("cls", Type.CLASS, "org.example.Thing")
    )
    shown = {name: (info["required"], info["default_value"]) for name, info in _keys(config_def).items()}
    assert shown == {
        "req": (True, None),
        "lst": (False, "a,b"),
        "empty": (False, ""),
        "flag": (False, "false"),
        "ratio": (False, "1.0"),
        "none": (False, None),
        "pw": (False, "[hidden]"),
        "cls": (False, "org.example.Thing"),
    }


def _keys(config_def: ConfigDef) -> dict[str, dict[str, object]]:
    return {name: convert_config_key(key) for name, key in config_def.config_keys().items()}


def test_validate_golden_file_source() -> None:
    props = {"topic": "", "batch.size": "10", "unknown": "x"}
    values = FILE_SOURCE_DEF.validate(props) + [ConfigValue("unknown", "x", [], ["not allowed"])]
    infos = config_infos("FileStreamSource", FILE_SOURCE_DEF, values, ["Common"])
    assert infos == {
        "name": "FileStreamSource",
        "error_count": 2,
        "groups": ["Common"],
        "configs": [
            {
                "definition": None,
                "value": {
                    "name": "unknown",
                    "value": "x",
                    "recommended_values": [],
                    "errors": ["not allowed"],
                    "visible": True,
                },
            },
            {
                "definition": {
                    "name": "file",
                    "type": "STRING",
                    "required": False,
                    "default_value": None,
                    "importance": "HIGH",
                    "documentation": "Source filename.",
                    "group": None,
                    "order": -1,
                    "width": "NONE",
                    "display_name": "file",
                    "dependents": [],
                },
                "value": {
                    "name": "file",
                    "value": None,
                    "recommended_values": [],
                    "errors": [],
                    "visible": True,
                },
            },
            {
                "definition": {
                    "name": "topic",
                    "type": "STRING",
                    "required": True,
                    "default_value": None,
                    "importance": "HIGH",
                    "documentation": "The topic",
                    "group": None,
                    "order": -1,
                    "width": "NONE",
                    "display_name": "topic",
                    "dependents": [],
                },
                "value": {
                    "name": "topic",
                    "value": "",
                    "recommended_values": [],
                    "errors": ["Invalid value  for configuration topic: String must be non-empty"],
                    "visible": True,
                },
            },
            {
                "definition": {
                    "name": "batch.size",
                    "type": "INT",
                    "required": False,
                    "default_value": "2000",
                    "importance": "LOW",
                    "documentation": "Max records per poll",
                    "group": None,
                    "order": -1,
                    "width": "NONE",
                    "display_name": "batch.size",
                    "dependents": [],
                },
                "value": {
                    "name": "batch.size",
                    "value": "10",
                    "recommended_values": [],
                    "errors": [],
                    "visible": True,
                },
            },
        ],
    }
    # The dict is the JSON body as is: field order survives serialization.
    assert json.dumps(infos).startswith(
        '{"name": "FileStreamSource", "error_count": 2, "groups": ["Common"], "configs"'
    )


def test_value_stringification_and_unvalidated_keys() -> None:
    config_def = (
        ConfigDef()
        .define("pw", Type.PASSWORD)
        .define("lst", Type.LIST, "", validator=None)
        .define("flag", Type.BOOLEAN, True)
        .define("mode", Type.STRING, "a", ValidString.in_("a", "b"))
    )
    values = {v.name: v for v in config_def.validate({"pw": "hunter2", "lst": "x, y", "flag": "FALSE"})}
    values["lst"].recommended_values = ["x", "z"]
    del values["mode"]
    infos = config_infos("C", config_def, values.values(), [])
    by_name = {entry["definition"]["name"]: entry["value"] for entry in infos["configs"]}
    assert by_name["pw"]["value"] == "[hidden]"
    assert by_name["lst"]["value"] == "x,y"
    assert by_name["lst"]["recommended_values"] == ["x", "z"]
    assert by_name["flag"]["value"] == "false"
    assert by_name["mode"] is None  # defined but not validated
    assert infos["error_count"] == 0


def test_error_count_counts_messages() -> None:
    config_def = ConfigDef().define("a", Type.INT, validator=Range.at_least(1)).define("b", Type.INT)
    infos = config_infos("C", config_def, config_def.validate({}), [])
    # a: missing + validator on null; b: missing.
    assert infos["error_count"] == 3
    assert config_error_messages(infos) == [
        'Missing required configuration "a" which has no default value.',
        "Invalid value null for configuration a: Value must be non-null",
        'Missing required configuration "b" which has no default value.',
    ]


def test_prefixed_infos_count_erroring_keys() -> None:
    config_def = (
        ConfigDef()
        .define("schemas.enable", Type.BOOLEAN, True, group="Schemas")
        .define("cache", Type.INT, 1000, Range.at_least(0), group="Schemas")
    )
    values = config_def.validate({"schemas.enable": "maybe", "cache": "-1"})
    values[1].add_error_message("second error on the same key")
    infos = prefixed_config_infos(config_def, values, "value.converter.")
    assert infos["name"] == ""
    assert infos["error_count"] == 2
    assert infos["groups"] == ["Schemas"]
    assert [entry["value"]["name"] for entry in infos["configs"]] == [
        "value.converter.schemas.enable",
        "value.converter.cache",
    ]
    assert infos["configs"][0]["definition"]["name"] == "value.converter.schemas.enable"
    assert prefixed_config_infos(config_def, None, "x.") == {
        "name": "",
        "error_count": 0,
        "groups": [],
        "configs": [],
    }


def test_merge_and_invalid_message() -> None:
    first = config_infos("C", FILE_SOURCE_DEF, FILE_SOURCE_DEF.validate({}), ["Common"])
    second = {"name": "", "error_count": 1, "groups": ["Common", "Converters"], "configs": [
        {"definition": None, "value": {"name": "k", "value": None, "recommended_values": [], "errors": ["bad k"],
                                       "visible": True}}
    ]}  # fmt: skip
    merged = merge_config_infos("C", first, None, second)
    assert merged["error_count"] == 2
    assert merged["groups"] == ["Common", "Converters"]
    assert len(merged["configs"]) == 4
    assert invalid_config_message(merged) == (
        "Connector configuration is invalid and contains the following 2 error(s):\n"
        'Missing required configuration "topic" which has no default value.\n'
        "bad k\n"
        "You can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`"
    )
