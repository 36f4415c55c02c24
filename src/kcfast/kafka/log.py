"""A Kafka topic read as a log: Kafka Connect's ``KafkaBasedLog`` and its internal-topic setup.

:class:`KafkaBasedLog` pairs a producer with a consumer that is assigned every partition of one topic (no
consumer group), reads the topic from the beginning on a background thread and hands each record to a
callback.
:meth:`KafkaBasedLog.read_to_end` waits until everything that was in the topic when it was called has been
handed over, which is how the config, offset and status stores know they are up to date (spec section 3).

:func:`ensure_topic` creates an internal topic with compaction, or checks that an existing one is compacted
(a worker refuses to start on a topic with another cleanup policy). The helpers at the end derive the client
settings, client ids and topic settings of the internal topics from a worker configuration.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from confluent_kafka import IsolationLevel, KafkaError, KafkaException, Message, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    NewTopic,
    OffsetSpec,
    ResourceType,
)

from kcfast.errors import ConfigError, ConnectError, RetriableError
from kcfast.kafka.clients import new_admin, new_consumer, new_producer

__all__ = [
    "DeliveryCallback",
    "KafkaBasedLog",
    "LogFactory",
    "LogRecord",
    "RecordLog",
    "RecordMetadata",
    "TopicSpec",
    "client_id_base",
    "ensure_topic",
    "internal_client_config",
    "internal_log",
    "internal_topic_settings",
    "kafka_error",
    "topic_cleanup_policy",
    "verify_topic_cleanup_policy_only_compact",
]

log = logging.getLogger(__name__)

#: How long :meth:`KafkaBasedLog.start` waits for the topic's partitions to appear (Kafka: 30 s).
CREATE_TOPIC_TIMEOUT_S = 30.0
#: Java's ``Integer.MAX_VALUE``: the internal producers' ``delivery.timeout.ms``.
INT_MAX = 2**31 - 1
#: Default ``fetch.wait.max.ms`` of the reader (librdkafka's default is 500).
FETCH_WAIT_MAX_MS = 100
_POLL_TIMEOUT_S = 0.1
_BATCH_SIZE = 500


class LogRecord(NamedTuple):
    """A record read from the log."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int


class RecordMetadata(NamedTuple):
    """Where a written record landed."""

    topic: str
    partition: int
    offset: int


#: Completion callback of :meth:`KafkaBasedLog.send`: ``callback(error, metadata)``, one of them ``None``.
DeliveryCallback = Callable[[BaseException | None, RecordMetadata | None], None]


@dataclass(frozen=True)
class TopicSpec:
    """How to create an internal topic, and what to say if an existing one is not compacted.

    Attributes:
        name: the topic.
        partitions: partitions when creating it (-1: the broker's default).
        replication_factor: replication factor when creating it (-1: the broker's default).
        config: topic configs; ``cleanup.policy=compact`` is always added.
        worker_config_key: the worker setting naming the topic (``config.storage.topic``...), for messages.
        purpose: what the topic holds (``connector configurations``...), for messages.
    """

    name: str
    partitions: int
    replication_factor: int
    config: Mapping[str, str] = field(default_factory=dict)
    worker_config_key: str = ""
    purpose: str = ""

    def topic_config(self) -> dict[str, str]:
        """The topic configs used on creation: the given ones, then ``cleanup.policy=compact``."""
        config = {k: str(v) for k, v in self.config.items()}
        config["cleanup.policy"] = "compact"
        return config


def kafka_error(err: KafkaError | None, message: str | None = None) -> ConnectError:
    """The kcfast error for a client error: :class:`RetriableError` when Kafka says a retry may succeed."""
    text = message or (err.str() if err is not None else "Kafka client error")
    if err is not None and err.retriable():
        return RetriableError(text)
    return ConnectError(text)


def _error_of(exc: KafkaException) -> KafkaError | None:
    err = exc.args[0] if exc.args else None
    return err if isinstance(err, KafkaError) else None


