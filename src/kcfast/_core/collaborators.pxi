# Collaborators of the compiled paths: kcfast.data and kcfast.converters objects looked up once, and the
# internal _Fallback signal. Included by _core.pyx before the parts that use them.

from libc.string cimport memchr


class _Fallback(Exception):
    """Internal: this value needs the converter's own per-record method."""


# Collaborators from kcfast.data and kcfast.converters, imported on the first batch (they import the core's
# users, and importing the core must stay cheap).
cdef bint _loaded = False
cdef object _ConnectHeadersType = None
cdef object _Schema = None
cdef object _Struct = None
cdef object _struct_from_values = None
cdef object _OPTIONAL_BYTES_SCHEMA = None
cdef object _OPTIONAL_STRING_SCHEMA = None
cdef object _TYPE_INT8 = None, _TYPE_INT16 = None, _TYPE_INT32 = None, _TYPE_INT64 = None
cdef object _TYPE_FLOAT64 = None, _TYPE_BOOLEAN = None, _TYPE_STRING = None, _TYPE_BYTES = None
cdef object _TYPE_ARRAY = None, _TYPE_MAP = None, _TYPE_STRUCT = None
cdef frozenset _LOGICAL_NAMES = frozenset()
cdef object _ByteArrayConverter = None
cdef object _StringConverter = None
cdef object _JsonConverter = None
cdef object _orjson_loads = None
cdef object _orjson_dumps = None
cdef object _jsontext_dumps = None  # kcfast.converters._jsontext.dumps
cdef object _from_json = None
cdef object _to_json = None
cdef object _float64_json = None
cdef object _json_states = None     # WeakKeyDictionary: JsonConverter -> _JsonState
# Byte offsets of Struct's two slots (_schema, _values), when Struct is the plain __slots__ class it is
# expected to be: the compiled reader then fills a new Struct as Struct._from_values would, without a
# Python call per struct. -1: use Struct._from_values.
cdef Py_ssize_t _struct_schema_offset = -1
cdef Py_ssize_t _struct_values_offset = -1

# Kafka's JsonConverter envelope as kcfast (and Kafka) writes it: {"schema":<schema>,"payload":<payload>}.
cdef bytes _PREFIX = b'{"schema":'
cdef bytes _SEPARATOR = b',"payload":'
cdef bytes _SUFFIX = b"}"
cdef Py_ssize_t _PREFIX_LEN = 10
cdef Py_ssize_t _SEPARATOR_LEN = 11
cdef bytes _LONG_MAX_DIGITS = b"9223372036854775807"
# JSON states kept per converter; a converter seeing more distinct value schemas than this starts afresh.
cdef Py_ssize_t _MAX_WRITE_PLANS = 256
# Payloads in a row that the direct JSON parser may hand over to orjson before it stops trying for a
# schema (data full of escapes or unknown fields would otherwise pay for both parsers).
cdef int _MAX_DIRECT_MISSES = 32


