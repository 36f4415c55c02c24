# The compiled JSON paths: plans that mirror kcfast.converters._jsonvalue's walks node by node, a direct
# parser for payloads in their plain form, and the checks that decide when orjson's result can be trusted.
# Included by _core.pyx; the classes are declared in _core.pxd.


cdef inline bint _is_digit(char c) noexcept:
    return b'0' <= c <= b'9'


cdef bint _has_long_number(bytes data) noexcept:
    # Mirrors the converter's check before trusting orjson: a run of 19+ digits may be an integer beyond
    # a signed 64-bit long (orjson reads those as unsigned or float). Runs of exactly 19 digits are
    # compared with 2**63-1 as text; digits inside strings count too, as they do for the converter.
    # Any 19 consecutive bytes hold exactly one index i with i % 19 == 18 (relative to where the search
    # resumes), so probing every 19th byte finds every run that long; a probe that hits a digit measures
    # its run.
    cdef const char* p = PyBytes_AS_STRING(data)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
    cdef Py_ssize_t i = 18, start, end
    while i < n:
        if not _is_digit(p[i]):
            i += 19
            continue
        start = i
        while start > 0 and _is_digit(p[start - 1]):
            start -= 1
        end = i + 1
        while end < n and _is_digit(p[end]):
            end += 1
        if end - start > 19:
            return True
        if end - start == 19 and memcmp(p + start, PyBytes_AS_STRING(_LONG_MAX_DIGITS), 19) > 0:
            return True
        i = end + 19
    return False


# ------------------------------------------------------------------------------------------ Decimal values
#
# The Decimal logical type (kcfast.data.Decimal) as the converter writes it: base64 of the unscaled value's
# minimal big-endian two's complement (``decimal.format=BASE64``), or BigDecimal.toString text as a JSON
# number (``NUMERIC``). The fast paths below take the plain forms only: a ``decimal.Decimal`` whose str() is
# ``-?digits[.digits]`` (exponent <= 0 and adjusted exponent >= -6, so the digits after the point are
# exactly its scale), canonical base64, and numbers _parse_number accepts. Everything else (a scale that
# differs from the schema's, NaN, exponents, subclasses, non-canonical base64, empty bytes) goes through
# the converter's walk, which gives the result or the DataError.

from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.object cimport PyObject_Str

cdef extern from "Python.h":
    const char* _kc_utf8_and_size "PyUnicode_AsUTF8AndSize"(object text, Py_ssize_t* size) except NULL
    object _kc_unicode_new "PyUnicode_New"(Py_ssize_t size, Py_UCS4 maxchar)
    void* _kc_unicode_data "PyUnicode_DATA"(object text)
    object _kc_unicode_format "PyUnicode_FromFormat"(const char* fmt, ...)
    object _kc_decode_ascii "PyUnicode_DecodeASCII"(const char* s, Py_ssize_t size, const char* errors)

# Scales of the fast paths: Decimal("<unscaled>E<-scale>") is exact for these (Python's own limits are far
# wider; a schema beyond them just goes through the converter).
cdef int64_t _DECIMAL_MAX_SCALE = 1000000
# Unscaled values of up to this many digits are built through int() of the digit text (CPython refuses
# int/str conversions past 4300 digits).
cdef Py_ssize_t _DECIMAL_MAX_DIGITS = 4000

cdef const char* _B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
cdef signed char _B64_VALUES[256]
cdef bint _decimal_loaded = False
cdef object _DecimalClass = None        # decimal.Decimal
cdef object _decimal_scale = None       # kcfast.data.Decimal.scale
cdef object _json_fragment = None       # orjson.Fragment
cdef str _DECIMAL_LOGICAL_NAME = None


