"""Offset storage: backing stores (memory, standalone file), their byte formats, and per-connector access."""

from __future__ import annotations

from kcfast.storage.file import FileOffsetBackingStore
from kcfast.storage.memory import MemoryOffsetBackingStore
from kcfast.storage.offsets import (
    OffsetBackingStore,
    OffsetStorageReaderImpl,
    OffsetStorageWriter,
    connector_offsets,
    deserialize_offset_key,
    deserialize_offset_value,
    serialize_offset_key,
    serialize_offset_value,
)

__all__ = [
    "FileOffsetBackingStore",
    "MemoryOffsetBackingStore",
    "OffsetBackingStore",
    "OffsetStorageReaderImpl",
    "OffsetStorageWriter",
    "connector_offsets",
    "deserialize_offset_key",
    "deserialize_offset_value",
    "serialize_offset_key",
    "serialize_offset_value",
]
