"""Connectors for testing workers: a source and a sink whose behaviour their configuration drives.

Give a worker ``connector.class=kcfast.testing.connectors.MonitorableSourceConnector`` (or
``...MonitorableSinkConnector``) and steer it with its config, as Kafka's own integration tests steer their
monitorable and mock connectors:

- ``fail``: where to raise a :class:`~kcfast.errors.ConnectError`: any of ``connector.start``,
  ``connector.task_configs``, ``connector.stop``, ``task.start``, ``task.stop`` and ``task.poll`` (source) or
  ``task.put`` (sink). ``fail.tasks`` limits task failures to some task numbers; ``fail.after.messages``
  lets a task handle that many records before ``task.poll``/``task.put`` fails; ``fail.while.exists`` names
  a file: failures happen only while it exists (delete it to "repair the external system", then restart).
- ``block``: where to block: ``connector.start``, ``connector.stop``, ``task.start``, ``task.stop``. A call
  blocks while the file ``block.while.exists`` exists (at most ``block.ms``).
- ``events.file``: lifecycle events are appended there, one per line (``connector start``,
  ``task 0 stop``, ``task 1 poll-failed``, ``task 0 stop-blocked`` ...); read them with :func:`read_events`.
- Source: each task produces records with sequence numbers to ``topic``: value ``<name>-<task>-<seq>`` (a
  string), source partition ``{"task.id": "<name>-<task>"}``, offset ``{"saved": <seq>}``; a restarted task
  resumes after its committed offset. ``messages.per.poll`` records per poll, one poll every
  ``poll.interval.ms``, ``max.messages`` per task in all (-1: no end); with ``poll.events=true`` each poll
  that returns records writes ``task N polled K``.
- Sink: every record received is appended to ``records.file`` as ``topic<TAB>partition<TAB>offset<TAB>value``;
  read it with :func:`read_records`.
- ``tasks.generated``: the number of task configs the connector generates, instead of ``tasks.max``.

Everything these connectors report goes through files, so a test can watch a worker running in another
process.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from kcfast._version import KAFKA_VERSION
from kcfast.api import (
    Config,
    ConfigDef,
    Importance,
    LambdaValidator,
    NonEmptyString,
    Range,
    SinkConnector,
    SinkTask,
    SourceConnector,
    SourceTask,
    Task,
    TopicPartition,
    Type,
)
from kcfast.api.validators import invalid_value
from kcfast.errors import ConnectError

FAIL_CONFIG = "fail"
FAIL_TASKS_CONFIG = "fail.tasks"
FAIL_AFTER_CONFIG = "fail.after.messages"
FAIL_WHILE_EXISTS_CONFIG = "fail.while.exists"
BLOCK_CONFIG = "block"
BLOCK_WHILE_EXISTS_CONFIG = "block.while.exists"
BLOCK_MS_CONFIG = "block.ms"
EVENTS_FILE_CONFIG = "events.file"
RECORDS_FILE_CONFIG = "records.file"
TASKS_GENERATED_CONFIG = "tasks.generated"
TOPIC_CONFIG = "topic"
MESSAGES_PER_POLL_CONFIG = "messages.per.poll"
MAX_MESSAGES_CONFIG = "max.messages"
POLL_INTERVAL_CONFIG = "poll.interval.ms"
POLL_EVENTS_CONFIG = "poll.events"
PUT_DELAY_CONFIG = "put.delay.ms"
#: Set by the connectors in each task config: the task's number.
TASK_NUMBER_CONFIG = "monitorable.task.number"

SOURCE_FAILURE_POINTS = (
    "connector.start",
    "connector.task_configs",
    "connector.stop",
    "task.start",
    "task.stop",
    "task.poll",
)
SINK_FAILURE_POINTS = (
    "connector.start",
    "connector.task_configs",
    "connector.stop",
    "task.start",
    "task.stop",
    "task.put",
)
BLOCK_POINTS = ("connector.start", "connector.stop", "task.start", "task.stop")


def _points(allowed: tuple[str, ...]) -> LambdaValidator:
    def check(name: str, value: Any) -> None:
        for point in value or []:
            if point not in allowed:
                raise invalid_value(name, point, "must be one of " + ", ".join(allowed))

    return LambdaValidator.with_(check, lambda: ", ".join(allowed))


def _common_def(failure_points: tuple[str, ...]) -> ConfigDef:
    return (
        ConfigDef()
        .define(
            FAIL_CONFIG,
            Type.LIST,
            "",
            _points(failure_points),
            Importance.HIGH,
            "Where to raise an error: " + ", ".join(failure_points),
        )
        .define(
            FAIL_TASKS_CONFIG,
            Type.LIST,
            "",
            None,
            Importance.LOW,
            "Task numbers that fail at the task.* points (empty: every task)",
        )
        .define(
            FAIL_AFTER_CONFIG,
            Type.LONG,
            0,
            Range.at_least(0),
            Importance.LOW,
            "Records a task handles before task.poll or task.put fails",
        )
        .define(
            FAIL_WHILE_EXISTS_CONFIG,
            Type.STRING,
            None,
            None,
            Importance.LOW,
            "If set, failures happen only while this file exists",
        )
        .define(
            BLOCK_CONFIG,
            Type.LIST,
            "",
            _points(BLOCK_POINTS),
            Importance.LOW,
            "Where to block: " + ", ".join(BLOCK_POINTS),
        )
        .define(
            BLOCK_WHILE_EXISTS_CONFIG,
            Type.STRING,
            None,
            None,
            Importance.LOW,
            "Blocking calls wait while this file exists (without it they wait block.ms)",
        )
        .define(
            BLOCK_MS_CONFIG,
            Type.LONG,
            60000,
            Range.at_least(0),
            Importance.LOW,
            "Longest time a blocking call waits",
        )
        .define(
            EVENTS_FILE_CONFIG,
            Type.STRING,
            None,
            None,
            Importance.LOW,
            "File that lifecycle events are appended to",
        )
        .define(
            TASKS_GENERATED_CONFIG,
            Type.INT,
            None,
            None,
            Importance.LOW,
            "Number of task configs to generate, whatever tasks.max says",
        )
    )


SOURCE_CONFIG_DEF = (
    _common_def(SOURCE_FAILURE_POINTS)
    .define(
        TOPIC_CONFIG,
        Type.STRING,
        validator=NonEmptyString(),
        importance=Importance.HIGH,
        documentation="The topic to write to",
    )
    .define(MESSAGES_PER_POLL_CONFIG, Type.INT, 10, Range.at_least(1), Importance.MEDIUM, "Records per poll")
    .define(
        MAX_MESSAGES_CONFIG,
        Type.LONG,
        -1,
        Range.at_least(-1),
        Importance.MEDIUM,
        "Records each task produces in all; -1 produces without end",
    )
    .define(POLL_INTERVAL_CONFIG, Type.LONG, 100, Range.at_least(0), Importance.LOW, "Wait between two polls")
    .define(
        POLL_EVENTS_CONFIG,
        Type.BOOLEAN,
        False,
        None,
        Importance.LOW,
        "Whether every poll that returns records writes an event (task N polled K)",
    )
)

SINK_CONFIG_DEF = (
    _common_def(SINK_FAILURE_POINTS)
    .define(
        RECORDS_FILE_CONFIG,
        Type.STRING,
        None,
        None,
        Importance.MEDIUM,
        "File every received record is appended to (topic, partition, offset, value; tab-separated)",
    )
    .define(PUT_DELAY_CONFIG, Type.LONG, 0, None, Importance.LOW, "Milliseconds each non-empty put() takes")
)

_FILE_LOCK = threading.Lock()


def _append(path: str | None, lines: list[str]) -> None:
    if not path or not lines:
        return
    with _FILE_LOCK, open(path, "a", encoding="utf-8") as fh:
        fh.write("".join(line + "\n" for line in lines))
        fh.flush()


def read_events(path: str | os.PathLike[str]) -> list[str]:
    """The lifecycle events written to an ``events.file`` so far (empty if there is none yet)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [line for line in text.split("\n") if line]


