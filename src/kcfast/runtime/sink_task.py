"""WorkerSinkTask: consume a batch -> convert in the core -> ``SinkTask.put`` -> track offsets -> commit.

The loop follows Kafka's WorkerSinkTask: ``put`` is called after every poll, even with no records; a
``RetriableError`` from ``put`` pauses every assigned partition and redelivers the same batch after
``context.timeout()``; offsets are committed every ``offset.flush.interval.ms``, when the task asks
(``request_commit``), when partitions are revoked and when the task stops, always through ``pre_commit``.
Per-record work (conversion, record construction, offset tracking) is one core call per batch.

Errors follow the connector's ``errors.*`` settings (:mod:`kcfast.runtime.tolerance`): a record whose key,
value or headers fail to convert, or that a transformation fails on, is retried, reported (log, dead letter
queue with its original bytes) and skipped with ``errors.tolerance=all``; with ``none`` the task fails before
the batch is put, so no offset moves past the failed record. Skipped and filtered records count as processed:
their offsets are committed with the batch. Before offsets are committed, the reports made so far (dead letter
queue writes, records the task reported through ``errant_record_reporter()``) are awaited.
"""

from __future__ import annotations

import collections
import re
import time
from typing import Any

from kcfast import core
from kcfast.api.task import SinkTaskContext, TopicPartition
from kcfast.errors import ConnectError, DataError, RetriableError
from kcfast.kafka import clients
from kcfast.runtime.errant_reporter import WorkerErrantRecordReporter
from kcfast.runtime.tolerance import ProcessingContext, RawRecord, RetryWithToleranceOperator, Stage
from kcfast.runtime.worker_task import WorkerTask

DEFAULT_BATCH = 2000
#: How many recent batches keep their consumed messages for records the task reports later.
RECENT_BATCHES = 4
#: How long a stopping task polls for the revocation of its partitions before it closes its consumer.
UNSUBSCRIBE_WAIT_S = 5.0
#: How often the consumer lag behind ``sink-record-lag-max`` is sampled.
LAG_SAMPLE_INTERVAL_S = 1.0


class _Batch:
    """One consumed batch on its way to ``put``.

    ``consumed`` holds the records as converted (before transformations: offsets advance over them),
    ``records`` what ``put`` receives, ``skipped`` the ``(topic, partition, offset)`` of messages that failed
    to convert and were tolerated (their offsets advance too).
    """

    __slots__ = ("messages", "consumed", "records", "skipped", "_index")

    def __init__(self, messages: list[Any], consumed: list[Any], records: list[Any],
                 skipped: list[tuple[str, int, int]]) -> None:
        self.messages = messages
        self.consumed = consumed
        self.records = records
        self.skipped = skipped
        self._index: dict[tuple[str, int, int], Any] | None = None

    def message_at(self, topic: str, partition: int, offset: int) -> Any:
        """The consumed message at these coordinates, or ``None``."""
        if self._index is None:
            index = {}
            for msg in self.messages:
                if msg.error() is None:
                    index[(msg.topic(), msg.partition(), msg.offset())] = msg
            self._index = index
        return self._index.get((topic, partition, offset))

    def without(self, revoked: set[TopicPartition]) -> _Batch:
        """This batch without the records of ``revoked`` partitions."""
        return _Batch(
            self.messages,
            [r for r in self.consumed if (r.original_topic, r.original_kafka_partition) not in revoked],
            [r for r in self.records if (r.original_topic, r.original_kafka_partition) not in revoked],
            [s for s in self.skipped if (s[0], s[1]) not in revoked],
        )


_EMPTY = _Batch([], [], [], [])


