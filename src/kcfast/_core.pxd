# The contract of the compiled record core: every cdef class, its fields and its cdef methods.
# A change here is an API change of kcfast._core: review it as such.

cimport cython
from cpython.pythread cimport PyThread_type_lock
from cpython.object cimport PyObject
from libc.stdint cimport int64_t, uint32_t


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


cdef struct _SubmittedEntry:
    # One record of a _SubmittedRun, as a DirectProducer's message opaque points to it.
    void* run                   # the _SubmittedRun (borrowed: the run outlives its entries' messages)
    Py_ssize_t index


@cython.final
cdef class _SubmittedRun:
    # Consecutive records of one source partition submitted together (by submit_all, or one by submit):
    # their offsets and states in one C block instead of an object per record.
    cdef SubmittedRecords owner
    cdef _PartitionQueue queue
    cdef object partition       # the source partition of the run's first record
    cdef Py_ssize_t size
    cdef Py_ssize_t head        # records before it are folded into the queue's pending offset
    cdef Py_ssize_t outstanding # messages a DirectProducer produced with the run's entries, not yet reported
    cdef PyObject** offsets     # owned references
    cdef _SubmittedEntry* entries
    cdef unsigned char* states  # SubmittedState

    cdef int ack(self, Py_ssize_t index) except -1
    cdef bint drop(self, Py_ssize_t index) except -1
    cdef SubmittedRecord record(self, Py_ssize_t index)


@cython.final
cdef class SubmittedRecord:
    # A handle on one record of a run, made when Python code asks for it.
    cdef _SubmittedRun _run
    cdef Py_ssize_t _index


@cython.final
cdef class SubmittedBatch:
    # What submit_all returns: the submitted records in batch order, as a sequence of handles.
    cdef list _runs
    cdef Py_ssize_t _size
    cdef _SubmittedEntry** entries  # entries[i]: the entry of the batch's record i

    cdef SubmittedRecord record(self, Py_ssize_t index)


@cython.final
cdef class _PartitionQueue:
    # The runs of one source partition in submission order: runs[head:] hold the tracked records. The
    # acknowledged prefix is folded into `pending` as acknowledgements arrive (collapse()), and a run is let
    # go once all its records are folded in or dropped; a list with a moving head pops them without shifting
    # memory.
    cdef object key             # partition_key(partition)
    cdef object partition       # the first submitted partition map with this key
    cdef list runs
    cdef Py_ssize_t head
    cdef Py_ssize_t tracked     # records submitted or acknowledged, neither folded in nor dropped
    cdef Py_ssize_t pending     # acknowledged records folded in since the last committable_offsets()
    cdef object pending_offset  # the source offset of the last of them

    cdef int collapse(self) except -1
    cdef int compact(self) except -1


@cython.final
cdef class SubmittedRecords:
    cdef dict _queues           # partition_key -> _PartitionQueue
    cdef Py_ssize_t _in_flight  # changed only while holding the GIL, without Python calls in between
    cdef object _waiter         # threading.Event of the last await_all_messages, or None
    cdef public object on_failure

    cdef _PartitionQueue _queue_for(self, object partition)
    cdef _SubmittedRun _new_run(self, _PartitionQueue queue, object partition, Py_ssize_t size)
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
    NODE_DECIMAL = 8            # org.apache.kafka.connect.data.Decimal (its scale in the node's `low`)


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


@cython.final
cdef class _EncodedRecord:
    # One source record as serialized for the producer; reused from record to record of a batch.
    cdef object topic, partition, key, value, headers, timestamp


# ---------------------------------------------------------------------------------------------- pgoutput

cdef enum PgKind:
    # How a PostgreSQL column's text becomes its Connect value (kcfast.connectors.postgres.types.KINDS).
    PG_PYTHON = 0               # the column's Python converter
    PG_TEXT = 1
    PG_BOOL = 2
    PG_INT = 3
    PG_FLOAT = 4
    PG_DECIMAL = 5
    PG_DATE = 6                 # days since the epoch
    PG_TIME_US = 7
    PG_TIME_MS = 8
    PG_TIME_NS = 9
    PG_TIMESTAMP_US = 10
    PG_TIMESTAMP_MS = 11
    PG_TIMESTAMP_NS = 12
    PG_ZONED_TIMESTAMP = 13     # arg: fraction digits
    PG_BYTEA = 14