class ReceivedRecord(NamedTuple):
    """One record a :class:`MonitorableSinkTask` received."""

    topic: str
    partition: int
    offset: int
    value: str


def read_records(path: str | os.PathLike[str]) -> list[ReceivedRecord]:
    """The records written to a sink's ``records.file`` so far, in the order received."""
    out = []
    for line in read_events(path):
        topic, partition, offset, value = line.split("\t", 3)
        out.append(ReceivedRecord(topic, int(partition), int(offset), value))
    return out


class _Behaviour:
    """The configured failures, blocks and event file of one connector or task instance."""

    def __init__(self, definition: ConfigDef, props: Mapping[str, str], task: int | None = None) -> None:
        config = Config(definition, props)
        self.fail = set(config.get_list(FAIL_CONFIG) or [])
        self.fail_tasks = {int(t) for t in config.get_list(FAIL_TASKS_CONFIG) or []}
        self.fail_after = config.get_long(FAIL_AFTER_CONFIG) or 0
        self.fail_while = config.get_string(FAIL_WHILE_EXISTS_CONFIG)
        self.block = set(config.get_list(BLOCK_CONFIG) or [])
        self.block_while = config.get_string(BLOCK_WHILE_EXISTS_CONFIG)
        self.block_ms = config.get_long(BLOCK_MS_CONFIG) or 0
        self.events = config.get_string(EVENTS_FILE_CONFIG)
        self.task = task
        self.released = threading.Event()

    @property
    def who(self) -> str:
        return "connector" if self.task is None else f"task {self.task}"

    def event(self, what: str) -> None:
        _append(self.events, [f"{self.who} {what}"])

    def maybe_fail(self, point: str, handled: int = 0) -> None:
        if point not in self.fail:
            return
        if self.task is not None and self.fail_tasks and self.task not in self.fail_tasks:
            return
        if point in ("task.poll", "task.put") and handled < self.fail_after:
            return
        if self.fail_while and not os.path.exists(self.fail_while):
            return
        self.event(point.split(".", 1)[1] + "-failed")
        raise ConnectError(f"{self.who} failed in {point} as configured")

    def maybe_block(self, point: str) -> None:
        if point not in self.block:
            return
        self.event(point.split(".", 1)[1] + "-blocked")
        deadline = time.monotonic() + self.block_ms / 1000.0
        while time.monotonic() < deadline and not self.released.is_set():
            if self.block_while and not os.path.exists(self.block_while):
                break
            self.released.wait(min(0.05, max(0.0, deadline - time.monotonic())))
        self.event(point.split(".", 1)[1] + "-unblocked")


