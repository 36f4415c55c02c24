"""Pure-Python twin of ``kcfast._core``: the same API, the fallback when the extension is absent, and the
oracle of the core's tests.

Import it through :mod:`kcfast.core`. Everything here is written for clarity first: the compiled core must
give the same results, and the tests compare the two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kcfast._core_common import (
    PARTITION_EOF,
    PRODUCE_RETRY_POLL_SECONDS,
    STAGE_HEADER_CONVERTER,
    STAGE_KEY_CONVERTER,
    STAGE_VALUE_CONVERTER,
    TIMESTAMP_TYPES,
    CommittableOffsets,
    PartitionOffsets,
    TimestampType,
    consume_error,
    conversion_error,
    produce_error,
    timestamp_of,
)
from kcfast._core_py_offsets import SinkOffsets, SubmittedRecord, SubmittedRecords
from kcfast._core_py_transforms import compile_transform_plan, transform_batch

_NO_TIMESTAMP_TYPE = TimestampType.NO_TIMESTAMP_TYPE

_ConnectHeaders: Any = None


def _headers_class() -> Any:
    """``kcfast.data.ConnectHeaders``, imported on first use so that records without headers cost nothing."""
    global _ConnectHeaders
    if _ConnectHeaders is None:
        from kcfast.data import ConnectHeaders

        _ConnectHeaders = ConnectHeaders
    return _ConnectHeaders


def _as_headers(headers: Any) -> Any:
    """The ``ConnectHeaders`` for what a record was given: nothing, a ``ConnectHeaders``, or header objects."""
    cls = _headers_class()
    if headers is None:
        return cls()
    if isinstance(headers, cls):
        return headers
    return cls(headers)


def _duplicate_headers(headers: Any) -> Any:
    """A copy of a record's stored headers for ``new_record`` (``None`` stays ``None``: nothing to copy)."""
    if headers is None:
        return None
    return _as_headers(headers).duplicate()


def _headers_equal(a: Any, b: Any) -> bool:
    if a is None and b is None:
        return True
    return bool(_as_headers(a) == _as_headers(b))


# ---------------------------------------------------------------------------------------------- records


class ConnectRecord:
    """Base of the records that flow through a connector (Kafka Connect's ``ConnectRecord``).

    Records are immutable: transformations make new ones with :meth:`new_record`. The ``headers`` object
    is created on first access, so a record that never touches its headers does not allocate one; it is
    mutable, as in Kafka Connect.

    Thread safety: a record may be read from any thread; its headers must not be mutated concurrently.
    """

    __slots__ = ("_topic", "_kafka_partition", "_key_schema", "_key", "_value_schema", "_value", "_timestamp", "_headers")

    def __init__(
        self,
        topic: str,
        kafka_partition: int | None,
        key_schema: Any,
        key: Any,
        value_schema: Any,
        value: Any,
        timestamp: int | None = None,
        headers: Any = None,
    ) -> None:
        self._topic = topic
        self._kafka_partition = kafka_partition
        self._key_schema = key_schema
        self._key = key
        self._value_schema = value_schema
        self._value = value
        self._timestamp = timestamp
        self._headers = headers

    @property
    def topic(self) -> str:
        """The Kafka topic of the record."""
        return self._topic

    @property
    def kafka_partition(self) -> int | None:
        """The Kafka partition, or ``None`` to let the producer choose."""
        return self._kafka_partition

    @property
    def key_schema(self) -> Any:
        """The schema of the key, or ``None``."""
        return self._key_schema

    @property
    def key(self) -> Any:
        """The key, as Connect data."""
        return self._key

    @property
    def value_schema(self) -> Any:
        """The schema of the value, or ``None``."""
        return self._value_schema

    @property
    def value(self) -> Any:
        """The value, as Connect data."""
        return self._value

    @property
    def timestamp(self) -> int | None:
        """The timestamp in milliseconds since the epoch, or ``None``."""
        return self._timestamp

    @property
    def headers(self) -> Any:
        """The record's ``kcfast.data.ConnectHeaders`` (created empty on first access if it had none)."""
        headers = self._headers
        if headers is None or headers.__class__ is not _ConnectHeaders:
            headers = self._headers = _as_headers(headers)
        return headers

    def new_record(
        self,
        topic: str,
        kafka_partition: int | None,
        key_schema: Any,
        key: Any,
        value_schema: Any,
        value: Any,
        timestamp: int | None,
        headers: Any = None,
    ) -> ConnectRecord:
        """A record of the same class with the given fields; ``headers=None`` copies this record's headers."""
        raise NotImplementedError

    def _base_equal(self, other: ConnectRecord) -> bool:
        return (
            self._kafka_partition == other._kafka_partition
            and self._topic == other._topic
            and self._key_schema == other._key_schema
            and self._key == other._key
            and self._value_schema == other._value_schema
            and self._value == other._value
            and self._timestamp == other._timestamp
            and _headers_equal(self._headers, other._headers)
        )

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._base_equal(other)  # type: ignore[arg-type]

    __hash__ = None  # type: ignore[assignment]

    def _base_repr(self) -> str:
        return (
            f"topic={self._topic!r}, kafka_partition={self._kafka_partition!r}, key_schema={self._key_schema!r}, "
            f"key={self._key!r}, value_schema={self._value_schema!r}, value={self._value!r}, "
            f"timestamp={self._timestamp!r}, headers={self._headers!r}"
        )