cdef int _load_decimal() except -1:
    global _decimal_loaded, _DecimalClass, _decimal_scale, _json_fragment, _DECIMAL_LOGICAL_NAME
    cdef int i
    if _decimal_loaded:
        return 0
    from decimal import Decimal as PyDecimal
    from kcfast.data import Decimal as ConnectDecimal
    from kcfast.data.struct import DECIMAL_NAME
    import orjson

    for i in range(256):
        _B64_VALUES[i] = -1
    for i in range(64):
        _B64_VALUES[<unsigned char>_B64_ALPHABET[i]] = i
    _DecimalClass = PyDecimal
    _decimal_scale = ConnectDecimal.scale
    _json_fragment = orjson.Fragment
    _DECIMAL_LOGICAL_NAME = DECIMAL_NAME
    _decimal_loaded = True
    return 0


cdef int _plan_decimal(_JsonNode node, object schema) except -1:
    # Makes `node` a Decimal node when the schema's scale parameter is one the fast paths take.
    _load_decimal()
    if schema._name != _DECIMAL_LOGICAL_NAME:
        return 0
    try:
        scale = _decimal_scale(schema)
    except Exception:  # no or a bad scale parameter: the converter's walk reports it
        return 0
    if type(scale) is not int or not -_DECIMAL_MAX_SCALE <= scale <= _DECIMAL_MAX_SCALE:
        return 0
    node.kind = NODE_DECIMAL
    node.low = scale
    return 0


cdef object _base64_text(const unsigned char* data, Py_ssize_t size):
    # Standard base64 with padding, as an ASCII str (base64.b64encode(data).decode("ascii")).
    cdef Py_ssize_t out_size = (size + 2) // 3 * 4
    cdef object text = _kc_unicode_new(out_size, 127)
    cdef unsigned char* out = <unsigned char*>_kc_unicode_data(text)
    cdef Py_ssize_t i = 0, j = 0
    cdef unsigned int triple
    while i + 3 <= size:
        triple = (<unsigned int>data[i] << 16) | (<unsigned int>data[i + 1] << 8) | data[i + 2]
        out[j] = _B64_ALPHABET[(triple >> 18) & 63]
        out[j + 1] = _B64_ALPHABET[(triple >> 12) & 63]
        out[j + 2] = _B64_ALPHABET[(triple >> 6) & 63]
        out[j + 3] = _B64_ALPHABET[triple & 63]
        i += 3
        j += 4
    if size - i == 1:
        triple = <unsigned int>data[i] << 16
        out[j] = _B64_ALPHABET[(triple >> 18) & 63]
        out[j + 1] = _B64_ALPHABET[(triple >> 12) & 63]
        out[j + 2] = b'='
        out[j + 3] = b'='
    elif size - i == 2:
        triple = (<unsigned int>data[i] << 16) | (<unsigned int>data[i + 1] << 8)
        out[j] = _B64_ALPHABET[(triple >> 18) & 63]
        out[j + 1] = _B64_ALPHABET[(triple >> 12) & 63]
        out[j + 2] = _B64_ALPHABET[(triple >> 6) & 63]
        out[j + 3] = b'='
    return text


cdef object _decimal_to_json(object value, int64_t scale, bint numeric):
    # The converter's JSON for a Decimal value (``_lw_decimal``) when `value` is in plain form; raises
    # _Fallback otherwise.
    cdef Py_ssize_t n, i, start, point = -1, digits = 0
    cdef const char* p
    cdef bint negative, zero = True
    cdef unsigned long long magnitude = 0
    cdef long long unscaled
    cdef unsigned long long rest
    cdef unsigned char raw[8]
    cdef int size
    if type(value) is not _DecimalClass:
        raise _Fallback()
    text = PyObject_Str(value)
    p = _kc_utf8_and_size(text, &n)
    negative = n > 0 and p[0] == b'-'
    start = 1 if negative else 0
    for i in range(start, n):
        if _is_digit(p[i]):
            if p[i] != b'0':
                zero = False
            if digits < 18:
                magnitude = magnitude * 10 + <unsigned long long>(p[i] - c'0')
            digits += 1
        elif p[i] == b'.' and point < 0:
            point = i
        else:
            raise _Fallback()  # NaN, Infinity, or an exponent
    if digits == 0 or (point >= 0 and point == n - 1):
        raise _Fallback()
    if numeric:
        # BigDecimal.toString is str() for the plain form; Java has no negative zero.
        if negative and zero:
            raise _Fallback()
        return _json_fragment(PyUnicode_AsEncodedString(text, "ascii", NULL))
    if (n - point - 1 if point >= 0 else 0) != scale:
        raise _Fallback()  # the converter raises the mismatching-scale DataError
    if digits <= 18:
        # Fewest bytes of the two's complement: the value's bit length (of ~v for a negative one) + a sign bit.
        unscaled = -<long long>magnitude if negative else <long long>magnitude
        rest = <unsigned long long>(~unscaled if unscaled < 0 else unscaled)
        size = 1
        while rest >= 128:
            rest >>= 8
            size += 1
        for i in range(size):
            raw[size - 1 - i] = <unsigned char>((<unsigned long long>unscaled >> (8 * i)) & 0xFF)
        return _base64_text(raw, size)
    if digits > _DECIMAL_MAX_DIGITS:
        raise _Fallback()
    number = int(text.replace(".", "")) if point >= 0 else int(text)
    bits = (~number if negative else number).bit_length()
    data = number.to_bytes(bits // 8 + 1, "big", signed=True)
    return _base64_text(<const unsigned char*>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))