def _task_configs(props: dict[str, str], max_tasks: int) -> list[dict[str, str]]:
    count = int(props[TASKS_GENERATED_CONFIG]) if props.get(TASKS_GENERATED_CONFIG) else max_tasks
    return [{**props, TASK_NUMBER_CONFIG: str(i)} for i in range(count)]


class _MonitorableConnector:
    """What the source and sink connectors share."""

    definition: ConfigDef

    def __init__(self) -> None:
        self._props: dict[str, str] = {}
        self._behaviour: _Behaviour | None = None

    def version(self) -> str:
        """Kafka's version, like the other built-in connectors."""
        return KAFKA_VERSION

    def start(self, props: Mapping[str, str]) -> None:
        """Record the start, then fail or block if so configured."""
        self._props = dict(props)
        self._behaviour = _Behaviour(self.definition, props)
        self._behaviour.event("start")
        self._behaviour.maybe_block("connector.start")
        self._behaviour.maybe_fail("connector.start")

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        """``max_tasks`` (or ``tasks.generated``) copies of the config, each with its task number."""
        if self._behaviour is not None:
            self._behaviour.maybe_fail("connector.task_configs")
        return _task_configs(self._props, max_tasks)

    def stop(self) -> None:
        """Record the stop, then block or fail if so configured."""
        if self._behaviour is None:
            return
        self._behaviour.event("stop")
        self._behaviour.maybe_block("connector.stop")
        self._behaviour.maybe_fail("connector.stop")

    def config(self) -> ConfigDef:
        """The keys described in the module docstring."""
        return self.definition


class MonitorableSourceConnector(_MonitorableConnector, SourceConnector):
    """A source connector whose tasks produce numbered records; see the module docstring."""

    definition = SOURCE_CONFIG_DEF

    def task_class(self) -> type[Task]:
        """:class:`MonitorableSourceTask`."""
        return MonitorableSourceTask

    def alter_offsets(self, connector_config: Mapping[str, str], offsets: Any) -> bool:
        """Accept any offsets; the framework stores them."""
        return False


class MonitorableSinkConnector(_MonitorableConnector, SinkConnector):
    """A sink connector whose tasks write what they receive to ``records.file``; see the module docstring."""

    definition = SINK_CONFIG_DEF

    def task_class(self) -> type[Task]:
        """:class:`MonitorableSinkTask`."""
        return MonitorableSinkTask


