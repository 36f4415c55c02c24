"""The record core runs a transformation chain over a batch (``compile_transform_plan`` + ``transform_batch``)
exactly as the chain's Python stages do one record at a time: same records out (topic, partition, key, value
with its field order, headers, timestamp, record class and coordinates), same records dropped, and the same
failures at the same stage with the same error. On both implementations of the core."""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kcfast.data import ConnectHeaders, Schema, SchemaBuilder, Struct
from kcfast.errors import DataError
from kcfast.plugins import Plugins
from kcfast.runtime.transforms import TransformationChain, TransformationStage, build_chain, stage_specs
from kcfast.transforms import HoistFieldValue

JAVA = "org.apache.kafka.connect.transforms."
PLUGINS = Plugins()

STRUCT_SCHEMA = (SchemaBuilder.struct().field("id", Schema.INT64_SCHEMA)
                 .field("name", Schema.OPTIONAL_STRING_SCHEMA).build())

# name -> (connector config, the op kind of each stage in the plan)
CHAINS: dict[str, tuple[dict[str, str], list[str]]] = {
    "route-insert-replace": ({
        "transforms": "route,insert,replace",
        "transforms.route.type": "RegexRouter",
        "transforms.route.regex": "orders-(\\d+)",
        "transforms.route.replacement": "o$1",
        "transforms.insert.type": JAVA + "InsertField$Value",
        "transforms.insert.topic.field": "topic",
        "transforms.insert.partition.field": "partition",
        "transforms.insert.offset.field": "offset!",
        "transforms.insert.timestamp.field": "ts",
        "transforms.insert.static.field": "origin",
        "transforms.insert.static.value": "kcfast",
        "transforms.replace.type": JAVA + "ReplaceField$Value",
        "transforms.replace.exclude": "secret",
        "transforms.replace.renames": "id:order_id,topic:t",
    }, ["regex_router", "insert_field", "replace_field"]),
    "include-renames": ({
        "transforms": "keep",
        "transforms.keep.type": JAVA + "ReplaceField$Value",
        "transforms.keep.include": "id,name,nested",
        "transforms.keep.exclude": "name",
        "transforms.keep.renames": "nested:n",
    }, ["replace_field"]),
    "key-side": ({
        "transforms": "insert,replace,hoist,extract",
        "transforms.insert.type": JAVA + "InsertField$Key",
        "transforms.insert.topic.field": "topic",
        "transforms.insert.static.field": "s",
        "transforms.insert.static.value": "v",
        "transforms.replace.type": JAVA + "ReplaceField$Key",
        "transforms.replace.exclude": "secret",
        "transforms.hoist.type": JAVA + "HoistField$Key",
        "transforms.hoist.field": "k",
        "transforms.extract.type": JAVA + "ExtractField$Key",
        "transforms.extract.field": "k",
    }, ["insert_field", "replace_field", "hoist_field", "extract_field"]),
    "extract-v1-hoist": ({
        "transforms": "extract,hoist",
        "transforms.extract.type": JAVA + "ExtractField$Value",
        "transforms.extract.field": "nested",
        "transforms.hoist.type": JAVA + "HoistField$Value",
        "transforms.hoist.field": "wrapped",
    }, ["extract_field", "hoist_field"]),
    "extract-v2": ({
        "transforms": "extract",
        "transforms.extract.type": JAVA + "ExtractField$Value",
        "transforms.extract.field": "nested.id",
        "transforms.extract.field.syntax.version": "V2",
    }, ["extract_field"]),
    "value-to-key": ({
        "transforms": "copy",
        "transforms.copy.type": JAVA + "ValueToKey",
        "transforms.copy.fields": "id,name",
    }, ["value_to_key"]),
    "headers": ({
        "transforms": "insert,drop,mark",
        "transforms.insert.type": JAVA + "InsertHeader",
        "transforms.insert.header": "h1",
        "transforms.insert.value.literal": "42",
        "transforms.drop.type": JAVA + "DropHeaders",
        "transforms.drop.headers": "trace,h2",
        "transforms.mark.type": "InsertHeader",
        "transforms.mark.header": "list",
        "transforms.mark.value.literal": "[1, 2]",
    }, ["insert_header", "drop_headers", "insert_header"]),
    "predicates": ({
        "transforms": "dropOrders,tag,dropTombstones",
        "transforms.dropOrders.type": "Filter",
        "transforms.dropOrders.predicate": "isOrders",
        "transforms.tag.type": JAVA + "InsertField$Value",
        "transforms.tag.static.field": "unmarked",
        "transforms.tag.static.value": "yes",
        "transforms.tag.predicate": "marked",
        "transforms.tag.negate": "true",
        "transforms.dropTombstones.type": JAVA + "Filter",
        "transforms.dropTombstones.predicate": "tombstone",
        "predicates": "isOrders,marked,tombstone",
        "predicates.isOrders.type": JAVA + "predicates.TopicNameMatches",
        "predicates.isOrders.pattern": "orders-\\d",
        "predicates.marked.type": "HasHeaderKey",
        "predicates.marked.name": "h1",
        "predicates.tombstone.type": "RecordIsTombstone",
    }, ["filter", "insert_field", "filter"]),
    "timestamp-router-day": ({
        "transforms": "route",
        "transforms.route.type": JAVA + "TimestampRouter",
    }, ["timestamp_router"]),
    "timestamp-router-hour": ({
        "transforms": "route",
        "transforms.route.type": "TimestampRouter",
        "transforms.route.topic.format": "${timestamp}.${topic}",
        "transforms.route.timestamp.format": "yyyy-MM-dd'T'HH 'mm' EEE",
    }, ["timestamp_router"]),
    "timestamp-router-ms": ({
        "transforms": "route",
        "transforms.route.type": "TimestampRouter",
        "transforms.route.timestamp.format": "HH:mm:ss.SSS Z",
    }, ["timestamp_router"]),
    "mixed-with-python-stages": ({
        "transforms": "route,mask,insert,flatten,cast,replace",
        "transforms.route.type": "RegexRouter",
        "transforms.route.regex": "(.*)",
        "transforms.route.replacement": "$1-out",
        "transforms.mask.type": JAVA + "MaskField$Value",
        "transforms.mask.fields": "secret",
        "transforms.insert.type": JAVA + "InsertField$Value",
        "transforms.insert.static.field": "origin",
        "transforms.insert.static.value": "kcfast",
        "transforms.flatten.type": JAVA + "Flatten$Value",
        "transforms.cast.type": JAVA + "Cast$Value",
        "transforms.cast.spec": "id:string",
        "transforms.replace.type": JAVA + "ReplaceField$Value",
        "transforms.replace.exclude": "name",
    }, ["regex_router", "python", "insert_field", "python", "python", "replace_field"]),
}

