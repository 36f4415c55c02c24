"""The connector API of kcfast: what a connector, task, transformation or converter is written against.

It mirrors Kafka Connect's ``connect-api`` with Python naming (``taskConfigs`` -> ``task_configs``); the full
Java-to-Python name table is in ``docs/api.md``. The record types (``SourceRecord``, ``SinkRecord``, ...) come
from the record core and are loaded on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kcfast.api.common import RecordMetadata, TopicPartition, Versioned
from kcfast.api.config import (
    NO_DEFAULT_VALUE,
    AbstractConfig,
    CaseInsensitiveValidString,
    CompositeValidator,
    Config,
    ConfigDef,
    ConfigKey,
    ConfigValidation,
    ConfigValue,
    Importance,
    LambdaValidator,
    ListSize,
    NonEmptyString,
    NonEmptyStringWithoutControlChars,
    NonNullValidator,
    Password,
    Range,
    Recommender,
    RegexValidator,
    Type,
    Validator,
    ValidList,
    ValidString,
    Width,
)
from kcfast.api.config_infos import config_infos, convert_config_key, convert_config_value
from kcfast.api.config_provider import ConfigData, ConfigProvider
from kcfast.api.connector import (
    Connector,
    ConnectorContext,
    ConnectorTransactionBoundaries,
    ExactlyOnceSupport,
    SinkConnector,
    SinkConnectorContext,
    SourceConnector,
    SourceConnectorContext,
)
from kcfast.api.converter import Converter, HeaderConverter
from kcfast.api.task import (
    ErrantRecordReporter,
    OffsetStorageReader,
    SinkTask,
    SinkTaskContext,
    SourceTask,
    SourceTaskContext,
    Task,
    TransactionBoundary,
    TransactionContext,
)
from kcfast.api.transforms import Predicate, Transformation
from kcfast.api.util import group_partitions

if TYPE_CHECKING:
    from kcfast.api.records import ConnectRecord, SinkRecord, SourceRecord, TimestampType

_RECORD_NAMES = ("ConnectRecord", "SinkRecord", "SourceRecord", "TimestampType")


def __getattr__(name: str) -> Any:
    # The record types live in the core; load them on first use so importing kcfast.api stays cheap and acyclic.
    if name in _RECORD_NAMES:
        from kcfast.api import records

        value = getattr(records, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "NO_DEFAULT_VALUE",
    "AbstractConfig",
    "CaseInsensitiveValidString",
    "CompositeValidator",
    "Config",
    "ConfigData",
    "ConfigDef",
    "ConfigKey",
    "ConfigProvider",
    "ConfigValidation",
    "ConfigValue",
    "ConnectRecord",
    "Connector",
    "ConnectorContext",
    "ConnectorTransactionBoundaries",
    "Converter",
    "ErrantRecordReporter",
    "ExactlyOnceSupport",
    "HeaderConverter",
    "Importance",
    "LambdaValidator",
    "ListSize",
    "NonEmptyString",
    "NonEmptyStringWithoutControlChars",
    "NonNullValidator",
    "OffsetStorageReader",
    "Password",
    "Predicate",
    "Range",
    "Recommender",
    "RecordMetadata",
    "RegexValidator",
    "SinkConnector",
    "SinkConnectorContext",
    "SinkRecord",
    "SinkTask",
    "SinkTaskContext",
    "SourceConnector",
    "SourceConnectorContext",
    "SourceRecord",
    "SourceTask",
    "SourceTaskContext",
    "Task",
    "TimestampType",
    "TopicPartition",
    "TransactionBoundary",
    "TransactionContext",
    "Transformation",
    "Type",
    "ValidList",
    "ValidString",
    "Validator",
    "Versioned",
    "Width",
    "config_infos",
    "convert_config_key",
    "convert_config_value",
    "group_partitions",
]
