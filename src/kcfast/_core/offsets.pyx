# Offset tracking: SubmittedRecords (source side, Kafka Connect's acknowledged-prefix algorithm) and
# SinkOffsets (sink side). Included by _core.pyx; fields are declared in _core.pxd.


cdef object _partition_key(object partition):
    # Compiled fast path of kcfast._core_common.partition_key for the common shapes (a dict of one or two
    # entries with str keys and str or int values); anything else goes to the shared function so that both
    # implementations build identical keys.
    cdef object name, value, name2, value2
    if partition is None:
        return None
    if type(partition) is dict:
        if len(<dict>partition) == 1:
            for name, value in (<dict>partition).items():
                if type(value) is str:
                    return ((name, value),)
                if type(value) is int:
                    return ((name, (int, value)),)
        elif len(<dict>partition) == 2:
            it = iter((<dict>partition).items())
            name, value = next(it)
            name2, value2 = next(it)
            if (type(name) is str and type(name2) is str
                    and (type(value) is str or type(value) is int)
                    and (type(value2) is str or type(value2) is int)):
                if type(value) is int:
                    value = (int, value)
                if type(value2) is int:
                    value2 = (int, value2)
                if <str>name2 < <str>name:
                    return ((name2, value2), (name, value))
                return ((name, value), (name2, value2))
    return _common_partition_key(partition)


cdef bint _same_partition(object partition, object previous) except -1:
    # Whether `partition` certainly has the key of `previous` without building it: the same object, or two
    # dicts with the same str keys whose values are identical or equal str/int of one type (the shapes the
    # key tells apart by type, such as 1 and 1.0 or True, never match here).
    cdef PyObject* other
    if partition is previous:
        return True
    if type(partition) is not dict or type(previous) is not dict:
        return False
    if len(<dict>partition) != len(<dict>previous):
        return False
    for name, value in (<dict>partition).items():
        if type(name) is not str:
            return False
        other = PyDict_GetItem(<dict>previous, name)
        if other is NULL:
            return False
        if <object>other is value:
            continue
        if type(value) is not type(<object>other) or (type(value) is not str and type(value) is not int):
            return False
        if value != <object>other:
            return False
    return True


@cython.final
@cython.freelist(SUBMITTED_FREELIST_SIZE)
cdef class _SubmittedRun:
    """Records of one source partition submitted together, in submission order."""

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self.offsets != NULL:
            for i in range(self.size):
                Py_XDECREF(self.offsets[i])
            free(self.offsets)
            self.offsets = NULL

    cdef int ack(self, Py_ssize_t index) except -1:
        # No Python call between the test and the updates, so the GIL makes them atomic.
        cdef SubmittedRecords owner
        cdef _PartitionQueue queue
        if self.states[index] != SUBMITTED:
            return 0
        self.states[index] = ACKED
        owner = self.owner
        owner._in_flight -= 1
        queue = self.queue
        if index == self.head and queue.head < len(queue.runs) and queue.runs[queue.head] is self:
            queue.collapse()
        if owner._in_flight == 0:
            owner._settled()
        return 0

    cdef bint drop(self, Py_ssize_t index) except -1:
        cdef SubmittedRecords owner = self.owner
        cdef _PartitionQueue queue = self.queue
        if self.states[index] != SUBMITTED:
            return False
        self.states[index] = DROPPED
        owner._in_flight -= 1
        queue.tracked -= 1
        queue.collapse()
        if queue.tracked == 0 and queue.pending == 0 and owner._queues.get(queue.key) is queue:
            del owner._queues[queue.key]
        if owner._in_flight == 0:
            owner._settled()
        return True

    cdef SubmittedRecord record(self, Py_ssize_t index):
        cdef SubmittedRecord handle = SubmittedRecord.__new__(SubmittedRecord)
        handle._run = self
        handle._index = index
        return handle