cdef struct _PgSlot:
    # One column of the tuple being converted: its kind (t text, n NULL, u unchanged TOASTed value) and
    # the UTF-8 of its text, inside the message (or the str of a snapshot row).
    const unsigned char* p
    Py_ssize_t n
    unsigned char kind


@cython.final
cdef class _PgColumn:
    cdef str name
    cdef Py_ssize_t position    # index of the column in the table's rows
    cdef PgKind kind
    cdef int arg
    cdef object convert         # the Python converter: text -> value
    cdef object fallback        # value of a required field whose column is NULL (None when optional)
    cdef object unavailable     # value of an unchanged TOASTed column


@cython.final
cdef class _PgSlots:
    cdef _PgSlot* items
    cdef Py_ssize_t count
    cdef Py_ssize_t capacity

    cdef int reserve(self, Py_ssize_t count) except -1
    cdef Py_ssize_t scan(self, const unsigned char* p, Py_ssize_t n, Py_ssize_t pos) except -1
    cdef int fill(self, list texts) except -1


@cython.final
cdef class PgTable:
    cdef readonly str topic
    cdef readonly str schema_name
    cdef readonly str table_name
    cdef readonly object key_schema
    cdef readonly object value_schema
    cdef readonly object envelope_schema
    cdef object source_schema
    cdef list source_template   # the table's `source` values; an event copies it and fills in its own
    cdef tuple columns          # _PgColumn per value field
    cdef tuple key_columns      # _PgColumn per key field
    cdef tuple key_from_row     # index in `columns` of each key field, or None if one is not captured
    cdef Py_ssize_t width       # columns a row must have

    cdef int _check_width(self, _PgSlots slots) except -1
    cdef object _error(self, _PgColumn col, _PgSlots slots, list texts, object exc)
    cdef list _row_values(self, _PgSlots slots, list texts)
    cdef object _row(self, _PgSlots slots, list texts)
    cdef list _key_values(self, list row_values, _PgSlots slots, list texts)
    cdef object _source(self, object ts_ms, object snapshot, object sequence, object ts_us, object ts_ns,
                        object txid, object lsn)
    cdef object _envelope(self, object before, object after, object source, str op, tuple now)
    cdef SourceRecord _record(self, object partition, object offset, object key_schema, object key,
                              object value_schema, object value, object timestamp)


@cython.final
cdef class PgoutputDecoder:
    cdef object partition
    cdef object on_relation
    cdef bint tombstones
    cdef frozenset skip_ops
    cdef bint skip_c, skip_u, skip_d, skip_t
    cdef dict tables            # relation id -> PgTable, or None for a table not captured
    cdef _PgSlots old_slots
    cdef _PgSlots new_slots
    cdef long long cached_relid # the last relation looked up (-1: none)
    cdef PgTable cached_table
    # The transaction being read.
    cdef readonly object transaction_id
    cdef readonly object commit_time_us
    cdef object commit_ms
    cdef object commit_ns
    cdef public object last_commit_lsn
    # Events at the current LSN (Debezium's lsn_events_processed).
    cdef bint has_seen
    cdef unsigned long long lsn_seen
    cdef long long lsn_count
    cdef public object skip     # (txId, lsn_proc, events at lsn_proc) already emitted before a restart
    cdef public object offset   # the offset of the latest event or COMMIT read
    cdef readonly bint drained  # the last read() stopped because no message was waiting
    cdef tuple now              # (ts_ms, ts_us, ts_ns) of the batch's envelopes

    cdef int _set_now(self, long long now_us) except -1
    cdef int _message(self, object payload, object lsn, list records) except -1
    cdef PgTable _table(self, uint32_t relid)
    cdef object _offset(self, object lsn, unsigned long long lsn_c, str message_type)
    cdef bint _skipped(self, object lsn) except -1
    cdef object _source(self, PgTable table, object lsn, unsigned long long lsn_c)
    cdef int _emit(self, list records, PgTable table, object offset, object key, object envelope) except -1
    cdef int _change(self, bytes payload, const unsigned char* p, Py_ssize_t n, object lsn,
                     list records) except -1
    cdef int _truncate(self, const unsigned char* p, Py_ssize_t n, object lsn, list records) except -1


