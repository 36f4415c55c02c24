# Typed public surface of the record core. ``kcfast._core`` (compiled) and ``kcfast._core_py`` (its
# pure-Python twin) both implement exactly this API; import it through ``kcfast.core``.
#
# Parts: records (ConnectRecord, SinkRecord, SourceRecord, TimestampType), offsets (SubmittedRecords,
# SubmittedRecord, CommittableOffsets, PartitionOffsets, SinkOffsets), batch conversion
# (sink_records_from_messages, encode_source_records, produce_batch) and PostgreSQL change data capture
# (PgTable, PgoutputDecoder). TimestampType, CommittableOffsets and
# PartitionOffsets are defined once in kcfast._core_common and shared by both implementations.
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Protocol, overload

from kcfast._core_common import CommittableOffsets as CommittableOffsets
from kcfast._core_common import PartitionOffsets as PartitionOffsets
from kcfast._core_common import TimestampType as TimestampType
from kcfast.api.converter import Converter, HeaderConverter
from kcfast.data import ConnectHeaders, Schema, Struct

__all__: list[str]

TopicPartition = tuple[str, int]
"""A Kafka topic-partition as the core keys it: ``(topic, partition)`` (or a named tuple of those, made by
``SinkOffsets(partition_type)``)."""

class _Message(Protocol):
    """What the core reads from a ``confluent_kafka.Message``."""

    def error(self) -> Any: ...
    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...
    def timestamp(self) -> tuple[int, int]: ...
    def key(self) -> bytes | None: ...
    def value(self) -> bytes | None: ...
    def headers(self) -> list[tuple[str, bytes | None]] | None: ...

class _Producer(Protocol):
    """What ``produce_batch`` calls on a ``confluent_kafka.Producer``."""

    def produce(self, topic: str, value: Any = ..., key: Any = ..., partition: int = ..., *args: Any,
                **kwargs: Any) -> None: ...
    def poll(self, timeout: float = ...) -> int: ...

# ---------------------------------------------------------------------------------------------- records

class ConnectRecord:
    """Base of the records that flow through a connector (Kafka Connect's ``ConnectRecord``)."""

    @property
    def topic(self) -> str: ...
    @property
    def kafka_partition(self) -> int | None: ...
    @property
    def key_schema(self) -> Schema | None: ...
    @property
    def key(self) -> Any: ...
    @property
    def value_schema(self) -> Schema | None: ...
    @property
    def value(self) -> Any: ...
    @property
    def timestamp(self) -> int | None: ...
    @property
    def headers(self) -> ConnectHeaders: ...
    def new_record(
        self,
        topic: str,
        kafka_partition: int | None,
        key_schema: Schema | None,
        key: Any,
        value_schema: Schema | None,
        value: Any,
        timestamp: int | None,
        headers: ConnectHeaders | Iterable[Any] | None = None,
    ) -> ConnectRecord: ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

class SinkRecord(ConnectRecord):
    """A record consumed from Kafka, handed to a sink task (Kafka Connect's ``SinkRecord``)."""

    def __init__(
        self,
        topic: str,
        kafka_partition: int | None,
        key_schema: Schema | None,
        key: Any,
        value_schema: Schema | None,
        value: Any,
        kafka_offset: int,
        timestamp: int | None = None,
        timestamp_type: TimestampType = ...,
        headers: ConnectHeaders | Iterable[Any] | None = None,
        original_topic: str | None = None,
        original_kafka_partition: int | None = None,
        original_kafka_offset: int | None = None,
    ) -> None: ...
    @property
    def kafka_offset(self) -> int: ...
    @property
    def timestamp_type(self) -> TimestampType: ...
    @property
    def original_topic(self) -> str: ...
    @property
    def original_kafka_partition(self) -> int | None: ...
    @property
    def original_kafka_offset(self) -> int: ...
    def new_record(
        self,
        topic: str,
        kafka_partition: int | None,
        key_schema: Schema | None,
        key: Any,
        value_schema: Schema | None,
        value: Any,
        timestamp: int | None,
        headers: ConnectHeaders | Iterable[Any] | None = None,
    ) -> SinkRecord: ...