cdef object _decimal_from_base64(const char* p, Py_ssize_t n, int64_t scale):
    # The converter's Decimal of the base64 text p[0:n] (``_lr_decimal``) when it is canonical base64 of
    # at least one byte; raises _Fallback otherwise.
    cdef Py_ssize_t i, pad = 0, size, j = 0
    cdef int a, b, c, d
    cdef unsigned char small[8]
    cdef unsigned char* out = small
    cdef long long unscaled = 0
    if n == 0 or n % 4 != 0:
        raise _Fallback()
    if p[n - 1] == b'=':
        pad = 2 if p[n - 2] == b'=' else 1
    size = n // 4 * 3 - pad
    data = None
    if size > 8:
        data = PyBytes_FromStringAndSize(NULL, size)
        out = <unsigned char*>PyBytes_AS_STRING(data)
    i = 0
    while i < n:
        a = _B64_VALUES[<unsigned char>p[i]]
        b = _B64_VALUES[<unsigned char>p[i + 1]]
        if a < 0 or b < 0:
            raise _Fallback()
        if i + 4 == n and pad:
            if pad == 2:
                if b & 15:
                    raise _Fallback()  # non-canonical trailing bits
                out[j] = <unsigned char>((a << 2) | (b >> 4))
                j += 1
            else:
                c = _B64_VALUES[<unsigned char>p[i + 2]]
                if c < 0 or c & 3:
                    raise _Fallback()
                out[j] = <unsigned char>((a << 2) | (b >> 4))
                out[j + 1] = <unsigned char>(((b & 15) << 4) | (c >> 2))
                j += 2
            break
        c = _B64_VALUES[<unsigned char>p[i + 2]]
        d = _B64_VALUES[<unsigned char>p[i + 3]]
        if c < 0 or d < 0:
            raise _Fallback()
        out[j] = <unsigned char>((a << 2) | (b >> 4))
        out[j + 1] = <unsigned char>(((b & 15) << 4) | (c >> 2))
        out[j + 2] = <unsigned char>(((c & 3) << 6) | d)
        j += 3
        i += 4
    if size > 8:
        if size > _DECIMAL_MAX_DIGITS * 2 // 5:  # more digits than int -> str takes
            raise _Fallback()
        number = int.from_bytes(data, "big", signed=True)
        return _DecimalClass(_kc_unicode_format("%SE%lld", <PyObject*>number, <long long>-scale))
    unscaled = -1 if small[0] & 0x80 else 0
    for i in range(size):
        unscaled = <long long>((<unsigned long long>unscaled << 8) | small[i])
    return _DecimalClass(_kc_unicode_format("%lldE%lld", unscaled, <long long>-scale))


