"""Retry with tolerance, error reporters, the errant record reporter and tolerant transformation chains."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from kcfast.converters import SimpleHeaderConverter, StringConverter
from kcfast.core import SinkRecord, TimestampType
from kcfast.data import Schema
from kcfast.data.headers import ConnectHeaders
from kcfast.errors import ConnectError, DataError, RetriableError
from kcfast.metrics import TaskMetrics
from kcfast.runtime.errant_reporter import WorkerErrantRecordReporter
from kcfast.runtime.status import ConnectorTaskId
from kcfast.runtime.tolerance import (
    DeadLetterQueueReporter,
    ErrorReporter,
    LogReporter,
    ProcessingContext,
    RawRecord,
    RetryWithToleranceOperator,
    Stage,
    ToleranceType,
    build_reporters,
    exception_class_name,
    uses_errant_record_reporter,
)
from kcfast.runtime.transforms import TransformationChain, TransformationStage

TASK = ConnectorTaskId("my-sink", 3)
RAW = RawRecord("orders", 2, 41, 1, 1700000000123, b"k", b'{"some_key:1}', [("h", b"v")])


class FakeClock:
    """Monotonic seconds that only move when the operator waits."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(round(seconds, 6))
        self.now += seconds
        return False


class Recorder(ErrorReporter):
    def __init__(self) -> None:
        self.contexts: list[tuple[Stage | None, type | None, BaseException | None, Any]] = []

    def report(self, context: ProcessingContext) -> None:
        self.contexts.append((context.stage, context.executing_class, context.error, context.original))
        return None


class Flaky:
    """An operation that raises the given errors in turn, then returns ``result``."""

    def __init__(self, errors: list[BaseException], result: Any = "ok") -> None:
        self.errors = list(errors)
        self.result = result
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


def operator(timeout: int = 0, delay_max: int = 60000, tolerance: str = "none",
             reporters: list[ErrorReporter] | None = None) -> tuple[RetryWithToleranceOperator, FakeClock]:
    clock = FakeClock()
    return RetryWithToleranceOperator(timeout, delay_max, tolerance, reporters or [], clock=clock,
                                      wait=clock.wait), clock


# -- configuration -------------------------------------------------------------------------------------------


def test_stage_names_are_kafkas() -> None:
    assert [s.value for s in Stage] == ["KEY_CONVERTER", "VALUE_CONVERTER", "HEADER_CONVERTER",
                                        "TRANSFORMATION", "TASK_PUT", "TASK_POLL", "KAFKA_PRODUCE",
                                        "KAFKA_CONSUME"]


def test_from_config_reads_the_errors_keys() -> None:
    op = RetryWithToleranceOperator.from_config(
        {"errors.retry.timeout": " -1 ", "errors.retry.delay.max.ms": "1000", "errors.tolerance": "ALL"})
    assert (op.retry_timeout_ms, op.retry_delay_max_ms, op.tolerance) == (-1, 1000, ToleranceType.ALL)
    default = RetryWithToleranceOperator.from_config({})
    assert (default.retry_timeout_ms, default.retry_delay_max_ms, default.tolerance) == (
        0, 60000, ToleranceType.NONE)


def test_reporters_follow_the_config() -> None:
    assert build_reporters(TASK, {}, sink=True) == []
    assert not uses_errant_record_reporter({})
    logged = build_reporters(TASK, {"errors.log.enable": "true", "errors.log.include.messages": "true"},
                             sink=True)
    assert len(logged) == 1 and isinstance(logged[0], LogReporter) and logged[0].include_messages
    assert uses_errant_record_reporter({"errors.log.enable": "true"})
    dlq = build_reporters(TASK, {"errors.deadletterqueue.topic.name": " dlq ",
                                 "errors.deadletterqueue.topic.replication.factor": "1",
                                 "errors.deadletterqueue.context.headers.enable": "true"}, sink=True)
    assert len(dlq) == 1 and isinstance(dlq[0], DeadLetterQueueReporter)
    assert (dlq[0].topic, dlq[0].replication_factor, dlq[0].context_headers) == ("dlq", 1, True)
    assert uses_errant_record_reporter({"errors.deadletterqueue.topic.name": "dlq"})
    # Source connectors have no dead letter queue.
    assert build_reporters(TASK, {"errors.deadletterqueue.topic.name": "dlq"}, sink=False) == []


# -- execute and recover -------------------------------------------------------------------------------------


def test_success_returns_the_result_without_reports() -> None:
    rec = Recorder()
    op, _ = operator(reporters=[rec])
    ctx = ProcessingContext(RAW)
    assert op.execute(ctx, lambda: 42, Stage.VALUE_CONVERTER, StringConverter) == 42
    assert not ctx.failed and rec.contexts == [] and op.total_failures == 0


@pytest.mark.parametrize("stage", [Stage.KEY_CONVERTER, Stage.VALUE_CONVERTER, Stage.HEADER_CONVERTER,
                                   Stage.TRANSFORMATION])
