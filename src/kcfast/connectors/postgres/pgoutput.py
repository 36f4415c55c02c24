"""Decoding of PostgreSQL's ``pgoutput`` logical replication messages (protocol version 1).

Each ``XLogData`` payload of a logical replication stream started with ``proto_version '1'`` holds one
message; its first byte tells the kind: ``B`` begin, ``C`` commit, ``R`` relation, ``Y`` type, ``O`` origin,
``I`` insert, ``U`` update, ``D`` delete, ``T`` truncate, ``M`` logical decoding message. Integers are
big-endian, strings NUL-terminated. A tuple is a column count followed by one entry per column: ``n``
(NULL), ``u`` (an unchanged TOASTed value, not sent) or ``t`` (text: length + bytes in the type's text
output format).

:func:`decode` turns a payload into a plain tuple whose first item is the kind. Row data stays in the text
form the server sent (``None`` for NULL, :data:`UNCHANGED_TOAST` for an unsent TOASTed value): the same text a
snapshot query reads, so one set of per-column converters serves both.

Timestamps in the protocol are microseconds since 2000-01-01 UTC; :func:`pg_micros_to_unix` converts them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from kcfast.errors import DataError

__all__ = [
    "PG_EPOCH_OFFSET_US",
    "UNCHANGED_TOAST",
    "RelationColumn",
    "RelationMessage",
    "decode",
    "decode_tuple",
    "format_lsn",
    "parse_lsn",
    "pg_micros_to_unix",
]

#: Microseconds between 1970-01-01 and 2000-01-01 (PostgreSQL's epoch).
PG_EPOCH_OFFSET_US = 946_684_800_000_000


class _Unchanged:
    """Marker for a TOASTed column value the server did not send because it did not change."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNCHANGED_TOAST"


UNCHANGED_TOAST: Any = _Unchanged()

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_U32 = struct.Struct(">I")
_BEGIN = struct.Struct(">QqI")  # final LSN, commit time, xid
_COMMIT = struct.Struct(">BQQq")  # flags, commit LSN, end LSN, commit time
_REL_HEAD = struct.Struct(">I")
_COL_TAIL = struct.Struct(">Ii")  # type oid, type modifier
_I_U32_BYTE = struct.Struct(">Ic")  # relation id, tuple marker


def pg_micros_to_unix(pg_micros: int) -> int:
    """Microseconds since the Unix epoch for a protocol timestamp (microseconds since 2000-01-01)."""
    return pg_micros + PG_EPOCH_OFFSET_US


def parse_lsn(text: str) -> int:
    """The integer value of an LSN written as ``X/Y`` (hex halves)."""
    hi, _, lo = text.partition("/")
    if not _:
        raise ValueError(f"not an LSN: {text!r}")
    return (int(hi, 16) << 32) | int(lo, 16)


