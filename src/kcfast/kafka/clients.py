"""Kafka clients built on confluent-kafka (librdkafka)."""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kcfast.kafka.security import is_security_key, librdkafka_security_config

__all__ = [
    "AdminClient",
    "Consumer",
    "KafkaError",
    "KafkaException",
    "NewTopic",
    "Producer",
    "TopicPartition",
    "cluster_id",
    "cluster_metadata",
    "alter_group_offsets",
    "create_topics",
    "delete_group",
    "list_group_offsets",
    "new_admin",
    "new_consumer",
    "new_producer",
    "new_source_producer",
    "translate_client_config",
]


_LIBRDKAFKA_LOG = logging.getLogger("kcfast.librdkafka")


def cluster_metadata(bootstrap_servers: str, timeout: float = 5.0) -> Any:
    """Fetch cluster metadata (raises ``KafkaException`` when the broker does not answer)."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers, "socket.timeout.ms": int(timeout * 1000),
                         "logger": _LIBRDKAFKA_LOG})
    return admin.list_topics(timeout=timeout)


def cluster_id(conf: dict[str, Any], timeout: float = 10.0, log: Any = None) -> str | None:
    """The id of the Kafka cluster that ``conf`` (Java-style client settings) reaches, from a DescribeCluster
    request, as Kafka's worker looks it up: no topic metadata is fetched, however many topics the cluster
    holds. Raises ``KafkaException`` when the cluster does not answer within ``timeout`` seconds."""
    admin = new_admin(conf, log)
    return admin.describe_cluster(request_timeout=timeout).result(timeout=timeout).cluster_id


def create_topics(
    bootstrap_servers: str,
    topics: dict[str, int],
    config: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> None:
    """Create ``{name: partitions}`` topics, ignoring those that already exist."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers, "logger": _LIBRDKAFKA_LOG})
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


