"""How a distributed worker's group member talks to its coordinator.

:class:`GroupTransport` is the set of group requests the member sends (FindCoordinator, JoinGroup, SyncGroup,
Heartbeat, LeaveGroup), with Kafka error codes returned rather than raised; :class:`AiokafkaTransport` sends
them with aiokafka's low-level client, the only place kcfast uses aiokafka. The Kafka client security settings
of the worker (``security.protocol``, ``ssl.*``, ``sasl.*``) are translated by :mod:`kcfast.kafka.security`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kcfast.errors import ConnectError, RetriableError

__all__ = ["AiokafkaTransport", "CoordinatorUnavailableError", "GroupTransport", "JoinResult"]

log = logging.getLogger(__name__)


class CoordinatorUnavailableError(RetriableError):
    """The group coordinator could not be reached (or is no longer the coordinator)."""


@dataclass(frozen=True)
class JoinResult:
    """A JoinGroup response: ``members`` (member id, metadata) is filled for the leader only."""

    error: int
    generation: int
    protocol: str
    leader_id: str
    member_id: str
    members: tuple[tuple[str, bytes], ...] = ()


class GroupTransport(Protocol):
    """The group requests a member sends to its coordinator.

    Every method raises :class:`CoordinatorUnavailableError` when the coordinator cannot be reached; Kafka
    error codes of the responses are returned, not raised.
    """

    async def start(self) -> None:
        """Connect to the cluster."""

    async def close(self) -> None:
        """Close every connection."""

    async def find_coordinator(self, group: str) -> None:
        """Find the group's coordinator and connect to it."""

    async def join_group(
        self,
        group: str,
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        member_id: str,
        protocol_type: str,
        protocols: Sequence[tuple[str, bytes]],
    ) -> JoinResult:
        """JoinGroup (may wait up to the rebalance timeout for the other members)."""

    async def sync_group(
        self, group: str, generation: int, member_id: str, assignments: Sequence[tuple[str, bytes]]
    ) -> tuple[int, bytes]:
        """SyncGroup; returns ``(error, this member's assignment bytes)``."""

    async def heartbeat(self, group: str, generation: int, member_id: str) -> int:
        """Heartbeat; returns the error code."""

    async def leave_group(self, group: str, member_id: str) -> int:
        """LeaveGroup; returns the error code."""


# -- aiokafka ------------------------------------------------------------------------------------------------


