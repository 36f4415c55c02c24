"""Source topic creation: ``topic.creation.*`` groups and the admin calls that create a topic before its
first record is sent (Kafka's ``TopicCreation``, ``TopicCreationGroup`` and ``TopicCreationConfig``; spec
section 7).

A source connector uses topic creation when any of its keys starts with ``topic.creation.`` and the worker has
``topic.creation.enable=true`` (the default). The ``default`` group always exists and needs
``topic.creation.default.replication.factor`` and ``topic.creation.default.partitions`` (-1: the broker's
default); its ``include``/``exclude`` keys are ignored (it matches every topic). Each group listed in
``topic.creation.groups`` has ``include`` and ``exclude`` lists of regular expressions (a topic matches when
it fully matches one include and no exclude), ``replication.factor`` and ``partitions`` (defaulting to the
default group's), and passes every other ``topic.creation.<group>.<key>`` to the broker as a topic config. A
new topic takes the first listed group that matches it, else the default group.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from kcfast.api._config_types import NO_DEFAULT_VALUE, Importance, Type, Width, parse_type
from kcfast.api.config import ConfigDef
from kcfast.api.validators import LambdaValidator, NonNullValidator
from kcfast.errors import ConfigError, ConnectError

log = logging.getLogger(__name__)

TOPIC_CREATION_PREFIX = "topic.creation."
TOPIC_CREATION_GROUPS_CONFIG = TOPIC_CREATION_PREFIX + "groups"
DEFAULT_TOPIC_CREATION_GROUP = "default"
DEFAULT_TOPIC_CREATION_PREFIX = TOPIC_CREATION_PREFIX + DEFAULT_TOPIC_CREATION_GROUP + "."
INCLUDE_REGEX_CONFIG = "include"
EXCLUDE_REGEX_CONFIG = "exclude"
REPLICATION_FACTOR_CONFIG = "replication.factor"
PARTITIONS_CONFIG = "partitions"
TOPIC_CREATION_GROUP = "Topic Creation"
_RESERVED = frozenset({INCLUDE_REGEX_CONFIG, EXCLUDE_REGEX_CONFIG, REPLICATION_FACTOR_CONFIG,
                       PARTITIONS_CONFIG})

#: How long one admin call for topic creation may take, in seconds.
ADMIN_TIMEOUT_S = 30.0


# -- configuration -------------------------------------------------------------------------------------------


def _validate_partitions(name: str, value: Any) -> None:
    if value is not None and value != -1 and value < 1:
        raise ConfigError(name, value,
                          "Number of partitions must be positive, or -1 to use the broker's default")


def _validate_replication_factor(name: str, value: Any) -> None:
    if value is not None and value != -1 and value < 1:
        raise ConfigError(name, value,
                          "Replication factor must be positive and not larger than the number of brokers in "
                          "the Kafka cluster, or -1 to use the broker's default")


def _validate_regexes(name: str, value: Any) -> None:
    from kcfast.transforms._regex import JavaRegexError, compile_java_regex

    for pattern in value or ():
        try:
            compile_java_regex(pattern)
        except JavaRegexError as exc:
            raise ConfigError(name, value, f"Syntax error in regular expression: {exc}") from exc


PARTITIONS_VALIDATOR = LambdaValidator(_validate_partitions,
                                       lambda: "Positive number, or -1 to use the broker's default")
REPLICATION_FACTOR_VALIDATOR = LambdaValidator(
    _validate_replication_factor,
    lambda: "Positive number not larger than the number of brokers in the Kafka cluster, or -1 to use the "
            "broker's default",
)
# Kafka's description of this validator is the partitions text, copied by mistake; kept as users see it.
REGEX_VALIDATOR = LambdaValidator(_validate_regexes,
                                  lambda: "Positive number, or -1 to use the broker's default")


def default_group_config_def() -> ConfigDef:
    """The keys of the ``default`` group (embedded under ``topic.creation.default.``)."""
    group = DEFAULT_TOPIC_CREATION_GROUP
    return (
        ConfigDef()
        .define(INCLUDE_REGEX_CONFIG, Type.LIST, ".*", NonNullValidator(), Importance.LOW,
                "Regular expressions of the topics this group creates.", group, 1, Width.LONG,
                f"Inclusion Topic Pattern for {group}")
        .define(EXCLUDE_REGEX_CONFIG, Type.LIST, [], NonNullValidator(), Importance.LOW,
                "Regular expressions of the topics this group does not create (exclusion wins).",
                group, 2, Width.LONG, f"Exclusion Topic Pattern for {group}")
        .define(REPLICATION_FACTOR_CONFIG, Type.SHORT, NO_DEFAULT_VALUE, REPLICATION_FACTOR_VALIDATOR,
                Importance.LOW, "Replication factor of the topics this group creates (-1: broker default).",
                group, 3, Width.LONG, f"Replication Factor for Topics in {group}")
        .define(PARTITIONS_CONFIG, Type.INT, NO_DEFAULT_VALUE, PARTITIONS_VALIDATOR, Importance.LOW,
                "Partitions of the topics this group creates (-1: broker default).", group, 4, Width.LONG,
                f"Partition Count for Topics in {group}")
    )


def group_config_def(group: str, default_replication_factor: Any, default_partitions: Any) -> ConfigDef:
    """The keys of a listed group; ``replication.factor`` and ``partitions`` default to the default
    group's."""
    return (
        ConfigDef()
        .define(INCLUDE_REGEX_CONFIG, Type.LIST, [], REGEX_VALIDATOR, Importance.LOW,
                "Regular expressions of the topics this group creates.", group, 1, Width.LONG,
                f"Inclusion Topic Pattern for {group}")
        .define(EXCLUDE_REGEX_CONFIG, Type.LIST, [], REGEX_VALIDATOR, Importance.LOW,
                "Regular expressions of the topics this group does not create (exclusion wins).",
                group, 2, Width.LONG, f"Exclusion Topic Pattern for {group}")
        .define(REPLICATION_FACTOR_CONFIG, Type.SHORT, default_replication_factor,
                REPLICATION_FACTOR_VALIDATOR, Importance.LOW,
                "Replication factor of the topics this group creates (default: the default group's).", group,
                3, Width.LONG, f"Replication Factor for Topics in {group}")
        .define(PARTITIONS_CONFIG, Type.INT, default_partitions, PARTITIONS_VALIDATOR, Importance.LOW,
                "Partitions of the topics this group creates (default: the default group's).", group, 4,
                Width.LONG, f"Partition Count for Topics in {group}")
    )


