"""WorkerSourceTask: ``SourceTask.poll`` -> transforms -> convert in the core -> produce -> acks -> offsets.

As in Kafka's AbstractWorkerSourceTask, a record's source offset becomes committable only once the broker
acknowledged it and every record submitted before it for the same source partition (``SubmittedRecords``).
Committable offsets are written to the offset store every ``offset.flush.interval.ms`` and when the task
stops, then ``SourceTask.commit`` is called. A full producer queue never loses a record: the core polls
and retries. A delivery failure fails the task without committing the offsets of undelivered records, unless
``errors.tolerance=all``, which reports it (stage ``KAFKA_PRODUCE``) and counts the record as processed.

Transformation and converter failures go through the task's error handling (:mod:`kcfast.runtime.tolerance`):
retried, reported and skipped with ``errors.tolerance=all``, failing the task with ``none``. A record that a
transformation drops, or whose failure is tolerated, is acknowledged at once, so its offset is committable.
With ``topic.creation.*`` settings (:mod:`kcfast.runtime.topic_creation`) a topic is created before the first
record is sent to it. A ``RetriableError`` from ``poll`` is logged and ``poll`` is called again.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from kcfast import core
from kcfast.api.task import SourceTask, SourceTaskContext
from kcfast.errors import ConnectError, DataError, RetriableError
from kcfast.kafka import clients, direct
from kcfast.runtime.tolerance import ProcessingContext, RetryWithToleranceOperator, Stage
from kcfast.runtime.worker_task import WorkerTask

#: Records of a polled batch taken through the send steps together (``WorkerSourceTask._send``). From 32 to 256
#: the source benchmark measured the same CPU per record, about 10 % less than whole batches of 1,000.
SEND_CHUNK = 128


class WorkerSourceTaskContext(SourceTaskContext):
    """The context a SourceTask sees."""

    def __init__(self, owner: "WorkerSourceTask", reader: Any) -> None:
        self._owner = owner
        self._reader = reader

    def configs(self) -> dict[str, str]:
        return dict(self._owner.task_props)

    def offset_storage_reader(self) -> Any:
        return self._reader

    def transaction_context(self) -> Any:
        return None


class _Delivery:
    """Delivery callback of one produced record: acknowledges it, or handles the failure.

    ``record`` is the record as the task returned it, before transformations.
    """

    __slots__ = ("owner", "submitted", "record")

    def __init__(self, owner: "WorkerSourceTask", submitted: Any, record: Any) -> None:
        self.owner = owner
        self.submitted = submitted
        self.record = record

    def __call__(self, err: Any, msg: Any) -> None:
        if err is not None:
            self.owner.send_failed(self, err, msg)
            return
        self.submitted.ack()
        owner = self.owner
        if owner.commit_record_overridden:
            owner._commit_record(self.record, msg)


class WorkerSourceTask(WorkerTask):
    """Runs one SourceTask in its own thread."""

    def __init__(
        self,
        *args: Any,
        producer_config: dict[str, Any],
        key_converter: Any,
        value_converter: Any,
        header_converter: Any,
        offset_reader: Any,
        offset_writer: Any,
        transforms: Any = None,
        errors: RetryWithToleranceOperator | None = None,
        topic_creation: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.producer_config = producer_config
        self.key_converter = key_converter
        self.value_converter = value_converter
        self.header_converter = header_converter
        self.offset_writer = offset_writer
        self.transforms = transforms
        self.errors = errors if errors is not None else RetryWithToleranceOperator()
        self.topic_creation = topic_creation
        self.context = WorkerSourceTaskContext(self, offset_reader)
        self.commit_interval = int(self.worker_config.get("offset.flush.interval.ms", 60000)) / 1000.0
        self.flush_timeout = int(self.worker_config.get("offset.flush.timeout.ms", 5000)) / 1000.0
        self.submitted = core.SubmittedRecords()
        self.submitted.on_failure = self._delivery_failed
        self.producer: Any = None
        self.producer_failure: BaseException | None = None
        self.commit_record_overridden = type(self.task).commit_record is not SourceTask.commit_record
        self.on_topic: Any = None
        self.records_sent = 0
        self._stop_lock = threading.Lock()
        self._task_started = False
        self._send_in_core = False

    def on_stop_requested(self) -> None:
        # Only the retries of the error handling are cut short here. SourceTask.stop() runs on the task's
        # own thread once poll() returns, as in Kafka's AbstractWorkerSourceTask.close(), so that a task whose
        # stop() blocks never blocks the thread that stops it (the herder).
        self.errors.trigger_stop()

    def run(self) -> None:
        if self.commit_record_overridden or self.errors.tolerates_all:
            # These delivery callbacks need the delivered message (commit_record's metadata, the failed
            # record's topic); the direct producer hands callbacks none.
            self.producer = clients.new_producer(self.producer_config, self.log)
        else:
            self.producer = clients.new_source_producer(self.producer_config, self.log)
            # With topic.creation.* settings the encoded chunk names the topics to create before it is
            # produced.
            self._send_in_core = direct.is_direct_producer(self.producer) and self.topic_creation is None
        try:
            self.errors.start()
            self.task.initialize(self.context)
            self.task.start(dict(self.task_props))
            with self._stop_lock:
                self._task_started = True
            self.log.info("Source task finished initialization and start")
            self.listener.on_startup(self.id)
            if self.is_paused():
                self.listener.on_pause(self.id)
            self._loop()
        finally:
            self._finish()

    def _loop(self) -> None:
        next_commit = time.monotonic() + self.commit_interval
        was_paused = self.is_paused()
        producer = self.producer
        while not self.stopping:
            paused = self.is_paused()
            if paused != was_paused:
                was_paused = paused
                (self.listener.on_pause if paused else self.listener.on_resume)(self.id)
            if time.monotonic() >= next_commit:
                # Offsets are committed on the timer while paused too: records acknowledged before the pause.
                self.commit_offsets()
                next_commit = time.monotonic() + self.commit_interval
            if paused:
                producer.poll(0)
                self.await_unpaused(0.5)
                continue
            started = time.monotonic()
            try:
                records = self.task.poll()
            except RetriableError as exc:
                self.log.warning("failed to poll records from SourceTask. Will retry operation.",
                                 exc_info=exc)
                records = None
            if self.producer_failure is not None:
                raise self.producer_failure
            if not records:
                producer.poll(0)
                continue
            if self.metrics is not None:
                self.metrics.record_poll(len(records), (time.monotonic() - started) * 1000.0)
            self._send(records)

    def _send(self, records: list[Any]) -> None:
        # A polled batch goes through every step (submit, transforms, conversion, produce) SEND_CHUNK records
        # at a time, in poll order: the records a step reads are still in the CPU cache from the step before.
        # Kafka's AbstractWorkerSourceTask takes the same steps one record at a time.
        if len(records) <= SEND_CHUNK:
            self._send_chunk(records)
            return
        for start in range(0, len(records), SEND_CHUNK):
            self._send_chunk(records[start:start + SEND_CHUNK])

    def _send_chunk(self, records: list[Any]) -> None:
        # Every record of the chunk is submitted first, in poll order (and every earlier chunk was), so that
        # acknowledging a dropped record never makes the offset of an earlier record in flight committable.
        subs = self.submitted.submit_all(records)
        originals = records
        chain = self.transforms
        if chain is not None:
            kept: list[Any] = []
            kept_originals: list[Any] = []
            kept_subs: list[Any] = []
            for record, sub, out in zip(records, subs, chain.apply_batch(records, self.errors)):
                if out is None:
                    self._drop(record, sub)
                else:
                    kept.append(out)
                    kept_originals.append(record)
                    kept_subs.append(sub)
            if not kept:
                return
            if len(kept) < len(records):
                records, originals, subs = kept, kept_originals, kept_subs
            else:
                records = kept
        if self._send_in_core:
            # Each record is encoded and produced in turn, in one core call; the submitted records are the
            # delivery callbacks (ack on success, else _delivery_failed).
            sent = self._send_records(records, originals, subs)
            self._track_topics(records, sent)
        else:
            sent = self._encode_and_send(records, originals, subs)
        if not sent:
            return
        self.records_sent += sent
        if self.metrics is not None:
            self.metrics.record_write(sent)
        self.producer.poll(0)

    def _encode_and_send(self, records: list[Any], originals: list[Any], subs: Any) -> int:
        """Encode the chunk, create its topics, then produce it; returns how many records were sent."""
        encoded, originals, subs = self._encode(records, originals, subs)
        if not encoded:
            return 0
        if self.topic_creation is not None:
            for topic in core.batch_topics(encoded):
                self.topic_creation.maybe_create(topic)
        self._track_topics(encoded, len(encoded))
        if self.commit_record_overridden or self.errors.tolerates_all:
            # Only commit_record and tolerated failures need the original record in the delivery callback.
            callbacks: Any = [_Delivery(self, sub, rec) for sub, rec in zip(subs, originals)]
        else:
            callbacks = subs
        core.produce_batch(self.producer, encoded, callbacks)
        return len(encoded)

    def _track_topics(self, items: list[Any], sent: int) -> None:
        # Tracked once per topic and batch; a failed send fails the task, so the topic was used.
        if self.on_topic is not None and sent:
            for topic in core.batch_topics(items):
                self.on_topic(topic)

    def _send_records(self, records: list[Any], originals: list[Any], subs: Any) -> int:
        """Encode and produce ``records`` in the core, one record after the other, under the task's error
        handling; returns how many were sent."""
        kc, vc, hc = self.key_converter, self.value_converter, self.header_converter
        producer = self.producer
        sent = 0
        pos = 0
        while pos < len(records):
            try:
                return sent + core.send_source_records(producer, records, kc, vc, hc, subs, pos)
            except DataError as exc:
                index, stage = getattr(exc, "index", None), getattr(exc, "stage", None)
                if index is None or stage is None:
                    raise
                sent += index - pos
                result = self._recover_encoding(records[index], originals[index], subs[index], exc)
                if result is not None:
                    core.produce_batch(producer, [result], [subs[index]])
                    sent += 1
                pos = index + 1
        return sent

    def _drop(self, record: Any, submitted: Any) -> None:
        """A record that will not be sent (dropped by a transformation, or its failure tolerated) counts as
        processed: it is acknowledged, so its offset becomes committable. Not while the task stops: a failure
        may then only mean that retries were cut short, and the record is polled again after a restart."""
        if self.stopping:
            return
        submitted.ack()
        if self.commit_record_overridden:
            self._commit_record(record, None)

    def _commit_record(self, record: Any, metadata: Any) -> None:
        try:
            self.task.commit_record(record, metadata)
        except Exception as exc:  # noqa: BLE001 - Kafka logs and goes on
            self.log.error("Exception thrown while calling task.commitRecord()", exc_info=exc)

    def _encode(self, records: list[Any], originals: list[Any],
                subs: list[Any]) -> tuple[list[Any], list[Any], list[Any]]:
        """Serialize ``records`` (one core call when nothing fails) under the task's error handling.

        Returns:
            The encoded records, and the originals and submitted records of those that were encoded.
        """
        kc, vc, hc = self.key_converter, self.value_converter, self.header_converter
        encoded: list[Any] = []
        kept: list[Any] = []
        kept_subs: list[Any] = []
        pos = 0
        while pos < len(records):
            chunk = records if pos == 0 else records[pos:]
            try:
                done = core.encode_source_records(chunk, kc, vc, hc)
            except DataError as exc:
                index, stage = getattr(exc, "index", None), getattr(exc, "stage", None)
                if index is None or stage is None:
                    raise
                if index:
                    encoded.extend(core.encode_source_records(chunk[:index], kc, vc, hc))
                    kept.extend(originals[pos:pos + index])
                    kept_subs.extend(subs[pos:pos + index])
                original, sub = originals[pos + index], subs[pos + index]
                result = self._recover_encoding(chunk[index], original, sub, exc)
                if result is not None:
                    encoded.append(result)
                    kept.append(original)
                    kept_subs.append(sub)
                pos += index + 1
                continue
            if pos == 0:
                return done, originals, subs
            encoded.extend(done)
            kept.extend(originals[pos:])
            kept_subs.extend(subs[pos:])
            break
        return encoded, kept, kept_subs

    def _recover_encoding(self, record: Any, original: Any, sub: Any, exc: DataError) -> Any:
        """Retry or tolerate a record that failed to encode: its encoded tuple, or ``None`` when the failure
        was tolerated (the record is then acknowledged as processed)."""
        kc, vc, hc = self.key_converter, self.value_converter, self.header_converter
        stage = Stage(exc.stage)  # type: ignore[attr-defined]
        converter = {Stage.KEY_CONVERTER: kc, Stage.VALUE_CONVERTER: vc, Stage.HEADER_CONVERTER: hc}[stage]
        context = ProcessingContext(original)
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        result = self.errors.recover(context, lambda: self._encode_one(record), cause, stage, type(converter))
        if context.failed:
            self._drop(original, sub)
            return None
        return result

    def _encode_one(self, record: Any) -> Any:
        error: BaseException | None = None
        try:
            return core.encode_source_records([record], self.key_converter, self.value_converter,
                                              self.header_converter)[0]
        except DataError as exc:
            # The converter's own error, so that a RetriableError it raised is retried.
            error = exc.__cause__ if exc.__cause__ is not None else exc
        raise error

    def _delivery_failed(self, submitted: Any, err: Any, msg: Any) -> None:
        """``SubmittedRecords.on_failure``: a record sent without a ``_Delivery`` (no tolerance, no
        ``commit_record``) could not be delivered: the task fails, its offset is never committed."""
        self._fail_on_send_error(err)

    def _fail_on_send_error(self, err: Any) -> None:
        if self.producer_failure is None:
            text = err.str() if hasattr(err, "str") else str(err)
            self.producer_failure = ConnectError(
                f"Unrecoverable exception from producer send callback: {text}")

    def send_failed(self, delivery: _Delivery, err: Any, msg: Any) -> None:
        """A record could not be delivered: with ``errors.tolerance=all`` it is reported and counts as
        processed, else the task fails at its next iteration."""
        if not self.errors.tolerates_all:
            self._fail_on_send_error(err)
            return
        text = err.str() if hasattr(err, "str") else str(err)
        topic = msg.topic() if msg is not None else None
        self.log.error("failed to send record to %s: %s", topic, text)
        error = clients.KafkaException(err)
        try:
            self.errors.execute_failed(ProcessingContext(delivery.record), Stage.KAFKA_PRODUCE, type(self),
                                       error)
        except ConnectError as exc:  # not with tolerance all; never raise inside a delivery callback
            self.producer_failure = exc
            return
        if self.commit_record_overridden:
            self._commit_record(delivery.record, None)
        delivery.submitted.ack()

    def commit_offsets(self) -> bool:
        """Write the committable offsets to the offset store, then call ``SourceTask.commit``."""
        self.producer.poll(0)
        committable = self.submitted.committable_offsets()
        if committable.is_empty():
            return True
        started = time.monotonic()
        ok = self._flush_offsets(committable)
        if self.metrics is not None:
            self.metrics.record_commit((time.monotonic() - started) * 1000.0, ok)
        return ok

    def _flush_offsets(self, committable: Any) -> bool:
        for partition, offset in committable.offsets.items():
            self.offset_writer.offset(partition, offset)
        if not self.offset_writer.begin_flush():
            return True
        try:
            fut = self.offset_writer.do_flush()
            if fut is not None:
                fut.result(self.flush_timeout)
        except Exception as exc:  # noqa: BLE001 - Kafka logs, cancels the flush and retries later
            self.log.error("Failed to flush offsets to storage: %s", exc, exc_info=exc)
            self.offset_writer.cancel_flush()
            return False
        self.log.debug("Committed offsets for %d acknowledged messages", committable.num_committable_messages)
        try:
            self.task.commit()
        except Exception as exc:  # noqa: BLE001
            self.log.error("Exception thrown while calling task.commit(): %s", exc, exc_info=exc)
        return True

    def _finish(self) -> None:
        if self.producer is not None:
            remaining = self.producer.flush(self.flush_timeout)
            if remaining:
                self.log.warning("%d records were not acknowledged before the task stopped", remaining)
            try:
                self.commit_offsets()
            except Exception as exc:  # noqa: BLE001
                self.log.error("Failed to commit offsets on stop: %s", exc, exc_info=exc)
        closers = [(self.errors.close, "error reporters")]
        if self.transforms is not None:
            closers.append((self.transforms.close, "transformations"))
        if self.topic_creation is not None:
            closers.append((self.topic_creation.close, "topic creation"))
        for closing, what in closers:
            try:
                closing()
            except Exception as exc:  # noqa: BLE001
                self.log.error("Error while closing the %s: %s", what, exc, exc_info=exc)
        with self._stop_lock:
            started, self._task_started = self._task_started, False
        if started:
            try:
                self.task.stop()
            except Exception as exc:  # noqa: BLE001
                self.log.error("Task threw an exception while stopping: %s", exc, exc_info=exc)
