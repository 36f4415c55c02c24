"""Offset bytes, and the per-connector reader and buffered writer over a backing store."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from kcfast.errors import ConnectError, DataError
from kcfast.storage import (
    FileOffsetBackingStore,
    MemoryOffsetBackingStore,
    OffsetBackingStore,
    OffsetStorageReaderImpl,
    OffsetStorageWriter,
    connector_offsets,
    deserialize_offset_key,
    deserialize_offset_value,
    serialize_offset_key,
    serialize_offset_value,
)
from kcfast.storage.offsets import validate_format

SAMPLE = Path(__file__).resolve().parent / "data" / "java-standalone.offsets"


# -- bytes ----------------------------------------------------------------------------------------------------


def test_key_and_value_bytes_match_kafka() -> None:
    assert serialize_offset_key("local-file-source", {"filename": "/data/in.txt"}) == (
        b'["local-file-source",{"filename":"/data/in.txt"}]'
    )
    assert serialize_offset_key("unicode-\u00e9", {"path": "/tmp/\u00fc.txt"}) == (
        '["unicode-\u00e9",{"path":"/tmp/\u00fc.txt"}]'.encode()
    )
    assert serialize_offset_key("c", None) == b'["c",null]'
    assert serialize_offset_key("c", MappingProxyType({"p": 1})) == b'["c",{"p":1}]'  # any Mapping
    assert serialize_offset_value({"position": 1234}) == b'{"position":1234}'
    assert serialize_offset_value({"lsn": 24023128, "txId": 555, "ts_usec": 1700000000000000}) == (
        b'{"lsn":24023128,"txId":555,"ts_usec":1700000000000000}'
    )
    assert serialize_offset_value(None) is None
    # Numbers as Java's Jackson writes them: doubles keep a fraction or use exponent notation.
    assert serialize_offset_value({"ratio": 1e10, "half": 0.5, "one": 1.0}) == b'{"ratio":1.0E10,"half":0.5,"one":1.0}'


def test_bytes_read_back_with_ints_as_ints() -> None:
    assert deserialize_offset_key(b'["c",{"p":1}]') == ["c", {"p": 1}]
    value = deserialize_offset_value(b'{"position":12,"ratio":0.5,"done":true,"name":"x","gone":null}')
    assert value == {"position": 12, "ratio": 0.5, "done": True, "name": "x", "gone": None}
    assert type(value["position"]) is int
    assert deserialize_offset_value(None) is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1], "Offsets must be specified as a Map"),
        ({1: "a"}, "Offsets may only use String keys"),
        ({"a": [1]}, "Offsets may only contain primitive types as values, but field a contains ARRAY"),
        ({"a": {"b": 1}}, "Offsets may only contain primitive types as values, but field a contains MAP"),
        ({"a": object()}, "but field a contains class builtins.object"),
    ],
)
def test_validate_format_rejects(data: Any, message: str) -> None:
    with pytest.raises(DataError, match=message):
        validate_format(data)


def test_validate_format_accepts_primitives() -> None:
    validate_format(None)
    validate_format({"a": 1, "b": 1.5, "c": "s", "d": True, "e": None, "f": b"x"})


# -- reader ---------------------------------------------------------------------------------------------------


@pytest.fixture
def sample_store(tmp_path: Path) -> Any:
    path = tmp_path / "connect.offsets"
    shutil.copyfile(SAMPLE, path)
    store = FileOffsetBackingStore(path)
    store.start()
    yield store
    store.stop()


def test_reader_finds_offsets_written_by_java(sample_store: FileOffsetBackingStore) -> None:
    reader = OffsetStorageReaderImpl(sample_store, "local-file-source")
    assert reader.offset({"filename": "/data/in.txt"}) == {"position": 1234}
    assert reader.offset({"filename": "/data/other.txt"}) is None
    inventory = OffsetStorageReaderImpl(sample_store, "inventory")
    assert inventory.offset({"server": "dbserver1"}) == {"lsn": 24023128, "txId": 555, "ts_usec": 1700000000000000}
    assert OffsetStorageReaderImpl(sample_store, "deleted-partition").offset({"k": "v"}) is None


def test_reader_offsets_keeps_input_order(sample_store: FileOffsetBackingStore) -> None:
    reader = OffsetStorageReaderImpl(sample_store, "local-file-source")
    partitions = [{"filename": "nope"}, {"filename": "/data/in.txt"}]
    assert reader.offsets(partitions) == [(partitions[0], None), (partitions[1], {"position": 1234})]


def test_reader_skips_invalid_partitions_and_values(caplog: pytest.LogCaptureFixture) -> None:
    store = MemoryOffsetBackingStore()
    store.set({serialize_offset_key("c", {"p": 1}): b"[1,2]"})
    reader = OffsetStorageReaderImpl(store, "c")
    assert reader.offsets([{"p": [1]}, {"p": 1}]) == [({"p": [1]}, None), ({"p": 1}, None)]
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "Failed to serialize partition key" in messages
    assert "Failed to deserialize offset data" in messages


def test_closed_reader_refuses_reads(sample_store: FileOffsetBackingStore) -> None:
    reader = OffsetStorageReaderImpl(sample_store, "local-file-source")
    reader.close()
    with pytest.raises(ConnectError, match="Offset reader is closed"):
        reader.offset({"filename": "/data/in.txt"})


def test_reader_wraps_store_failures() -> None:
    class Broken(MemoryOffsetBackingStore):
        def get(self, keys: Iterable[bytes | None]) -> dict[bytes | None, bytes | None]:
            raise OSError("disk gone")

    with pytest.raises(ConnectError, match="Failed to fetch offsets.") as info:
        OffsetStorageReaderImpl(Broken(), "c").offset({"p": 1})
    assert isinstance(info.value.__cause__, OSError)


def test_connector_offsets_lists_live_partitions(sample_store: FileOffsetBackingStore) -> None:
    assert connector_offsets(sample_store, "local-file-source") == [({"filename": "/data/in.txt"}, {"position": 1234})]
    assert connector_offsets(sample_store, "deleted-partition") == []
    assert connector_offsets(sample_store, "nobody") == []


# -- writer ---------------------------------------------------------------------------------------------------


class ManualStore(OffsetBackingStore):
    """A backing store whose writes complete only when the test says so."""

    def __init__(self) -> None:
        self.pending: list[tuple[dict[bytes | None, bytes | None], Any, Future[None]]] = []
        self.data: dict[bytes | None, bytes | None] = {}

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def get(self, keys: Iterable[bytes | None]) -> dict[bytes | None, bytes | None]:
        return {k: self.data.get(k) for k in keys}

    def set(self, values: Mapping[bytes | None, bytes | None], callback: Any = None) -> Future[None]:
        future: Future[None] = Future()
        self.pending.append((dict(values), callback, future))
        return future

    def complete(self, error: BaseException | None = None) -> None:
        values, callback, future = self.pending.pop(0)
        if error is None:
            self.data.update(values)
            future.set_result(None)
        else:
            future.set_exception(error)
        if callback is not None:
            callback(error, None)

    def connector_partitions(self, connector_name: str) -> list[dict[str, Any]]:
        return []


def test_writer_flushes_buffered_offsets() -> None:
    store = MemoryOffsetBackingStore()
    writer = OffsetStorageWriter(store, "conn")
    assert writer.begin_flush() is False  # nothing buffered
    writer.offset({"f": "a"}, {"position": 1})
    writer.offset({"f": "a"}, {"position": 2})  # an equal partition: the later offset wins
    writer.offset({"f": "b"}, None)
    assert writer.begin_flush() is True
    calls: list[Any] = []
    future = writer.do_flush(lambda error, result: calls.append(error))
    assert future is not None and future.result(5) is None
    assert calls == [None]
    assert store.get([serialize_offset_key("conn", {"f": "a"}), serialize_offset_key("conn", {"f": "b"})]) == {
        b'["conn",{"f":"a"}]': b'{"position":2}', b'["conn",{"f":"b"}]': None,
    }
    assert OffsetStorageReaderImpl(store, "conn").offset({"f": "a"}) == {"position": 2}
    assert writer.begin_flush() is False  # the flushed data is gone from the buffer


def test_begin_flush_while_flushing() -> None:
    store = ManualStore()
    writer = OffsetStorageWriter(store, "conn")
    writer.offset({"f": "a"}, {"position": 1})
    assert writer.begin_flush()
    writer.do_flush()
    writer.offset({"f": "a"}, {"position": 2})
    with pytest.raises(ConnectError, match="OffsetStorageWriter is already flushing"):
        writer.begin_flush()
    with pytest.raises(TimeoutError, match="Timed out waiting for previous flush to finish"):
        writer.begin_flush(timeout=0.01)
    store.complete()
    assert writer.begin_flush(timeout=0)
    writer.do_flush()
    store.complete()
    assert store.data == {b'["conn",{"f":"a"}]': b'{"position":2}'}


def test_begin_flush_waits_for_the_previous_flush() -> None:
    store = ManualStore()
    writer = OffsetStorageWriter(store, "conn")
    writer.offset({"f": "a"}, {"position": 1})
    writer.begin_flush()
    writer.do_flush()
    writer.offset({"f": "b"}, {"position": 1})
    timer = threading.Timer(0.05, store.complete)
    timer.start()
    assert writer.begin_flush(timeout=10)
    timer.join()


def test_cancel_flush_keeps_offsets_newer_ones_win() -> None:
    store = ManualStore()
    writer = OffsetStorageWriter(store, "conn")
    writer.offset({"f": "a"}, {"position": 1})
    writer.offset({"f": "b"}, {"position": 1})
    assert writer.begin_flush()
    writer.offset({"f": "a"}, {"position": 5})
    writer.cancel_flush()
    assert writer.begin_flush()
    writer.do_flush()
    store.complete()
    assert store.data == {b'["conn",{"f":"a"}]': b'{"position":5}', b'["conn",{"f":"b"}]': b'{"position":1}'}


def test_failed_write_puts_offsets_back() -> None:
    store = ManualStore()
    writer = OffsetStorageWriter(store, "conn")
    writer.offset({"f": "a"}, {"position": 1})
    writer.begin_flush()
    errors: list[Any] = []
    writer.do_flush(lambda error, result: errors.append(error))
    store.complete(OSError("disk full"))
    assert isinstance(errors[0], OSError)
    assert writer.begin_flush()  # the failed flush released the writer and kept the offsets
    writer.do_flush()
    store.complete()
    assert store.data == {b'["conn",{"f":"a"}]': b'{"position":1}'}


def test_completion_of_a_cancelled_flush_is_ignored() -> None:
    store = ManualStore()
    writer = OffsetStorageWriter(store, "conn")
    writer.offset({"f": "a"}, {"position": 1})
    writer.begin_flush()
    calls: list[Any] = []
    writer.do_flush(lambda error, result: calls.append(error))
    writer.cancel_flush()  # e.g. the flush timed out
    writer.offset({"f": "a"}, {"position": 2})
    assert writer.begin_flush()
    writer.do_flush(lambda error, result: calls.append(("second", error)))
    store.complete()  # the stale first write completes: no callback, the second flush stays in progress
    assert calls == []
    with pytest.raises(ConnectError, match="already flushing"):
        writer.begin_flush()
    store.complete()
    assert calls == [("second", None)]


def test_unserializable_offsets_fail_the_flush_through_the_callback() -> None:
    store = MemoryOffsetBackingStore()
    writer = OffsetStorageWriter(store, "conn")
    writer.offset({"f": "a"}, {"position": [1, 2]})
    assert writer.begin_flush()
    errors: list[Any] = []
    assert writer.do_flush(lambda error, result: errors.append(error)) is None
    assert isinstance(errors[0], DataError)
    writer.cancel_flush()
    writer.offset({"f": "a"}, {"position": 3})
    assert writer.begin_flush()
    future = writer.do_flush()
    assert future is not None
    future.result(5)


def test_do_flush_without_begin_flush() -> None:
    with pytest.raises(ConnectError, match="without a successful begin_flush"):
        OffsetStorageWriter(MemoryOffsetBackingStore(), "c").do_flush()