class SinkRecord(ConnectRecord):
    """A record consumed from Kafka, handed to a sink task (Kafka Connect's ``SinkRecord``).

    ``original_topic``, ``original_kafka_partition`` and ``original_kafka_offset`` are the coordinates the
    record was consumed at; transformations keep them, so offsets are always tracked on the consumed
    partition. They default to the record's own coordinates.
    """

    __slots__ = ("_kafka_offset", "_timestamp_type", "_original_topic", "_original_kafka_partition", "_original_kafka_offset")

    def __init__(
        self,
        topic: str,
        kafka_partition: int | None,
        key_schema: Any,
        key: Any,
        value_schema: Any,
        value: Any,
        kafka_offset: int,
        timestamp: int | None = None,
        timestamp_type: TimestampType = _NO_TIMESTAMP_TYPE,
        headers: Any = None,
        original_topic: str | None = None,
        original_kafka_partition: int | None = None,
        original_kafka_offset: int | None = None,
    ) -> None:
        self._topic = topic
        self._kafka_partition = kafka_partition
        self._key_schema = key_schema
        self._key = key
        self._value_schema = value_schema
        self._value = value
        self._timestamp = timestamp
        self._headers = headers
        self._kafka_offset = kafka_offset
        self._timestamp_type = timestamp_type
        self._original_topic = topic if original_topic is None else original_topic
        self._original_kafka_partition = kafka_partition if original_kafka_partition is None else original_kafka_partition
        self._original_kafka_offset = kafka_offset if original_kafka_offset is None else original_kafka_offset

    @property
    def kafka_offset(self) -> int:
        """The offset of the record in its Kafka partition."""
        return self._kafka_offset

    @property
    def timestamp_type(self) -> TimestampType:
        """How the timestamp was set."""
        return self._timestamp_type

    @property
    def original_topic(self) -> str:
        """The topic the record was consumed from, before any transformation."""
        return self._original_topic

    @property
    def original_kafka_partition(self) -> int | None:
        """The partition the record was consumed from, before any transformation."""
        return self._original_kafka_partition

    @property
    def original_kafka_offset(self) -> int:
        """The offset the record was consumed at, before any transformation."""
        return self._original_kafka_offset

    def new_record(
        self,
        topic: str,
        kafka_partition: int | None,
        key_schema: Any,
        key: Any,
        value_schema: Any,
        value: Any,
        timestamp: int | None,
        headers: Any = None,
    ) -> SinkRecord:
        """A copy with new fields, keeping the Kafka offset, timestamp type and original coordinates."""
        if headers is None:
            headers = _duplicate_headers(self._headers)
        return SinkRecord(
            topic,
            kafka_partition,
            key_schema,
            key,
            value_schema,
            value,
            self._kafka_offset,
            timestamp,
            self._timestamp_type,
            headers,
            self._original_topic,
            self._original_kafka_partition,
            self._original_kafka_offset,
        )

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not SinkRecord:
            return NotImplemented
        assert isinstance(other, SinkRecord)
        return (
            self._base_equal(other)
            and self._kafka_offset == other._kafka_offset
            and self._timestamp_type == other._timestamp_type
            and self._original_topic == other._original_topic
            and self._original_kafka_partition == other._original_kafka_partition
            and self._original_kafka_offset == other._original_kafka_offset
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"SinkRecord({self._base_repr()}, kafka_offset={self._kafka_offset!r}, "
            f"timestamp_type={str(self._timestamp_type)}, original_topic={self._original_topic!r}, "
            f"original_kafka_partition={self._original_kafka_partition!r}, "
            f"original_kafka_offset={self._original_kafka_offset!r})"
        )


