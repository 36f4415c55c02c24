# Batch conversion: consumed messages -> SinkRecords, SourceRecords -> produce-ready tuples, and the produce
# loop. Included by _core.pyx; classes are declared in _core.pxd.
#
# Exactness: the compiled paths only handle values they can convert exactly as the converter's own
# per-record method would (the converters' walks in kcfast.converters._jsonvalue are mirrored node by
# node). Anything else raises _Fallback internally and that record goes through the converter, which gives
# the result or the DataError. The parity tests compare both implementations against the converters.


cdef bint _is_utf8_charset(object charset) except -1:
    # StringConverter's JavaCharset: plain UTF-8 (no byte-order-mark handling) decodes and encodes exactly
    # like str.decode/encode("utf-8", "replace").
    return getattr(charset, "_codec", None) == "utf-8" and getattr(charset, "_bom", 0) is None


cdef _JsonState _json_state(object converter):
    cdef _JsonState state = None
    cdef bint enabled = bool(getattr(converter, "_schemas_enabled", True))
    cdef bint replace = bool(getattr(converter, "_replace", True))
    cdef bint numeric = bool(getattr(converter, "_numeric", False))
    try:
        state = _json_states.get(converter)
    except TypeError:  # not weak-referenceable or not hashable: no state kept between batches
        state = None
    if state is None or state.schemas_enabled != enabled or state.replace != replace or state.numeric != numeric:
        state = _JsonState.__new__(_JsonState)
        state.schemas_enabled = enabled
        state.replace = replace
        state.numeric = numeric
        state.write_plans = {}
        try:
            _json_states[converter] = state
        except TypeError:
            pass
    return state


# -------------------------------------------------------------------------------------- decode / encode


cdef _Decoder _decoder_for(object converter):
    cdef _Decoder dec = _Decoder.__new__(_Decoder)
    dec.converter = converter
    dec.to_connect = converter.to_connect_data
    dec.kind = CODEC_GENERIC
    cdef type cls = type(converter)
    if cls is _ByteArrayConverter:
        dec.kind = CODEC_BYTES
    elif cls is _StringConverter:
        if _is_utf8_charset(getattr(converter, "_decoder", None)):
            dec.kind = CODEC_STRING_UTF8
    elif cls is _JsonConverter:
        dec.state = _json_state(converter)
        dec.kind = CODEC_JSON_ENVELOPE if dec.state.schemas_enabled else CODEC_JSON
    return dec


