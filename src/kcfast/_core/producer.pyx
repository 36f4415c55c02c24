# DirectProducer: a librdkafka producer driven by the core, for the source path.
#
# confluent-kafka's Producer.produce parses its arguments and allocates a per-message state for every
# record, and for every delivery report it builds a Message (copying topic, key and value) and an argument
# tuple before it calls back into Python. Here the core calls librdkafka itself: rd_kafka_produceva per
# record, and a C delivery callback that only notes each message's slot and error; after a poll the notes
# acknowledge the SubmittedRecords directly.
#
# librdkafka is the one confluent-kafka already loaded (kcfast.kafka.direct finds it and checks its
# version); it is reached with dlopen(RTLD_NOLOAD) and dlsym, so nothing links against it at build time.
# Only librdkafka's public, stable ABI is used: rd_kafka_message_t, rd_kafka_vu_t and the functions below.

from cpython.pythread cimport (
    PyThread_acquire_lock,
    PyThread_allocate_lock,
    PyThread_free_lock,
    PyThread_release_lock,
    PyThread_type_lock,
)
from libc.stdint cimport int32_t, intptr_t
from libc.stdlib cimport free, malloc, realloc

from time import monotonic as _monotonic

cdef extern from "dlfcn.h" nogil:
    void* dlopen(const char* path, int flags)
    void* dlsym(void* handle, const char* name)
    int RTLD_NOW
    int RTLD_NOLOAD

cdef extern from *:
    """
    #include <stdint.h>
    #include <sys/types.h>
    /* rd_kafka_message_t and rd_kafka_vu_t of rdkafka.h (public ABI). */
    typedef struct {
        int err; void *rkt; int32_t partition; void *payload; size_t len; void *key; size_t key_len;
        int64_t offset; void *_private;
    } kcfast_rdk_message;
    typedef struct {
        int vtype;
        union {
            const char *cstr; void *rkt; int i; int32_t i32; int64_t i64;
            struct { void *ptr; size_t size; } mem;
            struct { const char *name; const void *val; ssize_t size; } header;
            void *headers; void *ptr; char _pad[64];
        } u;
    } kcfast_rdk_vu;
    """
    ctypedef struct kcfast_rdk_message:
        int err
        int32_t partition
        void* _private

    ctypedef struct kcfast_rdk_vu_mem:
        void* ptr
        size_t size

    ctypedef struct kcfast_rdk_vu_header:
        const char* name
        const void* val
        Py_ssize_t size

    ctypedef union kcfast_rdk_vu_u:
        const char* cstr
        int i
        int32_t i32
        int64_t i64
        kcfast_rdk_vu_mem mem
        kcfast_rdk_vu_header header
        void* ptr

    ctypedef struct kcfast_rdk_vu:
        int vtype
        kcfast_rdk_vu_u u

# rd_kafka_vtype_t, flags and codes of rdkafka.h.
cdef enum:
    _VTYPE_TOPIC = 1
    _VTYPE_PARTITION = 3
    _VTYPE_VALUE = 4
    _VTYPE_KEY = 5
    _VTYPE_OPAQUE = 6
    _VTYPE_MSGFLAGS = 7
    _VTYPE_TIMESTAMP = 8
    _VTYPE_HEADER = 9
    _MSG_F_COPY = 2
    _RD_KAFKA_PRODUCER = 0
    _CONF_UNKNOWN = -2
    _CONF_OK = 0
    _ERR_QUEUE_FULL = -184
    _FIXED_VUS = 7

ctypedef void (*_dr_cb_t)(void* rk, const kcfast_rdk_message* msg, void* opaque) noexcept nogil
ctypedef void (*_log_cb_t)(const void* rk, int level, const char* fac, const char* buf) noexcept nogil
ctypedef int (*_version_t)() noexcept nogil
ctypedef void* (*_conf_new_t)() noexcept nogil
ctypedef void (*_conf_destroy_t)(void* conf) noexcept nogil
ctypedef int (*_conf_set_t)(void* conf, const char* name, const char* value, char* errstr,
                            size_t size) noexcept nogil
