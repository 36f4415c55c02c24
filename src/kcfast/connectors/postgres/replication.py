"""Connections, the publication, the replication slot and the logical replication stream (psycopg2)."""

from __future__ import annotations

import logging
import re
import select
import time
from dataclasses import dataclass
from typing import Any

from kcfast.connectors.postgres.catalog import TableInfo
from kcfast.connectors.postgres.config import PostgresSourceConfig
from kcfast.connectors.postgres.pgoutput import format_lsn, parse_lsn
from kcfast.errors import ConnectError, RetriableError

__all__ = ["CreatedSlot", "ReplicationStream", "SlotState", "connect", "ensure_publication", "slot_state"]

log = logging.getLogger(__name__)


def _describe(config: PostgresSourceConfig) -> str:
    return f"{config.host}:{config.port}/{config.dbname} as {config.user}"


def connect(config: PostgresSourceConfig, replication: bool = False) -> Any:
    """A psycopg2 connection (autocommit), or a logical replication connection.

    Raises:
        ConnectError: the server cannot be reached or refuses the login; the message says why.
    """
    import psycopg2
    import psycopg2.extras

    kwargs = config.dsn()
    try:
        if replication:
            conn = psycopg2.connect(connection_factory=psycopg2.extras.LogicalReplicationConnection, **kwargs)
        else:
            conn = psycopg2.connect(**kwargs)
            conn.autocommit = True
    except psycopg2.OperationalError as exc:
        reason = str(exc).strip().replace("\n", " ")
        raise ConnectError(f"Unable to connect to PostgreSQL {_describe(config)}: {reason}") from exc
    return conn


def ensure_publication(cursor: Any, config: PostgresSourceConfig, tables: list[TableInfo]) -> None:
    """Create the publication or bring it in line with ``publication.autocreate.mode``.

    Raises:
        ConnectError: the publication is missing and may not be created, or cannot be created.
    """
    name, mode = config.publication_name, config.publication_autocreate_mode
    cursor.execute("SELECT puballtables FROM pg_publication WHERE pubname = %s", (name,))
    row = cursor.fetchone()
    quoted = '"' + name.replace('"', '""') + '"'
    table_list = ", ".join(t.qualified for t in tables)
    try:
        if row is None:
            if mode == "disabled":
                raise ConnectError(f"Publication '{name}' does not exist and publication.autocreate.mode is "
                                   "'disabled'; create it or change the mode")
            if mode == "all_tables":
                cursor.execute(f"CREATE PUBLICATION {quoted} FOR ALL TABLES")
            elif mode == "filtered":
                if not tables:
                    raise ConnectError(f"No table to capture: cannot create the filtered publication '{name}'")
                cursor.execute(f"CREATE PUBLICATION {quoted} FOR TABLE {table_list}")
            else:
                cursor.execute(f"CREATE PUBLICATION {quoted}")
            log.info("Created publication '%s' (%s)", name, mode)
        elif mode == "filtered" and not row[0] and tables:
            cursor.execute(f"ALTER PUBLICATION {quoted} SET TABLE {table_list}")
    except ConnectError:
        raise
    except Exception as exc:
        if getattr(exc, "pgcode", None) == "23505" and row is None:  # unique_violation
            # Another task or connector created it between the check and the CREATE: use theirs.
            log.info("Publication '%s' was created concurrently; using it", name)
            return
        raise ConnectError(f"Cannot create or update publication '{name}': {str(exc).strip()}") from exc


@dataclass(frozen=True)
class SlotState:
    """A row of ``pg_replication_slots``."""

    plugin: str
    database: str
    active_pid: int | None
    confirmed_flush_lsn: int | None


def slot_state(cursor: Any, slot: str) -> SlotState | None:
    """The slot named ``slot``, or None."""
    cursor.execute("SELECT plugin, database, active_pid, confirmed_flush_lsn::text FROM pg_replication_slots "
                   "WHERE slot_name = %s", (slot,))
    row = cursor.fetchone()
    if row is None:
        return None
    return SlotState(row[0] or "", row[1] or "", row[2], parse_lsn(row[3]) if row[3] else None)


@dataclass(frozen=True)
class CreatedSlot:
    """A slot created by this task: its consistent point and exported snapshot name."""

    consistent_point: int
    snapshot_name: str | None


_ACTIVE_RE = re.compile(r'replication slot "[^"]*" is active')


