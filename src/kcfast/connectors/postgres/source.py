"""The PostgreSQL CDC source connector and its task.

The task captures the tables of one database through a logical replication slot with the ``pgoutput``
plug-in: an initial snapshot (``snapshot.mode``), then the stream of committed changes, as Debezium change
events. Its source partition is ``{"server": <topic.prefix>}``; offsets carry Debezium's keys (``lsn``,
``lsn_proc``, ``lsn_commit``, ``txId``, ``ts_usec``, ``messageType``, ``lsn_events_processed``; during the
snapshot ``snapshot``, ``last_snapshot_record``, ``snapshot_completed``), so a restart resumes where the
flushed offsets say. After each offset flush the task reads the flushed offset back and confirms its
``lsn_commit`` to the slot: the server keeps the WAL of everything not yet committed to the offset store,
and nothing more.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

from kcfast._version import __version__
from kcfast.api import ConfigDef, SourceConnector, SourceRecord, SourceTask, Task
from kcfast.connectors.postgres.catalog import ColumnInfo, TableInfo, TypeRegistry, load_tables
from kcfast.connectors.postgres.config import POSTGRES_CONFIG_DEF, PostgresSourceConfig
from kcfast.connectors.postgres.events import TableEvents, heartbeat_schemas, snapshot_marker, source_struct
from kcfast.connectors.postgres.pgoutput import RelationMessage, decode, format_lsn, parse_lsn
from kcfast.connectors.postgres.replication import (
    ReplicationStream,
    connect,
    ensure_publication,
    slot_state,
)
from kcfast.connectors.postgres.snapshot import SnapshotReader
from kcfast.data import Struct
from kcfast.errors import ConnectError

__all__ = ["PostgresConnector", "PostgresConnectorTask"]

log = logging.getLogger(__name__)

_MESSAGE_TYPES = {"c": "INSERT", "u": "UPDATE", "d": "DELETE", "t": "TRUNCATE"}


class PostgresConnector(SourceConnector):
    """Debezium-compatible PostgreSQL CDC source (``io.debezium.connector.postgresql.PostgresConnector``).

    One task captures the whole database: a replication slot is consumed by one client only.
    """

    def __init__(self) -> None:
        self._props: dict[str, str] = {}

    def version(self) -> str:
        """kcfast's version."""
        return __version__

    def config(self) -> ConfigDef:
        """Debezium's PostgreSQL connector keys."""
        return POSTGRES_CONFIG_DEF

    def start(self, props: Mapping[str, str]) -> None:
        """Check the configuration and keep it for the task."""
        PostgresSourceConfig.parse(props)
        self._props = dict(props)

    def task_class(self) -> type[Task]:
        """:class:`PostgresConnectorTask`."""
        return PostgresConnectorTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        """One task, whatever ``tasks.max`` says."""
        return [dict(self._props)]

    def stop(self) -> None:
        """Nothing to release."""


