"""Worker and connector configuration definitions: Kafka's sample files, required keys, groups and key sets."""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kcfast.api.config import ConfigDef, Importance, Type, Width
from kcfast.config import (
    SinkConnectorConfig,
    SourceConnectorConfig,
    WorkerConfig,
    connector_config_def,
    enrich,
    sink_connector_config_def,
    source_connector_config_def,
    worker_config_def,
)
from kcfast.errors import ConfigError
from kcfast.plugins import Plugins
from kcfast.properties import load_properties

KAFKA_CONFIG = Path(__file__).resolve().parents[1] / "data" / "kafka-config"

# The framework keys Kafka's connect_rest_test.py expects in a FileStream connector's validate answer.
SOURCE_FRAMEWORK_KEYS = {
    "name", "connector.class", "tasks.max", "tasks.max.enforce", "key.converter", "value.converter",
    "header.converter", "transforms", "predicates", "config.action.reload", "errors.retry.timeout",
    "errors.retry.delay.max.ms", "errors.tolerance", "errors.log.enable", "errors.log.include.messages",
    "topic.creation.groups", "exactly.once.support", "transaction.boundary", "transaction.boundary.interval.ms",
    "offsets.storage.topic",
}
SINK_FRAMEWORK_KEYS = {
    "name", "connector.class", "tasks.max", "tasks.max.enforce", "key.converter", "value.converter",
    "header.converter", "topics", "topics.regex", "transforms", "predicates", "config.action.reload",
    "errors.retry.timeout", "errors.retry.delay.max.ms", "errors.tolerance", "errors.log.enable",
    "errors.log.include.messages", "errors.deadletterqueue.topic.name",
    "errors.deadletterqueue.topic.replication.factor", "errors.deadletterqueue.context.headers.enable",
}


# -- worker -----------------------------------------------------------------------------------------------------


def test_kafka_standalone_file() -> None:
    config = WorkerConfig(load_properties(KAFKA_CONFIG / "connect-standalone.properties"))
    assert config.bootstrap_servers == "localhost:9092"
    assert config.converter_class_name("key") == "org.apache.kafka.connect.json.JsonConverter"
    assert config.converter_class_name("header") == "org.apache.kafka.connect.storage.SimpleHeaderConverter"
    assert config.converter_config("value") == {"schemas.enable": "true"}
    assert config.offset_storage_file_filename == "/tmp/connect.offsets"
    assert config.offset_flush_interval_ms == 10000
    assert config.offset_flush_timeout_ms == 5000
    assert config.task_shutdown_graceful_timeout_ms == 5000
    assert config.plugin_path == []
    assert config.get_list("listeners") == ["http://:8083"]
    assert config.get_boolean("topic.creation.enable") is True
    assert config.get_string("connector.client.config.override.policy") == "All"


def test_kafka_distributed_file() -> None:
    config = WorkerConfig(load_properties(KAFKA_CONFIG / "connect-distributed.properties"), distributed=True)
    assert config.get_string("group.id") == "connect-cluster"
    assert config.get_string("offset.storage.topic") == "connect-offsets"
    assert config.get_short("offset.storage.replication.factor") == 1
    assert config.get_int("offset.storage.partitions") == 25
    assert config.get_int("status.storage.partitions") == 5
    assert config.get_int("session.timeout.ms") == 10000
    assert config.get_int("heartbeat.interval.ms") == 3000
    assert config.get_int("rebalance.timeout.ms") == 60000
    assert config.get_string("connect.protocol") == "sessioned"
    assert config.get_int("scheduled.rebalance.max.delay.ms") == 300000
    assert config.get_string("exactly.once.source.support") == "disabled"
    assert config.get_list("inter.worker.verification.algorithms") == ["HmacSHA256"]
    assert config.offset_storage_file_filename is None


def _minimal(**extra: str) -> dict[str, str]:
    props = {"key.converter": "JsonConverter", "value.converter": "JsonConverter",
             "offset.storage.file.filename": "/tmp/o"}
    props.update(extra)
    return props


@pytest.mark.parametrize("missing", ["key.converter", "value.converter", "offset.storage.file.filename"])
def test_required_standalone_keys(missing: str) -> None:
    props = _minimal()
    del props[missing]
    with pytest.raises(ConfigError, match=f'^Missing required configuration "{missing}" which has no default value.$'):
        WorkerConfig(props)


@pytest.mark.parametrize("missing", ["group.id", "config.storage.topic", "offset.storage.topic", "status.storage.topic"])
def test_required_distributed_keys(missing: str) -> None:
    props = load_properties(KAFKA_CONFIG / "connect-distributed.properties")
    del props[missing]
    with pytest.raises(ConfigError, match=f'"{missing}"'):
        WorkerConfig(props, distributed=True)


def test_invalid_value_message() -> None:
    with pytest.raises(ConfigError, match="^Invalid value soon for configuration offset.flush.interval.ms: "
                                          "Not a number of type LONG$"):
        WorkerConfig(_minimal(**{"offset.flush.interval.ms": "soon"}))