class SourceRecord(ConnectRecord):
    """A record produced by a source task, to be written to Kafka (Kafka Connect's ``SourceRecord``).

    ``source_partition`` and ``source_offset`` are maps of string keys to primitive values that say where
    in the source system the record came from; the worker commits the offset once the record is written.
    """

    __slots__ = ("_source_partition", "_source_offset")

    def __init__(
        self,
        source_partition: Mapping[str, Any] | None,
        source_offset: Mapping[str, Any] | None,
        topic: str,
        kafka_partition: int | None = None,
        key_schema: Any = None,
        key: Any = None,
        value_schema: Any = None,
        value: Any = None,
        timestamp: int | None = None,
        headers: Any = None,
    ) -> None:
        self._topic = topic
        self._kafka_partition = kafka_partition
        self._key_schema = key_schema
        self._key = key
        self._value_schema = value_schema
        self._value = value
        self._timestamp = timestamp
        self._headers = headers
        self._source_partition = source_partition
        self._source_offset = source_offset

    @property
    def source_partition(self) -> Mapping[str, Any] | None:
        """Where in the source system the record comes from (a map of string keys)."""
        return self._source_partition

    @property
    def source_offset(self) -> Mapping[str, Any] | None:
        """The position of the record within its source partition (a map of string keys)."""
        return self._source_offset

    def new_record(
        self,
        topic: str,
        kafka_partition: int | None,
        key_schema: Any,
        key: Any,
        value_schema: Any,
        value: Any,
        timestamp: int | None,
        headers: Any = None,
    ) -> SourceRecord:
        """A copy with new fields, keeping the source partition and offset."""
        if headers is None:
            headers = _duplicate_headers(self._headers)
        return SourceRecord(
            self._source_partition,
            self._source_offset,
            topic,
            kafka_partition,
            key_schema,
            key,
            value_schema,
            value,
            timestamp,
            headers,
        )

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not SourceRecord:
            return NotImplemented
        assert isinstance(other, SourceRecord)
        return (
            self._base_equal(other)
            and self._source_partition == other._source_partition
            and self._source_offset == other._source_offset
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"SourceRecord(source_partition={self._source_partition!r}, source_offset={self._source_offset!r}, "
            f"{self._base_repr()})"
        )


# ---------------------------------------------------------------------------------------------- convert


def sink_records_from_messages(
    messages: Sequence[Any], key_converter: Any, value_converter: Any, header_converter: Any
) -> list[SinkRecord]:
    """Convert a consumed batch (``Consumer.consume(num_messages)``) into SinkRecords, in order.

    Key, value and headers go through the converters (``to_connect_data`` / ``to_connect_header``), in
    Kafka Connect's order: key, value, headers. Messages that carry the partition-EOF event are skipped;
    any other consumer error raises ``ConnectError`` (``RetriableError`` if librdkafka says it is
    retriable) with ``index``, ``topic``, ``partition``, ``offset`` attributes.

    Raises:
        DataError: a message could not be converted; ``index`` is its position in ``messages``, and
            ``topic``, ``partition``, ``offset``, ``stage`` say which record and which converter.
    """
    records: list[SinkRecord] = []
    for index, msg in enumerate(messages):
        err = msg.error()
        if err is not None:
            if err.code() == PARTITION_EOF:
                continue
            raise consume_error(index, msg, err)
        topic = msg.topic()
        partition = msg.partition()
        offset = msg.offset()
        ts_type, ts = msg.timestamp()
        raw_key = msg.key()
        raw_value = msg.value()
        raw_headers = msg.headers()
        try:
            key = key_converter.to_connect_data(topic, raw_key)
        except Exception as exc:
            raise conversion_error(index, topic, partition, offset, STAGE_KEY_CONVERTER, key_converter, exc) from exc
        try:
            value = value_converter.to_connect_data(topic, raw_value)
        except Exception as exc:
            raise conversion_error(index, topic, partition, offset, STAGE_VALUE_CONVERTER, value_converter, exc) from exc
        headers = None
        if raw_headers:
            try:
                headers = _to_connect_headers(topic, raw_headers, header_converter)
            except Exception as exc:
                raise conversion_error(
                    index, topic, partition, offset, STAGE_HEADER_CONVERTER, header_converter, exc
                ) from exc
        records.append(
            SinkRecord(
                topic,
                partition,
                key.schema,
                key.value,
                value.schema,
                value.value,
                offset,
                timestamp_of(ts_type, ts),
                TIMESTAMP_TYPES[ts_type] if 0 <= ts_type < 3 else _NO_TIMESTAMP_TYPE,
                headers,
            )
        )
    return records