ctypedef void (*_conf_set_dr_msg_cb_t)(void* conf, _dr_cb_t cb) noexcept nogil
ctypedef void (*_conf_set_log_cb_t)(void* conf, _log_cb_t cb) noexcept nogil
ctypedef void (*_conf_set_opaque_t)(void* conf, void* opaque) noexcept nogil
ctypedef void* (*_new_t)(int kind, void* conf, char* errstr, size_t size) noexcept nogil
ctypedef void (*_destroy_t)(void* rk) noexcept nogil
ctypedef void* (*_opaque_t)(const void* rk) noexcept nogil
ctypedef const char* (*_name_t)(const void* rk) noexcept nogil
ctypedef int (*_set_log_queue_t)(void* rk, void* rkqu) noexcept nogil
ctypedef void* (*_produceva_t)(void* rk, const kcfast_rdk_vu* vus, size_t count) noexcept nogil
ctypedef int (*_error_code_t)(const void* error) noexcept nogil
ctypedef void (*_error_destroy_t)(void* error) noexcept nogil
ctypedef const char* (*_err2str_t)(int code) noexcept nogil
ctypedef int (*_poll_t)(void* rk, int timeout_ms) noexcept nogil
ctypedef int (*_flush_t)(void* rk, int timeout_ms) noexcept nogil
ctypedef int (*_outq_len_t)(void* rk) noexcept nogil

cdef _version_t _rdk_version = NULL
cdef _conf_new_t _rdk_conf_new = NULL
cdef _conf_destroy_t _rdk_conf_destroy = NULL
cdef _conf_set_t _rdk_conf_set = NULL
cdef _conf_set_dr_msg_cb_t _rdk_conf_set_dr_msg_cb = NULL
cdef _conf_set_log_cb_t _rdk_conf_set_log_cb = NULL
cdef _conf_set_opaque_t _rdk_conf_set_opaque = NULL
cdef _new_t _rdk_new = NULL
cdef _destroy_t _rdk_destroy = NULL
cdef _opaque_t _rdk_opaque = NULL
cdef _name_t _rdk_name = NULL
cdef _set_log_queue_t _rdk_set_log_queue = NULL
cdef _produceva_t _rdk_produceva = NULL
cdef _error_code_t _rdk_error_code = NULL
cdef _error_destroy_t _rdk_error_destroy = NULL
cdef _err2str_t _rdk_err2str = NULL
cdef _poll_t _rdk_poll = NULL
cdef _flush_t _rdk_flush = NULL
cdef _outq_len_t _rdk_outq_len = NULL
cdef bint _rdk_ready = False


cdef void* _symbol(void* handle, const char* name, list missing):
    cdef void* found = dlsym(handle, name)
    if found == NULL:
        missing.append(name.decode())
    return found