@cython.final
cdef class SubmittedRecord:
    """One source record handed to the producer, waiting for its delivery acknowledgement.

    Made by :meth:`SubmittedRecords.submit` and by indexing what :meth:`SubmittedRecords.submit_all` returns.
    ``ack()`` may be called from any thread (librdkafka's delivery callbacks); ``drop()`` only from the thread
    that owns the ``SubmittedRecords``. The record is also a delivery callback: ``record(err, msg)``
    acknowledges it when ``err`` is ``None`` and otherwise calls the owner's ``on_failure(record, err,
    msg)``, leaving the record unacknowledged.
    """

    @property
    def source_partition(self):
        """The source partition the record was submitted with (for records of one ``submit_all`` batch
        with equal partition maps, the first record's map)."""
        return self._run.partition

    @property
    def source_offset(self):
        """The source offset the record was submitted with."""
        return <object>self._run.offsets[self._index]

    @property
    def acked(self):
        """Whether the record was acknowledged."""
        return self._run.states[self._index] == ACKED

    def ack(self):
        """Acknowledge the record: it was written, so its offset may be committed once every earlier
        record of its source partition is acknowledged too. Idempotent and final: a dropped record stays
        dropped, an acknowledged one stays acknowledged."""
        self._run.ack(self._index)

    def __call__(self, err, msg):
        if err is None:
            self._run.ack(self._index)
            return
        handler = self._run.owner.on_failure
        if handler is not None:
            handler(self, err, msg)

    def drop(self):
        """Stop tracking the record without acknowledging it (it was filtered, or the producer rejected it
        and it will be retried). Returns whether the record was still tracked; an acknowledged record is
        no longer tracked (its offset is, or was, committable) and stays acknowledged."""
        return self._run.drop(self._index)

    def __eq__(self, other):
        if type(other) is not SubmittedRecord:
            return NotImplemented
        return self._run is (<SubmittedRecord>other)._run and self._index == (<SubmittedRecord>other)._index

    def __hash__(self):
        return hash((id(self._run), self._index))

    def __repr__(self):
        state = ("submitted", "acked", "dropped")[self._run.states[self._index]]
        return (f"SubmittedRecord(source_partition={self.source_partition!r}, "
                f"source_offset={self.source_offset!r}, {state})")


@cython.final
cdef class SubmittedBatch:
    """The records of one :meth:`SubmittedRecords.submit_all` call, in batch order: a sequence of
    :class:`SubmittedRecord`. A ``DirectProducer`` given the whole batch as the delivery callbacks of a
    batch encoded from the same records acknowledges them without a handle per record."""

    def __cinit__(self):
        self._runs = []
        self._size = 0
        self.entries = NULL

    def __dealloc__(self):
        free(self.entries)
        self.entries = NULL

    cdef SubmittedRecord record(self, Py_ssize_t index):
        cdef _SubmittedEntry* entry = self.entries[index]
        return (<_SubmittedRun>entry.run).record(entry.index)

    def __len__(self):
        return self._size

    def __getitem__(self, item):
        cdef Py_ssize_t index
        if isinstance(item, slice):
            return [self.record(i) for i in range(*item.indices(self._size))]
        index = item
        if index < 0:
            index += self._size
        if not 0 <= index < self._size:
            raise IndexError("submitted record index out of range")
        return self.record(index)

    def __iter__(self):
        cdef Py_ssize_t i
        for i in range(self._size):
            yield self.record(i)

    def __repr__(self):
        return f"SubmittedBatch({self._size} records)"


@cython.final
cdef class _PartitionQueue:

    def __cinit__(self, key, partition):
        self.key = key
        self.partition = partition
        self.runs = []
        self.head = 0
        self.tracked = 0
        self.pending = 0
        self.pending_offset = None

    cdef int collapse(self) except -1:
        # Fold the acknowledged records at the head into the pending committable offset, passing over
        # dropped ones, and let go of the runs passed entirely. No Python call before a run's head moves.
        cdef list runs = self.runs
        cdef _SubmittedRun run
        cdef Py_ssize_t i, last, folded
        cdef unsigned char state
        while self.head < len(runs):
            run = <_SubmittedRun>runs[self.head]
            i = run.head
            last = -1
            folded = 0
            while i < run.size:
                state = run.states[i]
                if state == SUBMITTED:
                    break
                if state == ACKED:
                    last = i
                    folded += 1
                i += 1
            run.head = i
            if folded:
                self.pending_offset = <object>run.offsets[last]
                self.pending += folded
                self.tracked -= folded
            if i < run.size:
                break
            self.head += 1
            runs[self.head - 1] = None
        if self.head >= 16:
            self.compact()
        return 0

    cdef int compact(self) except -1:
        # Drop the passed head once it is at least half the list: amortised O(1) per run.
        if self.head and self.head * 2 >= len(self.runs):
            del self.runs[:self.head]
            self.head = 0
        return 0


