"""``DropHeaders``: remove the headers with the given names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kcfast.api.config import Config, ConfigDef, Importance, Type
from kcfast.api.transforms import Transformation
from kcfast.data import ConnectHeaders
from kcfast.transforms._util import NonEmptyListValidator, Versioned, with_headers

HEADERS_FIELD = "headers"

CONFIG_DEF = ConfigDef().define(
    HEADERS_FIELD, Type.LIST, ConfigDef.NO_DEFAULT_VALUE, NonEmptyListValidator(), Importance.HIGH,
    "The name of the headers to be removed.",
)


class DropHeaders(Versioned, Transformation[Any]):
    """Removes one or more headers from each record."""

    def __init__(self) -> None:
        self._headers: frozenset[str] = frozenset()

    def config(self) -> ConfigDef:
        """The DropHeaders keys."""
        return CONFIG_DEF

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Read ``headers`` (required, non-empty)."""
        self._headers = frozenset(Config(CONFIG_DEF, configs).get_list(HEADERS_FIELD) or ())

    def apply(self, record: Any) -> Any:
        """The record without the named headers (the others keep their order)."""
        kept = ConnectHeaders(h for h in record.headers if h.key not in self._headers)
        return with_headers(record, kept)

    def close(self) -> None:
        """Nothing to release."""


__all__ = ["CONFIG_DEF", "DropHeaders"]
