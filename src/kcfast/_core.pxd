# The contract of the compiled record core: every cdef class, its fields and its cdef methods.
# A change here is an API change of kcfast._core: review it as such.

cimport cython
from libc.stdint cimport int64_t


# ---------------------------------------------------------------------------------------------- records

cdef class ConnectRecord:
    cdef readonly object topic
    cdef readonly object kafka_partition
    cdef readonly object key_schema
    cdef readonly object key
    cdef readonly object value_schema
    cdef readonly object value
    cdef readonly object timestamp
    # None until first read through the `headers` property (records without headers allocate nothing),
    # else a kcfast.data.ConnectHeaders or, until then, the iterable of headers the record was given.
    cdef object _headers

    cdef bint _base_equal(self, ConnectRecord other) except -1
    cdef str _base_repr(self)


@cython.final
cdef class SinkRecord(ConnectRecord):
    cdef readonly object kafka_offset
    cdef readonly object timestamp_type
    cdef readonly object original_topic
    cdef readonly object original_kafka_partition
    cdef readonly object original_kafka_offset


@cython.final
cdef class SourceRecord(ConnectRecord):
    cdef readonly object source_partition
    cdef readonly object source_offset


# ---------------------------------------------------------------------------------------------- offsets

cdef enum SubmittedState:
    SUBMITTED = 0
    ACKED = 1
    DROPPED = 2


@cython.final
cdef class SubmittedRecord:
    cdef SubmittedRecords _owner
    cdef object _key            # partition_key(source_partition)
    cdef readonly object source_partition
    cdef readonly object source_offset
    cdef SubmittedState _state


@cython.final
cdef class _PartitionQueue:
    # The records of one source partition in submission order: records[head:] are tracked. A list with a
    # moving head makes committable_offsets() pop the acknowledged prefix without shifting memory.
    cdef object partition       # the first submitted partition map with this key
    cdef list records
    cdef Py_ssize_t head

    cdef inline Py_ssize_t size(self) noexcept
    cdef int compact(self) except -1


@cython.final
cdef class SubmittedRecords:
    cdef dict _queues           # partition_key -> _PartitionQueue
    cdef Py_ssize_t _in_flight  # changed only while holding the GIL, without Python calls in between
    cdef object _waiter         # threading.Event of the last await_all_messages, or None

    cdef SubmittedRecord _submit(self, object partition, object offset)
    cdef int _settled(self) except -1


@cython.final
cdef class SinkOffsets:
    cdef dict _consumed
    cdef dict _committable
    cdef dict _committed
    cdef object _tp             # makes the key of a new partition from (topic, partition)

    cdef int _set_consumed(self, object topic, object partition, object offset) except -1


# ---------------------------------------------------------------------------------------------- convert

cdef enum CodecKind:
    CODEC_GENERIC = 0           # the converter's own per-record method
    CODEC_BYTES = 1             # ByteArrayConverter
    CODEC_STRING_UTF8 = 2       # StringConverter with UTF-8
    CODEC_JSON = 3              # JsonConverter, schemas.enable=false
    CODEC_JSON_ENVELOPE = 4     # JsonConverter, schemas.enable=true


cdef enum NodeKind:
    NODE_DELEGATE = 0           # the converter's walk function for this subtree (logical types, FLOAT32, ...)
    NODE_INT = 1
    NODE_FLOAT64 = 2
    NODE_BOOLEAN = 3
    NODE_STRING = 4
    NODE_ARRAY = 5
    NODE_MAP_STR = 6            # a map with string keys: a JSON object
    NODE_STRUCT = 7


cdef struct _Cursor:
    # A position in JSON text that _JsonNode.parse reads from.
    const char* p
    Py_ssize_t i
    Py_ssize_t n


@cython.final
cdef class _JsonNode:
    # One schema node of a compiled JSON plan: how to read its JSON into Connect data and write it back,
    # mirroring kcfast.converters._jsonvalue's walks. A node that cannot handle a value raises _Fallback and
    # the record goes through the converter instead, so results are the converter's by construction.
    cdef NodeKind kind
    cdef object schema
    cdef bint optional
    cdef object default
    cdef int64_t low
    cdef int64_t high
    cdef _JsonNode item         # ARRAY items, MAP values
    cdef tuple names            # STRUCT field names, in field order
    cdef tuple fields           # STRUCT field nodes, in field order
    cdef object alias           # STRUCT: a schema object found equal to `schema` (see _same_schema)
    cdef tuple names_utf8       # STRUCT field names as UTF-8 bytes, to match JSON keys without decoding
    cdef bint direct            # this subtree can be parsed straight from JSON text (see _JsonNode.parse)

    cdef bint _same_schema(self, object schema) except -1
    cdef object null(self, bint replace)
    cdef object read(self, object obj, bint replace)
    cdef object parse(self, _Cursor* c, bint replace)
    cdef object write(self, object value, bint numeric, bint replace)


@cython.final
cdef class _JsonState:
    # What the compiled JSON path remembers of one JsonConverter between batches.
    cdef bint schemas_enabled
    cdef bint replace
    cdef bint numeric
    cdef bytes last_key         # schema text of the last envelope read, when it stands for its schema exactly
    cdef object last_schema_obj # the parsed schema of the last envelope read
    cdef object last_schema
    cdef _JsonNode last_plan
    cdef int direct_misses      # payloads in a row the direct parser handed over to orjson
    cdef dict write_plans       # id(Schema) -> (Schema, schema JSON bytes, _JsonNode)


@cython.final
cdef class _Decoder:
    cdef CodecKind kind
    cdef object converter
    cdef object to_connect      # converter.to_connect_data
    cdef _JsonState state
    cdef object schema_out      # results of the last decode()
    cdef object value_out

    cdef int decode(self, object topic, object data) except -1
    cdef int generic(self, object topic, object data) except -1
    cdef int envelope(self, object topic, object data) except -1


@cython.final
cdef class _Encoder:
    cdef CodecKind kind
    cdef object converter
    cdef object from_connect    # converter.from_connect_data
    cdef _JsonState state

    cdef object encode(self, object topic, object schema, object value)
    cdef object envelope(self, object topic, object schema, object value)
    cdef tuple _plan_for(self, object schema)