@cython.final
cdef class _Decoder:

    cdef int generic(self, object topic, object data) except -1:
        result = self.to_connect(topic, data)
        self.schema_out = result.schema
        self.value_out = result.value
        return 0

    cdef int decode(self, object topic, object data) except -1:
        if self.kind == CODEC_BYTES:
            if data is None or type(data) is bytes:
                self.schema_out = _OPTIONAL_BYTES_SCHEMA
                self.value_out = data
                return 0
        elif self.kind == CODEC_STRING_UTF8:
            if data is None:
                self.schema_out = _OPTIONAL_STRING_SCHEMA
                self.value_out = None
                return 0
            if type(data) is bytes:
                self.schema_out = _OPTIONAL_STRING_SCHEMA
                self.value_out = PyUnicode_DecodeUTF8(
                    PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), "replace")
                return 0
        elif self.kind == CODEC_JSON_ENVELOPE:
            return self.envelope(topic, data)
        elif self.kind == CODEC_JSON:
            if data is None:
                self.schema_out = None
                self.value_out = None
                return 0
            if type(data) is bytes and not _has_long_number(<bytes>data):
                try:
                    value = _orjson_loads(data)
                except Exception:
                    return self.generic(topic, data)
                self.schema_out = None
                self.value_out = value
                return 0
        return self.generic(topic, data)

    cdef int envelope(self, object topic, object data) except -1:
        cdef _JsonState state = self.state
        cdef Py_ssize_t n, klen, end, sep
        cdef const char* p
        cdef bytes key
        cdef _Cursor cursor
        if data is None:
            self.schema_out = None
            self.value_out = None
            return 0
        if type(data) is not bytes:
            return self.generic(topic, data)
        n = PyBytes_GET_SIZE(data)
        p = PyBytes_AS_STRING(data)
        key = state.last_key
        # Fast path: the envelope starts with the schema text of the last one: parse only the payload.
        if key is not None and n > _PREFIX_LEN and p[n - 1] == b'}' and memcmp(p, <const char*>_PREFIX, _PREFIX_LEN) == 0:
            klen = PyBytes_GET_SIZE(key)
            end = _PREFIX_LEN + klen
            if (end + _SEPARATOR_LEN < n and memcmp(p + _PREFIX_LEN, PyBytes_AS_STRING(key), klen) == 0
                    and memcmp(p + end, <const char*>_SEPARATOR, _SEPARATOR_LEN) == 0):
                if state.last_plan.direct and state.direct_misses < _MAX_DIRECT_MISSES:
                    cursor.p = p
                    cursor.i = end + _SEPARATOR_LEN
                    cursor.n = n - 1
                    try:
                        value = state.last_plan.parse(&cursor, state.replace)
                        _skip_ws(&cursor)
                        if cursor.i != cursor.n:
                            raise _Fallback()
                    except _Fallback:
                        state.direct_misses += 1
                    else:
                        state.direct_misses = 0
                        self.schema_out = state.last_schema
                        self.value_out = value
                        return 0
                payload_text = data[end + _SEPARATOR_LEN:n - 1]
                if not _has_long_number(payload_text):
                    try:
                        payload = _orjson_loads(payload_text)
                        value = state.last_plan.read(payload, state.replace)
                    except Exception:
                        return self.generic(topic, data)
                    self.schema_out = state.last_schema
                    self.value_out = value
                    return 0
        # Parse the whole envelope; reuse the last schema if the parsed schema equals it.
        if _has_long_number(<bytes>data):
            return self.generic(topic, data)
        try:
            obj = _orjson_loads(data)
        except Exception:
            return self.generic(topic, data)
        if type(obj) is not dict or len(<dict>obj) != 2 or "schema" not in obj or "payload" not in obj:
            return self.generic(topic, data)
        schema_obj = (<dict>obj)["schema"]
        if schema_obj is None:
            self.schema_out = None
            self.value_out = (<dict>obj)["payload"]
            return 0
        if state.last_schema_obj is not None and _strict_equal(schema_obj, state.last_schema_obj):
            try:
                value = state.last_plan.read((<dict>obj)["payload"], state.replace)
            except _Fallback:
                return self.generic(topic, data)
            self.schema_out = state.last_schema
            self.value_out = value
            return 0
        # A new schema: the converter parses it (and converts this record); remember it for the next ones.
        self.generic(topic, data)
        state.last_schema_obj = schema_obj
        state.last_schema = self.schema_out
        state.last_plan = _plan(self.schema_out)
        state.direct_misses = 0
        state.last_key = None
        if n >= _PREFIX_LEN and memcmp(p, <const char*>_PREFIX, _PREFIX_LEN) == 0:
            sep = data.find(_SEPARATOR, _PREFIX_LEN)
            if sep > 0:
                key = data[_PREFIX_LEN:sep]
                try:
                    if _strict_equal(_orjson_loads(key), schema_obj):
                        state.last_key = key
                except Exception:
                    pass
        return 0


cdef _Encoder _encoder_for(object converter):
    cdef _Encoder enc = _Encoder.__new__(_Encoder)
    enc.converter = converter
    enc.from_connect = converter.from_connect_data
    enc.kind = CODEC_GENERIC
    cdef type cls = type(converter)
    if cls is _ByteArrayConverter:
        enc.kind = CODEC_BYTES
    elif cls is _StringConverter:
        if _is_utf8_charset(getattr(converter, "_encoder", None)):
            enc.kind = CODEC_STRING_UTF8
    elif cls is _JsonConverter:
        enc.state = _json_state(converter)
        enc.kind = CODEC_JSON_ENVELOPE if enc.state.schemas_enabled else CODEC_JSON
    return enc


