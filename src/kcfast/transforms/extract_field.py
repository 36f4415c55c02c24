"""``ExtractField$Key`` / ``ExtractField$Value``: replace the key or value with one of its fields.

``field.syntax.version=V1`` (default) names a top-level field; ``V2`` accepts a dotted path to a nested field,
with backticks around names that hold dots (``\\``` escapes a backtick). With a schema, the result has the
field's schema (an unknown field is an error); without one, a missing field gives null. Null passes as null.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kcfast.api.config import CaseInsensitiveValidString, Config, ConfigDef, Importance, Type
from kcfast.api.validators import invalid_value
from kcfast.data import Schema, Struct
from kcfast.data.schema import Field
from kcfast.errors import ConfigError
from kcfast.transforms._util import (
    REPLACE_NULL_WITH_DEFAULT_CONFIG,
    REPLACE_NULL_WITH_DEFAULT_DOC,
    KeyOrValueTransformation,
    KeySide,
    ValueSide,
    require_map_or_none,
    require_struct_or_none,
)

FIELD_CONFIG = "field"
FIELD_SYNTAX_VERSION_CONFIG = "field.syntax.version"
FIELD_SYNTAX_VERSION_DOC = (
    "Defines the version of the syntax to access fields. If set to `V1`, then the field paths are limited to "
    "access the elements at the root level of the struct or map. If set to `V2`, the syntax will support "
    "accessing nested elements. To access nested elements, dotted notation is used. If dots are already included "
    "in the field name, then backtick pairs can be used to wrap field names containing dots. E.g. to access the "
    "subfield `baz` from a field named \"foo.bar\" in a struct/map the following format can be used to access its "
    "elements: \"`foo.bar`.baz\"."
)

CONFIG_DEF = (
    ConfigDef()
    .define(FIELD_CONFIG, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, None, Importance.MEDIUM, "Field name to extract.")
    .define(REPLACE_NULL_WITH_DEFAULT_CONFIG, Type.BOOLEAN, True, None, Importance.MEDIUM,
            REPLACE_NULL_WITH_DEFAULT_DOC)
    .define(FIELD_SYNTAX_VERSION_CONFIG, Type.STRING, "V1", CaseInsensitiveValidString.in_("V1", "V2"),
            Importance.HIGH, FIELD_SYNTAX_VERSION_DOC)
)

PURPOSE = "field extraction"
_NESTED = "nested field access"


def _incomplete_backtick(path: str, at: int) -> ConfigError:
    return ConfigError(f"Incomplete backtick pair in path: [{path}], consider adding a backslash before backtick "
                       f"at position {at} to escape it")


def _v2_steps(path: str) -> list[str]:
    """Split a V2 path into steps (Kafka's ``SingleFieldPath`` rules)."""
    steps: list[str] = []
    i = 0
    n = len(path)
    while 0 <= i < n:
        if path[i] != "`":
            dot = path.find(".", i)
            if dot >= 0:
                steps.append(path[i:dot])
                i = dot + 1
            else:
                steps.append(path[i:])
                i = -1
            continue
        backtick_at = i
        i += 1
        parts: list[str] = []
        start = i
        while True:
            i = path.find("`", i)
            if i == -1:
                raise _incomplete_backtick(path, backtick_at)
            escaped = path[i - 1] == "\\"
            if i >= n - 1:
                if escaped:
                    raise _incomplete_backtick(path, backtick_at)
                parts.append(path[start:i])
                steps.append("".join(parts))
                i += 1
                break
            if path[i + 1] != ".":
                i += 1
                continue
            if escaped:
                parts.append(path[start : i - 1] + "`")
                i += 1
                start = i
                continue
            parts.append(path[start:i])
            steps.append("".join(parts))
            i += 2
            break
    if path.endswith("."):
        steps.append("")
    return steps


class SingleFieldPath:
    """A path to one field of a Struct or map: one step (V1) or dotted steps (V2)."""

    __slots__ = ("version", "steps")

    def __init__(self, path: str, version: str) -> None:
        self.version = version.upper()
        self.steps = [path] if self.version == "V1" else _v2_steps(path)

    def field_from(self, schema: Schema | None) -> Field | None:
        """The field at this path in ``schema``, or None."""
        if schema is None:
            return None
        current = schema
        for step in self.steps[:-1]:
            field = current.field(step)
            if field is None:
                return None
            current = field.schema
        return current.field(self.steps[-1])

    def value_from_struct(self, struct: Struct | None, with_default: bool = True) -> Any:
        """The value at this path in ``struct``, or None."""
        current = struct
        if current is None:
            return None
        for step in self.steps[:-1]:
            if current.schema.field(step) is None:
                return None
            current = require_struct_or_none(current.get(step), _NESTED)
            if current is None:
                return None
        last = self.steps[-1]
        if current.schema.field(last) is None:
            return None
        return current.get(last) if with_default else current.get_without_default(last)

    def value_from_map(self, data: Mapping[str, Any] | None) -> Any:
        """The value at this path in a schemaless map, or None."""
        current = data
        if current is None:
            return None
        for step in self.steps[:-1]:
            current = require_map_or_none(current.get(step), _NESTED)
            if current is None:
                return None
        return current.get(self.steps[-1])

    def __repr__(self) -> str:
        return f"SingleFieldPath{{version={self.version}, path={'.'.join(self.steps)}}}"


class ExtractField(KeyOrValueTransformation):
    """Extract one field from a Struct (with a schema) or map (without); use ``Key`` or ``Value``."""

    Key: type[ExtractField]
    Value: type[ExtractField]

    def __init__(self) -> None:
        self._original_path = ""
        self._path = SingleFieldPath("", "V1")
        self._replace_null_with_default = True

    def config(self) -> ConfigDef:
        """The ExtractField keys."""
        return CONFIG_DEF

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Read ``field`` and ``field.syntax.version``.

        Raises:
            ConfigError: a missing field, an unknown syntax version, or an unbalanced backtick in a V2 path.
        """
        config = Config(CONFIG_DEF, configs)
        self._original_path = config.get_string(FIELD_CONFIG) or ""
        version = config.get_string(FIELD_SYNTAX_VERSION_CONFIG) or ""
        if version.upper() not in ("V1", "V2"):
            raise invalid_value(FIELD_SYNTAX_VERSION_CONFIG, version, "Unrecognized field syntax version")
        self._path = SingleFieldPath(self._original_path, version)
        self._replace_null_with_default = bool(config.get_boolean(REPLACE_NULL_WITH_DEFAULT_CONFIG))

    def apply(self, record: Any) -> Any:
        """The record whose key/value is the extracted field.

        Raises:
            DataError: not a Struct (with schema) or map (without).
            ValueError: ``Unknown field: f`` (the schema has no such field).
        """
        schema = self._operating_schema(record)
        if schema is None:
            data = require_map_or_none(self._operating_value(record), PURPOSE)
            return self._new_record(record, None, None if data is None else self._path.value_from_map(data))
        struct = require_struct_or_none(self._operating_value(record), PURPOSE)
        field = self._path.field_from(schema)
        if field is None:
            raise ValueError(f"Unknown field: {self._original_path}")
        value = None if struct is None else self._path.value_from_struct(struct, self._replace_null_with_default)
        return self._new_record(record, field.schema, value)

    def close(self) -> None:
        """Nothing to release."""


class ExtractFieldKey(KeySide, ExtractField):
    """``ExtractField$Key``: extract a field of the record key."""


class ExtractFieldValue(ValueSide, ExtractField):
    """``ExtractField$Value``: extract a field of the record value."""


ExtractField.Key = ExtractFieldKey
ExtractField.Value = ExtractFieldValue

__all__ = ["CONFIG_DEF", "ExtractField", "ExtractFieldKey", "ExtractFieldValue", "SingleFieldPath"]
