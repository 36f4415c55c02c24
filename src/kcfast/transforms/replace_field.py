"""``ReplaceField$Key`` / ``ReplaceField$Value``: keep, drop and rename fields of a Struct or map.

``exclude`` wins over ``include``; an empty ``include`` keeps every field. ``renames`` is a list of
``old:new``. The deprecated ``blacklist`` and ``whitelist`` keys of Kafka 3.9 still work (for ``exclude`` and
``include``; the new key wins when both are set). A null key or value passes through unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from kcfast.api.config import Config, ConfigDef, Importance, Type
from kcfast.api.validators import LambdaValidator, invalid_value
from kcfast.data import Schema, SchemaBuilder, Struct
from kcfast.transforms._util import (
    REPLACE_NULL_WITH_DEFAULT_CONFIG,
    REPLACE_NULL_WITH_DEFAULT_DOC,
    KeyOrValueTransformation,
    KeySide,
    SchemaCache,
    ValueSide,
    copy_schema_basics,
    field_value,
    java_split,
    require_map,
    require_struct,
)

log = logging.getLogger(__name__)

EXCLUDE = "exclude"
INCLUDE = "include"
RENAMES = "renames"
#: Deprecated aliases (Kafka 3.9): deprecated key -> current key.
DEPRECATED_ALIASES = {"blacklist": EXCLUDE, "whitelist": INCLUDE}


def parse_rename_mappings(mappings: list[str]) -> dict[str, str]:
    """``["old:new", ...]`` as a dict.

    Raises:
        ConfigError: ``Invalid value [..] for configuration renames: Invalid rename mapping: m``.
    """
    renames: dict[str, str] = {}
    for mapping in mappings:
        parts = java_split(mapping, ":")
        if len(parts) != 2:
            raise invalid_value(RENAMES, mappings, f"Invalid rename mapping: {mapping}")
        renames[parts[0]] = parts[1]
    return renames


CONFIG_DEF = (
    ConfigDef()
    .define(EXCLUDE, Type.LIST, [], None, Importance.MEDIUM,
            "Fields to exclude. This takes precedence over the fields to include.")
    .define("blacklist", Type.LIST, None, None, Importance.LOW, f"Deprecated. Use {EXCLUDE} instead.")
    .define(INCLUDE, Type.LIST, [], None, Importance.MEDIUM,
            "Fields to include. If specified, only these fields will be used.")
    .define("whitelist", Type.LIST, None, None, Importance.LOW, f"Deprecated. Use {INCLUDE} instead.")
    .define(RENAMES, Type.LIST, [],
            LambdaValidator.with_(lambda name, value: parse_rename_mappings(value),
                                  lambda: "list of colon-delimited pairs, e.g. <code>foo:bar,abc:xyz</code>"),
            Importance.MEDIUM, "Field rename mappings.")
    .define(REPLACE_NULL_WITH_DEFAULT_CONFIG, Type.BOOLEAN, True, None, Importance.MEDIUM,
            REPLACE_NULL_WITH_DEFAULT_DOC)
)

PURPOSE = "field replacement"


def translate_deprecated(configs: Mapping[str, Any]) -> dict[str, Any]:
    """Kafka's ``ConfigUtils.translateDeprecatedConfigs`` for ``blacklist``/``whitelist`` (logged as it does)."""
    aliases = set(DEPRECATED_ALIASES) | set(DEPRECATED_ALIASES.values())
    result = {k: v for k, v in configs.items() if k not in aliases and v is not None}
    for target in (INCLUDE, EXCLUDE):
        deprecated = [k for k, t in DEPRECATED_ALIASES.items() if t == target and k in configs]
        if not deprecated:
            if target in configs:
                result[target] = configs[target]
            continue
        if target in configs:
            log.error("%s was configured, as well as the deprecated alias(es) %s.  Using the value of %s",
                      target, ", ".join(deprecated), target)
            result[target] = configs[target]
        else:
            log.warning("Configuration key %s is deprecated and may be removed in the future.  Please update "
                        "your configuration to use %s instead.", deprecated[0], target)
            result[target] = configs[deprecated[0]]
    return result


class ReplaceField(KeyOrValueTransformation):
    """Filter or rename fields (use ``Key`` or ``Value``)."""

    Key: type[ReplaceField]
    Value: type[ReplaceField]

    def __init__(self) -> None:
        self._exclude: set[str] = set()
        self._include: set[str] = set()
        self._renames: dict[str, str] = {}
        self._reverse: dict[str, str] = {}
        self._replace_null_with_default = True
        self._cache = SchemaCache()

    def config(self) -> ConfigDef:
        """The ReplaceField keys."""
        return CONFIG_DEF

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Read the include/exclude lists and renames.

        Raises:
            ConfigError: a rename mapping is not ``old:new``.
        """
        config = Config(CONFIG_DEF, translate_deprecated(configs))
        self._exclude = set(config.get_list(EXCLUDE) or ())
        self._include = set(config.get_list(INCLUDE) or ())
        self._renames = parse_rename_mappings(config.get_list(RENAMES) or [])
        self._reverse = {new: old for old, new in self._renames.items()}
        self._replace_null_with_default = bool(config.get_boolean(REPLACE_NULL_WITH_DEFAULT_CONFIG))
        self._cache = SchemaCache()

    def _keeps(self, name: str) -> bool:
        return name not in self._exclude and (not self._include or name in self._include)

    def _renamed(self, name: str) -> str:
        return self._renames.get(name, name)

    def apply(self, record: Any) -> Any:
        """The record with fields dropped and renamed (unchanged if the key/value is null).

        Raises:
            DataError: not a Struct (with schema) or map (without).
        """
        value = self._operating_value(record)
        if value is None:
            return record
        if self._operating_schema(record) is None:
            data = require_map(value, PURPOSE)
            updated = {self._renamed(k): v for k, v in data.items() if self._keeps(k)}
            return self._new_record(record, None, updated)
        struct = require_struct(value, PURPOSE)
        schema = self._cache.get(struct.schema)
        if schema is None:
            schema = self._updated_schema(struct.schema)
            self._cache.put(struct.schema, schema)
        result = Struct(schema)
        for field in schema.fields:
            original = self._reverse.get(field.name, field.name)
            result.put(field.name, field_value(struct, original, self._replace_null_with_default))
        return self._new_record(record, schema, result)

    def _updated_schema(self, schema: Schema) -> Schema:
        builder = copy_schema_basics(schema, SchemaBuilder.struct())
        for field in schema.fields:
            if self._keeps(field.name):
                builder.field(self._renamed(field.name), field.schema)
        return builder.build()

    def close(self) -> None:
        """Drop the schema cache."""
        self._cache = SchemaCache()


class ReplaceFieldKey(KeySide, ReplaceField):
    """``ReplaceField$Key``: filter or rename fields of the record key."""


class ReplaceFieldValue(ValueSide, ReplaceField):
    """``ReplaceField$Value``: filter or rename fields of the record value."""


ReplaceField.Key = ReplaceFieldKey
ReplaceField.Value = ReplaceFieldValue

__all__ = ["CONFIG_DEF", "ReplaceField", "ReplaceFieldKey", "ReplaceFieldValue", "parse_rename_mappings"]
