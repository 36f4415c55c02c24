"""WorkerSinkTask: consume a batch -> convert in the core -> ``SinkTask.put`` -> track offsets -> commit.

The loop follows Kafka's WorkerSinkTask: ``put`` is called after every poll, even with no records; a
``RetriableError`` from ``put`` pauses every assigned partition and redelivers the same batch after
``context.timeout()``; offsets are committed every ``offset.flush.interval.ms``, when the task asks
(``request_commit``), when partitions are revoked and when the task stops, always through ``pre_commit``.
Per-record work (conversion, record construction, offset tracking) is one core call per batch.
"""

from __future__ import annotations

import re
import time
from typing import Any

from kcfast import core
from kcfast.api.task import SinkTaskContext, TopicPartition
from kcfast.errors import ConnectError, DataError, RetriableError
from kcfast.kafka import clients
from kcfast.runtime.worker_task import WorkerTask

DEFAULT_BATCH = 2000


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
        self.errant_record_reporter: Any = None
        self.consumer: Any = None
        self._kafka_paused = False
        self._pending: tuple[list[Any], list[Any]] | None = None
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
        self.log.info("Partitions revoked: %s", ", ".join(f"{t.topic}-{t.partition}" for t in tps))
        self._commit(tps, revoking=True)
        self.task.close(list(tps))
        self.assignment.difference_update(tps)
        self.offsets.remove(tps)
        if self._pending is not None:
            revoked = set(tps)
            self._pending = tuple(  # type: ignore[assignment]
                [r for r in part if TopicPartition(r.original_topic, r.original_kafka_partition) not in revoked] for part in self._pending
            )

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

    def run(self) -> None:
        self.consumer = clients.new_consumer(self.consumer_config, self.log)
        try:
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
            consumed, records = self._pending
            if time.monotonic() < self._retry_at:
                self.consumer.consume(1, min(0.1, self._retry_at - time.monotonic()))
                return
        else:
            messages = self.consumer.consume(self.batch_size, 0.5)
            consumed, records = self._convert(messages) if messages else ([], [])
        try:
            self.task.put(records)
        except RetriableError as exc:
            self.log.error("RetriableException from SinkTask: %s", exc)
            self._pending = (consumed, records)
            self._pause_all()
            timeout = self.context.timeout_ms
            self._retry_at = time.monotonic() + (timeout / 1000.0 if timeout > 0 else 0)
            return
        if self._pending is not None:
            self._pending = None
            self._resume_all()
        if consumed:
            # Offsets advance only once put() accepted the batch, over everything consumed (records a
            # transform dropped included), as Kafka's WorkerSinkTask does.
            self.offsets.update(consumed)
            self.records_put += len(records)

    def _convert(self, messages: list[Any]) -> tuple[list[Any], list[Any]]:
        try:
            records = core.sink_records_from_messages(
                messages, self.key_converter, self.value_converter, self.header_converter
            )
        except DataError as exc:
            raise ConnectError(f"Tolerance exceeded in error handler: {exc}") from exc
        if self.on_topic is not None:
            self.on_topic(records)
        transformed = self.transforms.apply_all(records) if self.transforms is not None else records
        return records, transformed

    def _commit(self, only: list[TopicPartition] | None, revoking: bool = False) -> None:
        current = self.offsets.snapshot()
        if only is not None:
            keep = set(only)
            current = {tp: off for tp, off in current.items() if tp in keep}
        if not current:
            return
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
        try:
            self.consumer.commit(
                offsets=[clients.TopicPartition(tp[0], tp[1], int(off)) for tp, off in owned.items()],
                asynchronous=False,
            )
            self.offsets.set_committed(owned)
            self.log.debug("Committed offsets %s", owned)
        except clients.KafkaException as exc:
            if revoking:
                self.log.warning("Commit of offsets failed while partitions were revoked: %s", exc)
            else:
                self.log.error("Commit of offsets failed: %s", exc)

    def _close(self) -> None:
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
        if self.consumer is not None:
            try:
                self.consumer.close()
            except Exception:  # noqa: BLE001
                pass