def test_unknown_and_removed_keys_are_logged_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="kcfast.config")
    WorkerConfig(_minimal(**{
        "java.only.thing": "1",
        "producer.linger.ms": "5",
        "consumer.max.poll.records": "10",
        "key.converter.schemas.enable": "false",
        "config.providers.file.class": "x",
        "security.protocol": "PLAINTEXT",
        "internal.key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "internal.key.converter.schemas.enable": "false",
        "rest.port": "8083",
    }))
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert info == ["The configuration 'java.only.thing' was supplied but isn't a known config; it is ignored."]
    assert len(warnings) == 3
    assert any("'internal.key.converter'" in w and "schemas.enable=false" in w for w in warnings)
    assert any("'rest.port'" in w and "listeners" in w for w in warnings)


def test_worker_key_sets_differ_by_mode() -> None:
    standalone = worker_config_def().names()
    distributed = worker_config_def(distributed=True).names()
    assert "offset.storage.file.filename" in standalone - distributed
    assert {"group.id", "config.storage.topic", "worker.sync.timeout.ms", "inter.worker.key.ttl.ms"} <= (
        distributed - standalone
    )
    assert {"bootstrap.servers", "plugin.path", "listeners", "admin.listeners", "topic.tracking.allow.reset",
            "ssl.client.auth", "config.providers"} <= standalone & distributed


# -- connector definitions --------------------------------------------------------------------------------------


def test_framework_key_sets() -> None:
    assert set(source_connector_config_def().names()) == SOURCE_FRAMEWORK_KEYS
    assert set(sink_connector_config_def().names()) == SINK_FRAMEWORK_KEYS


def test_groups_and_key_details() -> None:
    assert source_connector_config_def().groups() == [
        "Common", "Transforms", "Predicates", "Error Handling", "Topic Creation", "Exactly Once Support",
        "offsets.topic",
    ]
    assert sink_connector_config_def().groups() == ["Common", "Transforms", "Predicates", "Error Handling"]
    keys = connector_config_def().config_keys()
    tasks_max = keys["tasks.max"]
    assert (tasks_max.type, tasks_max.default_value, tasks_max.group, tasks_max.order_in_group, tasks_max.width,
            tasks_max.display_name, tasks_max.importance) == (
        Type.INT, 1, "Common", 3, Width.SHORT, "Tasks max", Importance.HIGH)
    assert keys["connector.class"].type is Type.STRING and not keys["connector.class"].has_default()
    assert keys["errors.tolerance"].order_in_group == 3
    assert keys["config.action.reload"].order_in_group == 10


@pytest.mark.parametrize(
    ("props", "key", "error"),
    [
        ({"tasks.max": "0"}, "tasks.max", "Invalid value 0 for configuration tasks.max: Value must be at least 1"),
        ({"name": ""}, "name", "Invalid value  for configuration name: String may not be empty"),
        ({"transforms": "a,a"}, "transforms",
         "Invalid value [a, a] for configuration transforms: Duplicate alias provided."),
        ({"errors.tolerance": "some"}, "errors.tolerance",
         "Invalid value some for configuration errors.tolerance: String must be one of: none, all"),
        ({}, "connector.class", 'Missing required configuration "connector.class" which has no default value.'),
    ],
)
def test_connector_validation_errors(props: dict[str, str], key: str, error: str) -> None:
    values = connector_config_def().validate_all({"name": "c", "connector.class": "X"} | props
                                                 if key != "connector.class" else {"name": "c"})
    assert values[key].error_messages == [error]


def test_source_specific_validation() -> None:
    values = source_connector_config_def().validate_all({
        "name": "c", "connector.class": "X", "exactly.once.support": "REQUIRED",
        "transaction.boundary.interval.ms": "-1", "offsets.storage.topic": "",
    })
    assert values["exactly.once.support"].error_messages == []  # case-insensitive
    assert values["transaction.boundary.interval.ms"].error_messages == [
        "Invalid value -1 for configuration transaction.boundary.interval.ms: Value must be at least 0"
    ]
    assert values["offsets.storage.topic"].error_messages == [
        "Invalid value  for configuration offsets.storage.topic: String must be non-empty"
    ]


def test_kafka_file_connector_files_parse() -> None:
    source = SourceConnectorConfig(load_properties(KAFKA_CONFIG / "connect-file-source.properties"))
    assert (source.name, source.connector_class, source.tasks_max) == ("local-file-source", "FileStreamSource", 1)
    assert source.get_string("transaction.boundary") == "poll"
    sink = SinkConnectorConfig(load_properties(KAFKA_CONFIG / "connect-file-sink.properties"))
    assert sink.get_list("topics") == ["connect-test"]
    assert sink.get_short("errors.deadletterqueue.topic.replication.factor") == 3


# -- with plugins: class checks and enrichment ------------------------------------------------------------------

