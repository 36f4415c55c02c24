# Records: ConnectRecord, SinkRecord, SourceRecord. Included by _core.pyx; fields are declared in _core.pxd.
#
# The sink path builds one SinkRecord per consumed message, so construction must be cheap: the convert
# part creates records with SinkRecord.__new__ and fills the fields directly (see new_sink_record), and
# headers are left as None until someone reads them.
#
# SinkRecord and SourceRecord have no freelist: Cython manages freelists only on base types, and both
# derive from ConnectRecord so that isinstance(record, ConnectRecord) holds as in Kafka Connect.


cdef object _ConnectHeaders = None


cdef object _headers_class():
    # kcfast.data is imported on first use: importing the core must not import the data API, and
    # records without headers never need it.
    global _ConnectHeaders
    if _ConnectHeaders is None:
        from kcfast.data import ConnectHeaders
        _ConnectHeaders = ConnectHeaders
    return _ConnectHeaders


cdef object _as_headers(object headers):
    cdef object cls = _headers_class()
    if headers is None:
        return cls()
    if isinstance(headers, cls):
        return headers
    return cls(headers)


cdef inline object _duplicate_headers(object headers):
    if headers is None:
        return None
    return _as_headers(headers).duplicate()


cdef bint _headers_equal(object a, object b) except -1:
    if a is None and b is None:
        return True
    return bool(_as_headers(a) == _as_headers(b))


cdef class ConnectRecord:
    """Base of the records that flow through a connector (Kafka Connect's ``ConnectRecord``).

    Records are immutable: transformations make new ones with :meth:`new_record`. The ``headers`` object
    is created on first access, so a record that never touches its headers does not allocate one; it is
    mutable, as in Kafka Connect.

    Thread safety: a record may be read from any thread; its headers must not be mutated concurrently.
    """

    def __init__(self, topic, kafka_partition, key_schema, key, value_schema, value, timestamp=None,
                 headers=None):
        self.topic = topic
        self.kafka_partition = kafka_partition
        self.key_schema = key_schema
        self.key = key
        self.value_schema = value_schema
        self.value = value
        self.timestamp = timestamp
        self._headers = headers

    @property
    def headers(self):
        """The record's ``kcfast.data.ConnectHeaders`` (created empty on first access if it had none)."""
        headers = self._headers
        if headers is None or type(headers) is not _ConnectHeaders:
            headers = self._headers = _as_headers(headers)
        return headers

    def new_record(self, topic, kafka_partition, key_schema, key, value_schema, value, timestamp, headers=None):
        """A record of the same class with the given fields; ``headers=None`` copies this record's headers."""
        raise NotImplementedError

    cdef bint _base_equal(self, ConnectRecord other) except -1:
        return (
            self.kafka_partition == other.kafka_partition
            and self.topic == other.topic
            and self.key_schema == other.key_schema
            and self.key == other.key
            and self.value_schema == other.value_schema
            and self.value == other.value
            and self.timestamp == other.timestamp
            and _headers_equal(self._headers, other._headers)
        )

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self._base_equal(<ConnectRecord>other)

    __hash__ = None

    cdef str _base_repr(self):
        return (
            f"topic={self.topic!r}, kafka_partition={self.kafka_partition!r}, key_schema={self.key_schema!r}, "
            f"key={self.key!r}, value_schema={self.value_schema!r}, value={self.value!r}, "
            f"timestamp={self.timestamp!r}, headers={self._headers!r}"
        )


