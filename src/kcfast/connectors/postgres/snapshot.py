"""The initial snapshot: every captured table read in one repeatable-read transaction, as text rows.

With a slot created by this task, the transaction imports the snapshot the slot exported, so the rows are
exactly the state at the slot's consistent point and streaming from that point misses and repeats nothing.
Otherwise it reads the current state and streaming resumes from the slot's confirmed position (changes
between that position and the snapshot are delivered again: at least once).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from kcfast.connectors.postgres.catalog import TableInfo, quote_ident

__all__ = ["SnapshotReader"]

_CURRENT_TXID = "SELECT CASE pg_is_in_recovery() WHEN true THEN 0 ELSE txid_current() END, " \
                "pg_current_wal_lsn()::text"


class SnapshotReader:
    """Reads the rows of ``tables`` in one transaction; :meth:`batches` yields them table by table.

    Values are the server's text output (psycopg2's type casting is replaced by identity for every column
    type), the same text ``pgoutput`` streams, so both go through the same converters.
    """

    def __init__(self, conn: Any, tables: list[TableInfo], fetch_size: int, snapshot_name: str | None) -> None:
        import psycopg2.extensions

        self.conn = conn
        self.tables = tables
        self.fetch_size = fetch_size
        conn.autocommit = False
        oids = sorted({c.type_oid for t in tables for c in t.columns})
        if oids:
            raw = psycopg2.extensions.new_type(tuple(oids), "KCFAST_TEXT", lambda value, cursor: value)
            psycopg2.extensions.register_type(raw, conn)
        with conn.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            if snapshot_name:
                cur.execute("SET TRANSACTION SNAPSHOT %s", (snapshot_name,))
            cur.execute(_CURRENT_TXID)
            txid, lsn = cur.fetchone()
        self.txid: int = int(txid)
        self.current_lsn_text: str = lsn
        self.started_us = time.time_ns() // 1000

    def batches(self) -> Iterator[tuple[int, list[tuple[Any, ...]]]]:
        """``(table index, rows)`` for every table, ``snapshot.fetch.size`` rows at a time (never empty);
        each row holds the text values in column order."""
        for index, table in enumerate(self.tables):
            if not table.columns:
                continue
            columns = ", ".join(quote_ident(c.name) for c in table.columns)
            with self.conn.cursor(name=f"kcfast_snapshot_{index}") as cur:
                cur.itersize = self.fetch_size
                cur.execute(f"SELECT {columns} FROM {table.qualified}")
                while True:
                    batch = cur.fetchmany(self.fetch_size)
                    if not batch:
                        break
                    yield index, batch

    def close(self) -> None:
        """End the transaction and close the connection."""
        try:
            self.conn.rollback()
        finally:
            self.conn.close()
