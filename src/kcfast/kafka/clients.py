"""Kafka clients built on confluent-kafka (librdkafka)."""

from __future__ import annotations

from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

__all__ = [
    "AdminClient",
    "Consumer",
    "KafkaError",
    "KafkaException",
    "NewTopic",
    "Producer",
    "TopicPartition",
    "cluster_metadata",
    "create_topics",
]


def cluster_metadata(bootstrap_servers: str, timeout: float = 5.0) -> Any:
    """Fetch cluster metadata (raises ``KafkaException`` when the broker does not answer)."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers, "socket.timeout.ms": int(timeout * 1000)})
    return admin.list_topics(timeout=timeout)


def create_topics(
    bootstrap_servers: str,
    topics: dict[str, int],
    config: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> None:
    """Create ``{name: partitions}`` topics, ignoring those that already exist."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=n, replication_factor=1, config=dict(config or {})) for name, n in topics.items()],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    for name, fut in futures.items():
        try:
            fut.result(timeout=timeout)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue
            raise