cdef object _decimal_from_json(_JsonNode node, object obj, bint replace):
    # read() of a Decimal node: base64 text, or a NUMERIC integer (orjson's floats need the exact parse).
    cdef const char* p
    cdef Py_ssize_t n
    t = type(obj)
    if t is str:
        p = _kc_utf8_and_size(obj, &n)
        try:
            return _decimal_from_base64(p, n, node.low)
        except _Fallback:
            pass
    elif t is int:
        return _DecimalClass(obj)
    elif t is _DecimalClass:
        return obj
    try:
        return _from_json(node.schema, obj, replace)
    except Exception:
        raise _Fallback()


cdef object _decimal_parse(_JsonNode node, _Cursor* c):
    # parse() of a Decimal node at the cursor (not null): a base64 string, or a NUMERIC number read as
    # the exact parser reads it (Decimal of its text).
    cdef Py_ssize_t end, start = c.i
    cdef long long number = 0
    cdef double x = 0.0
    cdef object value
    if c.p[c.i] == b'"':
        end = _string_end(c)
        value = _decimal_from_base64(c.p + c.i + 1, end - c.i - 1, node.low)
        c.i = end + 1
        return value
    _parse_number(c, &number, &x)
    return _DecimalClass(_kc_decode_ascii(c.p + start, c.i - start, NULL))


# ------------------------------------------------------------------------------------------ JSON plans


cdef _JsonNode _plan(object schema):
    cdef _JsonNode node = _JsonNode.__new__(_JsonNode)
    cdef list names, fields
    node.kind = NODE_DELEGATE
    node.schema = schema
    if schema is None:
        node.optional = True
        node.default = None
        return node
    node.optional = schema._optional
    node.default = schema._default
    if schema._name is not None and schema._name in _LOGICAL_NAMES:
        _plan_decimal(node, schema)
        node.direct = node.kind == NODE_DECIMAL
        return node
    t = schema._type
    if t is _TYPE_INT8:
        node.kind, node.low, node.high = NODE_INT, -(1 << 7), (1 << 7) - 1
    elif t is _TYPE_INT16:
        node.kind, node.low, node.high = NODE_INT, -(1 << 15), (1 << 15) - 1
    elif t is _TYPE_INT32:
        node.kind, node.low, node.high = NODE_INT, -(1 << 31), (1 << 31) - 1
    elif t is _TYPE_INT64:
        node.kind, node.low, node.high = NODE_INT, INT64_MIN, INT64_MAX
    elif t is _TYPE_FLOAT64:
        node.kind = NODE_FLOAT64
    elif t is _TYPE_BOOLEAN:
        node.kind = NODE_BOOLEAN
    elif t is _TYPE_STRING:
        node.kind = NODE_STRING
    elif t is _TYPE_ARRAY and schema._value_schema is not None:
        node.kind = NODE_ARRAY
        node.item = _plan(schema._value_schema)
    elif (t is _TYPE_MAP and schema._key_schema is not None and schema._key_schema._type is _TYPE_STRING
          and schema._value_schema is not None):
        node.kind = NODE_MAP_STR
        node.item = _plan(schema._value_schema)
    elif t is _TYPE_STRUCT:
        node.kind = NODE_STRUCT
        names = []
        fields = []
        for field in schema._fields or ():
            names.append(field._name)
            fields.append(_plan(field._schema))
        node.names = tuple(names)
        node.fields = tuple(fields)
        try:
            node.names_utf8 = tuple([(<str>name).encode("utf-8") for name in names])
        except (UnicodeEncodeError, TypeError):  # a field name no JSON text can spell as raw UTF-8
            node.names_utf8 = None
    node.direct = _is_direct(node)
    return node


cdef bint _is_direct(_JsonNode node) except -1:
    cdef _JsonNode child
    if node.kind == NODE_DELEGATE:
        return False
    if node.kind == NODE_DECIMAL:
        return True
    if node.kind == NODE_ARRAY or node.kind == NODE_MAP_STR:
        return node.item.direct
    if node.kind == NODE_STRUCT:
        if node.names_utf8 is None:
            return False
        for child in node.fields:
            if not child.direct:
                return False
    return True


cdef object _MISSING = object()


cdef inline void _skip_ws(_Cursor* c) noexcept:
    cdef char ch
    while c.i < c.n:
        ch = c.p[c.i]
        if ch != b' ' and ch != b'\n' and ch != b'\r' and ch != b'\t':
            return
        c.i += 1