def test_tolerance_all_skips_any_failure_in_converters_and_transformations(stage: Stage) -> None:
    rec = Recorder()
    op, clock = operator(timeout=10000, tolerance="all", reporters=[rec])
    error = ValueError("bad data")
    ctx = ProcessingContext(RAW)
    assert op.execute(ctx, Flaky([error]), stage, StringConverter) is None
    assert ctx.failed and ctx.error is error and ctx.attempt == 1
    assert rec.contexts == [(stage, StringConverter, error, RAW)]
    assert clock.waits == [], "only retriable errors are retried"
    assert op.within_tolerance_limits()


def test_tolerance_none_fails_at_the_first_failure_after_reporting_it() -> None:
    rec = Recorder()
    op, _ = operator(reporters=[rec])
    error = DataError("Converting byte[] to Kafka Connect data failed")
    with pytest.raises(ConnectError, match="^Tolerance exceeded in error handler$") as info:
        op.execute(ProcessingContext(RAW), Flaky([error]), Stage.VALUE_CONVERTER, StringConverter)
    assert info.value.__cause__ is error
    assert len(rec.contexts) == 1, "the failed record is reported (DLQ) before the task fails"
    assert not op.within_tolerance_limits()


def test_failures_outside_converters_and_transformations_are_not_tolerable() -> None:
    op, _ = operator(tolerance="all")
    error = KeyError("boom")
    with pytest.raises(ConnectError, match="^Unhandled exception in error handler$") as info:
        op.execute(ProcessingContext(RAW), Flaky([error]), Stage.KAFKA_PRODUCE, None)
    assert info.value.__cause__ is error
    # A RetriableError is tolerable at any stage.
    ctx = ProcessingContext(RAW)
    assert op.execute(ctx, Flaky([RetriableError("later")]), Stage.KAFKA_CONSUME, None) is None
    assert ctx.failed


def test_retriable_errors_are_retried_with_doubling_backoff_until_success() -> None:
    op, clock = operator(timeout=60000, delay_max=60000)
    action = Flaky([RetriableError("1"), RetriableError("2"), RetriableError("3")], "done")
    ctx = ProcessingContext(RAW)
    assert op.execute(ctx, action, Stage.TRANSFORMATION, None) == "done"
    assert action.calls == 4 and ctx.attempt == 4 and not ctx.failed
    assert clock.waits == [0.3, 0.6, 1.2]
    assert op.total_failures == 0


def test_retries_stop_at_the_retry_timeout() -> None:
    rec = Recorder()
    op, clock = operator(timeout=1000, tolerance="all", reporters=[rec])
    action = Flaky([RetriableError(str(i)) for i in range(50)])
    ctx = ProcessingContext(RAW)
    assert op.execute(ctx, action, Stage.TRANSFORMATION, None) is None
    # 300 + 600 ms, then the last backoff is cut to the 100 ms left before the deadline.
    assert clock.waits == [0.3, 0.6, 0.1]
    assert action.calls == 4 and ctx.attempt == 4
    assert ctx.failed and str(ctx.error) == "3" and len(rec.contexts) == 1


def test_retries_exhausted_with_tolerance_none_fail_the_task() -> None:
    op, _ = operator(timeout=500)
    with pytest.raises(ConnectError, match="Tolerance exceeded in error handler") as info:
        op.execute(ProcessingContext(RAW), Flaky([RetriableError(c) for c in "abc"]), Stage.TRANSFORMATION,
                   None)
    assert str(info.value.__cause__) == "c"


def test_no_retries_by_default() -> None:
    op, clock = operator(tolerance="all")
    action = Flaky([RetriableError("x")])
    ctx = ProcessingContext(RAW)
    assert op.execute(ctx, action, Stage.TRANSFORMATION, None) is None
    assert action.calls == 1 and clock.waits == []


def test_backoff_beyond_the_maximum_delay_is_random_below_it() -> None:
    op, clock = operator(timeout=-1, delay_max=1000)
    action = Flaky([RetriableError(str(i)) for i in range(6)], "finally")
    assert op.execute(ProcessingContext(RAW), action, Stage.TRANSFORMATION, None) == "finally"
    assert clock.waits[:2] == [0.3, 0.6]
    assert all(0 <= w < 1.0 for w in clock.waits[2:]) and len(clock.waits) == 6


def test_a_non_retriable_error_during_retries_ends_them() -> None:
    op, clock = operator(timeout=60000, tolerance="all")
    ctx = ProcessingContext(RAW)
    assert op.execute(ctx, Flaky([RetriableError("r"), ValueError("v")]), Stage.TRANSFORMATION, None) is None
    assert isinstance(ctx.error, ValueError) and clock.waits == [0.3]


@pytest.mark.parametrize("tolerance", ["none", "all"])
def test_trigger_stop_ends_retrying_without_counting_a_failure(tolerance: str) -> None:
    rec = Recorder()
    op, clock = operator(timeout=-1, tolerance=tolerance, reporters=[rec])

    def stop_while_waiting(seconds: float) -> bool:
        clock.waits.append(seconds)
        op.trigger_stop()
        return True

    op._wait = stop_while_waiting
    ctx = ProcessingContext(RAW)
    action = Flaky([RetriableError("r")] * 100)
    assert op.execute(ctx, action, Stage.TRANSFORMATION, None) is None
    assert action.calls == 1 and ctx.failed
    assert rec.contexts == [] and op.total_failures == 0, "the task stops; it has not failed"


