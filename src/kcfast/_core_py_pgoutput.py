"""Pure-Python twin of the core's pgoutput part (``_core/pgoutput.pyx``): PostgreSQL change data capture,
pgoutput messages and snapshot rows -> Debezium change events, one call per batch.

The compiled core converts the common column kinds itself and calls a column's Python converter for anything
else; here every value goes through the Python converter, the reference of both. Import it through
:mod:`kcfast.core` (``kcfast._core_py`` re-exports it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from kcfast._core_py import SourceRecord
from kcfast.errors import DataError

_PG_KINDS = frozenset((
    "python", "text", "bool", "int", "float", "decimal", "date", "time_us", "time_ms", "time_ns",
    "timestamp_us", "timestamp_ms", "timestamp_ns", "zoned_timestamp", "bytea",
))
_PG_EPOCH_OFFSET_US = 946_684_800_000_000
# Debezium's Source block (io.debezium.connector.postgresql.Source): the fields an event fills in.
_SRC_TS_MS, _SRC_SNAPSHOT, _SRC_SEQUENCE, _SRC_TS_US, _SRC_TS_NS, _SRC_TXID, _SRC_LSN = 3, 4, 6, 7, 8, 11, 12


class _PgUnchanged:
    """A tuple column the server did not send: an unchanged TOASTed value."""

    __slots__ = ()


_PG_UNCHANGED = _PgUnchanged()


def _pg_need(pos: int, size: int, n: int) -> None:
    if size < 0 or pos + size > n:
        raise DataError("pgoutput: truncated message")


def _pg_u32(buf: bytes, pos: int) -> int:
    return int.from_bytes(buf[pos:pos + 4], "big")


def _pg_scan(buf: bytes, pos: int) -> tuple[list[Any], int]:
    """The cells of the tuple data at ``pos`` (bytes of a text value, None for NULL, ``_PG_UNCHANGED``) and
    the position after it."""
    n = len(buf)
    _pg_need(pos, 2, n)
    count = int.from_bytes(buf[pos:pos + 2], "big")
    pos += 2
    cells: list[Any] = []
    for _ in range(count):
        _pg_need(pos, 1, n)
        kind = buf[pos]
        pos += 1
        if kind == 116:  # 't'
            _pg_need(pos, 4, n)
            length = int.from_bytes(buf[pos:pos + 4], "big", signed=True)
            pos += 4
            _pg_need(pos, length, n)
            cells.append(buf[pos:pos + length])
            pos += length
        elif kind == 110:  # 'n'
            cells.append(None)
        elif kind == 117:  # 'u'
            cells.append(_PG_UNCHANGED)
        else:
            raise DataError(f"pgoutput: unexpected tuple column kind {chr(kind)!r}")
    return cells, pos


def _pg_cells(texts: Any) -> list[Any]:
    """The cells of a row given as texts: str values, None for NULL, anything else unchanged."""
    return [t if t is None or type(t) is str else _PG_UNCHANGED for t in texts]


class _PgColumn:
    __slots__ = ("arg", "convert", "fallback", "kind", "name", "position", "unavailable")

    def __init__(self, spec: Sequence[Any]) -> None:
        name, position, kind, arg, convert, fallback, unavailable = spec
        if kind not in _PG_KINDS:
            raise ValueError(f"unknown PostgreSQL converter kind {kind!r}")
        if not callable(convert):
            raise TypeError(f"the converter of column {name!r} is not callable")
        self.name, self.position, self.kind, self.arg = name, position, kind, arg
        self.convert, self.fallback, self.unavailable = convert, fallback, unavailable

    def value(self, cell: str | bytes) -> Any:
        return self.convert(cell if type(cell) is str else cell.decode())  # type: ignore[union-attr]


class PgTable:
    """The plan of one captured table: its schemas, `source` constants and column converters.

    ``columns`` lists the value struct's fields in order, ``key_columns`` the key struct's, each as
    ``(name, position, kind, arg, convert, fallback, unavailable)``: the column's position in the table's
    rows, its converter kind (``kcfast.connectors.postgres.types.KINDS``) with ``arg``, the Python converter
    from the text form, the value a NULL takes in a required field, and the value of an unchanged TOASTed
    column. ``source_head`` is ``(version, connector, server, db)`` of the `source` block.

    Immutable once built; safe to share between threads.
    """

    def __init__(self, topic: str, schema_name: str, table_name: str, key_schema: Any, value_schema: Any,
                 envelope_schema: Any, source_schema: Any, source_head: Sequence[str],
                 columns: Sequence[Sequence[Any]], key_columns: Sequence[Sequence[Any]]) -> None:
        from kcfast.data import Struct

        self._struct = Struct._from_values
        self._topic, self._schema_name, self._table_name = topic, schema_name, table_name
        self._key_schema, self._value_schema = key_schema, value_schema
        self._envelope_schema = envelope_schema
        self._source_schema = source_schema
        version, connector, server, db = source_head
        self._source_template = [version, connector, server, None, None, db, None, None, None, schema_name,
                                 table_name, None, None, None, None, None]
        self._columns = [_PgColumn(spec) for spec in columns]
        self._key_columns = [_PgColumn(spec) for spec in key_columns]
        positions = {c.position: i for i, c in enumerate(self._columns)}
        indexes = [positions.get(c.position) for c in self._key_columns]
        self._key_from_row: list[int] | None = (
            None if None in indexes else indexes  # type: ignore[assignment]
        )
        self._width = 1 + max([c.position for c in self._columns + self._key_columns], default=-1)

    @property
    def topic(self) -> str:
        """The table's topic: ``<topic.prefix>.<schema>.<table>``."""
        return self._topic

    @property
    def schema_name(self) -> str:
        """The table's schema."""
        return self._schema_name

    @property
    def table_name(self) -> str:
        """The table's name."""
        return self._table_name

    @property
    def key_schema(self) -> Any:
        """The key struct's schema (None for a table without a primary key)."""
        return self._key_schema

    @property
    def value_schema(self) -> Any:
        """The row struct's schema (``before`` and ``after``)."""
        return self._value_schema

    @property
    def envelope_schema(self) -> Any:
        """The event value's schema."""
        return self._envelope_schema

    def _check_width(self, cells: list[Any]) -> None:
        if len(cells) < self._width:
            raise DataError(f"A row of {self.schema_name}.{self.table_name} has {len(cells)} columns, "
                            f"{self._width} expected")

    def _error(self, col: _PgColumn, cells: list[Any], exc: Exception) -> DataError:
        text = cells[col.position]
        if type(text) is bytes:
            try:
                text = text.decode()
            except UnicodeDecodeError:
                pass
        return DataError(f"Cannot convert value {text!r} of column {self.schema_name}.{self.table_name}."
                          f"{col.name}: {exc}")

    def _row_values(self, cells: list[Any]) -> list[Any]:
        self._check_width(cells)
        values = []
        col = None
        try:
            for col in self._columns:
                cell = cells[col.position]
                if cell is None:
                    value = None
                elif cell is _PG_UNCHANGED:
                    value = col.unavailable
                else:
                    value = col.value(cell)
                values.append(col.fallback if value is None else value)
        except Exception as exc:
            assert col is not None
            raise self._error(col, cells, exc) from exc
        return values

    def _key_values(self, row_values: list[Any] | None, cells: list[Any]) -> list[Any]:
        if row_values is not None and self._key_from_row is not None:
            return [row_values[i] for i in self._key_from_row]
        self._check_width(cells)
        values = []
        col = None
        try:
            for col in self._key_columns:
                cell = cells[col.position]
                values.append(None if cell is None or cell is _PG_UNCHANGED else col.value(cell))
        except Exception as exc:
            assert col is not None
            raise self._error(col, cells, exc) from exc
        return values

    def _source(self, ts_ms: Any, snapshot: Any, sequence: str, ts_us: Any, ts_ns: Any, txid: Any,
                lsn: Any) -> Any:
        values = list(self._source_template)
        values[_SRC_TS_MS], values[_SRC_SNAPSHOT], values[_SRC_SEQUENCE] = ts_ms, snapshot, sequence
        values[_SRC_TS_US], values[_SRC_TS_NS], values[_SRC_TXID], values[_SRC_LSN] = ts_us, ts_ns, txid, lsn
        return self._struct(self._source_schema, values)

    def _envelope(self, before: Any, after: Any, source: Any, op: str, now: tuple[int, int, int]) -> Any:
        return self._struct(self.envelope_schema, [before, after, source, None, op, now[0], now[1], now[2]])

    def _record(self, partition: Any, offset: Any, key_schema: Any, key: Any, value_schema: Any, value: Any,
                timestamp: Any) -> SourceRecord:
        return SourceRecord(partition, offset, self.topic, None, key_schema, key, value_schema, value,
                            timestamp)

    def row(self, texts: Sequence[Any]) -> Any:
        """The value struct of a row given as texts in table column order (None: NULL; any other non-str
        item: an unchanged TOASTed value)."""
        return self._struct(self.value_schema, self._row_values(_pg_cells(texts)))

    def key(self, texts: Sequence[Any]) -> Any:
        """The key struct of a row given as texts, or None for a table without a primary key."""
        if self.key_schema is None:
            return None
        return self._struct(self.key_schema, self._key_values(None, _pg_cells(texts)))

    def snapshot_records(self, rows: Sequence[Sequence[Any]], partition: Any, lsn: Any, txid: Any,
                         now_us: int, first_marker: str, last_marker: str, last: bool) -> list[SourceRecord]:
        """The read (``op=r``) events of snapshot ``rows`` (texts in table column order).

        The first row's `source.snapshot` is ``first_marker``, the last row's ``last_marker`` (for a single
        row: ``first_marker``), the others ``"true"``; ``last`` marks the last row as the snapshot's last
        record in its offset.
        """
        now = (now_us // 1000, now_us, now_us * 1000)
        sequence = f'[null,"{lsn}"]'
        records = []
        n = len(rows)
        for i, texts in enumerate(rows):
            cells = _pg_cells(texts)
            row_values = self._row_values(cells)
            after = self._struct(self.value_schema, row_values)
            key = None
            if self.key_schema is not None:
                key = self._struct(self.key_schema, self._key_values(row_values, cells))
            marker = first_marker if i == 0 else last_marker if i == n - 1 else "true"
            source = self._source(now[0], marker, sequence, now[1], now[2], txid, lsn)
            offset = {"last_snapshot_record": bool(last and i == n - 1), "lsn": lsn, "txId": txid,
                      "ts_usec": now[1], "snapshot": "INITIAL", "snapshot_completed": False}
            records.append(self._record(partition, offset, self.key_schema, key, self.envelope_schema,
                                        self._envelope(None, after, source, "r", now), now[0]))
        return records


class PgoutputDecoder:
    """The state of one logical replication stream (pgoutput, protocol version 1) and its event building.

    ``read`` and ``decode`` turn a batch of messages (objects with ``payload`` and ``data_start``, as
    psycopg2's ``ReplicationMessage``) into SourceRecords in stream order: Debezium's create, update,
    delete (followed by a tombstone when ``tombstones``), and truncate events, with the source partition
    ``partition`` and Debezium's streaming offsets. A relation message calls ``on_relation(payload)``, which
    returns the table's PgTable, or None for a table that is not captured; changes of unknown tables are
    skipped. ``skip`` (``(txId, lsn_proc, events at lsn_proc)``, from a resumed offset) skips the events of
    an interrupted transaction that were already emitted.

    Not thread-safe: the task's thread uses it.
    """

    def __init__(self, partition: Any, on_relation: Callable[[bytes], PgTable | None],
                 tombstones: bool = True, skipped_operations: Iterable[str] = ()) -> None:
        self._partition = partition
        self._on_relation = on_relation
        self._tombstones = bool(tombstones)
        self._skip_ops = frozenset(skipped_operations)
        self._tables: dict[int, PgTable | None] = {}
        self._xid: int | None = None
        self._commit_us = 0
        self._last_commit: int | None = None
        self._lsn_seen: int | None = None
        self._lsn_count = 0
        self._skip: tuple[int, int, int] | None = None
        self._last_offset: dict[str, Any] | None = None
        self._drained = False
        self._now = (0, 0, 0)

    @property
    def transaction_id(self) -> int | None:
        """The id of the transaction being read (None before the first BEGIN)."""
        return self._xid

    @property
    def commit_time_us(self) -> int:
        """Commit time of the transaction being read, in microseconds since the epoch."""
        return self._commit_us

    @property
    def last_commit_lsn(self) -> int | None:
        """LSN of the last COMMIT read (or resumed from), None before."""
        return self._last_commit

    @last_commit_lsn.setter
    def last_commit_lsn(self, value: int | None) -> None:
        self._last_commit = value

    @property
    def skip(self) -> tuple[int, int, int] | None:
        """``(txId, lsn_proc, events at lsn_proc)`` of already emitted events to skip, or None."""
        return self._skip

    @skip.setter
    def skip(self, value: Sequence[int] | None) -> None:
        self._skip = None if value is None else tuple(value)  # type: ignore[assignment]

    @property
    def offset(self) -> dict[str, Any] | None:
        """The offset of the latest event or COMMIT read (None before any)."""
        return self._last_offset

    @offset.setter
    def offset(self, value: dict[str, Any] | None) -> None:
        self._last_offset = value

    @property
    def drained(self) -> bool:
        """Whether the last ``read`` stopped because no message was waiting."""
        return self._drained

    def table(self, relation_id: int) -> PgTable | None:
        """The PgTable of a relation id, or None (unknown or not captured)."""
        return self._tables.get(relation_id)

    def read(self, read_message: Callable[[], Any], max_records: int, max_messages: int,
             now_us: int) -> list[SourceRecord]:
        """Events of the messages ``read_message()`` returns, until it returns None, ``max_records`` events
        are built or ``max_messages`` messages are read. ``now_us`` is the events' ``ts_us``."""
        records: list[SourceRecord] = []
        self._now = (now_us // 1000, now_us, now_us * 1000)
        self._drained = False
        seen = 0
        while len(records) < max_records and seen < max_messages:
            msg = read_message()
            if msg is None:
                self._drained = True
                break
            seen += 1
            self._message(msg.payload, msg.data_start, records)
        return records

    def decode(self, messages: Iterable[Any], now_us: int) -> list[SourceRecord]:
        """Events of a list of messages (see ``read``)."""
        records: list[SourceRecord] = []
        self._now = (now_us // 1000, now_us, now_us * 1000)
        for msg in messages:
            self._message(msg.payload, msg.data_start, records)
        return records

    def _message(self, payload: bytes, lsn: int, records: list[SourceRecord]) -> None:
        if type(payload) is not bytes:
            raise TypeError(f"pgoutput payloads are bytes, not {type(payload).__name__}")
        n = len(payload)
        if n == 0:
            raise DataError("pgoutput: empty message")
        kind = payload[0]
        if kind in (73, 85, 68):  # 'I', 'U', 'D'
            self._change(payload, lsn, records)
        elif kind == 66:  # 'B'
            _pg_need(1, 20, n)
            self._commit_us = int.from_bytes(payload[9:17], "big", signed=True) + _PG_EPOCH_OFFSET_US
            self._xid = _pg_u32(payload, 17)
            self._lsn_seen, self._lsn_count = None, 0
        elif kind == 67:  # 'C'
            _pg_need(1, 25, n)
            self._last_commit = lsn
            self._last_offset = {"lsn_proc": lsn, "messageType": "COMMIT", "lsn_commit": lsn, "lsn": lsn,
                                 "txId": self._xid, "ts_usec": self._commit_us}
            if self._skip is not None and self._xid is not None and self._xid == self._skip[0]:
                self._skip = None
        elif kind == 82:  # 'R'
            _pg_need(1, 4, n)
            table = self._on_relation(payload)
            if table is not None and type(table) is not PgTable:
                raise TypeError(f"on_relation returned {type(table).__name__}, not PgTable or None")
            self._tables[_pg_u32(payload, 1)] = table
        elif kind == 84:  # 'T'
            self._truncate(payload, lsn, records)
        elif kind not in (89, 79, 77):  # 'Y', 'O', 'M'
            raise DataError(f"pgoutput: unknown message kind {chr(kind)!r}")

    def _offset(self, lsn: int, message_type: str) -> dict[str, Any]:
        if lsn == self._lsn_seen:
            self._lsn_count += 1
        else:
            self._lsn_seen, self._lsn_count = lsn, 1
        offset = {"lsn_proc": lsn, "messageType": message_type, "lsn_events_processed": self._lsn_count,
                  "lsn_commit": self._last_commit, "lsn": lsn, "txId": self._xid, "ts_usec": self._commit_us}
        if self._last_commit is None:
            del offset["lsn_commit"]
        return offset

    def _skipped(self, lsn: int) -> bool:
        skip = self._skip
        if skip is None or self._xid is None or self._xid != skip[0]:
            return False
        if lsn < skip[1]:
            return True
        return lsn == skip[1] and self._lsn_count <= skip[2]

    def _source(self, table: PgTable, lsn: int) -> Any:
        first = "null" if self._last_commit is None else f'"{self._last_commit}"'
        commit_us = self._commit_us
        return table._source(commit_us // 1000, None, f'[{first},"{lsn}"]', commit_us, commit_us * 1000,
                             self._xid, lsn)

    def _emit(self, records: list[SourceRecord], table: PgTable, offset: Any, key: Any,
              envelope: Any) -> None:
        records.append(table._record(self._partition, offset, table.key_schema, key, table.envelope_schema,
                                     envelope, self._commit_us // 1000))
        self._last_offset = offset

    def _tombstone(self, records: list[SourceRecord], table: PgTable, offset: Any, key: Any) -> None:
        if self._tombstones:
            records.append(table._record(self._partition, offset, table.key_schema, key, None, None,
                                         self._commit_us // 1000))

    def _change(self, payload: bytes, lsn: int, records: list[SourceRecord]) -> None:
        _pg_need(1, 5, len(payload))
        table = self._tables.get(_pg_u32(payload, 1))
        if table is None:
            return
        kind, marker = payload[0], payload[5]
        op = "c" if kind == 73 else "u" if kind == 85 else "d"
        offset = self._offset(lsn, "INSERT" if op == "c" else "UPDATE" if op == "u" else "DELETE")
        if (self._skip is not None and self._skipped(lsn)) or op in self._skip_ops:
            return
        source = self._source(table, lsn)
        now = self._now
        struct = table._struct
        if op == "c":
            if marker != 78:  # 'N'
                raise DataError(f"pgoutput: unexpected tuple marker {chr(marker)!r}")
            cells, _ = _pg_scan(payload, 6)
            after_values = table._row_values(cells)
            after = struct(table.value_schema, after_values)
            key = (None if table.key_schema is None
                   else struct(table.key_schema, table._key_values(after_values, cells)))
            self._emit(records, table, offset, key, table._envelope(None, after, source, op, now))
            return
        if op == "d":
            if marker not in (75, 79):  # 'K', 'O'
                raise DataError(f"pgoutput: unexpected tuple marker {chr(marker)!r}")
            cells, _ = _pg_scan(payload, 6)
            before_values = table._row_values(cells)
            before: Any = struct(table.value_schema, before_values)
            key = None if table.key_schema is None else struct(table.key_schema,
                                                               table._key_values(before_values, cells))
            self._emit(records, table, offset, key, table._envelope(before, None, source, op, now))
            self._tombstone(records, table, offset, key)
            return
        # An update: the old row ('K' key columns, 'O' whole row) if the server sent it, then the new row.
        old: list[Any] | None = None
        pos = 6
        if marker in (75, 79):
            old, pos = _pg_scan(payload, 6)
            _pg_need(pos, 1, len(payload))
            marker = payload[pos]
            pos += 1
        if marker != 78:
            raise DataError(f"pgoutput: unexpected tuple marker {chr(marker)!r}")
        cells, _ = _pg_scan(payload, pos)
        after_values = table._row_values(cells)
        after = struct(table.value_schema, after_values)
        key_values = None if table.key_schema is None else table._key_values(after_values, cells)
        key = None if key_values is None else struct(table.key_schema, key_values)
        before = None
        if old is not None and payload[5] == 79:
            before = struct(table.value_schema, table._row_values(old))
        if old is not None and key_values is not None:
            old_key_values = table._key_values(None, old)
            if old_key_values != key_values:
                # The primary key changed: a delete of the old key, its tombstone, then a create.
                old_key = struct(table.key_schema, old_key_values)
                if before is None:
                    before = struct(table.value_schema, table._row_values(old))
                self._emit(records, table, offset, old_key, table._envelope(before, None, source, "d", now))
                self._tombstone(records, table, offset, old_key)
                self._emit(records, table, offset, key, table._envelope(None, after, source, "c", now))
                return
        self._emit(records, table, offset, key, table._envelope(before, after, source, op, now))

    def _truncate(self, payload: bytes, lsn: int, records: list[SourceRecord]) -> None:
        n = len(payload)
        _pg_need(1, 5, n)
        count = _pg_u32(payload, 1)
        _pg_need(6, 4 * count, n)
        for i in range(count):
            table = self._tables.get(_pg_u32(payload, 6 + 4 * i))
            if table is None:
                continue
            offset = self._offset(lsn, "TRUNCATE")
            if "t" in self._skip_ops or (self._skip is not None and self._skipped(lsn)):
                continue
            source = self._source(table, lsn)
            records.append(table._record(self._partition, offset, None, None, table.envelope_schema,
                                         table._envelope(None, None, source, "t", self._now),
                                         self._commit_us // 1000))
            self._last_offset = offset
