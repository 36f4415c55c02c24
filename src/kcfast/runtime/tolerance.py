"""Error handling of the task loops: retries with tolerance, error reporters and the errant record reporter.

Mirrors Kafka Connect's ``RetryWithToleranceOperator`` and its reporters (spec section 7):

- an operation that raises :class:`~kcfast.errors.RetriableError` is retried with exponential backoff (300 ms,
  doubling, at most ``errors.retry.delay.max.ms``, then a random delay below it) until
  ``errors.retry.timeout`` ms have passed (0: no retries, -1: forever);
- a failure that is still there is *tolerable* when it happened in a converter (key, value or header) or a
  transformation (any exception), or when it is a ``RetriableError`` (from any stage); every failure is
  reported (log, dead letter queue), and the operation's record is skipped when ``errors.tolerance=all``;
- with ``errors.tolerance=none`` the first failure raises ``ConnectError("Tolerance exceeded in error
  handler")`` with the failure as its cause; a failure that is not tolerable raises ``ConnectError("Unhandled
  exception in error handler")``.

Every decision is counted in the task's ``task-error-metrics`` (:class:`~kcfast.metrics.TaskMetrics`, set as
:attr:`RetryWithToleranceOperator.metrics` by the worker) where Kafka's ``RetryWithToleranceOperator`` and
reporters count it: each failed attempt is a *failure*, each backoff before another attempt a *retry*, each
operation that failed for good an *error* (with ``errors.tolerance=all`` also a *skipped* record), each logged
failure an *error logged*, each record sent to the dead letter queue a *produce request* (and a *produce
failure* when it is not delivered).

The record paths do the first attempt themselves (once per batch, in the core) and call
:meth:`RetryWithToleranceOperator.recover` only for the record that failed, so a batch without errors costs
nothing here.
"""

from __future__ import annotations

import enum
import logging
import random
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any, NamedTuple

from kcfast.errors import (
    AlreadyExistsError,
    ConfigError,
    ConnectError,
    DataError,
    IllegalWorkerStateError,
    NotFoundError,
    RetriableError,
    SchemaBuilderError,
    SchemaProjectorError,
)

log = logging.getLogger(__name__)

#: The first backoff between retries, in milliseconds (Kafka's ``RETRIES_DELAY_MIN_MS``).
RETRIES_DELAY_MIN_MS = 300


class Stage(enum.StrEnum):
    """Where in the record path an operation runs (Kafka's ``Stage``); the value is Kafka's name."""

    KEY_CONVERTER = "KEY_CONVERTER"
    VALUE_CONVERTER = "VALUE_CONVERTER"
    HEADER_CONVERTER = "HEADER_CONVERTER"
    TRANSFORMATION = "TRANSFORMATION"
    TASK_PUT = "TASK_PUT"
    TASK_POLL = "TASK_POLL"
    KAFKA_PRODUCE = "KAFKA_PRODUCE"
    KAFKA_CONSUME = "KAFKA_CONSUME"


#: Stages where every exception is tolerable; elsewhere only ``RetriableError`` is.
TOLERABLE_STAGES = frozenset({Stage.KEY_CONVERTER, Stage.VALUE_CONVERTER, Stage.HEADER_CONVERTER,
                              Stage.TRANSFORMATION})


class ToleranceType(enum.StrEnum):
    """``errors.tolerance``: fail at the first error (``none``) or skip every failed record (``all``)."""

    NONE = "none"
    ALL = "all"


# -- the context of one failed record ------------------------------------------------------------------------

HEADER_PREFIX = "__connect.errors."
ERROR_HEADER_ORIG_TOPIC = HEADER_PREFIX + "topic"
ERROR_HEADER_ORIG_PARTITION = HEADER_PREFIX + "partition"
ERROR_HEADER_ORIG_OFFSET = HEADER_PREFIX + "offset"
ERROR_HEADER_CONNECTOR_NAME = HEADER_PREFIX + "connector.name"
ERROR_HEADER_TASK_ID = HEADER_PREFIX + "task.id"
ERROR_HEADER_STAGE = HEADER_PREFIX + "stage"
ERROR_HEADER_EXECUTING_CLASS = HEADER_PREFIX + "class.name"
ERROR_HEADER_EXCEPTION = HEADER_PREFIX + "exception.class.name"
ERROR_HEADER_EXCEPTION_MESSAGE = HEADER_PREFIX + "exception.message"
ERROR_HEADER_EXCEPTION_STACK_TRACE = HEADER_PREFIX + "exception.stacktrace"

