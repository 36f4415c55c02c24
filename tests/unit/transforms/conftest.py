"""Record factories for the transformation tests, on both implementations of the record core."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from kcfast.data import ConnectHeaders

RecordFactory = Callable[..., Any]


@pytest.fixture
def sink(impl: ModuleType) -> RecordFactory:
    """``sink(value_schema, value, key_schema=None, key=None, topic="test", partition=0, offset=42, ...)``."""

    def make(value_schema: Any = None, value: Any = None, key_schema: Any = None, key: Any = None,
             topic: str = "test", partition: int | None = 0, offset: int = 42, timestamp: int | None = 1_000,
             headers: ConnectHeaders | None = None) -> Any:
        return impl.SinkRecord(topic, partition, key_schema, key, value_schema, value, offset, timestamp,
                               impl.TimestampType.CREATE_TIME, headers)

    return make


@pytest.fixture
def source(impl: ModuleType) -> RecordFactory:
    """``source(value_schema, value, key_schema=None, key=None, topic="test", partition=None, ...)``."""

    def make(value_schema: Any = None, value: Any = None, key_schema: Any = None, key: Any = None,
             topic: str = "test", partition: int | None = None, timestamp: int | None = 1_000,
             headers: ConnectHeaders | None = None) -> Any:
        return impl.SourceRecord({"p": 1}, {"o": 2}, topic, partition, key_schema, key, value_schema, value,
                                 timestamp, headers)

    return make