# -- records -------------------------------------------------------------------------------------------

FIELDS = st.sampled_from(["id", "name", "secret", "nested", "topic", "k", "a.b"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=4),
                    st.floats(allow_nan=False, allow_infinity=False))
MAPS = st.dictionaries(FIELDS, st.one_of(SCALARS, st.dictionaries(FIELDS, SCALARS, max_size=3)), max_size=5)
DATA = st.one_of(st.none(), MAPS, MAPS, MAPS, st.text(max_size=3), st.integers(0, 9),
                 st.lists(SCALARS, max_size=2))
HEADERS = st.one_of(st.none(), st.lists(st.tuples(st.sampled_from(["h1", "h2", "trace", "other"]),
                                                  st.text(max_size=3)), max_size=4))


@st.composite
def record_specs(draw: st.DrawFn) -> dict[str, Any]:
    """What one record is made of (records are made from it twice: one for each path)."""
    spec: dict[str, Any] = {
        "sink": draw(st.booleans()),
        "topic": draw(st.sampled_from(["orders-1", "orders-22", "users", "a.b", "orders-x"])),
        "partition": draw(st.one_of(st.none(), st.integers(0, 5))),
        "key": draw(DATA),
        "value": draw(DATA),
        "timestamp": draw(st.one_of(st.none(), st.integers(-10**11, 4 * 10**12), st.sampled_from(
            [-1, 0, 86_399_999, 86_400_000, 3_599_999, 3_600_000]))),
        "headers": draw(HEADERS),
        "struct": draw(st.integers(0, 9)) == 0,
    }
    return spec


