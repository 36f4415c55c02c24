"""The PostgreSQL CDC source connector and its task.

The task captures the tables of one database through a logical replication slot with the ``pgoutput``
plug-in: an initial snapshot (``snapshot.mode``), then the stream of committed changes, as Debezium change
events. Its source partition is ``{"server": <topic.prefix>}``; offsets carry Debezium's keys (``lsn``,
``lsn_proc``, ``lsn_commit``, ``txId``, ``ts_usec``, ``messageType``, ``lsn_events_processed``; during the
snapshot ``snapshot``, ``last_snapshot_record``, ``snapshot_completed``), so a restart resumes where the
flushed offsets say. After each offset flush the task reads the flushed offset back and confirms its
``lsn_commit`` to the slot: the server keeps the WAL of everything not yet committed to the offset store,
and nothing more.

The task keeps the control flow (slot, publication, snapshot, offsets, heartbeats). Per event work runs in the
record core, one call per batch: ``kcfast.core.PgoutputDecoder`` decodes the replication messages and builds
the events of the stream, ``kcfast.core.PgTable.snapshot_records`` those of the snapshot rows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

from kcfast import core
from kcfast._version import __version__
from kcfast.api import ConfigDef, SourceConnector, SourceRecord, SourceTask, Task
from kcfast.connectors.postgres.catalog import ColumnInfo, TableInfo, TypeRegistry, load_tables
from kcfast.connectors.postgres.config import POSTGRES_CONFIG_DEF, PostgresSourceConfig
from kcfast.connectors.postgres.events import TableEvents, heartbeat_schemas, snapshot_marker
from kcfast.connectors.postgres.pgoutput import RelationMessage, decode, format_lsn, parse_lsn
from kcfast.connectors.postgres.replication import (
    ReplicationStream,
    connect,
    ensure_publication,
    slot_state,
)
from kcfast.connectors.postgres.snapshot import SnapshotReader
from kcfast.data import Struct
from kcfast.errors import ConnectError, KcfastError

__all__ = ["PostgresConnector", "PostgresConnectorTask"]

log = logging.getLogger(__name__)

#: Replication messages read per core call at most, as a multiple of ``max.batch.size``: a stream busy with
#: tables that are not captured still returns to the task loop (stop requests, offset commits) regularly.
_MESSAGES_PER_RECORD = 4


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
        self._snapshot_batches: Iterator[tuple[int, list[Any]]] | None = None
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
        self._decoder: Any = None  # core.PgoutputDecoder: the stream's position and event building
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
        self._by_relid = {}
        self._decoder = core.PgoutputDecoder(self.partition, self._relation, config.tombstones_on_delete,
                                             config.skipped_operations)
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
            self._decoder.skip = (int(offset["txId"]), int(offset["lsn_proc"]),
                                  int(offset.get("lsn_events_processed", 0)))
            self._decoder.last_commit_lsn = int(offset["lsn_commit"]) if offset.get("lsn_commit") else None
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
        self._snapshot_batches = self._snapshot.batches()
        self._snapshot_pending = next(self._snapshot_batches, None)
        self._snapshot_first_done = False
        log.info("Snapshot of %d table(s) at %s (transaction %d)", len(tables), format_lsn(self._snapshot_lsn),
                 self._snapshot.txid)

    def _poll_snapshot(self) -> list[Any]:
        assert self._snapshot is not None and self._snapshot_batches is not None and self.config is not None
        batches, tables = self._snapshot_batches, self._snapshot_tables
        lsn, txid = self._snapshot_lsn, self._snapshot.txid
        now_us = time.time_ns() // 1000
        records: list[Any] = []
        room = self.config.max_batch_size
        pending = self._snapshot_pending
        while pending is not None and room > 0:
            index, rows = pending
            if len(rows) > room:
                rows, rest = rows[:room], rows[room:]
                pending = (index, rest)
            else:
                pending = next(batches, None)
            # Debezium's snapshot markers: first / last row of the snapshot and of each table.
            first, single = not self._snapshot_first_done, len(rows) == 1
            first_in_table = self._first_in_table(index)
            last = pending is None
            last_in_table = last or pending[0] != index  # type: ignore[index]
            first_marker = snapshot_marker(first, last and single, first_in_table, last_in_table and single)
            last_marker = snapshot_marker(first and single, last, first_in_table and single, last_in_table)
            self._snapshot_first_done = True
            self._last_table_index = index
            records += tables[index].plan.snapshot_records(rows, self.partition, lsn, txid, now_us, first_marker,
                                                           last_marker, last)
            room -= len(rows)
        self._snapshot_pending = pending
        if pending is None:
            self._finish_snapshot()
        return records

    def _first_in_table(self, index: int) -> bool:
        return index != self._last_table_index

    def _finish_snapshot(self) -> None:
        reader, self._snapshot, self._snapshot_batches = self._snapshot, None, None
        if reader is not None:
            reader.close()
        log.info("Snapshot completed")
        if self._decoder.offset is None:
            self._decoder.offset = {"lsn": self._snapshot_lsn, "txId": None, "ts_usec": time.time_ns() // 1000}
        if self._streaming_wanted and self._stream is not None:
            self._stream.start(self._start_lsn)

    # -- streaming --------------------------------------------------------------------------------------------

    def _events_for(self, table: TableInfo) -> TableEvents:
        assert self.config is not None
        return TableEvents(table, self.config.topic_prefix, self._registry, self.config.mapping,
                           self.config.filter.captures_column, self.config.dbname)

    def _relation(self, payload: bytes) -> Any:
        """The core's ``on_relation``: the plan of the table a relation message describes (None if not captured).

        Raises:
            ConnectError: the table's definition cannot be read from the catalog.
        """
        _, rel = decode(payload)
        try:
            self._on_relation(rel)
        except KcfastError:
            raise
        except Exception as exc:
            raise ConnectError(f"Cannot read the definition of {rel.namespace}.{rel.name}: "
                               f"{str(exc).strip()}") from exc
        events = self._by_relid.get(rel.relation_id)
        return None if events is None else events.plan

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

    def _poll_stream(self) -> list[Any]:
        """The events of the messages waiting on the stream (one core call per batch), waiting up to
        ``poll.interval.ms`` for the first."""
        assert self._stream is not None and self.config is not None
        stream, decoder = self._stream, self._decoder
        max_records = self.config.max_batch_size
        deadline = time.monotonic() + self.config.poll_interval_s
        while not self._stopping.is_set():
            records = stream.read_events(decoder, max_records, max_records * _MESSAGES_PER_RECORD,
                                         time.time_ns() // 1000)
            if records:
                return records
            if not decoder.drained:
                continue  # only messages of tables that are not captured so far
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            stream.wait(min(remaining, 0.2))
        return []

    def _heartbeat(self) -> list[Any]:
        assert self.config is not None
        last_offset = self._decoder.offset
        if self.config.heartbeat_interval_s <= 0 or last_offset is None:
            return []
        now = time.monotonic()
        if now < self._next_heartbeat:
            return []
        self._next_heartbeat = now + self.config.heartbeat_interval_s
        key_schema, value_schema = self._heartbeat_schemas
        ts_ms = time.time_ns() // 1_000_000
        return [SourceRecord(self.partition, dict(last_offset), self.config.heartbeat_topic, 0, key_schema,
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
            except Exception:  # noqa: BLE001, S110 - closing on stop
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
            except Exception:  # noqa: BLE001, S110 - closing on stop
                pass