def load_librdkafka(str path, int expected_version):
    """Find librdkafka's functions in the library at ``path``, which must already be loaded (by
    confluent-kafka), and check that its ``rd_kafka_version()`` is ``expected_version``.

    Returns ``None`` when :class:`DirectProducer` can be used, else why not.
    """
    global _rdk_version, _rdk_conf_new, _rdk_conf_destroy, _rdk_conf_set, _rdk_conf_set_dr_msg_cb
    global _rdk_conf_set_log_cb, _rdk_conf_set_opaque, _rdk_new, _rdk_destroy, _rdk_opaque, _rdk_name
    global _rdk_set_log_queue, _rdk_produceva, _rdk_error_code, _rdk_error_destroy, _rdk_err2str, _rdk_poll
    global _rdk_flush, _rdk_outq_len, _rdk_ready
    cdef bytes encoded = path.encode()
    cdef void* handle = dlopen(encoded, RTLD_NOW | RTLD_NOLOAD)
    cdef list missing = []
    if handle == NULL:
        return f"{path} is not loaded"
    version = <_version_t>_symbol(handle, b"rd_kafka_version", missing)
    if version == NULL:
        return f"{path} has no rd_kafka_version"
    if version() != expected_version:
        return f"{path} is version {version():#x}, confluent-kafka reports {expected_version:#x}"
    conf_new = <_conf_new_t>_symbol(handle, b"rd_kafka_conf_new", missing)
    conf_destroy = <_conf_destroy_t>_symbol(handle, b"rd_kafka_conf_destroy", missing)
    conf_set = <_conf_set_t>_symbol(handle, b"rd_kafka_conf_set", missing)
    conf_set_dr_msg_cb = <_conf_set_dr_msg_cb_t>_symbol(handle, b"rd_kafka_conf_set_dr_msg_cb", missing)
    conf_set_log_cb = <_conf_set_log_cb_t>_symbol(handle, b"rd_kafka_conf_set_log_cb", missing)
    conf_set_opaque = <_conf_set_opaque_t>_symbol(handle, b"rd_kafka_conf_set_opaque", missing)
    new = <_new_t>_symbol(handle, b"rd_kafka_new", missing)
    destroy = <_destroy_t>_symbol(handle, b"rd_kafka_destroy", missing)
    opaque = <_opaque_t>_symbol(handle, b"rd_kafka_opaque", missing)
    name = <_name_t>_symbol(handle, b"rd_kafka_name", missing)
    set_log_queue = <_set_log_queue_t>_symbol(handle, b"rd_kafka_set_log_queue", missing)
    produceva = <_produceva_t>_symbol(handle, b"rd_kafka_produceva", missing)
    error_code = <_error_code_t>_symbol(handle, b"rd_kafka_error_code", missing)
    error_destroy = <_error_destroy_t>_symbol(handle, b"rd_kafka_error_destroy", missing)
    err2str = <_err2str_t>_symbol(handle, b"rd_kafka_err2str", missing)
    poll = <_poll_t>_symbol(handle, b"rd_kafka_poll", missing)
    flush = <_flush_t>_symbol(handle, b"rd_kafka_flush", missing)
    outq_len = <_outq_len_t>_symbol(handle, b"rd_kafka_outq_len", missing)
    if missing:
        return f"{path} lacks {', '.join(missing)}"
    _rdk_version, _rdk_conf_new, _rdk_conf_destroy, _rdk_conf_set = version, conf_new, conf_destroy, conf_set
    _rdk_conf_set_dr_msg_cb, _rdk_conf_set_log_cb = conf_set_dr_msg_cb, conf_set_log_cb
    _rdk_conf_set_opaque, _rdk_new, _rdk_destroy, _rdk_opaque = conf_set_opaque, new, destroy, opaque
    _rdk_name, _rdk_set_log_queue, _rdk_produceva = name, set_log_queue, produceva
    _rdk_error_code, _rdk_error_destroy, _rdk_err2str = error_code, error_destroy, err2str
    _rdk_poll, _rdk_flush, _rdk_outq_len = poll, flush, outq_len
    _rdk_ready = True
    return None


cdef bytes _as_bytes(object data):
    # What confluent-kafka's produce accepts besides bytes: str (as UTF-8) and other bytes-like objects.
    if type(data) is bytes:
        return <bytes>data
    if isinstance(data, str):
        return (<str>data).encode()
    return bytes(memoryview(data))


cdef inline void _set_mem(kcfast_rdk_vu* vu, int vtype, bytes data) noexcept:
    # A key or value entry pointing into `data`, which the caller keeps alive.
    vu.vtype = vtype
    vu.u.mem.ptr = PyBytes_AS_STRING(data)
    vu.u.mem.size = PyBytes_GET_SIZE(data)


cdef void _on_delivery(void* rk, const kcfast_rdk_message* msg, void* opaque) noexcept nogil:
    # Runs inside rd_kafka_poll/rd_kafka_flush, called by DirectProducer without the GIL and under its lock:
    # note the slot and the error, nothing else.
    cdef _Reports* reports = <_Reports*>opaque
    cdef Py_ssize_t capacity
    cdef Py_ssize_t* slots
    cdef int* errors
    if <intptr_t>msg._private == 0:
        return  # produced without a callback
    if reports.count == reports.capacity:
        capacity = reports.capacity * 2 + 4096
        slots = <Py_ssize_t*>realloc(reports.slots, capacity * sizeof(Py_ssize_t))
        if slots == NULL:
            reports.overflow += 1
            return
        reports.slots = slots
        errors = <int*>realloc(reports.errors, capacity * sizeof(int))
        if errors == NULL:
            reports.overflow += 1
            return
        reports.errors = errors
        reports.capacity = capacity
    reports.slots[reports.count] = <Py_ssize_t><intptr_t>msg._private
    reports.errors[reports.count] = msg.err
    reports.count += 1


cdef void _on_log(const void* rk, int level, const char* facility, const char* text) noexcept nogil:
    # With log.queue=true librdkafka only logs from rd_kafka_poll/rd_kafka_flush, in the polling thread.
    cdef _Reports* reports = <_Reports*>_rdk_opaque(rk)
    if reports == NULL or reports.owner == NULL:
        return
    with gil:
        try:
            (<DirectProducer>reports.owner)._log_line(level, facility, _rdk_name(rk), text)
        except BaseException:
            pass


