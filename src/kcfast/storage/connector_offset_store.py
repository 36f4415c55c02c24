"""Per-connector offsets topics (``offsets.storage.topic``): the offset store of a source connector.

A source connector may name its own offsets topic. In distributed mode its connector instance, its tasks and
the offsets REST API then use a :class:`ConnectorOffsetBackingStore` that combines two stores, as Kafka
Connect does:

- the connector's store (its own topic) is the primary one, the worker's store (``offset.storage.topic``) the
  secondary one;
- reads take the connector store's value of a key and fall back on the worker store's value when the connector
  store has none, so offsets written before the topic was set are still found;
- writes go to the connector store; once that succeeded, the non-null offsets are copied to the worker store,
  and a failure of that copy is only logged. When the write holds tombstones, they are first written to the
  worker store, and a failure there fails the whole write before anything reaches the connector store: a
  tombstone that reached only the connector store would let the fallback read the old worker value again;
- the partitions of the connector are those found in either store.

In standalone mode (and when the topic is the worker's own one) the key has no effect: only the worker
store is used. Connectors that name the same topic share one store (:class:`SharedOffsetStores`), started
by its first user and stopped when its last user stops. :class:`SourceOffsetStores` decides which store a
connector gets.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kcfast.errors import ConnectError
from kcfast.storage.offsets import Callback, OffsetBackingStore

if TYPE_CHECKING:
    from kcfast.config import WorkerConfig

__all__ = [
    "OFFSETS_TOPIC_CONFIG",
    "ConnectorOffsetBackingStore",
    "SharedOffsetStores",
    "SourceOffsetStores",
]

log = logging.getLogger(__name__)

#: The source connector setting that names the connector's own offsets topic.
OFFSETS_TOPIC_CONFIG = "offsets.storage.topic"

#: Producer override settings of a connector that decide on which cluster (and how) its topic is reached.
_CONNECTION_KEYS = ("bootstrap.servers", "security.protocol", "client.dns.lookup")
_CONNECTION_PREFIXES = ("ssl.", "sasl.")


def _partition_key(partition: Mapping[str, Any]) -> str:
    """Equal for partitions Java's ``Map.equals`` finds equal (key order ignored; 1, 1.0 and true differ)."""
    return json.dumps(partition, sort_keys=True, default=repr)


def _done(error: BaseException | None) -> Future[None]:
    future: Future[None] = Future()
    future.set_running_or_notify_cancel()
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
    return future