_TIMESTAMP_TYPE_NAMES = {1: "CreateTime", 2: "LogAppendTime"}


class RawRecord(NamedTuple):
    """A record as consumed from Kafka, bytes untouched: what a dead letter queue receives.

    ``timestamp_type`` is librdkafka's code (0 none, 1 CreateTime, 2 LogAppendTime); ``headers`` is the list
    of ``(name, bytes)`` pairs or ``None``.
    """

    topic: str
    partition: int
    offset: int
    timestamp_type: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] | None

    @classmethod
    def from_message(cls, message: Any) -> RawRecord:
        """Copy the fields of a consumed ``confluent_kafka.Message``."""
        ts_type, ts = message.timestamp()
        headers = message.headers()
        return cls(message.topic(), message.partition(), message.offset(), ts_type, ts, message.key(),
                   message.value(), list(headers) if headers else None)


class ProcessingContext:
    """What is known about one record that failed: the original record, the stage, the class, the error.

    ``original`` is a :class:`RawRecord` in sink tasks and the SourceRecord the task returned (before any
    transformation) in source tasks.
    """

    __slots__ = ("original", "stage", "executing_class", "error", "attempt")

    def __init__(self, original: Any) -> None:
        self.original = original
        self.stage: Stage | None = None
        self.executing_class: type | None = None
        self.error: BaseException | None = None
        self.attempt = 0

    @property
    def failed(self) -> bool:
        """Whether the last operation on this record failed."""
        return self.error is not None

    def __repr__(self) -> str:
        return (f"ProcessingContext(stage={self.stage}, executing_class={self.executing_class!r}, "
                f"attempt={self.attempt}, error={self.error!r})")


_JAVA_EXCEPTIONS: dict[type, str] = {
    ConnectError: "org.apache.kafka.connect.errors.ConnectException",
    RetriableError: "org.apache.kafka.connect.errors.RetriableException",
    DataError: "org.apache.kafka.connect.errors.DataException",
    NotFoundError: "org.apache.kafka.connect.errors.NotFoundException",
    AlreadyExistsError: "org.apache.kafka.connect.errors.AlreadyExistsException",
    IllegalWorkerStateError: "org.apache.kafka.connect.errors.IllegalWorkerStateException",
    SchemaBuilderError: "org.apache.kafka.connect.errors.SchemaBuilderException",
    SchemaProjectorError: "org.apache.kafka.connect.errors.SchemaProjectorException",
    ConfigError: "org.apache.kafka.common.config.ConfigException",
}


def exception_class_name(error: BaseException) -> str:
    """The name error headers and logs give ``error``'s class: Kafka's name for kcfast's own errors (so that
    tools reading a dead letter queue see ``org.apache.kafka.connect.errors.DataException`` as from a Java
    worker), else the Python qualified name."""
    cls = type(error)
    java = _JAVA_EXCEPTIONS.get(cls)
    if java is not None:
        return java
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def executing_class_name(cls: type | None) -> str:
    """The name of the class that ran a failed operation: a built-in plugin's Java name, else its Python
    path."""
    if cls is None:
        return "null"
    from kcfast.plugins import class_name

    return class_name(cls)


def exception_message(error: BaseException) -> str | None:
    """The error's message (Java ``getMessage()``), ``None`` when it has none."""
    text = str(error)
    return text if text else None


def stack_trace(error: BaseException) -> str:
    """The formatted traceback of ``error``, with its causes."""
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


# -- futures -------------------------------------------------------------------------------------------------


def completed_future() -> Future[None]:
    """A future that is already done."""
    fut: Future[None] = Future()
    fut.set_result(None)
    return fut