class SourceRecord(ConnectRecord):
    """A record produced by a source task, to be written to Kafka (Kafka Connect's ``SourceRecord``)."""

    def __init__(
        self,
        source_partition: Mapping[str, Any] | None,
        source_offset: Mapping[str, Any] | None,
        topic: str,
        kafka_partition: int | None = None,
        key_schema: Schema | None = None,
        key: Any = None,
        value_schema: Schema | None = None,
        value: Any = None,
        timestamp: int | None = None,
        headers: ConnectHeaders | Iterable[Any] | None = None,
    ) -> None: ...
    @property
    def source_partition(self) -> Mapping[str, Any] | None: ...
    @property
    def source_offset(self) -> Mapping[str, Any] | None: ...
    def new_record(
        self,
        topic: str,
        kafka_partition: int | None,
        key_schema: Schema | None,
        key: Any,
        value_schema: Schema | None,
        value: Any,
        timestamp: int | None,
        headers: ConnectHeaders | Iterable[Any] | None = None,
    ) -> SourceRecord: ...

# ---------------------------------------------------------------------------------------------- offsets

class SubmittedRecord:
    """One source record handed to the producer, waiting for its delivery acknowledgement."""

    @property
    def source_partition(self) -> Mapping[str, Any] | None: ...
    @property
    def source_offset(self) -> Mapping[str, Any] | None: ...
    @property
    def acked(self) -> bool: ...
    def ack(self) -> None: ...
    def __call__(self, err: Any, msg: Any) -> None: ...
    def drop(self) -> bool: ...

class SubmittedBatch(Sequence[SubmittedRecord]):
    """The records of one ``SubmittedRecords.submit_all`` call, in batch order (compiled core; the
    pure-Python twin returns a list)."""

    def __len__(self) -> int: ...
    @overload
    def __getitem__(self, index: int) -> SubmittedRecord: ...
    @overload
    def __getitem__(self, index: slice) -> list[SubmittedRecord]: ...

class SubmittedRecords:
    """Source records in flight, per source partition, and the offsets that can be committed."""

    on_failure: Callable[[SubmittedRecord, Any, Any], object] | None
    def __init__(self) -> None: ...
    @property
    def in_flight(self) -> int: ...
    def submit(self, source_partition: Mapping[str, Any] | None, source_offset: Mapping[str, Any] | None) -> SubmittedRecord: ...
    def submit_all(self, records: Sequence[SourceRecord]) -> Sequence[SubmittedRecord]: ...
    def committable_offsets(self) -> CommittableOffsets: ...
    def await_all_messages(self, timeout: float | None) -> bool: ...

class SinkOffsets:
    """Per topic-partition consumed, committable and last committed offsets of a sink task."""

    def __init__(self, partition_type: Callable[[str, int], Any] | None = None) -> None: ...
    @property
    def consumed(self) -> dict[TopicPartition, int]: ...
    @property
    def committable(self) -> dict[TopicPartition, int]: ...
    @property
    def last_committed(self) -> dict[TopicPartition, int]: ...
    def __len__(self) -> int: ...
    def __contains__(self, tp: object) -> bool: ...
    def assign(self, positions: Mapping[TopicPartition, int]) -> None: ...
    def update(self, records: Sequence[SinkRecord]) -> None: ...
    def update_offset(self, topic: str, partition: int, offset: int) -> None: ...
    def snapshot(self) -> dict[TopicPartition, int]: ...
    def set_committable(self, offsets: Mapping[TopicPartition, int] | None) -> dict[TopicPartition, int]: ...
    def has_uncommitted(self) -> bool: ...
    def set_committed(self, offsets: Mapping[TopicPartition, int] | None = None) -> None: ...
    def remove(self, partitions: Iterable[TopicPartition]) -> None: ...
    def rewind(self, tp: TopicPartition, offset: int) -> None: ...

# ---------------------------------------------------------------------------------------------- convert

def sink_records_from_messages(
    messages: Sequence[_Message],
    key_converter: Converter,
    value_converter: Converter,
    header_converter: HeaderConverter | None,
) -> list[SinkRecord]: ...
def encode_source_records(
    records: Sequence[SourceRecord],
    key_converter: Converter,
    value_converter: Converter,
    header_converter: HeaderConverter | None,
) -> list[tuple[str, int, bytes | None, bytes | None, list[tuple[str, bytes | None]] | None, int]]: ...
def batch_topics(batch: Sequence[Any]) -> list[str]: ...
def record_topics(records: Sequence[SinkRecord]) -> list[str]: ...
def produce_batch(
    producer: _Producer,
    encoded: Sequence[tuple[str, int, bytes | None, bytes | None, list[tuple[str, bytes | None]] | None, int]],
    callback: Callable[[Any, Any], None] | Sequence[Callable[[Any, Any], None] | None] | None,
    start: int = 0,
) -> int: ...

def send_source_records(
    producer: _Producer,
    records: Sequence[SourceRecord],
    key_converter: Converter,
    value_converter: Converter,
    header_converter: HeaderConverter | None,
    callback: Callable[[Any, Any], None] | Sequence[Callable[[Any, Any], None] | None] | None,
    start: int = 0,
) -> int: ...