def test_execute_failed_reports_and_applies_the_tolerance() -> None:
    rec = Recorder()
    op, _ = operator(tolerance="all", reporters=[rec])
    error = RuntimeError("put failed")
    fut = op.execute_failed(ProcessingContext(RAW), Stage.TASK_PUT, None, error)
    assert fut.done() and rec.contexts[0][0] is Stage.TASK_PUT
    strict, _ = operator()
    with pytest.raises(ConnectError, match="Tolerance exceeded in error handler"):
        strict.execute_failed(ProcessingContext(RAW), Stage.TASK_PUT, None, error)


def test_an_already_failed_context_is_not_executed_again() -> None:
    op, _ = operator(tolerance="all")
    ctx = ProcessingContext(RAW)
    op.execute(ctx, Flaky([ValueError("x")]), Stage.KEY_CONVERTER, None)
    action = Flaky([])
    assert op.execute(ctx, action, Stage.VALUE_CONVERTER, None) is None and action.calls == 0


# -- reporters -----------------------------------------------------------------------------------------------


def failed_context(original: Any, stage: Stage = Stage.VALUE_CONVERTER, cls: type | None = StringConverter,
                   error: BaseException | None = None) -> ProcessingContext:
    ctx = ProcessingContext(original)
    ctx.stage, ctx.executing_class = stage, cls
    try:
        raise error or DataError("Converting byte[] to Kafka Connect data failed due to serialization error")
    except Exception as exc:  # noqa: BLE001 - to get a traceback
        ctx.error = exc
    return ctx


def test_log_reporter_message_matches_kafkas(caplog: pytest.LogCaptureFixture) -> None:
    reporter = LogReporter(TASK, include_messages=True, logger=logging.getLogger("test.errors"))
    with caplog.at_level(logging.ERROR, logger="test.errors"):
        reporter.report(failed_context(RAW))
    assert caplog.records[0].getMessage() == (
        "Error encountered in task my-sink-3. Executing stage 'VALUE_CONVERTER' with class "
        "'org.apache.kafka.connect.storage.StringConverter', where consumed record is {topic='orders', "
        "partition=2, offset=41, timestamp=1700000000123, timestampType=CreateTime}.")
    assert caplog.records[0].exc_info is not None
    brief = LogReporter(TASK, include_messages=False)
    no_ts = RAW._replace(timestamp_type=0)
    assert brief.message(failed_context(no_ts)) == (
        "Error encountered in task my-sink-3. Executing stage 'VALUE_CONVERTER' with class "
        "'org.apache.kafka.connect.storage.StringConverter'.")
    assert LogReporter(TASK, True).message(failed_context(no_ts)).endswith("offset=41}.")


class FakeProducer:
    def __init__(self, fail: bool = False) -> None:
        self.produced: list[dict[str, Any]] = []
        self.callbacks: list[Callable[[Any, Any], None]] = []
        self.fail = fail

    def produce(self, topic: str, value: Any = None, key: Any = None, **kwargs: Any) -> None:
        self.produced.append({"topic": topic, "value": value, "key": key, **kwargs})
        self.callbacks.append(kwargs["on_delivery"])

    def poll(self, timeout: float = 0) -> int:
        return 0

    def flush(self, timeout: float = -1) -> int:
        callbacks, self.callbacks = self.callbacks, []
        for cb in callbacks:
            cb("broker down" if self.fail else None, None)
        return 0


class FakeAdmin:
    def __init__(self) -> None:
        self.created: list[Any] = []

    def list_topics(self, timeout: float = -1) -> Any:
        class Meta:
            topics: dict[str, Any] = {"other": None}
        return Meta()

    def create_topics(self, topics: list[Any], **kwargs: Any) -> dict[str, Any]:
        from concurrent.futures import Future

        self.created.extend(topics)
        out = {}
        for t in topics:
            fut: Future[None] = Future()
            fut.set_result(None)
            out[t.topic] = fut
        return out


def dlq(context_headers: bool = True,
        fail: bool = False) -> tuple[DeadLetterQueueReporter, FakeProducer, FakeAdmin]:
    producer, admin = FakeProducer(fail), FakeAdmin()
    reporter = DeadLetterQueueReporter(TASK, "my-connector-errors", 1, context_headers,
                                       {"bootstrap.servers": "x"}, {"bootstrap.servers": "x"},
                                       producer_factory=lambda conf, log: producer,
                                       admin_factory=lambda conf, log: admin)
    reporter.start()
    return reporter, producer, admin


def test_dead_letter_queue_creates_its_topic_with_one_partition() -> None:
    _, _, admin = dlq()
    [topic] = admin.created
    assert (topic.topic, topic.num_partitions, topic.replication_factor) == ("my-connector-errors", 1, 1)


