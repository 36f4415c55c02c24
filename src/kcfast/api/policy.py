"""Policies deciding which Kafka client settings a connector may override (Java ``connector.policy``).

A connector config may carry ``producer.override.*``, ``consumer.override.*`` and ``admin.override.*`` keys; the
worker's ``connector.client.config.override.policy`` (``All``, ``None``, ``Principal`` or a plugin) checks them.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kcfast.api.config import ConfigValue
from kcfast.api.health import ConnectorType


class ClientType(enum.Enum):
    """Which client of the connector the overrides are for."""

    PRODUCER = "PRODUCER"
    CONSUMER = "CONSUMER"
    ADMIN = "ADMIN"


@dataclass(frozen=True)
class ConnectorClientConfigRequest:
    """The overrides of one client of one connector, with the prefix removed from the keys."""

    connector_name: str
    connector_type: ConnectorType
    connector_class: type
    client_props: Mapping[str, Any]
    client_type: ClientType


class ConnectorClientConfigOverridePolicy(abc.ABC):
    """Validates client overrides; one :class:`ConfigValue` per key, with an error where not allowed."""

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Configure the policy from the worker configuration (no-op by default)."""

    @abc.abstractmethod
    def validate(self, request: ConnectorClientConfigRequest) -> list[ConfigValue]:
        """Check every key of ``request.client_props``."""

    def close(self) -> None:
        """Release resources (no-op by default)."""


ConnectorClientConfigRequest.ClientType = ClientType  # type: ignore[attr-defined]

__all__ = ["ClientType", "ConnectorClientConfigOverridePolicy", "ConnectorClientConfigRequest"]