class ReportFuture(Future[None]):
    """The future of a record written to the dead letter queue.

    Delivery reports of the dead letter queue producer are served when the producer is polled, so
    :meth:`result` and :meth:`exception` flush the producer before waiting. A report cannot be cancelled.
    """

    def __init__(self, flush: Callable[[float | None], Any]) -> None:
        super().__init__()
        self._flush = flush

    def cancel(self) -> bool:
        return False

    def result(self, timeout: float | None = None) -> None:
        if not self.done():
            self._flush(timeout)
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        if not self.done():
            self._flush(timeout)
        return super().exception(timeout)


class _AllOf(Future[None]):
    """Done when all of several futures are done; fails with the first failure."""

    def __init__(self, futures: Sequence[Future[Any]]) -> None:
        super().__init__()
        self._futures = list(futures)
        self._left = len(self._futures)
        self._lock = threading.Lock()
        for fut in self._futures:
            fut.add_done_callback(self._one_done)

    def _one_done(self, fut: Future[Any]) -> None:
        with self._lock:
            self._left -= 1
            left = self._left
        if self.done():
            return
        exc = fut.exception()
        if exc is not None:
            self.set_exception(exc)
        elif left == 0:
            self.set_result(None)

    def cancel(self) -> bool:
        return False

    def result(self, timeout: float | None = None) -> None:
        for fut in self._futures:
            fut.result(timeout)
        return super().result(timeout)


# -- reporters -----------------------------------------------------------------------------------------------


class ErrorReporter:
    """Receives every failure (Kafka's ``ErrorReporter``). Used from the task's thread.

    Attributes:
        metrics: the task's :class:`~kcfast.metrics.TaskMetrics`, or ``None``; set through the operator's
            :attr:`RetryWithToleranceOperator.metrics`.
    """

    metrics: Any = None

    def start(self) -> None:
        """Acquire resources (clients, topics) before the first report."""

    def report(self, context: ProcessingContext) -> Future[None] | None:
        """Report one failure; return a future when the report completes later, else ``None``."""
        raise NotImplementedError

    def flush(self, timeout: float | None = None) -> None:
        """Complete the reports made so far, waiting at most ``timeout`` seconds."""

    def close(self) -> None:
        """Release resources; reports made so far are completed first."""


class LogReporter(ErrorReporter):
    """Logs each failure at ERROR with its traceback (``errors.log.enable``), with the record's coordinates
    when ``errors.log.include.messages`` is set."""

    def __init__(self, task_id: Any, include_messages: bool, logger: logging.Logger | None = None) -> None:
        self.task_id = task_id
        self.include_messages = include_messages
        self.log = logger if logger is not None else log

    def message(self, context: ProcessingContext) -> str:
        """``Error encountered in task c-0. Executing stage 'X' with class '...'[, where ...].``"""
        text = (f"Error encountered in task {self.task_id}. Executing stage '{context.stage}' with class "
                f"'{executing_class_name(context.executing_class)}'")
        if self.include_messages:
            text += _describe(context.original)
        return text + "."

    def report(self, context: ProcessingContext) -> None:
        if context.error is not None:
            self.log.error(self.message(context), exc_info=context.error)
            if self.metrics is not None:
                self.metrics.record_error_logged()
        return None


def _describe(original: Any) -> str:
    if isinstance(original, RawRecord):
        text = (f", where consumed record is {{topic='{original.topic}', partition={original.partition}, "
                f"offset={original.offset}")
        ts_name = _TIMESTAMP_TYPE_NAMES.get(original.timestamp_type)
        if ts_name is not None:
            text += f", timestamp={original.timestamp}, timestampType={ts_name}"
        return text + "}"
    return f", where source record is = {original!r}"


def _utf8(value: Any) -> bytes | None:
    return None if value is None else str(value).encode("utf-8")


