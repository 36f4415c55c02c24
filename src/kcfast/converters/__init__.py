"""Kafka Connect's converters, byte-for-byte: JSON, string, byte array, numbers, boolean and the simple header
converter.

These pure-Python converters convert one record at a time; they are also the reference the compiled record
core's batch conversion is checked against.
"""

from __future__ import annotations

from kcfast.converters.header import SimpleHeaderConverter
from kcfast.converters.json import JsonConverter
from kcfast.converters.primitive import (
    BooleanConverter,
    ByteArrayConverter,
    DoubleConverter,
    FloatConverter,
    IntegerConverter,
    LongConverter,
    ShortConverter,
)
from kcfast.converters.string import StringConverter

__all__ = [
    "BooleanConverter",
    "ByteArrayConverter",
    "DoubleConverter",
    "FloatConverter",
    "IntegerConverter",
    "JsonConverter",
    "LongConverter",
    "ShortConverter",
    "SimpleHeaderConverter",
    "StringConverter",
]