def make(impl: ModuleType, spec: dict[str, Any], offset: int) -> Any:
    headers = None
    if spec["headers"] is not None:
        headers = ConnectHeaders()
        for key, text in spec["headers"]:
            headers.add_string(key, text)
    value_schema, value = None, spec["value"]
    if spec["struct"]:
        value_schema, value = STRUCT_SCHEMA, Struct(STRUCT_SCHEMA).put("id", offset).put("name", "n")
    if spec["sink"]:
        return impl.SinkRecord(spec["topic"], spec["partition"], None, spec["key"], value_schema, value,
                               offset, spec["timestamp"], impl.TimestampType.CREATE_TIME, headers)
    return impl.SourceRecord({"db": "x"}, {"pos": offset}, spec["topic"], spec["partition"], None,
                             spec["key"], value_schema, value, spec["timestamp"], headers)


def ordered(data: Any) -> Any:
    """``data`` with the order of map entries made part of its comparison."""
    if isinstance(data, dict):
        return ("map", [(k, ordered(v)) for k, v in data.items()])
    if isinstance(data, list):
        return [ordered(v) for v in data]
    return data


def snapshot(record: Any) -> Any:
    """Everything a user could observe of a record."""
    if record is None:
        return None
    seen = [type(record).__name__, record.topic, record.kafka_partition, record.key_schema,
            ordered(record.key), record.value_schema, ordered(record.value), record.timestamp,
            [(h.key, h.schema, ordered(h.value)) for h in record.headers]]
    if type(record).__name__ == "SinkRecord":
        seen += [record.kafka_offset, record.timestamp_type, record.original_topic,
                 record.original_kafka_partition, record.original_kafka_offset]
    else:
        seen += [record.source_partition, record.source_offset]
    return seen


def per_record(chain: TransformationChain, record: Any) -> tuple[Any, ...]:
    """What the chain's Python stages do with ``record``, one after the other."""
    for index, stage in enumerate(chain.stages):
        try:
            out = stage.apply(record)
        except Exception as exc:  # noqa: BLE001 - compared with the batch's failure
            return ("failed", index, snapshot(record), type(exc), str(exc))
        if out is None:
            return ("result", None)
        record = out
    return ("result", snapshot(record))


def batched(impl: ModuleType, chain: TransformationChain, records: list[Any]) -> list[tuple[Any, ...]]:
    """What ``transform_batch`` does with ``records``, in the form of :func:`per_record`."""
    results, failures = impl.transform_batch(records, impl.compile_transform_plan(stage_specs(chain.stages)))
    assert len(results) == len(records)
    out = [("result", snapshot(r)) for r in results]
    for position, index, record, exc in failures:
        assert results[position] is None
        out[position] = ("failed", index, snapshot(record), type(exc), str(exc))
    assert [f[0] for f in failures] == sorted(f[0] for f in failures)
    return out


def chain_of(name: str) -> TransformationChain:
    chain = build_chain(CHAINS[name][0], PLUGINS)
    assert chain is not None
    return chain


# -- equivalence ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_chain_is_planned_with_the_compiled_ops(name: str) -> None:
    props, kinds = CHAINS[name]
    assert [op[0] for _, _, op in stage_specs(chain_of(name).stages)] == kinds


