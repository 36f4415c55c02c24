"""The built-in Single Message Transformations and predicates of Kafka Connect.

Each lives in its own module (``kcfast.transforms.insert_field`` ...) and is known to the worker under its Java
name (``org.apache.kafka.connect.transforms.InsertField$Value``) and aliases (see :mod:`kcfast.plugins`).
Variants that act on the record key or value are ``<Name>Key`` / ``<Name>Value`` (also ``<Name>.Key`` /
``<Name>.Value``). ``docs/transforms.md`` lists every key.
"""

from __future__ import annotations

from kcfast.transforms.cast import Cast, CastKey, CastValue
from kcfast.transforms.drop_headers import DropHeaders
from kcfast.transforms.extract_field import ExtractField, ExtractFieldKey, ExtractFieldValue
from kcfast.transforms.filter import Filter
from kcfast.transforms.flatten import Flatten, FlattenKey, FlattenValue
from kcfast.transforms.header_from import HeaderFrom, HeaderFromKey, HeaderFromValue
from kcfast.transforms.hoist_field import HoistField, HoistFieldKey, HoistFieldValue
from kcfast.transforms.insert_field import InsertField, InsertFieldKey, InsertFieldValue
from kcfast.transforms.insert_header import InsertHeader
from kcfast.transforms.mask_field import MaskField, MaskFieldKey, MaskFieldValue
from kcfast.transforms.predicates import HasHeaderKey, RecordIsTombstone, TopicNameMatches
from kcfast.transforms.regex_router import RegexRouter
from kcfast.transforms.replace_field import ReplaceField, ReplaceFieldKey, ReplaceFieldValue
from kcfast.transforms.set_schema_metadata import SetSchemaMetadata, SetSchemaMetadataKey, SetSchemaMetadataValue
from kcfast.transforms.timestamp_converter import (
    TimestampConverter,
    TimestampConverterKey,
    TimestampConverterValue,
)
from kcfast.transforms.timestamp_router import TimestampRouter
from kcfast.transforms.value_to_key import ValueToKey

__all__ = [
    "Cast",
    "CastKey",
    "CastValue",
    "DropHeaders",
    "ExtractField",
    "ExtractFieldKey",
    "ExtractFieldValue",
    "Filter",
    "Flatten",
    "FlattenKey",
    "FlattenValue",
    "HasHeaderKey",
    "HeaderFrom",
    "HeaderFromKey",
    "HeaderFromValue",
    "HoistField",
    "HoistFieldKey",
    "HoistFieldValue",
    "InsertField",
    "InsertFieldKey",
    "InsertFieldValue",
    "InsertHeader",
    "MaskField",
    "MaskFieldKey",
    "MaskFieldValue",
    "RecordIsTombstone",
    "RegexRouter",
    "ReplaceField",
    "ReplaceFieldKey",
    "ReplaceFieldValue",
    "SetSchemaMetadata",
    "SetSchemaMetadataKey",
    "SetSchemaMetadataValue",
    "TimestampConverter",
    "TimestampConverterKey",
    "TimestampConverterValue",
    "TimestampRouter",
    "TopicNameMatches",
    "ValueToKey",
]
