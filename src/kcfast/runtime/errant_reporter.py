"""The errant record reporter of sink tasks (``SinkTaskContext.errant_record_reporter()``, KIP-610).

A sink task reports a record it could not write; the report goes through the task's error handling (the
retry-with-tolerance operator of :mod:`kcfast.runtime.tolerance`: error log, dead letter queue, tolerance) with
the record's original consumed bytes, and the task waits for the reports of a partition before its offsets are
committed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any

from kcfast.api.task import ErrantRecordReporter
from kcfast.errors import ConnectError
from kcfast.runtime.tolerance import ProcessingContext, RawRecord, RetryWithToleranceOperator, Stage

__all__ = ["WorkerErrantRecordReporter"]

log = logging.getLogger(__name__)


class WorkerErrantRecordReporter(ErrantRecordReporter):
    """The reporter a sink task gets from ``context.errant_record_reporter()``.

    A reported record is written to the dead letter queue with the bytes it was consumed with when the worker
    still knows them (``originals``), else re-serialized with the task's converters. The framework waits for
    the reports of a partition before it commits offsets of that partition, and fails the task after ``put``
    when a record was reported with ``errors.tolerance=none``, even if the task swallowed the error.

    Args:
        operator: the task's operator.
        key_converter, value_converter, header_converter: the task's converters.
        originals: returns the consumed record a SinkRecord came from, or ``None``.
    """

    def __init__(self, operator: RetryWithToleranceOperator, key_converter: Any, value_converter: Any,
                 header_converter: Any, originals: Callable[[Any], RawRecord | None] | None = None) -> None:
        self.operator = operator
        self.key_converter = key_converter
        self.value_converter = value_converter
        self.header_converter = header_converter
        self.originals = originals
        self._futures: dict[tuple[str, int], list[Future[None]]] = {}
        self._put_error: BaseException | None = None
        self._lock = threading.Lock()

    def report(self, record: Any, error: BaseException) -> Future[None]:
        """Report ``record`` with the ``error`` it caused; the future completes once it is reported.

        Raises:
            ConnectError: ``Tolerance exceeded in error handler`` with ``errors.tolerance=none``.
        """
        raw = self.originals(record) if self.originals is not None else None
        if raw is None:
            raw = self._serialize(record)
        with self._lock:
            if self._put_error is None:
                self._put_error = error
        from kcfast.api.task import SinkTask

        future = self.operator.execute_failed(ProcessingContext(raw), Stage.TASK_PUT, SinkTask, error)
        if not future.done():
            with self._lock:
                self._futures.setdefault((raw.topic, raw.partition), []).append(future)
        return future

    def _serialize(self, record: Any) -> RawRecord:
        topic = record.topic
        key = self.key_converter.from_connect_data(topic, record.key_schema, record.key)
        value = self.value_converter.from_connect_data(topic, record.value_schema, record.value)
        headers = None
        if record.headers is not None and len(record.headers):
            headers = [(h.key, self.header_converter.from_connect_header(topic, h.key, h.schema, h.value))
                       for h in record.headers]
        timestamp = record.timestamp
        ts_type = 0 if timestamp is None else (2 if str(record.timestamp_type) == "LogAppendTime" else 1)
        partition = record.kafka_partition if record.kafka_partition is not None else -1
        return RawRecord(topic, partition, record.kafka_offset, ts_type,
                         -1 if timestamp is None else timestamp, key, value, headers)

    def await_futures(self, partitions: Iterable[Any] | None = None) -> None:
        """Wait for the reports of ``partitions`` (default: all).

        Raises:
            ConnectError: a report failed.
        """
        for future in self._take(partitions):
            try:
                future.result()
            except Exception as exc:
                log.error("Encountered an error while awaiting an errant record future's completion.",
                          exc_info=exc)
                raise ConnectError(str(exc)) from exc

    def cancel_futures(self, partitions: Iterable[Any] | None = None) -> None:
        """Forget the reports of ``partitions`` (their partitions were lost)."""
        self._take(partitions)

    def _take(self, partitions: Iterable[Any] | None) -> list[Future[None]]:
        with self._lock:
            if partitions is None:
                taken = [f for futures in self._futures.values() for f in futures]
                self._futures.clear()
                return taken
            taken = []
            for tp in partitions:
                taken.extend(self._futures.pop((tp[0], tp[1]), ()))
            return taken

    def maybe_throw_async_error(self) -> None:
        """Fail the task when a reported record exceeded the tolerance.

        Raises:
            ConnectError: ``Tolerance exceeded in error handler``, caused by the first reported error.
        """
        with self._lock:
            error = self._put_error
        if error is not None and not self.operator.within_tolerance_limits():
            raise ConnectError("Tolerance exceeded in error handler") from error