class ReplicationStream:
    """The logical replication connection of one task: creates the slot, streams, confirms positions.

    Not thread-safe: the task's thread uses it; :meth:`close` may come from the stopping thread once the
    task's thread is out of it.
    """

    def __init__(self, config: PostgresSourceConfig) -> None:
        self.config = config
        self.conn: Any = None
        self.cursor: Any = None
        self.streaming = False
        self.flushed_lsn = 0

    def open(self) -> None:
        """Open the replication connection."""
        self.conn = connect(self.config, replication=True)
        self.cursor = self.conn.cursor()

    def create_slot(self, export_snapshot: bool) -> CreatedSlot:
        """Create the slot; with ``export_snapshot`` the snapshot stays importable until the next command here.

        Raises:
            ConnectError: the slot cannot be created.
        """
        slot = self.config.slot_name
        mode = "EXPORT_SNAPSHOT" if export_snapshot else "NOEXPORT_SNAPSHOT"
        try:
            self.cursor.execute(f'CREATE_REPLICATION_SLOT "{slot}" LOGICAL pgoutput {mode}')
            _name, point, snapshot, _plugin = self.cursor.fetchone()
        except Exception as exc:
            raise ConnectError(f"Cannot create replication slot '{slot}': {str(exc).strip()}") from exc
        log.info("Created replication slot '%s' at %s", slot, point)
        return CreatedSlot(parse_lsn(point), snapshot)

    def start(self, start_lsn: int) -> None:
        """Start streaming from ``start_lsn`` (0: from the slot's confirmed position).

        An active slot (another client streams from it) is retried ``slot.max.retries`` times,
        ``slot.retry.delay.ms`` apart.

        Raises:
            ConnectError: the slot stays in use, or streaming cannot start.
        """
        import psycopg2

        config = self.config
        options = {"proto_version": "1", "publication_names": config.publication_name}
        attempt = 0
        while True:
            try:
                self.cursor.start_replication(slot_name=config.slot_name, decode=False, start_lsn=start_lsn,
                                              options=options,
                                              status_interval=max(config.status_interval_s, 1.0))
                break
            except psycopg2.Error as exc:
                text = str(exc).strip()
                if _ACTIVE_RE.search(text) and attempt < config.slot_max_retries:
                    attempt += 1
                    log.warning("Replication slot '%s' is in use (attempt %d of %d): %s", config.slot_name,
                                attempt, config.slot_max_retries, text)
                    self._reopen()
                    time.sleep(config.slot_retry_delay_s)
                    continue
                raise ConnectError(f"Cannot start streaming from replication slot '{config.slot_name}' at "
                                   f"{format_lsn(start_lsn)}: {text}") from exc
        self.streaming = True
        self.flushed_lsn = start_lsn
        log.info("Streaming from slot '%s' at %s", config.slot_name, format_lsn(start_lsn))

    def _reopen(self) -> None:
        self.close()
        self.open()

    def read(self) -> Any:
        """The next message, or None when none is waiting (never blocks).

        Raises:
            RetriableError: the connection failed.
        """
        try:
            return self.cursor.read_message()
        except Exception as exc:
            raise ConnectError(f"Logical replication stream failed: {str(exc).strip()}") from exc

    def read_events(self, decoder: Any, max_records: int, max_messages: int, now_us: int) -> list[Any]:
        """The events of the waiting messages, decoded by the record core in one call
        (``kcfast.core.PgoutputDecoder.read``); never blocks.

        Raises:
            ConnectError: the connection failed.
            DataError: a message cannot be decoded or a value converted.
        """
        import psycopg2

        try:
            return decoder.read(self.cursor.read_message, max_records, max_messages, now_us)  # type: ignore[no-any-return]
        except psycopg2.Error as exc:
            raise ConnectError(f"Logical replication stream failed: {str(exc).strip()}") from exc

    def wait(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for data on the connection."""
        if timeout > 0:
            select.select([self.conn], [], [], timeout)

    def confirm(self, lsn: int) -> None:
        """Tell the server everything up to ``lsn`` is durably processed (the slot may release that WAL)."""
        if not self.streaming or lsn <= self.flushed_lsn:
            return
        try:
            self.cursor.send_feedback(write_lsn=lsn, flush_lsn=lsn, reply=False)
        except Exception as exc:
            raise RetriableError(f"Cannot confirm LSN {format_lsn(lsn)}: {str(exc).strip()}") from exc
        self.flushed_lsn = lsn
        log.debug("Confirmed %s to slot '%s'", format_lsn(lsn), self.config.slot_name)

    def close(self) -> None:
        """Close the connection (ends streaming)."""
        conn, self.conn, self.cursor = self.conn, None, None
        self.streaming = False
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001, S110 - closing a broken connection
                pass