class RecordLog(Protocol):
    """What the internal-topic stores need from a log; :class:`KafkaBasedLog` is the implementation."""

    @property
    def partition_count(self) -> int:
        """Number of partitions read."""

    def start(self) -> None:
        """Start reading; returns once caught up."""

    def stop(self) -> None:
        """Stop reading and writing."""

    def send(
        self, key: bytes | None, value: bytes | None, callback: DeliveryCallback | None = None
    ) -> Future[RecordMetadata]:
        """Append a record."""

    def flush(self, timeout: float | None = None) -> None:
        """Wait for every sent record's acknowledgement."""

    def read_to_end(self, timeout: float | None = None) -> None:
        """Wait until every record in the topic at call time was handed to the callback."""


#: Builds the log of a store, given the callback that receives its records (tests pass an in-memory log).
LogFactory = Callable[[Callable[[LogRecord], None]], RecordLog]


# -- topic creation and validation ---------------------------------------------------------------------------


def ensure_topic(admin: AdminClient, spec: TopicSpec, timeout: float = CREATE_TOPIC_TIMEOUT_S) -> bool:
    """Create ``spec``'s topic if it does not exist, else check that it is compacted.

    Returns:
        ``True`` if the topic was created, ``False`` if it existed (or could not be created for lack of
        permission or broker support, in which case it is assumed to exist, as Kafka does).

    Raises:
        ConfigError: the topic exists with a cleanup policy other than ``compact``.
        ConnectError: the topic could not be created (invalid config, timeout, other errors).
    """
    new_topic = NewTopic(
        spec.name,
        num_partitions=spec.partitions,
        replication_factor=spec.replication_factor,
        config=spec.topic_config(),
    )
    futures = admin.create_topics([new_topic], operation_timeout=timeout, request_timeout=timeout)
    created = False
    try:
        futures[spec.name].result(timeout=timeout + 5)
        created = True
        log.info(
            "Created topic %s (partitions=%d, replication factor=%d, config=%s)",
            spec.name,
            spec.partitions,
            spec.replication_factor,
            spec.topic_config(),
        )
    except KafkaException as exc:
        err = _error_of(exc)
        code = err.code() if err is not None else None
        if code == KafkaError.TOPIC_ALREADY_EXISTS:
            log.debug("Found existing topic '%s'", spec.name)
        elif code in (
            KafkaError.UNSUPPORTED_VERSION,
            KafkaError._UNSUPPORTED_FEATURE,
            KafkaError.CLUSTER_AUTHORIZATION_FAILED,
            KafkaError.TOPIC_AUTHORIZATION_FAILED,
        ):
            log.debug(
                "Unable to create topic '%s' (%s). Falling back to assume the topic exists or will be "
                "auto-created by the broker.",
                spec.name,
                err,
            )
        elif code == KafkaError.INVALID_CONFIG:
            raise ConnectError(
                f"Unable to create topic(s) '{spec.name}': {err.str() if err else exc}"
            ) from exc
        elif code in (KafkaError._TIMED_OUT, KafkaError.REQUEST_TIMED_OUT):
            raise ConnectError(
                f"Timed out while checking for or creating topic(s) '{spec.name}'. This could indicate a "
                "connectivity issue, unavailable topic partitions, or if this is your first use of the topic "
                "it may have taken too long to create."
            ) from exc
        else:
            raise ConnectError(f"Error while attempting to create/find topic(s) '{spec.name}'") from exc
    if not created:
        verify_topic_cleanup_policy_only_compact(
            admin, spec.name, spec.worker_config_key, spec.purpose, timeout
        )
    return created


def topic_cleanup_policy(
    admin: AdminClient, topic: str, timeout: float = CREATE_TOPIC_TIMEOUT_S
) -> list[str]:
    """The cleanup policies of ``topic`` (lower case, in the order configured); empty if unknown."""
    try:
        futures = admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic)], request_timeout=timeout)
        (future,) = futures.values()
        entries = future.result(timeout=timeout + 5)
    except KafkaException as exc:
        log.debug("Unable to describe the configuration of topic '%s': %s", topic, exc)
        return []
    entry = entries.get("cleanup.policy")
    if entry is None or entry.value is None:
        log.debug("Found no cleanup.policy for topic '%s'", topic)
        return []
    policies: list[str] = []
    for part in str(entry.value).split(","):
        part = part.strip().lower()
        if part and part not in policies:
            policies.append(part)
    return policies


