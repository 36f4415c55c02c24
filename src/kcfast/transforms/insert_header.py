"""``InsertHeader``: add a header with a literal value to every record.

``value.literal`` is parsed as Kafka's ``Values.parseString`` does, so ``42`` becomes an INT8 header,
``true`` a BOOLEAN, ``[1,2]`` an ARRAY and anything else a STRING.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kcfast.api.config import Config, ConfigDef, Importance, NonNullValidator, Type
from kcfast.api.transforms import Transformation
from kcfast.data import SchemaAndValue, Values
from kcfast.transforms._util import Versioned, with_headers

HEADER_FIELD = "header"
VALUE_LITERAL_FIELD = "value.literal"

CONFIG_DEF = (
    ConfigDef()
    .define(HEADER_FIELD, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, NonNullValidator(), Importance.HIGH,
            "The name of the header.")
    .define(VALUE_LITERAL_FIELD, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, NonNullValidator(), Importance.HIGH,
            "The literal value that is to be set as the header value on all records.")
)


class InsertHeader(Versioned, Transformation[Any]):
    """Add a header to each record."""

    def __init__(self) -> None:
        self._header = ""
        self._literal = SchemaAndValue.NULL

    def config(self) -> ConfigDef:
        """The InsertHeader keys."""
        return CONFIG_DEF

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Read ``header`` and ``value.literal`` (both required)."""
        config = Config(CONFIG_DEF, configs)
        self._header = config.get_string(HEADER_FIELD) or ""
        self._literal = Values.parse_string(config.get_string(VALUE_LITERAL_FIELD))

    def apply(self, record: Any) -> Any:
        """The record with the header appended (after any existing header of the same name)."""
        headers = record.headers.duplicate()
        headers.add(self._header, self._literal)
        return with_headers(record, headers)

    def close(self) -> None:
        """Nothing to release."""


__all__ = ["CONFIG_DEF", "InsertHeader"]