def test_dead_letter_queue_record_is_the_original_with_kafkas_context_headers() -> None:
    reporter, producer, _ = dlq()
    ctx = failed_context(RAW)
    future = reporter.report(ctx)
    assert future is not None and not future.done()
    [sent] = producer.produced
    assert (sent["topic"], sent["key"], sent["value"], sent["timestamp"]) == (
        "my-connector-errors", b"k", b'{"some_key:1}', 1700000000123)
    assert "partition" not in sent
    headers = sent["headers"]
    assert headers[0] == ("h", b"v"), "the original headers come first"
    named = dict(headers[1:])
    assert list(named) == [
        "__connect.errors.topic", "__connect.errors.partition", "__connect.errors.offset",
        "__connect.errors.connector.name", "__connect.errors.task.id", "__connect.errors.stage",
        "__connect.errors.class.name", "__connect.errors.exception.class.name",
        "__connect.errors.exception.message", "__connect.errors.exception.stacktrace"]
    assert named["__connect.errors.topic"] == b"orders"
    assert named["__connect.errors.partition"] == b"2"
    assert named["__connect.errors.offset"] == b"41"
    assert named["__connect.errors.connector.name"] == b"my-sink"
    assert named["__connect.errors.task.id"] == b"3"
    assert named["__connect.errors.stage"] == b"VALUE_CONVERTER"
    assert named["__connect.errors.class.name"] == b"org.apache.kafka.connect.storage.StringConverter"
    assert named["__connect.errors.exception.class.name"] == b"org.apache.kafka.connect.errors.DataException"
    assert named["__connect.errors.exception.message"] == (
        b"Converting byte[] to Kafka Connect data failed due to serialization error")
    assert b"DataError: Converting byte[]" in named["__connect.errors.exception.stacktrace"]
    assert future.result(timeout=1) is None, "result() serves the producer's delivery reports"


def test_dead_letter_queue_without_context_headers_keeps_only_the_original_headers() -> None:
    reporter, producer, _ = dlq(context_headers=False)
    reporter.report(failed_context(RAW._replace(headers=None, timestamp_type=0, timestamp=-1)))
    [sent] = producer.produced
    assert sent["headers"] is None and "timestamp" not in sent


def test_a_failed_dead_letter_queue_write_fails_its_future(caplog: pytest.LogCaptureFixture) -> None:
    reporter, _, _ = dlq(fail=True)
    future = reporter.report(failed_context(RAW))
    assert future is not None
    with caplog.at_level(logging.ERROR):
        with pytest.raises(ConnectError, match="dead letter queue"):
            future.result(timeout=1)
    assert reporter.failed_deliveries == 1


def test_exception_class_names_use_kafkas_names_for_kcfast_errors() -> None:
    assert exception_class_name(RetriableError("x")) == "org.apache.kafka.connect.errors.RetriableException"
    assert exception_class_name(ConnectError("x")) == "org.apache.kafka.connect.errors.ConnectException"
    assert exception_class_name(ValueError("x")) == "ValueError"
    assert exception_class_name(FakeError()) == f"{__name__}.FakeError"


class FakeError(Exception):
    pass


# -- task-error-metrics --------------------------------------------------------------------------------------


def counted(op: RetryWithToleranceOperator) -> TaskMetrics:
    """Give ``op`` a fresh TaskMetrics whose wall clock reads 1700000000000."""
    op.metrics = TaskMetrics(wall_ms=lambda: 1700000000000)
    return op.metrics  # type: ignore[no-any-return]


def error_counts(metrics: TaskMetrics) -> dict[str, int]:
    return {"failures": metrics.record_failures, "errors": metrics.record_errors,
            "skipped": metrics.records_skipped, "retries": metrics.retries, "logged": metrics.errors_logged,
            "dlq_requests": metrics.dlq_produce_requests, "dlq_failures": metrics.dlq_produce_failures}


def counts(**nonzero: int) -> dict[str, int]:
    zero = dict.fromkeys(["failures", "errors", "skipped", "retries", "logged", "dlq_requests", "dlq_failures"], 0)
    return zero | nonzero


def test_metrics_untouched_by_success() -> None:
    op, _ = operator(tolerance="all")
    metrics = counted(op)
    assert op.execute(ProcessingContext(RAW), lambda: 1, Stage.VALUE_CONVERTER, StringConverter) == 1
    assert error_counts(metrics) == counts() and metrics.last_error_timestamp == 0


def test_a_tolerated_failure_is_a_failure_an_error_and_a_skipped_record() -> None:
    op, _ = operator(tolerance="all")
    metrics = counted(op)
    ctx = ProcessingContext(RAW)
    assert op.execute(ctx, Flaky([DataError("bad json")]), Stage.VALUE_CONVERTER, StringConverter) is None
    assert error_counts(metrics) == counts(failures=1, errors=1, skipped=1)
    assert metrics.last_error_timestamp == 1700000000000