class AiokafkaTransport:
    """:class:`GroupTransport` over aiokafka's low-level client (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL).

    Args:
        bootstrap_servers: ``host:port,...``.
        client_id: the client id (the coordinator uses it as the prefix of member ids).
        request_timeout_ms: per-request timeout; JoinGroup waits up to the rebalance timeout, so the member
            passes at least ``rebalance.timeout.ms`` + 5 s.
        retry_backoff_ms: back-off between metadata retries.
        security_protocol: ``PLAINTEXT`` or ``SSL`` (used only when ``security`` is not given).
        ssl_cafile: CA bundle (PEM) for ``SSL`` (used only when ``security`` is not given).
        security: the worker's Java-style client settings (``security.protocol``, ``sasl.*``, ``ssl.*``; other
            keys are ignored), translated by :func:`kcfast.kafka.security.aiokafka_security_kwargs`.

    Raises:
        ConfigError: (from the constructor) ``security`` holds settings kcfast cannot honour.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        client_id: str,
        request_timeout_ms: int = 65000,
        retry_backoff_ms: int = 100,
        security_protocol: str = "PLAINTEXT",
        ssl_cafile: str | None = None,
        security: dict[str, Any] | None = None,
    ) -> None:
        from kcfast.kafka.security import aiokafka_security_kwargs

        self.bootstrap_servers = bootstrap_servers
        self.client_id = client_id
        self.request_timeout_ms = request_timeout_ms
        self.retry_backoff_ms = retry_backoff_ms
        if security is None:
            security = {"security.protocol": security_protocol}
            if ssl_cafile:
                security.update({"ssl.truststore.type": "PEM", "ssl.truststore.location": ssl_cafile})
        self._security = aiokafka_security_kwargs(security, log)
        self.security_protocol = str(self._security["security_protocol"])
        self.ssl_cafile = ssl_cafile
        self._client: Any = None
        self._coordinator: int | None = None

    async def start(self) -> None:
        """Bootstrap the client, retrying while the cluster is unreachable.

        Raises:
            ConnectError: the broker refused the credentials or the TLS handshake failed (retrying cannot help).
        """
        from aiokafka.client import AIOKafkaClient

        self._client = AIOKafkaClient(
            bootstrap_servers=self.bootstrap_servers,
            client_id=self.client_id,
            request_timeout_ms=self.request_timeout_ms,
            retry_backoff_ms=self.retry_backoff_ms,
            **self._security,
        )
        while True:
            try:
                await self._client.bootstrap()
                return
            except Exception as exc:  # noqa: BLE001 - aiokafka raises several types; keep trying
                await self._raise_if_refused()
                log.warning("Unable to bootstrap the group client from %s: %s", self.bootstrap_servers, exc)
                await asyncio.sleep(1.0)

    async def _raise_if_refused(self) -> None:
        """After a failed bootstrap (aiokafka logs and swallows the cause): connect once more to the first
        bootstrap server and raise if the cause is one that retrying cannot fix."""
        import ssl

        from aiokafka.conn import create_conn
        from aiokafka.errors import (
            IllegalSaslStateError,
            SaslAuthenticationFailed,
            UnsupportedSaslMechanismError,
        )

        host, port, _ = self._client.hosts[0]
        try:
            conn = await create_conn(host, port, client_id=self.client_id,
                                     request_timeout_ms=self.request_timeout_ms, **self._security)
        except (SaslAuthenticationFailed, UnsupportedSaslMechanismError, IllegalSaslStateError) as exc:
            await self.close()
            raise ConnectError(
                f"The group membership client could not authenticate to {host}:{port} with SASL mechanism "
                f"{self._security.get('sasl_mechanism')}: {exc} (check sasl.mechanism and sasl.jaas.config)"
            ) from exc
        except ssl.SSLError as exc:
            await self.close()
            raise ConnectError(
                f"TLS handshake with {host}:{port} failed for the group membership client: {exc} "
                "(check ssl.truststore.* and ssl.keystore.*)"
            ) from exc
        except Exception:  # noqa: BLE001 - anything else may pass: the caller retries
            return
        conn.close()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def find_coordinator(self, group: str) -> None:
        from aiokafka.client import ConnectionGroup, CoordinationType
        from aiokafka.errors import KafkaError

        try:
            coordinator = await self._client.coordinator_lookup(CoordinationType.GROUP, group)
            ready = await self._client.ready(coordinator, group=ConnectionGroup.COORDINATION)
        except (KafkaError, OSError, TimeoutError, AssertionError) as exc:
            self._client.force_metadata_update()
            raise CoordinatorUnavailableError(str(exc) or type(exc).__name__) from exc
        if not ready:
            raise CoordinatorUnavailableError(f"coordinator {coordinator} is not ready")
        self._coordinator = coordinator

    async def _send(self, request: Any) -> Any:
        from aiokafka.client import ConnectionGroup
        from aiokafka.errors import KafkaError

        if self._coordinator is None:
            raise CoordinatorUnavailableError("coordinator unknown")
        try:
            return await self._client.send(self._coordinator, request, group=ConnectionGroup.COORDINATION)
        except (KafkaError, OSError, TimeoutError) as exc:
            self._coordinator = None
            raise CoordinatorUnavailableError(str(exc) or type(exc).__name__) from exc

    async def join_group(
        self,
        group: str,
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        member_id: str,
        protocol_type: str,
        protocols: Sequence[tuple[str, bytes]],
    ) -> JoinResult:
        from aiokafka.protocol.group import JoinGroupRequest

        response = await self._send(
            JoinGroupRequest(
                group,
                session_timeout_ms,
                rebalance_timeout_ms,
                member_id,
                None,
                protocol_type,
                list(protocols),
            )
        )
        members = tuple((m[0], bytes(m[-1])) for m in response.members)
        return JoinResult(
            response.error_code,
            response.generation_id,
            response.group_protocol or "",
            response.leader_id or "",
            response.member_id or "",
            members,
        )

    async def sync_group(
        self, group: str, generation: int, member_id: str, assignments: Sequence[tuple[str, bytes]]
    ) -> tuple[int, bytes]:
        from aiokafka.protocol.group import SyncGroupRequest

        response = await self._send(SyncGroupRequest(group, generation, member_id, None, list(assignments)))
        return int(response.error_code), bytes(response.member_assignment or b"")

    async def heartbeat(self, group: str, generation: int, member_id: str) -> int:
        from aiokafka.protocol.group import HeartbeatRequest

        response = await self._send(HeartbeatRequest(group, generation, member_id))
        return int(response.error_code)

    async def leave_group(self, group: str, member_id: str) -> int:
        from aiokafka.protocol.group import LeaveGroupRequest

        response = await self._send(LeaveGroupRequest(group, member_id))
        return int(response.error_code)