@cython.final
cdef class _Encoder:

    cdef object encode(self, object topic, object schema, object value):
        if self.kind == CODEC_BYTES:
            if schema is None or (type(schema) is _Schema and schema._type is _TYPE_BYTES):
                if value is None or type(value) is bytes:
                    return value
        elif self.kind == CODEC_STRING_UTF8:
            if value is None:
                return None
            if type(value) is str:
                return PyUnicode_AsEncodedString(value, "utf-8", "replace")
        elif self.kind == CODEC_JSON_ENVELOPE:
            return self.envelope(topic, schema, value)
        elif self.kind == CODEC_JSON:
            if schema is None:
                if value is None:
                    return None
                if _plain_json(value, 0):
                    try:
                        return _json_dumps(value)
                    except Exception:
                        pass
            elif type(schema) is _Schema:
                try:
                    return _json_dumps((<_JsonNode>self._plan_for(schema)[2]).write(
                        value, self.state.numeric, self.state.replace))
                except Exception:
                    pass
        return self.from_connect(topic, schema, value)

    cdef object envelope(self, object topic, object schema, object value):
        cdef tuple entry
        if schema is None:
            if value is None:
                return None
            if _plain_json(value, 0):
                try:
                    return b"".join((_PREFIX, b"null", _SEPARATOR, _json_dumps(value), _SUFFIX))
                except Exception:
                    pass
        elif type(schema) is _Schema:
            try:
                entry = self._plan_for(schema)
                payload = _json_dumps((<_JsonNode>entry[2]).write(value, self.state.numeric, self.state.replace))
                return b"".join((_PREFIX, <bytes>entry[1], _SEPARATOR, payload, _SUFFIX))
            except Exception:
                pass
        return self.from_connect(topic, schema, value)

    cdef tuple _plan_for(self, object schema):
        # (schema JSON bytes, plan) of a Schema object, the bytes from the converter's own schema_bytes.
        # Keyed by identity (the entry keeps the schema alive, so its id is not reused): equal schemas may
        # still print differently (parameter order), and each is written as the converter writes it.
        cdef dict plans = self.state.write_plans
        cdef tuple entry = plans.get(id(schema))
        if entry is None or entry[0] is not schema:
            if len(plans) >= _MAX_WRITE_PLANS:
                plans.clear()
            schema_bytes = self.converter.schema_bytes(schema) if self.kind == CODEC_JSON_ENVELOPE else b""
            entry = (schema, schema_bytes, _plan(schema))
            plans[id(schema)] = entry
        return entry


# ----------------------------------------------------------------------------------- consumed messages

# confluent-kafka's Message is a C type whose accessors are all that Python sees; each call costs about as
# much as converting a small value, and timestamp() allocates a tuple. Its instance layout (confluent_kafka.h)
# is read directly instead, but only for a type whose layout was verified at run time (_verify_layout): a
# Message built with known fields must show them at these offsets, so a release that moves a field turns
# the direct reads off rather than misreading. A NULL topic, key or value still goes through the accessor,
# as do headers still held by librdkafka (c_headers).
from libc.stdint cimport int32_t

cdef extern from *:
    """
    typedef struct {
        PyObject_HEAD
        PyObject *topic;
        PyObject *value;
        PyObject *key;
        PyObject *headers;
        void *c_headers;
        PyObject *error;
        int32_t partition;
        int64_t offset;
        int32_t leader_epoch;
        int64_t timestamp;
        int tstype;
    } kcfast_KafkaMessage;
    """
    ctypedef struct kcfast_KafkaMessage:
        PyObject* topic
        PyObject* value
        PyObject* key
        PyObject* headers
        void* c_headers
        PyObject* error
        int32_t partition
        int64_t offset
        int64_t timestamp
        int tstype

cdef type _direct_message_type = None     # the Message type whose layout was verified
cdef set _accessor_message_types = set()  # types checked and found not to match


cdef bint _verify_layout(type cls) except -1:
    # Whether instances of `cls` can be read through kcfast_KafkaMessage: only confluent-kafka's own Message
    # class, whose constructor stores the fields it is given.
    if getattr(cls, "__module__", None) != "confluent_kafka.cimpl" or getattr(cls, "__name__", None) != "Message":
        return False
    if (<PyTypeObject*>cls).tp_basicsize < <Py_ssize_t>sizeof(kcfast_KafkaMessage):
        return False
    import sys
    module = sys.modules.get(cls.__module__)
    error_type = getattr(module, "KafkaError", None)
    if error_type is None:
        return False
    cdef kcfast_KafkaMessage* p
    try:
        topic = "kcfast-layout-probe"
        key = b"probe-key"
        value = b"probe-value"
        headers = [("probe", b"1")]
        error = error_type(1, "probe")
        full = cls(topic=topic, partition=123457, offset=1234567890123, key=key, value=value, headers=headers,
                   error=error, timestamp=(2, 987654321098))
        empty = cls(topic=topic, partition=3, offset=7, timestamp=(1, 11))
    except Exception:
        return False
    p = <kcfast_KafkaMessage*>full
    if not (p.topic == <PyObject*>topic and p.key == <PyObject*>key and p.value == <PyObject*>value
            and p.headers == <PyObject*>headers and p.error == <PyObject*>error and p.c_headers == NULL
            and p.partition == 123457 and p.offset == 1234567890123 and p.timestamp == 987654321098
            and p.tstype == 2):
        return False
    p = <kcfast_KafkaMessage*>empty
    if not (p.topic == <PyObject*>topic and p.key == NULL and p.value == NULL and p.headers == NULL
            and p.error == NULL and p.c_headers == NULL and p.partition == 3 and p.offset == 7
            and p.timestamp == 11 and p.tstype == 1):
        return False
    # The accessors agree (they are what every other path uses).
    return (full.topic() is topic and full.key() is key and full.value() is value and full.headers() is headers
            and full.error() is error and full.partition() == 123457 and full.offset() == 1234567890123
            and full.timestamp() == (2, 987654321098) and empty.key() is None and empty.error() is None)


