# Transformation chains over a whole batch. Included by _core.pyx; the classes are declared in _core.pxd.
#
# compile_transform_plan turns the stage descriptions of a chain (kcfast.runtime.transforms.stage_specs)
# into a plan once; transform_batch runs every record of a batch through it, record by record, stage by
# stage, so the Python callables of the stages are called in the same order as by the per-record chain.
#
# An op does what one built-in transformation does for the records it covers (schemaless keys and values);
# for any other record it calls the Python callable it stands for (the transformation's apply). When the op's
# own code raises, it calls that callable as well: a record always fails with the exact error of the Python
# transformation, and the chain hands that error to the task's error handling at that stage.
#
# Records are rebuilt with their own new_record, as the Python transformations do, so record classes keep
# their semantics (header copies, sink coordinates, source offsets).

from cpython.dict cimport PyDict_Copy

cdef object _TX_FALLBACK = object()       # returned by fast() for a record the op does not cover
cdef Py_ssize_t _TX_CACHE_LIMIT = 4096    # entries an op's cache holds before it is cleared
cdef int _TX_LOG_DEBUG = 10               # logging.DEBUG


# Record fields: read directly from the core's own records (a C field each), through Python for any other
# record class (the twin's, or a connector's own ConnectRecord subclass).
cdef inline bint _tx_native(object record) noexcept:
    return type(record) is SinkRecord or type(record) is SourceRecord


cdef inline object _tx_topic(object record):
    return (<ConnectRecord>record).topic if _tx_native(record) else record.topic


cdef inline object _tx_partition(object record):
    return (<ConnectRecord>record).kafka_partition if _tx_native(record) else record.kafka_partition


cdef inline object _tx_key_schema(object record):
    return (<ConnectRecord>record).key_schema if _tx_native(record) else record.key_schema


cdef inline object _tx_key(object record):
    return (<ConnectRecord>record).key if _tx_native(record) else record.key


cdef inline object _tx_value_schema(object record):
    return (<ConnectRecord>record).value_schema if _tx_native(record) else record.value_schema


cdef inline object _tx_value(object record):
    return (<ConnectRecord>record).value if _tx_native(record) else record.value


cdef inline object _tx_timestamp(object record):
    return (<ConnectRecord>record).timestamp if _tx_native(record) else record.timestamp


cdef inline object _tx_schema(object record, bint key_side):
    return _tx_key_schema(record) if key_side else _tx_value_schema(record)


cdef inline object _tx_operand(object record, bint key_side):
    return _tx_key(record) if key_side else _tx_value(record)


cdef inline object _tx_rebuild(object record, bint key_side, object value):
    # The record with its key or value replaced by a schemaless value (the key/value split's _new_record).
    topic, partition, timestamp = _tx_topic(record), _tx_partition(record), _tx_timestamp(record)
    if key_side:
        return record.new_record(topic, partition, None, value, _tx_value_schema(record), _tx_value(record),
                                 timestamp, None)
    return record.new_record(topic, partition, _tx_key_schema(record), _tx_key(record), None, value,
                             timestamp, None)


cdef inline object _tx_with_topic(object record, object topic):
    return record.new_record(topic, _tx_partition(record), _tx_key_schema(record), _tx_key(record),
                             _tx_value_schema(record), _tx_value(record), _tx_timestamp(record))


cdef inline object _tx_with_headers(object record, object headers):
    return record.new_record(_tx_topic(record), _tx_partition(record), _tx_key_schema(record),
                             _tx_key(record), _tx_value_schema(record), _tx_value(record),
                             _tx_timestamp(record), headers)


# ------------------------------------------------------------------------------------------------ ops


cdef class _TransformOp:
    """One stage's transformation in a plan. This base runs only the Python callable (``"python"``)."""

    def __init__(self, fallback):
        self.fallback = fallback

    cdef int begin(self) except -1:
        return 0

    cdef object fast(self, object record):
        return _TX_FALLBACK

    cdef object apply(self, object record):
        cdef object out
        try:
            out = self.fast(record)
        except Exception:
            out = _TX_FALLBACK
        if out is _TX_FALLBACK:
            return self.fallback(record)
        return out


