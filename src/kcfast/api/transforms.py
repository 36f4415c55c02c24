"""Single Message Transformations and predicates (Java ``Transformation`` and ``Predicate``).

A transformation changes (or drops) one record at a time; a predicate decides whether a transformation applies.
The worker creates one instance per task and per configured alias, calls :meth:`Transformation.configure` with
the keys under ``transforms.<alias>.``, uses it from the task's thread only, and calls ``close`` at the end.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from kcfast.api.config import ConfigDef

R = TypeVar("R")


class Transformation(abc.ABC, Generic[R]):
    """Transforms a source or sink record into another record, or ``None`` to drop it."""

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Configure from the keys under ``transforms.<alias>.`` (prefix removed); no-op by default."""

    @abc.abstractmethod
    def apply(self, record: R) -> R | None:
        """The transformed record (a new one; records are immutable), or ``None`` to drop it."""

    @abc.abstractmethod
    def config(self) -> ConfigDef:
        """The definition of this transformation's configuration keys."""

    def close(self) -> None:
        """Release resources (no-op by default)."""


class Predicate(abc.ABC, Generic[R]):
    """Decides whether a transformation applies to a record (``transforms.<alias>.predicate``)."""

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Configure from the keys under ``predicates.<alias>.`` (prefix removed); no-op by default."""

    @abc.abstractmethod
    def test(self, record: R) -> bool:
        """Whether ``record`` matches."""

    @abc.abstractmethod
    def config(self) -> ConfigDef:
        """The definition of this predicate's configuration keys."""

    def close(self) -> None:
        """Release resources (no-op by default)."""


__all__ = ["Predicate", "Transformation"]