cdef int _expect(_Cursor* c, const char* word, Py_ssize_t size) except -1:
    if c.i + size > c.n or memcmp(c.p + c.i, word, size) != 0:
        raise _Fallback()
    c.i += size
    return 0


cdef int _expect_colon(_Cursor* c) except -1:
    _skip_ws(c)
    if c.i >= c.n or c.p[c.i] != b':':
        raise _Fallback()
    c.i += 1
    return 0


cdef bint _end_of_container(_Cursor* c, char close) except -1:
    # After a value: a comma (more to come, False) or the closing bracket (True).
    _skip_ws(c)
    if c.i < c.n:
        if c.p[c.i] == b',':
            c.i += 1
            return False
        if c.p[c.i] == close:
            c.i += 1
            return True
    raise _Fallback()


cdef Py_ssize_t _string_end(_Cursor* c) except -1:
    # Index of the closing quote of the plain string starting at c.i (a quote); escapes and control
    # characters are left to orjson.
    cdef Py_ssize_t j = c.i + 1
    cdef unsigned char ch
    while j < c.n:
        ch = <unsigned char>c.p[j]
        if ch == b'"':
            return j
        if ch == b'\\' or ch < 0x20:
            raise _Fallback()
        j += 1
    raise _Fallback()


cdef str _parse_string(_Cursor* c):
    cdef Py_ssize_t end = _string_end(c)
    try:
        text = PyUnicode_DecodeUTF8(c.p + c.i + 1, end - c.i - 1, NULL)
    except UnicodeDecodeError:
        raise _Fallback()
    c.i = end + 1
    return text


cdef Py_ssize_t _parse_field_name(_Cursor* c, tuple names, Py_ssize_t expected) except -1:
    # The index of the struct field named by the key at the cursor (then past its colon). Fields usually
    # come in schema order, so the expected one is tried first.
    cdef Py_ssize_t end, size, i, n = len(names)
    cdef bytes name
    _skip_ws(c)
    if c.i >= c.n or c.p[c.i] != b'"':
        raise _Fallback()
    end = _string_end(c)
    size = end - c.i - 1
    if expected < n:
        name = <bytes>names[expected]
        if PyBytes_GET_SIZE(name) == size and memcmp(PyBytes_AS_STRING(name), c.p + c.i + 1, size) == 0:
            c.i = end + 1
            _expect_colon(c)
            return expected
    for i in range(n):
        name = <bytes>names[i]
        if PyBytes_GET_SIZE(name) == size and memcmp(PyBytes_AS_STRING(name), c.p + c.i + 1, size) == 0:
            c.i = end + 1
            _expect_colon(c)
            return i
    raise _Fallback()  # a key the schema does not have: orjson's dict and read() ignore it


cdef int _parse_number(_Cursor* c, long long* integer, double* real) except -1:
    # A JSON number at the cursor: 1 (an integer of at most 18 digits, in *integer) or 2 (a finite float,
    # in *real, correctly rounded like orjson's). Other forms (leading zeros, -0, long integers,
    # infinities, missing digits) raise _Fallback.
    cdef const char* p = c.p
    cdef Py_ssize_t j = c.i, digits = 0
    cdef bint negative = False, is_float = False
    cdef unsigned long long value = 0
    cdef char* end = NULL
    if j < c.n and p[j] == b'-':
        negative = True
        j += 1
    if j >= c.n or not _is_digit(p[j]):
        raise _Fallback()
    if p[j] == b'0' and j + 1 < c.n and _is_digit(p[j + 1]):
        raise _Fallback()
    while j < c.n and _is_digit(p[j]):
        if digits < 19:
            value = value * 10 + <unsigned long long>(p[j] - c'0')
        digits += 1
        j += 1
    if j < c.n and p[j] == b'.':
        is_float = True
        j += 1
        if j >= c.n or not _is_digit(p[j]):
            raise _Fallback()
        while j < c.n and _is_digit(p[j]):
            j += 1
    if j < c.n and (p[j] == b'e' or p[j] == b'E'):
        is_float = True
        j += 1
        if j < c.n and (p[j] == b'+' or p[j] == b'-'):
            j += 1
        if j >= c.n or not _is_digit(p[j]):
            raise _Fallback()
        while j < c.n and _is_digit(p[j]):
            j += 1
    if not is_float:
        if digits > 18 or (negative and value == 0):
            raise _Fallback()
        integer[0] = -<long long>value if negative else <long long>value
        c.i = j
        return 1
    real[0] = PyOS_string_to_double(p + c.i, &end, NULL)
    if end != p + j or not isfinite(real[0]):
        raise _Fallback()
    c.i = j
    return 2