class DeadLetterQueueReporter(ErrorReporter):
    """Writes the original bytes of each failed consumed record to the dead letter queue topic.

    The record keeps its key, value, headers and timestamp (no partition is set); with context headers enabled
    it also gets the ``__connect.errors.*`` headers describing the failure. :meth:`start` creates the topic
    (1 partition, ``errors.deadletterqueue.topic.replication.factor``) if it does not exist, then the
    producer.
    """

    PARTITIONS = 1

    def __init__(
        self,
        task_id: Any,
        topic: str,
        replication_factor: int,
        context_headers: bool,
        producer_config: Mapping[str, Any],
        admin_config: Mapping[str, Any],
        *,
        producer_factory: Callable[..., Any] | None = None,
        admin_factory: Callable[..., Any] | None = None,
        logger: Any = None,
    ) -> None:
        self.task_id = task_id
        self.topic = topic.strip()
        self.replication_factor = replication_factor
        self.context_headers = context_headers
        self.producer_config = dict(producer_config)
        self.admin_config = dict(admin_config)
        self.log = logger if logger is not None else log
        self._producer_factory = producer_factory
        self._admin_factory = admin_factory
        self.producer: Any = None
        self.failed_deliveries = 0

    def start(self) -> None:
        from kcfast.kafka import clients
        from kcfast.runtime.topic_creation import create_topic

        admin_factory = self._admin_factory or clients.new_admin
        producer_factory = self._producer_factory or clients.new_producer
        try:
            admin = admin_factory(self.admin_config, self.log)
            if create_topic(admin, self.topic, self.PARTITIONS, self.replication_factor) is not False:
                self.log.info("Created dead letter queue topic '%s'", self.topic)
        except ConnectError:
            raise
        except Exception as exc:
            raise ConnectError(f"Could not initialize dead letter queue with topic={self.topic}") from exc
        self.producer = producer_factory(self.producer_config, self.log)

    def record_headers(self, context: ProcessingContext) -> list[tuple[str, bytes | None]]:
        """The headers of the dead letter queue record: the original ones, then the context headers."""
        original = context.original
        headers: list[tuple[str, bytes | None]] = list(original.headers or ())
        if not self.context_headers:
            return headers
        headers.append((ERROR_HEADER_ORIG_TOPIC, _utf8(original.topic)))
        headers.append((ERROR_HEADER_ORIG_PARTITION, _utf8(original.partition)))
        headers.append((ERROR_HEADER_ORIG_OFFSET, _utf8(original.offset)))
        connector, task = _split_task_id(self.task_id)
        headers.append((ERROR_HEADER_CONNECTOR_NAME, _utf8(connector)))
        headers.append((ERROR_HEADER_TASK_ID, _utf8(task)))
        headers.append((ERROR_HEADER_STAGE, _utf8(context.stage)))
        headers.append((ERROR_HEADER_EXECUTING_CLASS, _utf8(executing_class_name(context.executing_class))))
        error = context.error
        if error is not None:
            headers.append((ERROR_HEADER_EXCEPTION, _utf8(exception_class_name(error))))
            headers.append((ERROR_HEADER_EXCEPTION_MESSAGE, _utf8(exception_message(error))))
            headers.append((ERROR_HEADER_EXCEPTION_STACK_TRACE, _utf8(stack_trace(error))))
        return headers

    def report(self, context: ProcessingContext) -> Future[None] | None:
        original = context.original
        metrics = self.metrics
        if metrics is not None:
            # Like Kafka, a record with no consumed bytes to send counts as a request that failed.
            metrics.record_dlq_request(failed=not isinstance(original, RawRecord) or self.producer is None)
        if not isinstance(original, RawRecord) or self.producer is None:
            return None
        future = ReportFuture(self.flush)
        topic = self.topic

        def delivered(err: Any, msg: Any) -> None:
            if err is None:
                future.set_result(None)
                return
            self.failed_deliveries += 1
            if metrics is not None:
                # Delivery reports are served by the producer's poll/flush, on the task's thread.
                metrics.dlq_produce_failures += 1
            self.log.error("Could not produce message to dead letter queue. topic=%s: %s", topic, err)
            future.set_exception(
                ConnectError(f"Could not produce message to dead letter queue topic {topic}: {err}"))

        timestamp = original.timestamp if original.timestamp_type != 0 and original.timestamp >= 0 else 0
        kwargs: dict[str, Any] = {"on_delivery": delivered, "headers": self.record_headers(context) or None}
        if timestamp:
            kwargs["timestamp"] = timestamp
        while True:
            try:
                self.producer.produce(topic, original.value, original.key, **kwargs)
                break
            except BufferError:
                self.producer.poll(0.1)
        self.producer.poll(0)
        return future

    def flush(self, timeout: float | None = None) -> None:
        if self.producer is not None:
            self.producer.flush(-1 if timeout is None else timeout)

    def close(self) -> None:
        if self.producer is not None:
            remaining = self.producer.flush(30.0)
            if remaining:
                self.log.error("%d records were not written to the dead letter queue topic %s", remaining,
                               self.topic)
            self.producer = None


