"""``TransformationChain.apply_batch`` (one call to the record core per batch) does what ``apply_tolerant``
does record by record: the same results, and the same retries, error reports, dead letter queue records,
error logs and task failure for the records that fail."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from kcfast.data import ConnectHeaders
from kcfast.errors import ConnectError, DataError, RetriableError
from kcfast.plugins import Plugins
from kcfast.runtime.tolerance import (
    ERROR_HEADER_EXCEPTION_STACK_TRACE,
    DeadLetterQueueReporter,
    ErrorReporter,
    LogReporter,
    ProcessingContext,
    RawRecord,
    RetryWithToleranceOperator,
)
from kcfast.runtime.transforms import TransformationChain, TransformationStage, build_chain

JAVA = "org.apache.kafka.connect.transforms."

CONFIG = {
    "transforms": "route,insert,replace,dropTombstones",
    "transforms.route.type": "RegexRouter",
    "transforms.route.regex": "orders-(.*)",
    "transforms.route.replacement": "o-$1",
    "transforms.insert.type": JAVA + "InsertField$Value",
    "transforms.insert.offset.field": "offset",
    "transforms.insert.static.field": "origin",
    "transforms.insert.static.value": "kcfast",
    "transforms.replace.type": JAVA + "ReplaceField$Value",
    "transforms.replace.exclude": "secret",
    "transforms.dropTombstones.type": "Filter",
    "transforms.dropTombstones.predicate": "tombstone",
    "predicates": "tombstone",
    "predicates.tombstone.type": "RecordIsTombstone",
}


class Flaky:
    """A connector's own transformation: a value with ``"retry": n`` fails ``n`` times with a retriable error,
    one with ``"fatal"`` always fails."""

    def __init__(self) -> None:
        self.calls: list[Any] = []
        self.left: dict[int, int] = {}

    def apply(self, record: Any) -> Any:
        value = record.value
        self.calls.append(value.get("offset") if isinstance(value, dict) else value)
        if isinstance(value, dict) and "fatal" in value:
            raise ValueError(f"fatal value at {value['offset']}")
        if isinstance(value, dict) and "retry" in value:
            left = self.left.setdefault(value["offset"], value["retry"])
            if left:
                self.left[value["offset"]] = left - 1
                raise RetriableError(f"try again {value['offset']}")
        return record

    def close(self) -> None:
        pass


class Recorder(ErrorReporter):
    def __init__(self) -> None:
        self.reports: list[tuple[Any, ...]] = []

    def report(self, context: ProcessingContext) -> None:
        self.reports.append((context.stage, context.executing_class, type(context.error), str(context.error),
                             context.original, context.attempt))
        return None


class FakeProducer:
    def __init__(self) -> None:
        self.produced: list[tuple[Any, ...]] = []

    def produce(self, topic: str, value: Any, key: Any, on_delivery: Any = None, headers: Any = None,
                timestamp: int = 0) -> None:
        kept = [(k, v) for k, v in headers or () if k != ERROR_HEADER_EXCEPTION_STACK_TRACE]
        self.produced.append((topic, key, value, timestamp, kept))
        on_delivery(None, None)

    def poll(self, timeout: float = 0) -> int:
        return 0

    def flush(self, timeout: float = -1) -> int:
        return 0


class FakeAdmin:
    def list_topics(self, timeout: float = -1) -> Any:
        class Meta:
            topics: dict[str, Any] = {"errors": None}
        return Meta()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False


class Harness:
    """A chain with its own flaky stage, and an operator with a recorder, a log and a dead letter queue."""

    def __init__(self, tolerance: str, logger: str) -> None:
        chain = build_chain(CONFIG, Plugins())
        assert chain is not None
        self.flaky = Flaky()
        stages = list(chain.stages)
        stages.insert(2, TransformationStage("flaky", self.flaky))
        self.chain = TransformationChain(stages)
        self.recorder = Recorder()
        self.producer = FakeProducer()
        dlq = DeadLetterQueueReporter("conn-0", "errors", 1, True, {}, {},
                                      producer_factory=lambda conf, log: self.producer,
                                      admin_factory=lambda conf, log: FakeAdmin())
        dlq.start()
        self.clock = Clock()
        self.operator = RetryWithToleranceOperator(
            10_000, 100, tolerance,
            [self.recorder, LogReporter("conn-0", True, logging.getLogger(logger)), dlq],
            clock=self.clock, wait=self.clock.wait)


def original_of(record: Any) -> RawRecord:
    return RawRecord(record.topic, record.kafka_partition, record.kafka_offset, 1, record.timestamp,
                     b"key", repr(record.value).encode(), [("h", b"1")])


VALUES: list[Any] = [
    {"id": 0, "secret": "s"},
    "not a map",  # InsertField fails
    {"id": 2, "retry": 2},  # retried twice, then passes
    None,  # dropped by the filter
    {"id": 4, "fatal": True},  # the flaky stage fails for good
    {"id": 5, "secret": "t"},
    7,  # InsertField fails
    {"id": 7, "retry": 1},
]


def batch(sink: Any) -> list[Any]:
    headers = ConnectHeaders().add_string("trace", "x")
    return [sink(None, value, topic="orders-a" if i % 2 else "users", offset=i,
                 headers=headers if i == 5 else None) for i, value in enumerate(VALUES)]


def outcome(h: Harness, results: list[Any], caplog: pytest.LogCaptureFixture, logger: str) -> dict[str, Any]:
    return {
        "results": [None if r is None else (r.topic, r.value, r.kafka_offset, list(r.headers))
                    for r in results],
        "reports": h.recorder.reports,
        "dlq": h.producer.produced,
        "logs": [(r.levelname, r.getMessage(), type(r.exc_info[1]) if r.exc_info else None)
                 for r in caplog.records if r.name == logger],
        "failures": h.operator.total_failures,
        "backoffs": len(h.clock.waits),  # their lengths are jittered
        # How often each record went through the flaky stage (a failed record is resumed after the batch's
        # pass, so the calls come in another order).
        "flaky calls": sorted(h.flaky.calls, key=repr),
    }


def test_apply_batch_matches_apply_tolerant_with_tolerance_all(sink: Any,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    one = Harness("all", "test.one")
    expected_results = [one.chain.apply_tolerant(r, one.operator, original_of)[0] for r in batch(sink)]
    expected = outcome(one, expected_results, caplog, "test.one")

    many = Harness("all", "test.many")
    results = many.chain.apply_batch(batch(sink), many.operator, original_of)
    assert outcome(many, results, caplog, "test.many") == expected

    kept = [r for r in results if r is not None]
    assert [(r.topic, r.value) for r in kept] == [
        ("users", {"id": 0, "offset": 0, "origin": "kcfast"}),
        ("users", {"id": 2, "retry": 2, "offset": 2, "origin": "kcfast"}),
        ("o-a", {"id": 5, "offset": 5, "origin": "kcfast"}),
        ("o-a", {"id": 7, "retry": 1, "offset": 7, "origin": "kcfast"}),
    ]
    assert [(stage, error, text) for stage, _, error, text, _, _ in many.recorder.reports] == [
        ("TRANSFORMATION", DataError,
         "Only Map objects supported in absence of schema for [field insertion], found: java.lang.String"),
        ("TRANSFORMATION", ValueError, "fatal value at 4"),
        ("TRANSFORMATION", DataError,
         "Only Map objects supported in absence of schema for [field insertion], found: java.lang.Long"),
    ]
    assert [len(r) for r in (many.producer.produced, many.recorder.reports)] == [3, 3]
    assert many.clock.waits, "the retriable failures were retried with backoff"


def test_apply_batch_fails_the_task_at_the_same_record_with_tolerance_none(
        sink: Any, caplog: pytest.LogCaptureFixture) -> None:
    one = Harness("none", "test.one")
    with pytest.raises(ConnectError) as per_record:
        for record in batch(sink):
            one.chain.apply_tolerant(record, one.operator, original_of)
    many = Harness("none", "test.many")
    with pytest.raises(ConnectError) as batched:
        many.chain.apply_batch(batch(sink), many.operator, original_of)
    assert str(batched.value) == str(per_record.value) == "Tolerance exceeded in error handler"
    cause = batched.value.__cause__
    assert (type(cause), str(cause)) == (type(per_record.value.__cause__), str(per_record.value.__cause__))
    assert many.recorder.reports == one.recorder.reports and len(many.recorder.reports) == 1
    assert many.producer.produced == one.producer.produced


def test_apply_batch_of_source_records_keeps_order_and_drops(source: Any) -> None:
    chain = build_chain({
        "transforms": "drop,hoist",
        "transforms.drop.type": "Filter",
        "transforms.drop.predicate": "isX",
        "transforms.hoist.type": JAVA + "HoistField$Value",
        "transforms.hoist.field": "v",
        "predicates": "isX",
        "predicates.isX.type": "TopicNameMatches",
        "predicates.isX.pattern": "x.*",
    }, Plugins())
    assert chain is not None
    records = [source(None, i, topic=t) for i, t in enumerate(["a", "xa", "b", "xb", "c"])]
    operator = RetryWithToleranceOperator()
    results = chain.apply_batch(records, operator)
    assert [None if r is None else (r.topic, r.value) for r in results] == [
        ("a", {"v": 0}), None, ("b", {"v": 2}), None, ("c", {"v": 4})]
    assert results == [chain.apply_tolerant(r, operator)[0] for r in records]
    assert chain.apply_batch([], operator) == []
    assert chain.apply_all(records) == [r for r in results if r is not None]


def test_apply_all_raises_the_first_failure(sink: Any) -> None:
    chain = build_chain(CONFIG, Plugins())
    assert chain is not None
    with pytest.raises(DataError, match="found: java.lang.String$"):
        chain.apply_all([sink(None, {"id": 1}), sink(None, "text"), sink(None, 5)])
