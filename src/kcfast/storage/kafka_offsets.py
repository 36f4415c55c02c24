"""Source offsets in a Kafka topic (Kafka's ``KafkaOffsetBackingStore``, spec 3.2).

Keys and values are the offset bytes of :mod:`kcfast.storage.offsets`, written as they are: the key
``["<connector>",{<partition>}]`` lands on the partition Java's murmur2 partitioner picks for it, and a
``None`` value is a tombstone. The store keeps the latest value of every key read from the topic; :meth:`get`
reads the topic to its end first, so it sees every write acknowledged before the call, from any worker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from kcfast.errors import ConfigError, ConnectError
from kcfast.kafka.log import (
    LogFactory,
    LogRecord,
    RecordLog,
    RecordMetadata,
    TopicSpec,
    client_id_base,
    internal_client_config,
    internal_log,
    internal_topic_settings,
)
from kcfast.storage.offsets import Callback, OffsetBackingStore, PartitionIndex

if TYPE_CHECKING:
    from kcfast.config import WorkerConfig

__all__ = ["KafkaOffsetBackingStore"]

log = logging.getLogger(__name__)

#: Seconds :meth:`KafkaOffsetBackingStore.get` waits to catch up with the topic.
READ_TIMEOUT_S = 30.0


class KafkaOffsetBackingStore(OffsetBackingStore):
    """An :class:`OffsetBackingStore` on a compacted topic, shared by the workers of a cluster.

    Thread-safe. The topic is created on :meth:`start` if missing (compacted, ``partitions`` partitions) or
    checked to be compacted.

    Args:
        topic: the offsets topic (``offset.storage.topic``, or a connector's ``offsets.storage.topic``).
        client_config: how to reach the brokers (``bootstrap.servers``, security settings).
        partitions: partitions when creating the topic.
        replication_factor: replication factor when creating the topic (-1: the broker's default).
        topic_settings: other topic configs when creating it (``offset.storage.*``).
        client_id: client id of the store's producer, consumer and admin client.
        exactly_once: read only committed records (``exactly.once.source.support=enabled``, and by default
            for a connector's own topic).
        log_factory: builds the log from the record callback instead of a :class:`KafkaBasedLog` (tests).
        config_key: the setting that names the topic, for error messages (``offsets.storage.topic`` for a
            connector's own topic).
    """

    def __init__(
        self,
        topic: str,
        client_config: Mapping[str, Any],
        partitions: int = 25,
        replication_factor: int = 3,
        topic_settings: Mapping[str, str] | None = None,
        client_id: str = "connect-offsets",
        exactly_once: bool = False,
        log_factory: LogFactory | None = None,
        config_key: str = "offset.storage.topic",
    ) -> None:
        if not topic or not topic.strip():
            raise ConfigError("Offset storage topic must be specified")
        self.topic = topic
        self._lock = threading.Lock()
        self._data: dict[bytes | None, bytes] = {}
        self._index = PartitionIndex()
        if log_factory is not None:
            self._log: RecordLog = log_factory(self._on_record)
        else:
            spec = TopicSpec(
                topic,
                partitions,
                replication_factor,
                dict(topic_settings or {}),
                config_key,
                "source connector offsets",
            )
            consumer = {"isolation.level": "read_committed"} if exactly_once else None
            self._log = internal_log(
                spec, client_config, client_id, self._on_record, consumer_overrides=consumer
            )

    @classmethod
    def from_worker_config(
        cls,
        config: WorkerConfig,
        topic: str | None = None,
        client_config: Mapping[str, Any] | None = None,
    ) -> KafkaOffsetBackingStore:
        """The worker's offsets store (``offset.storage.*``), or one on a connector's own ``topic``.

        A connector's topic is created, when missing, with the worker's ``offset.storage.partitions``,
        ``offset.storage.replication.factor`` and other ``offset.storage.*`` topic settings, compacted, as
        Kafka does; its consumer reads only committed records (Kafka's default for a connector's offsets
        consumer) and its client id is ``<group.id>[-<client.id>]-offsets-<topic>``.

        Args:
            config: the distributed worker's configuration.
            topic: a connector's ``offsets.storage.topic``; ``None`` for the worker's own topic.
            client_config: how to reach the cluster holding ``topic`` (default: the worker's settings).
        """
        originals = config.originals()
        base = client_id_base(config.get_string("group.id"), config.get_string("client.id"))
        worker_topic = str(config.get_string("offset.storage.topic"))
        own = topic is not None
        exactly_once = str(config.get_string("exactly.once.source.support")).lower() == "enabled"
        return cls(
            topic if own else worker_topic,
            dict(client_config) if client_config is not None else internal_client_config(originals),
            partitions=int(config.get_int("offset.storage.partitions") or 25),
            replication_factor=int(config.get_short("offset.storage.replication.factor") or 3),
            topic_settings=internal_topic_settings(originals, "offset.storage."),
            client_id=base + (f"offsets-{topic}" if own else "offsets"),
            exactly_once=exactly_once or own,
            config_key="offsets.storage.topic" if own else "offset.storage.topic",
        )

    def start(self) -> None:
        """Create or validate the topic and read it to the end.

        Raises:
            ConfigError: the topic exists and is not compacted.
            ConnectError: the topic could not be created or read.
        """
        log.info("Starting KafkaOffsetBackingStore")
        self._log.start()
        log.info("Finished reading offsets topic and starting KafkaOffsetBackingStore")

    def stop(self) -> None:
        """Deliver pending writes and stop."""
        log.info("Stopping KafkaOffsetBackingStore")
        self._log.stop()
        log.info("Stopped KafkaOffsetBackingStore")

    def get(self, keys: Iterable[bytes | None]) -> dict[bytes | None, bytes | None]:
        """The values of ``keys`` once the topic is read to its end (``None`` for a missing key).

        Raises:
            ConnectError: the topic could not be read to its end in time.
        """
        wanted = list(keys)
        try:
            self._log.read_to_end(READ_TIMEOUT_S)
        except TimeoutError as exc:
            raise ConnectError(f"Timed out reading offsets topic {self.topic} to its end") from exc
        with self._lock:
            return {key: self._data.get(key) for key in wanted}

    def set(
        self, values: Mapping[bytes | None, bytes | None], callback: Callback | None = None
    ) -> Future[None]:
        """Write ``values``; ``callback(error, None)`` runs once all are acknowledged or one has failed.

        Returns:
            A future that completes at the same moment (with the first error, if any).
        """
        items = list(values.items())
        future: Future[None] = Future()
        future.set_running_or_notify_cancel()
        state = {"left": len(items), "done": False}
        guard = threading.Lock()

        def finish(error: BaseException | None) -> None:
            if callback is not None:
                try:
                    callback(error, None)
                except Exception:  # the future still completes
                    log.exception("Offset store completion callback failed")
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

        def on_delivery(error: BaseException | None, _metadata: RecordMetadata | None) -> None:
            with guard:
                if state["done"]:
                    return
                if error is None:
                    state["left"] -= 1
                    if state["left"] > 0:
                        return
                state["done"] = True
            finish(error)

        if not items:
            state["done"] = True
            finish(None)
            return future
        for key, value in items:
            try:
                self._log.send(key, value, on_delivery)
            except ConnectError as exc:
                on_delivery(exc, None)
                break
        return future

    def connector_partitions(self, connector_name: str) -> list[dict[str, Any]]:
        """The partitions of ``connector_name`` with a non-null offset, as read so far."""
        with self._lock:
            return self._index.partitions(connector_name)

    def _on_record(self, record: LogRecord) -> None:
        with self._lock:
            self._index.process(record.key, record.value)
            if record.value is None:
                self._data.pop(record.key, None)
            else:
                self._data[record.key] = record.value