def verify_topic_cleanup_policy_only_compact(
    admin: AdminClient,
    topic: str,
    worker_config_key: str,
    purpose: str,
    timeout: float = CREATE_TOPIC_TIMEOUT_S,
) -> bool:
    """Check that ``topic`` has ``cleanup.policy=compact`` and nothing else.

    Returns:
        ``True`` if verified, ``False`` if the policy could not be read (then only logged, as Kafka does).

    Raises:
        ConfigError: the topic has another cleanup policy (Kafka's message).
    """
    policies = topic_cleanup_policy(admin, topic, timeout)
    if not policies:
        log.info(
            "Unable to use admin client to verify the cleanup policy of '%s' topic is 'compact', either "
            "because the broker is an older version or because the Kafka principal used for Connect "
            "internal topics does not have the required permission to describe topic configurations.",
            topic,
        )
        return False
    if policies != ["compact"]:
        found = ",".join(_java_hash_set_order(policies))
        raise ConfigError(
            f"Topic '{topic}' supplied via the '{worker_config_key}' property is required to have "
            f"'cleanup.policy=compact' to guarantee consistency and durability of {purpose}, but found the "
            f"topic currently has 'cleanup.policy={found}'. Continuing would likely result in eventually "
            f"losing {purpose} and problems restarting this Connect cluster in the future. Change the "
            f"'{worker_config_key}' property in the Connect worker configurations to use a topic with "
            "'cleanup.policy=compact'."
        )
    return True


def _java_string_hash(text: str) -> int:
    data = text.encode("utf-16-be")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i : i + 2], "big")) & 0xFFFFFFFF
    return h


def _java_hash_set_order(items: list[str]) -> list[str]:
    """The iteration order of a small ``java.util.HashSet`` of ``items`` (as Kafka joins them in messages)."""
    capacity = 16
    while len(items) > capacity * 0.75:
        capacity *= 2

    def bucket(item: str) -> int:
        h = _java_string_hash(item)
        return (h ^ (h >> 16)) & (capacity - 1)

    return sorted(items, key=bucket)  # stable: items in one bucket keep their insertion order


# -- the log -------------------------------------------------------------------------------------------------


