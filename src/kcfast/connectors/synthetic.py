"""Synthetic connectors for load tests and benchmarks: a fast generating source and a counting sink.

``SyntheticSourceConnector`` generates numbered records as fast as the worker takes them (or at a fixed
rate), with a Struct value and a schema, or a schemaless dict. Each task owns the source partition
``{"synthetic": <topic>, "task": <n>}`` and commits ``{"sequence": <n>}``, the number of the record, so a
restarted task resumes after the last committed one. ``DiscardSinkConnector`` drops what it receives and
counts it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, ClassVar

from kcfast._version import KAFKA_VERSION
from kcfast.api import (
    Config,
    ConfigDef,
    Importance,
    NonEmptyString,
    Range,
    SinkConnector,
    SinkTask,
    SourceConnector,
    SourceTask,
    Task,
    TopicPartition,
    Type,
    ValidString,
)
from kcfast.errors import ConnectError

TOPIC_CONFIG = "topic"
RECORDS_CONFIG = "records"
RATE_CONFIG = "rate"
BATCH_SIZE_CONFIG = "batch.size"
VALUE_SIZE_CONFIG = "value.size"
SCHEMA_CONFIG = "schema"
KEY_CONFIG = "key"
PARTITION_PER_TASK_CONFIG = "partition.per.task"
#: Set by the connector in each task config: the task's number and the number of tasks.
TASK_ID_CONFIG = "synthetic.task.id"
TASK_COUNT_CONFIG = "synthetic.task.count"

SEQUENCE_FIELD = "sequence"

SYNTHETIC_CONFIG_DEF = (
    ConfigDef()
    .define(
        TOPIC_CONFIG,
        Type.STRING,
        validator=NonEmptyString(),
        importance=Importance.HIGH,
        documentation="The topic to write to",
    )
    .define(
        RECORDS_CONFIG,
        Type.LONG,
        -1,
        Range.at_least(-1),
        Importance.HIGH,
        "Total number of records to generate over all tasks; -1 generates without end",
    )
    .define(
        RATE_CONFIG,
        Type.DOUBLE,
        0.0,
        Range.at_least(0),
        Importance.MEDIUM,
        "Records per second over all tasks; 0 generates as fast as records are taken",
    )
    .define(BATCH_SIZE_CONFIG, Type.INT, 1000, Range.at_least(1), Importance.LOW, "Maximum records per poll")
    .define(
        VALUE_SIZE_CONFIG,
        Type.INT,
        100,
        Range.at_least(0),
        Importance.LOW,
        "Approximate size in bytes of the payload field of each value",
    )
    .define(
        SCHEMA_CONFIG,
        Type.BOOLEAN,
        True,
        importance=Importance.MEDIUM,
        documentation="true: values are Structs with a schema; false: values are schemaless dicts",
    )
    .define(
        KEY_CONFIG,
        Type.STRING,
        "none",
        ValidString.in_("none", "sequence"),
        Importance.LOW,
        "none: records have no key; sequence: the key is the record's sequence number",
    )
    .define(
        PARTITION_PER_TASK_CONFIG,
        Type.BOOLEAN,
        False,
        importance=Importance.LOW,
        documentation="true: task n writes every record to partition n of the topic (the topic needs at least "
        "tasks.max partitions), so no two tasks write to one partition; false: the producer's partitioner "
        "chooses",
    )
)


def _share(total: int, task_id: int, task_count: int) -> int:
    """Records of ``total`` that task ``task_id`` of ``task_count`` generates (the first ones get one more)."""
    if total < 0:
        return -1
    per_task, leftover = divmod(total, task_count)
    return per_task + (1 if task_id < leftover else 0)


class SyntheticSourceConnector(SourceConnector):
    """Generates numbered records with ``tasks.max`` tasks, sharing ``records`` and ``rate`` between them."""

    CONFIG_DEF = SYNTHETIC_CONFIG_DEF

    def __init__(self) -> None:
        self._props: dict[str, str] = {}

    def version(self) -> str:
        """Kafka's version, like the other built-in connectors."""
        return KAFKA_VERSION

    def start(self, props: Mapping[str, str]) -> None:
        """Check the configuration and keep it for the tasks."""
        Config(SYNTHETIC_CONFIG_DEF, props)
        self._props = dict(props)

    def task_class(self) -> type[Task]:
        """:class:`SyntheticSourceTask`."""
        return SyntheticSourceTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        """``max_tasks`` configs, each naming its task number and the task count."""
        return [
            {**self._props, TASK_ID_CONFIG: str(i), TASK_COUNT_CONFIG: str(max_tasks)}
            for i in range(max_tasks)
        ]

    def stop(self) -> None:
        """Nothing to release."""

    def config(self) -> ConfigDef:
        """The generator's keys."""
        return SYNTHETIC_CONFIG_DEF