cdef inline bint _direct_message(object msg) except -1:
    global _direct_message_type
    cdef type cls = type(msg)
    if cls is _direct_message_type:
        return True
    if _direct_message_type is not None or cls in _accessor_message_types:
        return False
    if _verify_layout(cls):
        _direct_message_type = cls
        return True
    _accessor_message_types.add(cls)
    return False


# ------------------------------------------------------------------------------------------- the batches


def sink_records_from_messages(messages, key_converter, value_converter, header_converter):
    """Convert a consumed batch (``Consumer.consume(num_messages)``) into SinkRecords, in order.

    Key, value and headers go through the converters (``to_connect_data`` / ``to_connect_header``), in
    Kafka Connect's order: key, value, headers; ByteArrayConverter, StringConverter (UTF-8) and
    JsonConverter have compiled paths with the same results. Messages that carry the partition-EOF event are
    skipped; any other consumer error raises ``ConnectError`` (``RetriableError`` if librdkafka says it is
    retriable) with ``index``, ``topic``, ``partition``, ``offset`` attributes.

    Raises:
        DataError: a message could not be converted; ``index`` is its position in ``messages``, and
            ``topic``, ``partition``, ``offset``, ``stage`` say which record and which converter.
    """
    _load()
    cdef _Decoder keys = _decoder_for(key_converter)
    cdef _Decoder values = _decoder_for(value_converter)
    cdef list records = []
    cdef Py_ssize_t index = -1
    cdef SinkRecord rec
    cdef object last_topic = None
    cdef tuple ts
    cdef long ts_type
    cdef long long stamp
    cdef kcfast_KafkaMessage* mp
    for msg in messages:
        index += 1
        if _direct_message(msg):
            mp = <kcfast_KafkaMessage*>msg
            if mp.error != NULL and mp.error != <PyObject*>None:
                err = <object>mp.error
                if err.code() == PARTITION_EOF:
                    continue
                raise consume_error(index, msg, err)
            topic = <object>mp.topic if mp.topic != NULL else msg.topic()
            partition = mp.partition if mp.partition != -1 else None
            offset = mp.offset if mp.offset >= 0 else None
            ts_type = mp.tstype
            stamp = mp.timestamp
            raw_key = <object>mp.key if mp.key != NULL else msg.key()
            raw_value = <object>mp.value if mp.value != NULL else msg.value()
            if mp.headers != NULL:
                raw_headers = <object>mp.headers
            elif mp.c_headers != NULL:
                raw_headers = msg.headers()
            else:
                raw_headers = None
        else:
            err = msg.error()
            if err is not None:
                if err.code() == PARTITION_EOF:
                    continue
                raise consume_error(index, msg, err)
            topic = msg.topic()
            partition = msg.partition()
            offset = msg.offset()
            ts = msg.timestamp()
            ts_type = ts[0]
            stamp = ts[1]
            raw_key = msg.key()
            raw_value = msg.value()
            raw_headers = msg.headers()
        # One str object per topic in the batch instead of one per record.
        if topic == last_topic:
            topic = last_topic
        else:
            last_topic = topic
        try:
            keys.decode(topic, raw_key)
        except Exception as exc:
            raise conversion_error(index, topic, partition, offset, STAGE_KEY_CONVERTER, key_converter, exc) from exc
        try:
            values.decode(topic, raw_value)
        except Exception as exc:
            raise conversion_error(index, topic, partition, offset, STAGE_VALUE_CONVERTER, value_converter, exc) from exc
        rec = SinkRecord.__new__(SinkRecord)
        if raw_headers:
            try:
                rec._headers = _to_connect_headers(topic, raw_headers, header_converter)
            except Exception as exc:
                raise conversion_error(
                    index, topic, partition, offset, STAGE_HEADER_CONVERTER, header_converter, exc) from exc
        rec.topic = topic
        rec.kafka_partition = partition
        rec.key_schema = keys.schema_out
        rec.key = keys.value_out
        rec.value_schema = values.schema_out
        rec.value = values.value_out
        rec.timestamp = None if ts_type == 0 or stamp < 0 else stamp
        rec.timestamp_type = _TIMESTAMP_TYPES[ts_type] if 0 <= ts_type < 3 else _NO_TIMESTAMP_TYPE
        rec.kafka_offset = offset
        rec.original_topic = topic
        rec.original_kafka_partition = partition
        rec.original_kafka_offset = offset
        records.append(rec)
    return records