class MonitorableSourceTask(SourceTask):
    """Produces ``messages.per.poll`` numbered records per poll; ``stop`` may come from another thread."""

    def __init__(self) -> None:
        self._behaviour: _Behaviour | None = None
        self._stopping = threading.Event()
        self._topic = ""
        self._name = ""
        self._task = 0
        self._next = 0
        self._produced = 0
        self._per_poll = 10
        self._limit = -1
        self._interval = 0.1
        self._poll_events = False
        self._partition: dict[str, Any] = {}
        self._schema: Any = None

    def version(self) -> str:
        """Kafka's version."""
        return KAFKA_VERSION

    def start(self, props: Mapping[str, str]) -> None:
        """Read the config, resume after the committed offset; fail or block if so configured."""
        from kcfast.data import Schema

        self._task = int(props.get(TASK_NUMBER_CONFIG, "0"))
        self._behaviour = _Behaviour(SOURCE_CONFIG_DEF, props, self._task)
        self._behaviour.event("start")
        config = Config(SOURCE_CONFIG_DEF, props)
        self._name = props.get("name", "")
        self._topic = config.get_string(TOPIC_CONFIG) or ""
        self._per_poll = config.get_int(MESSAGES_PER_POLL_CONFIG) or 1
        self._limit = config.get_long(MAX_MESSAGES_CONFIG) or 0
        self._interval = (config.get_long(POLL_INTERVAL_CONFIG) or 0) / 1000.0
        self._poll_events = bool(config.get_boolean(POLL_EVENTS_CONFIG))
        self._partition = {"task.id": f"{self._name}-{self._task}"}
        self._schema = Schema.STRING_SCHEMA
        stored = self.context.offset_storage_reader().offset(self._partition)
        saved = None if stored is None else stored.get("saved")
        self._next = 0 if saved is None else int(saved) + 1
        self._produced = 0
        self._behaviour.maybe_block("task.start")
        self._behaviour.maybe_fail("task.start")

    def poll(self) -> list[Any] | None:
        """The next records, after waiting ``poll.interval.ms``."""
        from kcfast.api.records import SourceRecord

        assert self._behaviour is not None
        if self._stopping.wait(self._interval):
            return None
        self._behaviour.maybe_fail("task.poll", self._produced)
        count = self._per_poll
        if self._limit >= 0:
            count = min(count, self._limit - self._produced)
        if count <= 0:
            return None
        records = []
        for seq in range(self._next, self._next + count):
            value = f"{self._name}-{self._task}-{seq}"
            records.append(
                SourceRecord(
                    self._partition, {"saved": seq}, self._topic, None, None, None, self._schema, value
                )
            )
        self._next += count
        self._produced += count
        if self._poll_events:
            self._behaviour.event(f"polled {count}")
        return records

    def stop(self) -> None:
        """Record the stop, wake a waiting poll; block or fail if so configured."""
        self._stopping.set()
        if self._behaviour is None:
            return
        self._behaviour.event("stop")
        self._behaviour.maybe_block("task.stop")
        self._behaviour.maybe_fail("task.stop")


class MonitorableSinkTask(SinkTask):
    """Appends every record it receives to ``records.file``."""

    def __init__(self) -> None:
        self._behaviour: _Behaviour | None = None
        self._records_file: str | None = None
        self._put_delay = 0.0
        self._received = 0

    def version(self) -> str:
        """Kafka's version."""
        return KAFKA_VERSION

    def start(self, props: Mapping[str, str]) -> None:
        """Read the config; fail or block if so configured."""
        task = int(props.get(TASK_NUMBER_CONFIG, "0"))
        self._behaviour = _Behaviour(SINK_CONFIG_DEF, props, task)
        self._behaviour.event("start")
        config = Config(SINK_CONFIG_DEF, props)
        self._records_file = config.get_string(RECORDS_FILE_CONFIG)
        self._put_delay = (config.get_long(PUT_DELAY_CONFIG) or 0) / 1000.0
        self._received = 0
        self._behaviour.maybe_block("task.start")
        self._behaviour.maybe_fail("task.start")

    def put(self, records: Collection[Any]) -> None:
        """Append the records to ``records.file``; fail if so configured."""
        assert self._behaviour is not None
        if records:
            self._behaviour.maybe_fail("task.put", self._received)
            if self._put_delay > 0:
                time.sleep(self._put_delay)
        _append(
            self._records_file,
            [f"{r.topic}\t{r.kafka_partition}\t{r.kafka_offset}\t{r.value}" for r in records],
        )
        self._received += len(records)

    def flush(self, current_offsets: Mapping[TopicPartition, int]) -> None:
        """Nothing is buffered."""

    def stop(self) -> None:
        """Record the stop; block or fail if so configured."""
        if self._behaviour is None:
            return
        self._behaviour.event("stop")
        self._behaviour.maybe_block("task.stop")
        self._behaviour.maybe_fail("task.stop")


__all__ = [
    "MonitorableSinkConnector",
    "MonitorableSinkTask",
    "MonitorableSourceConnector",
    "MonitorableSourceTask",
    "ReceivedRecord",
    "read_events",
    "read_records",
]
