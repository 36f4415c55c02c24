"""An offset backing store that keeps everything in memory (Kafka's ``MemoryOffsetBackingStore``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from kcfast.storage.offsets import Callback, OffsetBackingStore, PartitionIndex

__all__ = ["MemoryOffsetBackingStore"]

log = logging.getLogger(__name__)


class MemoryOffsetBackingStore(OffsetBackingStore):
    """Offsets held in a dict; writes run in order on one background thread, like Kafka's store.

    Between :meth:`start` and :meth:`stop`, :meth:`set` returns at once and completes on the store's thread.
    Before :meth:`start` (and after :meth:`stop`) writes complete in the calling thread. A tombstone keeps its
    key with a ``None`` value, as Java's ``HashMap`` does. Subclasses persist the data by overriding
    :meth:`_save`. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Serializes whole writes (update + save) so that saves land in the order the updates were made.
        self._write_lock = threading.Lock()
        self._data: dict[bytes | None, bytes | None] = {}
        self._index = PartitionIndex()
        self._executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        """Start the background writer thread."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=type(self).__name__)

    def stop(self) -> None:
        """Finish submitted writes and stop the background thread."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def get(self, keys: Iterable[bytes | None]) -> dict[bytes | None, bytes | None]:
        """The current value of each key (``None`` when absent or a tombstone)."""
        with self._lock:
            return {key: self._data.get(key) for key in keys}

    def set(self, values: Mapping[bytes | None, bytes | None], callback: Callback | None = None) -> Future[None]:
        """Store ``values`` and persist the whole map; ``callback(error, None)`` is called when done.

        Returns:
            A future that completes when the values are stored (with the error if persisting failed).
        """
        values = dict(values)
        future: Future[None] = Future()
        with self._lock:
            executor = self._executor
            if executor is not None:
                executor.submit(self._apply, values, callback, future)
                return future
        self._apply(values, callback, future)
        return future

    def _apply(self, values: dict[bytes | None, bytes | None], callback: Callback | None,
               future: Future[None]) -> None:
        future.set_running_or_notify_cancel()
        error: BaseException | None = None
        try:
            with self._write_lock:
                with self._lock:
                    self._data.update(values)
                    for key, value in values.items():
                        self._index.process(key, value)
                    snapshot = dict(self._data)
                self._save(snapshot)
        except Exception as exc:  # noqa: BLE001 - reported through the future and the callback
            error = exc
        if callback is not None:
            try:
                callback(error, None)
            except Exception:
                log.exception("Offset store completion callback failed")
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)

    def _save(self, data: dict[bytes | None, bytes | None]) -> None:
        """Persist ``data`` (the whole map); called on the writer thread, one call at a time."""

    def _load(self, data: Mapping[bytes | None, bytes | None]) -> None:
        """Replace the contents with ``data`` (used by persistent subclasses when starting)."""
        with self._lock:
            self._data = dict(data)
            self._index = PartitionIndex()
            for key, value in self._data.items():
                self._index.process(key, value)

    def connector_partitions(self, connector_name: str) -> list[dict[str, Any]]:
        """The partitions of ``connector_name`` whose latest value is not a tombstone."""
        with self._lock:
            return self._index.partitions(connector_name)

    def entries(self) -> dict[bytes | None, bytes | None]:
        """A copy of every key and value held (tombstones included)."""
        with self._lock:
            return dict(self._data)