class SyntheticSourceTask(SourceTask):
    """Generates this task's share of the records, in batches of up to ``batch.size``.

    With a ``rate``, a poll returns the records that are due and, when none are, waits (at most
    :attr:`max_wait_seconds`) for the next one. When the task has generated its share, polls wait and return
    ``None``. ``stop`` may be called from another thread and wakes a waiting poll.
    """

    #: Longest wait of one poll (rate limiting, or nothing left to generate).
    max_wait_seconds = 0.1

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._stopping = threading.Event()
        self._next = 0
        self._limit = -1
        self._rate = 0.0
        self._started_at = 0.0
        self._emitted_since_start = 0
        self._batch_size = 1000
        self._topic = ""
        self._partition: dict[str, Any] = {}
        self._with_schema = True
        self._key_mode = "none"
        self._kafka_partition: int | None = None
        self._payload = ""
        self._task_id = 0
        self._schema: Any = None
        self._key_schema: Any = None
        self._make_struct: Callable[[list[Any]], Any] | None = None
        self._source_record: Any = None

    def version(self) -> str:
        """Kafka's version."""
        return KAFKA_VERSION

    def start(self, props: Mapping[str, str]) -> None:
        """Read the configuration and resume after the last committed sequence number."""
        from kcfast.api.records import SourceRecord
        from kcfast.data import Schema, SchemaBuilder, Struct

        config = Config(SYNTHETIC_CONFIG_DEF, props)
        self._task_id = int(props.get(TASK_ID_CONFIG, "0"))
        task_count = int(props.get(TASK_COUNT_CONFIG, "1"))
        self._topic = config.get_string(TOPIC_CONFIG) or ""
        self._limit = _share(config.get_long(RECORDS_CONFIG) or 0, self._task_id, task_count)
        self._rate = (config.get_double(RATE_CONFIG) or 0.0) / task_count
        self._batch_size = config.get_int(BATCH_SIZE_CONFIG) or 1
        self._payload = "x" * (config.get_int(VALUE_SIZE_CONFIG) or 0)
        self._with_schema = bool(config.get_boolean(SCHEMA_CONFIG))
        self._key_mode = config.get_string(KEY_CONFIG) or "none"
        self._kafka_partition = self._task_id if config.get_boolean(PARTITION_PER_TASK_CONFIG) else None
        self._partition = {"synthetic": self._topic, "task": self._task_id}
        self._source_record = SourceRecord
        self._schema = None
        self._key_schema = None
        if self._with_schema:
            self._schema = (
                SchemaBuilder.struct()
                .name("kcfast.synthetic.Value")
                .field("task", Schema.INT32_SCHEMA)
                .field("sequence", Schema.INT64_SCHEMA)
                .field("timestamp", Schema.INT64_SCHEMA)
                .field("payload", Schema.STRING_SCHEMA)
                .build()
            )
            self._key_schema = Schema.INT64_SCHEMA if self._key_mode == "sequence" else None
            self._make_struct = self._struct_factory(Struct, self._schema)
        stored = self.context.offset_storage_reader().offset(self._partition)
        last = None if stored is None else stored.get(SEQUENCE_FIELD)
        if last is not None and (not isinstance(last, int) or isinstance(last, bool)):
            raise ConnectError(f"Offset {SEQUENCE_FIELD} is the incorrect type: {last!r}")
        self._next = 0 if last is None else last + 1
        self._started_at = self._monotonic()
        self._emitted_since_start = 0
        self._stopping.clear()

    @staticmethod
    def _struct_factory(struct_class: Any, schema: Any) -> Callable[[list[Any]], Any]:
        # The values are valid by construction, so skip per-field validation when the data API allows it.
        fast = getattr(struct_class, "_from_values", None)
        if fast is not None:
            return lambda values: fast(schema, values)
        names = [field.name for field in schema.fields]

        def build(values: list[Any]) -> Any:
            struct = struct_class(schema)
            for name, value in zip(names, values, strict=True):
                struct.put(name, value)
            return struct

        return build

    def _due(self) -> int:
        """How many records this poll may return."""
        count = self._batch_size
        if self._limit >= 0:
            count = min(count, self._limit - self._next)
        if self._rate > 0:
            allowed = int((self._monotonic() - self._started_at) * self._rate) - self._emitted_since_start
            count = min(count, allowed)
        return max(count, 0)

    def poll(self) -> list[Any] | None:
        """The next batch of records, or None after a short wait when none is due."""
        if self._stopping.is_set():
            return None
        count = self._due()
        if count == 0:
            if self._limit >= 0 and self._next >= self._limit:
                wait = self.max_wait_seconds
            else:
                elapsed = self._monotonic() - self._started_at
                wait = min((self._emitted_since_start + 1) / self._rate - elapsed, self.max_wait_seconds)
            self._stopping.wait(max(wait, 0.0))
            return None
        return self._generate(count)

    def _generate(self, count: int) -> list[Any]:
        make_record = self._source_record
        partition = self._partition
        topic = self._topic
        payload = self._payload
        task_id = self._task_id
        timestamp = time.time_ns() // 1_000_000
        keyed = self._key_mode == "sequence"
        key_schema = self._key_schema
        schema = self._schema
        make_struct = self._make_struct
        kafka_partition = self._kafka_partition
        records = []
        for sequence in range(self._next, self._next + count):
            if make_struct is not None:
                value: Any = make_struct([task_id, sequence, timestamp, payload])
            else:
                value = {"task": task_id, "sequence": sequence, "timestamp": timestamp, "payload": payload}
            records.append(
                make_record(
                    partition,
                    {SEQUENCE_FIELD: sequence},
                    topic,
                    kafka_partition,
                    key_schema,
                    sequence if keyed else None,
                    schema,
                    value,
                    timestamp,
                )
            )
        self._next += count
        self._emitted_since_start += count
        return records

    def stop(self) -> None:
        """Wake a waiting poll; later polls return None."""
        self._stopping.set()