@cython.final
cdef class SinkRecord(ConnectRecord):
    """A record consumed from Kafka, handed to a sink task (Kafka Connect's ``SinkRecord``).

    ``original_topic``, ``original_kafka_partition`` and ``original_kafka_offset`` are the coordinates the
    record was consumed at; transformations keep them, so offsets are always tracked on the consumed
    partition. They default to the record's own coordinates.
    """

    def __init__(self, topic, kafka_partition, key_schema, key, value_schema, value, kafka_offset,
                 timestamp=None, timestamp_type=_NO_TIMESTAMP_TYPE, headers=None, original_topic=None,
                 original_kafka_partition=None, original_kafka_offset=None):
        self.topic = topic
        self.kafka_partition = kafka_partition
        self.key_schema = key_schema
        self.key = key
        self.value_schema = value_schema
        self.value = value
        self.timestamp = timestamp
        self._headers = headers
        self.kafka_offset = kafka_offset
        self.timestamp_type = timestamp_type
        self.original_topic = topic if original_topic is None else original_topic
        self.original_kafka_partition = (
            kafka_partition if original_kafka_partition is None else original_kafka_partition
        )
        self.original_kafka_offset = kafka_offset if original_kafka_offset is None else original_kafka_offset

    def new_record(self, topic, kafka_partition, key_schema, key, value_schema, value, timestamp, headers=None):
        """A copy with new fields, keeping the Kafka offset, timestamp type and original coordinates."""
        cdef SinkRecord rec = SinkRecord.__new__(SinkRecord)
        rec.topic = topic
        rec.kafka_partition = kafka_partition
        rec.key_schema = key_schema
        rec.key = key
        rec.value_schema = value_schema
        rec.value = value
        rec.timestamp = timestamp
        rec._headers = _duplicate_headers(self._headers) if headers is None else headers
        rec.kafka_offset = self.kafka_offset
        rec.timestamp_type = self.timestamp_type
        rec.original_topic = self.original_topic
        rec.original_kafka_partition = self.original_kafka_partition
        rec.original_kafka_offset = self.original_kafka_offset
        return rec

    def __eq__(self, other):
        if type(other) is not SinkRecord:
            return NotImplemented
        cdef SinkRecord o = <SinkRecord>other
        return (
            self._base_equal(o)
            and self.kafka_offset == o.kafka_offset
            and self.timestamp_type == o.timestamp_type
            and self.original_topic == o.original_topic
            and self.original_kafka_partition == o.original_kafka_partition
            and self.original_kafka_offset == o.original_kafka_offset
        )

    __hash__ = None

    def __repr__(self):
        return (
            f"SinkRecord({self._base_repr()}, kafka_offset={self.kafka_offset!r}, "
            f"timestamp_type={str(self.timestamp_type)}, original_topic={self.original_topic!r}, "
            f"original_kafka_partition={self.original_kafka_partition!r}, "
            f"original_kafka_offset={self.original_kafka_offset!r})"
        )


@cython.final
cdef class SourceRecord(ConnectRecord):
    """A record produced by a source task, to be written to Kafka (Kafka Connect's ``SourceRecord``).

    ``source_partition`` and ``source_offset`` are maps of string keys to primitive values that say where
    in the source system the record came from; the worker commits the offset once the record is written.
    """

    def __init__(self, source_partition, source_offset, topic, kafka_partition=None, key_schema=None,
                 key=None, value_schema=None, value=None, timestamp=None, headers=None):
        self.topic = topic
        self.kafka_partition = kafka_partition
        self.key_schema = key_schema
        self.key = key
        self.value_schema = value_schema
        self.value = value
        self.timestamp = timestamp
        self._headers = headers
        self.source_partition = source_partition
        self.source_offset = source_offset

    def new_record(self, topic, kafka_partition, key_schema, key, value_schema, value, timestamp, headers=None):
        """A copy with new fields, keeping the source partition and offset."""
        cdef SourceRecord rec = SourceRecord.__new__(SourceRecord)
        rec.topic = topic
        rec.kafka_partition = kafka_partition
        rec.key_schema = key_schema
        rec.key = key
        rec.value_schema = value_schema
        rec.value = value
        rec.timestamp = timestamp
        rec._headers = _duplicate_headers(self._headers) if headers is None else headers
        rec.source_partition = self.source_partition
        rec.source_offset = self.source_offset
        return rec

    def __eq__(self, other):
        if type(other) is not SourceRecord:
            return NotImplemented
        cdef SourceRecord o = <SourceRecord>other
        return (
            self._base_equal(o)
            and self.source_partition == o.source_partition
            and self.source_offset == o.source_offset
        )

    __hash__ = None

    def __repr__(self):
        return (
            f"SourceRecord(source_partition={self.source_partition!r}, source_offset={self.source_offset!r}, "
            f"{self._base_repr()})"
        )