# ---------------------------------------------------------------------------------------------- pgoutput

class _ReplicationMessage(Protocol):
    """What the core reads from a ``psycopg2`` ``ReplicationMessage``."""

    @property
    def payload(self) -> bytes: ...
    @property
    def data_start(self) -> int: ...

_ColumnSpec = tuple[str, int, str, int, Callable[[str], Any], Any, Any]
"""``(name, position, kind, arg, convert, fallback, unavailable)`` of one column of a PgTable."""

class PgTable:
    """The compiled plan of one captured PostgreSQL table: schemas, `source` constants, column converters."""

    def __init__(
        self,
        topic: str,
        schema_name: str,
        table_name: str,
        key_schema: Schema | None,
        value_schema: Schema,
        envelope_schema: Schema,
        source_schema: Schema,
        source_head: tuple[str, str, str, str],
        columns: Sequence[_ColumnSpec],
        key_columns: Sequence[_ColumnSpec],
    ) -> None: ...
    @property
    def topic(self) -> str: ...
    @property
    def schema_name(self) -> str: ...
    @property
    def table_name(self) -> str: ...
    @property
    def key_schema(self) -> Schema | None: ...
    @property
    def value_schema(self) -> Schema: ...
    @property
    def envelope_schema(self) -> Schema: ...
    def row(self, texts: Sequence[Any]) -> Struct: ...
    def key(self, texts: Sequence[Any]) -> Struct | None: ...
    def snapshot_records(
        self,
        rows: Sequence[Sequence[str | None]],
        partition: Mapping[str, Any],
        lsn: int,
        txid: int,
        now_us: int,
        first_marker: str,
        last_marker: str,
        last: bool,
    ) -> list[SourceRecord]: ...

class PgoutputDecoder:
    """The state of one logical replication stream (pgoutput, protocol version 1) and its event building."""

    def __init__(
        self,
        partition: Mapping[str, Any],
        on_relation: Callable[[bytes], PgTable | None],
        tombstones: bool = True,
        skipped_operations: Iterable[str] = (),
    ) -> None: ...
    @property
    def transaction_id(self) -> int | None: ...
    @property
    def commit_time_us(self) -> int: ...
    @property
    def last_commit_lsn(self) -> int | None: ...
    @last_commit_lsn.setter
    def last_commit_lsn(self, value: int | None) -> None: ...
    @property
    def skip(self) -> tuple[int, int, int] | None: ...
    @skip.setter
    def skip(self, value: Sequence[int] | None) -> None: ...
    @property
    def offset(self) -> dict[str, Any] | None: ...
    @offset.setter
    def offset(self, value: dict[str, Any] | None) -> None: ...
    @property
    def drained(self) -> bool: ...
    def table(self, relation_id: int) -> PgTable | None: ...
    def read(
        self, read_message: Callable[[], _ReplicationMessage | None], max_records: int, max_messages: int, now_us: int
    ) -> list[SourceRecord]: ...
    def decode(self, messages: Iterable[_ReplicationMessage], now_us: int) -> list[SourceRecord]: ...

# -- transformation chains over a batch (_core/transforms.pyx; twin: kcfast._core_py_transforms) --------------

def compile_transform_plan(specs: Sequence[Sequence[Any]]) -> list[Any]:
    """The plan of a transformation chain (from ``kcfast.runtime.transforms.stage_specs``), for
    :func:`transform_batch`."""

def transform_batch(
    records: list[Any], plan: list[Any]
) -> tuple[list[Any], list[tuple[int, int, Any, Exception]]]:
    """``(results, failures)``: one result per record (None: dropped or failed), and ``(position, stage,
    record, error)`` for each record a stage raised on."""

# -- the source tasks' producer (_core/producer.pyx; compiled only, outside __all__) ------------------------

def load_librdkafka(path: str, expected_version: int) -> str | None:
    """Reach librdkafka at ``path`` (already loaded); ``None`` when it is usable, else why not."""

class DirectProducer:
    """A librdkafka producer driven by the core (see ``kcfast.kafka.direct``)."""

    @property
    def ignored(self) -> list[str]: ...
    @property
    def name(self) -> str: ...
    def __init__(
        self,
        config: dict[str, Any],
        log: Callable[[int, str, str, str], None] | None,
        error: Callable[[int, str], Any],
        exception: Callable[[Any], BaseException],
    ) -> None: ...
    def poll(self, timeout: float = 0.0) -> int: ...
    def flush(self, timeout: float = -1.0) -> int: ...
    def __len__(self) -> int: ...
    def close(self) -> None: ...