class DiscardSinkConnector(SinkConnector):
    """Consumes and drops records, counting them per connector name (see :meth:`DiscardSinkTask.count`)."""

    def __init__(self) -> None:
        self._props: dict[str, str] = {}

    def version(self) -> str:
        """Kafka's version, like the other built-in connectors."""
        return KAFKA_VERSION

    def start(self, props: Mapping[str, str]) -> None:
        """Keep the configuration for the tasks."""
        self._props = dict(props)

    def task_class(self) -> type[Task]:
        """:class:`DiscardSinkTask`."""
        return DiscardSinkTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        """``max_tasks`` copies of the configuration."""
        return [dict(self._props) for _ in range(max_tasks)]

    def stop(self) -> None:
        """Nothing to release."""

    def config(self) -> ConfigDef:
        """No keys of its own (``topics``/``topics.regex`` are the worker's)."""
        return ConfigDef()

    def alter_offsets(
        self, connector_config: Mapping[str, str], offsets: Mapping[TopicPartition, int | None]
    ) -> bool:
        """Any offsets are fine: nothing is stored."""
        return True


class DiscardSinkTask(SinkTask):
    """Drops records; :attr:`records` counts this task's, :meth:`count` all tasks' of one connector.

    Thread safety: the per-connector totals are updated under a lock, so tasks on several threads and a reader
    (a test, a benchmark) may use them at once.
    """

    _totals: ClassVar[dict[str, int]] = {}
    _totals_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self.records = 0
        self._name = ""

    @classmethod
    def count(cls, connector_name: str) -> int:
        """Records received so far by all tasks of the connector named ``connector_name``."""
        with cls._totals_lock:
            return cls._totals.get(connector_name, 0)

    @classmethod
    def reset_counts(cls) -> None:
        """Forget all per-connector totals."""
        with cls._totals_lock:
            cls._totals.clear()

    def version(self) -> str:
        """Kafka's version."""
        return KAFKA_VERSION

    def start(self, props: Mapping[str, str]) -> None:
        """Remember the connector name the counts are kept under."""
        self._name = props.get("name", "")

    def put(self, records: Collection[Any]) -> None:
        """Count and drop ``records``."""
        n = len(records)
        if n:
            self.records += n
            with self._totals_lock:
                self._totals[self._name] = self._totals.get(self._name, 0) + n

    def stop(self) -> None:
        """Nothing to release."""


__all__ = [
    "DiscardSinkConnector",
    "DiscardSinkTask",
    "SyntheticSourceConnector",
    "SyntheticSourceTask",
]