class ConnectorOffsetBackingStore(OffsetBackingStore):
    """The offset store of one source connector or task: its own topic's store, the worker's store, or both.

    :meth:`start` and :meth:`stop` start and stop only the connector store; the worker store belongs to the
    worker, which starts it before and stops it after every connector. Thread-safe when its parts are.

    Args:
        worker_store: the worker's store, or ``None``.
        connector_store: the store of the connector's own topic, or ``None``.
        primary_offsets_topic: the topic writes go to first (for messages; ``None`` if the worker has none).
        connector_name: the connector, for messages.

    Raises:
        ValueError: neither store was given.
    """

    def __init__(
        self,
        worker_store: OffsetBackingStore | None,
        connector_store: OffsetBackingStore | None,
        primary_offsets_topic: str | None = None,
        connector_name: str = "",
    ) -> None:
        if worker_store is None and connector_store is None:
            raise ValueError("At least one non-null offset store must be provided")
        self._worker = worker_store
        self._connector = connector_store
        self._topic = primary_offsets_topic
        self._name = connector_name

    @classmethod
    def with_connector_and_worker_stores(
        cls,
        worker_store: OffsetBackingStore,
        connector_store: OffsetBackingStore,
        connector_offsets_topic: str,
        connector_name: str = "",
    ) -> ConnectorOffsetBackingStore:
        """The connector store as the primary store and the worker store as the secondary one."""
        return cls(worker_store, connector_store, connector_offsets_topic, connector_name)

    @classmethod
    def with_only_worker_store(
        cls,
        worker_store: OffsetBackingStore,
        worker_offsets_topic: str | None = None,
        connector_name: str = "",
    ) -> ConnectorOffsetBackingStore:
        """Only the worker store (no ``offsets.storage.topic``, or standalone mode)."""
        return cls(worker_store, None, worker_offsets_topic, connector_name)

    @classmethod
    def with_only_connector_store(
        cls,
        connector_store: OffsetBackingStore,
        connector_offsets_topic: str,
        connector_name: str = "",
    ) -> ConnectorOffsetBackingStore:
        """Only the connector store."""
        return cls(None, connector_store, connector_offsets_topic, connector_name)

    @property
    def primary_offsets_topic(self) -> str | None:
        """The topic writes go to first."""
        return self._topic

    @property
    def has_connector_specific_store(self) -> bool:
        """Whether a store of the connector's own topic is used."""
        return self._connector is not None

    @property
    def has_worker_global_store(self) -> bool:
        """Whether the worker's store is used."""
        return self._worker is not None

    def start(self) -> None:
        """Start the connector store (the worker store is already started by the worker)."""
        if self._connector is not None:
            self._connector.start()

    def stop(self) -> None:
        """Stop the connector store (the worker store goes on serving other connectors)."""
        if self._connector is not None:
            self._connector.stop()

    def get(self, keys: Iterable[bytes | None]) -> dict[bytes | None, bytes | None]:
        """The connector store's value of each key, else the worker store's (``None`` if neither has one)."""
        wanted = list(keys)
        result: dict[bytes | None, bytes | None] = dict.fromkeys(wanted)
        if self._worker is not None:
            result.update(self._worker.get(wanted))
        if self._connector is not None:
            for key, value in self._connector.get(wanted).items():
                if value is not None:
                    result[key] = value
        return result

    def set(
        self, values: Mapping[bytes | None, bytes | None], callback: Callback | None = None
    ) -> Future[None]:
        """Write ``values`` by the rules of the module docstring; ``callback(error, None)`` gets the outcome.

        Returns:
            A future that completes when the primary write did (or the tombstone write to the worker store
            failed), with the error that ``callback`` is given.
        """
        values = dict(values)
        if self._connector is None:
            assert self._worker is not None
            return self._worker.set(values, callback)
        primary, secondary = self._connector, self._worker
        regular = {k: v for k, v in values.items() if v is not None}
        tombstones = {k: v for k, v in values.items() if v is None}
        future: Future[None] = Future()
        future.set_running_or_notify_cancel()

        def finish(error: BaseException | None) -> None:
            if callback is not None:
                try:
                    callback(error, None)
                except Exception:  # the future still completes
                    log.exception("[%s] Offset store completion callback failed", self._name)
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

        if secondary is not None and tombstones:

            def after_tombstones(error: BaseException | None, _result: Any) -> None:
                if error is not None:
                    log.debug("[%s] Not writing offsets to %s: the tombstones could not be written to the "
                              "worker's offsets store", self._name, self._topic, exc_info=error)
                    finish(error)
                    return
                self._set_primary_then_secondary(primary, secondary, values, regular, finish)

            self._guarded_set(secondary, tombstones, after_tombstones)
        else:
            self._set_primary_then_secondary(primary, secondary, values, regular, finish)
        return future

    def _set_primary_then_secondary(
        self,
        primary: OffsetBackingStore,
        secondary: OffsetBackingStore | None,
        values: dict[bytes | None, bytes | None],
        regular: dict[bytes | None, bytes | None],
        finish: Callable[[BaseException | None], None],
    ) -> None:
        def after_primary(error: BaseException | None, _result: Any) -> None:
            if error is None and secondary is not None and regular:
                try:
                    secondary.set(regular, self._log_secondary)
                except Exception as exc:  # noqa: BLE001 - a failed copy never fails the write
                    log.warning("[%s] Failed to write offsets to secondary backing store", self._name,
                                exc_info=exc)
            finish(error)

        self._guarded_set(primary, values, after_primary)

    @staticmethod
    def _guarded_set(
        store: OffsetBackingStore, values: dict[bytes | None, bytes | None], callback: Callback
    ) -> None:
        """``store.set(values, callback)``, with an exception raised by the call reported to ``callback``."""
        try:
            store.set(values, callback)
        except Exception as exc:  # noqa: BLE001 - reported like a failed write
            callback(exc, None)

    def _log_secondary(self, error: BaseException | None, _result: Any) -> None:
        if error is not None:
            log.warning("[%s] Failed to write offsets to secondary backing store", self._name, exc_info=error)
        else:
            log.debug("[%s] Successfully flushed offsets to secondary backing store", self._name)

    def connector_partitions(self, connector_name: str) -> list[dict[str, Any]]:
        """The partitions of ``connector_name`` with an offset in either store, without duplicates."""
        seen: dict[str, dict[str, Any]] = {}
        for store in (self._worker, self._connector):
            if store is None:
                continue
            for partition in store.connector_partitions(connector_name):
                seen.setdefault(_partition_key(partition), partition)
        return list(seen.values())


