"""The one exception hierarchy of kcfast.

Both implementations of the record core import these classes; neither defines its own. The names mirror
Kafka Connect's exceptions (``ConnectException`` -> ``ConnectError`` and so on).
"""

from __future__ import annotations


class KcfastError(Exception):
    """Base class of every error kcfast raises on purpose."""


class ConnectError(KcfastError):
    """A failure in a connector, a task or the framework (Java ``ConnectException``)."""


class RetriableError(ConnectError):
    """A transient failure: the operation may succeed if retried (Java ``RetriableException``)."""


class DataError(ConnectError, ValueError):
    """Data that cannot be converted, validated or projected (Java ``DataException``)."""


class SchemaBuilderError(DataError):
    """An invalid schema definition (Java ``SchemaBuilderException``)."""


class SchemaProjectorError(DataError):
    """A value that cannot be projected onto a target schema (Java ``SchemaProjectorException``)."""


class NotFoundError(ConnectError, LookupError):
    """A connector, task, plugin or other named entity does not exist (Java ``NotFoundException``)."""


class AlreadyExistsError(ConnectError):
    """A connector or other entity already exists (Java ``AlreadyExistsException``)."""


class IllegalWorkerStateError(ConnectError):
    """The worker is in a state that does not allow the operation (Java ``IllegalWorkerStateException``)."""


class RebalanceNeededError(ConnectError):
    """A rebalance is pending, so the request cannot be completed now (Java ``RebalanceNeededException``)."""


class ConfigError(KcfastError, ValueError):
    """An invalid or missing configuration value (Java ``ConfigException``)."""

    def __init__(self, name: str, value: object = None, message: str | None = None) -> None:
        if message is None:
            text = name
        else:
            text = f"Invalid value {value} for configuration {name}: {message}"
        super().__init__(text)
        self.name = name
        self.value = value


class BadRequestError(ConnectError):
    """A REST request that cannot be served as given (answered with HTTP 400)."""


class RestError(ConnectError):
    """An error with an explicit HTTP status (Java ``ConnectRestException``)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


__all__ = [
    "KcfastError",
    "ConnectError",
    "RetriableError",
    "DataError",
    "SchemaBuilderError",
    "SchemaProjectorError",
    "NotFoundError",
    "AlreadyExistsError",
    "IllegalWorkerStateError",
    "RebalanceNeededError",
    "ConfigError",
    "BadRequestError",
    "RestError",
]
