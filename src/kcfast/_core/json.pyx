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
        else:
            try:
                return _to_json(self.schema, value, numeric, replace)
            except Exception:
                raise _Fallback()
        raise _Fallback()


cdef bint _plain_json(object value, int depth) except -1:
    # Whether schemaless ``value`` is written by the converter exactly as orjson writes it: str, bool,
    # None, 64-bit int, a float in the range Java and orjson print alike, lists, tuples and str-keyed dicts.
    cdef long long number
    cdef int overflow = 0
    cdef double x
    if depth > 200:
        return False
    t = type(value)
    if t is str or t is bool or value is None:
        return True
    if t is int:
        number = PyLong_AsLongLongAndOverflow(value, &overflow)
        return not overflow
    if t is float:
        x = value
        return x == 0.0 or 1e-3 <= fabs(x) < 1e7
    if t is dict:
        for k, v in (<dict>value).items():
            if type(k) is not str or not _plain_json(v, depth + 1):
                return False
        return True
    if t is list or t is tuple:
        for v in value:
            if not _plain_json(v, depth + 1):
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