class PostgresConnectorTask(SourceTask):
    """Snapshot, then stream, one database's changes as Debezium events.

    ``poll`` runs on the worker's task thread; ``stop`` may come from another thread: it asks ``poll`` to
    return and closes the connections once ``poll`` is out of them.
    """

    def __init__(self) -> None:
        self.config: PostgresSourceConfig | None = None
        self.partition: dict[str, Any] = {}
        self._stopping = threading.Event()
        self._io_lock = threading.Lock()
        self._control: Any = None
        self._stream: ReplicationStream | None = None
        self._snapshot: SnapshotReader | None = None
        self._snapshot_rows: Iterator[tuple[int, list[Any]]] | None = None
        self._snapshot_pending: tuple[int, list[Any]] | None = None
        self._snapshot_tables: list[TableEvents] = []
        self._snapshot_first_done = False
        self._last_table_index = -1
        self._snapshot_lsn = 0
        self._start_lsn = 0
        self._streaming_wanted = True
        self._registry = TypeRegistry()
        self._by_relid: dict[int, TableEvents | None] = {}
        self._tables_by_oid: dict[int, TableInfo] = {}
        self._xid: int | None = None
        self._commit_us = 0
        self._last_commit: int | None = None
        self._lsn_seen: int | None = None
        self._lsn_count = 0
        self._skip: tuple[int, int, int] | None = None  # (txId, lsn_proc, events at lsn_proc) to skip
        self._last_offset: dict[str, Any] | None = None
        self._next_heartbeat = 0.0
        self._heartbeat_key: Any = None
        self._heartbeat_schemas = heartbeat_schemas()

    def version(self) -> str:
        """kcfast's version."""
        return __version__

    # -- start ------------------------------------------------------------------------------------------------

    def start(self, props: Mapping[str, str]) -> None:
        """Connect, check the tables, publication and slot, and prepare the snapshot or the stream.

        Raises:
            ConnectError: the database cannot be used; the message says why.
        """
        config = self.config = PostgresSourceConfig.parse(props)
        self.partition = {"server": config.topic_prefix}
        self._stopping.clear()
        key_schema, _ = self._heartbeat_schemas
        self._heartbeat_key = Struct._from_values(key_schema, [config.topic_prefix])
        self._control = connect(config)
        try:
            self._prepare(config)
        except BaseException:
            self._close_all()
            raise

    def _prepare(self, config: PostgresSourceConfig) -> None:
        with self._control.cursor() as cur:
            cur.execute("SHOW wal_level")
            level = cur.fetchone()[0]
            if level != "logical":
                raise ConnectError(f"PostgreSQL's wal_level is '{level}'; logical decoding needs 'logical'")
            tables = load_tables(cur, config.filter)
            found = {f"{t.schema}.{t.name}" for t in tables}
            missing = [name for name in config.filter.literal_tables if name not in found]
            if missing:
                raise ConnectError(f"Table(s) {', '.join(missing)} named in table.include.list do not exist in "
                                   f"database '{config.dbname}'")
            self._registry.load(cur, {c.type_oid for t in tables for c in t.columns})
            ensure_publication(cur, config, tables)
            slot = slot_state(cur, config.slot_name)
        if slot is not None and slot.plugin and slot.plugin != "pgoutput":
            raise ConnectError(f"Replication slot '{config.slot_name}' uses plug-in '{slot.plugin}', not pgoutput")
        if slot is not None and slot.database and slot.database != config.dbname:
            raise ConnectError(f"Replication slot '{config.slot_name}' belongs to database '{slot.database}'")
        for table in tables:
            self._tables_by_oid[table.oid] = table
        offset = self.context.offset_storage_reader().offset(self.partition)
        snapshot = self._needs_snapshot(config, offset, slot is not None)
        self._streaming_wanted = config.snapshot_mode != "initial_only" or not snapshot
        if offset is not None and config.snapshot_mode == "initial_only" and not snapshot:
            self._streaming_wanted = False
        self._stream = ReplicationStream(config)
        self._stream.open()
        created = None
        if slot is None and self._streaming_wanted:
            created = self._stream.create_slot(export_snapshot=snapshot)
        elif slot is None and snapshot:
            created = None  # initial_only without a slot: read the current state, never stream
        self._start_lsn = self._resume_position(offset, created.consistent_point if created else 0)
        if snapshot:
            self._begin_snapshot(config, tables, created.snapshot_name if created else None,
                                 created.consistent_point if created else None)
        elif self._streaming_wanted:
            self._stream.start(self._start_lsn)
        log.info("PostgreSQL source for '%s' started: snapshot=%s, streaming from %s", config.topic_prefix,
                 snapshot, format_lsn(self._start_lsn))

    @staticmethod
    def _needs_snapshot(config: PostgresSourceConfig, offset: Mapping[str, Any] | None, slot_exists: bool) -> bool:
        mode = config.snapshot_mode
        if mode in ("no_data", "never"):
            return False
        if mode == "always":
            return True
        if offset is None:
            return True
        unfinished = bool(offset.get("snapshot")) and not offset.get("last_snapshot_record") \
            and not offset.get("snapshot_completed")
        if unfinished:
            log.info("The previous snapshot did not complete: taking a new one")
            return True
        return mode == "when_needed" and not slot_exists

    def _resume_position(self, offset: Mapping[str, Any] | None, created_point: int) -> int:
        if created_point and (offset is None or not offset.get("lsn_commit")):
            return created_point
        if offset is None:
            return 0
        commit = offset.get("lsn_commit") or offset.get("lsn_proc")
        if offset.get("messageType") and offset.get("txId") is not None and offset.get("lsn_proc") is not None:
            self._skip = (int(offset["txId"]), int(offset["lsn_proc"]), int(offset.get("lsn_events_processed", 0)))
            self._last_commit = int(offset["lsn_commit"]) if offset.get("lsn_commit") else None
        if commit:
            return int(commit)
        lsn = offset.get("lsn")
        return int(lsn) if lsn else 0

    # -- snapshot ---------------------------------------------------------------------------------------------

    def _begin_snapshot(self, config: PostgresSourceConfig, tables: list[TableInfo], snapshot_name: str | None,
                        point: int | None) -> None:
        conn = connect(config)
        self._snapshot = SnapshotReader(conn, tables, config.snapshot_fetch_size, snapshot_name)
        self._snapshot_lsn = point if point is not None else parse_lsn(self._snapshot.current_lsn_text)
        self._snapshot_tables = [self._events_for(t) for t in tables]
        self._snapshot_rows = self._snapshot.rows()
        self._snapshot_pending = next(self._snapshot_rows, None)
        self._snapshot_first_done = False
        log.info("Snapshot of %d table(s) at %s (transaction %d)", len(tables), format_lsn(self._snapshot_lsn),
                 self._snapshot.txid)

    def _poll_snapshot(self) -> list[Any]:
        assert self._snapshot is not None and self._snapshot_rows is not None and self.config is not None
        config = self.config
        rows, tables = self._snapshot_rows, self._snapshot_tables
        reader = self._snapshot
        partition, prefix, db = self.partition, config.topic_prefix, config.dbname
        lsn, txid = self._snapshot_lsn, reader.txid
        now_us = time.time_ns() // 1000
        records: list[Any] = []
        pending = self._snapshot_pending
        while pending is not None and len(records) < config.max_batch_size:
            index, texts = pending
            following = next(rows, None)
            pending = following
            events = tables[index]
            first_in_table = self._first_in_table(index)
            last_in_table = following is None or following[0] != index
            last = following is None
            marker = snapshot_marker(not self._snapshot_first_done, last, first_in_table, last_in_table)
            self._snapshot_first_done = True
            self._last_table_index = index
            row = events.row(texts)
            source = source_struct(prefix, db, events.table.schema, events.table.name, now_us, marker, txid, lsn,
                                   None)
            offset = {"last_snapshot_record": last, "lsn": lsn, "txId": txid, "ts_usec": now_us,
                      "snapshot": "INITIAL", "snapshot_completed": False}
            records.append(SourceRecord(partition, offset, events.topic, None, events.key_schema,
                                        events.key(texts, row), events.envelope_schema,
                                        events.envelope(None, row, source, "r", now_us), now_us // 1000))
        self._snapshot_pending = pending
        if pending is None:
            self._finish_snapshot()
        return records

    def _first_in_table(self, index: int) -> bool:
        return index != self._last_table_index

    def _finish_snapshot(self) -> None:
        reader, self._snapshot, self._snapshot_rows = self._snapshot, None, None
        if reader is not None:
            reader.close()
        log.info("Snapshot completed")
        if self._last_offset is None:
            self._last_offset = {"lsn": self._snapshot_lsn, "txId": None, "ts_usec": time.time_ns() // 1000}
        if self._streaming_wanted and self._stream is not None:
            self._stream.start(self._start_lsn)

    # -- streaming --------------------------------------------------------------------------------------------

    def _events_for(self, table: TableInfo) -> TableEvents:
        assert self.config is not None
        return TableEvents(table, self.config.topic_prefix, self._registry, self.config.mapping,
                           self.config.filter.captures_column)

    def _on_relation(self, rel: RelationMessage) -> None:
        assert self.config is not None and self._control is not None
        if not self.config.filter.captures_table(rel.namespace, rel.name):
            self._by_relid[rel.relation_id] = None
            return
        known = self._tables_by_oid.get(rel.relation_id)
        names = tuple(c.name for c in rel.columns)
        if known is None or tuple(c.name for c in known.columns) != names or any(
                c.type_oid != k.type_oid or c.type_modifier != k.type_modifier
                for c, k in zip(rel.columns, known.columns)):
            with self._control.cursor() as cur:
                fresh = load_tables(cur, self.config.filter, [rel.relation_id])
                self._registry.load(cur, {c.type_oid for c in rel.columns})
            nullable = {c.name: c.nullable for t in fresh for c in t.columns}
            pkey = fresh[0].primary_key if fresh else ()
            known = TableInfo(rel.relation_id, rel.namespace, rel.name, tuple(
                ColumnInfo(c.name, c.type_oid, c.type_modifier, nullable.get(c.name, True)) for c in rel.columns),
                tuple(k for k in pkey if k in names), rel.replica_identity)
            self._tables_by_oid[rel.relation_id] = known
        current = self._by_relid.get(rel.relation_id)
        if current is None or current.table != known:
            self._by_relid[rel.relation_id] = self._events_for(known)

    def _offset(self, lsn: int, op: str) -> dict[str, Any]:
        if lsn == self._lsn_seen:
            self._lsn_count += 1
        else:
            self._lsn_seen, self._lsn_count = lsn, 1
        offset = {"lsn_proc": lsn, "messageType": _MESSAGE_TYPES[op], "lsn_events_processed": self._lsn_count,
                  "lsn_commit": self._last_commit, "lsn": lsn, "txId": self._xid, "ts_usec": self._commit_us}
        if self._last_commit is None:
            del offset["lsn_commit"]
        return offset

    def _skipped(self, lsn: int) -> bool:
        """Whether a change was emitted before the restart (the transaction resumed in the middle)."""
        skip = self._skip
        if skip is None or self._xid != skip[0]:
            return False
        if lsn < skip[1]:
            return True
        return lsn == skip[1] and self._lsn_count <= skip[2]

    def _poll_stream(self) -> list[Any]:
        assert self._stream is not None and self.config is not None
        config, stream = self.config, self._stream
        records: list[Any] = []
        deadline = time.monotonic() + config.poll_interval_s
        prefix, db, partition = config.topic_prefix, config.dbname, self.partition
        skipped_ops, tombstones = config.skipped_operations, config.tombstones_on_delete
        by_relid = self._by_relid
        now_us = time.time_ns() // 1000
        read = stream.read
        while len(records) < config.max_batch_size and not self._stopping.is_set():
            msg = read()
            if msg is None:
                if records:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                stream.wait(min(remaining, 0.2))
                continue
            data = decode(msg.payload)
            kind = data[0]
            lsn = msg.data_start
            if kind == "B":
                self._xid, self._commit_us = data[3], data[2]
                self._lsn_seen, self._lsn_count = None, 0
                continue
            if kind == "C":
                self._last_commit = lsn
                self._last_offset = {"lsn_proc": lsn, "messageType": "COMMIT", "lsn_commit": lsn, "lsn": lsn,
                                     "txId": self._xid, "ts_usec": self._commit_us}
                if self._skip is not None and self._xid == self._skip[0]:
                    self._skip = None
                continue
            if kind == "R":
                self._on_relation(data[1])
                continue
            if kind in ("Y", "O", "M"):
                continue
            if kind == "T":
                self._truncate(data, lsn, records, now_us, skipped_ops)
                continue
            events = by_relid.get(data[1])
            if events is None:
                continue
            op = "c" if kind == "I" else "u" if kind == "U" else "d"
            offset = self._offset(lsn, op)
            if self._skip is not None and self._skipped(lsn):
                continue
            if op in skipped_ops:
                continue
            source = source_struct(prefix, db, events.table.schema, events.table.name, self._commit_us, None,
                                   self._xid, lsn, self._last_commit)
            topic, key_schema, value_schema = events.topic, events.key_schema, events.envelope_schema
            if op == "c":
                after = events.row(data[2])
                records.append(SourceRecord(partition, offset, topic, None, key_schema, events.key(data[2], after),
                                            value_schema, events.envelope(None, after, source, "c", now_us),
                                            self._commit_us // 1000))
            elif op == "u":
                old = data[2]
                after = events.row(data[4], maybe_toast=True)
                key = events.key(data[4], after)
                before = events.row(old) if old is not None and data[3] == "O" else None
                old_key = events.key(old) if old is not None and key_schema is not None else None
                if old_key is not None and old_key != key:
                    # The primary key changed: a delete of the old key, its tombstone, then a create.
                    old_row = events.row(old)
                    records.append(SourceRecord(partition, offset, topic, None, key_schema, old_key, value_schema,
                                                events.envelope(old_row, None, source, "d", now_us),
                                                self._commit_us // 1000))
                    if tombstones:
                        records.append(SourceRecord(partition, offset, topic, None, key_schema, old_key, None,
                                                    None, self._commit_us // 1000))
                    records.append(SourceRecord(partition, offset, topic, None, key_schema, key, value_schema,
                                                events.envelope(None, after, source, "c", now_us),
                                                self._commit_us // 1000))
                else:
                    records.append(SourceRecord(partition, offset, topic, None, key_schema, key, value_schema,
                                                events.envelope(before, after, source, "u", now_us),
                                                self._commit_us // 1000))
            else:
                old = data[2]
                before = events.row(old)
                key = events.key(old, before)
                records.append(SourceRecord(partition, offset, topic, None, key_schema, key, value_schema,
                                            events.envelope(before, None, source, "d", now_us),
                                            self._commit_us // 1000))
                if tombstones:
                    records.append(SourceRecord(partition, offset, topic, None, key_schema, key, None, None,
                                                self._commit_us // 1000))
        if records:
            self._last_offset = records[-1].source_offset
        return records

    def _truncate(self, data: tuple[Any, ...], lsn: int, records: list[Any], now_us: int,
                  skipped_ops: frozenset[str]) -> None:
        assert self.config is not None
        for relid in data[1]:
            events = self._by_relid.get(relid)
            if events is None:
                continue
            offset = self._offset(lsn, "t")
            if "t" in skipped_ops or (self._skip is not None and self._skipped(lsn)):
                continue
            source = source_struct(self.config.topic_prefix, self.config.dbname, events.table.schema,
                                   events.table.name, self._commit_us, None, self._xid, lsn, self._last_commit)
            records.append(SourceRecord(self.partition, offset, events.topic, None, None, None,
                                        events.envelope_schema, events.envelope(None, None, source, "t", now_us),
                                        self._commit_us // 1000))

    def _heartbeat(self) -> list[Any]:
        assert self.config is not None
        if self.config.heartbeat_interval_s <= 0 or self._last_offset is None:
            return []
        now = time.monotonic()
        if now < self._next_heartbeat:
            return []
        self._next_heartbeat = now + self.config.heartbeat_interval_s
        key_schema, value_schema = self._heartbeat_schemas
        ts_ms = time.time_ns() // 1_000_000
        return [SourceRecord(self.partition, dict(self._last_offset), self.config.heartbeat_topic, 0, key_schema,
                             self._heartbeat_key, value_schema, Struct._from_values(value_schema, [ts_ms]), ts_ms)]

    # -- the SourceTask hooks ---------------------------------------------------------------------------------

    def poll(self) -> list[Any] | None:
        """The next batch of events (snapshot rows first, then streamed changes), or None after a short wait."""
        with self._io_lock:
            if self._stopping.is_set():
                return None
            if self._snapshot is not None:
                records = self._poll_snapshot()
            elif self._stream is not None and self._stream.streaming:
                records = self._poll_stream()
                if self._stream.streaming and self.config is not None and self.config.heartbeat_interval_s > 0:
                    records.extend(self._heartbeat())
            else:
                records = []
        if not records:
            if self._snapshot is None and (self._stream is None or not self._stream.streaming):
                self._stopping.wait(0.2)
            return None
        return records

    def commit(self) -> None:
        """Confirm the flushed offset's commit LSN to the slot (read back from the offset store)."""
        stream = self._stream
        if stream is None or not stream.streaming or self._stopping.is_set():
            return
        offset = self.context.offset_storage_reader().offset(self.partition)
        if not offset:
            return
        lsn = offset.get("lsn_commit")
        if lsn is None:
            return
        with self._io_lock:
            if self._stream is not None and self._stream.streaming:
                self._stream.confirm(int(lsn))

    def stop(self) -> None:
        """Make ``poll`` return, then close the connections (dropping the slot if so configured)."""
        self._stopping.set()
        acquired = self._io_lock.acquire(timeout=30)
        try:
            self._close_all()
        finally:
            if acquired:
                self._io_lock.release()

    def _close_all(self) -> None:
        if self._snapshot is not None:
            try:
                self._snapshot.close()
            except Exception:  # noqa: BLE001 - closing on stop
                pass
            self._snapshot = None
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        control, self._control = self._control, None
        if control is not None:
            config = self.config
            if config is not None and config.slot_drop_on_stop:
                try:
                    with control.cursor() as cur:
                        cur.execute("SELECT pg_drop_replication_slot(%s)", (config.slot_name,))
                except Exception as exc:  # noqa: BLE001 - the slot may be gone or busy
                    log.warning("Cannot drop replication slot '%s': %s", config.slot_name, exc)
            try:
                control.close()
            except Exception:  # noqa: BLE001
                pass