@cython.final
cdef class _FilterOp(_TransformOp):

    cdef object apply(self, object record):
        return None


@cython.final
cdef class _RegexRouterOp(_TransformOp):

    def __init__(self, fallback, pattern, replacement, log):
        from kcfast.transforms._regex import java_replace_first

        self.fallback = fallback
        self.pattern = pattern
        self.replacement = replacement
        self.replace_first = java_replace_first
        self.log = log
        self.debug = False
        self.topics = {}

    cdef int begin(self) except -1:
        # The transformation logs every record at DEBUG: while that is on, it runs itself.
        self.debug = self.log.isEnabledFor(_TX_LOG_DEBUG)
        return 0

    cdef object fast(self, object record):
        if self.debug:
            return _TX_FALLBACK
        cdef object topic = _tx_topic(record)
        cdef object routed = self.topics.get(topic, _TX_FALLBACK)
        if routed is _TX_FALLBACK:
            routed = None
            if self.pattern.fullmatch(topic) is not None:
                routed = self.replace_first(self.pattern, topic, self.replacement)
            if len(self.topics) >= _TX_CACHE_LIMIT:
                self.topics.clear()
            self.topics[topic] = routed
        if routed is None:
            return record
        return _tx_with_topic(record, routed)


@cython.final
cdef class _TimestampRouterOp(_TransformOp):

    def __init__(self, fallback, str topic_format, format, period):
        self.fallback = fallback
        self.topic_format = topic_format
        self.format = format
        self.period = period
        self.buckets = {}

    cdef object fast(self, object record):
        cdef object timestamp = _tx_timestamp(record)
        if type(timestamp) is not int:
            return _TX_FALLBACK
        cdef object bucket = timestamp // self.period
        cdef tuple entry = self.buckets.get(bucket)
        if entry is None:
            if len(self.buckets) >= _TX_CACHE_LIMIT:
                self.buckets.clear()
            entry = (self.format(timestamp), {})
            self.buckets[bucket] = entry
        cdef dict topics = <dict>entry[1]
        cdef object topic = _tx_topic(record)
        cdef object routed = topics.get(topic)
        if routed is None:
            routed = self.topic_format.replace("${topic}", topic).replace("${timestamp}", entry[0])
            if len(topics) >= _TX_CACHE_LIMIT:
                topics.clear()
            topics[topic] = routed
        return _tx_with_topic(record, routed)


@cython.final
cdef class _InsertFieldOp(_TransformOp):

    def __init__(self, fallback, bint key_side, topic, partition, offset, timestamp, static, static_value):
        self.fallback = fallback
        self.key_side = key_side
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.static = static
        self.static_value = static_value

    cdef object fast(self, object record):
        cdef object value = _tx_operand(record, self.key_side)
        if value is None:
            return record
        if _tx_schema(record, self.key_side) is not None or not isinstance(value, dict):
            return _TX_FALLBACK
        cdef dict updated = PyDict_Copy(value) if type(value) is dict else dict(value)
        cdef object field
        if self.topic is not None:
            updated[self.topic] = _tx_topic(record)
        if self.partition is not None:
            field = _tx_partition(record)
            if field is not None:
                updated[self.partition] = field
        if self.offset is not None:
            field = getattr(record, "kafka_offset", _TX_FALLBACK)
            if field is _TX_FALLBACK:  # not a sink record
                return _TX_FALLBACK
            updated[self.offset] = field
        if self.timestamp is not None:
            field = _tx_timestamp(record)
            if field is not None:
                updated[self.timestamp] = field
        if self.static is not None:
            updated[self.static] = self.static_value
        return _tx_rebuild(record, self.key_side, updated)