def _to_connect_headers(topic: str, raw_headers: list[tuple[str, bytes | None]], header_converter: Any) -> Any:
    headers = _headers_class()()
    for name, raw in raw_headers:
        if header_converter is None:
            headers.add_bytes(name, raw)
        else:
            headers.add(name, header_converter.to_connect_header(topic, name, raw))
    return headers


def encode_source_records(
    records: Sequence[SourceRecord], key_converter: Any, value_converter: Any, header_converter: Any
) -> list[tuple[str, int, bytes | None, bytes | None, list[tuple[str, bytes | None]] | None, int]]:
    """Serialize a batch of SourceRecords into ``(topic, partition, key, value, headers, timestamp)``
    tuples for ``Producer.produce``: partition ``-1`` lets the producer choose, headers ``None`` means none,
    timestamp ``0`` means "now".

    Headers, key and value go through the converters in Kafka Connect's order: headers, key, value.

    Raises:
        DataError: a record could not be converted; ``index`` is its position in ``records``, ``topic``
            and ``partition`` are the record's, ``offset`` is ``None``, ``stage`` names the converter.
    """
    encoded = []
    for index, rec in enumerate(records):
        topic = rec.topic
        partition = rec.kafka_partition
        headers = None
        if rec._headers is not None:
            try:
                headers = _from_connect_headers(topic, rec.headers, header_converter)
            except Exception as exc:
                raise conversion_error(index, topic, partition, None, STAGE_HEADER_CONVERTER, header_converter, exc) from exc
        try:
            key = key_converter.from_connect_data(topic, rec.key_schema, rec.key)
        except Exception as exc:
            raise conversion_error(index, topic, partition, None, STAGE_KEY_CONVERTER, key_converter, exc) from exc
        try:
            value = value_converter.from_connect_data(topic, rec.value_schema, rec.value)
        except Exception as exc:
            raise conversion_error(index, topic, partition, None, STAGE_VALUE_CONVERTER, value_converter, exc) from exc
        timestamp = rec.timestamp
        encoded.append(
            (topic, -1 if partition is None else partition, key, value, headers, 0 if timestamp is None else timestamp)
        )
    return encoded


def _from_connect_headers(topic: str, headers: Any, header_converter: Any) -> list[tuple[str, bytes | None]] | None:
    result = []
    for header in headers:
        name = header.key
        result.append((name, header_converter.from_connect_header(topic, name, header.schema, header.value)))
    return result or None


def batch_topics(batch: Sequence[Any]) -> list[str]:
    """The distinct topics of an encoded batch (``encode_source_records``' tuples) or of a batch of
    SourceRecords, in first-seen order."""
    return list(dict.fromkeys(item[0] if type(item) is tuple else item.topic for item in batch))


def record_topics(records: Sequence[Any]) -> list[str]:
    """The distinct ``original_topic`` of a batch of SinkRecords, in first-seen order."""
    return list(dict.fromkeys(rec.original_topic for rec in records))