cdef object _to_connect_headers(object topic, object raw_headers, object header_converter):
    headers = _ConnectHeadersType()
    for name, raw in raw_headers:
        if header_converter is None:
            headers.add_bytes(name, raw)
        else:
            headers.add(name, header_converter.to_connect_header(topic, name, raw))
    return headers


cdef object _from_connect_headers(object topic, object headers, object header_converter):
    cdef list result = []
    for header in headers:
        name = header.key
        result.append((name, header_converter.from_connect_header(topic, name, header.schema, header.value)))
    return result or None


cdef int _encode_into(_EncodedRecord out, object r, Py_ssize_t index, _Encoder keys, _Encoder values,
                      object key_converter, object header_converter) except -1:
    # Headers, key and value through the converters, in Kafka Connect's order.
    cdef ConnectRecord rec = <ConnectRecord?>r
    topic = rec.topic
    partition = rec.kafka_partition
    headers = None
    if rec._headers is not None:
        try:
            headers = _from_connect_headers(topic, rec.headers, header_converter)
        except Exception as exc:
            raise conversion_error(index, topic, partition, None, STAGE_HEADER_CONVERTER, header_converter, exc) from exc
    try:
        key = keys.encode(topic, rec.key_schema, rec.key)
    except Exception as exc:
        raise conversion_error(index, topic, partition, None, STAGE_KEY_CONVERTER, key_converter, exc) from exc
    try:
        value = values.encode(topic, rec.value_schema, rec.value)
    except Exception as exc:
        raise conversion_error(index, topic, partition, None, STAGE_VALUE_CONVERTER, values.converter, exc) from exc
    timestamp = rec.timestamp
    out.topic = topic
    out.partition = -1 if partition is None else partition
    out.key = key
    out.value = value
    out.headers = headers
    out.timestamp = 0 if timestamp is None else timestamp
    return 0


def encode_source_records(records, key_converter, value_converter, header_converter):
    """Serialize a batch of SourceRecords into ``(topic, partition, key, value, headers, timestamp)``
    tuples for ``Producer.produce``: partition ``-1`` lets the producer choose, headers ``None`` means none,
    timestamp ``0`` means "now".

    Headers, key and value go through the converters in Kafka Connect's order: headers, key, value;
    ByteArrayConverter, StringConverter (UTF-8) and JsonConverter have compiled paths with the same bytes.

    Raises:
        DataError: a record could not be converted; ``index`` is its position in ``records``, ``topic``
            and ``partition`` are the record's, ``offset`` is ``None``, ``stage`` names the converter.
    """
    _load()
    cdef _Encoder keys = _encoder_for(key_converter)
    cdef _Encoder values = _encoder_for(value_converter)
    cdef _EncodedRecord out = _EncodedRecord.__new__(_EncodedRecord)
    cdef list encoded = []
    cdef Py_ssize_t index = -1
    for r in records:
        index += 1
        _encode_into(out, r, index, keys, values, key_converter, header_converter)
        encoded.append((out.topic, out.partition, out.key, out.value, out.headers, out.timestamp))
    return encoded


