"""Preflight connector config validation against a real ``kcfast standalone`` process.

The cases and expected error counts of Kafka's ``ConnectorValidationIntegrationTest`` (spec 11.2), each sent to
``PUT /connector-plugins/{type}/config/validate``; then the cases it leaves out (missing ``type`` keys, a
predicate that is used but not defined, the connector class) and bad ``topic.creation.*`` settings, as Kafka
treats them: validation counts only what Kafka's validation counts.

The converters the cases need (abstract, without a usable constructor, failing in its constructor, with a
config of its own, with no config) live in a module written to the worker's ``plugin.path``.
"""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from kcfast.testing import StandaloneProcess

pytestmark = pytest.mark.integration

SINK = "kcfast.testing.connectors.MonitorableSinkConnector"
SOURCE = "kcfast.testing.connectors.MonitorableSourceConnector"
STRING = "org.apache.kafka.connect.storage.StringConverter"
FILTER = "org.apache.kafka.connect.transforms.Filter"
TOMBSTONE = "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone"

PLUGINS = "validation_test_plugins"
ABSTRACT = f"{PLUGINS}.AbstractTestConverter"
NO_SUITABLE_CONSTRUCTOR = f"{PLUGINS}.NoSuitableConstructorConverter"
THROWS_ON_INSTANTIATION = f"{PLUGINS}.ThrowingConverter"
SINGLE_PROPERTY = f"{PLUGINS}.SinglePropertyConverter"
NO_CONFIG_DEF = f"{PLUGINS}.NoConfigDefConverter"

PLUGIN_SOURCE = textwrap.dedent('''
    """Converters for preflight validation tests."""

    from __future__ import annotations

    import abc
    from typing import Any

    from kcfast.api.config import ConfigDef, Importance, Type
    from kcfast.api.converter import Converter, HeaderConverter


    class _TestConverter(Converter, HeaderConverter):
        def config(self) -> Any:
            return None

        def configure(self, configs: Any, is_key: bool = False) -> None:
            pass

        def from_connect_data(self, topic: Any, schema: Any, value: Any, headers: Any = None) -> Any:
            return None

        def to_connect_data(self, topic: Any, data: Any, headers: Any = None) -> Any:
            return None

        def to_connect_header(self, topic: Any, header_key: Any, value: Any) -> Any:
            return None

        def from_connect_header(self, topic: Any, header_key: Any, schema: Any, value: Any) -> Any:
            return b""


    class AbstractTestConverter(_TestConverter, abc.ABC):
        @abc.abstractmethod
        def unimplemented(self) -> None:
            """Left to subclasses."""


    class NoSuitableConstructorConverter(_TestConverter):
        def __init__(self, required: str) -> None:
            self.required = required


    class ThrowingConverter(_TestConverter):
        def __init__(self) -> None:
            raise RuntimeError("I always fail")


    class SinglePropertyConverter(_TestConverter):
        def config(self) -> ConfigDef:
            return ConfigDef().define("prop", Type.BOOLEAN, importance=Importance.HIGH, documentation="")


    class NoConfigDefConverter(_TestConverter):
        def config(self) -> Any:
            return None
''')