@cython.final
cdef class _JsonNode:

    cdef object null(self, bint replace):
        # from_json of a JSON null (or a missing struct field) for this node's schema.
        if self.default is not None and replace:
            return self.default
        if self.optional:
            return None
        raise _Fallback()

    cdef object parse(self, _Cursor* c, bint replace):
        # read() of the JSON value at the cursor, parsed straight from the text (no intermediate dicts).
        # Handles the plain forms only (strings without escapes, integers of up to 18 digits, finite
        # floats, known struct fields); anything else raises _Fallback and the whole payload is read by
        # orjson and read() instead, so the result is always what that path gives.
        cdef long long number = 0
        cdef double x = 0.0
        cdef int token
        cdef Py_ssize_t i, n
        cdef list values
        cdef list items
        cdef dict mapping
        cdef _JsonNode child
        cdef char ch
        _skip_ws(c)
        if c.i >= c.n:
            raise _Fallback()
        ch = c.p[c.i]
        if ch == b'n':
            _expect(c, b"null", 4)
            return self.null(replace)
        if self.kind == NODE_STRING:
            if ch == b'"':
                return _parse_string(c)
        elif self.kind == NODE_INT:
            token = _parse_number(c, &number, &x)
            if token == 1 and self.low <= number <= self.high:
                return number
        elif self.kind == NODE_STRUCT:
            if ch == b'{':
                c.i += 1
                n = len(self.fields)
                values = [_MISSING] * n
                _skip_ws(c)
                if c.i < c.n and c.p[c.i] == b'}':
                    c.i += 1
                else:
                    i = 0
                    while True:
                        i = _parse_field_name(c, self.names_utf8, i)
                        child = <_JsonNode>self.fields[i]
                        values[i] = child.parse(c, replace)
                        i += 1
                        if _end_of_container(c, b'}'):
                            break
                for i in range(n):
                    if values[i] is _MISSING:
                        values[i] = (<_JsonNode>self.fields[i]).null(replace)
                return _new_struct(self.schema, values)
        elif self.kind == NODE_FLOAT64:
            token = _parse_number(c, &number, &x)
            if token == 1:
                return <double>number
            return x
        elif self.kind == NODE_BOOLEAN:
            if ch == b't':
                _expect(c, b"true", 4)
                return True
            if ch == b'f':
                _expect(c, b"false", 5)
                return False
        elif self.kind == NODE_ARRAY:
            if ch == b'[':
                c.i += 1
                child = self.item
                items = []
                _skip_ws(c)
                if c.i < c.n and c.p[c.i] == b']':
                    c.i += 1
                    return items
                while True:
                    items.append(child.parse(c, replace))
                    if _end_of_container(c, b']'):
                        return items
        elif self.kind == NODE_DECIMAL:
            return _decimal_parse(self, c)
        elif self.kind == NODE_MAP_STR:
            if ch == b'{':
                c.i += 1
                child = self.item
                mapping = {}
                _skip_ws(c)
                if c.i < c.n and c.p[c.i] == b'}':
                    c.i += 1
                    return mapping
                while True:
                    _skip_ws(c)
                    if c.i >= c.n or c.p[c.i] != b'"':
                        raise _Fallback()
                    key = _parse_string(c)
                    _expect_colon(c)
                    mapping[key] = child.parse(c, replace)
                    if _end_of_container(c, b'}'):
                        return mapping
        raise _Fallback()

    cdef object read(self, object obj, bint replace):
        # kcfast.converters._jsonvalue.from_json for this node's schema.
        cdef long long number
        cdef int overflow = 0
        cdef Py_ssize_t i, n
        cdef list values
        cdef PyObject* item
        cdef _JsonNode child
        if obj is None:
            return self.null(replace)
        if self.kind == NODE_STRING:
            if type(obj) is str:
                return obj
        elif self.kind == NODE_INT:
            if type(obj) is int:
                number = PyLong_AsLongLongAndOverflow(obj, &overflow)
                if not overflow and self.low <= number <= self.high:
                    return obj
        elif self.kind == NODE_STRUCT:
            if type(obj) is dict:
                n = len(self.fields)
                values = [None] * n
                for i in range(n):
                    child = <_JsonNode>self.fields[i]
                    item = PyDict_GetItem(obj, self.names[i])
                    values[i] = child.read(<object>item if item is not NULL else None, replace)
                return _new_struct(self.schema, values)
        elif self.kind == NODE_FLOAT64:
            if type(obj) is float:
                return obj
            if type(obj) is int:
                return float(obj)
        elif self.kind == NODE_BOOLEAN:
            if type(obj) is bool:
                return obj
        elif self.kind == NODE_ARRAY:
            if type(obj) is list:
                child = self.item
                return [child.read(x, replace) for x in <list>obj]
        elif self.kind == NODE_MAP_STR:
            if type(obj) is dict:
                child = self.item
                return {k: child.read(v, replace) for k, v in (<dict>obj).items()}
        elif self.kind == NODE_DECIMAL:
            return _decimal_from_json(self, obj, replace)
        else:
            try:
                return _from_json(self.schema, obj, replace)
            except Exception:
                raise _Fallback()
        raise _Fallback()

    cdef bint _same_schema(self, object schema) except -1:
        # Whether a Struct's schema is this node's: the same object, or one found equal before (schemas
        # are immutable, so an equal one stays equal; structs built from a copy of the schema stay fast).
        if schema is self.schema or schema is self.alias:
            return True
        if schema == self.schema:
            self.alias = schema
            return True
        return False

    cdef object write(self, object value, bint numeric, bint replace):
        # kcfast.converters._jsonvalue.to_json for this node's schema: the JSON tree of a Connect value.
        cdef long long number
        cdef int overflow = 0
        cdef double x
        cdef Py_ssize_t i, n
        cdef dict out
        cdef list values
        cdef _JsonNode child
        if value is None:
            if self.default is not None and replace:
                try:
                    return _to_json(self.schema, None, numeric, replace)
                except Exception:
                    raise _Fallback()
            if self.optional:
                return None
            raise _Fallback()
        if self.kind == NODE_STRING:
            if type(value) is str:
                return value
        elif self.kind == NODE_INT:
            if type(value) is int:
                number = PyLong_AsLongLongAndOverflow(value, &overflow)
                if not overflow and self.low <= number <= self.high:
                    return value
        elif self.kind == NODE_STRUCT:
            if type(value) is _Struct and self._same_schema(value._schema):
                values = value._values
                n = len(self.fields)
                if len(values) == n:
                    out = {}
                    for i in range(n):
                        child = <_JsonNode>self.fields[i]
                        out[self.names[i]] = child.write(values[i], numeric, replace)
                    return out
            else:
                try:
                    return _to_json(self.schema, value, numeric, replace)
                except Exception:
                    raise _Fallback()
        elif self.kind == NODE_FLOAT64:
            if type(value) is float:
                x = value
                if x == 0.0 or 1e-3 <= fabs(x) < 1e7:
                    return value
                return _float64_json(value)
        elif self.kind == NODE_BOOLEAN:
            if type(value) is bool:
                return value
        elif self.kind == NODE_ARRAY:
            if type(value) is list or type(value) is tuple:
                child = self.item
                return [child.write(v, numeric, replace) for v in value]
        elif self.kind == NODE_MAP_STR:
            if type(value) is dict:
                child = self.item
                out = {}
                for k, v in (<dict>value).items():
                    if type(k) is not str:
                        raise _Fallback()
                    out[k] = child.write(v, numeric, replace)
                return out
        elif self.kind == NODE_DECIMAL:
            try:
                return _decimal_to_json(value, self.low, numeric)
            except _Fallback:
                pass
            try:
                return _to_json(self.schema, value, numeric, replace)
            except Exception:
                raise _Fallback()
        else:
            try:
                return _to_json(self.schema, value, numeric, replace)
            except Exception:
                raise _Fallback()
        raise _Fallback()


