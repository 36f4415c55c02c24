"""Offset backing stores: in memory, and the standalone file in Kafka Connect's format."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from kcfast.errors import ConnectError
from kcfast.storage import FileOffsetBackingStore, MemoryOffsetBackingStore
from kcfast.storage.javaser import decode_hashmap, encode_hashmap

SAMPLE = Path(__file__).resolve().parent / "data" / "java-standalone.offsets"
KEY_A = b'["conn",{"file":"a"}]'
KEY_B = b'["conn",{"file":"b"}]'


class Recorder:
    """A store callback that remembers its calls and the thread they came from."""

    def __init__(self) -> None:
        self.calls: list[tuple[BaseException | None, Any]] = []
        self.threads: list[str] = []
        self.done = threading.Event()

    def __call__(self, error: BaseException | None, result: Any) -> None:
        self.calls.append((error, result))
        self.threads.append(threading.current_thread().name)
        self.done.set()


@pytest.fixture
def memory_store() -> Any:
    store = MemoryOffsetBackingStore()
    store.start()
    yield store
    store.stop()


def test_memory_set_get_and_tombstones(memory_store: MemoryOffsetBackingStore) -> None:
    recorder = Recorder()
    future = memory_store.set({KEY_A: b'{"position":1}', KEY_B: b'{"position":2}'}, recorder)
    assert future.result(5) is None
    assert recorder.calls == [(None, None)]
    assert memory_store.get([KEY_A, KEY_B, b"other"]) == {
        KEY_A: b'{"position":1}', KEY_B: b'{"position":2}', b"other": None,
    }
    memory_store.set({KEY_A: None}).result(5)
    assert memory_store.get([KEY_A]) == {KEY_A: None}
    # The tombstone stays in the map (as in Java's HashMap) but the partition is gone.
    assert KEY_A in memory_store.entries()
    assert memory_store.connector_partitions("conn") == [{"file": "b"}]


def test_memory_writes_complete_on_the_store_thread(memory_store: MemoryOffsetBackingStore) -> None:
    recorder = Recorder()
    memory_store.set({KEY_A: b"{}"}, recorder).result(5)
    assert recorder.threads[0] != threading.current_thread().name
    assert recorder.threads[0].startswith("MemoryOffsetBackingStore")


def test_memory_writes_before_start_complete_inline() -> None:
    store = MemoryOffsetBackingStore()
    recorder = Recorder()
    future = store.set({KEY_A: b"{}"}, recorder)
    assert future.done()
    assert recorder.threads == [threading.current_thread().name]


def test_memory_stop_finishes_pending_writes() -> None:
    store = MemoryOffsetBackingStore()
    store.start()
    futures = [store.set({f'["c",{{"i":{i}}}]'.encode(): b"{}"}) for i in range(50)]
    store.stop()
    assert all(f.done() and f.exception() is None for f in futures)
    assert len(store.connector_partitions("c")) == 50


def test_connector_partitions_ignore_malformed_keys(memory_store: MemoryOffsetBackingStore,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    bad_keys = [b"not json", b'{"a":1}', b'["conn"]', b'[1,{"a":1}]', b'["conn",[1]]', b'["conn",null]', None]
    memory_store.set({key: b"{}" for key in bad_keys} | {KEY_A: b"{}"}).result(5)
    assert memory_store.connector_partitions("conn") == [{"file": "a"}]
    assert memory_store.connector_partitions("unknown") == []
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "Ignoring offset partition key with an unexpected number of elements" in messages
    assert "Ignoring offset partition key with an unexpected null value" in messages


def test_connector_partitions_compare_values_by_type(memory_store: MemoryOffsetBackingStore) -> None:
    memory_store.set({b'["c",{"p":1}]': b"{}", b'["c",{"p":1.0}]': b"{}", b'["c",{"p":true}]': b"{}"}).result(5)
    assert memory_store.connector_partitions("c") == [{"p": 1}, {"p": 1.0}, {"p": True}]
    assert [type(p["p"]) for p in memory_store.connector_partitions("c")] == [int, float, bool]


# -- the file store -------------------------------------------------------------------------------------------


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    path = tmp_path / "connect.offsets"
    shutil.copyfile(SAMPLE, path)
    return path


def test_file_store_loads_a_java_written_file(sample_copy: Path) -> None:
    store = FileOffsetBackingStore(sample_copy)
    store.start()
    try:
        key = b'["local-file-source",{"filename":"/data/in.txt"}]'
        assert store.get([key]) == {key: b'{"position":1234}'}
        assert store.connector_partitions("local-file-source") == [{"filename": "/data/in.txt"}]
        assert store.connector_partitions("unicode-\u00e9") == [{"path": "/tmp/\u00fc.txt"}]
        assert store.connector_partitions("deleted-partition") == []
    finally:
        store.stop()


def test_file_store_rewrites_the_whole_map_atomically(sample_copy: Path) -> None:
    before = decode_hashmap(sample_copy.read_bytes())
    store = FileOffsetBackingStore(sample_copy)
    store.start()
    store.set({KEY_A: b'{"position":7}'}).result(5)
    store.stop()
    after = decode_hashmap(sample_copy.read_bytes())
    assert after == before | {KEY_A: b'{"position":7}'}
    assert os.listdir(sample_copy.parent) == [sample_copy.name]  # no temporary file left behind


def test_file_store_output_is_read_by_java(java_hashmap: Any, tmp_path: Path) -> None:
    path = tmp_path / "new.offsets"
    store = FileOffsetBackingStore(path)
    store.start()
    store.set({KEY_A: b'{"position":1}', KEY_B: None}).result(5)
    store.stop()
    assert java_hashmap.read(path) == [{KEY_A: b'{"position":1}', KEY_B: None}]


def test_file_store_reads_back_its_own_file(tmp_path: Path) -> None:
    path = tmp_path / "o.offsets"
    first = FileOffsetBackingStore(path)
    first.start()
    first.set({KEY_A: b'{"position":3}'}).result(5)
    first.stop()
    second = FileOffsetBackingStore(path)
    second.start()
    assert second.get([KEY_A]) == {KEY_A: b'{"position":3}'}
    second.stop()


def test_missing_and_empty_files_mean_no_offsets(tmp_path: Path) -> None:
    missing = FileOffsetBackingStore(tmp_path / "missing.offsets")
    missing.start()
    assert missing.entries() == {}
    missing.stop()
    assert not (tmp_path / "missing.offsets").exists()
    (tmp_path / "empty.offsets").write_bytes(b"")
    empty = FileOffsetBackingStore(tmp_path / "empty.offsets")
    empty.start()
    assert empty.entries() == {}
    empty.stop()


def test_truncated_file_means_no_offsets(sample_copy: Path, caplog: pytest.LogCaptureFixture) -> None:
    sample_copy.write_bytes(SAMPLE.read_bytes()[:200])
    store = FileOffsetBackingStore(sample_copy)
    store.start()
    store.stop()
    assert store.entries() == {}
    assert any("truncated" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_garbage_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "garbage.offsets"
    path.write_bytes(b'{"this is": "json"}')
    with pytest.raises(ConnectError) as info:
        FileOffsetBackingStore(path).start()
    assert str(path) in str(info.value)
    assert "not a Kafka Connect standalone offsets file" in str(info.value)
    assert "byte offset 0" in str(info.value)


def test_unreadable_path_is_an_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConnectError, match=str(tmp_path)):
        FileOffsetBackingStore(tmp_path).start()  # a directory


def test_unwritable_location_fails_the_write_naming_the_path(tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "no-such-dir" / "connect.offsets"
    store = FileOffsetBackingStore(path)
    store.start()
    assert any("missing or not writable" in r.getMessage() for r in caplog.records)
    recorder = Recorder()
    future = store.set({KEY_A: b"{}"}, recorder)
    with pytest.raises(ConnectError, match="Unable to write the offsets file .*no-such-dir/connect.offsets"):
        future.result(5)
    store.stop()
    assert isinstance(recorder.calls[0][0], ConnectError)


def test_failed_write_leaves_the_old_file_intact(sample_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = sample_copy.read_bytes()
    real_write = os.write

    def crash_midway(fd: int, data: Any) -> int:
        real_write(fd, bytes(data)[:10])
        raise OSError(28, "No space left on device")

    store = FileOffsetBackingStore(sample_copy)
    store.start()
    monkeypatch.setattr(os, "write", crash_midway)
    future: Future[None] = store.set({KEY_A: b"{}"})
    with pytest.raises(ConnectError, match="No space left on device"):
        future.result(5)
    store.stop()
    assert sample_copy.read_bytes() == original
    assert os.listdir(sample_copy.parent) == [sample_copy.name]


def test_rewrite_keeps_the_file_mode(sample_copy: Path) -> None:
    sample_copy.chmod(0o640)
    store = FileOffsetBackingStore(sample_copy)
    store.start()
    store.set({KEY_A: b"{}"}).result(5)
    store.stop()
    assert stat.S_IMODE(sample_copy.stat().st_mode) == 0o640


def test_many_writes_land_in_order(tmp_path: Path) -> None:
    path = tmp_path / "o.offsets"
    store = FileOffsetBackingStore(path)
    store.start()
    for i in range(30):
        store.set({KEY_A: f'{{"position":{i}}}'.encode()})
    store.stop()
    assert decode_hashmap(path.read_bytes()) == {KEY_A: b'{"position":29}'}
    assert path.read_bytes() == encode_hashmap({KEY_A: b'{"position":29}'})