class KafkaBasedLog:
    """A topic read from the beginning into a callback, with a producer to append to it.

    Lifecycle: :meth:`start` (creates or validates the topic when a :class:`TopicSpec` is given, assigns all
    partitions, reads to the end), then any number of :meth:`send` / :meth:`flush` / :meth:`read_to_end`, then
    :meth:`stop`. Records are handed to ``consumed_callback`` on one background thread, in partition order;
    the callback must not call :meth:`read_to_end`. Delivery callbacks run on another background thread.

    Thread-safe: :meth:`send`, :meth:`flush` and :meth:`read_to_end` may be called from any thread. The
    consumer is used only by the reader thread (a confluent-kafka consumer blocks calls from other threads
    while it polls), so end offsets come from the admin client.

    Args:
        topic: the topic.
        producer_config: producer settings (Java or librdkafka names); ``None`` makes the log read-only.
            ``acks=all``, one request in flight and the murmur2 partitioner are always set.
        consumer_config: consumer settings; ``enable.auto.commit=false`` and ``auto.offset.reset=earliest``
            are always set; ``isolation.level`` defaults to ``read_uncommitted``, ``fetch.wait.max.ms`` to
            100.
        consumed_callback: receives each :class:`LogRecord`.
        admin_config: admin client settings, to create the topic and read end offsets (default: the
            consumer's).
        topic_spec: create or validate the topic on start when given.
        create_topic_timeout: seconds :meth:`start` waits for the topic's partitions to appear.
    """

    def __init__(
        self,
        topic: str,
        producer_config: Mapping[str, Any] | None,
        consumer_config: Mapping[str, Any],
        consumed_callback: Callable[[LogRecord], None],
        admin_config: Mapping[str, Any] | None = None,
        topic_spec: TopicSpec | None = None,
        create_topic_timeout: float = CREATE_TOPIC_TIMEOUT_S,
    ) -> None:
        self.topic = topic
        self._producer_config = dict(producer_config) if producer_config is not None else None
        self._consumer_config = dict(consumer_config)
        self._callback = consumed_callback
        self._admin_config = dict(admin_config) if admin_config is not None else None
        self._topic_spec = topic_spec
        self._create_topic_timeout = create_topic_timeout
        self._producer: Any = None
        self._consumer: Any = None
        self._admin: AdminClient | None = None
        self._partitions: list[int] = []
        self._cond = threading.Condition()
        self._positions: dict[int, int] = {}  # next offset to hand over, per partition (guarded by _cond)
        self._delivered: dict[
            int, int
        ] = {}  # offset after the last record this producer wrote (guarded by _cond)
        self._high_watermarks: dict[int, int] = {}  # as of the reader's last fetch (guarded by _cond)
        self._waiters = 0
        self._stopping = threading.Event()
        self._consume_thread: threading.Thread | None = None
        self._producer_thread: threading.Thread | None = None
        # Kafka's consumers read uncommitted records unless told otherwise (librdkafka's default is the
        # opposite).
        self._consumer_config.setdefault("isolation.level", "read_uncommitted")
        self._read_committed = str(self._consumer_config["isolation.level"]).lower() == "read_committed"

    # -- lifecycle -------------------------------------------------------------------------------------------

    @property
    def partition_count(self) -> int:
        """Number of partitions read (known after :meth:`start`)."""
        return len(self._partitions)

    @property
    def read_only(self) -> bool:
        """Whether the log was created without a producer."""
        return self._producer_config is None

    def start(self) -> None:
        """Create or validate the topic, assign its partitions, read it to the end, start the reader thread.

        Raises:
            ConfigError: the existing topic is not compacted.
            ConnectError: the topic could not be created or its partitions did not appear in time.
        """
        log.info("Starting KafkaBasedLog with topic %s", self.topic)
        self._admin = new_admin(
            self._admin_config if self._admin_config is not None else self._consumer_config
        )
        if self._topic_spec is not None:
            ensure_topic(self._admin, self._topic_spec, self._create_topic_timeout)
        if self._producer_config is not None:
            conf = dict(self._producer_config)
            conf.update(
                {"acks": "all", "max.in.flight.requests.per.connection": 1, "partitioner": "murmur2_random"}
            )
            self._producer = new_producer(conf)
        conf = dict(self._consumer_config)
        conf.update(
            {"enable.auto.commit": False, "auto.offset.reset": "earliest", "enable.partition.eof": False}
        )
        # A broker that holds a fetch for its whole wait time even when records arrive would delay every
        # read-back by that much; the control plane prefers a short wait (a setting given wins).
        conf.setdefault("fetch.wait.max.ms", FETCH_WAIT_MAX_MS)
        # librdkafka wants a group id even for a consumer that only uses assign(); it never joins this group.
        conf.setdefault("group.id", str(conf.get("client.id") or "kcfast-internal") + "-reader")
        self._consumer = new_consumer(conf)
        try:
            self._partitions = self._discover_partitions()
            beginnings = self._beginning_offsets()
            with self._cond:
                self._positions = {p: beginnings.get(p, 0) for p in self._partitions}
            self._consumer.assign(
                [TopicPartition(self.topic, p, -2) for p in self._partitions]
            )  # -2: beginning
            self._stopping.clear()
            self._consume_thread = threading.Thread(
                target=self._consume_loop, name=f"KafkaBasedLog Work Thread - {self.topic}", daemon=True
            )
            self._consume_thread.start()
            if self._producer is not None:
                self._producer_thread = threading.Thread(
                    target=self._producer_loop,
                    name=f"KafkaBasedLog Producer Thread - {self.topic}",
                    daemon=True,
                )
                self._producer_thread.start()
            self.read_to_end()
        except BaseException:
            self.stop()
            raise
        log.info("Started KafkaBasedLog for topic %s", self.topic)

    def stop(self) -> None:
        """Stop reading, deliver what was sent, close the clients; pending :meth:`read_to_end` calls fail."""
        log.info("Stopping KafkaBasedLog for topic %s", self.topic)
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        if self._consume_thread is not None and self._consume_thread is not threading.current_thread():
            self._consume_thread.join()
        self._consume_thread = None
        if self._producer is not None:
            try:
                remaining = self._producer.flush(30.0)
                if remaining:
                    log.warning(
                        "%d records to topic %s were not delivered before stopping", remaining, self.topic
                    )
            except Exception:  # closing quietly, as Kafka does
                log.exception("Failed to flush the producer of topic %s", self.topic)
        if self._producer_thread is not None:
            self._producer_thread.join()
        self._producer_thread = None
        self._producer = None
        if self._consumer is not None:
            try:
                self._consumer.close()
            except Exception:  # closing quietly
                log.exception("Failed to close the consumer of topic %s", self.topic)
        self._consumer = None
        self._admin = None
        log.info("Stopped KafkaBasedLog for topic %s", self.topic)

    def _discover_partitions(self) -> list[int]:
        deadline = time.monotonic() + self._create_topic_timeout
        sleep = 0.1
        while True:
            try:
                metadata = self._consumer.list_topics(
                    self.topic, timeout=max(0.5, min(5.0, deadline - time.monotonic()))
                )
                topic = metadata.topics.get(self.topic)
                if topic is not None and topic.error is None and topic.partitions:
                    return sorted(topic.partitions)
            except KafkaException as exc:
                log.debug("Metadata of topic %s not available yet: %s", self.topic, exc)
            if time.monotonic() + sleep > deadline:
                raise ConnectError(
                    f"Could not look up partition metadata for topic '{self.topic}' in the allotted period. "
                    "This could indicate a connectivity issue, unavailable topic partitions, or if this is "
                    "your first use of the topic it may have taken too long to create."
                )
            time.sleep(sleep)
            sleep = min(2 * sleep, 1.0)

    # -- writing ---------------------------------------------------------------------------------------------

    def send(
        self, key: bytes | None, value: bytes | None, callback: DeliveryCallback | None = None
    ) -> Future[RecordMetadata]:
        """Append a record; ``callback(error, metadata)`` is called once it is acknowledged or has failed.

        Returns:
            A future with the record's :class:`RecordMetadata` (or the delivery error).

        Raises:
            ConnectError: the log is read-only or not started.
        """
        producer = self._producer
        if producer is None:
            if self.read_only:
                raise ConnectError(
                    "This KafkaBasedLog was created in read-only mode and does not support write operations"
                )
            raise ConnectError(f"KafkaBasedLog for topic {self.topic} is not started")
        future: Future[RecordMetadata] = Future()
        future.set_running_or_notify_cancel()

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            error: BaseException | None = None
            metadata: RecordMetadata | None = None
            if err is not None:
                error = kafka_error(err)
                future.set_exception(error)
            else:
                metadata = RecordMetadata(str(msg.topic()), int(msg.partition() or 0), int(msg.offset() or 0))
                with self._cond:
                    if metadata.offset + 1 > self._delivered.get(metadata.partition, 0):
                        self._delivered[metadata.partition] = metadata.offset + 1
                future.set_result(metadata)
            if callback is not None:
                try:
                    callback(error, metadata)
                except Exception:  # a failing callback must not break the delivery of others
                    log.exception("Delivery callback for topic %s failed", self.topic)

        while True:
            try:
                producer.produce(self.topic, key=key, value=value, on_delivery=on_delivery)
                return future
            except BufferError:
                producer.poll(0.1)  # the local queue is full: let deliveries drain
            except KafkaException as exc:
                raise kafka_error(
                    _error_of(exc), f"Failed to send a record to topic {self.topic}: {exc}"
                ) from exc

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every record sent so far is acknowledged (or failed).

        Raises:
            TimeoutError: records are still in flight after ``timeout`` seconds.
        """
        producer = self._producer
        if producer is None:
            return
        remaining = producer.flush(-1 if timeout is None else timeout)
        if remaining:
            raise TimeoutError(f"{remaining} records to topic {self.topic} were not acknowledged in time")

    def _producer_loop(self) -> None:
        producer = self._producer
        while not self._stopping.is_set():
            try:
                producer.poll(_POLL_TIMEOUT_S)
            except Exception:  # keep serving delivery reports
                log.exception("Unexpected exception serving deliveries of topic %s", self.topic)

    # -- reading ---------------------------------------------------------------------------------------------

    def read_to_end(self, timeout: float | None = None) -> None:
        """Flush, then wait until every record that was in the topic at call time was handed to the callback.

        Raises:
            TimeoutError: not caught up within ``timeout`` seconds.
            ConnectError: the log is stopped (or not started), or end offsets could not be read.
        """
        if threading.current_thread() is self._consume_thread:
            raise ConnectError("read_to_end() cannot be called from the consumed-record callback")
        if self._consumer is None or self._stopping.is_set():
            raise ConnectError(f"KafkaBasedLog for topic {self.topic} is not running")
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        self.flush(left())
        ends = self._end_offsets(left())
        with self._cond:
            self._waiters += 1
            try:
                while True:
                    if self._stopping.is_set():
                        raise ConnectError(f"KafkaBasedLog for topic {self.topic} was stopped")
                    behind = {p: e for p, e in ends.items() if self._positions.get(p, 0) < e}
                    if not behind:
                        return
                    remaining = left()
                    if remaining is not None and remaining <= 0:
                        raise TimeoutError(
                            f"Timed out reading topic {self.topic} to its end; behind on partitions "
                            f"{sorted(behind)}"
                        )
                    self._cond.wait(_POLL_TIMEOUT_S if remaining is None else min(remaining, _POLL_TIMEOUT_S))
            finally:
                self._waiters -= 1

    def _end_offsets(self, timeout: float | None) -> dict[int, int]:
        """The end offset of every partition now (a lower bound is fine: each source used is one)."""
        request_timeout = 30.0 if timeout is None else max(0.1, timeout)
        admin = self._admin
        if admin is None:  # pragma: no cover - start() always creates one
            raise ConnectError(f"KafkaBasedLog for topic {self.topic} is not started")
        isolation = IsolationLevel.READ_COMMITTED if self._read_committed else IsolationLevel.READ_UNCOMMITTED
        ends: dict[int, int] = {}
        try:
            futures = admin.list_offsets(
                {TopicPartition(self.topic, p): OffsetSpec.latest() for p in self._partitions},  # type: ignore[no-untyped-call]
                isolation_level=isolation,
                request_timeout=request_timeout,
            )
            for tp, future in futures.items():
                ends[tp.partition] = int(future.result(timeout=request_timeout + 5).offset)
        except KafkaException as exc:
            raise kafka_error(
                _error_of(exc), f"Failed to read the end offsets of topic {self.topic}: {exc}"
            ) from exc
        except TimeoutError as exc:
            raise TimeoutError(f"Timed out reading the end offsets of topic {self.topic}") from exc
        with self._cond:
            # Some brokers report an end offset short of records written in one batch. The high watermark of
            # the reader's last fetch and the offsets of this log's own acknowledged writes are end offsets
            # from before this call too, so the largest of them is the target.
            for source in (self._high_watermarks, self._delivered):
                for p, end in source.items():
                    if end > ends.get(p, 0):
                        ends[p] = end
        return ends

    def _beginning_offsets(self) -> dict[int, int]:
        admin = self._admin
        if admin is None:  # pragma: no cover - start() always creates one
            return {}
        try:
            specs = {
                TopicPartition(self.topic, p): OffsetSpec.earliest()  # type: ignore[no-untyped-call]
                for p in self._partitions
            }
            futures = admin.list_offsets(specs, request_timeout=self._create_topic_timeout)
            return {tp.partition: max(0, int(f.result().offset)) for tp, f in futures.items()}
        except KafkaException as exc:
            log.debug("Could not read the beginning offsets of %s: %s", self.topic, exc)
            return {}

    def _consume_loop(self) -> None:
        consumer = self._consumer
        while not self._stopping.is_set():
            try:
                first = consumer.poll(_POLL_TIMEOUT_S)
                batch = [first] if first is not None else []
                if first is not None:
                    batch.extend(consumer.consume(_BATCH_SIZE, timeout=0))
                self._handle(batch)
                high_watermarks = self._read_high_watermarks()
                with self._cond:
                    self._high_watermarks.update(high_watermarks)
                    if self._waiters:
                        self._refresh_positions()
                    self._cond.notify_all()
            except Exception:  # the reader keeps going, as Kafka's work thread does
                if self._stopping.is_set():
                    break
                log.exception("Unexpected exception reading topic %s", self.topic)
                time.sleep(_POLL_TIMEOUT_S)

    def _handle(self, batch: Iterable[Message]) -> None:
        for msg in batch:
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    log.error("Error polling topic %s: %s", self.topic, err)
                continue
            record = LogRecord(
                str(msg.topic()),
                int(msg.partition() or 0),
                int(msg.offset() or 0),
                msg.key(),
                msg.value(),
                msg.timestamp()[1],
            )
            try:
                self._callback(record)
            except Exception:  # one bad record must not stop the reader
                log.exception(
                    "Unexpected exception handling record %s-%d@%d",
                    record.topic,
                    record.partition,
                    record.offset,
                )
            with self._cond:
                if record.offset + 1 > self._positions.get(record.partition, 0):
                    self._positions[record.partition] = record.offset + 1

    def _read_high_watermarks(self) -> dict[int, int]:
        """The high watermarks of the consumer's last fetch responses (local, no request)."""
        result: dict[int, int] = {}
        for p in self._partitions:
            try:
                _, high = self._consumer.get_watermark_offsets(TopicPartition(self.topic, p), cached=True)
            except KafkaException:
                continue
            if high is not None and high >= 0:
                result[p] = int(high)
        return result

    def _refresh_positions(self) -> None:
        """Take the consumer's own positions too: they move past records a reader never sees (txn markers)."""
        try:
            positions = self._consumer.position([TopicPartition(self.topic, p) for p in self._partitions])
        except KafkaException:
            return
        for tp in positions:
            if tp.offset >= 0 and tp.offset > self._positions.get(tp.partition, 0):
                self._positions[tp.partition] = tp.offset