@cython.final
cdef class _ReplaceFieldOp(_TransformOp):

    def __init__(self, fallback, bint key_side, frozenset exclude, frozenset keep, dict renames):
        self.fallback = fallback
        self.key_side = key_side
        self.drop = exclude
        self.keep = keep
        self.renames = renames

    cdef object fast(self, object record):
        cdef object value = _tx_operand(record, self.key_side)
        if value is None:
            return record
        if _tx_schema(record, self.key_side) is not None or not isinstance(value, dict):
            return _TX_FALLBACK
        cdef dict updated = {}
        cdef frozenset drop = self.drop
        cdef frozenset keep = self.keep
        cdef dict renames = self.renames
        cdef bint keep_all = not keep
        cdef bint renaming = bool(renames)
        for k, v in value.items():
            if k in drop or not (keep_all or k in keep):
                continue
            if renaming:
                k = renames.get(k, k)
            updated[k] = v
        return _tx_rebuild(record, self.key_side, updated)


@cython.final
cdef class _ExtractFieldOp(_TransformOp):

    def __init__(self, fallback, bint key_side, steps):
        self.fallback = fallback
        self.key_side = key_side
        self.steps = tuple(steps)

    cdef object fast(self, object record):
        if _tx_schema(record, self.key_side) is not None:
            return _TX_FALLBACK
        cdef object current = _tx_operand(record, self.key_side)
        cdef Py_ssize_t i, last = len(self.steps) - 1
        if current is not None:
            if not isinstance(current, dict):
                return _TX_FALLBACK
            for i in range(last + 1):
                current = current.get(self.steps[i])
                if i == last or current is None:
                    break
                if not isinstance(current, dict):
                    return _TX_FALLBACK
        return _tx_rebuild(record, self.key_side, current)


@cython.final
cdef class _HoistFieldOp(_TransformOp):

    def __init__(self, fallback, bint key_side, field):
        self.fallback = fallback
        self.key_side = key_side
        self.field = field

    cdef object fast(self, object record):
        if _tx_schema(record, self.key_side) is not None:
            return _TX_FALLBACK
        return _tx_rebuild(record, self.key_side, {self.field: _tx_operand(record, self.key_side)})


@cython.final
cdef class _ValueToKeyOp(_TransformOp):

    def __init__(self, fallback, fields):
        self.fallback = fallback
        self.fields = tuple(fields)

    cdef object fast(self, object record):
        cdef object value = _tx_value(record)
        if _tx_value_schema(record) is not None or not isinstance(value, dict):
            return _TX_FALLBACK
        cdef dict key = {}
        for name in self.fields:
            key[name] = value.get(name)
        return record.new_record(_tx_topic(record), _tx_partition(record), None, key, None, value,
                                 _tx_timestamp(record))


@cython.final
cdef class _InsertHeaderOp(_TransformOp):

    def __init__(self, fallback, header):
        self.fallback = fallback
        self.header = header  # a kcfast.data.Header: immutable, so every record may share it

    cdef object fast(self, object record):
        cdef object headers = record.headers.duplicate()
        headers.add(self.header)
        return _tx_with_headers(record, headers)


@cython.final
cdef class _DropHeadersOp(_TransformOp):

    def __init__(self, fallback, frozenset names, headers_class):
        self.fallback = fallback
        self.names = names
        self.headers_class = headers_class

    cdef object fast(self, object record):
        cdef list kept = []
        for header in record.headers:
            if header.key not in self.names:
                kept.append(header)
        return _tx_with_headers(record, self.headers_class(kept))


# ------------------------------------------------------------------------------------------ predicates


cdef class _TransformPredicate:
    """One stage's predicate in a plan. This base calls the Python predicate's ``test``."""

    def __init__(self, fallback):
        self.fallback = fallback

    cdef bint test(self, object record) except -1:
        return bool(self.fallback(record))


@cython.final
cdef class _TopicNameMatchesPredicate(_TransformPredicate):

    def __init__(self, fallback, pattern):
        self.fallback = fallback
        self.pattern = pattern
        self.topics = {}

    cdef bint test(self, object record) except -1:
        cdef object topic = _tx_topic(record)
        cdef object matched
        try:
            matched = self.topics.get(topic)
            if matched is None:
                matched = topic is not None and self.pattern.fullmatch(topic) is not None
                if len(self.topics) >= _TX_CACHE_LIMIT:
                    self.topics.clear()
                self.topics[topic] = matched
        except Exception:
            return bool(self.fallback(record))
        return matched is True