@dataclass
class _Shared:
    store: OffsetBackingStore
    users: int = 0
    started: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Lease(OffsetBackingStore):
    """One user's handle on a shared store: :meth:`start` takes a share, :meth:`stop` gives it back."""

    def __init__(self, owner: SharedOffsetStores, key: tuple[Any, ...], topic: str) -> None:
        self._owner = owner
        self._key = key
        self.topic = topic
        self._store: OffsetBackingStore | None = None
        self._lock = threading.Lock()

    def _current(self) -> OffsetBackingStore:
        store = self._store
        if store is None:
            raise ConnectError(f"The offset store of topic {self.topic} is not started")
        return store

    def start(self) -> None:
        with self._lock:
            if self._store is None:
                self._store = self._owner._retain(self._key)

    def stop(self) -> None:
        with self._lock:
            store, self._store = self._store, None
        if store is not None:
            self._owner._release(self._key, store)

    def get(self, keys: Iterable[bytes | None]) -> dict[bytes | None, bytes | None]:
        return self._current().get(keys)

    def set(
        self, values: Mapping[bytes | None, bytes | None], callback: Callback | None = None
    ) -> Future[None]:
        return self._current().set(values, callback)

    def connector_partitions(self, connector_name: str) -> list[dict[str, Any]]:
        return self._current().connector_partitions(connector_name)


