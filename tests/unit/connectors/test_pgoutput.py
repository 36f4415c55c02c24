"""pgoutput message decoding, from hand-built protocol messages."""

from __future__ import annotations

import struct

import pytest

from kcfast.connectors.postgres.pgoutput import (
    PG_EPOCH_OFFSET_US,
    UNCHANGED_TOAST,
    decode,
    format_lsn,
    parse_lsn,
)
from kcfast.errors import DataError


def _tuple(*values: object) -> bytes:
    out = struct.pack(">h", len(values))
    for value in values:
        if value is None:
            out += b"n"
        elif value is UNCHANGED_TOAST:
            out += b"u"
        else:
            data = str(value).encode()
            out += b"t" + struct.pack(">i", len(data)) + data
    return out


def test_begin_and_commit_carry_lsns_xid_and_unix_commit_time() -> None:
    begin = decode(b"B" + struct.pack(">QqI", 0x1_0000_0010, 5_000_000, 731))
    assert begin == ("B", 0x1_0000_0010, 5_000_000 + PG_EPOCH_OFFSET_US, 731)
    commit = decode(b"C" + struct.pack(">BQQq", 0, 100, 180, 7))
    assert commit == ("C", 100, 180, 7 + PG_EPOCH_OFFSET_US)


def test_relation_lists_columns_with_types_modifiers_and_key_flags() -> None:
    body = struct.pack(">I", 16384) + b"public\x00orders\x00" + b"d" + struct.pack(">h", 2)
    body += b"\x01id\x00" + struct.pack(">Ii", 23, -1) + b"\x00amount\x00" + struct.pack(">Ii", 1700, 655366)
    kind, rel = decode(b"R" + body)
    assert kind == "R"
    assert (rel.relation_id, rel.namespace, rel.name, rel.replica_identity) == (16384, "public", "orders", "d")
    assert [(c.name, c.type_oid, c.type_modifier, c.is_key) for c in rel.columns] == [
        ("id", 23, -1, True), ("amount", 1700, 655366, False)]


def test_insert_update_delete_tuples() -> None:
    assert decode(b"I" + struct.pack(">I", 7) + b"N" + _tuple(1, "é", None)) == ("I", 7, ["1", "é", None])
    plain = decode(b"U" + struct.pack(">I", 7) + b"N" + _tuple(1, "x", UNCHANGED_TOAST))
    assert plain == ("U", 7, None, "", ["1", "x", UNCHANGED_TOAST])
    keyed = decode(b"U" + struct.pack(">I", 7) + b"K" + _tuple(1, None) + b"N" + _tuple(2, "y"))
    assert keyed == ("U", 7, ["1", None], "K", ["2", "y"])
    full = decode(b"U" + struct.pack(">I", 7) + b"O" + _tuple(1, "a") + b"N" + _tuple(1, "b"))
    assert full == ("U", 7, ["1", "a"], "O", ["1", "b"])
    assert decode(b"D" + struct.pack(">I", 7) + b"K" + _tuple(3, None)) == ("D", 7, ["3", None], "K")


def test_truncate_type_origin_and_message() -> None:
    assert decode(b"T" + struct.pack(">IB", 2, 1) + struct.pack(">II", 10, 11)) == ("T", [10, 11], 1)
    assert decode(b"Y" + struct.pack(">I", 99) + b"public\x00mood\x00") == ("Y", 99, "public", "mood")
    assert decode(b"O" + struct.pack(">Q", 55) + b"node1\x00") == ("O", 55, "node1")
    message = decode(b"M" + b"\x01" + struct.pack(">Q", 9) + b"pfx\x00" + struct.pack(">i", 3) + b"abc")
    assert message == ("M", True, 9, "pfx", b"abc")


def test_bad_messages_raise_data_errors() -> None:
    with pytest.raises(DataError):
        decode(b"")
    with pytest.raises(DataError):
        decode(b"Z123")
    with pytest.raises(DataError, match="column kind"):
        decode(b"I" + struct.pack(">I", 7) + b"N" + struct.pack(">h", 1) + b"b")


def test_lsn_text_round_trip() -> None:
    assert parse_lsn("16/B374D848") == (0x16 << 32) | 0xB374D848
    assert format_lsn(parse_lsn("0/1507318")) == "0/1507318"
    with pytest.raises(ValueError):
        parse_lsn("12345")
