"""The built-in client override policies: ``All``, ``None`` and ``Principal`` (Kafka's names)."""

from __future__ import annotations

from kcfast.api.config import ConfigValue
from kcfast.api.policy import ConnectorClientConfigOverridePolicy, ConnectorClientConfigRequest


class _AllowListPolicy(ConnectorClientConfigOverridePolicy):
    """Allows the keys in ``allowed`` (``None`` = every key) and reports an error for each other key."""

    policy_name = ""
    allowed: frozenset[str] | None = frozenset()

    def validate(self, request: ConnectorClientConfigRequest) -> list[ConfigValue]:
        values = []
        for key, value in request.client_props.items():
            cv = ConfigValue(key, value)
            if self.allowed is not None and key not in self.allowed:
                cv.add_error_message(
                    f"The '{self.policy_name}' policy does not allow '{key}' to be overridden in the "
                    "connector configuration."
                )
            values.append(cv)
        return values


class AllConnectorClientConfigOverridePolicy(_AllowListPolicy):
    """Any client setting may be overridden (the default)."""

    policy_name = "All"
    allowed = None


class NoneConnectorClientConfigOverridePolicy(_AllowListPolicy):
    """No client setting may be overridden."""

    policy_name = "None"
    allowed = frozenset()


class PrincipalConnectorClientConfigOverridePolicy(_AllowListPolicy):
    """Only the settings that choose the client's principal may be overridden."""

    policy_name = "Principal"
    allowed = frozenset({"sasl.jaas.config", "sasl.mechanism", "security.protocol"})


__all__ = [
    "AllConnectorClientConfigOverridePolicy",
    "NoneConnectorClientConfigOverridePolicy",
    "PrincipalConnectorClientConfigOverridePolicy",
]