cdef SubmittedBatch _submitted_batch(object callback, Py_ssize_t n):
    # The SubmittedBatch given as the delivery callbacks of `n` records, or None for other callbacks.
    if type(callback) is not SubmittedBatch:
        return None
    if len(callback) < n:
        raise ValueError(f"{len(callback)} submitted records for {n} records")
    return <SubmittedBatch>callback


cdef class DirectProducer:
    """A librdkafka producer driven by the core: :func:`produce_batch` produces through
    ``rd_kafka_produceva`` and :meth:`poll` acknowledges the delivered records.

    ``config`` holds librdkafka settings (strings, numbers, booleans); settings librdkafka does not know are
    skipped and listed in :attr:`ignored`. ``log(level, facility, client_name, message)`` receives
    librdkafka's log lines (syslog levels), ``error(code, reason)`` builds the error object a delivery
    callback receives, and ``exception(error)`` the exception a failed ``produce`` raises.

    Delivery callbacks are called as ``callback(error, None)``: ``None`` on success, and no message object.
    A :class:`SubmittedRecord` callback is acknowledged directly.
    """

    def __cinit__(self):
        self._lock = PyThread_allocate_lock()
        if self._lock == NULL:
            raise MemoryError()
        self._reports.owner = <void*>self

    def __init__(self, dict config, log, error, exception):
        cdef char errstr[512]
        cdef void* conf
        cdef void* rk
        cdef int result
        if not _rdk_ready:
            raise RuntimeError("librdkafka is not loaded (see kcfast.kafka.direct.unavailable_reason())")
        self._pending = []
        self._base = 1  # slot 0 means "no callback"
        self._runs = set()
        self._log = log
        self._error = error
        self._exception = exception
        self.ignored = []
        conf = _rdk_conf_new()
        settings = dict(config)
        settings["log.queue"] = "true"
        for key, value in settings.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif not isinstance(value, str):
                if callable(value) or not isinstance(value, (int, float)):
                    _rdk_conf_destroy(conf)
                    raise TypeError(f"librdkafka setting {key} must be a string or a number, not "
                                    f"{type(value).__name__}")
                value = str(value)
            result = _rdk_conf_set(conf, (<str>key).encode(), (<str>value).encode(), errstr, sizeof(errstr))
            if result == _CONF_UNKNOWN:
                self.ignored.append(key)
            elif result != _CONF_OK:
                _rdk_conf_destroy(conf)
                raise ValueError(errstr.decode("utf-8", "replace"))
        _rdk_conf_set_dr_msg_cb(conf, _on_delivery)
        _rdk_conf_set_log_cb(conf, _on_log)
        _rdk_conf_set_opaque(conf, &self._reports)
        with nogil:
            rk = _rdk_new(_RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr))
        if rk == NULL:
            _rdk_conf_destroy(conf)
            raise ValueError(errstr.decode("utf-8", "replace"))
        self._rk = rk
        _rdk_set_log_queue(rk, NULL)
        self.name = _rdk_name(rk).decode("utf-8", "replace")

    def __dealloc__(self):
        cdef void* rk = self._rk
        self._rk = NULL
        self._reports.owner = NULL  # no log line reaches an object being freed
        if rk != NULL:
            with nogil:
                _rdk_destroy(rk)
        free(self._reports.slots)
        free(self._reports.errors)
        if self._lock != NULL:
            PyThread_free_lock(self._lock)

    cdef void* _handle(self) except NULL:
        if self._rk == NULL:
            raise RuntimeError("Producer has been closed")
        return self._rk

    cdef _log_line(self, int level, const char* facility, const char* client, const char* text):
        if self._log is not None:
            self._log(level, facility.decode("utf-8", "replace"), client.decode("utf-8", "replace"),
                      text.decode("utf-8", "replace"))

    cdef int _produce(self, bytes topic_c, object partition, object key, object value, object headers,
                      object timestamp, object callback, _SubmittedEntry* entry) except -1:
        # One rd_kafka_produceva; a full queue is answered by polling and trying again. The message's opaque
        # is 0 (no callback), an even slot number (callback in _pending) or an odd tagged pointer to a
        # submitted record's entry (`entry`, acknowledged without a Python call).
        cdef kcfast_rdk_vu fixed[_FIXED_VUS]
        cdef kcfast_rdk_vu* vus = fixed
        cdef Py_ssize_t count = 0, slot = 0, n_headers = 0, i
        cdef void* rk = self._handle()
        cdef void* failure
        cdef int code
        cdef list names = None
        cdef bytes encoded_name, encoded_value
        if headers is not None:
            n_headers = len(headers)
        if n_headers:
            vus = <kcfast_rdk_vu*>malloc((_FIXED_VUS + n_headers) * sizeof(kcfast_rdk_vu))
            if vus == NULL:
                raise MemoryError()
        try:
            vus[0].vtype = _VTYPE_TOPIC
            vus[0].u.cstr = topic_c
            vus[1].vtype = _VTYPE_MSGFLAGS
            vus[1].u.i = _MSG_F_COPY
            count = 2
            if partition is not None and partition != -1:
                vus[count].vtype = _VTYPE_PARTITION
                vus[count].u.i32 = <int32_t>partition
                count += 1
            if value is not None:
                value = _as_bytes(value)  # the local keeps a converted value alive until produceva returns
                _set_mem(&vus[count], _VTYPE_VALUE, <bytes>value)
                count += 1
            if key is not None:
                key = _as_bytes(key)
                _set_mem(&vus[count], _VTYPE_KEY, <bytes>key)
                count += 1
            if timestamp:
                vus[count].vtype = _VTYPE_TIMESTAMP
                vus[count].u.i64 = <int64_t>timestamp
                count += 1
            if n_headers:
                names = []
                for i in range(n_headers):
                    name, header_value = headers[i]
                    encoded_name = (<str?>name).encode()
                    names.append(encoded_name)  # kept alive until produceva returns
                    vus[count].vtype = _VTYPE_HEADER
                    vus[count].u.header.name = encoded_name
                    if header_value is None:
                        vus[count].u.header.val = NULL
                        vus[count].u.header.size = 0
                    else:
                        encoded_value = _as_bytes(header_value)
                        names.append(encoded_value)
                        vus[count].u.header.val = PyBytes_AS_STRING(encoded_value)
                        vus[count].u.header.size = PyBytes_GET_SIZE(encoded_value)
                    count += 1
            if entry != NULL:
                vus[count].vtype = _VTYPE_OPAQUE
                vus[count].u.ptr = <void*>(<intptr_t>entry | 1)
                count += 1
            elif callback is not None:
                # Slots are handed out in order: pending[slot - base] is the callback of slot `slot`.
                slot = self._base + len(self._pending)
                self._pending.append(callback)
                vus[count].vtype = _VTYPE_OPAQUE
                vus[count].u.ptr = <void*>(<intptr_t>slot << 1)
                count += 1
            try:
                while True:
                    failure = _rdk_produceva(rk, vus, count)
                    if failure == NULL:
                        if entry != NULL:
                            run = <_SubmittedRun>entry.run
                            if run.outstanding == 0:
                                self._runs.add(run)
                            run.outstanding += 1
                        return 0
                    code = _rdk_error_code(failure)
                    _rdk_error_destroy(failure)
                    if code != _ERR_QUEUE_FULL:
                        raise self._exception(self._error(code, _rdk_err2str(code).decode("utf-8", "replace")))
                    self.poll(PRODUCE_RETRY_POLL_SECONDS)
            except BaseException:
                if slot:
                    # Never produced: its slot becomes a hole that the next trim passes over.
                    self._pending[slot - self._base] = None
                raise
        finally:
            if vus != fixed:
                free(vus)

    cdef Py_ssize_t _produce_batch(self, list encoded, object callback, Py_ssize_t start) except -1:
        cdef Py_ssize_t index, n = len(encoded)
        cdef Py_ssize_t produced = 0
        cdef tuple item
        cdef object last_topic = None
        cdef bytes topic_c = None
        cdef SubmittedBatch submitted = _submitted_batch(callback, n)
        cdef _SubmittedEntry* entry = NULL
        cdef bint per_record = submitted is None and callback is not None and not callable(callback)
        on_delivery = callback
        for index in range(start, n):
            item = <tuple?>encoded[index]
            topic, partition, key, value, headers, timestamp = item
            if topic is not last_topic:
                topic_c = (<str?>topic).encode()
                last_topic = topic
            if submitted is not None:
                entry = submitted.entries[index]
            elif per_record:
                on_delivery = callback[index]
            try:
                self._produce(topic_c, partition, key, value, headers, timestamp, on_delivery, entry)
            except Exception as exc:
                raise produce_error(index, produced, topic, partition, exc) from exc
            produced += 1
        return produced

    def poll(self, double timeout=0.0):
        """Serve librdkafka's events for up to ``timeout`` seconds (negative: until one arrives) and call
        the delivery callbacks; returns how many events were served."""
        cdef void* rk = self._handle()
        cdef int ms = -1 if timeout < 0 else <int>(timeout * 1000)
        cdef int served
        with nogil:
            PyThread_acquire_lock(self._lock, 1)
            served = _rdk_poll(rk, ms)
        return served + self._deliver()

    cdef int _deliver(self) except -1:
        # Takes the reports noted under the lock, releases it, then calls back: a callback may poll again.
        # Every callback is called; the first exception one raises is raised after the last.
        cdef Py_ssize_t count = self._reports.count
        cdef Py_ssize_t overflow = self._reports.overflow
        cdef Py_ssize_t* slots = self._reports.slots
        cdef int* errors = self._reports.errors
        cdef Py_ssize_t i, index, done
        cdef list pending = self._pending
        cdef int code
        cdef intptr_t opaque
        cdef _SubmittedEntry* entry
        cdef _SubmittedRun run
        cdef SubmittedRecord handle
        first_error = None
        self._reports.count = 0
        self._reports.overflow = 0
        self._reports.slots = NULL
        self._reports.errors = NULL
        self._reports.capacity = 0
        PyThread_release_lock(self._lock)
        try:
            for i in range(count):
                opaque = <intptr_t>slots[i]
                code = errors[i]
                if opaque & 1:
                    entry = <_SubmittedEntry*>(opaque - 1)
                    run = <_SubmittedRun>entry.run
                    run.outstanding -= 1
                    if run.outstanding == 0:
                        self._runs.discard(run)  # `run` keeps it alive until the next report
                    try:
                        if code == 0:
                            run.ack(entry.index)
                        else:
                            run.record(entry.index)(
                                self._error(code, _rdk_err2str(code).decode("utf-8", "replace")), None)
                    except BaseException as exc:
                        if first_error is None:
                            first_error = exc
                    continue
                index = (opaque >> 1) - self._base
                callback = pending[index]
                pending[index] = None
                try:
                    if code == 0:
                        if type(callback) is SubmittedRecord:
                            handle = <SubmittedRecord>callback
                            handle._run.ack(handle._index)
                        else:
                            callback(None, None)
                    else:
                        callback(self._error(code, _rdk_err2str(code).decode("utf-8", "replace")), None)
                except BaseException as exc:
                    if first_error is None:
                        first_error = exc
            # Drop the delivered prefix (reports of one partition arrive in order; partitions interleave).
            done = 0
            while done < len(pending) and pending[done] is None:
                done += 1
            if done:
                del pending[:done]
                self._base += done
        finally:
            free(slots)
            free(errors)
        if overflow:
            raise MemoryError(f"{overflow} delivery reports could not be recorded")
        if first_error is not None:
            raise first_error
        return 0

    def flush(self, double timeout=-1.0):
        """Wait until every produced record was delivered or failed, for at most ``timeout`` seconds
        (negative: no limit), calling the delivery callbacks; returns how many records are still queued."""
        cdef void* rk = self._handle()
        cdef double deadline = -1.0
        cdef int chunk
        if timeout >= 0:
            deadline = _monotonic() + timeout
        while True:
            chunk = 100
            if deadline >= 0:
                chunk = min(chunk, max(0, <int>((deadline - _monotonic()) * 1000)))
            with nogil:
                PyThread_acquire_lock(self._lock, 1)
                _rdk_flush(rk, chunk)
            self._deliver()
            remaining = _rdk_outq_len(rk)
            if remaining == 0 or (deadline >= 0 and _monotonic() >= deadline):
                return remaining

    def __len__(self):
        """Messages and requests still queued (``rd_kafka_outq_len``)."""
        return _rdk_outq_len(self._handle())

    def close(self):
        """Destroy the librdkafka handle; records still queued are dropped without callbacks."""
        cdef void* rk = self._rk
        self._rk = NULL
        self._base += len(self._pending)
        self._pending.clear()
        self._runs.clear()
        if rk != NULL:
            with nogil:
                PyThread_acquire_lock(self._lock, 1)
                _rdk_destroy(rk)
                PyThread_release_lock(self._lock)
