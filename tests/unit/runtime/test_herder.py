"""Tests of the herder parts below the REST API: stores, statuses, restart rules, stages, log levels, the queue."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from kcfast.errors import ConnectError
from kcfast.rest.loggers import Loggers, log4j_level_name
from kcfast.runtime.config_state import MemoryConfigBackingStore
from kcfast.runtime.herder import Herder, RestartRequest, Stage, java_instant
from kcfast.runtime.standalone import StandaloneHerder
from kcfast.runtime.status import ConnectorTaskId, State, TargetState
from kcfast.runtime.status_store import ConnectorStatus, MemoryStatusBackingStore, TaskStatus

# The worker double lives with the REST tests, which use it too.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "rest"))
from fake_worker import SOURCE, FakeWorker, async_test, install_stand_ins  # noqa: E402


@pytest.fixture(autouse=True)
def _stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    install_stand_ins(monkeypatch)


T0 = ConnectorTaskId("c", 0)
T1 = ConnectorTaskId("c", 1)


# -- small pieces -----------------------------------------------------------------------------------------------


def test_java_instant_matches_instant_to_string() -> None:
    assert java_instant(0) == "1970-01-01T00:00:00Z"
    assert java_instant(1729843262345) == "2024-10-25T08:01:02.345Z"
    assert java_instant(1729843262000) == "2024-10-25T08:01:02Z"


def test_stage_summaries() -> None:
    running = Stage("starting the connector", 1729843262345)
    assert running.summarize() == (
        "The worker is currently starting the connector, which began at 2024-10-25T08:01:02.345Z."
    )
    assert running.summarize(final_period=False).endswith(".345Z")
    running.completed = 1729843263000
    assert running.summarize() == (
        "The last operation the worker completed was starting the connector, which began at "
        "2024-10-25T08:01:02.345Z and completed at 2024-10-25T08:01:03Z."
    )


def test_restart_request_rules_and_ranks() -> None:
    failed = ConnectorStatus("c", State.FAILED, "w")
    running = ConnectorStatus("c", State.RUNNING, "w")
    failed_task = TaskStatus(T0, State.FAILED, "w")
    running_task = TaskStatus(T0, State.RUNNING, "w")
    plain = RestartRequest("c")
    assert plain.force_restart_connector_only()
    assert plain.should_restart_connector(running) and not plain.should_restart_task(failed_task)
    only_failed = RestartRequest("c", only_failed=True, include_tasks=True)
    assert only_failed.should_restart_connector(failed) and not only_failed.should_restart_connector(running)
    assert only_failed.should_restart_task(failed_task) and not only_failed.should_restart_task(running_task)
    ranks = [RestartRequest("c", of, it).impact_rank() for of, it in ((True, False), (True, True), (False, False),
                                                                      (False, True))]
    assert ranks == [0, 1, 2, 3]


def test_log4j_level_names() -> None:
    assert [log4j_level_name(n) for n in (5, 10, 20, 25, 30, 40, 50, 100)] == [
        "TRACE", "DEBUG", "INFO", "INFO", "WARN", "ERROR", "FATAL", "OFF"
    ]


@pytest.fixture
def fresh_loggers() -> Iterator[None]:
    yield
    for name in list(logging.Logger.manager.loggerDict):
        if name.startswith("kchtest"):
            logger = logging.getLogger(name)
            logger.setLevel(logging.NOTSET)


@pytest.mark.usefixtures("fresh_loggers")
def test_loggers_set_levels_by_name_prefix_and_stamp_only_changes() -> None:
    clock = iter(range(1000, 2000, 100))
    loggers = Loggers(lambda: next(clock))
    logging.getLogger("kchtest.a.b")
    logging.getLogger("kchtest.ab")
    assert loggers.set_level("kchtest.a", "LOUD") == []
    assert loggers.set_level("kchtest.a", "trace") == ["kchtest.a", "kchtest.a.b", "kchtest.ab"]
    assert logging.getLogger("kchtest.a.b").level == 5
    assert loggers.level("kchtest.a.b") == {"level": "TRACE", "last_modified": 1000}
    loggers.set_level("kchtest.a.b", "TRACE")
    assert loggers.level("kchtest.a.b") == {"level": "TRACE", "last_modified": 1000}
    assert loggers.level("kchtest.missing") is None
    assert "kchtest.ab" in loggers.all_levels()


def test_statuses_from_listener_callbacks() -> None:
    store = MemoryStatusBackingStore()
    herder = StandaloneHerder(FakeWorker("h:1"), status_store=store)
    herder.on_startup("c")
    herder.on_startup(T1)
    herder.on_startup(T0)
    assert store.get_connector("c") == ConnectorStatus("c", State.RUNNING, "h:1", 0, None)
    assert [t.id for t in store.get_all("c")] == [T0, T1]
    try:
        raise ConnectError("task exploded")
    except ConnectError as exc:
        herder.on_failure(T1, exc)
    trace = store.get_task(T1).trace  # type: ignore[union-attr]
    assert trace is not None and trace.startswith("Traceback") and "ConnectError: task exploded" in trace
    assert herder.task_status(T1)["state"] == "FAILED"
    assert "trace" not in herder.task_status(T0)
    herder.on_deletion("c")
    assert store.get_connector("c") is None and store.get_all("c") == []


def test_the_herder_is_both_status_listeners() -> None:
    herder = StandaloneHerder(FakeWorker())
    herder.on_pause("c")
    herder.on_pause(T0)
    herder.on_stop("c")
    assert herder.status_store.get_connector("c").state is State.STOPPED  # type: ignore[union-attr]
    assert herder.status_store.get_task(T0).state is State.PAUSED  # type: ignore[union-attr]


def test_config_store() -> None:
    store = MemoryConfigBackingStore(lambda config: {k: v.replace("${x}", "resolved") for k, v in config.items()})
    store.put_connector_config("c", {"a": "${x}"}, TargetState.PAUSED)
    before = store.snapshot()
    store.put_task_configs("c", [{"a": "${x}"}, {"b": "1"}])
    state = store.snapshot()
    assert before.task_count("c") == 0 and state.tasks("c") == [T0, T1]
    assert state.raw_connector_config("c") == {"a": "${x}"} and state.connector_config("c") == {"a": "resolved"}
    assert state.raw_task_config(T0) == {"a": "${x}"} and state.task_config(T0) == {"a": "resolved"}
    assert state.target_state("c") is TargetState.PAUSED and state.target_state("x") is None
    assert store.put_target_state("c", TargetState.PAUSED) is False
    assert store.put_target_state("c", TargetState.STOPPED) is True
    with pytest.raises(ConnectError, match="^No connector `x` configured$"):
        store.put_target_state("x", TargetState.STOPPED)
    store.put_connector_config("c", {"a": "changed"})
    state = store.snapshot()
    assert state.target_state("c") is TargetState.STOPPED
    assert state.applied_connector_config("c") == {"a": "resolved"}
    store.remove_task_configs("c")
    assert store.snapshot().task_count("c") == 0 and store.snapshot().applied_connector_config("c") is None
    with pytest.raises(ConnectError):
        store.remove_task_configs("x")


def test_task_configs_changed_and_reverse_transform() -> None:
    store = MemoryConfigBackingStore(lambda config: {k: v.replace("${env:X}", "secret") for k, v in config.items()})
    store.put_connector_config("c", {"password": "${env:X}", "other": "1"})
    state = store.snapshot()
    raw = Herder.reverse_transform(state, "c", [{"password": "secret", "other": "1", "extra": "e"}])
    assert raw == [{"password": "${env:X}", "other": "1", "extra": "e"}]
    assert Herder.task_configs_changed(state, "c", raw)
    store.put_task_configs("c", raw)
    state = store.snapshot()
    assert not Herder.task_configs_changed(state, "c", raw)
    assert Herder.task_configs_changed(state, "c", raw + raw)
    store.put_connector_config("c", {"password": "${env:X}", "other": "2"})
    assert Herder.task_configs_changed(store.snapshot(), "c", raw)


def test_status_store_topics() -> None:
    store = MemoryStatusBackingStore()
    herder = StandaloneHerder(FakeWorker(), status_store=store, wall_ms=lambda: 42)
    herder.record_active_topic("c", "t", task=3)
    herder.record_active_topic("c", "t", task=4)
    topic = store.get_topic("c", "t")
    assert topic is not None and (topic.task, topic.discover_timestamp) == (3, 42)
    herder.reset_connector_active_topics("c")
    assert store.get_all_topics("c") == []


# -- the standalone herder without REST -------------------------------------------------------------------------


@async_test
async def test_requests_run_one_at_a_time_in_order() -> None:
    herder = StandaloneHerder(FakeWorker())
    await herder.start()
    try:
        gate = asyncio.Event()
        order: list[str] = []

        async def first() -> str:
            order.append("first started")
            await gate.wait()
            order.append("first done")
            return "one"

        async def second() -> str:
            order.append("second")
            return "two"

        results = asyncio.gather(herder.submit(first), herder.submit(second))
        await asyncio.sleep(0.01)
        assert order == ["first started"]
        gate.set()
        assert await results == ["one", "two"]
        assert order == ["first started", "first done", "second"]
    finally:
        await herder.stop()


@async_test
async def test_a_failing_request_does_not_stop_the_queue() -> None:
    herder = StandaloneHerder(FakeWorker())
    await herder.start()
    try:
        async def fail() -> None:
            raise ConnectError("nope")

        async def ok() -> int:
            return 1

        with pytest.raises(ConnectError, match="nope"):
            await herder.submit(fail)
        assert await herder.submit(ok) == 1
    finally:
        await herder.stop()


@async_test
async def test_stop_stops_connectors_tasks_and_the_worker() -> None:
    worker = FakeWorker()
    herder = StandaloneHerder(worker)
    await herder.start()
    assert worker.started
    await herder.put_connector_config("c", {"name": "c", "connector.class": SOURCE, "topic": "t", "tasks.max": "2"},
                                      allow_replace=False)
    assert len(worker.tasks) == 2
    await herder.stop()
    assert not worker.started and worker.tasks == {} and worker.connectors == {}
    assert herder.status_store.get_connector("c").state is State.UNASSIGNED  # type: ignore[union-attr]


@async_test
async def test_config_variables_are_resolved_for_instances_and_kept_raw_in_stored_configs() -> None:
    def resolve(config: Mapping[str, str]) -> dict[str, str]:
        return {k: re.sub(r"\$\{env:TOPIC\}", "resolved-topic", v) for k, v in config.items()}

    worker = FakeWorker()
    herder = StandaloneHerder(worker, config_transformer=resolve)
    await herder.start()
    try:
        config = {"name": "c", "connector.class": SOURCE, "topic": "${env:TOPIC}", "setting": "${env:TOPIC}"}
        created, info = await herder.put_connector_config("c", config, allow_replace=False)
        assert created and info["config"]["topic"] == "${env:TOPIC}"
        assert worker.connectors["c"].props["topic"] == "resolved-topic"
        tasks = await herder.task_configs("c")
        assert tasks[0]["config"]["setting"] == "${env:TOPIC}"
        assert worker.tasks[T0].props["setting"] == "resolved-topic"
    finally:
        await herder.stop()


@async_test
async def test_reconfiguration_requests_from_other_threads(caplog: pytest.LogCaptureFixture) -> None:
    worker = FakeWorker()
    herder = StandaloneHerder(worker)
    await herder.start()
    try:
        thread = threading.Thread(target=herder.request_task_reconfiguration, args=("ghost",))
        with caplog.at_level(logging.ERROR):
            thread.start()
            thread.join()
            await asyncio.sleep(0.01)

            async def flush() -> None:
                return None

            await herder.submit(flush)
        assert "Task that requested reconfiguration does not exist: ghost" in caplog.text
    finally:
        await herder.stop()


@async_test
async def test_stop_does_not_hang_on_a_connector_stuck_in_start() -> None:
    worker = FakeWorker()
    herder = StandaloneHerder(worker)
    await herder.start()
    worker.block_start.clear()
    config = {"name": "c", "connector.class": SOURCE, "topic": "t"}
    stuck = asyncio.ensure_future(herder.put_connector_config("c", config, allow_replace=False))
    try:
        await asyncio.sleep(0.05)
        await herder.stop(timeout=0.1)
        assert not worker.started
    finally:
        worker.block_start.set()
        stuck.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stuck
