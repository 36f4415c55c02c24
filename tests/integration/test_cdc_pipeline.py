"""PostgreSQL table A -> CDC source -> Kafka -> JDBC sink -> table B, with ``kcfast standalone`` and a real server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kcfast.kafka.clients import create_topics, new_consumer
from kcfast.storage.javaser import decode_hashmap
from kcfast.testing.postgres import EmbeddedPostgres

pytestmark = pytest.mark.integration

COLUMNS = "id, name, amount, created, happened, payload, flag, uid, qty, note"
TABLE_A = """
CREATE TABLE a (
    id serial PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12,2),
    created timestamp,
    happened timestamptz,
    payload jsonb,
    flag boolean NOT NULL DEFAULT false,
    uid uuid,
    qty integer,
    note varchar(40)
)
"""
INSERT_ROWS = """
INSERT INTO a (name, amount, created, happened, payload, flag, uid, qty, note)
SELECT 'name ' || g, g * 1.25, timestamp '2024-01-01 00:00:00' + g * interval '1 minute 0.123456 second',
       timestamptz '2024-06-01 12:00:00+02' + g * interval '1 hour', jsonb_build_object('g', g, 'tags', array['x', 'y']),
       g %% 2 = 0, md5(g::text)::uuid, g %% 97, CASE WHEN g %% 5 = 0 THEN NULL ELSE 'note ' || g END