@cython.final
cdef class SubmittedRecords:
    """Source records in flight, per source partition, and the offsets that can be committed.

    Kafka Connect's ``SubmittedRecords``: records are submitted in the order the task returned them,
    before they are handed to the producer. Each is later acknowledged (``ack``, from the delivery
    callback) or dropped (``drop``). :meth:`committable_offsets` returns, per source partition, the offset
    of the last record of the contiguous acknowledged prefix, and forgets those records.

    Acknowledged records at the head of a partition are folded into that partition's pending committable
    offset as their acknowledgements arrive, so memory holds the records in flight, not every record
    acknowledged since the last offset flush. Records are kept in runs (the consecutive records of one
    source partition in a batch): their offsets and states are C arrays, and a :class:`SubmittedRecord` is
    only a handle made when Python code asks for one.

    Invariants: per source partition, tracked records are in submission order; ``in_flight`` counts the
    records neither acknowledged nor dropped.

    ``on_failure``: called as ``on_failure(record, err, msg)`` when a record used as a delivery callback
    reports a failure (``None``: the failure is ignored and the record stays unacknowledged).

    Thread safety: ``submit``, ``submit_all``, ``drop`` and ``committable_offsets`` must be called from one
    thread (the task thread). ``SubmittedRecord.ack`` may be called from any thread.
    ``await_all_messages`` and ``in_flight`` may be used from any thread.
    """

    def __cinit__(self):
        self._queues = {}
        self._in_flight = 0
        self._waiter = None
        self.on_failure = None

    @property
    def in_flight(self):
        """Records submitted and neither acknowledged nor dropped."""
        return self._in_flight

    cdef _PartitionQueue _queue_for(self, object partition):
        cdef object key = _partition_key(partition)
        cdef _PartitionQueue queue = self._queues.get(key)
        if queue is None:
            queue = _PartitionQueue(key, partition)
            self._queues[key] = queue
        return queue

    cdef _SubmittedRun _new_run(self, _PartitionQueue queue, object partition, Py_ssize_t size):
        # A run of `size` records whose offsets the caller fills in, then appends to its queue.
        cdef _SubmittedRun run = _SubmittedRun.__new__(_SubmittedRun)
        cdef char* block = <char*>calloc(size, sizeof(PyObject*) + sizeof(_SubmittedEntry) + 1)
        cdef Py_ssize_t i
        if block == NULL:
            raise MemoryError()
        run.offsets = <PyObject**>block
        run.entries = <_SubmittedEntry*>(block + size * sizeof(PyObject*))
        run.states = <unsigned char*>(block + size * (sizeof(PyObject*) + sizeof(_SubmittedEntry)))
        run.owner = self
        run.queue = queue
        run.partition = partition
        run.size = size
        for i in range(size):
            run.entries[i].run = <void*>run
            run.entries[i].index = i
        return run

    cdef int _settled(self) except -1:
        cdef object waiter = self._waiter
        if waiter is not None:
            waiter.set()
        return 0

    def submit(self, source_partition, source_offset):
        """Track a record about to be produced; returns the handle to ``ack`` or ``drop`` it."""
        cdef _PartitionQueue queue = self._queue_for(source_partition)
        cdef _SubmittedRun run = self._new_run(queue, source_partition, 1)
        Py_INCREF(source_offset)
        run.offsets[0] = <PyObject*>source_offset
        queue.runs.append(run)
        queue.tracked += 1
        self._in_flight += 1
        return run.record(0)

    def submit_all(self, records):
        """``submit`` each source record of a batch, in order; returns them as a :class:`SubmittedBatch`.

        The records of each source partition become one run, in batch order."""
        cdef list items = records if type(records) is list else list(records)
        cdef Py_ssize_t n = len(items), i, r = -1, runs = 0
        cdef SubmittedBatch batch = SubmittedBatch.__new__(SubmittedBatch)
        cdef Py_ssize_t* run_of     # the run of each record
        cdef Py_ssize_t* counts     # records per run, then the next free slot of each run
        cdef list queues = [], partitions = []
        cdef dict run_index = {}
        cdef _PartitionQueue queue
        cdef _SubmittedRun run
        cdef SourceRecord rec
        cdef object partition, previous = None
        if n == 0:
            return batch
        batch.entries = <_SubmittedEntry**>malloc(n * sizeof(_SubmittedEntry*))
        run_of = <Py_ssize_t*>calloc(2 * n, sizeof(Py_ssize_t))
        if batch.entries == NULL or run_of == NULL:
            free(run_of)
            raise MemoryError()
        counts = run_of + n
        try:
            # First the run of every record. A batch usually repeats one partition map (or equal ones): its
            # queue is looked up once per change of partition.
            for i in range(n):
                partition = (<SourceRecord?>items[i]).source_partition
                if r < 0 or not _same_partition(partition, previous):
                    queue = self._queue_for(partition)
                    previous = partition
                    r = run_index.get(queue, -1)
                    if r < 0:
                        r = runs
                        runs += 1
                        run_index[queue] = r
                        queues.append(queue)
                        partitions.append(partition)
                run_of[i] = r
                counts[r] += 1
            for r in range(runs):
                batch._runs.append(self._new_run(<_PartitionQueue>queues[r], partitions[r], counts[r]))
                counts[r] = 0
            run = None
            for i in range(n):
                if r != run_of[i] or run is None:
                    r = run_of[i]
                    run = <_SubmittedRun>batch._runs[r]
                rec = <SourceRecord>items[i]
                Py_INCREF(rec.source_offset)
                run.offsets[counts[r]] = <PyObject*>rec.source_offset
                batch.entries[i] = &run.entries[counts[r]]
                counts[r] += 1
        finally:
            free(run_of)
        for r in range(runs):
            run = <_SubmittedRun>batch._runs[r]
            queue = <_PartitionQueue>queues[r]
            queue.runs.append(run)
            queue.tracked += run.size
            self._in_flight += run.size
        batch._size = n
        return batch

    def committable_offsets(self):
        """Forget the acknowledged records at the head of each partition and return their last offsets."""
        cdef dict entries = {}
        cdef Py_ssize_t committable = 0, uncommittable = 0, largest = 0, remaining
        cdef object largest_partition = None
        cdef list empty = []
        cdef _PartitionQueue queue
        for key, q in self._queues.items():
            queue = <_PartitionQueue>q
            queue.collapse()
            if queue.pending:
                entries[key] = (queue.partition, queue.pending_offset)
                committable += queue.pending
                queue.pending = 0
                queue.pending_offset = None
                queue.compact()
            remaining = queue.tracked
            uncommittable += remaining
            if remaining > largest:
                largest = remaining
                largest_partition = queue.partition
            if remaining == 0:
                empty.append(key)
        for key in empty:
            del self._queues[key]
        return CommittableOffsets(
            PartitionOffsets(entries), committable, uncommittable, len(self._queues), largest, largest_partition
        )

    def await_all_messages(self, timeout):
        """Wait until every record submitted so far is acknowledged or dropped, at most ``timeout`` seconds
        (``None``: no limit). Returns whether they all were."""
        waiter = _Event()
        # Publish the event before reading the count: an ack that brings the count to zero after this
        # point sets it; one before it leaves the count at zero for the test below.
        self._waiter = waiter
        if self._in_flight == 0:
            return True
        return waiter.wait(timeout)


