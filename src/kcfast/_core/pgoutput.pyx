# PostgreSQL change data capture: pgoutput messages and snapshot rows -> Debezium change events, one call per
# batch. Included by _core.pyx; classes are declared in _core.pxd.
#
# PgTable holds what one captured table needs per row: its schemas, the constant part of its `source` block
# and, per column, a converter kind with the column's Python converter (kcfast.connectors.postgres.types).
# The compiled converters read a value straight from the message bytes (or from the UTF-8 of a snapshot's
# text) and handle the plain forms PostgreSQL writes in the session the connector sets up (UTC, ISO dates);
# any other text goes to the Python converter. Values are therefore the Python converter's by construction;
# the twin calls the Python converter for every value, and the parity tests compare the two.
#
# PgoutputDecoder keeps the stream's state (transaction, position, resume point) and turns a batch of
# messages into SourceRecords. Relation messages go back to the connector (on_relation), which reads the
# catalog and answers with the table's PgTable.

from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.list cimport PyList_GetSlice
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_DecodeASCII
from libc.stdint cimport uint64_t
from libc.stdio cimport snprintf
from libc.string cimport memcpy

from kcfast.errors import DataError as _DataError

cdef extern from "Python.h":
    void PyObject_GC_UnTrack(void* op)
    int PyObject_IS_GC(PyObject* op)

cdef object _Decimal = None                 # decimal.Decimal, imported with the first PgTable
cdef long long _PG_EPOCH_OFFSET_US = 946684800000000
cdef long long _US_PER_DAY = 86400000000
cdef dict _PG_KINDS = {
    "python": PG_PYTHON, "text": PG_TEXT, "bool": PG_BOOL, "int": PG_INT, "float": PG_FLOAT,
    "decimal": PG_DECIMAL, "date": PG_DATE, "time_us": PG_TIME_US, "time_ms": PG_TIME_MS,
    "time_ns": PG_TIME_NS, "timestamp_us": PG_TIMESTAMP_US, "timestamp_ms": PG_TIMESTAMP_MS,
    "timestamp_ns": PG_TIMESTAMP_NS, "zoned_timestamp": PG_ZONED_TIMESTAMP, "bytea": PG_BYTEA,
}
# Debezium's Source block (io.debezium.connector.postgresql.Source): the fields an event fills in.
DEF _SRC_FIELDS = 16
DEF _SRC_TS_MS = 3
DEF _SRC_SNAPSHOT = 4
DEF _SRC_SEQUENCE = 6
DEF _SRC_TS_US = 7
DEF _SRC_TS_NS = 8
DEF _SRC_TXID = 11
DEF _SRC_LSN = 12


# ------------------------------------------------------------------------------------------- byte reading


cdef inline uint32_t _u32(const unsigned char* p) noexcept:
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | <uint32_t>p[3]


cdef inline uint64_t _u64(const unsigned char* p) noexcept:
    return (<uint64_t>_u32(p) << 32) | <uint64_t>_u32(p + 4)


cdef inline int _need(Py_ssize_t pos, Py_ssize_t size, Py_ssize_t n) except -1:
    # Every read of a message is checked against its length: a short message is a DataError, never a read
    # past the buffer.
    if size < 0 or pos + size > n:
        raise _DataError("pgoutput: truncated message")
    return 0


cdef inline int _digits(const unsigned char* p, Py_ssize_t n, long long* out) noexcept:
    # The value of n ASCII digits (n <= 18), or -1 if one is not a digit.
    cdef long long value = 0
    cdef unsigned int digit
    cdef Py_ssize_t i
    for i in range(n):
        digit = <unsigned int>p[i] - 48u
        if digit > 9u:
            return -1
        value = value * 10 + digit
    out[0] = value
    return 0


# ------------------------------------------------------------------------------------ calendar arithmetic


cdef inline long long _days_from_civil(long long y, long long m, long long d) noexcept:
    # Days since 1970-01-01 of a proleptic Gregorian date (what date.toordinal() - 719163 gives). Python
    # floor division semantics apply (no cdivision), so negative years need no special case.
    y -= m <= 2
    cdef long long era = y // 400
    cdef long long yoe = y - era * 400
    cdef long long doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    cdef long long doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