@pytest.mark.parametrize("name", sorted(CHAINS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(record_specs(), min_size=1, max_size=12))
def test_batch_equals_the_per_record_chain(impl: ModuleType, name: str, specs: list[dict[str, Any]]) -> None:
    chain = chain_of(name)
    expected = [per_record(chain, make(impl, spec, i)) for i, spec in enumerate(specs)]
    records = [make(impl, spec, i) for i, spec in enumerate(specs)]
    assert batched(impl, chain, records) == expected
    untouched = [snapshot(make(impl, spec, i)) for i, spec in enumerate(specs)]
    assert [snapshot(r) for r in records] == untouched, "the input records are left as they were"


@pytest.mark.parametrize("name", ["route-insert-replace", "predicates", "timestamp-router-hour"])
def test_caches_give_the_same_results_across_batches_and_many_topics(impl: ModuleType, name: str) -> None:
    chain = chain_of(name)
    plan = impl.compile_transform_plan(stage_specs(chain.stages))
    specs = [{"sink": True, "topic": f"orders-{i % 5000}", "partition": 0, "key": None, "value": {"id": i},
              "timestamp": 1_700_000_000_000 + 997 * i, "headers": None, "struct": False}
             for i in range(6000)]
    for _ in range(2):
        records = [make(impl, spec, i) for i, spec in enumerate(specs)]
        results, failures = impl.transform_batch(records, plan)
        assert failures == []
        assert [snapshot(r) for r in results] == [per_record(chain, r)[1] for r in records]


# -- failures ------------------------------------------------------------------------------------------


def test_failures_name_the_record_the_stage_and_the_transformations_error(impl: ModuleType) -> None:
    chain = chain_of("route-insert-replace")
    ok = impl.SinkRecord("orders-1", 0, None, None, None, {"id": 1, "secret": "s"}, 10, 5)
    not_a_map = impl.SinkRecord("orders-2", 0, None, None, None, "text", 11, 5)
    source = impl.SourceRecord({}, {}, "users", None, None, None, None, {"id": 3}, 5)
    dropped_by_none = impl.SinkRecord("orders-3", 1, None, None, None, None, 12, 5)
    results, failures = impl.transform_batch([ok, not_a_map, source, dropped_by_none],
                                             impl.compile_transform_plan(stage_specs(chain.stages)))
    assert results[0].value == {"order_id": 1, "t": "o1", "partition": 0, "offset": 10, "ts": 5,
                                "origin": "kcfast"}
    assert results[1] is None and results[2] is None
    assert results[3].value is None and results[3].topic == "o3"
    assert [(f[0], f[1], f[2].topic, type(f[3]), str(f[3])) for f in failures] == [
        (1, 1, "o2", DataError,
         "Only Map objects supported in absence of schema for [field insertion], found: java.lang.String"),
        (2, 1, "users", DataError, "Only SinkRecord supported for [field insertion], found: "
                                   "org.apache.kafka.connect.source.SourceRecord"),
    ]


def test_timestamp_router_without_timestamp_fails_with_the_record(impl: ModuleType) -> None:
    chain = chain_of("timestamp-router-day")
    record = impl.SinkRecord("t", 0, None, None, None, {}, 1, None)
    results, [(position, stage, failed, error)] = impl.transform_batch(
        [record], impl.compile_transform_plan(stage_specs(chain.stages)))
    assert (results, position, stage, failed) == ([None], 0, 0, record)
    assert isinstance(error, DataError) and str(error) == f"Timestamp missing on record: {record!r}"


def test_invalid_timestamp_format_is_left_to_the_transformation(impl: ModuleType) -> None:
    chain = build_chain({"transforms": "r", "transforms.r.type": "TimestampRouter",
                         "transforms.r.timestamp.format": "yyyy-bb"}, PLUGINS)
    assert chain is not None
    [(_, _, op)] = stage_specs(chain.stages)
    assert op[0] == "python"
    records = [impl.SinkRecord("t", 0, None, None, None, {}, 1, 5)]
    plan = impl.compile_transform_plan(stage_specs(chain.stages))
    _, [(_, _, _, error)] = impl.transform_batch(records, plan)
    assert isinstance(error, ValueError) and "Illegal pattern character 'b'" in str(error)


def test_predicate_failure_is_the_stage_failure(impl: ModuleType) -> None:
    chain = chain_of("predicates")
    weird = impl.SourceRecord({}, {}, 42, None, None, None, None, {"id": 1})  # a topic that is not a string
    _, [(position, stage, record, error)] = impl.transform_batch(
        [weird], impl.compile_transform_plan(stage_specs(chain.stages)))
    assert (position, stage, record) == (0, 0, weird)
    with pytest.raises(type(error), match="expected string"):
        chain.stages[0].predicate.test(weird)


# -- fallbacks -----------------------------------------------------------------------------------------


class Shout:
    """A connector's own transformation: upper-cases string values, fails on ``"boom"``."""

    calls = 0

    def apply(self, record: Any) -> Any:
        Shout.calls += 1
        if record.value == "boom":
            raise ValueError("no booms")
        if not isinstance(record.value, str):
            return record
        return record.new_record(record.topic, record.kafka_partition, record.key_schema, record.key,
                                 record.value_schema, record.value.upper(), record.timestamp)

    def close(self) -> None:
        pass


class OddOffsets:
    """A connector's own predicate."""

    def test(self, record: Any) -> bool:
        return record.kafka_offset % 2 == 1

    def close(self) -> None:
        pass


class MyHoist(HoistFieldValue):
    """A subclass of a built-in: it may change anything, so it runs as Python."""


def test_stages_of_other_classes_run_their_python_code_in_order(impl: ModuleType) -> None:
    mine = MyHoist()
    mine.configure({"field": "wrapped"})
    router = build_chain(CHAINS["route-insert-replace"][0], PLUGINS).stages[0]  # type: ignore[union-attr]
    chain = TransformationChain([
        TransformationStage("shout", Shout(), OddOffsets()),
        router,
        TransformationStage("mine", mine),
    ])
    specs = stage_specs(chain.stages)
    assert [(p if p is None else p[0], op[0]) for p, _, op in specs] == [
        ("python", "python"), (None, "regex_router"), (None, "python")]
    records = [impl.SinkRecord("orders-1", 0, None, None, None, v, i)
               for i, v in enumerate(["a", "b", {}, "boom"])]
    Shout.calls = 0
    results, failures = impl.transform_batch(records, impl.compile_transform_plan(specs))
    assert Shout.calls == 2  # offsets 1 and 3 only
    assert [(r.topic, r.value) for r in results[:3]] == [("o1", {"wrapped": "a"}), ("o1", {"wrapped": "B"}),
                                                          ("o1", {"wrapped": {}})]
    assert [snapshot(r) for r in results[:3]] == [per_record(chain, r)[1] for r in records[:3]]
    assert [(f[0], f[1], str(f[3])) for f in failures] == [(3, 0, "no booms")]


def test_unknown_kinds_are_rejected(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="Unknown transformation spec"):
        impl.compile_transform_plan([(None, False, ("nope", print))])
    with pytest.raises(ValueError, match="Unknown predicate spec"):
        impl.compile_transform_plan([(("nope", print), False, ("filter", print))])


def test_empty_batch_and_empty_plan(impl: ModuleType) -> None:
    plan = impl.compile_transform_plan(stage_specs(chain_of("headers").stages))
    assert impl.transform_batch([], plan) == ([], [])
    record = impl.SinkRecord("t", 0, None, None, None, 1, 1)
    results, failures = impl.transform_batch([record], [])
    assert results[0] is record and failures == []


def test_regex_router_logs_each_record_at_debug_like_the_transformation(
        impl: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    chain = chain_of("route-insert-replace")
    plan = impl.compile_transform_plan(stage_specs(chain.stages))
    records = [impl.SinkRecord(t, 0, None, None, None, {}, 1) for t in ("orders-1", "users")]
    impl.transform_batch(records, plan)  # not logged: the router caches
    caplog.set_level(logging.DEBUG, logger="kcfast.transforms.regex_router")
    impl.transform_batch(records, plan)
    batch_logs = [r.getMessage() for r in caplog.records]
    caplog.clear()
    for record in records:
        chain.apply(record)
    assert batch_logs == [r.getMessage() for r in caplog.records] == [
        "Rerouting from topic 'orders-1' to new topic 'o1'",
        "Not rerouting topic 'users' as it does not match the configured regex",
    ]
