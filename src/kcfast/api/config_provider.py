"""Config providers: resolve ``${provider:path:key}`` references in worker and connector configurations.

Mirrors Kafka's ``ConfigProvider`` and ``ConfigData`` (``org.apache.kafka.common.config``). The worker creates the
providers named in ``config.providers``, configures each with its ``config.providers.<name>.param.*`` keys, and
asks :meth:`ConfigProvider.get` for the keys a configuration refers to.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ConfigData:
    """Values found at one path, and how long (ms) they stay valid (``None``: no expiry)."""

    data: Mapping[str, str] = field(default_factory=dict)
    ttl: int | None = None


#: Called with ``(path, data)`` when subscribed values change (Java ``ConfigChangeCallback.onChange``).
ConfigChangeCallback = Callable[[str, ConfigData], None]


class ConfigProvider(abc.ABC):
    """Looks up configuration values by path and key (a file, a directory, environment variables, a vault)."""

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Configure from the ``config.providers.<name>.param.`` keys (prefix removed); no-op by default."""

    @abc.abstractmethod
    def get(self, path: str, keys: Collection[str] | None = None) -> ConfigData:
        """The values at ``path``: all of them, or only ``keys`` (missing keys are left out)."""

    def subscribe(self, path: str, keys: Collection[str], callback: ConfigChangeCallback) -> None:
        """Be told when values change; not supported by default."""
        raise NotImplementedError

    def unsubscribe(self, path: str, keys: Collection[str], callback: ConfigChangeCallback) -> None:
        """Stop being told about changes; not supported by default."""
        raise NotImplementedError

    def unsubscribe_all(self) -> None:
        """Drop every subscription; not supported by default."""
        raise NotImplementedError

    def close(self) -> None:
        """Release resources (no-op by default)."""


__all__ = ["ConfigChangeCallback", "ConfigData", "ConfigProvider"]
