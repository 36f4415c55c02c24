"""The record types of the connector API, defined by the record core and re-exported here.

``ConnectRecord``, ``SinkRecord``, ``SourceRecord`` and ``TimestampType`` live in :mod:`kcfast.core` (compiled,
or its pure-Python twin); they are loaded on first use so that importing :mod:`kcfast.api` never imports the
core, and the core may import :mod:`kcfast.api` freely.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kcfast.core import ConnectRecord, SinkRecord, SourceRecord, TimestampType

_NAMES = ("ConnectRecord", "SinkRecord", "SourceRecord", "TimestampType")


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        import kcfast.core

        value = getattr(kcfast.core, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ConnectRecord", "SinkRecord", "SourceRecord", "TimestampType"]
