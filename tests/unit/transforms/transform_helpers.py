"""Helpers shared by the transformation tests."""

from __future__ import annotations

from typing import Any


def configured(cls: type, configs: dict[str, str] | None = None) -> Any:
    """A new instance of ``cls`` configured with ``configs``."""
    instance = cls()
    instance.configure(configs or {})
    return instance