# ---------------------------------------------------------------------------------------------- transforms
# The transformation fast path (_core/transforms.pyx). A plan is a list of _TransformStage; every op and
# predicate keeps the Python callable it stands for in `fallback`, called for the records it does not cover.

cdef class _TransformOp:
    cdef object fallback            # the transformation's apply

    cdef int begin(self) except -1  # called once before each batch
    cdef object fast(self, object record)   # the result, or _TX_FALLBACK for a record not covered
    cdef object apply(self, object record)  # fast(), else fallback(): raises the transformation's error


@cython.final
cdef class _FilterOp(_TransformOp):
    pass


@cython.final
cdef class _RegexRouterOp(_TransformOp):
    cdef object pattern
    cdef object replacement
    cdef object replace_first
    cdef object log
    cdef bint debug                 # the logger logs DEBUG: the transformation runs itself, for its logs
    cdef dict topics                # topic -> new topic, or None when it does not match


@cython.final
cdef class _TimestampRouterOp(_TransformOp):
    cdef str topic_format
    cdef object format              # SimpleDateFormat.format
    cdef object period              # ms within which every instant formats the same
    cdef dict buckets               # timestamp // period -> (formatted, {topic: new topic})


@cython.final
cdef class _InsertFieldOp(_TransformOp):
    cdef bint key_side
    cdef object topic
    cdef object partition
    cdef object offset
    cdef object timestamp
    cdef object static
    cdef object static_value


@cython.final
cdef class _ReplaceFieldOp(_TransformOp):
    cdef bint key_side
    cdef frozenset drop             # `exclude`
    cdef frozenset keep             # `include`: empty keeps every field
    cdef dict renames


@cython.final
cdef class _ExtractFieldOp(_TransformOp):
    cdef bint key_side
    cdef tuple steps                # the path to the field, at least one step


@cython.final
cdef class _HoistFieldOp(_TransformOp):
    cdef bint key_side
    cdef object field


@cython.final
cdef class _ValueToKeyOp(_TransformOp):
    cdef tuple fields


@cython.final
cdef class _InsertHeaderOp(_TransformOp):
    cdef object header


@cython.final
cdef class _DropHeadersOp(_TransformOp):
    cdef frozenset names
    cdef object headers_class



cdef class _TransformPredicate:
    cdef object fallback            # the predicate's test

    cdef bint test(self, object record) except -1


@cython.final
cdef class _TopicNameMatchesPredicate(_TransformPredicate):
    cdef object pattern
    cdef dict topics                # topic -> whether it matches


@cython.final
cdef class _RecordIsTombstonePredicate(_TransformPredicate):
    pass


@cython.final
cdef class _HasHeaderKeyPredicate(_TransformPredicate):
    cdef object name


@cython.final
cdef class _TransformStage:
    cdef _TransformPredicate predicate  # None: always applies
    cdef bint negate
    cdef _TransformOp op


# ---------------------------------------------------------------------------------------------- producer

cdef struct _Reports:
    # Delivery reports noted by the C delivery callback between two polls.
    void* owner                 # the DirectProducer (borrowed; NULL while it is freed)
    Py_ssize_t count
    Py_ssize_t capacity
    Py_ssize_t overflow         # reports that could not be noted (no memory)
    Py_ssize_t* slots
    int* errors


cdef class DirectProducer:
    cdef void* _rk
    cdef _Reports _reports
    cdef PyThread_type_lock _lock   # held while librdkafka serves callbacks, until the reports are taken
    cdef list _pending              # delivery callbacks by slot - _base; None once called
    cdef Py_ssize_t _base
    cdef set _runs                  # the _SubmittedRuns with messages not yet reported (keeps them alive)
    cdef object _log
    cdef object _error
    cdef object _exception
    cdef readonly list ignored
    cdef readonly str name

    cdef void* _handle(self) except NULL
    cdef _log_line(self, int level, const char* facility, const char* client, const char* text)
    cdef int _produce(self, bytes topic_c, object partition, object key, object value, object headers,
                      object timestamp, object callback, _SubmittedEntry* entry) except -1
    cdef Py_ssize_t _produce_batch(self, list encoded, object callback, Py_ssize_t start) except -1
    cdef int _deliver(self) except -1