class SharedOffsetStores:
    """The offset stores of connectors' own topics, one per topic (and cluster), shared by all their users.

    :meth:`lease` hands out a store whose ``start`` starts the shared store if nobody uses it yet (creating
    the topic and reading it) and whose ``stop`` stops it when its last user stops. Thread-safe.

    Args:
        factory: builds the store of ``(topic, client_config)``.
    """

    def __init__(self, factory: Callable[[str, Mapping[str, Any]], OffsetBackingStore]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._stores: dict[tuple[Any, ...], _Shared] = {}
        self._configs: dict[tuple[Any, ...], tuple[str, dict[str, Any]]] = {}

    @staticmethod
    def _key(topic: str, client_config: Mapping[str, Any]) -> tuple[Any, ...]:
        return (topic, tuple(sorted((str(k), str(v)) for k, v in client_config.items())))

    def lease(self, topic: str, client_config: Mapping[str, Any] | None = None) -> OffsetBackingStore:
        """A not yet started handle on the store of ``topic`` on the cluster ``client_config`` reaches."""
        config = dict(client_config or {})
        key = self._key(topic, config)
        with self._lock:
            self._configs.setdefault(key, (topic, config))
        return _Lease(self, key, topic)

    def users(self, topic: str) -> int:
        """How many started handles use a store of ``topic``."""
        with self._lock:
            return sum(s.users for k, s in self._stores.items() if k[0] == topic and s.started)

    def _retain(self, key: tuple[Any, ...]) -> OffsetBackingStore:
        with self._lock:
            shared = self._stores.get(key)
            if shared is None:
                topic, config = self._configs[key]
                shared = self._stores[key] = _Shared(self._factory(topic, config))
            shared.users += 1
        with shared.lock:
            if not shared.started:
                try:
                    shared.store.start()
                except BaseException:
                    with self._lock:
                        shared.users -= 1
                        if shared.users == 0 and self._stores.get(key) is shared:
                            del self._stores[key]
                    raise
                shared.started = True
        return shared.store

    def _release(self, key: tuple[Any, ...], store: OffsetBackingStore) -> None:
        with self._lock:
            shared = self._stores.get(key)
            if shared is None or shared.store is not store:
                return
            shared.users -= 1
            if shared.users > 0:
                return
            del self._stores[key]
        with shared.lock:
            if shared.started:
                shared.started = False
                try:
                    shared.store.stop()
                except Exception:
                    log.exception("Failed to stop the offset store of topic %s", key[0])

    def close(self) -> None:
        """Stop every store still in use (the worker is stopping)."""
        with self._lock:
            stores, self._stores = list(self._stores.items()), {}
        for key, shared in stores:
            with shared.lock:
                if shared.started:
                    shared.started = False
                    try:
                        shared.store.stop()
                    except Exception:
                        log.exception("Failed to stop the offset store of topic %s", key[0])


def _servers(value: Any) -> frozenset[str]:
    """A ``bootstrap.servers`` list as a set (Kafka compares the worker's and the producer's this way)."""
    return frozenset(s.strip() for s in str(value or "localhost:9092").split(",") if s.strip())


def _connection_settings(props: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in props.items()
        if v is not None and (k in _CONNECTION_KEYS or k.startswith(_CONNECTION_PREFIXES))
    }


class SourceOffsetStores:
    """Which offset store each source connector instance, task and offsets request uses (Kafka's
    ``offsetStoreForRegularSourceConnector`` / ``offsetStoreForRegularSourceTask``).

    A connector gets the combined store of its own topic and the worker's when connector offsets topics are
    permitted (a distributed worker), it sets ``offsets.storage.topic``, and that topic is not the worker's
    own topic on the worker's cluster; otherwise it gets the worker store alone. The connector's topic lives
    on the cluster its producer writes to (``producer.override.bootstrap.servers`` and security settings,
    else the worker's). Stores are opened per owner (a connector name, a task id) and closed with it.
    Thread-safe.

    Args:
        worker_config: the worker's configuration (a :class:`~kcfast.config.WorkerConfig` or its properties).
        worker_store: the worker's offset store.
        permitted: whether connectors may use their own topic; default: the worker is distributed.
        factory: builds the store of ``(topic, client_config)``; default: a Kafka topic store configured from
            the worker's ``offset.storage.*`` settings.
    """

    def __init__(
        self,
        worker_config: WorkerConfig | Mapping[str, Any],
        worker_store: OffsetBackingStore,
        permitted: bool | None = None,
        factory: Callable[[str, Mapping[str, Any]], OffsetBackingStore] | None = None,
    ) -> None:
        self._config = worker_config
        self._props: dict[str, Any] = dict(
            worker_config.originals() if hasattr(worker_config, "originals") else worker_config
        )
        self._worker_store = worker_store
        if permitted is None:
            permitted = bool(getattr(worker_config, "distributed", False))
        self.permitted = permitted
        self.shared = SharedOffsetStores(factory or self._kafka_store)
        self._open: dict[Any, ConnectorOffsetBackingStore] = {}
        self._lock = threading.Lock()

    def _kafka_store(self, topic: str, client_config: Mapping[str, Any]) -> OffsetBackingStore:
        from kcfast.config import WorkerConfig
        from kcfast.storage.kafka_offsets import KafkaOffsetBackingStore

        config = self._config if isinstance(self._config, WorkerConfig) else WorkerConfig(self._props, True)
        return KafkaOffsetBackingStore.from_worker_config(config, topic=topic, client_config=client_config)

    @property
    def worker_offsets_topic(self) -> str | None:
        """The worker's ``offset.storage.topic`` (``None`` in standalone mode)."""
        topic = self._props.get("offset.storage.topic")
        return str(topic) if topic else None

    def connector_topic(self, connector_props: Mapping[str, str]) -> str | None:
        """The connector's own offsets topic, or ``None`` if it uses the worker store alone."""
        topic = (connector_props.get(OFFSETS_TOPIC_CONFIG) or "").strip()
        if not topic:
            return None
        if not self.permitted:
            log.debug("Ignoring %s=%s: per-connector offsets topics are used only in distributed mode",
                      OFFSETS_TOPIC_CONFIG, topic)
            return None
        ours = _servers(self._client_config(connector_props).get("bootstrap.servers"))
        if topic == self.worker_offsets_topic and ours == _servers(self._props.get("bootstrap.servers")):
            return None
        return topic

    def _client_config(self, connector_props: Mapping[str, str]) -> dict[str, Any]:
        config = _connection_settings(self._props)
        config.update(_connection_settings(
            {k[len("producer.override."):]: v for k, v in connector_props.items()
             if k.startswith("producer.override.")}
        ))
        return config

    def store_for(self, connector: str, connector_props: Mapping[str, str]) -> ConnectorOffsetBackingStore:
        """A new, not started store for ``connector``: its own and the worker's, or the worker's alone."""
        topic = self.connector_topic(connector_props)
        if topic is None:
            return ConnectorOffsetBackingStore.with_only_worker_store(
                self._worker_store, self.worker_offsets_topic, connector)
        lease = self.shared.lease(topic, self._client_config(connector_props))
        return ConnectorOffsetBackingStore.with_connector_and_worker_stores(
            self._worker_store, lease, topic, connector)

    def open(
        self, owner: Any, connector: str, connector_props: Mapping[str, str]
    ) -> ConnectorOffsetBackingStore:
        """The started store of ``owner`` (a connector name or task id), replacing one it still held.

        Raises:
            ConnectError: the connector's topic could not be created or read.
        """
        self.close(owner)
        store = self.store_for(connector, connector_props)
        store.start()
        with self._lock:
            previous = self._open.pop(owner, None)
            self._open[owner] = store
        if previous is not None:
            previous.stop()
        return store

    def held(self, owner: Any) -> ConnectorOffsetBackingStore | None:
        """The store ``owner`` holds now, if any."""
        with self._lock:
            return self._open.get(owner)

    def close(self, owner: Any, only: ConnectorOffsetBackingStore | None = None) -> None:
        """Stop the store ``owner`` holds, if any (and if it is ``only``, when given: a late close of a
        connector that took long to stop leaves the store of its newer instance alone)."""
        with self._lock:
            store = self._open.get(owner)
            if store is None or (only is not None and store is not only):
                return
            del self._open[owner]
        if store is not None:
            try:
                store.stop()
            except Exception:
                log.exception("Failed to stop the offset store of %s", owner)

    @contextlib.contextmanager
    def opened(
        self, connector: str, connector_props: Mapping[str, str]
    ) -> Iterator[ConnectorOffsetBackingStore]:
        """A started store for one offsets request, stopped on exit."""
        store = self.store_for(connector, connector_props)
        store.start()
        try:
            yield store
        finally:
            store.stop()

    def close_all(self) -> None:
        """Stop every store still open (the worker is stopping)."""
        with self._lock:
            owners = list(self._open)
        for owner in owners:
            self.close(owner)
        self.shared.close()