def send_source_records(producer, records, key_converter, value_converter, header_converter, callback,
                        Py_ssize_t start=0):
    """Serialize each SourceRecord from ``records[start]`` on as :func:`encode_source_records` does and
    produce it at once, as :func:`produce_batch` does; returns how many records were produced.

    ``callback`` is as for :func:`produce_batch`, indexed like ``records``. With the core's
    ``DirectProducer`` no tuple is built per record, and a :class:`SubmittedBatch` of the same records is
    acknowledged without a handle per record.

    Raises:
        DataError: record ``index`` of ``records`` could not be converted; the records before it were
            produced.
        ConnectError: ``produce`` refused record ``index``, as for :func:`produce_batch`.
    """
    _load()
    cdef list items = records if type(records) is list else list(records)
    cdef Py_ssize_t index, n = len(items), produced = 0
    cdef _Encoder keys = _encoder_for(key_converter)
    cdef _Encoder values = _encoder_for(value_converter)
    cdef _EncodedRecord out = _EncodedRecord.__new__(_EncodedRecord)
    cdef DirectProducer direct
    cdef SubmittedBatch submitted
    cdef _SubmittedEntry* entry = NULL
    cdef bint per_record = callback is not None and not callable(callback)
    cdef object last_topic = None
    cdef bytes topic_c = None
    if type(producer) is not DirectProducer:
        for index in range(start, n):
            _encode_into(out, items[index], index, keys, values, key_converter, header_converter)
            item = (out.topic, out.partition, out.key, out.value, out.headers, out.timestamp)
            try:
                produce_batch(producer, [item], callback[index] if per_record else callback)
            except Exception as exc:
                if hasattr(exc, "produced"):  # produce_error's: the position in `records`
                    exc.index, exc.produced = index, produced
                raise
            produced += 1
        return produced
    direct = <DirectProducer>producer
    submitted = _submitted_batch(callback, n)
    if submitted is not None:
        per_record = False
    on_delivery = callback
    for index in range(start, n):
        _encode_into(out, items[index], index, keys, values, key_converter, header_converter)
        if out.topic is not last_topic:
            topic_c = (<str?>out.topic).encode()
            last_topic = out.topic
        if submitted is not None:
            entry = submitted.entries[index]
        elif per_record:
            on_delivery = callback[index]
        try:
            direct._produce(topic_c, out.partition, out.key, out.value, out.headers, out.timestamp, on_delivery,
                            entry)
        except Exception as exc:
            raise produce_error(index, produced, out.topic, out.partition, exc) from exc
        produced += 1
    return produced


cdef inline object _add_topic(list topics, object topic, object last):
    # Adds `topic` to `topics` once; returns it as the next `last`. The records of a batch's topic usually share
    # one string object, so most records are passed over by identity.
    if topic is not last and topic not in topics:
        topics.append(topic)
    return topic


def batch_topics(list batch):
    """The distinct topics of an encoded batch (``encode_source_records``' tuples) or of a batch of
    SourceRecords, in first-seen order."""
    cdef list topics = []
    cdef object last = None
    for item in batch:
        last = _add_topic(topics, (<tuple>item)[0] if type(item) is tuple else item.topic, last)
    return topics


def record_topics(list records):
    """The distinct ``original_topic`` of a batch of SinkRecords, in first-seen order."""
    cdef list topics = []
    cdef object last = None
    for rec in records:
        last = _add_topic(topics, (<SinkRecord>rec).original_topic if type(rec) is SinkRecord else rec.original_topic,
                          last)
    return topics


def produce_batch(producer, encoded, callback, Py_ssize_t start=0):
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
    if type(producer) is DirectProducer:
        return (<DirectProducer>producer)._produce_batch(<list?>encoded, callback, start)
    cdef bint per_record = callback is not None and not callable(callback)
    cdef bint positional = True
    cdef Py_ssize_t index, n = len(encoded)
    cdef Py_ssize_t produced = 0
    cdef tuple item
    cdef list callbacks = None
    if per_record and type(callback) is list:
        callbacks = <list>callback
    produce = producer.produce
    poll = producer.poll
    on_delivery = callback
    for index in range(start, n):
        item = <tuple?>encoded[index]
        topic, partition, key, value, headers, timestamp = item
        if callbacks is not None:
            on_delivery = callbacks[index]
        elif per_record:
            on_delivery = callback[index]
        while True:
            try:
                if not positional:
                    produce(topic, value, key, partition, on_delivery=on_delivery, timestamp=timestamp,
                            headers=headers)
                elif headers is None and timestamp == 0:
                    produce(topic, value, key, partition, on_delivery)
                elif headers is None:
                    produce(topic, value, key, partition, on_delivery, None, timestamp)
                else:
                    produce(topic, value, key, partition, on_delivery, None, timestamp, headers)
                break
            except BufferError:
                poll(PRODUCE_RETRY_POLL_SECONDS)
            except TypeError as exc:
                if positional:
                    positional = False
                    continue
                raise produce_error(index, produced, topic, partition, exc) from exc
            except Exception as exc:
                raise produce_error(index, produced, topic, partition, exc) from exc
        produced += 1
    return produced
