"""WorkerSourceTask: ``SourceTask.poll`` -> transforms -> convert in the core -> produce -> acks -> offsets.

As in Kafka's AbstractWorkerSourceTask, a record's source offset becomes committable only once the broker
acknowledged it and every record submitted before it for the same source partition (``SubmittedRecords``).
Committable offsets are written to the offset store every ``offset.flush.interval.ms`` and when the task
stops, then ``SourceTask.commit`` is called. A full producer queue never loses a record: the core polls
and retries. A delivery failure fails the task without committing the offsets of undelivered records.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from kcfast import core
from kcfast.api.task import SourceTask, SourceTaskContext
from kcfast.errors import ConnectError, DataError
from kcfast.kafka import clients
from kcfast.runtime.worker_task import WorkerTask


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
    """Delivery callback of one produced record: acknowledges it, or remembers the failure."""

    __slots__ = ("owner", "submitted", "record")

    def __init__(self, owner: "WorkerSourceTask", submitted: Any, record: Any) -> None:
        self.owner = owner
        self.submitted = submitted
        self.record = record

    def __call__(self, err: Any, msg: Any) -> None:
        if err is not None:
            self.owner.producer_failure = ConnectError(
                f"Unrecoverable exception from producer send callback: {err.str() if hasattr(err, 'str') else err}"
            )
            return
        self.submitted.ack()
        owner = self.owner
        if owner.on_topic is not None:
            owner.on_topic(msg.topic())
        if owner.commit_record_overridden:
            owner.task.commit_record(self.record, msg)


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
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.producer_config = producer_config
        self.key_converter = key_converter
        self.value_converter = value_converter
        self.header_converter = header_converter
        self.offset_writer = offset_writer
        self.transforms = transforms
        self.context = WorkerSourceTaskContext(self, offset_reader)
        self.commit_interval = int(self.worker_config.get("offset.flush.interval.ms", 60000)) / 1000.0
        self.flush_timeout = int(self.worker_config.get("offset.flush.timeout.ms", 5000)) / 1000.0
        self.submitted = core.SubmittedRecords()
        self.producer: Any = None
        self.producer_failure: BaseException | None = None
        self.commit_record_overridden = type(self.task).commit_record is not SourceTask.commit_record
        self.on_topic: Any = None
        self.records_sent = 0
        self._stop_lock = threading.Lock()
        self._task_started = False

    def on_stop_requested(self) -> None:
        # Kafka calls SourceTask.stop() from the stopping thread so that a blocked poll() can return.
        with self._stop_lock:
            if self._task_started:
                try:
                    self.task.stop()
                except Exception as exc:  # noqa: BLE001
                    self.log.error("Task threw an exception while stopping: %s", exc, exc_info=exc)

    def run(self) -> None:
        self.producer = clients.new_producer(self.producer_config, self.log)
        try:
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
            if paused:
                producer.poll(0)
                self.await_unpaused(0.5)
                continue
            if time.monotonic() >= next_commit:
                self.commit_offsets()
                next_commit = time.monotonic() + self.commit_interval
            records = self.task.poll()
            if self.producer_failure is not None:
                raise self.producer_failure
            if not records:
                producer.poll(0)
                continue
            self._send(records)

    def _send(self, records: list[Any]) -> None:
        if self.transforms is not None:
            # Records a transform drops still count as processed: their offsets are committable.
            kept = []
            for record in records:
                out = self.transforms.apply(record)
                if out is None:
                    self.submitted.submit(record.source_partition, record.source_offset).ack()
                    if self.commit_record_overridden:
                        self.task.commit_record(record, None)
                else:
                    kept.append(out)
            records = kept
            if not records:
                return
        try:
            encoded = core.encode_source_records(records, self.key_converter, self.value_converter, self.header_converter)
        except DataError as exc:
            raise ConnectError(f"Tolerance exceeded in error handler: {exc}") from exc
        subs = self.submitted.submit_all(records)
        callbacks = [_Delivery(self, sub, rec) for sub, rec in zip(subs, records)]
        core.produce_batch(self.producer, encoded, callbacks)
        self.records_sent += len(records)
        self.producer.poll(0)

    def commit_offsets(self) -> bool:
        """Write the committable offsets to the offset store, then call ``SourceTask.commit``."""
        self.producer.poll(0)
        committable = self.submitted.committable_offsets()
        if committable.is_empty():
            return True
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
        with self._stop_lock:
            started, self._task_started = self._task_started, False
        if started and not self.stopping:
            # The task failed on its own: stop it here since nobody else will.
            try:
                self.task.stop()
            except Exception as exc:  # noqa: BLE001
                self.log.error("Task threw an exception while stopping: %s", exc, exc_info=exc)