def uses_topic_creation(props: Mapping[str, Any]) -> bool:
    """Whether a source connector configuration has any ``topic.creation.`` key."""
    return any(str(k).startswith(TOPIC_CREATION_PREFIX) for k in props)


def group_names(props: Mapping[str, Any]) -> list[str]:
    """The listed groups, without ``default`` and duplicates, in order."""
    names = parse_type(TOPIC_CREATION_GROUPS_CONFIG, props.get(TOPIC_CREATION_GROUPS_CONFIG), Type.LIST)
    if not isinstance(names, list):
        return []
    if DEFAULT_TOPIC_CREATION_GROUP in names:
        log.warning("'%s' topic creation group always exists and does not need to be listed explicitly",
                    DEFAULT_TOPIC_CREATION_GROUP)
    return [g for g in dict.fromkeys(names) if g != DEFAULT_TOPIC_CREATION_GROUP]


def enrich_config_def(base: ConfigDef, props: Mapping[str, Any]) -> ConfigDef:
    """``base`` plus the topic creation keys of ``props``: the default group's, then each listed group's
    (Kafka's ``SourceConnectorConfig.enrich`` over ``embedDefaultGroup``), for validation.

    A listed group's ``replication.factor``/``partitions`` default to the default group's values when those
    parse, else stay required.
    """
    new = ConfigDef(base)
    new.embed(DEFAULT_TOPIC_CREATION_PREFIX, DEFAULT_TOPIC_CREATION_GROUP, 0, default_group_config_def())
    rf = _parsed_or_required(props, DEFAULT_TOPIC_CREATION_PREFIX + REPLICATION_FACTOR_CONFIG, Type.SHORT)
    partitions = _parsed_or_required(props, DEFAULT_TOPIC_CREATION_PREFIX + PARTITIONS_CONFIG, Type.INT)
    for group in group_names(props):
        label = f"{TOPIC_CREATION_GROUP}: {group}"
        new.embed(f"{TOPIC_CREATION_PREFIX}{group}.", label, 0, group_config_def(label, rf, partitions))
    return new


def _parsed_or_required(props: Mapping[str, Any], name: str, type_: Type) -> Any:
    if name not in props:
        return NO_DEFAULT_VALUE
    try:
        return parse_type(name, props[name], type_)
    except ConfigError:
        return NO_DEFAULT_VALUE