@cython.final
cdef class SinkOffsets:
    """The offsets of a sink task, per topic-partition ``(topic, partition)``.

    - ``consumed``: the next offset to read, i.e. the offset of the last record handed to the task + 1
      (Kafka Connect's "current offsets", passed to ``SinkTask.pre_commit``);
    - ``committable``: what the next commit writes: the last committed offsets overlaid with what
      ``pre_commit`` returned (which may lower or hold back a partition), set by :meth:`set_committable`;
    - ``last_committed``: what the last successful commit wrote (:meth:`set_committed`).

    Partitions become tracked by :meth:`assign`, :meth:`rewind` or the first record :meth:`update` sees,
    and stop being tracked by :meth:`remove`. Keys of new partitions are made by ``partition_type(topic,
    partition)`` (default: a plain tuple), so a named tuple type can be used throughout.

    Thread safety: not thread-safe; used from the task thread only.
    """

    def __init__(self, partition_type=None):
        self._consumed = {}
        self._committable = {}
        self._committed = {}
        self._tp = partition_type

    @property
    def consumed(self):
        """A copy of the next offset to read per partition."""
        return dict(self._consumed)

    @property
    def committable(self):
        """A copy of the offsets the next commit writes."""
        return dict(self._committable)

    @property
    def last_committed(self):
        """A copy of the offsets the last commit wrote."""
        return dict(self._committed)

    def __len__(self):
        return len(self._consumed)

    def __contains__(self, tp):
        return tp in self._consumed

    def assign(self, positions):
        """Track newly assigned partitions at their current positions (consumed = committed = position)."""
        for tp, offset in positions.items():
            self._consumed[tp] = offset
            self._committable[tp] = offset
            self._committed[tp] = offset

    cdef int _set_consumed(self, object topic, object partition, object offset) except -1:
        cdef object pair = (topic, partition)
        if pair in self._consumed:
            self._consumed[pair] = offset  # an equal existing key (maybe a named tuple) is kept
        elif self._tp is None:
            self._consumed[pair] = offset
        else:
            self._consumed[self._tp(topic, partition)] = offset
        return 0

    def update(self, records):
        """Advance ``consumed`` past a batch of records handed to the task, by their original coordinates."""
        # Consumed batches come in runs of one partition: write the dict once per run, not per record.
        cdef SinkRecord rec
        cdef object topic = None, partition = None, offset = None
        cdef bint have = False
        for r in records:
            rec = <SinkRecord?>r
            if have and (rec.original_topic is topic or rec.original_topic == topic) \
                    and rec.original_kafka_partition == partition:
                offset = rec.original_kafka_offset
                continue
            if have:
                self._set_consumed(topic, partition, offset + 1)
            topic = rec.original_topic
            partition = rec.original_kafka_partition
            offset = rec.original_kafka_offset
            have = True
        if have:
            self._set_consumed(topic, partition, offset + 1)

    def update_offset(self, topic, partition, offset):
        """Set the next offset to read of one partition (e.g. past a record that failed and was skipped)."""
        self._set_consumed(topic, partition, offset)

    def snapshot(self):
        """A copy of ``consumed``: what the task is offered in ``pre_commit``."""
        return dict(self._consumed)

    def set_committable(self, offsets):
        """Take what ``pre_commit`` returned: offsets of tracked partitions are used, others ignored; a
        partition left out keeps its last committed offset. Returns a copy of the new ``committable``."""
        cdef dict committable = dict(self._committed)
        if offsets:
            for tp, offset in offsets.items():
                if tp in self._consumed:
                    committable[tp] = offset
        self._committable = committable
        return dict(committable)

    def has_uncommitted(self):
        """Whether ``committable`` differs from what was last committed (else a commit can be skipped)."""
        return self._committable != self._committed

    def set_committed(self, offsets=None):
        """Record a successful commit of ``offsets`` (default: ``committable``) of tracked partitions."""
        for tp, offset in (self._committable if offsets is None else offsets).items():
            if tp in self._consumed:
                self._committed[tp] = offset
                self._committable[tp] = offset

    def remove(self, partitions):
        """Stop tracking revoked partitions."""
        for tp in partitions:
            self._consumed.pop(tp, None)
            self._committable.pop(tp, None)
            self._committed.pop(tp, None)

    def rewind(self, tp, offset):
        """The task asked to read ``tp`` from ``offset`` again (``SinkTaskContext.offset``): every view
        of the partition moves there, as Kafka Connect does after its seek."""
        self._consumed[tp] = offset
        self._committable[tp] = offset
        self._committed[tp] = offset

    def __repr__(self):
        return (f"SinkOffsets(consumed={self._consumed!r}, committable={self._committable!r}, "
                f"last_committed={self._committed!r})")
