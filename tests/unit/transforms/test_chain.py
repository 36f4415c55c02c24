"""Transformations and predicates configured as a connector config names them (Java names and aliases), run by
the worker's chain; and Kafka's system-test scenario of a FileStreamSource with HoistField + InsertField."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kcfast.api import OffsetStorageReader, SourceTaskContext
from kcfast.connectors.file import FileStreamSourceTask
from kcfast.converters import JsonConverter
from kcfast.data import ConnectHeaders, Schema
from kcfast.errors import ConnectError
from kcfast.plugins import Plugins
from kcfast.runtime.transforms import build_chain

JAVA = "org.apache.kafka.connect.transforms."


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    return Plugins()


@pytest.mark.parametrize("name", [JAVA + "Filter", "Filter", "kcfast.transforms.filter.Filter"])
def test_filter_with_topic_predicate_drops_only_matching_topics(sink, plugins: Plugins, name: str) -> None:
    chain = build_chain({
        "transforms": "filter",
        "transforms.filter.type": name,
        "transforms.filter.predicate": "barPredicate",
        "predicates": "barPredicate",
        "predicates.barPredicate.type": JAVA + "predicates.TopicNameMatches",
        "predicates.barPredicate.pattern": "bar",
    }, plugins)
    assert chain is not None
    kept = chain.apply_all([sink(None, "a", topic="foo"), sink(None, "b", topic="bar"), sink(None, "c", topic="baz")])
    assert [r.value for r in kept] == ["a", "c"]


def test_filter_tombstones_by_alias(sink, plugins: Plugins) -> None:
    chain = build_chain({
        "transforms": "dropTombstones",
        "transforms.dropTombstones.type": "Filter",
        "transforms.dropTombstones.predicate": "isTombstone",
        "predicates": "isTombstone",
        "predicates.isTombstone.type": "RecordIsTombstone",
    }, plugins)
    assert chain is not None
    assert [r.value for r in chain.apply_all([sink(None, None), sink(None, "v")])] == ["v"]


def test_negated_header_predicate(source, plugins: Plugins) -> None:
    chain = build_chain({
        "transforms": "keepMarked",
        "transforms.keepMarked.type": "Filter",
        "transforms.keepMarked.predicate": "marked",
        "transforms.keepMarked.negate": "true",
        "predicates": "marked",
        "predicates.marked.type": "HasHeaderKey",
        "predicates.marked.name": "header-8",
    }, plugins)
    assert chain is not None
    marked = source(None, "kept", headers=ConnectHeaders().add_string("header-8", "x"))
    assert [r.value for r in chain.apply_all([marked, source(None, "dropped")])] == ["kept"]


def test_chain_runs_in_order(sink, plugins: Plugins) -> None:
    chain = build_chain({
        "transforms": "route,mask,cast",
        "transforms.route.type": "RegexRouter",
        "transforms.route.regex": "(.*)",
        "transforms.route.replacement": "$1-out",
        "transforms.mask.type": JAVA + "MaskField$Value",
        "transforms.mask.fields": "secret",
        "transforms.cast.type": JAVA + "Cast$Value",
        "transforms.cast.spec": "n:string",
    }, plugins)
    assert chain is not None
    out = chain.apply(sink(None, {"secret": "pw", "n": 1}, topic="t"))
    assert (out.topic, out.value) == ("t-out", {"secret": "", "n": "1"})


def test_every_builtin_loads_by_java_name(plugins: Plugins) -> None:
    transformations = plugins.plugins("transformation")
    assert len([d for d in transformations if d.class_name.startswith(JAVA)]) == 26
    for desc in transformations:
        cls = plugins.transformation_class(desc.class_name)
        assert cls().version() == desc.version
    assert [d.class_name for d in plugins.plugins("predicate")] == [
        JAVA + "predicates.HasHeaderKey", JAVA + "predicates.RecordIsTombstone", JAVA + "predicates.TopicNameMatches"]


def test_variant_names_are_not_aliases(plugins: Plugins) -> None:
    with pytest.raises(ConnectError, match="which name matches Value,"):
        plugins.transformation_class("Value")


# -- kafkatest connect_distributed_test.test_transformations -------------------------------------------------


class _NoOffsets(OffsetStorageReader):
    def offset(self, partition: Any) -> None:
        return None


class _Context(SourceTaskContext):
    def configs(self) -> dict[str, str]:
        return {}

    def offset_storage_reader(self) -> OffsetStorageReader:
        return _NoOffsets()


def test_file_source_hoisted_and_timestamped(tmp_path: Path, plugins: Plugins) -> None:
    path = tmp_path / "input.txt"
    path.write_text("foo\nbar\n", encoding="utf-8")
    task = FileStreamSourceTask()
    task.initialize(_Context())
    task.start({"file": str(path), "topic": "test"})
    try:
        records = task.poll()
    finally:
        task.stop()
    assert records is not None and [r.value for r in records] == ["foo", "bar"]

    chain = build_chain({
        "transforms": "hoistToStruct,insertTimestampField",
        "transforms.hoistToStruct.type": "org.apache.kafka.connect.transforms.HoistField$Value",
        "transforms.hoistToStruct.field": "content",
        "transforms.insertTimestampField.type": "org.apache.kafka.connect.transforms.InsertField$Value",
        "transforms.insertTimestampField.timestamp.field": "the_timestamp",
    }, plugins)
    assert chain is not None
    converter = JsonConverter()
    converter.configure({"schemas.enable": "true"}, False)

    for line, record in zip(["foo", "bar"], chain.apply_all(records)):
        assert record.value_schema.field("content").schema == Schema.STRING_SCHEMA
        data = converter.from_connect_data(record.topic, record.value_schema, record.value)
        expected = (
            '{"schema":{"type":"struct","fields":['
            '{"type":"string","optional":false,"field":"content"},'
            '{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,'
            '"field":"the_timestamp"}],"optional":false},'
            f'"payload":{{"content":"{line}","the_timestamp":{record.timestamp}}}}}'
        )
        assert data == expected.encode()
        # What the system test checks, as dicts.
        obj = json.loads(data)
        assert obj["schema"] == {
            "type": "struct",
            "fields": [
                {"field": "content", "type": "string", "optional": False},
                {"field": "the_timestamp", "name": "org.apache.kafka.connect.data.Timestamp", "type": "int64",
                 "version": 1, "optional": True},
            ],
            "optional": False,
        }
        assert obj["payload"] == {"content": line, "the_timestamp": record.timestamp}
