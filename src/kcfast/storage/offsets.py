"""Source offsets: their bytes, the backing-store interface, and the per-connector reader and writer.

Source connectors report offsets as maps (``{"position": 12}``) for source partitions (``{"filename": "a"}``).
The framework stores them in an :class:`OffsetBackingStore` as bytes, exactly as Kafka Connect does (spec 3.2):

- key: ``["<connector name>",{<partition>}]``, value: ``{<offset>}``, both written by Kafka's internal
  ``JsonConverter`` with ``schemas.enable=false`` (compact JSON); a ``None`` value is a tombstone.
- Keys are compared byte for byte, so a lookup re-serializes the requested partition the same way.
- Partition and offset maps have string keys and primitive values; integers read back as ``int``.

:class:`OffsetStorageReaderImpl` is what a source task's context hands out; :class:`OffsetStorageWriter` buffers
offsets and flushes snapshots of them (``begin_flush`` / ``do_flush`` / ``cancel_flush``), as Kafka's classes of
the same names do.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from typing import Any

from kcfast.api.task import OffsetStorageReader
from kcfast.errors import ConnectError, DataError

__all__ = [
    "Callback",
    "OffsetBackingStore",
    "OffsetStorageReaderImpl",
    "OffsetStorageWriter",
    "PartitionIndex",
    "connector_offsets",
    "deserialize_offset_key",
    "deserialize_offset_value",
    "parse_partition_key",
    "serialize_offset_key",
    "serialize_offset_value",
    "validate_format",
]

log = logging.getLogger(__name__)

#: Completion callback of an asynchronous store operation: ``callback(error, result)``.
Callback = Callable[[BaseException | None, Any], None]

_INTERNAL_CONVERTER_CONFIG = {"schemas.enable": "false"}
_converters = threading.local()


def _internal_converter(is_key: bool) -> Any:
    """The internal JsonConverter of this thread (converters are not shared between threads)."""
    attr = "key" if is_key else "value"
    converter = getattr(_converters, attr, None)
    if converter is None:
        from kcfast.converters import JsonConverter

        converter = JsonConverter()
        converter.configure(dict(_INTERNAL_CONVERTER_CONFIG), is_key)
        setattr(_converters, attr, converter)
    return converter


def serialize_offset_key(connector_name: str, partition: Mapping[str, Any] | None) -> bytes:
    """The offsets-topic key bytes of a connector's source partition: ``["<name>",{<partition>}]``."""
    plain = None if partition is None else dict(partition)  # any Mapping the core hands over serializes as a map
    data = _internal_converter(True).from_connect_data(connector_name, None, [connector_name, plain])
    if data is None:  # pragma: no cover - a non-null list always serializes to bytes
        raise DataError(f"Offset key of connector {connector_name} serialized to null")
    return bytes(data)


def serialize_offset_value(offset: Mapping[str, Any] | None, connector_name: str = "") -> bytes | None:
    """The offsets-topic value bytes of a source offset; ``None`` (a tombstone) for ``None``."""
    plain = None if offset is None else dict(offset)
    data = _internal_converter(False).from_connect_data(connector_name, None, plain)
    return None if data is None else bytes(data)


def deserialize_offset_key(data: bytes) -> Any:
    """Decode offsets-topic key bytes into their schemaless value (normally ``[name, partition]``).

    Raises:
        DataError: the bytes are not JSON.
    """
    return _internal_converter(True).to_connect_data("", data).value


def deserialize_offset_value(data: bytes | None, connector_name: str = "") -> Any:
    """Decode offsets-topic value bytes into their schemaless value; ``None`` for a tombstone.

    Raises:
        DataError: the bytes are not JSON.
    """
    if data is None:
        return None
    return _internal_converter(False).to_connect_data(connector_name, data).value


_SCHEMA_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (bool, "BOOLEAN"),
    (int, "INT64"),
    (float, "FLOAT64"),
    (str, "STRING"),
    (bytes, "BYTES"),
    (bytearray, "BYTES"),
    (list, "ARRAY"),
    (tuple, "ARRAY"),
    (dict, "MAP"),
)
_PRIMITIVES = (bool, int, float, str, bytes, bytearray)


