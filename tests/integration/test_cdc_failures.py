"""Bad database settings fail the CDC tasks with their reason while the worker keeps serving."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from kcfast.testing import free_port
from kcfast.testing.postgres import EmbeddedPostgres

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pg() -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres() as server:
        conn = server.connect()
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
            cur.execute("INSERT INTO t VALUES (1, 'one')")
        conn.close()
        yield server


def _source(name: str, pg: EmbeddedPostgres, **overrides: str) -> dict[str, str]:
    config = {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector", "topic.prefix": name,
        "slot.name": name.replace("-", "_"), "plugin.name": "pgoutput", "slot.max.retries": "0",
        **pg.connector_config(),
    }
    config.update(overrides)
    return config


def _task_state(worker: Any, name: str) -> Any:
    status, body = worker.http.get(f"/connectors/{name}/status")
    if status != 200 or not body.get("tasks"):
        return None
    return body["tasks"][0]


def _failed_trace(worker: Any, name: str) -> str:
    task = worker.wait_for(lambda: (t := _task_state(worker, name)) and t["state"] == "FAILED" and t,
                           timeout=60, what=f"{name} task FAILED")
    return str(task["trace"])


def test_bad_database_settings_fail_with_reason_and_worker_keeps_serving(standalone, pg: EmbeddedPostgres) -> None:
    worker = standalone([])
    holder = pg.connect()
    with holder.cursor() as cur:
        cur.execute("SELECT pg_create_logical_replication_slot('busy_slot', 'pgoutput')")
    holder.close()
    import psycopg2
    import psycopg2.extras

    busy = psycopg2.connect(pg.dsn(), connection_factory=psycopg2.extras.LogicalReplicationConnection)
    busy_cur = busy.cursor()
    conn = pg.connect()
    with conn.cursor() as cur:
        cur.execute("CREATE PUBLICATION busy_pub FOR ALL TABLES")
    conn.close()
    busy_cur.start_replication(slot_name="busy_slot", decode=False,
                               options={"proto_version": "1", "publication_names": "busy_pub"})
    try:
        cases = {
            "unreachable": (_source("unreachable", pg, **{"database.port": str(free_port())}),
                            ["Unable to connect to PostgreSQL", "Connection refused"]),
            "wrong-password": (_source("wrong-password", pg, **{"database.password": "nope"}),
                               ["Unable to connect to PostgreSQL", "password authentication failed"]),
            "missing-table": (_source("missing-table", pg, **{"table.include.list": "public.nosuch"}),
                              ["public.nosuch", "do not exist"]),
            "slot-in-use": (_source("slot-in-use", pg, **{"slot.name": "busy_slot", "snapshot.mode": "no_data"}),
                            ["busy_slot", "is active"]),
        }
        for name, (config, _) in cases.items():
            status, body = worker.http.request("PUT", f"/connectors/{name}/config", config)
            assert status == 201, body
        good = _source("healthy", pg, **{"table.include.list": "public.t"})
        assert worker.http.request("PUT", "/connectors/healthy/config", good)[0] == 201

        for name, (_, reasons) in cases.items():
            trace = _failed_trace(worker, name)
            for reason in reasons:
                assert reason in trace, f"{name}: {reason!r} not in {trace!r}"
        assert worker.http.get("/")[0] == 200
        worker.wait_for(lambda: (t := _task_state(worker, "healthy")) and t["state"] == "RUNNING",
                        what="the healthy connector running")
        time.sleep(0.5)
        assert _task_state(worker, "healthy")["state"] == "RUNNING"
    finally:
        busy.close()
