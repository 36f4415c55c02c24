"""The ConfigDefs of the converters (Java ``ConverterConfig``, ``JsonConverterConfig``, ``StringConverterConfig``)
and the parsing of a converter's configs with them, so that errors carry Kafka's texts."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from kcfast.api.config import (
    NO_DEFAULT_VALUE,
    CaseInsensitiveValidString,
    ConfigDef,
    Importance,
    Type,
    ValidString,
    Width,
)

TYPE_CONFIG = "converter.type"
CONVERTER_TYPES = ("key", "value", "header")

SCHEMAS_ENABLE_CONFIG = "schemas.enable"
SCHEMAS_CACHE_SIZE_CONFIG = "schemas.cache.size"
DECIMAL_FORMAT_CONFIG = "decimal.format"
REPLACE_NULL_WITH_DEFAULT_CONFIG = "replace.null.with.default"
ENCODING_CONFIG = "converter.encoding"


def converter_config_def() -> ConfigDef:
    """A new ConfigDef with ``converter.type`` (Java ``ConverterConfig.newConfigDef()``)."""
    return ConfigDef().define(
        TYPE_CONFIG,
        Type.STRING,
        NO_DEFAULT_VALUE,
        ValidString.in_(*CONVERTER_TYPES),
        Importance.LOW,
        "How this converter will be used.",
    )


@lru_cache(maxsize=1)
def plain_config_def() -> ConfigDef:
    """The ConfigDef of the number, boolean and byte-array converters."""
    return converter_config_def()


@lru_cache(maxsize=1)
def json_config_def() -> ConfigDef:
    """The ConfigDef of ``JsonConverter``."""
    return (
        converter_config_def()
        .define(SCHEMAS_ENABLE_CONFIG, Type.BOOLEAN, True, None, Importance.HIGH,
                "Include schemas within each of the serialized values and keys.",
                "Schemas", 0, Width.MEDIUM, "Enable Schemas")
        .define(SCHEMAS_CACHE_SIZE_CONFIG, Type.INT, 1000, None, Importance.HIGH,
                "The maximum number of schemas that can be cached in this converter instance.",
                "Schemas", 1, Width.MEDIUM, "Schema Cache Size")
        .define(DECIMAL_FORMAT_CONFIG, Type.STRING, "BASE64", CaseInsensitiveValidString.in_("BASE64", "NUMERIC"),
                Importance.LOW,
                "Controls which format this converter will serialize decimals in. This value is case insensitive "
                "and can be either 'BASE64' (default) or 'NUMERIC'",
                "Serialization", 0, Width.MEDIUM, "Decimal Format")
        .define(REPLACE_NULL_WITH_DEFAULT_CONFIG, Type.BOOLEAN, True, None, Importance.LOW,
                "Whether to replace fields that have a default value and that are null to the default value. "
                "When set to true, the default value is used, otherwise null is used.",
                "Serialization", 1, Width.MEDIUM, "Replace null with default")
    )


@lru_cache(maxsize=1)
def string_config_def() -> ConfigDef:
    """The ConfigDef of ``StringConverter``."""
    return converter_config_def().define(
        ENCODING_CONFIG, Type.STRING, "UTF-8", None, Importance.HIGH,
        "The name of the Java character set to use for encoding strings as byte arrays.",
        None, -1, Width.MEDIUM, "Encoding",
    )


def parse_configs(config_def: ConfigDef, configs: Mapping[str, Any], is_key: bool | None) -> dict[str, Any]:
    """Parse ``configs`` with ``config_def``, setting ``converter.type`` from ``is_key`` as the worker does.

    ``is_key=None`` is the header-converter form: ``converter.type`` is taken from the configs, ``header`` if
    absent.

    Raises:
        ConfigError: A value is missing, malformed or invalid (Kafka's message).
    """
    props = dict(configs)
    if is_key is not None:
        props[TYPE_CONFIG] = "key" if is_key else "value"
    else:
        props.setdefault(TYPE_CONFIG, "header")
    return config_def.parse(props)