PLUGINS_SOURCE = """
from kcfast.api import Converter, Predicate, Transformation, SourceConnector
from kcfast.api.config import ConfigDef, Type, Importance


class CfgConverter(Converter):
    pass


class CfgUpper(Transformation):
    def apply(self, record): return record
    def config(self):
        return (ConfigDef()
                .define("field", Type.STRING, importance=Importance.HIGH, documentation="field")
                .define("negate", Type.STRING, "x", importance=Importance.LOW, documentation="masked"))


class CfgNullConfig(Transformation):
    def apply(self, record): return record
    def config(self): return None


class CfgIsTrue(Predicate):
    def test(self, record): return True
    def config(self): return ConfigDef().define("pattern", Type.STRING, importance=Importance.HIGH)
"""


@pytest.fixture
def plugins(tmp_path: Path) -> Iterator[Plugins]:
    saved_path = list(sys.path)
    module = f"cfgplugins_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(PLUGINS_SOURCE)
    yield Plugins([str(tmp_path)])
    sys.path[:] = saved_path
    sys.modules.pop(module, None)


def test_converter_classes_are_checked(plugins: Plugins) -> None:
    definition = connector_config_def(plugins)
    values = definition.validate_all({"name": "c", "connector.class": "X", "key.converter": "CfgConverter",
                                      "value.converter": "NoSuchConverter", "header.converter": "CfgUpper"})
    assert values["key.converter"].error_messages == []
    assert values["value.converter"].error_messages == [
        "Invalid value NoSuchConverter for configuration value.converter: Class NoSuchConverter could not be found."
    ]
    assert len(values["header.converter"].error_messages) == 1
    assert "does not implement the HeaderConverter interface" in values["header.converter"].error_messages[0]


def test_enrich_adds_transformation_and_predicate_keys(plugins: Plugins,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    props = {"name": "c", "connector.class": "X", "transforms": "up", "transforms.up.type": "CfgUpper",
             "transforms.up.predicate": "t", "predicates": "t", "predicates.t.type": "CfgIsTrue"}
    definition = enrich(plugins, sink_connector_config_def(plugins), props)
    keys = definition.config_keys()
    assert {"transforms.up.type", "transforms.up.predicate", "transforms.up.negate", "transforms.up.field",
            "predicates.t.type", "predicates.t.pattern"} <= set(keys)
    assert keys["transforms.up.negate"].type is Type.BOOLEAN  # the implicit key masks the plugin's own
    assert any("masked" in r.getMessage() for r in caplog.records)
    assert keys["transforms.up.type"].group == "Transforms: up"
    assert keys["transforms.up.type"].display_name == "Transformation type for up"
    assert keys["transforms.up.field"].group == "Transforms: up"
    assert "Predicates: t" in definition.groups()
    values = definition.validate_all(props)
    assert values["transforms.up.field"].error_messages == [
        'Missing required configuration "transforms.up.field" which has no default value.'
    ]
    assert values["transforms.up.type"].error_messages == []
    assert any("CfgUpper" in v for v in values["transforms.up.type"].recommended_values)


def test_enrich_with_a_bad_type(plugins: Plugins) -> None:
    props = {"transforms": "a,b", "transforms.a.type": "Nope", "transforms.b.type": "CfgIsTrue",
             "transforms.b.negate": "true"}
    definition = enrich(plugins, ConfigDef(), props)
    assert set(definition.names()) == {"transforms.a.type", "transforms.b.type"}  # no keys for unusable types
    values = definition.validate_all(props)
    assert values["transforms.a.type"].error_messages == [
        "Invalid value Nope for configuration transforms.a.type: Class Nope could not be found."
    ]
    assert values["transforms.b.type"].error_messages == [
        ("Config 'transforms.b.negate' was provided but there is no config 'transforms.b.predicate' defining a "
         "predicate to be negated.")
    ]
    with pytest.raises(ConfigError, match="Class Nope could not be found"):
        enrich(plugins, ConfigDef(), props, require_full_config=True)
    with pytest.raises(ConfigError, match="^Invalid value null for configuration transforms.a.type: Not a "
                                          "Transformation$"):
        SinkConnectorConfig({"name": "c", "connector.class": "X", "transforms": "a"}, plugins)


def test_plugin_returning_no_config_def(plugins: Plugins) -> None:
    from kcfast.errors import ConnectError

    with pytest.raises(ConnectError, match=r"CfgNullConfig.config\(\) must return a ConfigDef that is not null."):
        enrich(plugins, ConfigDef(), {"transforms": "n", "transforms.n.type": "CfgNullConfig"})


def test_parsed_connector_config_with_transforms(plugins: Plugins) -> None:
    config = SourceConnectorConfig({"name": "c", "connector.class": "X", "transforms": "up",
                                    "transforms.up.type": "CfgUpper", "transforms.up.field": "f"}, plugins)
    assert config.transform_aliases == ["up"]
    assert config.get_string("transforms.up.field") == "f"
    assert config.get_boolean("transforms.up.negate") is False
