"""Worker and connector configuration: the keys, types, defaults and groups of Kafka Connect (spec 6 and 7).

- :func:`worker_config_def` and :class:`WorkerConfig`: the worker's ``.properties`` file (standalone or
  distributed). Unknown keys are logged and ignored, never fatal: a Kafka Connect worker file runs unchanged.
- :func:`source_connector_config_def`, :func:`sink_connector_config_def`: the framework keys of every connector,
  in Kafka's order and groups (what ``PUT /connector-plugins/{p}/config/validate`` lists).
- :func:`enrich`: adds ``transforms.<alias>.*`` and ``predicates.<alias>.*`` keys, including each plugin's own.
- :class:`SourceConnectorConfig`, :class:`SinkConnectorConfig`: parsed connector configurations.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kcfast.api.config import (
    NO_DEFAULT_VALUE,
    CaseInsensitiveValidString,
    CompositeValidator,
    Config,
    ConfigDef,
    Importance,
    LambdaValidator,
    NonEmptyStringWithoutControlChars,
    NonNullValidator,
    Range,
    Recommender,
    RegexValidator,
    Type,
    Validator,
    ValidString,
    Width,
)
from kcfast.api.validators import invalid_value
from kcfast.errors import ConfigError, ConnectError, NotFoundError

if TYPE_CHECKING:
    from kcfast.plugins import Plugins

__all__ = [
    "COMMON_GROUP",
    "ERROR_GROUP",
    "EXACTLY_ONCE_SUPPORT_GROUP",
    "OFFSETS_TOPIC_GROUP",
    "PREDICATES_GROUP",
    "TOPIC_CREATION_GROUP",
    "TRANSFORMS_GROUP",
    "ConnectorConfig",
    "SinkConnectorConfig",
    "SourceConnectorConfig",
    "WorkerConfig",
    "connector_config_def",
    "enrich",
    "sink_connector_config_def",
    "source_connector_config_def",
    "worker_config_def",
]

log = logging.getLogger(__name__)

COMMON_GROUP = "Common"
TRANSFORMS_GROUP = "Transforms"
PREDICATES_GROUP = "Predicates"
ERROR_GROUP = "Error Handling"
TOPIC_CREATION_GROUP = "Topic Creation"
EXACTLY_ONCE_SUPPORT_GROUP = "Exactly Once Support"
OFFSETS_TOPIC_GROUP = "offsets.topic"

SIMPLE_HEADER_CONVERTER = "org.apache.kafka.connect.storage.SimpleHeaderConverter"

# ---------------------------------------------------------------------------------------------------------------
# Worker configuration (WorkerConfig, RestServerConfig, StandaloneConfig, DistributedConfig)

_SSL_KEYS: tuple[tuple[str, Type, Any], ...] = (
    ("ssl.protocol", Type.STRING, "TLSv1.3"),
    ("ssl.provider", Type.STRING, None),
    ("ssl.cipher.suites", Type.LIST, None),
    ("ssl.enabled.protocols", Type.LIST, "TLSv1.2,TLSv1.3"),
    ("ssl.keystore.type", Type.STRING, "JKS"),
    ("ssl.keystore.location", Type.STRING, None),
    ("ssl.keystore.password", Type.PASSWORD, None),
    ("ssl.key.password", Type.PASSWORD, None),
    ("ssl.keystore.key", Type.PASSWORD, None),
    ("ssl.keystore.certificate.chain", Type.PASSWORD, None),
    ("ssl.truststore.certificates", Type.PASSWORD, None),
    ("ssl.truststore.type", Type.STRING, "JKS"),
    ("ssl.truststore.location", Type.STRING, None),
    ("ssl.truststore.password", Type.PASSWORD, None),
    ("ssl.keymanager.algorithm", Type.STRING, "SunX509"),
    ("ssl.trustmanager.algorithm", Type.STRING, "PKIX"),
    ("ssl.endpoint.identification.algorithm", Type.STRING, "https"),
    ("ssl.secure.random.implementation", Type.STRING, None),
    ("ssl.engine.factory.class", Type.CLASS, None),
)

_SASL_KEYS: tuple[tuple[str, Type, Any], ...] = (
    ("sasl.kerberos.service.name", Type.STRING, None),
    ("sasl.kerberos.kinit.cmd", Type.STRING, "/usr/bin/kinit"),
    ("sasl.kerberos.ticket.renew.window.factor", Type.DOUBLE, 0.8),
    ("sasl.kerberos.ticket.renew.jitter", Type.DOUBLE, 0.05),
    ("sasl.kerberos.min.time.before.relogin", Type.LONG, 60000),
    ("sasl.login.refresh.window.factor", Type.DOUBLE, 0.8),
    ("sasl.login.refresh.window.jitter", Type.DOUBLE, 0.05),
    ("sasl.login.refresh.min.period.seconds", Type.SHORT, 60),
    ("sasl.login.refresh.buffer.seconds", Type.SHORT, 300),
    ("sasl.mechanism", Type.STRING, "GSSAPI"),
    ("sasl.jaas.config", Type.PASSWORD, None),
    ("sasl.client.callback.handler.class", Type.CLASS, None),
    ("sasl.login.callback.handler.class", Type.CLASS, None),
    ("sasl.login.class", Type.CLASS, None),
)

#: Key prefixes a worker file may use beyond the defined keys (passed on to clients, converters, providers...).
_PASSTHROUGH_PREFIXES = (
    "producer.", "consumer.", "admin.", "key.converter.", "value.converter.", "header.converter.",
    "config.providers.", "listeners.https.", "admin.listeners.https.", "ssl.", "sasl.", "metrics.",
    "metric.reporters.", "rest.extension.",
)
_DISTRIBUTED_PASSTHROUGH_PREFIXES = ("config.storage.", "offset.storage.", "status.storage.")
#: Standard Kafka client settings given without a prefix (Kafka passes them to the worker's admin clients).
_CLIENT_KEYS = frozenset({
    "client.id", "security.protocol", "request.timeout.ms", "retry.backoff.ms", "retry.backoff.max.ms",
    "metadata.max.age.ms", "connections.max.idle.ms", "send.buffer.bytes", "receive.buffer.bytes",
    "reconnect.backoff.ms", "reconnect.backoff.max.ms", "socket.connection.setup.timeout.ms",
    "socket.connection.setup.timeout.max.ms", "client.rack", "default.api.timeout.ms",
})
_REMOVED_KEYS = {
    "internal.key.converter": "internal topics always use the JsonConverter with schemas.enable=false",
    "internal.value.converter": "internal topics always use the JsonConverter with schemas.enable=false",
    "rest.host.name": "it was removed in Kafka 3.0; use listeners",
    "rest.port": "it was removed in Kafka 3.0; use listeners",
}


def _worker_base_def(plugins: Plugins | None) -> ConfigDef:
    d = ConfigDef()
    d.define("bootstrap.servers", Type.LIST, "localhost:9092", importance=Importance.HIGH,
             documentation="Kafka brokers to connect to first, as host:port pairs.")
    d.define("client.dns.lookup", Type.STRING, "use_all_dns_ips",
             ValidString.in_("use_all_dns_ips", "resolve_canonical_bootstrap_servers_only"), Importance.MEDIUM,
             "How clients resolve broker host names.")
    d.define("key.converter", Type.CLASS, NO_DEFAULT_VALUE, _converter_validator(plugins, "Converter"),
             Importance.HIGH, "Converter between Connect data and the bytes of record keys.")
    d.define("value.converter", Type.CLASS, NO_DEFAULT_VALUE, _converter_validator(plugins, "Converter"),
             Importance.HIGH, "Converter between Connect data and the bytes of record values.")
    d.define("task.shutdown.graceful.timeout.ms", Type.LONG, 5000, importance=Importance.LOW,
             documentation="Time given to all tasks together to stop gracefully.")
    d.define("offset.flush.interval.ms", Type.LONG, 60000, importance=Importance.LOW,
             documentation="Interval between offset commits of tasks.")
    d.define("offset.flush.timeout.ms", Type.LONG, 5000, importance=Importance.LOW,
             documentation="Time allowed for an offset flush before it is cancelled.")
    d.define("plugin.path", Type.LIST, None, importance=Importance.LOW,
             documentation="Directories searched for plugin modules and packages (added to the Python path).")
    d.define("plugin.discovery", Type.STRING, "hybrid_warn",
             CaseInsensitiveValidString.in_("only_scan", "hybrid_warn", "hybrid_fail", "service_load"),
             Importance.LOW, "Plugin discovery mode (accepted for compatibility).")
    d.define("metrics.sample.window.ms", Type.LONG, 30000, Range.at_least(0), Importance.LOW,
             "Window of a metrics sample.")
    d.define("metrics.num.samples", Type.INT, 2, Range.at_least(1), Importance.LOW,
             "Number of samples kept to compute metrics.")
    d.define("metrics.recording.level", Type.STRING, "INFO", ValidString.in_("INFO", "DEBUG"), Importance.LOW,
             "Highest recording level of metrics.")
    d.define("metric.reporters", Type.LIST, "", importance=Importance.LOW,
             documentation="Metrics reporter classes (accepted for compatibility).")
    d.define("auto.include.jmx.reporter", Type.BOOLEAN, True, importance=Importance.LOW,
             documentation="Accepted for compatibility; kcfast has no JMX.")
    d.define("header.converter", Type.CLASS, SIMPLE_HEADER_CONVERTER,
             _converter_validator(plugins, "HeaderConverter"), Importance.LOW,
             "Converter between Connect header values and bytes.")
    d.define("config.providers", Type.LIST, [], importance=Importance.LOW,
             documentation="Names of config providers resolving ${provider:path:key} variables.")
    d.define("connector.client.config.override.policy", Type.STRING, "All", importance=Importance.MEDIUM,
             documentation="Policy deciding which client settings connectors may override (All, None, Principal).")
    d.define("topic.creation.enable", Type.BOOLEAN, True, importance=Importance.LOW,
             documentation="Whether source connectors may create their topics (topic.creation.* settings).")
    for name, type_, default in _SSL_KEYS:
        d.define(name, type_, default, importance=Importance.LOW, documentation="Client TLS setting.")
    d.define("topic.tracking.enable", Type.BOOLEAN, True, importance=Importance.LOW,
             documentation="Whether the topics each connector uses are tracked.")
    d.define("topic.tracking.allow.reset", Type.BOOLEAN, True, importance=Importance.LOW,
             documentation="Whether tracked topics may be reset through the REST API.")
    d.define("listeners", Type.LIST, "http://:8083", importance=Importance.LOW,
             documentation="URIs the REST API listens on.")
    d.define("rest.advertised.host.name", Type.STRING, None, importance=Importance.LOW,
             documentation="Host name given to other workers.")
    d.define("rest.advertised.port", Type.INT, None, importance=Importance.LOW,
             documentation="Port given to other workers.")
    d.define("rest.advertised.listener", Type.STRING, None, importance=Importance.LOW,
             documentation="Listener (http or https) given to other workers.")
    d.define("access.control.allow.origin", Type.STRING, "", importance=Importance.LOW,
             documentation="CORS allowed origin; blank disables CORS.")
    d.define("access.control.allow.methods", Type.STRING, "", importance=Importance.LOW,
             documentation="CORS allowed methods.")
    d.define("response.http.headers.config", Type.STRING, "", importance=Importance.LOW,
             documentation="Rules adding headers to REST responses.")
    d.define("ssl.client.auth", Type.STRING, "none", ValidString.in_("required", "requested", "none"),
             Importance.LOW, "Whether HTTPS listeners ask for client certificates.")
    d.define("rest.extension.classes", Type.LIST, "", importance=Importance.LOW,
             documentation="REST extension classes.")
    d.define("admin.listeners", Type.LIST, None, importance=Importance.LOW,
             documentation="Listeners of the /admin endpoints; unset = the main listeners, empty = disabled.")
    return d


def _distributed_keys(d: ConfigDef) -> None:
    high, medium, low = Importance.HIGH, Importance.MEDIUM, Importance.LOW
    d.define("group.id", Type.STRING, NO_DEFAULT_VALUE, importance=high,
             documentation="Group of the workers of this Connect cluster.")
    d.define("session.timeout.ms", Type.INT, 10000, importance=high, documentation="Worker session timeout.")
    d.define("rebalance.timeout.ms", Type.INT, 60000, importance=high, documentation="Rebalance timeout.")
    d.define("heartbeat.interval.ms", Type.INT, 3000, importance=high, documentation="Heartbeat interval.")
    d.define("exactly.once.source.support", Type.STRING, "disabled",
             ValidString.in_("disabled", "enabled", "preparing"), high,
             "Exactly-once support for source connectors.")
    d.define("metadata.max.age.ms", Type.LONG, 300000, Range.at_least(0), low, "Metadata refresh interval.")
    d.define("client.id", Type.STRING, "", importance=low, documentation="Client id prefix of the worker.")
    d.define("send.buffer.bytes", Type.INT, 131072, Range.at_least(-1), medium, "Socket send buffer.")
    d.define("receive.buffer.bytes", Type.INT, 32768, Range.at_least(-1), medium, "Socket receive buffer.")
    d.define("reconnect.backoff.ms", Type.LONG, 50, Range.at_least(0), low, "Reconnect backoff.")
    d.define("reconnect.backoff.max.ms", Type.LONG, 1000, Range.at_least(0), low, "Maximum reconnect backoff.")
    d.define("socket.connection.setup.timeout.ms", Type.LONG, 10000, Range.at_least(0), low,
             "Connection setup timeout.")
    d.define("socket.connection.setup.timeout.max.ms", Type.LONG, 30000, Range.at_least(0), low,
             "Maximum connection setup timeout.")
    d.define("retry.backoff.ms", Type.LONG, 100, Range.at_least(0), low, "Retry backoff.")
    d.define("retry.backoff.max.ms", Type.LONG, 1000, Range.at_least(0), low, "Maximum retry backoff.")
    d.define("request.timeout.ms", Type.INT, 40000, Range.at_least(0), medium, "Request timeout.")
    d.define("connections.max.idle.ms", Type.LONG, 540000, importance=medium,
             documentation="Idle connections are closed after this time.")
    d.define("security.protocol", Type.STRING, "PLAINTEXT",
             ValidString.in_("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"), medium,
             "Protocol used to talk to brokers.")
    d.define("worker.sync.timeout.ms", Type.INT, 3000, importance=medium,
             documentation="Time to wait for a worker to catch up with the config topic.")
    d.define("worker.unsync.backoff.ms", Type.INT, 300000, importance=medium,
             documentation="Backoff before rejoining when a worker cannot catch up.")
    d.define("offset.storage.topic", Type.STRING, NO_DEFAULT_VALUE, importance=high,
             documentation="Topic holding source connector offsets.")
    d.define("offset.storage.partitions", Type.INT, 25, importance=low,
             documentation="Partitions of the offsets topic when it is created.")
    d.define("offset.storage.replication.factor", Type.SHORT, 3, importance=low,
             documentation="Replication factor of the offsets topic when it is created (-1: broker default).")
    d.define("config.storage.topic", Type.STRING, NO_DEFAULT_VALUE, importance=high,
             documentation="Topic holding connector and task configurations.")
    d.define("config.storage.replication.factor", Type.SHORT, 3, importance=low,
             documentation="Replication factor of the config topic when it is created (-1: broker default).")
    d.define("status.storage.topic", Type.STRING, NO_DEFAULT_VALUE, importance=high,
             documentation="Topic holding connector and task statuses.")
    d.define("status.storage.partitions", Type.INT, 5, importance=low,
             documentation="Partitions of the status topic when it is created.")
    d.define("status.storage.replication.factor", Type.SHORT, 3, importance=low,
             documentation="Replication factor of the status topic when it is created (-1: broker default).")
    d.define("connect.protocol", Type.STRING, "sessioned", ValidString.in_("eager", "compatible", "sessioned"),
             low, "Group protocol of the workers.")
    d.define("scheduled.rebalance.max.delay.ms", Type.INT, 300000, Range.between(0, 2**31 - 1), low,
             "How long the leader waits for a departed worker before reassigning its work.")
    d.define("inter.worker.key.ttl.ms", Type.INT, 3600000, Range.between(0, 2**31 - 1), low,
             "Lifetime of the key signing internal requests.")
    d.define("inter.worker.key.generation.algorithm", Type.STRING, "HmacSHA256", importance=low,
             documentation="Algorithm generating the internal request key.")
    d.define("inter.worker.key.size", Type.INT, None, importance=low,
             documentation="Size of the internal request key in bits.")
    d.define("inter.worker.signature.algorithm", Type.STRING, "HmacSHA256", importance=low,
             documentation="Algorithm signing internal requests.")
    d.define("inter.worker.verification.algorithms", Type.LIST, "HmacSHA256", importance=low,
             documentation="Algorithms accepted when verifying internal requests.")
    d.define("metadata.recovery.strategy", Type.STRING, "none", CaseInsensitiveValidString.in_("none", "rebootstrap"),
             low, "What clients do when all known brokers are unavailable.")
    for name, type_, default in _SASL_KEYS:
        d.define(name, type_, default, importance=low, documentation="Client SASL setting.")


def worker_config_def(distributed: bool = False, plugins: Plugins | None = None) -> ConfigDef:
    """The worker's configuration keys: the common ones plus standalone-only or distributed-only ones.

    Args:
        distributed: define the distributed worker's keys instead of ``offset.storage.file.filename``.
        plugins: when given, the converter keys are checked to name converter classes.
    """
    d = _worker_base_def(plugins)
    if distributed:
        _distributed_keys(d)
    else:
        d.define("offset.storage.file.filename", Type.STRING, NO_DEFAULT_VALUE, importance=Importance.HIGH,
                 documentation="File holding source connector offsets (Kafka Connect's standalone format).")
    return d


class WorkerConfig(Config):
    """A parsed worker configuration.

    Args:
        props: the worker file's keys and values (strings).
        distributed: parse it as a distributed worker's configuration.
        plugins: when given, converter class names are checked.

    Raises:
        ConfigError: a required key is missing or a value is invalid (Kafka's message).
    """

    def __init__(self, props: Mapping[str, Any], distributed: bool = False, plugins: Plugins | None = None) -> None:
        self.distributed = distributed
        definition = worker_config_def(distributed, plugins)
        super().__init__(definition, props)
        self._log_unknown(definition, props)

    def _log_unknown(self, definition: ConfigDef, props: Mapping[str, Any]) -> None:
        prefixes = _PASSTHROUGH_PREFIXES + (_DISTRIBUTED_PASSTHROUGH_PREFIXES if self.distributed else ())
        for key in props:
            base = next((k for k in _REMOVED_KEYS if key == k or key.startswith(k + ".")), None)
            if base is not None:
                log.warning("Worker configuration '%s' is ignored: %s", key, _REMOVED_KEYS[base])
            elif key not in definition and key not in _CLIENT_KEYS and not key.startswith(prefixes):
                log.info("The configuration '%s' was supplied but isn't a known config; it is ignored.", key)

    @property
    def plugin_path(self) -> list[str]:
        """The ``plugin.path`` directories (empty if unset)."""
        return list(self.get_list("plugin.path") or [])

    @property
    def bootstrap_servers(self) -> str:
        """``bootstrap.servers`` as the comma-separated string librdkafka takes."""
        return ",".join(self.get_list("bootstrap.servers") or [])

    @property
    def offset_flush_interval_ms(self) -> int:
        """``offset.flush.interval.ms``."""
        return int(self.get_long("offset.flush.interval.ms") or 0)

    @property
    def offset_flush_timeout_ms(self) -> int:
        """``offset.flush.timeout.ms``."""
        return int(self.get_long("offset.flush.timeout.ms") or 0)

    @property
    def task_shutdown_graceful_timeout_ms(self) -> int:
        """``task.shutdown.graceful.timeout.ms``."""
        return int(self.get_long("task.shutdown.graceful.timeout.ms") or 0)

    @property
    def offset_storage_file_filename(self) -> str | None:
        """``offset.storage.file.filename`` (standalone only; ``None`` for a distributed worker)."""
        return None if self.distributed else self.get_string("offset.storage.file.filename")

    def converter_class_name(self, kind: str) -> str:
        """The class name configured for ``kind`` (``key``, ``value`` or ``header``) converters."""
        from kcfast.api._config_types import class_name

        return class_name(self.get(f"{kind}.converter"))

    def converter_config(self, kind: str) -> dict[str, Any]:
        """The ``<kind>.converter.*`` settings with the prefix removed (what the converter is configured with)."""
        return self.originals_with_prefix(f"{kind}.converter.")

    def client_config(self, prefix: str) -> dict[str, Any]:
        """The worker-level ``producer.*``, ``consumer.*`` or ``admin.*`` settings, prefix removed."""
        return self.originals_with_prefix(prefix if prefix.endswith(".") else prefix + ".")


# ---------------------------------------------------------------------------------------------------------------
# Connector configuration (ConnectorConfig, SourceConnectorConfig, SinkConnectorConfig)


def _base_class(kind: str) -> type | None:
    if kind in ("Converter", "HeaderConverter"):
        from kcfast.api.converter import Converter, HeaderConverter

        return Converter if kind == "Converter" else HeaderConverter
    if kind in ("Transformation", "Predicate"):
        from kcfast.api.transforms import Predicate, Transformation

        return Transformation if kind == "Transformation" else Predicate
    return None


def _resolve_class(plugins: Plugins, name: str, value: Any, kind: str) -> type:
    """Resolve a CLASS value and check it is a concrete ``kind``; raises Kafka's ConfigException texts."""
    import inspect

    from kcfast.plugins import class_name

    if isinstance(value, type):
        cls = value
    else:
        try:
            cls, _ = plugins.plugin_class(str(value))
        except (NotFoundError, ConnectError):
            raise invalid_value(name, value, f"Class {value} could not be found.") from None
    base = _base_class(kind)
    if base is not None and not (isinstance(cls, type) and issubclass(cls, base)):
        raise ConfigError(f"Class class {class_name(cls)} does not implement the {kind} interface")
    if inspect.isabstract(cls):
        raise ConfigError(f"This class is an abstract class and therefore cannot be created: {class_name(cls)}")
    return cls


def _converter_validator(plugins: Plugins | None, kind: str) -> Validator | None:
    if plugins is None:
        return None

    def ensure(name: str, value: Any) -> None:
        if value is None:
            return
        cls = _resolve_class(plugins, name, value, kind)
        try:
            cls()
        except Exception as exc:
            raise invalid_value(name, value, f"Could not instantiate class: {exc}") from exc

    return LambdaValidator(ensure, lambda: f"A concrete subclass of {kind}, with a no-argument constructor")


def _unique_aliases(kind: str) -> Validator:
    def ensure(name: str, value: Any) -> None:
        if len(value) > len(set(value)):
            raise invalid_value(name, value, "Duplicate alias provided.")

    return CompositeValidator([NonNullValidator(), LambdaValidator(ensure, lambda: f"unique {kind} aliases")])


def connector_config_def(plugins: Plugins | None = None) -> ConfigDef:
    """The keys every connector has (Kafka's ``ConnectorConfig.configDef()``), in Kafka's order."""
    d = ConfigDef()
    order = 0

    def nxt() -> int:
        nonlocal order
        order += 1
        return order

    d.define("name", Type.STRING, NO_DEFAULT_VALUE, NonEmptyStringWithoutControlChars(), Importance.HIGH,
             "Unique name of the connector.", COMMON_GROUP, nxt(), Width.MEDIUM, "Connector name")
    d.define("connector.class", Type.STRING, NO_DEFAULT_VALUE, None, Importance.HIGH,
             "Class of the connector: a Java class name of a built-in, an alias (the simple class name, with or "
             "without its 'Connector' suffix), an entry point name or a Python dotted path.",
             COMMON_GROUP, nxt(), Width.LONG, "Connector class")
    d.define("tasks.max", Type.INT, 1, Range.at_least(1), Importance.HIGH,
             "Maximum number of tasks to run for this connector.", COMMON_GROUP, nxt(), Width.SHORT, "Tasks max")
    d.define("tasks.max.enforce", Type.BOOLEAN, True, None, Importance.LOW,
             "Whether to fail a connector that generates more tasks than tasks.max (deprecated).",
             COMMON_GROUP, nxt(), Width.SHORT, "Enforce tasks max")
    d.define("key.converter", Type.CLASS, None, _converter_validator(plugins, "Converter"), Importance.LOW,
             "Key converter of this connector, overriding the worker's.", COMMON_GROUP, nxt(), Width.SHORT,
             "Key converter class")
    d.define("value.converter", Type.CLASS, None, _converter_validator(plugins, "Converter"), Importance.LOW,
             "Value converter of this connector, overriding the worker's.", COMMON_GROUP, nxt(), Width.SHORT,
             "Value converter class")
    d.define("header.converter", Type.CLASS, None, _converter_validator(plugins, "HeaderConverter"),
             Importance.LOW, "Header converter of this connector, overriding the worker's.", COMMON_GROUP, nxt(),
             Width.SHORT, "Header converter class")
    d.define("transforms", Type.LIST, [], _unique_aliases("transformation"), Importance.LOW,
             "Aliases of the transformations applied to records, in order.", TRANSFORMS_GROUP, nxt(), Width.LONG,
             "Transforms")
    d.define("predicates", Type.LIST, [], _unique_aliases("predicate"), Importance.LOW,
             "Aliases of the predicates transformations may be conditioned on.", PREDICATES_GROUP, nxt(),
             Width.LONG, "Predicates")
    d.define("config.action.reload", Type.STRING, "restart", ValidString.in_("none", "restart"), Importance.LOW,
             "What to do when a config provider reports a changed value: 'restart' the connector, or 'none'.",
             COMMON_GROUP, nxt(), Width.MEDIUM, "Reload Action")
    errors = 0

    def nxt_error() -> int:
        nonlocal errors
        errors += 1
        return errors

    d.define("errors.retry.timeout", Type.LONG, 0, None, Importance.MEDIUM,
             "How long a failed operation is retried, in milliseconds; 0 = no retries, -1 = forever.",
             ERROR_GROUP, nxt_error(), Width.MEDIUM, "Retry Timeout for Errors")
    d.define("errors.retry.delay.max.ms", Type.LONG, 60000, None, Importance.MEDIUM,
             "Longest delay between retries, in milliseconds.", ERROR_GROUP, nxt_error(), Width.MEDIUM,
             "Maximum Delay Between Retries for Errors")
    d.define("errors.tolerance", Type.STRING, "none", ValidString.in_("none", "all"), Importance.MEDIUM,
             "'none' fails the task at the first error; 'all' skips records that fail.", ERROR_GROUP,
             nxt_error(), Width.SHORT, "Error Tolerance")
    d.define("errors.log.enable", Type.BOOLEAN, False, None, Importance.MEDIUM,
             "Whether failed operations and records are logged.", ERROR_GROUP, nxt_error(), Width.SHORT,
             "Log Errors")
    d.define("errors.log.include.messages", Type.BOOLEAN, False, None, Importance.MEDIUM,
             "Whether logged errors include the record.", ERROR_GROUP, nxt_error(), Width.SHORT,
             "Log Error Details")
    return d


def sink_connector_config_def(plugins: Plugins | None = None) -> ConfigDef:
    """The keys of every sink connector (Kafka's ``SinkConnectorConfig``)."""
    d = connector_config_def(plugins)
    d.define("topics", Type.LIST, "", None, Importance.HIGH,
             "Topics to consume; set this or topics.regex.", COMMON_GROUP, 4, Width.LONG, "Topics")
    d.define("topics.regex", Type.STRING, "", RegexValidator(), Importance.HIGH,
             "Regular expression of the topics to consume; set this or topics.", COMMON_GROUP, 4, Width.LONG,
             "Topics regex")
    d.define("errors.deadletterqueue.topic.name", Type.STRING, "", None, Importance.MEDIUM,
             "Topic receiving the records that failed (empty: no dead letter queue).", ERROR_GROUP, 6,
             Width.MEDIUM, "Dead Letter Queue Topic Name")
    d.define("errors.deadletterqueue.topic.replication.factor", Type.SHORT, 3, None, Importance.MEDIUM,
             "Replication factor of the dead letter queue topic when it is created.", ERROR_GROUP, 7,
             Width.MEDIUM, "Dead Letter Queue Topic Replication Factor")
    d.define("errors.deadletterqueue.context.headers.enable", Type.BOOLEAN, False, None, Importance.MEDIUM,
             "Whether dead letter queue records carry headers describing the failure.", ERROR_GROUP, 8,
             Width.MEDIUM, "Enable Error Context Headers")
    return d


def _optional_at_least_zero(name: str, value: Any) -> None:
    if value is not None:
        Range.at_least(0).ensure_valid(name, value)


def source_connector_config_def(plugins: Plugins | None = None) -> ConfigDef:
    """The keys of every source connector (Kafka's ``SourceConnectorConfig``)."""
    from kcfast.api.validators import NonEmptyString

    d = connector_config_def(plugins)
    d.define("topic.creation.groups", Type.LIST, [], _unique_aliases("topic creation group"), Importance.LOW,
             "Groups of settings for the topics the connector creates.", TOPIC_CREATION_GROUP, 1, Width.LONG,
             "Topic Creation Groups")
    d.define("exactly.once.support", Type.STRING, "requested", CaseInsensitiveValidString.in_("requested", "required"),
             Importance.MEDIUM, "'required' makes creation fail unless the connector declares exactly-once "
             "support; 'requested' does not check.", EXACTLY_ONCE_SUPPORT_GROUP, 2, Width.SHORT,
             "Exactly once support")
    d.define("transaction.boundary", Type.STRING, "poll",
             CaseInsensitiveValidString.in_("poll", "interval", "connector"), Importance.MEDIUM,
             "When producer transactions are committed: after each poll, at an interval, or when the connector "
             "says so.", EXACTLY_ONCE_SUPPORT_GROUP, 3, Width.SHORT, "Transaction Boundary")
    d.define("transaction.boundary.interval.ms", Type.LONG, None,
             LambdaValidator(_optional_at_least_zero, lambda: "[0,...]"), Importance.LOW,
             "Transaction commit interval with transaction.boundary=interval (default: offset.flush.interval.ms).",
             EXACTLY_ONCE_SUPPORT_GROUP, 4, Width.SHORT, "Transaction boundary interval")
    d.define("offsets.storage.topic", Type.STRING, None, NonEmptyString(), Importance.LOW,
             "A separate offsets topic for this connector (distributed mode only).", OFFSETS_TOPIC_GROUP, 1,
             Width.LONG, "Offsets topic")
    return d


class _ClassRecommender(Recommender):
    def __init__(self, plugins: Plugins, ptype: str) -> None:
        self._plugins = plugins
        self._ptype = ptype

    def valid_values(self, name: str, parsed_config: Mapping[str, Any]) -> list[Any]:
        return [d.class_name for d in self._plugins.plugins(self._ptype)]

    def visible(self, name: str, parsed_config: Mapping[str, Any]) -> bool:
        return True


def _enrich_aliases(new: ConfigDef, plugins: Plugins, props: Mapping[str, Any], alias_config: str, group_name: str,
                    kind: str, require_full_config: bool) -> None:
    from kcfast.api._config_types import parse_type

    aliases = parse_type(alias_config, props.get(alias_config), Type.LIST)
    if not isinstance(aliases, list):
        return
    for alias in dict.fromkeys(aliases):
        if not isinstance(alias, str):
            raise ConfigError(f"Item in {alias_config} property is not of type String")
        prefix = f"{alias_config}.{alias}."
        group = f"{group_name}: {alias}"
        type_key = prefix + "type"

        def ensure(name: str, value: Any, prefix: str = prefix) -> None:
            if kind == "Transformation" and prefix + "negate" in props and prefix + "predicate" not in props:
                raise ConfigError(f"Config '{prefix}negate' was provided but there is no config '{prefix}predicate' "
                                  "defining a predicate to be negated.")
            if value is not None:
                _plugin_config_def(plugins, name, value, kind)

        def describe(text: str = f"valid configs for {alias} {kind.lower()}") -> str:
            return text

        new.define(type_key, Type.CLASS, NO_DEFAULT_VALUE, LambdaValidator(ensure, describe), Importance.HIGH,
                   f"Class for the '{alias}' {kind.lower()}.", group, 0, Width.LONG, f"{kind} type for {alias}", (),
                   _ClassRecommender(plugins, kind.lower()))
        child = ConfigDef()
        if kind == "Transformation":
            child.define("predicate", Type.STRING, None, importance=Importance.MEDIUM,
                         documentation="Alias of the predicate deciding whether this transformation applies.")
            child.define("negate", Type.BOOLEAN, False, importance=Importance.MEDIUM,
                         documentation="Apply the transformation when the predicate is false instead.")
        try:
            value = props.get(type_key)
            if value is None:
                raise invalid_value(type_key, None, f"Not a {kind}")
            plugin_def = _plugin_config_def(plugins, type_key, value, kind)
            for key in plugin_def.config_keys().values():
                if kind == "Transformation" and key.name in ("predicate", "negate"):
                    log.warning("Transformer config %s is masked by implicit config of that name", key.name)
                    continue
                child.define_key(key)
        except ConfigError:
            if require_full_config:
                raise
            continue
        new.embed(prefix, group, 1, child)


def _plugin_config_def(plugins: Plugins, name: str, value: Any, kind: str) -> ConfigDef:
    from kcfast.plugins import class_name

    cls = _resolve_class(plugins, name, value, kind)
    try:
        instance = cls()
    except Exception as exc:
        raise invalid_value(name, class_name(cls), f"Error getting config definition from {kind}: {exc}") from exc
    definition: ConfigDef | None = instance.config()
    if definition is None:
        raise ConnectError(f"{class_name(cls)}.config() must return a ConfigDef that is not null.")
    return definition


def enrich(plugins: Plugins, base: ConfigDef, props: Mapping[str, Any], require_full_config: bool = False) -> ConfigDef:
    """``base`` plus the keys of each transformation and predicate alias in ``props`` (Kafka's ``enrich``).

    For each alias of ``transforms``: ``transforms.<a>.type`` (CLASS, required, group ``Transforms: <a>``), then
    ``.predicate``, ``.negate`` and the transformation's own keys under ``transforms.<a>.``; likewise for
    ``predicates``.

    Args:
        plugins: resolves the ``type`` classes.
        base: the connector's definition (source or sink).
        props: the raw connector configuration.
        require_full_config: raise when a ``type`` does not name a usable class (creating a connector) instead
            of leaving its keys out (validating a configuration).

    Raises:
        ConfigError: with ``require_full_config``, a missing or unusable ``type`` class.
    """
    new = ConfigDef(base)
    _enrich_aliases(new, plugins, props, "transforms", TRANSFORMS_GROUP, "Transformation", require_full_config)
    _enrich_aliases(new, plugins, props, "predicates", PREDICATES_GROUP, "Predicate", require_full_config)
    return new


class ConnectorConfig(Config):
    """A parsed connector configuration, with the keys of its transformations and predicates when ``plugins``
    is given.

    Raises:
        ConfigError: a required key is missing or a value is invalid.
    """

    def __init__(self, props: Mapping[str, Any], plugins: Plugins | None = None,
                 definition: ConfigDef | None = None) -> None:
        base = definition if definition is not None else connector_config_def(plugins)
        if plugins is not None:
            base = enrich(plugins, base, props, require_full_config=True)
        super().__init__(base, props)

    @property
    def name(self) -> str:
        """``name``."""
        return str(self.get_string("name"))

    @property
    def connector_class(self) -> str:
        """``connector.class`` as written."""
        return str(self.get_string("connector.class"))

    @property
    def tasks_max(self) -> int:
        """``tasks.max``."""
        return int(self.get_int("tasks.max") or 1)

    @property
    def transform_aliases(self) -> list[str]:
        """``transforms``."""
        return list(self.get_list("transforms") or [])

    @property
    def predicate_aliases(self) -> list[str]:
        """``predicates``."""
        return list(self.get_list("predicates") or [])


class SourceConnectorConfig(ConnectorConfig):
    """A parsed source connector configuration."""

    def __init__(self, props: Mapping[str, Any], plugins: Plugins | None = None) -> None:
        super().__init__(props, plugins, source_connector_config_def(plugins))


class SinkConnectorConfig(ConnectorConfig):
    """A parsed sink connector configuration."""

    def __init__(self, props: Mapping[str, Any], plugins: Plugins | None = None) -> None:
        super().__init__(props, plugins, sink_connector_config_def(plugins))