# -- worker configuration helpers ----------------------------------------------------------------------------

_CONNECTION_KEYS = frozenset(
    {
        "bootstrap.servers",
        "security.protocol",
        "client.rack",
        "metadata.max.age.ms",
        "request.timeout.ms",
        "retry.backoff.ms",
        "socket.connection.setup.timeout.ms",
        "connections.max.idle.ms",
    }
)
_CONNECTION_PREFIXES = ("ssl.", "sasl.")


def internal_client_config(originals: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of a worker's internal-topic clients: how to reach and authenticate with the brokers.

    Kafka gives these clients all the worker's settings; only the connection-related ones mean anything to
    a client, so the others are left out here rather than warned about.
    """
    return {
        k: v
        for k, v in originals.items()
        if v is not None and (k in _CONNECTION_KEYS or k.startswith(_CONNECTION_PREFIXES))
    }


def client_id_base(group_id: str | None, client_id: str | None = None) -> str:
    """``<group.id>[-<client.id>]-``: the prefix of the worker's internal client ids (``clientIdBase``)."""
    base = group_id or "connect"
    if client_id and client_id.strip():
        base += "-" + client_id
    return base + "-"


def internal_topic_settings(originals: Mapping[str, Any], prefix: str) -> dict[str, str]:
    """The topic configs given as ``<prefix><config>`` (``config.storage.`` ...), minus the worker's own keys.

    ``topic``, ``partitions`` and ``replication.factor`` are the worker's settings, and ``cleanup.policy`` is
    always ``compact`` (a given one is ignored with a warning), as in Kafka.
    """
    result = {
        k[len(prefix) :]: str(v) for k, v in originals.items() if k.startswith(prefix) and v is not None
    }
    if prefix == "config.storage." and "partitions" in result:
        log.warning(
            "Ignoring '%spartitions=%s' setting, since config topic partitions is always 1",
            prefix,
            result["partitions"],
        )
    removed = result.pop("cleanup.policy", None)
    if removed is not None:
        log.warning(
            "Ignoring '%scleanup.policy=%s' setting, since compaction is always used", prefix, removed
        )
    for key in ("topic", "replication.factor", "partitions"):
        result.pop(key, None)
    return result


def internal_log(
    spec: TopicSpec,
    client_config: Mapping[str, Any],
    client_id: str,
    consumed_callback: Callable[[LogRecord], None],
    producer_overrides: Mapping[str, Any] | None = None,
    consumer_overrides: Mapping[str, Any] | None = None,
    read_only: bool = False,
) -> KafkaBasedLog:
    """The :class:`KafkaBasedLog` of an internal topic, with the client settings Kafka's stores use.

    The producer gets ``delivery.timeout.ms`` = ``Integer.MAX_VALUE`` and ``enable.idempotence=false`` before
    ``producer_overrides``; every client gets ``client.id`` = ``client_id``.
    """
    base = dict(client_config)
    base["client.id"] = client_id
    producer: dict[str, Any] | None = None
    if not read_only:
        producer = dict(base)
        producer.update({"delivery.timeout.ms": INT_MAX, "enable.idempotence": False})
        producer.update(producer_overrides or {})
    consumer = dict(base)
    consumer.update(consumer_overrides or {})
    return KafkaBasedLog(spec.name, producer, consumer, consumed_callback, admin_config=base, topic_spec=spec)