class WorkerSinkTaskContext(SinkTaskContext):
    """The context a SinkTask sees. Its methods are called from the task's own thread."""

    def __init__(self, owner: "WorkerSinkTask") -> None:
        self._owner = owner
        self.timeout_ms = -1
        self.rewinds: dict[TopicPartition, int] = {}
        self.commit_requested = False
        self.paused: set[TopicPartition] = set()

    def configs(self) -> dict[str, str]:
        return dict(self._owner.task_props)

    def offset(self, offsets: Any, offset: int | None = None) -> None:
        if offset is not None:
            self.rewinds[offsets] = int(offset)
        else:
            for tp, off in dict(offsets).items():
                self.rewinds[tp] = int(off)

    def timeout(self, timeout_ms: int) -> None:
        self.timeout_ms = int(timeout_ms)

    def assignment(self) -> set[TopicPartition]:
        return set(self._owner.assignment)

    def pause(self, *partitions: TopicPartition) -> None:
        self._owner.pause_partitions(partitions)
        self.paused.update(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self.paused.difference_update(partitions)
        if not self._owner.is_paused():
            self._owner.resume_partitions(partitions)

    def request_commit(self) -> None:
        self.commit_requested = True

    def errant_record_reporter(self) -> Any:
        return self._owner.errant_record_reporter


class WorkerSinkTask(WorkerTask):
    """Runs one SinkTask in its own thread."""

    def __init__(
        self,
        *args: Any,
        consumer_config: dict[str, Any],
        key_converter: Any,
        value_converter: Any,
        header_converter: Any,
        transforms: Any = None,
        errors: RetryWithToleranceOperator | None = None,
        errant_reporter: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.consumer_config = consumer_config
        self.key_converter = key_converter
        self.value_converter = value_converter
        self.header_converter = header_converter
        self.transforms = transforms
        self.batch_size = int(consumer_config.pop("max.poll.records", DEFAULT_BATCH))
        self.commit_interval = int(self.worker_config.get("offset.flush.interval.ms", 60000)) / 1000.0
        self.offsets = core.SinkOffsets(partition_type=TopicPartition)
        self.assignment: set[TopicPartition] = set()
        self.context = WorkerSinkTaskContext(self)
        self.errors = errors if errors is not None else RetryWithToleranceOperator()
        self.errant_record_reporter: WorkerErrantRecordReporter | None = None
        if errant_reporter:
            self.errant_record_reporter = WorkerErrantRecordReporter(
                self.errors, key_converter, value_converter, header_converter, self._original_of)
        self._recent: collections.deque[_Batch] = collections.deque(maxlen=RECENT_BATCHES)
        self._current: _Batch | None = None
        self.commit_timeout = int(self.worker_config.get("offset.flush.timeout.ms", 5000)) / 1000.0
        self.consumer: Any = None
        self._lag_due = 0.0
        self._kafka_paused = False
        self._pending: _Batch | None = None
        self._closing = False
        self._retry_at = 0.0
        self.records_put = 0
        self.on_topic: Any = None  # callback(topic) for topic tracking, set by the worker

    # -- partition pause/resume -----------------------------------------------------------------------

    def pause_partitions(self, partitions: Any) -> None:
        if self.consumer is not None and partitions:
            self.consumer.pause([clients.TopicPartition(tp.topic, tp.partition) for tp in partitions])

    def resume_partitions(self, partitions: Any) -> None:
        if self.consumer is not None and partitions:
            self.consumer.resume([clients.TopicPartition(tp.topic, tp.partition) for tp in partitions])

    def _pause_all(self) -> None:
        if not self._kafka_paused:
            self.pause_partitions(self.assignment)
            self._kafka_paused = True

    def _resume_all(self) -> None:
        if self._kafka_paused:
            self.resume_partitions(self.assignment - self.context.paused)
            self._kafka_paused = False

    # -- rebalance callbacks (called inside consumer.consume on this thread) -----------------------------

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        tps = [TopicPartition(p.topic, p.partition) for p in partitions]
        self.assignment.update(tps)
        self.log.info("Partitions assigned: %s", ", ".join(f"{t.topic}-{t.partition}" for t in tps))
        self.task.open(list(tps))
        if self._kafka_paused or self.is_paused():
            self.pause_partitions(tps)
        self._apply_rewinds()

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        tps = [TopicPartition(p.topic, p.partition) for p in partitions]
        if not tps:
            return
        if self._closing:
            # The task already committed and closed its partitions (Kafka skips this callback too once the task
            # stopped).
            self.assignment.difference_update(tps)
            return
        self.log.info("Partitions revoked: %s", ", ".join(f"{t.topic}-{t.partition}" for t in tps))
        self._commit(tps, revoking=True)
        self.task.close(list(tps))
        self.assignment.difference_update(tps)
        self.offsets.remove(tps)
        if self._pending is not None:
            self._pending = self._pending.without(set(tps))

    def _apply_rewinds(self) -> None:
        if not self.context.rewinds:
            return
        for tp, off in list(self.context.rewinds.items()):
            if tp in self.assignment:
                self.consumer.seek(clients.TopicPartition(tp.topic, tp.partition, off))
                self.offsets.rewind(tp, off)
                del self.context.rewinds[tp]

    # -- the loop -------------------------------------------------------------------------------------

    def _subscribe(self) -> None:
        topics = self.task_props.get("topics", "").strip()
        regex = self.task_props.get("topics.regex", "").strip()
        if topics:
            names = [t.strip() for t in topics.split(",") if t.strip()]
        elif regex:
            re.compile(regex)
            names = ["^" + regex]
        else:
            raise ConnectError("Sink tasks require a list of topics or a topics.regex")
        self.consumer.subscribe(names, on_assign=self._on_assign, on_revoke=self._on_revoke)

    def on_stop_requested(self) -> None:
        self.errors.trigger_stop()

    def run(self) -> None:
        self.consumer = clients.new_consumer(self.consumer_config, self.log)
        try:
            self.errors.start()
            self.task.initialize(self.context)
            self.task.start(dict(self.task_props))
            self.log.info("Sink task finished initialization and start")
            self._subscribe()
            self.listener.on_startup(self.id)
            if self.is_paused():
                self.listener.on_pause(self.id)
            self._loop()
        finally:
            self._close()

    def _loop(self) -> None:
        next_commit = time.monotonic() + self.commit_interval
        was_paused = self.is_paused()
        consumer = self.consumer
        while not self.stopping:
            paused = self.is_paused()
            if paused != was_paused:
                was_paused = paused
                if paused:
                    self._pause_all()
                    self.listener.on_pause(self.id)
                else:
                    self._resume_all()
                    self.listener.on_resume(self.id)
            if paused:
                # Keep polling (without records) so the group membership stays alive.
                self._pause_all()
                consumer.consume(1, 0.2)
                continue
            now = time.monotonic()
            if self.context.commit_requested or now >= next_commit:
                self.context.commit_requested = False
                self._commit(None)
                next_commit = time.monotonic() + self.commit_interval
            self._apply_rewinds()
            self._poll_once()

    def _poll_once(self) -> None:
        if self._pending is not None:
            batch = self._pending
            if time.monotonic() < self._retry_at:
                self.consumer.consume(1, min(0.1, self._retry_at - time.monotonic()))
                return
        else:
            messages = self.consumer.consume(self.batch_size, 0.5)
            if self.metrics is not None:
                if messages:
                    self.metrics.record_read(len(messages))
                if time.monotonic() >= self._lag_due:
                    self._record_lag()
            batch = self._process(messages) if messages else _EMPTY
            if self.stopping and batch is not _EMPTY:
                # Stopped while converting (retries are cut short then): the batch is not put, its offsets are
                # not committed, and it is consumed again after a restart.
                return
        started = time.monotonic()
        try:
            self.task.put(batch.records)
            if self.errant_record_reporter is not None:
                # A record reported with errors.tolerance=none fails the task even if put() swallowed the
                # error.
                self.errant_record_reporter.maybe_throw_async_error()
        except RetriableError as exc:
            self.log.error("RetriableException from SinkTask: %s", exc)
            self._pending = batch
            self._pause_all()
            timeout = self.context.timeout_ms
            self._retry_at = time.monotonic() + (timeout / 1000.0 if timeout > 0 else 0)
            return
        except Exception as exc:
            raise ConnectError("Exiting WorkerSinkTask due to unrecoverable exception.") from exc
        if self.metrics is not None and batch.records:
            self.metrics.record_put(len(batch.records), (time.monotonic() - started) * 1000.0)
        if self._pending is not None:
            self._pending = None
            self._resume_all()
        if batch.consumed:
            # Offsets advance only once put() accepted the batch, over everything consumed (records a
            # transform dropped included), as Kafka's WorkerSinkTask does.
            self.offsets.update(batch.consumed)
            self.records_put += len(batch.records)
        if batch.skipped:
            self._advance_past(batch)

    def _record_lag(self) -> None:
        """Sample ``sink-record-lag-max``: the largest gap between the consumer's position and a partition's end
        (the high watermark of the last fetch response; both are local reads, no broker round trip)."""
        self._lag_due = time.monotonic() + LAG_SAMPLE_INTERVAL_S
        if not self.assignment:
            return
        consumer = self.consumer
        lag = -1
        for pos in consumer.position([clients.TopicPartition(tp.topic, tp.partition) for tp in self.assignment]):
            if pos.offset < 0:
                continue
            _, high = consumer.get_watermark_offsets(pos, cached=True)
            if high >= 0:
                lag = max(lag, high - pos.offset, 0)
        if lag >= 0:
            self.metrics.record_lag(lag)

    def _advance_past(self, batch: _Batch) -> None:
        """Move offsets past the tolerated failures of ``batch`` where they come after its last record."""
        last: dict[tuple[str, int], int] = {}
        for rec in batch.consumed:
            last[(rec.original_topic, rec.original_kafka_partition)] = rec.original_kafka_offset + 1
        for topic, partition, offset in batch.skipped:
            if offset + 1 > last.get((topic, partition), -1):
                last[(topic, partition)] = offset + 1
                self.offsets.update_offset(topic, partition, offset + 1)

    def _process(self, messages: list[Any]) -> _Batch:
        """Convert and transform a consumed batch under the task's error handling."""
        consumed, skipped = self._convert(messages)
        batch = _Batch(messages, consumed, consumed, skipped)
        if self.errant_record_reporter is not None:
            self._recent.append(batch)
        if self.on_topic is not None and consumed:
            self.on_topic(consumed)
        chain = self.transforms
        if chain is not None and consumed:
            self._current = batch
            try:
                records = [out for out in chain.apply_batch(consumed, self.errors, self._original_of)
                           if out is not None]
            finally:
                self._current = None
            batch.records = records
        return batch

    def _convert(self, messages: list[Any]) -> tuple[list[Any], list[tuple[str, int, int]]]:
        """SinkRecords of ``messages`` (one core call when nothing fails) and the coordinates of tolerated
        failures."""
        kc, vc, hc = self.key_converter, self.value_converter, self.header_converter
        records: list[Any] = []
        skipped: list[tuple[str, int, int]] = []
        chunk = messages
        while chunk:
            try:
                converted = core.sink_records_from_messages(chunk, kc, vc, hc)
            except DataError as exc:
                index, stage = getattr(exc, "index", None), getattr(exc, "stage", None)
                if index is None or stage is None:
                    raise
                if index:
                    records.extend(core.sink_records_from_messages(chunk[:index], kc, vc, hc))
                msg = chunk[index]
                record = self._recover_conversion(msg, exc, Stage(stage))
                if record is None:
                    skipped.append((msg.topic(), msg.partition(), msg.offset()))
                else:
                    records.append(record)
                chunk = chunk[index + 1:]
                continue
            except ConnectError as exc:
                index, kafka_error = getattr(exc, "index", None), getattr(exc, "kafka_error", None)
                if index is None or kafka_error is None:
                    raise
                if index:
                    records.extend(core.sink_records_from_messages(chunk[:index], kc, vc, hc))
                self._consume_error(exc, kafka_error)
                chunk = chunk[index + 1:]
                continue
            if records:
                records.extend(converted)
            else:
                records = converted
            break
        return records, skipped

    def _recover_conversion(self, msg: Any, exc: DataError, stage: Stage) -> Any:
        """Retry or tolerate one message that failed to convert; its SinkRecord, or ``None`` to skip it."""
        converter = {Stage.KEY_CONVERTER: self.key_converter, Stage.VALUE_CONVERTER: self.value_converter,
                     Stage.HEADER_CONVERTER: self.header_converter}[stage]
        context = ProcessingContext(RawRecord.from_message(msg))
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        record = self.errors.recover(context, lambda: self._convert_one(msg), cause, stage, type(converter))
        return None if context.failed else record

    def _convert_one(self, msg: Any) -> Any:
        error: BaseException | None = None
        try:
            return core.sink_records_from_messages([msg], self.key_converter, self.value_converter,
                                                   self.header_converter)[0]
        except DataError as exc:
            # The converter's own error, so that a RetriableError it raised is retried.
            error = exc.__cause__ if exc.__cause__ is not None else exc
        raise error

    def _consume_error(self, exc: ConnectError, kafka_error: Any) -> None:
        """A consumed message that carries a client error: fatal and authorization errors fail the task; the
        others are events the client recovers from (it retries by itself), so they are logged."""
        code = kafka_error.code()
        if kafka_error.fatal() or code in (clients.KafkaError.TOPIC_AUTHORIZATION_FAILED,
                                           clients.KafkaError.GROUP_AUTHORIZATION_FAILED):
            raise exc
        self.log.warning("Consumer reported an error (the client retries by itself): %s", kafka_error)

    def _original_of(self, record: Any) -> RawRecord | None:
        """The consumed bytes of a SinkRecord of a recent batch (for error reports), or ``None``."""
        coords = (record.original_topic, record.original_kafka_partition, record.original_kafka_offset)
        batches = list(self._recent)
        if self._current is not None:
            batches.append(self._current)
        for batch in reversed(batches):
            msg = batch.message_at(*coords)
            if msg is not None:
                return RawRecord.from_message(msg)
        return None

    def _commit(self, only: list[TopicPartition] | None, revoking: bool = False) -> None:
        current = self.offsets.snapshot()
        if only is not None:
            keep = set(only)
            current = {tp: off for tp, off in current.items() if tp in keep}
        if not current:
            return
        self._await_reports(list(current))
        try:
            committable = self.task.pre_commit(dict(current))
        except Exception as exc:  # noqa: BLE001 - Kafka logs and skips this commit
            self.log.error("Commit of offsets threw an unexpected exception: %s", exc, exc_info=exc)
            return
        if not committable:
            return
        owned = {tp: off for tp, off in committable.items() if tp in self.assignment}
        if not owned:
            return
        started = time.monotonic()
        try:
            self.consumer.commit(
                offsets=[clients.TopicPartition(tp[0], tp[1], int(off)) for tp, off in owned.items()],
                asynchronous=False,
            )
            self.offsets.set_committed(owned)
            self.log.debug("Committed offsets %s", owned)
            if self.metrics is not None:
                self.metrics.record_commit((time.monotonic() - started) * 1000.0, True)
        except clients.KafkaException as exc:
            if self.metrics is not None:
                self.metrics.record_commit((time.monotonic() - started) * 1000.0, False)
            if revoking:
                self.log.warning("Commit of offsets failed while partitions were revoked: %s", exc)
            else:
                self.log.error("Commit of offsets failed: %s", exc)

    def _await_reports(self, partitions: list[TopicPartition]) -> None:
        """Complete the error reports made so far before offsets past their records are committed.

        Raises:
            ConnectError: a record the task reported could not be written to the dead letter queue.
        """
        if self.errors.reporters:
            self.errors.flush(self.commit_timeout)
        if self.errant_record_reporter is not None:
            self.errant_record_reporter.await_futures(partitions)

    def _close(self) -> None:
        self._closing = True
        try:
            if self.consumer is not None and self.assignment:
                self._commit(None)
                self.task.close(list(self.assignment))
        except Exception as exc:  # noqa: BLE001
            self.log.error("Error while closing partitions: %s", exc, exc_info=exc)
        try:
            self.task.stop()
        except Exception as exc:  # noqa: BLE001
            self.log.error("Task threw an exception while stopping: %s", exc, exc_info=exc)
        try:
            self.errors.close()
        except Exception as exc:  # noqa: BLE001
            self.log.error("Error while closing the error reporters: %s", exc, exc_info=exc)
        if self.transforms is not None:
            try:
                self.transforms.close()
            except Exception as exc:  # noqa: BLE001
                self.log.error("Error while closing the transformations: %s", exc, exc_info=exc)
        if self.consumer is not None:
            self._unsubscribe()
            try:
                self.consumer.close()
            except Exception:  # noqa: BLE001
                pass

    def _unsubscribe(self) -> None:
        """Give up the assignment through the task's own polls before the consumer closes. A revocation served
        inside ``Consumer.close`` can hang it for good: confluent-kafka's rebalance callback asks librdkafka for
        the rebalance protocol, which the terminating group may never answer (librdkafka issue 4041)."""
        try:
            self.consumer.unsubscribe()
            deadline = time.monotonic() + UNSUBSCRIBE_WAIT_S
            while self.assignment and time.monotonic() < deadline:
                self.consumer.consume(1, 0.1)
        except Exception as exc:  # noqa: BLE001 - closing goes on
            self.log.debug("Unsubscribing before close failed: %s", exc)
