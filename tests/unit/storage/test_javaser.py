"""The standalone offsets file format: a Java-serialized ``HashMap<byte[], byte[]>``."""

from __future__ import annotations

import random
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kcfast.errors import ConnectError
from kcfast.storage.javaser import (
    JavaSerializationError,
    TruncatedStreamError,
    decode_hashmap,
    encode_hashmap,
    hashmap_capacity,
)

byte_maps = st.dictionaries(st.none() | st.binary(max_size=40), st.none() | st.binary(max_size=40), max_size=30)


def _map_stream(size: int, body: bytes, capacity: int = 16) -> bytes:
    """A serialized HashMap whose entries are the raw ``body`` (used to craft invalid streams)."""
    empty = encode_hashmap({})
    prefix = empty[:-11]  # drop TC_BLOCKDATA, its length, capacity, size and TC_ENDBLOCKDATA
    return prefix + b"\x77\x08" + struct.pack(">ii", capacity, size) + body + b"\x78"


def test_sample_decodes_to_listed_entries(sample_offsets: tuple[bytes, list[tuple[bytes, bytes | None]]]) -> None:
    raw, listed = sample_offsets
    decoded = decode_hashmap(raw)
    assert sorted(decoded.items(), key=lambda kv: kv[0] or b"") == listed
    assert decoded[b'["deleted-partition",{"k":"v"}]'] is None


def test_sample_re_encodes_to_identical_bytes(sample_offsets: tuple[bytes, list[tuple[bytes, bytes | None]]]) -> None:
    raw, _ = sample_offsets
    assert encode_hashmap(decode_hashmap(raw)) == raw


def test_empty_map_layout() -> None:
    data = encode_hashmap({})
    assert data.startswith(b"\xac\xed\x00\x05\x73\x72\x00\x11java.util.HashMap\x05\x07\xda\xc1\xc3\x16\x60\xd1\x03")
    # loadFactor 0.75, threshold 0 (no table yet), then capacity 16 and size 0 in block data.
    assert data.endswith(b"\x78\x70\x3f\x40\x00\x00\x00\x00\x00\x00\x77\x08\x00\x00\x00\x10\x00\x00\x00\x00\x78")
    assert decode_hashmap(data) == {}