class TopicCreationGroup:
    """The settings of the topics one group creates."""

    def __init__(self, name: str, include: list[str], exclude: list[str], partitions: int,
                 replication_factor: int, configs: Mapping[str, str]) -> None:
        from kcfast.transforms._regex import compile_java_regex

        self.name = name
        self.include = list(include)
        self.exclude = list(exclude)
        self.partitions = int(partitions)
        self.replication_factor = int(replication_factor)
        self.configs = dict(configs)
        self._include = compile_java_regex("|".join(self.include))
        self._exclude = compile_java_regex("|".join(self.exclude))

    def matches(self, topic: str) -> bool:
        """Whether ``topic`` fully matches an inclusion pattern and no exclusion pattern."""
        return self._exclude.fullmatch(topic) is None and self._include.fullmatch(topic) is not None

    def __repr__(self) -> str:
        return (f"TopicCreationGroup{{name='{self.name}', inclusionPattern={'|'.join(self.include)}, "
                f"exclusionPattern={'|'.join(self.exclude)}, numPartitions={self.partitions}, "
                f"replicationFactor={self.replication_factor}, otherConfigs={self.configs}}}")


def configured_groups(props: Mapping[str, Any]) -> dict[str, TopicCreationGroup]:
    """Parse the topic creation groups of a source connector configuration, the listed ones in order and then
    ``default``; empty when the configuration has no ``topic.creation.`` key.

    Raises:
        ConfigError: a required key is missing or a value is invalid.
    """
    if not uses_topic_creation(props):
        return {}
    raw = {str(k): v for k, v in props.items() if v is not None}
    for key in (INCLUDE_REGEX_CONFIG, EXCLUDE_REGEX_CONFIG):
        raw.pop(DEFAULT_TOPIC_CREATION_PREFIX + key, None)
    parsed = enrich_config_def(ConfigDef(), props).parse(raw)
    groups: dict[str, TopicCreationGroup] = {}
    for name in [*group_names(props), DEFAULT_TOPIC_CREATION_GROUP]:
        prefix = f"{TOPIC_CREATION_PREFIX}{name}."
        others = {k[len(prefix):]: str(v) for k, v in raw.items()
                  if k.startswith(prefix) and k[len(prefix):] not in _RESERVED}
        groups[name] = TopicCreationGroup(
            name, parsed[prefix + INCLUDE_REGEX_CONFIG], parsed[prefix + EXCLUDE_REGEX_CONFIG],
            parsed[prefix + PARTITIONS_CONFIG], parsed[prefix + REPLICATION_FACTOR_CONFIG], others,
        )
    return groups


def topic_creation_enabled(worker_props: Mapping[str, Any]) -> bool:
    """The worker's ``topic.creation.enable`` (default true)."""
    return str(worker_props.get("topic.creation.enable", "true")).strip().lower() != "false"


def check_source_config(worker_props: Mapping[str, Any], connector_props: Mapping[str, Any]) -> None:
    """Read a source connector's topic creation groups as Kafka does when the connector starts.

    Kafka's preflight validation reads only ``topic.creation.groups`` (duplicate groups are an error); the
    groups' own keys (a missing ``topic.creation.default.replication.factor`` or ``partitions``, a partition
    count of 0, a bad regular expression) are read when the connector instance is created, so a bad one fails
    the connector (status FAILED, no tasks) instead of its tasks. Nothing is read when the worker disables topic
    creation or the configuration has no ``topic.creation.`` key.

    Raises:
        ConfigError: a required key is missing or a value is invalid (Kafka's ``ConfigException`` text).
    """
    if topic_creation_enabled(worker_props):
        configured_groups(connector_props)


# -- admin calls ---------------------------------------------------------------------------------------------


def create_topic(admin: Any, name: str, partitions: int, replication_factor: int,
                 configs: Mapping[str, str] | None = None, timeout: float = ADMIN_TIMEOUT_S) -> bool | None:
    """Create a topic unless it exists.

    Returns:
        ``True`` if it was created, ``False`` if it already existed, ``None`` if the broker refused for lack
        of permission or support (the topic may exist or be auto-created by the broker).

    Raises:
        ConnectError: any other failure.
    """
    from kcfast.kafka.clients import KafkaError, KafkaException, NewTopic

    try:
        if name in admin.list_topics(timeout=timeout).topics:
            return False
    except KafkaException as exc:
        log.debug("Could not list topics before creating '%s': %s", name, exc)
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=replication_factor,
                  config=dict(configs or {}))],
        operation_timeout=timeout, request_timeout=timeout,
    )
    try:
        futures[name].result(timeout=timeout + 5)
        return True
    except KafkaException as exc:
        err = exc.args[0] if exc.args else None
        code = err.code() if isinstance(err, KafkaError) else None
        if code == KafkaError.TOPIC_ALREADY_EXISTS:
            return False
        if code in (KafkaError.CLUSTER_AUTHORIZATION_FAILED, KafkaError.TOPIC_AUTHORIZATION_FAILED,
                    KafkaError.UNSUPPORTED_VERSION, KafkaError._UNSUPPORTED_FEATURE):
            log.debug("Unable to create topic '%s' (%s). Falling back to assume the topic exists or will be "
                      "auto-created by the broker.", name, err)
            return None
        text = err.str() if isinstance(err, KafkaError) else str(exc)
        raise ConnectError(f"Error while attempting to create/find topic(s) '{name}': {text}") from exc