@pytest.mark.parametrize(("tolerance", "stage", "message"), [
    ("none", Stage.VALUE_CONVERTER, "Tolerance exceeded in error handler"),
    ("all", Stage.TASK_POLL, "Unhandled exception in error handler"),
])
def test_a_failure_that_fails_the_task_is_not_skipped(tolerance: str, stage: Stage, message: str) -> None:
    op, _ = operator(tolerance=tolerance)
    metrics = counted(op)
    with pytest.raises(ConnectError, match=message):
        op.execute(ProcessingContext(RAW), Flaky([ValueError("x")]), stage, None)
    assert error_counts(metrics) == counts(failures=1, errors=1)


def test_each_failed_attempt_and_each_retry_is_counted() -> None:
    op, _ = operator(timeout=60000)
    metrics = counted(op)
    action = Flaky([RetriableError("1"), RetriableError("2"), RetriableError("3")], "done")
    assert op.execute(ProcessingContext(RAW), action, Stage.TRANSFORMATION, None) == "done"
    assert error_counts(metrics) == counts(failures=3, retries=3), "recovered: no error, nothing skipped"


def test_retries_exhausted_count_every_attempt_then_one_error() -> None:
    op, clock = operator(timeout=1000, tolerance="all")
    metrics = counted(op)
    action = Flaky([RetriableError(str(i)) for i in range(50)])
    assert op.execute(ProcessingContext(RAW), action, Stage.TRANSFORMATION, None) is None
    assert len(clock.waits) == 3 and action.calls == 4
    assert error_counts(metrics) == counts(failures=4, retries=3, errors=1, skipped=1)


def test_a_non_retriable_failure_during_retries_is_one_more_failure() -> None:
    op, _ = operator(timeout=60000, tolerance="all")
    metrics = counted(op)
    op.execute(ProcessingContext(RAW), Flaky([RetriableError("r"), ValueError("v")]), Stage.TRANSFORMATION, None)
    assert error_counts(metrics) == counts(failures=2, retries=1, errors=1, skipped=1)


def test_retries_cut_short_by_stop_count_no_error() -> None:
    op, _ = operator(timeout=-1, tolerance="all")
    metrics = counted(op)

    def stop_while_waiting(seconds: float) -> bool:
        op.trigger_stop()
        return True

    op._wait = stop_while_waiting
    assert op.execute(ProcessingContext(RAW), Flaky([RetriableError("r")] * 9), Stage.TRANSFORMATION, None) is None
    assert error_counts(metrics) == counts(failures=1, retries=1)


def test_execute_failed_counts_a_failure_and_an_error_only_when_not_tolerated() -> None:
    op, _ = operator(tolerance="all")
    metrics = counted(op)
    op.execute_failed(ProcessingContext(RAW), Stage.KAFKA_PRODUCE, None, RuntimeError("send failed"))
    assert error_counts(metrics) == counts(failures=1)
    assert metrics.last_error_timestamp == 1700000000000
    strict, _ = operator()
    strict_metrics = counted(strict)
    with pytest.raises(ConnectError, match="Tolerance exceeded"):
        strict.execute_failed(ProcessingContext(RAW), Stage.TASK_PUT, None, RuntimeError("put failed"))
    assert error_counts(strict_metrics) == counts(failures=1, errors=1)


def test_reporters_count_logged_errors_and_dead_letter_queue_writes(caplog: pytest.LogCaptureFixture) -> None:
    reporter, producer, _ = dlq(fail=True)
    log_reporter = LogReporter(TASK, include_messages=False, logger=logging.getLogger("test.errors"))
    op, _ = operator(tolerance="all", reporters=[log_reporter, reporter])
    metrics = counted(op)
    assert log_reporter.metrics is metrics and reporter.metrics is metrics
    with caplog.at_level(logging.CRITICAL):
        for _ in range(3):
            op.execute(ProcessingContext(RAW), Flaky([DataError("bad")]), Stage.VALUE_CONVERTER, StringConverter)
        assert error_counts(metrics) == counts(failures=3, errors=3, skipped=3, logged=3, dlq_requests=3)
        producer.flush()  # the broker refuses: every delivery fails
    assert error_counts(metrics) == counts(failures=3, errors=3, skipped=3, logged=3, dlq_requests=3,
                                           dlq_failures=3)


def test_a_dead_letter_queue_report_without_consumed_bytes_is_a_failed_request() -> None:
    reporter, producer, _ = dlq()
    reporter.metrics = metrics = TaskMetrics()
    assert reporter.report(failed_context(object())) is None and producer.produced == []
    assert (metrics.dlq_produce_requests, metrics.dlq_produce_failures) == (1, 1)


def test_setting_the_operator_metrics_gives_them_to_its_reporters() -> None:
    logged = build_reporters(TASK, {"errors.log.enable": "true"}, sink=True)
    op = RetryWithToleranceOperator.from_config({"errors.tolerance": "all"}, logged)
    assert op.metrics is None and logged[0].metrics is None
    metrics = TaskMetrics()
    op.metrics = metrics
    assert logged[0].metrics is metrics


# -- the errant record reporter ------------------------------------------------------------------------------


def sink_record(offset: int = 41, value: str = "v") -> Any:
    headers = ConnectHeaders()
    headers.add_string("trace", "abc")
    return SinkRecord("orders", 2, Schema.OPTIONAL_STRING_SCHEMA, "key", Schema.OPTIONAL_STRING_SCHEMA, value,
                      offset, 1700000000123, TimestampType.CREATE_TIME, headers)