# Java client settings that librdkafka spells differently, and how to translate their values.
_TRANSLATE: dict[str, tuple[str, Any]] = {
    "buffer.memory": ("queue.buffering.max.kbytes", lambda v: str(max(1, int(v) // 1024))),
}
# Java-only settings with no librdkafka equivalent: serializers are the converters' job in Connect, and
# the rest concern the JVM client's own threading and buffering.
_JAVA_ONLY = frozenset(
    {
        "key.serializer",
        "value.serializer",
        "key.deserializer",
        "value.deserializer",
        "max.block.ms",
        "max.poll.records",
        "interceptor.classes",
        "metric.reporters",
        "metrics.num.samples",
        "metrics.sample.window.ms",
        "metrics.recording.level",
        "auto.include.jmx.reporter",
        "partitioner.class",
        "partitioner.ignore.keys",
        "partitioner.adaptive.partitioning.enable",
        "exclude.internal.topics",
        "default.api.timeout.ms",
        "client.dns.lookup",
        "metadata.recovery.strategy",
        "enable.metrics.push",
        "retry.backoff.max.ms",
        "connections.max.idle.ms",
        "send.buffer.bytes",
        "receive.buffer.bytes",
        "reconnect.backoff.ms",
        "reconnect.backoff.max.ms",
    }
)


def translate_client_config(conf: dict[str, Any], log: Any = None) -> dict[str, Any]:
    """Translate Java Kafka client settings into librdkafka's, dropping Java-only keys with an info log.

    Security settings (``security.protocol``, ``sasl.*``, ``ssl.*``) go through
    :func:`kcfast.kafka.security.librdkafka_security_config`. Log lines name settings, never their values.

    Raises:
        ConfigError: a security setting kcfast cannot honour (the message never holds a secret).
    """
    out: dict[str, Any] = {}
    for key, value in conf.items():
        if value is None or is_security_key(key):
            continue
        if key in _JAVA_ONLY:
            if log is not None:
                log.info("Client setting %s has no librdkafka equivalent; ignored", key)
            continue
        if key in _TRANSLATE:
            new_key, fn = _TRANSLATE[key]
            out[new_key] = fn(value)
            continue
        out[key] = value if isinstance(value, (int, float, bool)) or callable(value) else str(value)
    security = {k: v for k, v in conf.items() if v is not None and is_security_key(k)}
    if security:
        for key, value in librdkafka_security_config(security, log).items():
            out[key] = value if isinstance(value, (int, float, bool)) else str(value)
    return out


def _unknown_property(exc: KafkaException) -> str | None:
    text = str(exc.args[0] if exc.args else exc)
    marker = 'No such configuration property: "'
    if marker in text:
        return text.split(marker, 1)[1].split('"', 1)[0]
    return None


def _create(factory: Any, conf: dict[str, Any], log: Any) -> Any:
    conf = dict(conf)
    conf.setdefault("logger", _LIBRDKAFKA_LOG)
    while True:
        try:
            return factory(conf)
        except KafkaException as exc:
            key = _unknown_property(exc)
            if key is None or key not in conf:
                raise
            if log is not None:
                log.warning("Client setting %s is not known to librdkafka; ignored", key)
            del conf[key]


def new_producer(conf: dict[str, Any], log: Any = None) -> Producer:
    """A producer from Java-style settings; settings librdkafka does not know are dropped with a warning."""
    return _create(Producer, translate_client_config(conf, log), log)


def new_source_producer(conf: dict[str, Any], log: Any = None) -> Any:
    """The producer of a source task: the core's ``DirectProducer`` when it can be used
    (:mod:`kcfast.kafka.direct`), else confluent-kafka's. Its delivery callbacks receive no message."""
    from kcfast.kafka.direct import new_direct_producer

    translated = translate_client_config(conf, log)
    producer = new_direct_producer(translated, _LIBRDKAFKA_LOG, log)
    return producer if producer is not None else _create(Producer, translated, log)


def new_consumer(conf: dict[str, Any], log: Any = None) -> Consumer:
    """A consumer from Java-style settings; settings librdkafka does not know are dropped with a warning."""
    return _create(Consumer, translate_client_config(conf, log), log)


def new_admin(conf: dict[str, Any], log: Any = None) -> AdminClient:
    """An admin client from Java-style settings."""
    return _create(AdminClient, translate_client_config(conf, log), log)


def _result(futures: Any, timeout: float) -> Any:
    values = list(futures.values()) if isinstance(futures, dict) else list(futures)
    return [f.result(timeout=timeout) for f in values]


def list_group_offsets(admin: AdminClient, group: str, timeout: float = 30.0) -> dict[tuple[str, int], int]:
    """Committed offsets of a consumer group (partitions without a committed offset are left out)."""
    from confluent_kafka import ConsumerGroupTopicPartitions

    try:
        results = _result(admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)]), timeout)
    except KafkaException as exc:
        err = exc.args[0] if exc.args else None
        if isinstance(err, KafkaError) and err.code() in (KafkaError.GROUP_ID_NOT_FOUND,):
            return {}
        raise
    out: dict[tuple[str, int], int] = {}
    for res in results:
        for tp in res.topic_partitions or []:
            if tp.error is None and tp.offset >= 0:
                out[(tp.topic, tp.partition)] = tp.offset
    return out


def delete_group(admin: AdminClient, group: str, timeout: float = 30.0) -> None:
    """Delete a consumer group and its offsets; a group that does not exist is not an error."""
    try:
        _result(admin.delete_consumer_groups([group], request_timeout=timeout), timeout)
    except KafkaException as exc:
        err = exc.args[0] if exc.args else None
        if isinstance(err, KafkaError) and err.code() == KafkaError.GROUP_ID_NOT_FOUND:
            return
        raise


def alter_group_offsets(
    admin: AdminClient, group: str, offsets: dict[tuple[str, int], int | None], timeout: float = 30.0
) -> None:
    """Set (int) or remove (None) committed offsets of an empty consumer group.

    librdkafka has no per-partition offset deletion, so removing offsets rebuilds the group: the offsets
    that stay are read, the group is deleted, and the remaining offsets are committed again. That is only
    correct for a group with no active members, which the offsets API requires anyway.
    """
    from confluent_kafka import ConsumerGroupTopicPartitions

    if any(v is None for v in offsets.values()):
        keep = list_group_offsets(admin, group, timeout)
        for tp, off in offsets.items():
            if off is None:
                keep.pop(tp, None)
            else:
                keep[tp] = off
        delete_group(admin, group, timeout)
        final: dict[tuple[str, int], int] = keep
    else:
        final = {tp: int(off) for tp, off in offsets.items() if off is not None}
    if not final:
        return
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(t, p, o) for (t, p), o in sorted(final.items())])
    for res in _result(admin.alter_consumer_group_offsets([request], request_timeout=timeout), timeout):
        for tp in res.topic_partitions or []:
            if tp.error is not None:
                raise KafkaException(tp.error)