class TopicCreation:
    """Creates the topics of one source task before their first record is sent.

    Thread-safety: used from the task's thread only.

    Args:
        default_group: the ``default`` group.
        groups: the listed groups, in order.
        admin_config: settings of the admin client (created on first need).
        admin_factory: builds the admin client (``kcfast.kafka.clients.new_admin`` by default).
        logger: where to log.
    """

    def __init__(self, default_group: TopicCreationGroup, groups: Mapping[str, TopicCreationGroup],
                 admin_config: Mapping[str, Any] | None = None,
                 admin_factory: Callable[..., Any] | None = None, logger: Any = None) -> None:
        self.default_group = default_group
        self.groups = {name: g for name, g in groups.items() if name != DEFAULT_TOPIC_CREATION_GROUP}
        self.admin_config = dict(admin_config or {})
        self._admin_factory = admin_factory
        self._admin: Any = None
        self._known: set[str] = set()
        self.log = logger if logger is not None else log

    @classmethod
    def from_config(cls, worker_props: Mapping[str, Any], connector_props: Mapping[str, Any],
                    admin_config: Mapping[str, Any] | None = None,
                    admin_factory: Callable[..., Any] | None = None,
                    logger: Any = None) -> TopicCreation | None:
        """The topic creation of a source connector, or ``None`` when the worker disables it
        (``topic.creation.enable=false``) or the connector has no ``topic.creation.`` key.

        Raises:
            ConfigError: the connector's topic creation keys are invalid.
        """
        if not topic_creation_enabled(worker_props) or not uses_topic_creation(connector_props):
            return None
        groups = configured_groups(connector_props)
        return cls(groups[DEFAULT_TOPIC_CREATION_GROUP], groups, admin_config, admin_factory, logger)

    def is_required(self, topic: str) -> bool:
        """Whether ``topic`` has not been found or created yet."""
        return topic not in self._known

    def add_topic(self, topic: str) -> None:
        """Remember that ``topic`` exists."""
        self._known.add(topic)

    def find_first_group(self, topic: str) -> TopicCreationGroup:
        """The first listed group that matches ``topic``, else the default group."""
        for group in self.groups.values():
            if group.matches(topic):
                return group
        return self.default_group

    def maybe_create(self, topic: str) -> None:
        """Create ``topic`` with its group's settings unless it exists or was handled before.

        Raises:
            ConnectError: the topic could not be found nor created.
        """
        if topic in self._known:
            return
        self.log.info("The task will send records to topic '%s' for the first time. Checking whether topic "
                      "exists", topic)
        group = self.find_first_group(topic)
        self.log.debug("Topic '%s' matched topic creation group: %r", topic, group)
        created = create_topic(self._admin_client(), topic, group.partitions, group.replication_factor,
                               group.configs)
        if created is None:
            self.log.warning("Request to create new topic '%s' failed", topic)
            raise ConnectError(
                f"Task failed to create new topic {topic}. Ensure that the task is authorized to create "
                "topics or that the topic exists and restart the task")
        if created:
            self.log.info("Created topic '%s' using creation group %r", topic, group)
        else:
            self.log.info("Topic '%s' already exists.", topic)
        self._known.add(topic)

    def _admin_client(self) -> Any:
        if self._admin is None:
            from kcfast.kafka.clients import new_admin

            factory = self._admin_factory or new_admin
            self._admin = factory(self.admin_config, self.log)
        return self._admin

    def close(self) -> None:
        """Drop the admin client."""
        self._admin = None


__all__ = [
    "DEFAULT_TOPIC_CREATION_GROUP",
    "TopicCreation",
    "TopicCreationGroup",
    "check_source_config",
    "configured_groups",
    "create_topic",
    "default_group_config_def",
    "enrich_config_def",
    "group_config_def",
    "topic_creation_enabled",
    "uses_topic_creation",
]