def converters() -> tuple[StringConverter, StringConverter, SimpleHeaderConverter]:
    kc, vc, hc = StringConverter(), StringConverter(), SimpleHeaderConverter()
    kc.configure({}, True)
    vc.configure({}, False)
    hc.configure({})
    return kc, vc, hc


def test_errant_reporter_sends_the_consumed_bytes_and_framework_awaits_them() -> None:
    reporter, producer, _ = dlq()
    op, _ = operator(tolerance="all", reporters=[reporter])
    errant = WorkerErrantRecordReporter(op, *converters(), originals=lambda record: RAW)
    future = errant.report(sink_record(), RuntimeError("cannot write"))
    assert not future.done()
    [sent] = producer.produced
    assert sent["value"] == RAW.value and dict(sent["headers"])["__connect.errors.stage"] == b"TASK_PUT"
    assert dict(sent["headers"])["__connect.errors.class.name"] == b"kcfast.api.task.SinkTask"
    errant.await_futures([("other", 0)])
    assert not future.done(), "only the reports of the committed partitions are awaited"
    errant.await_futures([("orders", 2)])
    assert future.done()
    errant.maybe_throw_async_error()


def test_errant_reporter_serializes_records_it_has_no_bytes_for() -> None:
    reporter, producer, _ = dlq()
    op, _ = operator(tolerance="all", reporters=[reporter])
    errant = WorkerErrantRecordReporter(op, *converters())
    errant.report(sink_record(7, "payload"), RuntimeError("x"))
    [sent] = producer.produced
    assert (sent["key"], sent["value"], sent["timestamp"]) == (b"key", b"payload", 1700000000123)
    assert sent["headers"][0] == ("trace", b"abc")
    assert dict(sent["headers"])["__connect.errors.offset"] == b"7"


def test_a_reported_record_fails_the_task_with_tolerance_none_even_if_swallowed() -> None:
    op, _ = operator(reporters=[Recorder()])
    errant = WorkerErrantRecordReporter(op, *converters(), originals=lambda record: RAW)
    error = RuntimeError("cannot write")
    with pytest.raises(ConnectError, match="Tolerance exceeded"):
        errant.report(sink_record(), error)
    with pytest.raises(ConnectError, match="^Tolerance exceeded in error handler$") as info:
        errant.maybe_throw_async_error()
    assert info.value.__cause__ is error


def test_a_failed_report_fails_the_commit() -> None:
    reporter, _, _ = dlq(fail=True)
    op, _ = operator(tolerance="all", reporters=[reporter])
    errant = WorkerErrantRecordReporter(op, *converters(), originals=lambda record: RAW)
    errant.report(sink_record(), RuntimeError("x"))
    with pytest.raises(ConnectError, match="dead letter queue"):
        errant.await_futures(None)


# -- transformation chains -----------------------------------------------------------------------------------


class Upper:
    def apply(self, record: Any) -> Any:
        return record.new_record(record.topic, record.kafka_partition, record.key_schema, record.key,
                                 record.value_schema, record.value.upper(), record.timestamp)

    def close(self) -> None:
        pass


class FailOn:
    def __init__(self, bad: str, errors: list[BaseException] | None = None) -> None:
        self.bad = bad
        self.errors = errors

    def apply(self, record: Any) -> Any:
        if record.value == self.bad:
            if self.errors is None:
                raise ValueError(f"Error when value='{self.bad}'")
            if self.errors:
                raise self.errors.pop(0)
        return record

    def close(self) -> None:
        pass


class DropAll:
    def apply(self, record: Any) -> Any:
        return None

    def close(self) -> None:
        pass


def test_chain_tolerates_a_failing_transformation_and_reports_its_class() -> None:
    rec = Recorder()
    op, _ = operator(tolerance="all", reporters=[rec])
    chain = TransformationChain([TransformationStage("fail", FailOn("bad")),
                                 TransformationStage("up", Upper())])
    out, ctx = chain.apply_tolerant(sink_record(value="good"), op, lambda r: RAW)
    assert out.value == "GOOD" and ctx is None
    out, ctx = chain.apply_tolerant(sink_record(value="bad"), op, lambda r: RAW)
    assert out is None and ctx is not None and ctx.failed
    assert rec.contexts[0][:2] == (Stage.TRANSFORMATION, FailOn) and rec.contexts[0][3] is RAW


def test_chain_retries_a_retriable_transformation_then_goes_on() -> None:
    op, clock = operator(timeout=1000)
    chain = TransformationChain([TransformationStage("fail", FailOn("v", [RetriableError("once")])),
                                 TransformationStage("up", Upper())])
    out, ctx = chain.apply_tolerant(sink_record(value="v"), op)
    assert out.value == "V" and ctx is None and clock.waits == [0.3]


def test_chain_dropping_a_record_is_not_a_failure() -> None:
    op, _ = operator()
    chain = TransformationChain([TransformationStage("drop", DropAll()), TransformationStage("up", Upper())])
    assert chain.apply_tolerant(sink_record(), op) == (None, None)
    assert op.total_failures == 0