cdef extern from "Python.h":
    # Borrowed-reference forms, for the walk below: it runs no Python code, so nothing it reads can change.
    int _kc_dict_next "PyDict_Next" (PyObject* d, Py_ssize_t* pos, PyObject** key, PyObject** value)
    long long _kc_as_long_long "PyLong_AsLongLongAndOverflow" (PyObject* obj, int* overflow)
    double _kc_float_value "PyFloat_AS_DOUBLE" (PyObject* obj)
    # On a list or a tuple.
    Py_ssize_t _kc_sequence_size "PySequence_Fast_GET_SIZE" (PyObject* obj)
    PyObject* _kc_sequence_item "PySequence_Fast_GET_ITEM" (PyObject* obj, Py_ssize_t i)
    PyTypeObject PyUnicode_Type
    PyTypeObject PyBool_Type
    PyTypeObject PyLong_Type
    PyTypeObject PyFloat_Type
    PyTypeObject PyDict_Type
    PyTypeObject PyList_Type
    PyTypeObject PyTuple_Type
    PyObject* Py_None
    PyTypeObject* Py_TYPE(PyObject* obj)


cdef bint _plain_json(object value, int depth) except -1:
    # Whether schemaless ``value`` is written by the converter exactly as orjson writes it: str, bool,
    # None, 64-bit int, a float in the range Java and orjson print alike, lists, tuples and str-keyed dicts.
    return _plain_json_ptr(<PyObject*>value, depth)