cdef int _load() except -1:
    global _loaded, _ConnectHeadersType, _Schema, _Struct, _struct_from_values
    global _OPTIONAL_BYTES_SCHEMA, _OPTIONAL_STRING_SCHEMA, _LOGICAL_NAMES
    global _TYPE_INT8, _TYPE_INT16, _TYPE_INT32, _TYPE_INT64, _TYPE_FLOAT64, _TYPE_BOOLEAN, _TYPE_STRING
    global _TYPE_BYTES, _TYPE_ARRAY, _TYPE_MAP, _TYPE_STRUCT
    global _ByteArrayConverter, _StringConverter, _JsonConverter
    global _orjson_loads, _orjson_dumps, _jsontext_dumps, _from_json, _to_json, _float64_json, _json_states
    if _loaded:
        return 0
    import weakref
    from kcfast.data import ConnectHeaders, Schema, Struct, Type
    from kcfast.data.struct import DATE_NAME, DECIMAL_NAME, TIME_NAME, TIMESTAMP_NAME

    _ConnectHeadersType = ConnectHeaders
    _Schema = Schema
    _Struct = Struct
    _struct_from_values = Struct._from_values
    _OPTIONAL_BYTES_SCHEMA = Schema.OPTIONAL_BYTES_SCHEMA
    _OPTIONAL_STRING_SCHEMA = Schema.OPTIONAL_STRING_SCHEMA
    _TYPE_INT8, _TYPE_INT16, _TYPE_INT32, _TYPE_INT64 = Type.INT8, Type.INT16, Type.INT32, Type.INT64
    _TYPE_FLOAT64, _TYPE_BOOLEAN, _TYPE_STRING = Type.FLOAT64, Type.BOOLEAN, Type.STRING
    _TYPE_BYTES, _TYPE_ARRAY, _TYPE_MAP, _TYPE_STRUCT = Type.BYTES, Type.ARRAY, Type.MAP, Type.STRUCT
    _LOGICAL_NAMES = frozenset([DECIMAL_NAME, DATE_NAME, TIME_NAME, TIMESTAMP_NAME])
    _json_states = weakref.WeakKeyDictionary()
    _find_struct_slots(Struct)
    try:
        import orjson
        from kcfast.converters import ByteArrayConverter, JsonConverter, StringConverter
        from kcfast.converters._jsontext import dumps, float64_json
        from kcfast.converters._jsonvalue import from_json, to_json
    except ImportError:  # converters not installed: every converter goes through its own methods
        pass
    else:
        _ByteArrayConverter = ByteArrayConverter
        _StringConverter = StringConverter
        _JsonConverter = JsonConverter
        _orjson_loads = orjson.loads
        _orjson_dumps = orjson.dumps
        _jsontext_dumps = dumps
        _from_json = from_json
        _to_json = to_json
        _float64_json = float64_json
    _loaded = True
    return 0


cdef Py_ssize_t _slot_offset(object cls, str name) except -2:
    descriptor = cls.__dict__.get(name)
    if type(descriptor) is not _MemberDescriptorType:
        return -1
    cdef PyMemberDef* member = (<PyMemberDescrObject*>descriptor).d_member
    if member.type != T_OBJECT_EX or member.flags != 0:
        return -1
    return member.offset


cdef int _find_struct_slots(object cls) except -1:
    global _struct_schema_offset, _struct_values_offset
    _struct_schema_offset = _struct_values_offset = -1
    if (type(cls) is not type or cls.__new__ is not object.__new__ or cls.__init__ is object.__init__
            or getattr(cls, "__slots__", None) != ("_schema", "_values") or cls.__bases__ != (object,)):
        return 0
    schema_offset = _slot_offset(cls, "_schema")
    values_offset = _slot_offset(cls, "_values")
    if schema_offset > 0 and values_offset > 0:
        _struct_schema_offset = schema_offset
        _struct_values_offset = values_offset
    return 0


cdef object _new_struct(object schema, list values):
    # Struct._from_values(schema, values) without the Python call: allocate like object.__new__ and store
    # the two slots (each holding a new reference).
    if _struct_schema_offset < 0:
        return _struct_from_values(schema, values)
    cdef PyTypeObject* tp = <PyTypeObject*>_Struct
    cdef PyObject* raw = (<_TypeAlloc*>tp).tp_alloc(tp, 0)
    if raw is NULL:
        raise MemoryError()
    cdef object obj = <object>raw
    Py_DECREF(obj)  # <object> took a second reference to the new object
    Py_INCREF(schema)
    (<PyObject**>(<char*>raw + _struct_schema_offset))[0] = <PyObject*>schema
    Py_INCREF(values)
    (<PyObject**>(<char*>raw + _struct_values_offset))[0] = <PyObject*>values
    return obj


cdef object _json_dumps(object obj):
    # kcfast.converters._jsontext.dumps without its Python frame: orjson's bytes are Jackson's unless they
    # hold a \u00XX escape (orjson writes lower-case hex), which the text module's dumps fixes up.
    cdef object out = _orjson_dumps(obj)
    cdef const char* p = PyBytes_AS_STRING(out)
    cdef const char* end = p + PyBytes_GET_SIZE(out)
    cdef const char* hit
    while p < end:
        hit = <const char*>memchr(p, b'\\', end - p)
        if hit is NULL:
            return out
        if end - hit >= 4 and hit[1] == b'u' and hit[2] == b'0' and hit[3] == b'0':
            return _jsontext_dumps(obj)
        p = hit + 1
    return out
