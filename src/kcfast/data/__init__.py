"""The Connect data API: schemas, structs, logical types, headers and value conversions.

Mirrors Kafka Connect's ``org.apache.kafka.connect.data`` and ``org.apache.kafka.connect.header`` packages with
Python naming; ``docs/data.md`` maps every Java name to its Python one.
"""

from __future__ import annotations

from kcfast.data._java import java_decimal_str, java_double_str, java_float_str, java_str, to_float32
from kcfast.data.headers import ConnectHeaders, Header
from kcfast.data.logical import Date, Decimal, Time, Timestamp
from kcfast.data.projector import SchemaProjector
from kcfast.data.schema import Field, Schema, SchemaAndValue, SchemaBuilder, Type
from kcfast.data.struct import Struct, validate_value
from kcfast.data.values import Values, convert_to_string, infer_schema, parse_string

__all__ = [
    "ConnectHeaders",
    "Date",
    "Decimal",
    "Field",
    "Header",
    "Schema",
    "SchemaAndValue",
    "SchemaBuilder",
    "SchemaProjector",
    "Struct",
    "Time",
    "Timestamp",
    "Type",
    "Values",
    "convert_to_string",
    "infer_schema",
    "java_decimal_str",
    "java_double_str",
    "java_float_str",
    "java_str",
    "parse_string",
    "to_float32",
    "validate_value",
]