def test_chain_with_tolerance_none_raises_with_the_transformations_error() -> None:
    op, _ = operator()
    chain = TransformationChain([TransformationStage("fail", FailOn("bad"))])
    with pytest.raises(ConnectError, match="Tolerance exceeded in error handler") as info:
        chain.apply_tolerant(sink_record(value="bad"), op)
    assert str(info.value.__cause__) == "Error when value='bad'"


# -- the task loops ------------------------------------------------------------------------------------------


class Message:
    """A consumed message, shaped like confluent-kafka's."""

    def __init__(self, topic: str, partition: int, offset: int, value: bytes) -> None:
        self._t, self._p, self._o, self._v = topic, partition, offset, value

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return self._t

    def partition(self) -> int:
        return self._p

    def offset(self) -> int:
        return self._o

    def timestamp(self) -> tuple[int, int]:
        return (1, 1700000000000 + self._o)

    def key(self) -> None:
        return None

    def value(self) -> bytes:
        return self._v

    def headers(self) -> None:
        return None


class OneBatchConsumer:
    def __init__(self, messages: list[Message]) -> None:
        self.messages = messages

    def consume(self, num: int, timeout: float) -> list[Message]:
        out, self.messages = self.messages, []
        return out


class Listener:
    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args: None


class CollectingSinkTask:
    def __init__(self) -> None:
        self.batches: list[list[Any]] = []

    def put(self, records: list[Any]) -> None:
        self.batches.append(list(records))


def sink_loop(messages: list[Message], tolerance: str,
              transforms: Any = None) -> tuple[Any, CollectingSinkTask]:
    from kcfast.converters import JsonConverter
    from kcfast.runtime.sink_task import WorkerSinkTask
    from kcfast.runtime.status import TargetState

    kc, vc, hc = JsonConverter(), JsonConverter(), SimpleHeaderConverter()
    kc.configure({"schemas.enable": "false"}, True)
    vc.configure({"schemas.enable": "false"}, False)
    hc.configure({})
    task = CollectingSinkTask()
    op, _ = operator(tolerance=tolerance)
    wt = WorkerSinkTask(TASK, task, {"topics": "t"}, Listener(), TargetState.STARTED, {}, consumer_config={},
                        key_converter=kc, value_converter=vc, header_converter=hc, transforms=transforms,
                        errors=op)
    wt.consumer = OneBatchConsumer(messages)
    return wt, task


def test_sink_loop_skips_bad_records_and_moves_offsets_past_them() -> None:
    messages = [Message("t", 0, 10, b'{"k":1}'), Message("t", 1, 5, b"bad"), Message("t", 0, 11, b"bad"),
                Message("t", 1, 6, b'{"k":2}'), Message("t", 1, 7, b"bad")]
    wt, task = sink_loop(messages, "all")
    wt._poll_once()
    assert [r.value for r in task.batches[0]] == [{"k": 1}, {"k": 2}]
    offsets = {(tp.topic, tp.partition): off for tp, off in wt.offsets.snapshot().items()}
    assert offsets == {("t", 0): 12, ("t", 1): 8}


def test_sink_loop_with_tolerance_none_fails_before_put() -> None:
    messages = [Message("t", 0, 0, b'{"k":1}'), Message("t", 0, 1, b"bad"), Message("t", 0, 2, b"{}")]
    wt, task = sink_loop(messages, "none")
    with pytest.raises(ConnectError, match="Tolerance exceeded in error handler") as info:
        wt._poll_once()
    assert isinstance(info.value.__cause__, DataError)
    assert task.batches == [] and wt.offsets.snapshot() == {}


def test_sink_loop_counts_failed_and_filtered_transformations_as_processed() -> None:
    from kcfast.transforms.filter import Filter
    from kcfast.transforms.predicates import RecordIsTombstone

    class FailOnTwo(FailOn):
        def apply(self, record: Any) -> Any:
            if record.value == {"k": 2}:
                raise ValueError("two")
            return record

    predicate = RecordIsTombstone()
    predicate.configure({})
    chain = TransformationChain([TransformationStage("f", FailOnTwo("")),
                                 TransformationStage("drop", Filter(), predicate)])
    wt, task = sink_loop([Message("t", 0, 0, b'{"k":1}'), Message("t", 0, 1, b'{"k":2}'),
                          Message("t", 0, 2, b"null")], "all", chain)
    wt._poll_once()
    assert [r.value for r in task.batches[0]] == [{"k": 1}]
    assert list(wt.offsets.snapshot().values()) == [3]