FROM generate_series(%s, %s) g
"""


@pytest.fixture(scope="module")
def pg() -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres() as server:
        yield server


def _content_hash(pg: EmbeddedPostgres, dbname: str, table: str) -> tuple[int, str]:
    conn = pg.connect(dbname)
    try:
        with conn.cursor() as cur:
            cur.execute("SET TimeZone = 'UTC'")
            cur.execute(f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t.id)), '') "
                        f"FROM (SELECT {COLUMNS} FROM {table}) t")
            count, digest = cur.fetchone()
            return int(count), str(digest)
    finally:
        conn.close()


def _mutate(pg: EmbeddedPostgres, step: int) -> None:
    """One round of streamed changes: inserts, updates, deletes, in a few transactions."""
    conn = pg.connect("src")
    try:
        with conn.cursor() as cur:
            base = 2000 + step * 100
            cur.execute(INSERT_ROWS, (base, base + 19))
            cur.execute("UPDATE a SET name = name || ' upd', amount = amount + 1, payload = payload || "
                        "'{\"u\": true}' WHERE id %% 7 = %s", (step % 7,))
            cur.execute("DELETE FROM a WHERE id IN (SELECT id FROM a WHERE id %% 11 = %s ORDER BY id LIMIT 5)",
                        (step % 11,))
        conn.autocommit = False
        with conn.cursor() as cur:  # one transaction with every kind of change
            cur.execute(INSERT_ROWS, (base + 50, base + 52))
            cur.execute("UPDATE a SET qty = coalesce(qty, 0) + 1 WHERE id = (SELECT min(id) FROM a)")
            cur.execute("DELETE FROM a WHERE id = (SELECT max(id) FROM a WHERE id < %s)", (base,))
        conn.commit()
    finally:
        conn.close()


def _connector_files(workdir: Path, pg: EmbeddedPostgres, topic: str) -> list[Path]:
    source = {
        "name": "pg-source", "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "tasks.max": "1", "plugin.name": "pgoutput", "topic.prefix": "cdc", "slot.name": "kcfast_it",
        "publication.autocreate.mode": "filtered", "table.include.list": "public.a",
        "heartbeat.interval.ms": "500", "poll.interval.ms": "100",
        "database.hostname": pg.host, "database.port": str(pg.port), "database.user": pg.user,
        "database.password": pg.password, "database.dbname": "src",
    }
    sink = {
        "name": "pg-sink", "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector", "tasks.max": "1",
        "topics": topic, "connection.url": pg.jdbc_url("sink"), "connection.username": pg.user,
        "connection.password": pg.password, "insert.mode": "upsert", "delete.enabled": "true",
        "primary.key.mode": "record_key", "schema.evolution": "basic", "collection.name.format": "b",
        "consumer.override.max.poll.records": "500",
    }
    paths = []
    for conf in (source, sink):
        path = workdir / f"{conf['name']}.json"
        path.write_text(json.dumps({"name": conf["name"], "config": conf}), encoding="utf-8")
        paths.append(path)
    return paths


def _wait_equal(worker: Any, pg: EmbeddedPostgres, what: str) -> None:
    def same() -> bool:
        try:
            return _content_hash(pg, "src", "a") == _content_hash(pg, "sink", "b")
        except Exception:  # noqa: BLE001 - table b may not exist yet
            return False

    worker.wait_for(same, timeout=90, what=what)


def _read_topic(bootstrap: str, topic: str, expected_at_least: int) -> list[Any]:
    consumer = new_consumer({"bootstrap.servers": bootstrap, "group.id": f"it-{time.time_ns()}",
                             "auto.offset.reset": "earliest", "enable.auto.commit": False,
                             "session.timeout.ms": 6000})
    consumer.subscribe([topic])
    messages: list[Any] = []
    deadline = time.monotonic() + 60
    idle_since = time.monotonic()
    try:
        while time.monotonic() < deadline:
            batch = consumer.consume(num_messages=1000, timeout=0.5)
            batch = [m for m in batch if m.error() is None]
            if batch:
                messages.extend(batch)
                idle_since = time.monotonic()
            elif len(messages) >= expected_at_least and time.monotonic() - idle_since > 2:
                break
    finally:
        consumer.close()
    return messages


def _slot_lsn(pg: EmbeddedPostgres) -> int:
    conn = pg.connect("src")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT confirmed_flush_lsn - '0/0'::pg_lsn FROM pg_replication_slots "
                        "WHERE slot_name = 'kcfast_it'")
            row = cur.fetchone()
            return int(row[0]) if row else -1
    finally:
        conn.close()


def test_snapshot_then_stream_through_kafka_into_table_b_across_restart(standalone, kafka, workdir: Path,
                                                                         pg: EmbeddedPostgres) -> None:
    pg.create_database("src")
    pg.create_database("sink")
    conn = pg.connect("src")
    with conn.cursor() as cur:
        cur.execute(TABLE_A)
        cur.execute(INSERT_ROWS, (1, 1000))
    conn.close()
    topic = "cdc.public.a"
    create_topics(kafka.bootstrap_servers, {topic: 1})
    files = _connector_files(workdir, pg, topic)

    worker = standalone(files)
    _wait_equal(worker, pg, "the 1,000-row snapshot in table b")
    assert _content_hash(pg, "sink", "b")[0] == 1000

    # Streamed changes while the worker runs, then a stop in the middle of a stream of changes.
    stop_writer = threading.Event()
    rounds = {"n": 0}

    def writer() -> None:
        while not stop_writer.is_set() and rounds["n"] < 40:
            _mutate(pg, rounds["n"])
            rounds["n"] += 1
            time.sleep(0.05)

    thread = threading.Thread(target=writer)
    thread.start()
    worker.wait_for(lambda: rounds["n"] >= 10, what="changes written while the worker runs")
    assert worker.stop() == 0
    worker.wait_for(lambda: rounds["n"] >= 20, what="changes written while the worker is down")
    worker = standalone(files)
    thread.join(timeout=120)
    stop_writer.set()
    assert rounds["n"] == 40
    _wait_equal(worker, pg, "table b equal to table a after the restart")

    count, _ = _content_hash(pg, "src", "a")
    assert count > 1000

    # The slot follows the flushed offsets: it moved past the snapshot point.
    time.sleep(1.5)
    statuses = worker.http.get("/connectors/pg-source/status")[1]
    assert statuses["tasks"][0]["state"] == "RUNNING", statuses
    assert _slot_lsn(pg) > 0
    assert worker.stop() == 0

    offsets = decode_hashmap((workdir / "connect.offsets").read_bytes())
    stored = offsets[b'["pg-source",{"server":"cdc"}]']
    offset = json.loads(stored)
    assert {"lsn", "lsn_proc", "txId", "ts_usec"} <= set(offset)
    assert _slot_lsn(pg) <= offset.get("lsn_commit", offset["lsn"]), "the slot never passes the flushed offset"

    messages = _read_topic(kafka.bootstrap_servers, topic, 1000)
    ops: dict[str, int] = {}
    tombstones = 0
    previous_op = None
    for msg in messages:
        if msg.value() is None:
            tombstones += 1
            assert previous_op == "d", "a tombstone follows its delete event"
            previous_op = None
            continue
        event = json.loads(msg.value())
        payload = event["payload"]
        ops[payload["op"]] = ops.get(payload["op"], 0) + 1
        previous_op = payload["op"]
        assert event["schema"]["name"] == "cdc.public.a.Envelope"
        assert [f["field"] for f in event["schema"]["fields"]] == [
            "before", "after", "source", "transaction", "op", "ts_ms", "ts_us", "ts_ns"]
        source = payload["source"]
        assert source["connector"] == "postgresql" and source["name"] == "cdc" and source["db"] == "src"
        assert source["schema"] == "public" and source["table"] == "a" and isinstance(source["lsn"], int)
        key = json.loads(msg.key())
        assert key["schema"]["name"] == "cdc.public.a.Key" and set(key["payload"]) == {"id"}
    assert ops.get("r", 0) == 1000
    assert ops.get("c", 0) > 0 and ops.get("u", 0) > 0 and ops.get("d", 0) > 0
    assert tombstones == ops["d"]