def format_lsn(lsn: int) -> str:
    """An LSN as PostgreSQL writes it: ``X/Y`` in upper-case hex."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


@dataclass(frozen=True)
class RelationColumn:
    """One column of a relation message."""

    name: str
    type_oid: int
    type_modifier: int
    is_key: bool


@dataclass(frozen=True)
class RelationMessage:
    """A relation (table) description, sent before the first change of a table in a session or after DDL."""

    relation_id: int
    namespace: str
    name: str
    replica_identity: str
    columns: tuple[RelationColumn, ...]


def _cstring(buf: bytes, pos: int) -> tuple[str, int]:
    end = buf.index(b"\x00", pos)
    return buf[pos:end].decode("utf-8"), end + 1


def decode_tuple(buf: bytes, pos: int) -> tuple[list[Any], int]:
    """The column values of the tuple at ``pos`` and the position after it.

    Values are ``str`` (the type's text output), ``None`` (NULL) or :data:`UNCHANGED_TOAST`.

    Raises:
        DataError: an unknown column kind (binary transfer is not requested, so ``b`` is unexpected).
    """
    count = _I16.unpack_from(buf, pos)[0]
    pos += 2
    values: list[Any] = [None] * count
    unpack_len = _I32.unpack_from
    for i in range(count):
        kind = buf[pos]
        pos += 1
        if kind == 116:  # 't'
            length = unpack_len(buf, pos)[0]
            pos += 4
            values[i] = buf[pos:pos + length].decode()
            pos += length
        elif kind == 110:  # 'n'
            pass
        elif kind == 117:  # 'u'
            values[i] = UNCHANGED_TOAST
        else:
            raise DataError(f"pgoutput: unexpected tuple column kind {chr(kind)!r}")
    return values, pos


def _relation(buf: bytes) -> RelationMessage:
    relid = _REL_HEAD.unpack_from(buf, 1)[0]
    namespace, pos = _cstring(buf, 5)
    name, pos = _cstring(buf, pos)
    identity = chr(buf[pos])
    count = _I16.unpack_from(buf, pos + 1)[0]
    pos += 3
    columns = []
    for _ in range(count):
        flags = buf[pos]
        col_name, pos = _cstring(buf, pos + 1)
        oid, typmod = _COL_TAIL.unpack_from(buf, pos)
        pos += 8
        columns.append(RelationColumn(col_name, oid, typmod, bool(flags & 1)))
    return RelationMessage(relid, namespace or "pg_catalog", name, identity, tuple(columns))


def decode(buf: bytes) -> tuple[Any, ...]:
    """Decode one pgoutput message.

    Returns one of:

    - ``("B", final_lsn, commit_time_us, xid)`` (``commit_time_us`` since the Unix epoch);
    - ``("C", commit_lsn, end_lsn, commit_time_us)``;
    - ``("R", RelationMessage)``;
    - ``("I", relation_id, new_values)``;
    - ``("U", relation_id, old_values_or_None, old_kind, new_values)`` (``old_kind`` ``"K"`` key only, ``"O"``
      whole old row, ``""`` none sent);
    - ``("D", relation_id, old_values, old_kind)``;
    - ``("T", relation_ids, options)`` (``options`` bit 1 CASCADE, bit 2 RESTART IDENTITY);
    - ``("Y", type_oid, namespace, name)``, ``("O", origin_lsn, origin_name)``,
      ``("M", transactional, lsn, prefix, content)``.

    Raises:
        DataError: an empty or unknown message.
    """
    if not buf:
        raise DataError("pgoutput: empty message")
    kind = buf[0]
    if kind == 73:  # 'I'
        relid = _U32.unpack_from(buf, 1)[0]
        values, _ = decode_tuple(buf, 6)
        return ("I", relid, values)
    if kind == 85:  # 'U'
        relid, marker = _I_U32_BYTE.unpack_from(buf, 1)
        old = None
        old_kind = ""
        pos = 6
        if marker in (b"K", b"O"):
            old_kind = marker.decode()
            old, pos = decode_tuple(buf, pos)
            pos += 1  # the 'N' marker of the new tuple
        new, _ = decode_tuple(buf, pos)
        return ("U", relid, old, old_kind, new)
    if kind == 68:  # 'D'
        relid, marker = _I_U32_BYTE.unpack_from(buf, 1)
        old, _ = decode_tuple(buf, 6)
        return ("D", relid, old, marker.decode())
    if kind == 66:  # 'B'
        final_lsn, ts, xid = _BEGIN.unpack_from(buf, 1)
        return ("B", final_lsn, ts + PG_EPOCH_OFFSET_US, xid)
    if kind == 67:  # 'C'
        _flags, commit_lsn, end_lsn, ts = _COMMIT.unpack_from(buf, 1)
        return ("C", commit_lsn, end_lsn, ts + PG_EPOCH_OFFSET_US)
    if kind == 82:  # 'R'
        return ("R", _relation(buf))
    if kind == 84:  # 'T'
        count = _U32.unpack_from(buf, 1)[0]
        options = buf[5]
        relids = list(struct.unpack_from(f">{count}I", buf, 6))
        return ("T", relids, options)
    if kind == 89:  # 'Y'
        oid = _U32.unpack_from(buf, 1)[0]
        namespace, pos = _cstring(buf, 5)
        name, _ = _cstring(buf, pos)
        return ("Y", oid, namespace, name)
    if kind == 79:  # 'O'
        lsn = struct.unpack_from(">Q", buf, 1)[0]
        name, _ = _cstring(buf, 9)
        return ("O", lsn, name)
    if kind == 77:  # 'M'
        flags = buf[1]
        lsn = struct.unpack_from(">Q", buf, 2)[0]
        prefix, pos = _cstring(buf, 10)
        length = _I32.unpack_from(buf, pos)[0]
        return ("M", bool(flags & 1), lsn, prefix, buf[pos + 4:pos + 4 + length])
    raise DataError(f"pgoutput: unknown message kind {chr(kind)!r}")