def source_loop(tolerance: str, transforms: Any = None) -> tuple[Any, list[dict[str, Any]]]:
    from kcfast.runtime.source_task import WorkerSourceTask
    from kcfast.runtime.status import TargetState

    produced: list[dict[str, Any]] = []

    class Producer:
        """Delivers what was produced when polled once ``acks`` is set."""

        acks = False

        def produce(self, topic: str, value: Any, key: Any, partition: int, **kwargs: Any) -> None:
            produced.append({"topic": topic, "value": value, **kwargs})

        def poll(self, timeout: float = 0) -> int:
            if not self.acks:
                return 0
            for entry in produced:
                cb = entry.pop("on_delivery", None)
                if cb is not None:
                    cb(None, None)
            return 0

    kc, vc, hc = StringConverter(), Strict(), SimpleHeaderConverter()
    kc.configure({}, True)
    vc.configure({}, False)
    hc.configure({})
    op, _ = operator(tolerance=tolerance)
    from kcfast.api.task import SourceTask

    class Task(SourceTask):
        def version(self) -> str:
            return "1"

        def start(self, props: Any) -> None:
            pass

        def poll(self) -> None:
            return None

        def stop(self) -> None:
            pass

    wt = WorkerSourceTask(TASK, Task(), {}, Listener(), TargetState.STARTED, {}, producer_config={},
                          key_converter=kc, value_converter=vc, header_converter=hc, offset_reader=None,
                          offset_writer=None, transforms=transforms, errors=op)
    wt.producer = Producer()
    return wt, produced


class Strict(StringConverter):
    """Refuses to serialize the value 'bad'."""

    def from_connect_data(self, topic: str, schema: Any, value: Any, headers: Any = None) -> bytes | None:
        if value == "bad":
            raise DataError("cannot serialize 'bad'")
        return super().from_connect_data(topic, schema, value, headers)


def source_records(*values: str) -> list[Any]:
    from kcfast.core import SourceRecord

    return [SourceRecord({"file": "f"}, {"position": i}, "t", None, None, None, Schema.STRING_SCHEMA, v)
            for i, v in enumerate(values)]


def test_source_loop_skips_records_that_fail_to_convert_and_commits_their_offsets() -> None:
    wt, produced = source_loop("all")
    wt._send(source_records("a", "bad", "c", "bad"))
    wt.producer.acks = True
    wt.producer.poll(0)
    assert [p["value"] for p in produced] == [b"a", b"c"]
    committable = wt.submitted.committable_offsets()
    assert committable.offsets[{"file": "f"}] == {"position": 3}


def test_source_loop_with_tolerance_none_sends_nothing_of_a_failing_batch() -> None:
    # confluent-kafka's producer: the chunk is encoded before any record of it is produced.
    wt, produced = source_loop("none")
    with pytest.raises(ConnectError, match="Tolerance exceeded in error handler"):
        wt._send(source_records("a", "bad", "c"))
    assert produced == [] and len(wt.submitted.committable_offsets().offsets) == 0


def test_source_loop_sends_a_long_batch_in_order_and_skips_its_failures() -> None:
    from kcfast.runtime.source_task import SEND_CHUNK

    values = [f"v{i}" for i in range(2 * SEND_CHUNK + 50)]
    for bad in (3, SEND_CHUNK, 2 * SEND_CHUNK + 10):
        values[bad] = "bad"
    wt, produced = source_loop("all")
    wt._send(source_records(*values))
    wt.producer.acks = True
    wt.producer.poll(0)
    assert [p["value"] for p in produced] == [v.encode() for v in values if v != "bad"]
    assert wt.submitted.committable_offsets().offsets[{"file": "f"}] == {"position": len(values) - 1}


def test_source_loop_with_tolerance_none_commits_nothing_past_a_failing_record_of_a_long_batch() -> None:
    from kcfast.runtime.source_task import SEND_CHUNK

    values = [f"v{i}" for i in range(3 * SEND_CHUNK)]
    failing = SEND_CHUNK + 5
    values[failing] = "bad"
    wt, produced = source_loop("none")
    with pytest.raises(ConnectError, match="Tolerance exceeded in error handler"):
        wt._send(source_records(*values))
    wt.producer.acks = True
    wt.producer.poll(0)
    sent = [p["value"] for p in produced]
    # What was sent is a prefix of the records before the failing one; no offset past it is committable.
    assert sent == [v.encode() for v in values[:len(sent)]] and len(sent) <= failing
    offsets = wt.submitted.committable_offsets().offsets
    assert offsets.get({"file": "f"}, {"position": -1})["position"] == len(sent) - 1


def test_source_loop_acks_a_dropped_record_only_after_earlier_records() -> None:
    class DropB(DropAll):
        def apply(self, record: Any) -> Any:
            return None if record.value == "b" else record

    wt, produced = source_loop("none", TransformationChain([TransformationStage("d", DropB())]))
    wt._send(source_records("a", "b"))
    # "a" is in flight, "b" was dropped: nothing is committable before "a" is acknowledged.
    assert len(wt.submitted.committable_offsets().offsets) == 0
    wt.producer.acks = True
    wt.producer.poll(0)
    assert wt.submitted.committable_offsets().offsets[{"file": "f"}] == {"position": 1}


def test_sink_loop_does_not_put_a_batch_consumed_while_stopping() -> None:
    wt, task = sink_loop([Message("t", 0, 0, b'{"k":1}'), Message("t", 0, 1, b"bad")], "all")
    wt.stop()
    wt._poll_once()
    assert task.batches == [] and wt.offsets.snapshot() == {}
