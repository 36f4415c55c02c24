# The compiled record core. Everything done per record lives here and is called once per batch.
#
# This file is the umbrella of the one compiled module: it holds the imports and the cached globals, and
# includes the parts from _core/. The contract of every cdef class (fields, cdef methods) is in _core.pxd.
# The pure-Python twin kcfast._core_py implements the same API and is the oracle of the tests.

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItem
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_DECREF, Py_INCREF, Py_XDECREF
from cpython.unicode cimport PyUnicode_AsEncodedString, PyUnicode_DecodeUTF8
from cpython.conversion cimport PyOS_string_to_double
from libc.math cimport fabs, isfinite
from libc.stdint cimport INT64_MAX, INT64_MIN, int64_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcmp

from threading import Event as _Event
from types import MemberDescriptorType as _MemberDescriptorType

cdef extern from "structmember.h":
    ctypedef struct PyMemberDef:
        const char* name
        int type
        Py_ssize_t offset
        int flags
    int T_OBJECT_EX

cdef extern from "Python.h":
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member
    ctypedef PyObject* (*allocfunc)(PyTypeObject*, Py_ssize_t)
    ctypedef struct _TypeAlloc "PyTypeObject":
        allocfunc tp_alloc

from kcfast._core_common import (
    PARTITION_EOF,
    PRODUCE_RETRY_POLL_SECONDS,
    STAGE_HEADER_CONVERTER,
    STAGE_KEY_CONVERTER,
    STAGE_VALUE_CONVERTER,
    TIMESTAMP_TYPES,
    CommittableOffsets,
    PartitionOffsets,
    TimestampType,
    consume_error,
    conversion_error,
    partition_key as _common_partition_key,
    produce_error,
)

include "_core/consts.pxi"

# Cached module globals: read once at import, used per record without a module-dict lookup.
cdef object _NO_TIMESTAMP_TYPE = TimestampType.NO_TIMESTAMP_TYPE
cdef tuple _TIMESTAMP_TYPES = TIMESTAMP_TYPES

include "_core/records.pyx"
include "_core/offsets.pyx"
include "_core/collaborators.pxi"
include "_core/json.pyx"
include "_core/convert.pyx"
include "_core/pgoutput.pyx"
include "_core/transforms.pyx"
# Compiled only, outside __all__ (the twin has no counterpart): the source tasks' producer.
include "_core/producer.pyx"

__all__ = [
    "CommittableOffsets",
    "ConnectRecord",
    "PartitionOffsets",
    "PgTable",
    "PgoutputDecoder",
    "SinkOffsets",
    "SinkRecord",
    "SourceRecord",
    "SubmittedRecord",
    "SubmittedRecords",
    "TimestampType",
    "batch_topics",
    "record_topics",
    "compile_transform_plan",
    "encode_source_records",
    "produce_batch",
    "send_source_records",
    "sink_records_from_messages",
    "transform_batch",
]
