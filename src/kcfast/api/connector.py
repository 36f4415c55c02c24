"""Connectors: the plugins that configure and divide a data-copying job into tasks.

Mirrors Kafka Connect's ``Connector``, ``SourceConnector``, ``SinkConnector`` and their contexts with Python
naming. The worker creates one connector instance per configured connector, calls :meth:`Connector.initialize`,
then :meth:`Connector.start`, asks for :meth:`Connector.task_configs`, and calls :meth:`Connector.stop` when the
connector is paused, reconfigured or deleted. All calls on one instance come from one thread at a time.

A minimal source connector::

    class MySourceConnector(SourceConnector):
        def version(self): return "1.0"
        def config(self): return CONFIG_DEF
        def start(self, props): self.props = dict(props)
        def task_class(self): return MySourceTask
        def task_configs(self, max_tasks): return [dict(self.props)]
        def stop(self): pass
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kcfast.api.common import TopicPartition, Versioned
from kcfast.api.config import ConfigDef, ConfigValidation
from kcfast.errors import ConnectError

if TYPE_CHECKING:
    from kcfast.api.task import OffsetStorageReader, Task


class ConnectorContext(abc.ABC):
    """What a connector can ask of the worker (Java ``ConnectorContext``); implemented by the runtime."""

    @abc.abstractmethod
    def request_task_reconfiguration(self) -> None:
        """Ask the worker to call :meth:`Connector.task_configs` again and restart tasks if they changed."""

    @abc.abstractmethod
    def raise_error(self, error: BaseException) -> None:
        """Report an unrecoverable error: the connector is marked FAILED."""


class SourceConnectorContext(ConnectorContext):
    """The context of a source connector: also reads committed source offsets."""

    @abc.abstractmethod
    def offset_storage_reader(self) -> OffsetStorageReader:
        """A reader of the offsets the connector's tasks committed."""


class SinkConnectorContext(ConnectorContext):
    """The context of a sink connector (nothing beyond :class:`ConnectorContext`)."""


class Connector(Versioned, abc.ABC):
    """Base of all connectors (Java ``Connector``).

    Subclasses implement :meth:`version`, :meth:`start`, :meth:`task_class`, :meth:`task_configs`,
    :meth:`stop` and :meth:`config`.
    """

    _context: ConnectorContext | None = None

    def initialize(self, context: ConnectorContext, task_configs: list[dict[str, str]] | None = None) -> None:
        """Give the connector its context; ``task_configs`` (the current task configs, if any) is ignored."""
        self._context = context

    @property
    def context(self) -> ConnectorContext:
        """The context given to :meth:`initialize`.

        Raises:
            ConnectError: the connector has not been initialized.
        """
        if self._context is None:
            raise ConnectError(f"{type(self).__qualname__} has not been initialized with a context")
        return self._context

    @abc.abstractmethod
    def version(self) -> str:
        """The connector's version."""

    @abc.abstractmethod
    def start(self, props: Mapping[str, str]) -> None:
        """Start the connector with its configuration; called once after :meth:`initialize`."""

    def reconfigure(self, props: Mapping[str, str]) -> None:
        """Apply a new configuration; by default :meth:`stop` then :meth:`start`."""
        self.stop()
        self.start(props)

    @abc.abstractmethod
    def task_class(self) -> type[Task]:
        """The :class:`~kcfast.api.task.Task` class this connector's tasks are instances of."""

    @abc.abstractmethod
    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        """Configurations for at most ``max_tasks`` tasks (one dict per task)."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop the connector and release what it holds."""

    def validate(self, connector_configs: Mapping[str, str]) -> ConfigValidation:
        """Validate a configuration; by default against :meth:`config`.

        Raises:
            ConnectError: :meth:`config` returned ``None``.
        """
        config_def = self.config()
        if config_def is None:
            cls = type(self)
            raise ConnectError(
                f"{cls.__module__}.{cls.__qualname__}.config() must return a ConfigDef that is not null."
            )
        return ConfigValidation(config_def.validate(connector_configs))

    @abc.abstractmethod
    def config(self) -> ConfigDef:
        """The definition of this connector's own configuration keys."""


class ExactlyOnceSupport(enum.Enum):
    """Whether a source connector can deliver exactly once with a given configuration."""

    SUPPORTED = "SUPPORTED"
    UNSUPPORTED = "UNSUPPORTED"


class ConnectorTransactionBoundaries(enum.Enum):
    """Whether a source connector can define its own transaction boundaries."""

    SUPPORTED = "SUPPORTED"
    UNSUPPORTED = "UNSUPPORTED"


class SourceConnector(Connector):
    """A connector whose tasks read from another system and produce records to Kafka."""

    @property
    def context(self) -> SourceConnectorContext:
        """The context given to :meth:`initialize`."""
        return super().context  # type: ignore[return-value]

    def exactly_once_support(self, connector_config: Mapping[str, str]) -> ExactlyOnceSupport | None:
        """Whether exactly-once delivery is possible with ``connector_config``; ``None`` (the default) = unknown."""
        return None

    def can_define_transaction_boundaries(
        self, connector_config: Mapping[str, str]
    ) -> ConnectorTransactionBoundaries:
        """Whether tasks may define transaction boundaries (``transaction.boundary=connector``); default no."""
        return ConnectorTransactionBoundaries.UNSUPPORTED

    def alter_offsets(
        self,
        connector_config: Mapping[str, str],
        offsets: Sequence[tuple[Mapping[str, Any], Mapping[str, Any] | None]],
    ) -> bool:
        """Check (or apply) offsets a user is writing through the REST API, before the worker writes them.

        Args:
            connector_config: the connector's configuration.
            offsets: ``(source_partition, source_offset)`` pairs (dicts are not hashable, so this is a list
                rather than Java's map); a ``None`` offset resets that partition.

        Returns:
            True if the connector manages or acknowledged the offsets, False (the default) otherwise.

        Raises:
            ConnectError: the offsets are not acceptable; the REST request fails with its message.
        """
        return False


class SinkConnector(Connector):
    """A connector whose tasks consume records from Kafka and write them to another system."""

    TOPICS_CONFIG = "topics"
    TOPICS_REGEX_CONFIG = "topics.regex"

    @property
    def context(self) -> SinkConnectorContext:
        """The context given to :meth:`initialize`."""
        return super().context  # type: ignore[return-value]

    def alter_offsets(
        self, connector_config: Mapping[str, str], offsets: Mapping[TopicPartition, int | None]
    ) -> bool:
        """Check (or apply) consumer offsets a user is writing through the REST API; ``None`` = reset.

        Returns:
            True if the connector manages or acknowledged the offsets, False (the default) otherwise.
        """
        return False


__all__ = [
    "Connector",
    "ConnectorContext",
    "ConnectorTransactionBoundaries",
    "ExactlyOnceSupport",
    "SinkConnector",
    "SinkConnectorContext",
    "SourceConnector",
    "SourceConnectorContext",
]