@cython.final
cdef class _RecordIsTombstonePredicate(_TransformPredicate):

    cdef bint test(self, object record) except -1:
        return _tx_value(record) is None


@cython.final
cdef class _HasHeaderKeyPredicate(_TransformPredicate):

    def __init__(self, fallback, name):
        self.fallback = fallback
        self.name = name

    cdef bint test(self, object record) except -1:
        return record.headers.last_with_name(self.name) is not None


# ------------------------------------------------------------------------------------------------ plan

cdef dict _TX_OPS = {
    "python": _TransformOp,
    "filter": _FilterOp,
    "regex_router": _RegexRouterOp,
    "timestamp_router": _TimestampRouterOp,
    "insert_field": _InsertFieldOp,
    "replace_field": _ReplaceFieldOp,
    "extract_field": _ExtractFieldOp,
    "hoist_field": _HoistFieldOp,
    "value_to_key": _ValueToKeyOp,
    "insert_header": _InsertHeaderOp,
    "drop_headers": _DropHeadersOp,
}

cdef dict _TX_PREDICATES = {
    "python": _TransformPredicate,
    "topic_name_matches": _TopicNameMatchesPredicate,
    "record_is_tombstone": _RecordIsTombstonePredicate,
    "has_header_key": _HasHeaderKeyPredicate,
}


@cython.final
cdef class _TransformStage:
    """One stage of a plan: the op, applied iff the predicate (if any) XOR ``negate``."""

    def __init__(self, predicate, bint negate, op):
        self.predicate = predicate
        self.negate = negate
        self.op = op


cdef object _tx_build(dict table, object spec, str what):
    try:
        cls = table[spec[0]]
    except (KeyError, IndexError, TypeError):
        raise ValueError(f"Unknown {what} spec: {spec!r}") from None
    return cls(*spec[1:])


def compile_transform_plan(specs):
    """The plan of a transformation chain, for :func:`transform_batch`.

    Args:
        specs: per stage ``(predicate, negate, op)``: ``predicate`` is None or ``(kind, test, *config)``
            and ``op`` is ``(kind, apply, *config)``, where ``test``/``apply`` are the Python predicate's
            ``test`` and the transformation's ``apply`` (kind ``"python"`` runs only them). Made by
            ``kcfast.runtime.transforms.stage_specs``.

    Returns:
        The plan: one opaque object per stage.

    Raises:
        ValueError: an unknown kind.
    """
    cdef list plan = []
    for predicate, negate, op in specs:
        plan.append(_TransformStage(
            None if predicate is None else _tx_build(_TX_PREDICATES, predicate, "predicate"), bool(negate),
            _tx_build(_TX_OPS, op, "transformation")))
    return plan


def transform_batch(list records not None, list plan not None):
    """Run every record of ``records`` through the stages of ``plan``.

    Returns:
        ``(results, failures)``: ``results`` holds one entry per record, in order: the transformed record, or
        None when a stage dropped it or failed on it. ``failures`` lists, in order, ``(position, stage,
        record, error)`` for each record a stage raised on: its position in ``records``, the index of the
        stage, the record as that stage was given it, and the error.
    """
    cdef tuple stages = tuple(plan)
    cdef Py_ssize_t n_stages = len(stages)
    cdef Py_ssize_t n = len(records)
    cdef Py_ssize_t position, index
    cdef _TransformStage stage
    cdef list results = [None] * n
    cdef list failures = []
    cdef object record
    for index in range(n_stages):
        stage = <_TransformStage?>stages[index]
        stage.op.begin()
    for position in range(n):
        record = records[position]
        index = 0
        try:
            while index < n_stages:
                stage = <_TransformStage>stages[index]
                if stage.predicate is None or stage.predicate.test(record) != stage.negate:
                    record = stage.op.apply(record)
                    if record is None:
                        break
                index += 1
        except Exception as exc:
            failures.append((position, index, record, exc))
            record = None
        results[position] = record
    return results, failures
