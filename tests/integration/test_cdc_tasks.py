"""The CDC source and JDBC sink tasks driven directly against a real PostgreSQL (no Kafka)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kcfast.api import SinkRecord
from kcfast.connectors.jdbc import JdbcSinkTask
from kcfast.connectors.postgres import PostgresConnectorTask
from kcfast.errors import ConnectError
from kcfast.testing.postgres import EmbeddedPostgres

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "connectors"))
from connector_fakes import FakeSinkTaskContext, FakeSourceTaskContext  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pg() -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres() as server:
        yield server


def _execute(pg: EmbeddedPostgres, db: str, *statements: str) -> list[Any]:
    conn = pg.connect(db)
    rows: list[Any] = []
    try:
        with conn.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
                if cur.description is not None:
                    rows = cur.fetchall()
    finally:
        conn.close()
    return rows


def _poll_until(task: PostgresConnectorTask, count: int, timeout: float = 20) -> list[Any]:
    records: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(records) < count and time.monotonic() < deadline:
        records.extend(task.poll() or [])
    return records


def _start(pg: EmbeddedPostgres, context: FakeSourceTaskContext, db: str, **extra: str) -> PostgresConnectorTask:
    task = PostgresConnectorTask()
    task.initialize(context)
    task.start({**pg.connector_config(db), "topic.prefix": "t", "slot.name": f"{db}_slot",
                "poll.interval.ms": "100", **extra})
    return task


def test_restart_in_the_middle_of_a_transaction_neither_loses_nor_repeats(pg: EmbeddedPostgres) -> None:
    db = pg.create_database("resume")
    _execute(pg, db, "CREATE TABLE items (id int PRIMARY KEY, v text)", "INSERT INTO items VALUES (1, 'a')")
    context = FakeSourceTaskContext()
    task = _start(pg, context, db)
    snapshot = _poll_until(task, 1)
    assert [r.value.get("op") for r in snapshot] == ["r"]
    assert snapshot[0].source_offset["last_snapshot_record"] is True
    context.commit_records(snapshot)
    _execute(pg, db, "BEGIN; INSERT INTO items SELECT g, 'x' FROM generate_series(2, 11) g; "
                     "UPDATE items SET v = 'b' WHERE id = 1; DELETE FROM items WHERE id = 2; COMMIT")
    first = _poll_until(task, 13)
    assert [r.value.get("op") if r.value else None for r in first] == ["c"] * 10 + ["u", "d", None]
    assert len({r.source_offset["txId"] for r in first}) == 1
    # Only the first five events reached Kafka and the offset store before the worker stopped.
    context.commit_records(first[:5])
    task.commit()
    task.stop()

    task = _start(pg, context, db)
    rest = _poll_until(task, 8)
    task.stop()
    assert [r.key.get("id") for r in rest] == [r.key.get("id") for r in first[5:]]
    assert [r.source_offset["lsn_proc"] for r in rest] == [r.source_offset["lsn_proc"] for r in first[5:]]


def test_snapshot_modes_truncate_events_and_heartbeats(pg: EmbeddedPostgres) -> None:
    db = pg.create_database("modes")
    _execute(pg, db, "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1), (2)")
    context = FakeSourceTaskContext()
    task = _start(pg, context, db, **{"snapshot.mode": "no_data", "skipped.operations": "none",
                                      "heartbeat.interval.ms": "100"})
    _execute(pg, db, "INSERT INTO t VALUES (3)", "TRUNCATE t")
    records: list[Any] = []
    deadline = time.monotonic() + 20
    while (len([r for r in records if r.topic == "t.public.t"]) < 2
           or not any(r.topic == "__debezium-heartbeat.t" for r in records)) and time.monotonic() < deadline:
        records.extend(task.poll() or [])
    task.stop()
    beats = [r for r in records if r.topic == "__debezium-heartbeat.t"]
    ops = [r.value.get("op") for r in records if r.topic == "t.public.t"]
    assert ops == ["c", "t"], "no snapshot rows with no_data; the truncate is emitted once not skipped"
    assert beats and beats[0].key.get("serverName") == "t" and beats[0].source_partition == {"server": "t"}
    assert "lsn_commit" in beats[0].source_offset


def _sink_record(topic: str, key: Any, value: Any, offset: int) -> SinkRecord:
    return SinkRecord(topic, 0, key.schema if key is not None else None, key,
                      value.schema if value is not None else None, value, offset)


def test_sink_upserts_deletes_and_reports_a_missing_table(pg: EmbeddedPostgres) -> None:
    db = pg.create_database("sinkdb")
    _execute(pg, db, "CREATE TABLE items (id int PRIMARY KEY, v text)", "INSERT INTO items VALUES (1, 'a'), (2, 'b')")
    context = FakeSourceTaskContext()
    source = _start(pg, context, db)
    events = _poll_until(source, 2)
    _execute(pg, db, "UPDATE items SET v = 'c' WHERE id = 1", "DELETE FROM items WHERE id = 2",
             "INSERT INTO items VALUES (3, 'z')")
    events += _poll_until(source, 4)
    source.stop()
    _execute(pg, db, "CREATE TABLE copy (id int PRIMARY KEY, v text)")
    sink = JdbcSinkTask()
    sink.initialize(FakeSinkTaskContext())
    sink.start({"connection.url": pg.jdbc_url(db), "connection.username": pg.user,
                "connection.password": pg.password, "insert.mode": "upsert", "primary.key.mode": "record_key",
                "delete.enabled": "true", "collection.name.format": "copy"})
    records = [_sink_record(r.topic, r.key, r.value, i) for i, r in enumerate(events)]
    sink.put(records[:3])
    sink.put(records[3:])
    sink.put(records)  # delivered again: applying the same events twice changes nothing
    assert _execute(pg, db, "SELECT id, v FROM copy ORDER BY id") == [(1, "c"), (3, "z")]
    sink.stop()

    strict = JdbcSinkTask()
    strict.initialize(FakeSinkTaskContext())
    strict.start({"connection.url": pg.jdbc_url(db), "connection.username": pg.user,
                  "connection.password": pg.password, "collection.name.format": "absent"})
    with pytest.raises(ConnectError, match="absent does not exist"):
        strict.put(records[:1])
    strict.stop()
