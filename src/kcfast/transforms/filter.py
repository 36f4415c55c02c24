"""``Filter``: drop every record; used with a predicate (``transforms.<a>.predicate``) to drop some of them."""

from __future__ import annotations

from typing import Any

from kcfast.api.config import ConfigDef
from kcfast.api.transforms import Transformation
from kcfast.transforms._util import Versioned

CONFIG_DEF = ConfigDef()


class Filter(Versioned, Transformation[Any]):
    """Drops all records, filtering them from subsequent transformations in the chain."""

    def config(self) -> ConfigDef:
        """No keys."""
        return CONFIG_DEF

    def apply(self, record: Any) -> None:
        """Always None: the record is dropped."""
        return None

    def close(self) -> None:
        """Nothing to release."""


__all__ = ["CONFIG_DEF", "Filter"]