cdef inline void _civil_from_days(long long z, long long* y, int* m, int* d) noexcept:
    z += 719468
    cdef long long era = z // 146097
    cdef long long doe = z - era * 146097
    cdef long long yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    cdef long long doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    cdef long long mp = (5 * doy + 2) // 153
    d[0] = <int>(doy - (153 * mp + 2) // 5 + 1)
    m[0] = <int>(mp + 3 if mp < 10 else mp - 9)
    y[0] = yoe + era * 400 + (m[0] <= 2)


cdef inline bint _leap(long long y) noexcept:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


cdef bint _date_days(const unsigned char* p, Py_ssize_t n, long long* out) noexcept:
    # YYYY-MM-DD of a real date (year 1-9999), as types._date_days reads it; False for any other text.
    cdef long long y = 0, m = 0, d = 0
    cdef int dim
    if n != 10 or p[4] != b'-' or p[7] != b'-':
        return False
    if _digits(p, 4, &y) < 0 or _digits(p + 5, 2, &m) < 0 or _digits(p + 8, 2, &d) < 0:
        return False
    if y < 1 or m < 1 or m > 12 or d < 1:
        return False
    dim = 31 if m in (1, 3, 5, 7, 8, 10, 12) else 30 if m != 2 else 29 if _leap(y) else 28
    if d > dim:
        return False
    out[0] = _days_from_civil(y, m, d)
    return True


cdef bint _time_micros(const unsigned char* p, Py_ssize_t n, long long* out) noexcept:
    # HH:MM:SS[.f{1,6}] as types._micros_of_time reads it (no range checks there either); False otherwise.
    cdef long long h = 0, mi = 0, s = 0, frac = 0
    if n != 8 and not (10 <= n <= 15 and p[8] == b'.'):
        return False
    if p[2] != b':' or p[5] != b':':
        return False
    if _digits(p, 2, &h) < 0 or _digits(p + 3, 2, &mi) < 0 or _digits(p + 6, 2, &s) < 0:
        return False
    if n > 8:
        if _digits(p + 9, n - 9, &frac) < 0:
            return False
        for _ in range(15 - n):
            frac *= 10
    out[0] = (h * 3600 + mi * 60 + s) * 1000000 + frac
    return True


cdef bint _timestamp_micros(const unsigned char* p, Py_ssize_t n, long long* out) noexcept:
    # YYYY-MM-DD HH:MM:SS[.f{1,6}] as types._timestamp_micros reads it; False for anything else (BC,
    # infinity, years past 9999), which the Python converter handles.
    cdef long long days = 0, micros = 0
    if n < 19 or p[10] != b' ' or not _date_days(p, 10, &days) or not _time_micros(p + 11, n - 11, &micros):
        return False
    out[0] = days * _US_PER_DAY + micros
    return True


cdef object _zoned_timestamp(const unsigned char* p, Py_ssize_t n, int width):
    # types._zoned_timestamp(width): the UTC instant as YYYY-MM-DDTHH:MM:SS[.fff...]Z, or None when the
    # text is not of the plain form (the Python converter then decides).
    cdef Py_ssize_t z = n - 1
    cdef long long local = 0, hh = 0, mm = 0, ss = 0, offset, micros, days, rem, year = 0
    cdef int month = 0, day = 0, frac_len, i
    cdef char buf[48]
    cdef char digits[12]
    while z >= 19 and p[z] != b'+' and p[z] != b'-':
        z -= 1
    if z < 19 or not _timestamp_micros(p, z, &local):
        return None
    if n - z == 3:
        if _digits(p + z + 1, 2, &hh) < 0:
            return None
    elif n - z == 6 and p[z + 3] == b':':
        if _digits(p + z + 1, 2, &hh) < 0 or _digits(p + z + 4, 2, &mm) < 0:
            return None
    elif n - z == 9 and p[z + 3] == b':' and p[z + 6] == b':':
        if _digits(p + z + 1, 2, &hh) < 0 or _digits(p + z + 4, 2, &mm) < 0 or _digits(p + z + 7, 2, &ss) < 0:
            return None
    else:
        return None
    offset = hh * 3600 + mm * 60 + ss
    micros = local - (offset if p[z] == b'+' else -offset) * 1000000
    days = micros // _US_PER_DAY
    rem = micros - days * _US_PER_DAY
    _civil_from_days(days, &year, &month, &day)
    if year < 1000 or year > 9999:
        return None  # strftime's %Y is not zero-padded below 1000; datetime stops at 9999
    snprintf(buf, 48, "%04d-%02d-%02dT%02d:%02d:%02d", <int>year, month, day, <int>(rem // 3600000000),
             <int>(rem // 60000000 % 60), <int>(rem // 1000000 % 60))
    frac_len = 0
    snprintf(digits, 12, "%06d", <int>(rem % 1000000))
    if width <= 0:
        if rem % 1000000:
            frac_len = 6
            while digits[frac_len - 1] == b'0':
                frac_len -= 1
    else:
        frac_len = width if width < 6 else 6
    i = 19
    if frac_len:
        buf[i] = b'.'
        memcpy(buf + i + 1, digits, frac_len)
        i += 1 + frac_len
    buf[i] = b'Z'
    return PyUnicode_DecodeASCII(buf, i + 1, NULL)


cdef object _bytea(const unsigned char* p, Py_ssize_t n):
    # \x followed by pairs of hex digits (bytea_output=hex), else None.
    cdef Py_ssize_t i, size
    cdef int hi, lo
    cdef unsigned char* out
    cdef bytes result
    if n < 2 or p[0] != b'\\' or p[1] != b'x' or (n - 2) % 2:
        return None
    size = (n - 2) // 2
    result = PyBytes_FromStringAndSize(NULL, size)
    out = <unsigned char*>PyBytes_AS_STRING(result)
    for i in range(size):
        hi = _hex(p[2 + 2 * i])
        lo = _hex(p[3 + 2 * i])
        if hi < 0 or lo < 0:
            return None
        out[i] = <unsigned char>(hi * 16 + lo)
    return result


cdef inline int _hex(unsigned char c) noexcept:
    if 48 <= c <= 57:
        return c - 48
    if 97 <= c <= 102:
        return c - 87
    if 65 <= c <= 70:
        return c - 55
    return -1


# --------------------------------------------------------------------------------------------- converters


cdef object _convert(_PgColumn col, const unsigned char* p, Py_ssize_t n, object text):
    # The Connect value of one column's text (p, n: its UTF-8; text: the str when the caller has one).
    cdef long long number = 0
    cdef char buf[64]
    cdef PgKind kind = col.kind
    if kind == PG_TEXT:
        if text is not None:
            return text
        return PyUnicode_DecodeUTF8(<char*>p, n, NULL)
    if kind == PG_INT:
        if 0 < n <= 18 and p[0] != b'-' and _digits(p, n, &number) == 0:
            return number
        if 1 < n <= 19 and p[0] == b'-' and _digits(p + 1, n - 1, &number) == 0:
            return -number
    elif kind == PG_BOOL:
        if n == 1 and p[0] < 128:
            return p[0] == b't'
    elif kind == PG_TIMESTAMP_US or kind == PG_TIMESTAMP_MS or kind == PG_TIMESTAMP_NS:
        if _timestamp_micros(p, n, &number):
            if kind == PG_TIMESTAMP_MS:
                return number // 1000
            if kind == PG_TIMESTAMP_NS:
                return <object>number * 1000  # past int64 for years after 2262
            return number
    elif kind == PG_DECIMAL:
        if text is None:
            text = PyUnicode_DecodeUTF8(<char*>p, n, NULL)
        if n == 3 and p[0] == b'N' and p[1] == b'a' and p[2] == b'N':
            return None
        return _Decimal(text)
    elif kind == PG_FLOAT:
        if n < 64:
            memcpy(buf, p, n)
            buf[n] = 0
            try:
                return PyOS_string_to_double(buf, NULL, NULL)
            except ValueError:
                pass  # not the whole text is a number: float() says why
    elif kind == PG_DATE:
        if _date_days(p, n, &number):
            return number
    elif kind == PG_TIME_US or kind == PG_TIME_MS or kind == PG_TIME_NS:
        if _time_micros(p, n, &number):
            return number // 1000 if kind == PG_TIME_MS else number * 1000 if kind == PG_TIME_NS else number
    elif kind == PG_ZONED_TIMESTAMP:
        value = _zoned_timestamp(p, n, col.arg)
        if value is not None:
            return value
    elif kind == PG_BYTEA:
        value = _bytea(p, n)
        if value is not None:
            return value
    if text is None:
        text = PyUnicode_DecodeUTF8(<char*>p, n, NULL)
    return col.convert(text)


@cython.final
cdef class _PgColumn:
    """One captured column: where its value is in a row, and how its text becomes the Connect value."""

    def __cinit__(self, spec):
        name, position, kind, arg, convert, fallback, unavailable = spec
        if kind not in _PG_KINDS:
            raise ValueError(f"unknown PostgreSQL converter kind {kind!r}")
        if not callable(convert):
            raise TypeError(f"the converter of column {name!r} is not callable")
        self.name = name
        self.position = position
        self.kind = <PgKind><int>_PG_KINDS[kind]
        self.arg = arg
        self.convert = convert
        self.fallback = fallback
        self.unavailable = unavailable


@cython.final
cdef class _PgSlots:
    """Where each column's value lies in the tuple being converted (a scratch area reused per message)."""

    def __dealloc__(self):
        PyMem_Free(self.items)

    cdef int reserve(self, Py_ssize_t count) except -1:
        cdef _PgSlot* items
        if count > self.capacity:
            items = <_PgSlot*>PyMem_Realloc(self.items, count * sizeof(_PgSlot))
            if items is NULL:
                raise MemoryError()
            self.items = items
            self.capacity = count
        self.count = count
        return 0

    cdef Py_ssize_t scan(self, const unsigned char* p, Py_ssize_t n, Py_ssize_t pos) except -1:
        # The tuple data at pos (column count, then per column n / u / t + length + text); returns the
        # position after it.
        cdef Py_ssize_t i, count, length
        cdef unsigned char kind
        _need(pos, 2, n)
        count = (<Py_ssize_t>p[pos] << 8) | p[pos + 1]
        pos += 2
        self.reserve(count)
        for i in range(count):
            _need(pos, 1, n)
            kind = p[pos]
            pos += 1
            self.items[i].kind = kind
            if kind == b't':
                _need(pos, 4, n)
                length = <int>_u32(p + pos)
                pos += 4
                _need(pos, length, n)
                self.items[i].p = p + pos
                self.items[i].n = length
                pos += length
            elif kind != b'n' and kind != b'u':
                raise _DataError(f"pgoutput: unexpected tuple column kind {chr(kind)!r}")
        return pos

    cdef int fill(self, list texts) except -1:
        # Slots of a row of texts: str values, None for NULL, anything else an unchanged TOASTed value.
        cdef Py_ssize_t i, count = len(texts), size = 0
        self.reserve(count)
        for i in range(count):
            text = texts[i]
            if text is None:
                self.items[i].kind = b'n'
            elif type(text) is str:
                self.items[i].kind = b't'
                self.items[i].p = <const unsigned char*>PyUnicode_AsUTF8AndSize(text, &size)
                self.items[i].n = size
            else:
                self.items[i].kind = b'u'
        return 0


cdef _PgSlots _new_slots():
    cdef _PgSlots slots = _PgSlots.__new__(_PgSlots)
    slots.reserve(16)
    return slots


cdef inline list _texts_list(object texts):
    return <list>texts if type(texts) is list else list(texts)


cdef inline object _event_struct(object schema, list values):
    # A Struct of an event, left out of the cyclic GC with its values list. An event is a tree built here
    # from atomic values and other event structs: no reference cycle can pass through it, and a worker holds
    # tens of thousands of events in flight, which every full collection would otherwise traverse (about a
    # fifth of a streaming worker's time when they were tracked). Reference counting still frees them.
    obj = _new_struct(schema, values)
    PyObject_GC_UnTrack(<PyObject*>values)
    if PyObject_IS_GC(<PyObject*>obj):
        PyObject_GC_UnTrack(<PyObject*>obj)
    return obj


# ---------------------------------------------------------------------------------------------- PgTable


@cython.final
cdef class PgTable:
    """The compiled plan of one captured table: its schemas, `source` constants and column converters.

    ``columns`` lists the value struct's fields in order, ``key_columns`` the key struct's, each as
    ``(name, position, kind, arg, convert, fallback, unavailable)``: the column's position in the table's
    rows, its converter kind (``kcfast.connectors.postgres.types.KINDS``) with ``arg``, the Python converter
    from the text form, the value a NULL takes in a required field, and the value of an unchanged TOASTed
    column. ``source_head`` is ``(version, connector, server, db)`` of the `source` block.

    Immutable once built; safe to share between threads.
    """

    def __init__(self, topic, schema_name, table_name, key_schema, value_schema, envelope_schema,
                 source_schema, source_head, columns, key_columns):
        global _Decimal
        if _Decimal is None:
            from decimal import Decimal
            _Decimal = Decimal
        _load()
        self.topic = topic
        self.schema_name = schema_name
        self.table_name = table_name
        self.key_schema = key_schema
        self.value_schema = value_schema
        self.envelope_schema = envelope_schema
        self.source_schema = source_schema
        version, connector, server, db = source_head
        self.source_template = [version, connector, server, None, None, db, None, None, None, schema_name,
                                table_name, None, None, None, None, None]
        self.columns = tuple([_PgColumn(spec) for spec in columns])
        self.key_columns = tuple([_PgColumn(spec) for spec in key_columns])
        positions = {(<_PgColumn>c).position: i for i, c in enumerate(self.columns)}
        indexes = [positions.get((<_PgColumn>c).position) for c in self.key_columns]
        self.key_from_row = None if None in indexes else tuple(indexes)
        self.width = 1 + max([(<_PgColumn>c).position for c in self.columns + self.key_columns], default=-1)

    cdef int _check_width(self, _PgSlots slots) except -1:
        if slots.count < self.width:
            raise _DataError(f"A row of {self.schema_name}.{self.table_name} has {slots.count} columns, "
                             f"{self.width} expected")
        return 0

    cdef object _error(self, _PgColumn col, _PgSlots slots, list texts, object exc):
        cdef _PgSlot* slot = &slots.items[col.position]
        if texts is not None:
            text = texts[col.position]
        else:
            text = (<char*>slot.p)[:slot.n]
            try:
                text = text.decode()
            except UnicodeDecodeError:
                pass
        return _DataError(f"Cannot convert value {text!r} of column {self.schema_name}.{self.table_name}."
                          f"{col.name}: {exc}")

    cdef list _row_values(self, _PgSlots slots, list texts):
        cdef Py_ssize_t i, count = len(self.columns)
        cdef list values = [None] * count
        cdef _PgColumn col = None
        cdef _PgSlot* slot
        self._check_width(slots)
        try:
            for i in range(count):
                col = <_PgColumn>self.columns[i]
                slot = &slots.items[col.position]
                if slot.kind == b't':
                    value = _convert(col, slot.p, slot.n, None if texts is None else texts[col.position])
                elif slot.kind == b'u':
                    value = col.unavailable
                else:
                    value = None
                values[i] = col.fallback if value is None else value
        except Exception as exc:
            raise self._error(col, slots, texts, exc) from exc
        return values

    cdef object _row(self, _PgSlots slots, list texts):
        return _event_struct(self.value_schema, self._row_values(slots, texts))

    cdef list _key_values(self, list row_values, _PgSlots slots, list texts):
        # The key's values: taken from the converted row when it holds every key column, else converted.
        cdef Py_ssize_t i, count = len(self.key_columns)
        cdef list values = [None] * count
        cdef _PgColumn col = None
        cdef _PgSlot* slot
        if row_values is not None and self.key_from_row is not None:
            for i in range(count):
                values[i] = row_values[<Py_ssize_t>self.key_from_row[i]]
            return values
        self._check_width(slots)
        try:
            for i in range(count):
                col = <_PgColumn>self.key_columns[i]
                slot = &slots.items[col.position]
                if slot.kind == b't':
                    values[i] = _convert(col, slot.p, slot.n, None if texts is None else texts[col.position])
        except Exception as exc:
            raise self._error(col, slots, texts, exc) from exc
        return values

    cdef object _source(self, object ts_ms, object snapshot, object sequence, object ts_us, object ts_ns,
                        object txid, object lsn):
        cdef list values = PyList_GetSlice(self.source_template, 0, _SRC_FIELDS)
        values[_SRC_TS_MS] = ts_ms
        values[_SRC_SNAPSHOT] = snapshot
        values[_SRC_SEQUENCE] = sequence
        values[_SRC_TS_US] = ts_us
        values[_SRC_TS_NS] = ts_ns
        values[_SRC_TXID] = txid
        values[_SRC_LSN] = lsn
        return _event_struct(self.source_schema, values)

    cdef object _envelope(self, object before, object after, object source, str op, tuple now):
        return _event_struct(self.envelope_schema, [before, after, source, None, op, now[0], now[1], now[2]])

    cdef SourceRecord _record(self, object partition, object offset, object key_schema, object key,
                              object value_schema, object value, object timestamp):
        cdef SourceRecord rec = SourceRecord.__new__(SourceRecord)
        rec.topic = self.topic
        rec.key_schema = key_schema
        rec.key = key
        rec.value_schema = value_schema
        rec.value = value
        rec.timestamp = timestamp
        rec.source_partition = partition
        rec.source_offset = offset
        PyObject_GC_UnTrack(<PyObject*>rec)  # see _event_struct
        return rec

    def row(self, texts):
        """The value struct of a row given as texts in table column order (None: NULL; any other non-str
        item: an unchanged TOASTed value)."""
        cdef list items = _texts_list(texts)
        cdef _PgSlots slots = _new_slots()
        slots.fill(items)
        return self._row(slots, items)

    def key(self, texts):
        """The key struct of a row given as texts, or None for a table without a primary key."""
        if self.key_schema is None:
            return None
        cdef list items = _texts_list(texts)
        cdef _PgSlots slots = _new_slots()
        slots.fill(items)
        return _event_struct(self.key_schema, self._key_values(None, slots, items))

    def snapshot_records(self, rows, partition, lsn, txid, long long now_us, first_marker, last_marker,
                         bint last):
        """The read (``op=r``) events of snapshot ``rows`` (texts in table column order).

        The first row's `source.snapshot` is ``first_marker``, the last row's ``last_marker`` (for a single
        row: ``first_marker``), the others ``"true"``; ``last`` marks the last row as the snapshot's last
        record in its offset.
        """
        cdef list records = []
        cdef list items, row_values
        cdef _PgSlots slots = _new_slots()
        cdef Py_ssize_t i, n = len(rows)
        cdef tuple now = (now_us // 1000, now_us, <object>now_us * 1000)
        sequence = f'[null,"{lsn}"]'
        timestamp = now[0]
        for i in range(n):
            items = _texts_list(rows[i])
            slots.fill(items)
            row_values = self._row_values(slots, items)
            after = _event_struct(self.value_schema, row_values)
            key = None
            if self.key_schema is not None:
                key = _event_struct(self.key_schema, self._key_values(row_values, slots, items))
            marker = first_marker if i == 0 else last_marker if i == n - 1 else "true"
            source = self._source(now[0], marker, sequence, now[1], now[2], txid, lsn)
            offset = {"last_snapshot_record": last and i == n - 1, "lsn": lsn, "txId": txid,
                      "ts_usec": now[1], "snapshot": "INITIAL", "snapshot_completed": False}
            records.append(self._record(partition, offset, self.key_schema, key, self.envelope_schema,
                                        self._envelope(None, after, source, "r", now), timestamp))
        return records


# --------------------------------------------------------------------------------------- PgoutputDecoder


@cython.final
cdef class PgoutputDecoder:
    """The state of one logical replication stream (pgoutput, protocol version 1) and its event building.

    ``read`` and ``decode`` turn a batch of messages (objects with ``payload`` and ``data_start``, as
    psycopg2's ``ReplicationMessage``) into SourceRecords in stream order: Debezium's create, update,
    delete (followed by a tombstone when ``tombstones``), and truncate events, with the source partition
    ``partition`` and Debezium's streaming offsets. A relation message calls ``on_relation(payload)``, which
    returns the table's PgTable, or None for a table that is not captured; changes of unknown tables are
    skipped. ``skip`` (``(txId, lsn_proc, events at lsn_proc)``, from a resumed offset) skips the events of
    an interrupted transaction that were already emitted.

    Not thread-safe: the task's thread uses it.
    """

    def __init__(self, partition, on_relation, bint tombstones=True, skipped_operations=()):
        _load()
        self.partition = partition
        self.on_relation = on_relation
        self.tombstones = tombstones
        self.skip_ops = frozenset(skipped_operations)
        self.skip_c = "c" in self.skip_ops
        self.skip_u = "u" in self.skip_ops
        self.skip_d = "d" in self.skip_ops
        self.skip_t = "t" in self.skip_ops
        self.tables = {}
        self.old_slots = _new_slots()
        self.new_slots = _new_slots()
        self.cached_relid = -1
        self.transaction_id = None
        self.commit_time_us = 0
        self.commit_ms = 0
        self.commit_ns = 0
        self.last_commit_lsn = None
        self.has_seen = False
        self.lsn_count = 0
        self.skip = None
        self.offset = None
        self.drained = False
        self.now = (0, 0, 0)

    def table(self, relation_id):
        """The PgTable of a relation id, or None (unknown or not captured)."""
        return self.tables.get(relation_id)

    # -- batches

    def read(self, read_message, Py_ssize_t max_records, Py_ssize_t max_messages, long long now_us):
        """Events of the messages ``read_message()`` returns, until it returns None, ``max_records`` events
        are built or ``max_messages`` messages are read. ``now_us`` is the events' ``ts_us``."""
        cdef list records = []
        cdef Py_ssize_t seen = 0
        self._set_now(now_us)
        self.drained = False
        while len(records) < max_records and seen < max_messages:
            msg = read_message()
            if msg is None:
                self.drained = True
                break
            seen += 1
            self._message(msg.payload, msg.data_start, records)
        return records

    def decode(self, messages, long long now_us):
        """Events of a list of messages (see ``read``)."""
        cdef list records = []
        self._set_now(now_us)
        for msg in messages:
            self._message(msg.payload, msg.data_start, records)
        return records

    cdef int _set_now(self, long long now_us) except -1:
        self.now = (now_us // 1000, now_us, <object>now_us * 1000)
        return 0

    cdef int _message(self, object payload, object lsn, list records) except -1:
        if type(payload) is not bytes:
            raise TypeError(f"pgoutput payloads are bytes, not {type(payload).__name__}")
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(payload)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
        cdef unsigned char kind
        cdef long long commit_time
        if n == 0:
            raise _DataError("pgoutput: empty message")
        kind = p[0]
        if kind == b'I' or kind == b'U' or kind == b'D':
            return self._change(<bytes>payload, p, n, lsn, records)
        if kind == b'B':
            _need(1, 20, n)
            commit_time = <long long>_u64(p + 9) + _PG_EPOCH_OFFSET_US
            self.transaction_id = _u32(p + 17)
            self.commit_time_us = commit_time
            self.commit_ms = commit_time // 1000
            self.commit_ns = <object>commit_time * 1000
            self.has_seen = False
            self.lsn_count = 0
        elif kind == b'C':
            _need(1, 25, n)
            self.last_commit_lsn = lsn
            self.offset = {"lsn_proc": lsn, "messageType": "COMMIT", "lsn_commit": lsn, "lsn": lsn,
                           "txId": self.transaction_id, "ts_usec": self.commit_time_us}
            skip = self.skip
            if skip is not None and self.transaction_id is not None and self.transaction_id == skip[0]:
                self.skip = None
        elif kind == b'R':
            _need(1, 4, n)
            table = self.on_relation(payload)
            if table is not None and type(table) is not PgTable:
                raise TypeError(f"on_relation returned {type(table).__name__}, not PgTable or None")
            self.tables[_u32(p + 1)] = table
            self.cached_relid = -1
        elif kind == b'T':
            self._truncate(p, n, lsn, records)
        elif kind != b'Y' and kind != b'O' and kind != b'M':
            raise _DataError(f"pgoutput: unknown message kind {chr(kind)!r}")
        return 0

    cdef PgTable _table(self, uint32_t relid):
        # Changes come in runs of one table: remember the last lookup.
        if relid != self.cached_relid:
            self.cached_table = self.tables.get(relid)
            self.cached_relid = relid
        return self.cached_table

    cdef object _offset(self, object lsn, unsigned long long lsn_c, str message_type):
        if self.has_seen and lsn_c == self.lsn_seen:
            self.lsn_count += 1
        else:
            self.has_seen = True
            self.lsn_seen = lsn_c
            self.lsn_count = 1
        if self.last_commit_lsn is None:
            return {"lsn_proc": lsn, "messageType": message_type, "lsn_events_processed": self.lsn_count,
                    "lsn": lsn, "txId": self.transaction_id, "ts_usec": self.commit_time_us}
        return {"lsn_proc": lsn, "messageType": message_type, "lsn_events_processed": self.lsn_count,
                "lsn_commit": self.last_commit_lsn, "lsn": lsn, "txId": self.transaction_id,
                "ts_usec": self.commit_time_us}

    cdef bint _skipped(self, object lsn) except -1:
        # Whether a change was emitted before the restart (the transaction resumed in the middle).
        skip = self.skip
        if skip is None or self.transaction_id is None or self.transaction_id != skip[0]:
            return False
        if lsn < skip[1]:
            return True
        return lsn == skip[1] and self.lsn_count <= skip[2]

    cdef object _source(self, PgTable table, object lsn, unsigned long long lsn_c):
        if self.last_commit_lsn is None:
            sequence = f'[null,"{lsn_c}"]'
        else:
            sequence = f'["{self.last_commit_lsn}","{lsn_c}"]'
        return table._source(self.commit_ms, None, sequence, self.commit_time_us, self.commit_ns,
                             self.transaction_id, lsn)

    cdef int _emit(self, list records, PgTable table, object offset, object key, object envelope) except -1:
        records.append(table._record(self.partition, offset, table.key_schema, key, table.envelope_schema,
                                     envelope, self.commit_ms))
        self.offset = offset
        return 0

    cdef int _change(self, bytes payload, const unsigned char* p, Py_ssize_t n, object lsn,
                     list records) except -1:
        cdef unsigned char kind = p[0], marker
        cdef unsigned long long lsn_c = lsn
        cdef PgTable table
        cdef Py_ssize_t pos
        cdef list after_values, before_values, key_values, old_key_values
        cdef str op
        _need(1, 5, n)
        table = self._table(_u32(p + 1))
        if table is None:
            return 0
        marker = p[5]
        op = "c" if kind == b'I' else "u" if kind == b'U' else "d"
        offset = self._offset(lsn, lsn_c, "INSERT" if op == "c" else "UPDATE" if op == "u" else "DELETE")
        if self.skip is not None and self._skipped(lsn):
            return 0
        if (self.skip_c and kind == b'I') or (self.skip_u and kind == b'U') or (self.skip_d and kind == b'D'):
            return 0
        source = self._source(table, lsn, lsn_c)
        now = self.now
        if kind == b'I':
            if marker != b'N':
                raise _DataError(f"pgoutput: unexpected tuple marker {chr(marker)!r}")
            self.new_slots.scan(p, n, 6)
            after_values = table._row_values(self.new_slots, None)
            after = _event_struct(table.value_schema, after_values)
            key = None
            if table.key_schema is not None:
                key = _event_struct(table.key_schema, table._key_values(after_values, self.new_slots, None))
            return self._emit(records, table, offset, key, table._envelope(None, after, source, op, now))
        if kind == b'D':
            if marker != b'K' and marker != b'O':
                raise _DataError(f"pgoutput: unexpected tuple marker {chr(marker)!r}")
            self.old_slots.scan(p, n, 6)
            before_values = table._row_values(self.old_slots, None)
            before = _event_struct(table.value_schema, before_values)
            key = None
            if table.key_schema is not None:
                key = _event_struct(table.key_schema, table._key_values(before_values, self.old_slots, None))
            self._emit(records, table, offset, key, table._envelope(before, None, source, op, now))
            if self.tombstones:
                records.append(table._record(self.partition, offset, table.key_schema, key, None, None,
                                             self.commit_ms))
            return 0
        # An update: the old row ('K' key columns, 'O' whole row) if the server sent it, then the new row.
        pos = 6
        has_old = marker == b'K' or marker == b'O'
        if has_old:
            pos = self.old_slots.scan(p, n, 6)
            _need(pos, 1, n)
            marker = p[pos]
            pos += 1
        if marker != b'N':
            raise _DataError(f"pgoutput: unexpected tuple marker {chr(marker)!r}")
        self.new_slots.scan(p, n, pos)
        after_values = table._row_values(self.new_slots, None)
        after = _event_struct(table.value_schema, after_values)
        key = None
        key_values = None
        if table.key_schema is not None:
            key_values = table._key_values(after_values, self.new_slots, None)
            key = _event_struct(table.key_schema, key_values)
        before = None
        if has_old and p[5] == b'O':
            before = table._row(self.old_slots, None)
        if has_old and key_values is not None:
            old_key_values = table._key_values(None, self.old_slots, None)
            if old_key_values != key_values:
                # The primary key changed: a delete of the old key, its tombstone, then a create.
                old_key = _event_struct(table.key_schema, old_key_values)
                if before is None:
                    before = table._row(self.old_slots, None)
                self._emit(records, table, offset, old_key, table._envelope(before, None, source, "d", now))
                if self.tombstones:
                    records.append(table._record(self.partition, offset, table.key_schema, old_key, None,
                                                 None, self.commit_ms))
                return self._emit(records, table, offset, key, table._envelope(None, after, source, "c", now))
        return self._emit(records, table, offset, key, table._envelope(before, after, source, op, now))

    cdef int _truncate(self, const unsigned char* p, Py_ssize_t n, object lsn, list records) except -1:
        cdef Py_ssize_t i, count
        cdef unsigned long long lsn_c = lsn
        cdef PgTable table
        _need(1, 5, n)
        count = _u32(p + 1)
        _need(6, 4 * count, n)
        for i in range(count):
            table = self.tables.get(_u32(p + 6 + 4 * i))
            if table is None:
                continue
            offset = self._offset(lsn, lsn_c, "TRUNCATE")
            if self.skip_t or (self.skip is not None and self._skipped(lsn)):
                continue
            source = self._source(table, lsn, lsn_c)
            records.append(table._record(self.partition, offset, None, None, table.envelope_schema,
                                         table._envelope(None, None, source, "t", self.now), self.commit_ms))
            self.offset = offset
        return 0