def validate_format(data: Any) -> None:
    """Check that ``data`` is a valid partition or offset: ``None``, or a map of strings to primitives.

    Raises:
        DataError: with Kafka's message (``Offsets may only use String keys``, ...).
    """
    if data is None:
        return
    if not isinstance(data, Mapping):
        raise DataError("Offsets must be specified as a Map")
    for key, value in data.items():
        if not isinstance(key, str):
            raise DataError("Offsets may only use String keys")
        if value is None or isinstance(value, _PRIMITIVES):
            continue
        for cls, name in _SCHEMA_TYPE_NAMES:
            if isinstance(value, cls):
                break
        else:
            if isinstance(value, Mapping):
                name = "MAP"
            elif type(value).__name__ == "Struct":
                name = "STRUCT"
            else:
                name = f"class {type(value).__module__}.{type(value).__qualname__}"
        raise DataError(f"Offsets may only contain primitive types as values, but field {key} contains {name}")


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a JSON-like value, equal exactly when Java's ``equals`` would be."""
    if isinstance(value, Mapping):
        return ("map", tuple(sorted((str(k), _freeze(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("list", tuple(_freeze(v) for v in value))
    if isinstance(value, (bytes, bytearray)):
        return ("bytes", bytes(value))
    return (type(value).__name__, value)


def parse_partition_key(key: bytes | None) -> tuple[str, dict[str, Any] | None] | None:
    """Split offsets-topic key bytes into ``(connector name, partition)``.

    Keys not shaped ``[string, map|null]`` give ``None`` (with a warning, as Kafka logs them), so callers
    enumerating a connector's partitions skip them.
    """
    if key is None:
        log.warning("Ignoring offset partition key with an unexpected null value")
        return None
    try:
        value = deserialize_offset_key(key)
    except (DataError, ValueError) as exc:
        log.warning("Ignoring offset partition key with unknown serialization. Expected json. (%s)", exc)
        return None
    if not isinstance(value, list):
        log.warning(
            "Ignoring offset partition key with an unexpected format. Expected type: java.util.List, actual type: %s",
            type(value).__name__,
        )
        return None
    if len(value) != 2:
        log.warning("Ignoring offset partition key with an unexpected number of elements. Expected: 2, actual: %d",
                    len(value))
        return None
    name, partition = value
    if not isinstance(name, str):
        log.warning(
            "Ignoring offset partition key with an unexpected format for the first element in the partition key "
            "list. Expected type: java.lang.String, actual type: %s", type(name).__name__,
        )
        return None
    if partition is not None and not isinstance(partition, dict):
        log.warning(
            "Ignoring offset partition key with an unexpected format for the second element in the partition key "
            "list. Expected type: java.util.Map, actual type: %s", type(partition).__name__,
        )
        return None
    return name, partition


class PartitionIndex:
    """The source partitions of each connector that currently have a non-null offset in a store.

    Kafka keeps this set per connector to answer ``GET /connectors/{c}/offsets``; a tombstone removes the
    partition. Keys that are not ``[string, map]`` (including a ``null`` partition) are not indexed.
    Not thread-safe: the owning store serializes access.
    """

    def __init__(self) -> None:
        self._partitions: dict[str, dict[Any, dict[str, Any]]] = {}

    def process(self, key: bytes | None, value: bytes | None) -> None:
        """Record that ``key`` now maps to ``value`` (``None`` = removed)."""
        parsed = parse_partition_key(key)
        if parsed is None:
            return
        name, partition = parsed
        if partition is None:
            return
        partitions = self._partitions.setdefault(name, {})
        frozen = _freeze(partition)
        if value is None:
            partitions.pop(frozen, None)
        else:
            partitions[frozen] = partition

    def partitions(self, connector_name: str) -> list[dict[str, Any]]:
        """Copies of the partitions of ``connector_name``, in the order they were first seen."""
        return [dict(p) for p in self._partitions.get(connector_name, {}).values()]


class OffsetBackingStore:
    """A store of offset key and value bytes shared by all connectors of a worker (Kafka's interface).

    Implementations: :class:`kcfast.storage.memory.MemoryOffsetBackingStore`,
    :class:`kcfast.storage.file.FileOffsetBackingStore`. Every method is thread-safe.
    """

    def start(self) -> None:
        """Start the store (load persisted data, start background work)."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the store, finishing writes already submitted."""
        raise NotImplementedError

    def get(self, keys: Iterable[bytes | None]) -> dict[bytes | None, bytes | None]:
        """The current values of ``keys``; a key with no value maps to ``None``."""
        raise NotImplementedError

    def set(self, values: Mapping[bytes | None, bytes | None], callback: Callback | None = None) -> Future[None]:
        """Store ``values`` (a ``None`` value is a tombstone) and call ``callback(error, None)`` when done."""
        raise NotImplementedError

    def connector_partitions(self, connector_name: str) -> list[dict[str, Any]]:
        """The source partitions of ``connector_name`` that have a non-null offset in this store.

        Partitions are maps, which Python cannot put in a set, so this is a list without duplicates.
        """
        raise NotImplementedError


class OffsetStorageReaderImpl(OffsetStorageReader):
    """Reads one connector's source offsets from a backing store (what ``offset_storage_reader()`` returns).

    Thread-safe. After :meth:`close`, reads raise :class:`ConnectError`.
    """

    def __init__(self, backing_store: OffsetBackingStore, namespace: str) -> None:
        self._store = backing_store
        self._namespace = namespace
        self._closed = threading.Event()

    def offset(self, partition: Mapping[str, Any]) -> dict[str, Any] | None:
        """The last committed offset of ``partition``, or ``None`` if there is none."""
        return self.offsets([partition])[0][1]

    def offsets(self, partitions: Iterable[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], dict[str, Any] | None]]:
        """The last committed offsets of ``partitions``, as ``(partition, offset or None)`` pairs in input order.

        A partition that cannot be serialized, or whose stored offset cannot be decoded, is logged and
        reported with ``None``, as Kafka does.

        Raises:
            ConnectError: the reader is closed, or the store failed (``Failed to fetch offsets.``).
        """
        wanted = list(partitions)
        keys: list[bytes | None] = []
        for partition in wanted:
            try:
                validate_format(partition)
                keys.append(serialize_offset_key(self._namespace, partition))
            except Exception as exc:
                log.error(
                    "CRITICAL: Failed to serialize partition key when getting offsets for task with namespace %s. "
                    "No value for this data will be returned, which may break the task or cause it to skip some "
                    "data.", self._namespace, exc_info=exc,
                )
                keys.append(None)
        if self._closed.is_set():
            raise ConnectError(
                "Offset reader is closed. This is likely because the task has already been scheduled to stop but "
                "has taken longer than the graceful shutdown period to do so."
            )
        try:
            raw = self._store.get([k for k in keys if k is not None])
        except Exception as exc:
            log.error("Failed to fetch offsets from namespace %s: ", self._namespace, exc_info=exc)
            raise ConnectError("Failed to fetch offsets.") from exc
        result: list[tuple[Mapping[str, Any], dict[str, Any] | None]] = []
        for partition, key in zip(wanted, keys):
            value: dict[str, Any] | None = None
            if key is not None:
                try:
                    decoded = deserialize_offset_value(raw.get(key), self._namespace)
                    validate_format(decoded)
                    value = decoded
                except Exception as exc:
                    log.error(
                        "CRITICAL: Failed to deserialize offset data when getting offsets for task with namespace "
                        "%s. No value for this data will be returned, which may break the task or cause it to skip "
                        "some data. This could either be due to an error in the connector implementation or "
                        "incompatible schema.", self._namespace, exc_info=exc,
                    )
            result.append((partition, value))
        return result

    def close(self) -> None:
        """Refuse further reads (the task is being stopped)."""
        self._closed.set()


class OffsetStorageWriter:
    """Buffers one connector's source offsets and flushes snapshots of them to a backing store.

    Protocol: :meth:`offset` any time; :meth:`begin_flush` snapshots the buffer (``False`` if it is empty);
    after ``True`` the caller must call :meth:`do_flush` or :meth:`cancel_flush`. A cancelled or failed flush
    puts its offsets back under the newer ones, so nothing is lost. Thread-safe.
    """

    def __init__(self, backing_store: OffsetBackingStore, namespace: str) -> None:
        self._store = backing_store
        self._namespace = namespace
        self._lock = threading.Lock()
        self._flush_in_progress = threading.Semaphore(1)
        # frozen partition -> (partition, offset); later offsets for an equal partition replace earlier ones.
        self._data: dict[Any, tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]] = {}
        self._to_flush: dict[Any, tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]] | None = None
        self._current_flush_id = 0

    def offset(self, partition: Mapping[str, Any] | None, offset: Mapping[str, Any] | None) -> None:
        """Buffer ``offset`` as the latest offset of ``partition``."""
        with self._lock:
            self._data[_freeze(partition)] = (partition, offset)

    def begin_flush(self, timeout: float | None = None) -> bool:
        """Snapshot the buffered offsets for flushing.

        Args:
            timeout: seconds to wait for a previous flush to finish. ``None`` does not wait and treats a flush
                in progress as a framework error (Kafka's ``beginFlush()``).

        Returns:
            ``True`` if a flush was started (then :meth:`do_flush` or :meth:`cancel_flush` must follow),
            ``False`` if there was nothing to flush.

        Raises:
            ConnectError: ``timeout`` is ``None`` and a flush is in progress.
            TimeoutError: a previous flush did not finish within ``timeout``.
        """
        if timeout is None:
            if not self._flush_in_progress.acquire(blocking=False):
                log.error("Invalid call to OffsetStorageWriter begin_flush() while already flushing, the framework "
                          "should not allow this")
                raise ConnectError("OffsetStorageWriter is already flushing")
        elif not self._flush_in_progress.acquire(timeout=max(0.0, timeout)):
            raise TimeoutError("Timed out waiting for previous flush to finish")
        with self._lock:
            if not self._data:
                self._flush_in_progress.release()
                return False
            self._to_flush = self._data
            self._data = {}
            return True

    def do_flush(self, callback: Callback | None = None) -> Future[None] | None:
        """Serialize the snapshot and write it to the backing store asynchronously.

        Args:
            callback: called as ``callback(error, None)`` when the write completes, unless the flush was
                cancelled meanwhile; also called (with the error) if serialization fails.

        Returns:
            The store's future, or ``None`` if serialization failed (the flush then stays in progress until
            :meth:`cancel_flush`).
        """
        with self._lock:
            if self._to_flush is None:
                raise ConnectError("OffsetStorageWriter.do_flush() called without a successful begin_flush()")
            flush_id = self._current_flush_id
            try:
                serialized: dict[bytes | None, bytes | None] = {}
                for partition, offset in self._to_flush.values():
                    validate_format(partition)
                    validate_format(offset)
                    key = serialize_offset_key(self._namespace, partition)
                    serialized[key] = serialize_offset_value(offset, self._namespace)
            except Exception as exc:
                log.error(
                    "CRITICAL: Failed to serialize offset data, making it impossible to commit offsets under "
                    "namespace %s. This likely won't recover unless the unserializable partition or offset "
                    "information is overwritten.", self._namespace,
                )
                log.error("Cause of serialization failure:", exc_info=exc)
                if callback is not None:
                    callback(exc, None)
                return None
            log.debug("Submitting %d entries to backing store.", len(serialized))

        def on_done(error: BaseException | None, result: Any) -> None:
            if self._handle_finish_write(flush_id, error) and callback is not None:
                callback(error, result)

        return self._store.set(serialized, on_done)

    def cancel_flush(self) -> None:
        """Abandon the flush in progress, keeping its offsets (newer buffered offsets win)."""
        with self._lock:
            self._cancel_locked()

    def _cancel_locked(self) -> None:
        if self._to_flush is not None:
            self._to_flush.update(self._data)
            self._data = self._to_flush
            self._to_flush = None
            self._current_flush_id += 1
            self._flush_in_progress.release()

    def _handle_finish_write(self, flush_id: int, error: BaseException | None) -> bool:
        with self._lock:
            if flush_id != self._current_flush_id:
                return False
            if error is not None:
                self._cancel_locked()
            else:
                self._current_flush_id += 1
                self._to_flush = None
                self._flush_in_progress.release()
            return True


def connector_offsets(store: OffsetBackingStore, connector_name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every partition of ``connector_name`` in ``store`` with its offset (for ``GET /connectors/{c}/offsets``).

    Partitions whose offset cannot be read are left out.
    """
    reader = OffsetStorageReaderImpl(store, connector_name)
    partitions = store.connector_partitions(connector_name)
    return [(dict(p), o) for p, o in reader.offsets(partitions) if o is not None]