@pytest.mark.parametrize(("size", "capacity"), [(1, 16), (12, 16), (13, 32), (24, 32), (25, 64), (100, 256)])
def test_capacity_follows_hashmap_growth(size: int, capacity: int) -> None:
    assert hashmap_capacity(size) == capacity
    data = encode_hashmap({str(i).encode(): b"v" for i in range(size)})
    threshold, block_capacity, block_size = struct.unpack_from(">i2xii", data, 0x43)
    assert (threshold, block_capacity, block_size) == (capacity * 3 // 4, capacity, size)


@given(byte_maps)
def test_round_trip(entries: dict[bytes | None, bytes | None]) -> None:
    assert decode_hashmap(encode_hashmap(entries)) == entries


def test_later_duplicate_key_wins() -> None:
    array = b"\x75\x71\x00\x7e\x00\x02"  # TC_ARRAY + reference to the [B descriptor
    first = encode_hashmap({b"k": b"1"})[:-1]  # the one entry, without the closing TC_ENDBLOCKDATA
    first = first[:0x4D] + b"\x00\x00\x00\x02" + first[0x51:]  # size 2
    stream = first + array + b"\x00\x00\x00\x01k" + array + b"\x00\x00\x00\x012" + b"\x78"
    assert decode_hashmap(stream) == {b"k": b"2"}


@pytest.mark.parametrize(
    "blocks",
    [
        b"\x77\x04\x00\x00\x00\x10\x77\x04\x00\x00\x00\x00",  # capacity and size in separate blocks
        b"\x77\x02\x00\x00\x77\x06\x00\x10\x00\x00\x00\x00",  # an int split across blocks
        b"\x7a\x00\x00\x00\x08\x00\x00\x00\x10\x00\x00\x00\x00",  # TC_BLOCKDATALONG
        b"\x77\x0a\x00\x00\x00\x10\x00\x00\x00\x00\xff\xff",  # extra block data is skipped
    ],
)
def test_any_block_data_layout(blocks: bytes) -> None:
    empty = encode_hashmap({})
    assert decode_hashmap(empty[:-11] + blocks + b"\x78") == {}


def test_reset_before_the_map_and_trailing_bytes() -> None:
    data = encode_hashmap({b"k": None})
    assert decode_hashmap(data[:4] + b"\x79\x79" + data[4:] + b"junk after the map") == {b"k": None}


# -- rejected input -------------------------------------------------------------------------------------------


def _error(data: bytes) -> JavaSerializationError:
    with pytest.raises(JavaSerializationError) as info:
        decode_hashmap(data)
    assert isinstance(info.value, ConnectError)
    return info.value


def test_not_a_serialization_stream() -> None:
    err = _error(b'{"position": 1}')
    assert not isinstance(err, TruncatedStreamError)
    assert "magic number 0x7B22" in str(err)
    assert err.offset == 0 and "byte offset 0" in str(err)


def test_wrong_stream_version() -> None:
    assert "version 4" in str(_error(b"\xac\xed\x00\x04\x73"))


def test_top_level_string() -> None:
    err = _error(b"\xac\xed\x00\x05\x74\x00\x03abc")
    assert "Expected a java.util.HashMap object but found TC_STRING" in str(err)
    assert err.offset == 4


def test_other_class() -> None:
    data = encode_hashmap({}).replace(b"java.util.HashMap", b"java.util.TreeMap")
    err = _error(data)
    assert "found an object of class java.util.TreeMap" in str(err)
    assert err.offset == 5


def test_wrong_serial_version_uid() -> None:
    data = bytearray(encode_hashmap({}))
    data[0x1A] ^= 0xFF
    assert "serialVersionUID" in str(_error(bytes(data)))


def test_string_key_rejected() -> None:
    err = _error(_map_stream(1, b"\x74\x00\x01k\x70"))
    assert "Expected a byte[] in the key of entry 0 but found a string" in str(err)


def test_object_value_rejected() -> None:
    err = _error(_map_stream(1, b"\x70" + encode_hashmap({})[4:]))
    assert "the value of entry 0 but found an object of class java.util.HashMap" in str(err)


def test_reference_to_wrong_handle() -> None:
    assert "Invalid back reference handle 0x007E0009" in str(_error(_map_stream(1, b"\x71\x00\x7e\x00\x09\x70")))
    # Handle 1 is the map itself, which is not a byte[].
    assert "but found a reference to" in str(_error(_map_stream(1, b"\x71\x00\x7e\x00\x01\x70")))


def test_reset_inside_the_map() -> None:
    assert "Unexpected TC_RESET inside the map" in str(_error(_map_stream(1, b"\x79")))


def test_negative_size() -> None:
    err = _error(_map_stream(-1, b""))
    assert "Illegal mappings count: -1" in str(err)
    assert not isinstance(err, TruncatedStreamError)


def test_array_of_other_type() -> None:
    int_array = b"\x75\x72\x00\x02[I\x4d\xba\x60\x26\x76\xea\xb2\xa5\x02\x00\x00\x78\x70\x00\x00\x00\x00"
    assert "found an array of [I" in str(_error(_map_stream(1, int_array + b"\x70")))


def test_every_truncation_is_reported_as_truncated(
    sample_offsets: tuple[bytes, list[tuple[bytes, bytes | None]]],
) -> None:
    raw, _ = sample_offsets
    for length in range(len(raw)):
        with pytest.raises(TruncatedStreamError):
            decode_hashmap(raw[:length])


def test_corrupted_bytes_never_crash(sample_offsets: tuple[bytes, list[tuple[bytes, bytes | None]]]) -> None:
    raw, _ = sample_offsets
    rng = random.Random(3)
    for position in range(len(raw)):
        for _ in range(4):
            data = bytearray(raw)
            data[position] = rng.randrange(256)
            try:
                decode_hashmap(bytes(data))
            except JavaSerializationError:
                pass


# -- the JDK as oracle ----------------------------------------------------------------------------------------


def test_java_reads_what_kcfast_writes(java_hashmap: Any, tmp_path: Path) -> None:
    rng = random.Random(11)
    maps: list[dict[bytes | None, bytes | None]] = [{}, {None: None}, {b"": b""}]
    for size in (1, 12, 13, 24, 25, 200):
        maps.append({rng.randbytes(rng.randint(0, 20)): rng.choice([None, rng.randbytes(rng.randint(0, 3000))])
                     for _ in range(size)})
    paths = []
    for index, entries in enumerate(maps):
        path = tmp_path / f"{index}.offsets"
        path.write_bytes(encode_hashmap(entries))
        paths.append(path)
    assert java_hashmap.read(*paths) == maps


@pytest.mark.parametrize("size", [0, 1, 12, 13, 30])
def test_kcfast_writes_the_jdk_bytes(java_hashmap: Any, tmp_path: Path, size: int) -> None:
    entries = {f'["c",{{"p":{i}}}]'.encode(): None if i % 5 == 0 else f'{{"o":{i}}}'.encode() for i in range(size)}
    path = tmp_path / "java.offsets"
    java_hashmap.write(path, entries)
    java_bytes = path.read_bytes()
    decoded = decode_hashmap(java_bytes)
    assert decoded == entries
    # Re-encoding in the JDK's iteration order reproduces its bytes exactly.
    assert encode_hashmap(decoded) == java_bytes


@pytest.mark.parametrize("mode", ["presized", "shared", "reset"])
def test_kcfast_reads_other_jdk_layouts(java_hashmap: Any, tmp_path: Path, mode: str) -> None:
    entries = {b"k1": b"same", b"k2": b"same", b"k3": None, None: b"same"}
    path = tmp_path / f"{mode}.offsets"
    java_hashmap.write(path, entries, mode)
    assert decode_hashmap(path.read_bytes()) == entries