def produce_batch(
    producer: Any,
    encoded: Sequence[tuple[str, int, bytes | None, bytes | None, list[tuple[str, bytes | None]] | None, int]],
    callback: Any,
    start: int = 0,
) -> int:
    """``producer.produce`` each encoded record from ``encoded[start]`` on, in order; returns how many.

    ``callback`` is the delivery callback of every record, or a sequence of callbacks indexed like
    ``encoded``, or ``None``. When the producer's queue is full (``BufferError``) the producer is polled
    (serving delivery callbacks) and the same record is retried: no record is dropped.

    ``produce`` is called with confluent-kafka's positional order, ``Producer.produce(topic, value, key,
    partition, callback, on_delivery, timestamp, headers)``, as ``(topic, value, key, partition, callback)``
    followed by ``None, timestamp`` and ``headers`` only when they are set (positional arguments are the
    cheapest to pass: a keyword ``timestamp=`` costs about 180 ns more per call); a producer that rejects
    that form with ``TypeError`` gets ``on_delivery=``, ``timestamp=`` and ``headers=`` keywords instead.

    Raises:
        ConnectError: ``produce`` failed otherwise; ``index`` is the failed record's position, ``produced``
            how many were produced before it; the producer's exception is the cause.
    """
    per_record = callback is not None and not callable(callback)
    positional = True
    produced = 0
    for index in range(start, len(encoded)):
        topic, partition, key, value, headers, timestamp = encoded[index]
        on_delivery = callback[index] if per_record else callback
        while True:
            try:
                if not positional:
                    producer.produce(topic, value, key, partition, on_delivery=on_delivery, timestamp=timestamp,
                                     headers=headers)
                elif headers is None and timestamp == 0:
                    producer.produce(topic, value, key, partition, on_delivery)
                elif headers is None:
                    producer.produce(topic, value, key, partition, on_delivery, None, timestamp)
                else:
                    producer.produce(topic, value, key, partition, on_delivery, None, timestamp, headers)
                break
            except BufferError:
                producer.poll(PRODUCE_RETRY_POLL_SECONDS)
            except TypeError as exc:
                if positional:
                    positional = False
                    continue
                raise produce_error(index, produced, topic, partition, exc) from exc
            except Exception as exc:
                raise produce_error(index, produced, topic, partition, exc) from exc
        produced += 1
    return produced


def send_source_records(
    producer: Any,
    records: Sequence[SourceRecord],
    key_converter: Any,
    value_converter: Any,
    header_converter: Any,
    callback: Any,
    start: int = 0,
) -> int:
    """Serialize each SourceRecord from ``records[start]`` on as :func:`encode_source_records` does and
    produce it at once, as :func:`produce_batch` does; returns how many records were produced.

    ``callback`` is as for :func:`produce_batch`, indexed like ``records``.

    Raises:
        DataError: record ``index`` of ``records`` could not be converted; the records before it were
            produced.
        ConnectError: ``produce`` refused record ``index``, as for :func:`produce_batch`.
    """
    per_record = callback is not None and not callable(callback)
    produced = 0
    for index in range(start, len(records)):
        try:
            encoded = encode_source_records(records[index:index + 1], key_converter, value_converter,
                                            header_converter)
        except Exception as exc:
            if hasattr(exc, "stage"):  # conversion_error's: the position in `records`
                exc.index = index  # type: ignore[attr-defined]
            raise
        try:
            produce_batch(producer, encoded, callback[index] if per_record else callback)
        except Exception as exc:
            if hasattr(exc, "produced"):  # produce_error's: the position in `records`
                exc.index, exc.produced = index, produced  # type: ignore[attr-defined]
            raise
        produced += 1
    return produced


# The pgoutput part lives in its own module; it builds this module's SourceRecord, so it is imported last.
from kcfast._core_py_pgoutput import PgoutputDecoder, PgTable

__all__ = [
    "batch_topics",
    "record_topics",
    "compile_transform_plan",
    "transform_batch",
    "encode_source_records",
    "produce_batch",
    "send_source_records",
    "sink_records_from_messages",
    "CommittableOffsets",
    "PartitionOffsets",
    "PgTable",
    "PgoutputDecoder",
    "SinkOffsets",
    "SubmittedRecord",
    "SubmittedRecords",
    "ConnectRecord",
    "SinkRecord",
    "SourceRecord",
    "TimestampType",
]