def _split_task_id(task_id: Any) -> tuple[str, int | str]:
    connector = getattr(task_id, "connector", None)
    task = getattr(task_id, "task", None)
    if connector is not None and task is not None:
        return str(connector), task
    text = str(task_id)
    name, _, number = text.rpartition("-")
    return name, number


# -- the operator --------------------------------------------------------------------------------------------


class RetryWithToleranceOperator:
    """Retries failed operations and decides, per failure, whether the task goes on or fails.

    Thread-safety: meant for the task's thread; :meth:`execute_failed` (called by the errant record reporter,
    which a task may use from its own threads) and :meth:`trigger_stop` may be called from any thread.

    Args:
        retry_timeout_ms: ``errors.retry.timeout``: how long a retriable failure is retried (0: never, -1:
            forever).
        retry_delay_max_ms: ``errors.retry.delay.max.ms``: the longest backoff between attempts.
        tolerance: ``errors.tolerance``.
        reporters: where failures are reported.
        clock: monotonic time in seconds (injected by tests).
        wait: sleeps up to the given seconds, returning early once :meth:`trigger_stop` is called (injected by
            tests).
        metrics: the task's :class:`~kcfast.metrics.TaskMetrics` (see :attr:`metrics`).
    """

    def __init__(
        self,
        retry_timeout_ms: int = 0,
        retry_delay_max_ms: int = 60000,
        tolerance: ToleranceType | str = ToleranceType.NONE,
        reporters: Iterable[ErrorReporter] = (),
        *,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[float], Any] | None = None,
        metrics: Any = None,
    ) -> None:
        self.retry_timeout_ms = int(retry_timeout_ms)
        self.retry_delay_max_ms = int(retry_delay_max_ms)
        self.tolerance = ToleranceType(str(tolerance).strip().lower())
        self.reporters = list(reporters)
        self.total_failures = 0
        self._clock = clock
        self._stop = threading.Event()
        self._wait = wait if wait is not None else self._stop.wait
        self._lock = threading.RLock()
        self._metrics: Any = None
        self.metrics = metrics

    @property
    def metrics(self) -> Any:
        """The task's :class:`~kcfast.metrics.TaskMetrics` (``task-error-metrics``), or ``None``.

        Setting it also gives it to the reporters, which count logged errors and dead letter queue writes.
        """
        return self._metrics

    @metrics.setter
    def metrics(self, metrics: Any) -> None:
        self._metrics = metrics
        for reporter in self.reporters:
            reporter.metrics = metrics

    @classmethod
    def from_config(cls, props: Mapping[str, Any], reporters: Iterable[ErrorReporter] = (),
                    **kwargs: Any) -> RetryWithToleranceOperator:
        """The operator a connector configuration describes (``errors.retry.timeout``,
        ``errors.retry.delay.max.ms``, ``errors.tolerance``)."""
        return cls(
            int(str(props.get("errors.retry.timeout", 0)).strip() or 0),
            int(str(props.get("errors.retry.delay.max.ms", 60000)).strip() or 60000),
            str(props.get("errors.tolerance", "none") or "none"),
            reporters,
            **kwargs,
        )

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the reporters (the dead letter queue creates its topic and producer)."""
        for reporter in self.reporters:
            reporter.start()

    def flush(self, timeout: float | None = None) -> None:
        """Complete every report made so far (dead letter queue deliveries)."""
        for reporter in self.reporters:
            reporter.flush(timeout)

    def trigger_stop(self) -> None:
        """Stop retrying: a backoff in progress returns at once and the operation counts as failed."""
        self._stop.set()

    def close(self) -> None:
        """Close the reporters, after their pending reports complete."""
        errors = []
        for reporter in self.reporters:
            try:
                reporter.close()
            except Exception as exc:  # noqa: BLE001 - close them all, then say what failed
                errors.append(exc)
        self.reporters = []
        if errors:
            raise ConnectError("Failed to close all reporters") from errors[0]

    # -- decisions -------------------------------------------------------------------------------------------

    def within_tolerance_limits(self) -> bool:
        """Whether the task may go on: always with ``all``, only before the first failure with ``none``."""
        with self._lock:
            return self.tolerance is ToleranceType.ALL or self.total_failures == 0

    @property
    def tolerates_all(self) -> bool:
        """``errors.tolerance=all``."""
        return self.tolerance is ToleranceType.ALL

    def report(self, context: ProcessingContext) -> Future[None]:
        """Send one failure to every reporter; the future completes when all reports have."""
        with self._lock:
            pending = []
            for reporter in self.reporters:
                fut = reporter.report(context)
                if fut is not None and not fut.done():
                    pending.append(fut)
                elif fut is not None and fut.exception() is not None:
                    pending.append(fut)
        if not pending:
            return completed_future()
        if len(pending) == 1:
            return pending[0]
        return _AllOf(pending)

    def execute(self, context: ProcessingContext, operation: Callable[[], Any], stage: Stage,
                executing_class: type | None) -> Any:
        """Run ``operation`` for the record of ``context``, with retries and tolerance.

        Returns:
            The operation's result; ``None`` with ``context.failed`` set when it failed and the failure is
            tolerated (the record is to be skipped), or when ``context`` had already failed.

        Raises:
            ConnectError: the failure is not tolerated; its cause is the operation's error.
        """
        context.stage = stage
        context.executing_class = executing_class
        if context.failed:
            return None
        try:
            result = operation()
        except Exception as exc:  # noqa: BLE001 - every failure goes through the tolerance decision
            return self.recover(context, operation, exc, stage, executing_class)
        context.attempt = 1
        return result

    def recover(self, context: ProcessingContext, operation: Callable[[], Any], error: BaseException,
                stage: Stage, executing_class: type | None) -> Any:
        """``operation`` has just failed once with ``error``: retry it if the error is retriable, then report
        and tolerate the failure, or raise.

        Returns:
            The result of a successful retry; else ``None`` with ``context.failed`` set (skip the record).
            When :meth:`trigger_stop` cuts the retries short, the failure is neither reported nor counted:
            the task is stopping and must not commit past the record.

        Raises:
            ConnectError: ``Tolerance exceeded in error handler`` (``errors.tolerance=none``) or
                ``Unhandled exception in error handler`` (an error that is not tolerable at ``stage``), caused
                by the error.
        """
        context.stage = stage
        context.executing_class = executing_class
        metrics = self._metrics
        if metrics is not None:
            metrics.record_failure()
        attempt = 1
        if isinstance(error, RetriableError):
            start = self._clock()
            deadline = start + self.retry_timeout_ms / 1000.0 if self.retry_timeout_ms >= 0 else float("inf")
            while self._clock() < deadline and not self._stop.is_set():
                self._backoff(attempt, deadline)
                if metrics is not None:
                    metrics.record_retry()
                if self._stop.is_set():
                    break
                attempt += 1
                try:
                    result = operation()
                except RetriableError as exc:
                    error = exc
                    if metrics is not None:
                        metrics.record_failure()
                    continue
                except Exception as exc:  # noqa: BLE001 - decided below like the first failure
                    error = exc
                    if metrics is not None:
                        metrics.record_failure()
                    break
                context.attempt = attempt
                return result
            if self._stop.is_set() and isinstance(error, RetriableError):
                log.debug("Shutdown has been scheduled. Marking operation as failed.")
                context.attempt = attempt
                context.error = error
                return None
        context.attempt = attempt
        context.error = error
        with self._lock:
            self.total_failures += 1
        tolerated = (stage in TOLERABLE_STAGES or isinstance(error, RetriableError)) and (
            self.within_tolerance_limits())
        if metrics is not None:
            if tolerated:
                metrics.record_skipped()
            metrics.record_error()
        self.report(context)
        if stage not in TOLERABLE_STAGES and not isinstance(error, RetriableError):
            raise ConnectError("Unhandled exception in error handler") from error
        if not tolerated:
            raise ConnectError("Tolerance exceeded in error handler") from error
        return None

    def execute_failed(self, context: ProcessingContext, stage: Stage, executing_class: type | None,
                       error: BaseException) -> Future[None]:
        """Report a failure that happened outside the operator (a record the task reported, a failed send).

        Returns:
            The future of the reports.

        Raises:
            ConnectError: ``Tolerance exceeded in error handler`` with ``errors.tolerance=none``.
        """
        with self._lock:
            self.total_failures += 1
        context.stage = stage
        context.executing_class = executing_class
        context.error = error
        metrics = self._metrics
        if metrics is not None:
            metrics.record_failure()
        future = self.report(context)
        if not self.within_tolerance_limits():
            if metrics is not None:
                metrics.record_error()
            raise ConnectError("Tolerance exceeded in error handler") from error
        return future

    def _backoff(self, attempt: int, deadline: float) -> None:
        delay_ms = float(RETRIES_DELAY_MIN_MS << min(attempt - 1, 40))
        if delay_ms > self.retry_delay_max_ms:
            delay_ms = random.uniform(0, self.retry_delay_max_ms) if self.retry_delay_max_ms > 0 else 0.0
        delay = delay_ms / 1000.0
        now = self._clock()
        if now + delay > deadline:
            delay = max(0.0, deadline - now)
        log.debug("Sleeping for up to %d millis", int(delay * 1000))
        self._wait(delay)

    def __repr__(self) -> str:
        return (f"RetryWithToleranceOperator(errorRetryTimeout={self.retry_timeout_ms}, "
                f"errorMaxDelayInMillis={self.retry_delay_max_ms}, errorToleranceType={self.tolerance}, "
                f"totalFailures={self.total_failures})")


def build_reporters(task_id: Any, props: Mapping[str, Any], *, sink: bool,
                    dlq_producer_config: Mapping[str, Any] | None = None,
                    dlq_admin_config: Mapping[str, Any] | None = None,
                    logger: logging.Logger | None = None) -> list[ErrorReporter]:
    """The reporters a connector configuration asks for: a :class:`LogReporter` with ``errors.log.enable``,
    and for sinks a :class:`DeadLetterQueueReporter` when ``errors.deadletterqueue.topic.name`` is set."""
    reporters: list[ErrorReporter] = []
    if _bool(props.get("errors.log.enable")):
        reporters.append(LogReporter(task_id, _bool(props.get("errors.log.include.messages")), logger))
    topic = str(props.get("errors.deadletterqueue.topic.name") or "").strip()
    if sink and topic:
        reporters.append(DeadLetterQueueReporter(
            task_id, topic, int(str(props.get("errors.deadletterqueue.topic.replication.factor", 3)).strip()),
            _bool(props.get("errors.deadletterqueue.context.headers.enable")),
            dict(dlq_producer_config or {}), dict(dlq_admin_config or {}),
        ))
    return reporters


def uses_errant_record_reporter(props: Mapping[str, Any]) -> bool:
    """Whether a sink task gets an errant record reporter: a DLQ topic is set or
    ``errors.log.enable=true``."""
    return bool(str(props.get("errors.deadletterqueue.topic.name") or "").strip()) or _bool(
        props.get("errors.log.enable"))


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() == "true"


__all__ = [
    "DeadLetterQueueReporter",
    "ErrorReporter",
    "LogReporter",
    "ProcessingContext",
    "RawRecord",
    "ReportFuture",
    "RetryWithToleranceOperator",
    "Stage",
    "TOLERABLE_STAGES",
    "ToleranceType",
    "build_reporters",
    "completed_future",
    "exception_class_name",
    "executing_class_name",
    "uses_errant_record_reporter",
]