cdef bint _plain_json_ptr(PyObject* value, int depth) noexcept:
    # _plain_json on a borrowed reference: exact types only, so no check runs Python code.
    cdef PyTypeObject* t = Py_TYPE(value)
    cdef int overflow = 0
    cdef double x
    cdef Py_ssize_t pos = 0, i, n
    cdef PyObject* key
    cdef PyObject* item
    if depth > 200:
        return False
    if t is &PyUnicode_Type or t is &PyBool_Type or value is Py_None:
        return True
    if t is &PyLong_Type:
        _kc_as_long_long(value, &overflow)
        return not overflow
    if t is &PyFloat_Type:
        x = _kc_float_value(value)
        return x == 0.0 or 1e-3 <= fabs(x) < 1e7
    if t is &PyDict_Type:
        while _kc_dict_next(value, &pos, &key, &item):
            if Py_TYPE(key) is not &PyUnicode_Type:
                return False
            t = Py_TYPE(item)
            if t is &PyUnicode_Type or t is &PyBool_Type or item is Py_None:
                continue
            if not _plain_json_ptr(item, depth + 1):
                return False
        return True
    if t is &PyList_Type or t is &PyTuple_Type:
        n = _kc_sequence_size(value)
        for i in range(n):
            if not _plain_json_ptr(_kc_sequence_item(value, i), depth + 1):
                return False
        return True
    return False


cdef bint _strict_equal(object a, object b) except -1:
    # == on parsed JSON, but with exact types: true and 1, or 1 and 1.0, are different schema JSON (the
    # converter reads "optional", "version" by type).
    if a is b:
        return True
    t = type(a)
    if t is not type(b):
        return False
    cdef PyObject* other
    if t is dict:
        if len(<dict>a) != len(<dict>b):
            return False
        for k, v in (<dict>a).items():
            other = PyDict_GetItem(b, k)
            if other is NULL or not _strict_equal(v, <object>other):
                return False
        return True
    if t is list:
        if len(<list>a) != len(<list>b):
            return False
        for i in range(len(<list>a)):
            if not _strict_equal((<list>a)[i], (<list>b)[i]):
                return False
        return True
    return a == b