#: The worker runs in ``workdir``, where the ``workdir`` fixture writes the test converters.
WORKER_SETTINGS = {"plugin.path": "plugins"}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("validation")
    (path / "plugins").mkdir()
    (path / "plugins" / f"{PLUGINS}.py").write_text(PLUGIN_SOURCE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def worker(module_worker: StandaloneProcess) -> StandaloneProcess:
    return module_worker


def sink_props(**extra: str) -> dict[str, str]:
    """Kafka's ``defaultSinkConnectorProps``, plus ``extra`` (dots written as ``__``)."""
    props = {"name": "sink-connector", "connector.class": SINK, "tasks.max": "1", "topics": "t1",
             "key.converter": STRING, "value.converter": STRING}
    props.update({k.replace("__", "."): v for k, v in extra.items()})
    return props


def source_props(**extra: str) -> dict[str, str]:
    """Kafka's ``defaultSourceConnectorProps``, plus ``extra`` (dots written as ``__``)."""
    props = {"name": "source-connector", "connector.class": SOURCE, "tasks.max": "1", "topic": "t1",
             "key.converter": STRING, "value.converter": STRING}
    props.update({k.replace("__", "."): v for k, v in extra.items()})
    return props


def without(props: dict[str, str], *keys: str) -> dict[str, str]:
    return {k: v for k, v in props.items() if k not in keys}


def validate(worker: StandaloneProcess, config: dict[str, str]) -> dict[str, Any]:
    status, body = worker.http.request("PUT", f"/connector-plugins/{config['connector.class']}/config/validate",
                                       config)
    assert status == 200, body
    return body  # type: ignore[no-any-return]


def errors_of(body: dict[str, Any]) -> dict[str, list[str]]:
    """``{config name: its error messages}`` for the configs that have errors."""
    return {c["value"]["name"]: c["value"]["errors"] for c in body["configs"] if c["value"]["errors"]}


# -- Kafka's ConnectorValidationIntegrationTest --------------------------------------------------------------

KAFKA_CASES = [
    pytest.param(without(sink_props(), "topics", "topics.regex"), 2, "Must configure one of topics or topics.regex",
                 id="sink-neither-topics-nor-regex"),
    pytest.param(sink_props(topics="t1", topics__regex="r.*"), 2, "are mutually exclusive options",
                 id="sink-both-topics-and-regex"),
    pytest.param(sink_props(topics="t1", errors__deadletterqueue__topic__name="t1"), 1,
                 "may not be included in the list of topics", id="dlq-in-topics"),
    pytest.param(without(sink_props(topics__regex="r.*", errors__deadletterqueue__topic__name="ruh.roh"),
                         "topics"), 1, "may not be matched by the regex", id="dlq-matches-topics-regex"),
    pytest.param(source_props(topic__creation__groups="g1, g2, g1"), 1, "Duplicate alias provided",
                 id="duplicate-topic-creation-groups"),
    pytest.param(sink_props(transforms="t, t", transforms__t__type=FILTER), 1, "Duplicate alias provided",
                 id="duplicate-transforms"),
    pytest.param(sink_props(transforms="t", transforms__t__type="WheresTheFruit"), 1,
                 "Class WheresTheFruit could not be found", id="missing-transform-class"),
    pytest.param(sink_props(transforms="t", transforms__t__type=SINK), 1,
                 "does not implement the Transformation interface", id="invalid-transform-class"),
    pytest.param(sink_props(transforms="t", transforms__t__type=FILTER, transforms__t__negate="true"), 1,
                 "defining a predicate to be negated", id="negate-undefined-predicate"),
    pytest.param(sink_props(predicates="p, p", predicates__p__type=TOMBSTONE), 1, "Duplicate alias provided",
                 id="duplicate-predicates"),
    pytest.param(sink_props(predicates="p", predicates__p__type="WheresTheFruit"), 1,
                 "Class WheresTheFruit could not be found", id="missing-predicate-class"),
    pytest.param(sink_props(predicates="p", predicates__p__type=SINK), 1,
                 "does not implement the Predicate interface", id="invalid-predicate-class"),
]
for _key, _interface in (("key.converter", "Converter"), ("header.converter", "HeaderConverter")):
    _kind = _key.split(".")[0]
    KAFKA_CASES += [
        pytest.param(sink_props(**{_key: "WheresTheFruit"}), 1, "Class WheresTheFruit could not be found",
                     id=f"missing-{_kind}-converter-class"),
        pytest.param(sink_props(**{_key: SINK}), 1, f"does not implement the {_interface} interface",
                     id=f"invalid-{_kind}-converter-class-type"),
        pytest.param(sink_props(**{_key: ABSTRACT}), 1, "is an abstract class and therefore cannot be created",
                     id=f"abstract-{_kind}-converter"),
        pytest.param(sink_props(**{_key: NO_SUITABLE_CONSTRUCTOR}), 1, "Could not instantiate class",
                     id=f"{_kind}-converter-no-constructor"),
        pytest.param(sink_props(**{_key: THROWS_ON_INSTANTIATION}), 1, "Could not instantiate class: I always fail",
                     id=f"{_kind}-converter-throws"),
        pytest.param(sink_props(**{_key: SINGLE_PROPERTY, f"{_key}.prop": "notaboolean"}), 1,
                     "Expected value to be either true or false", id=f"misconfigured-{_kind}-converter"),
        pytest.param(sink_props(**{_key: NO_CONFIG_DEF}), 0, None, id=f"{_kind}-converter-without-config-def"),
    ]


@pytest.mark.parametrize(("config", "expected", "reason"), KAFKA_CASES)
def test_kafka_validation_case_error_count(worker: StandaloneProcess, config: dict[str, str], expected: int,
                                           reason: str | None) -> None:
    body = validate(worker, config)
    errors = errors_of(body)
    assert body["error_count"] == expected, errors
    assert body["name"] == config["connector.class"]
    messages = [message for found in errors.values() for message in found]
    assert len(messages) == expected
    if reason is not None:
        assert all(reason in message for message in messages), messages


def test_sink_group_id_is_not_checked_in_standalone(worker: StandaloneProcess) -> None:
    """Kafka checks a sink's consumer group against the worker group only in distributed mode; a standalone
    worker has no group."""
    body = validate(worker, sink_props(name="connect-cluster"))
    assert body["error_count"] == 0, errors_of(body)
    body = validate(worker, sink_props(consumer__override__group__id="connect-cluster"))
    assert body["error_count"] == 0, errors_of(body)


def test_validation_messages_match_kafkas(worker: StandaloneProcess) -> None:
    errors = errors_of(validate(worker, without(sink_props(), "topics")))
    assert errors == {"topics": ["Must configure one of topics or topics.regex"],
                      "topics.regex": ["Must configure one of topics or topics.regex"]}
    errors = errors_of(validate(worker, sink_props(topics="t1", topics__regex="r.*")))
    both = "topics and topics.regex are mutually exclusive options, but both are set."
    assert errors == {"topics": [both], "topics.regex": [both]}
    errors = errors_of(validate(worker, sink_props(topics="t1,t2", errors__deadletterqueue__topic__name="t2")))
    assert errors == {"topics": ["The DLQ topic 't2' may not be included in the list of topics ('topics=[t1, t2]') "
                                 "consumed by the connector"]}
    errors = errors_of(validate(worker, without(
        sink_props(topics__regex="r.*", errors__deadletterqueue__topic__name="ruh.roh"), "topics")))
    assert errors == {"topics.regex": ["The DLQ topic 'ruh.roh' may not be matched by the regex for the topics "
                                       "('topics.regex=r.*') consumed by the connector"]}
    errors = errors_of(validate(worker, sink_props(transforms="t, t", transforms__t__type=FILTER)))
    assert errors == {"transforms": ["Invalid value [t, t] for configuration transforms: Duplicate alias provided."]}
    errors = errors_of(validate(worker, sink_props(transforms="t", transforms__t__type=FILTER,
                                                   transforms__t__negate="true")))
    assert errors == {"transforms.t.type": [
        "Config 'transforms.t.negate' was provided but there is no config 'transforms.t.predicate' defining a "
        "predicate to be negated."]}
    errors = errors_of(validate(worker, sink_props(**{"key.converter": SINGLE_PROPERTY,
                                                      "key.converter.prop": "notaboolean"})))
    assert list(errors) == ["key.converter.prop"]
    assert "Expected value to be either true or false" in errors["key.converter.prop"][0]


# -- cases beyond Kafka's test, counted as Kafka's validation counts them -----------------------------------

MORE_CASES = [
    pytest.param(sink_props(transforms="t"), 1, "transforms.t.type", id="transform-without-type"),
    pytest.param(sink_props(predicates="p"), 1, "predicates.p.type", id="predicate-without-type"),
    # Kafka's validation does not check that a used predicate is defined: the task fails when it starts.
    pytest.param(sink_props(transforms="t", transforms__t__type=FILTER, transforms__t__predicate="p"), 0, None,
                 id="predicate-used-but-not-defined"),
    pytest.param(sink_props(transforms="t", transforms__t__type=FILTER, transforms__t__predicate="p",
                            transforms__t__negate="true", predicates="p", predicates__p__type=TOMBSTONE), 0, None,
                 id="negated-defined-predicate"),
    pytest.param(sink_props(**{"value.converter": "WheresTheFruit"}), 1, "value.converter",
                 id="missing-value-converter-class"),
]


@pytest.mark.parametrize(("config", "expected", "field"), MORE_CASES)
def test_more_validation_error_counts(worker: StandaloneProcess, config: dict[str, str], expected: int,
                                      field: str | None) -> None:
    body = validate(worker, config)
    assert body["error_count"] == expected, errors_of(body)
    if field is not None:
        assert list(errors_of(body)) == [field]


def test_missing_type_message(worker: StandaloneProcess) -> None:
    errors = errors_of(validate(worker, sink_props(transforms="t")))
    assert errors == {"transforms.t.type": [
        'Missing required configuration "transforms.t.type" which has no default value.']}


def test_connector_class_missing_or_unknown(worker: StandaloneProcess) -> None:
    config = without(sink_props(), "connector.class")
    status, body = worker.http.request("PUT", f"/connector-plugins/{SINK}/config/validate", config)
    assert status == 400
    assert body["error_code"] == 400
    assert body["message"].startswith("Connector config {") and body["message"].endswith(
        "} contains no connector type")
    status, body = worker.http.request("PUT", "/connector-plugins/WheresTheFruit/config/validate",
                                       sink_props(**{"connector.class": "WheresTheFruit"}))
    assert status == 500
    assert body["message"].startswith(
        "Failed to find any class that implements Connector and which name matches WheresTheFruit")


def test_create_with_validation_errors_is_a_400_naming_them(worker: StandaloneProcess) -> None:
    name = f"bad-{uuid.uuid4().hex[:8]}"
    status, body = worker.http.request("POST", "/connectors", {
        "name": name, "config": sink_props(name=name, topics="t1", topics__regex="r.*")})
    assert status == 400
    assert body["message"].startswith("Connector configuration is invalid and contains the following 2 error(s):")
    assert "topics and topics.regex are mutually exclusive options, but both are set." in body["message"]
    assert worker.http.get(f"/connectors/{name}")[0] == 404


# -- topic.creation.* ----------------------------------------------------------------------------------------

TOPIC_CREATION_CASES = [
    pytest.param({"topic.creation.default.partitions": "1"}, id="default-replication-factor-missing"),
    pytest.param({"topic.creation.default.replication.factor": "1"}, id="default-partitions-missing"),
    pytest.param({"topic.creation.default.replication.factor": "1", "topic.creation.default.partitions": "0"},
                 id="zero-partitions"),
    pytest.param({"topic.creation.default.replication.factor": "-2", "topic.creation.default.partitions": "1"},
                 id="bad-replication-factor"),
    pytest.param({"topic.creation.default.replication.factor": "1", "topic.creation.default.partitions": "1",
                  "topic.creation.groups": "g", "topic.creation.g.include": "(unclosed"}, id="bad-group-regex"),
]


@pytest.mark.parametrize("settings", TOPIC_CREATION_CASES)
def test_bad_topic_creation_settings_pass_validation_like_kafka(worker: StandaloneProcess,
                                                                settings: dict[str, str]) -> None:
    """Kafka's preflight validation reads ``topic.creation.groups`` only (duplicates are an error); the
    groups' own settings are read when the connector starts."""
    body = validate(worker, source_props(**{k.replace(".", "__"): v for k, v in settings.items()}))
    assert body["error_count"] == 0, errors_of(body)


def create_bad_topic_creation(worker: StandaloneProcess) -> tuple[str, int, Any]:
    """Create a source connector whose default topic creation group has no replication factor."""
    name = f"tc-{uuid.uuid4().hex[:8]}"
    config = source_props(name=name, topic__creation__default__partitions="1")
    status, body = worker.http.request("POST", "/connectors", {"name": name, "config": config})
    return name, status, body


MISSING_RF = 'Missing required configuration "topic.creation.default.replication.factor" which has no default value.'


def test_create_with_bad_topic_creation_settings_fails_the_connector(worker: StandaloneProcess) -> None:
    """As in Kafka: the config is stored and the connector instance fails to start (FAILED, no tasks), rather
    than a running connector whose tasks fail later."""
    name, _, _ = create_bad_topic_creation(worker)
    status, state = worker.http.get(f"/connectors/{name}/status")
    assert status == 200
    assert state["connector"]["state"] == "FAILED"
    assert MISSING_RF in state["connector"]["trace"]
    assert state["tasks"] == []
    assert worker.http.get(f"/connectors/{name}/config")[0] == 200
    assert worker.http.request("DELETE", f"/connectors/{name}")[0] == 204


def test_standalone_create_answers_the_start_failure(worker: StandaloneProcess) -> None:
    name, status, body = create_bad_topic_creation(worker)
    worker.http.request("DELETE", f"/connectors/{name}")
    assert (status, body) == (500, {"error_code": 500, "message": MISSING_RF})


def test_duplicate_topic_creation_group_create_is_a_400(worker: StandaloneProcess) -> None:
    name = f"tc-{uuid.uuid4().hex[:8]}"
    config = source_props(name=name, topic__creation__groups="g1, g2, g1",
                          topic__creation__default__replication__factor="1",
                          topic__creation__default__partitions="1")
    status, body = worker.http.request("POST", "/connectors", {"name": name, "config": config})
    assert status == 400
    assert "Invalid value [g1, g2, g1] for configuration topic.creation.groups: Duplicate alias provided." in (
        body["message"])
