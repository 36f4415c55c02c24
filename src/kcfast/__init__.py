"""kcfast: a Kafka Connect worker with Python connectors and a compiled record path."""

from kcfast._version import KAFKA_VERSION, __version__

__all__ = ["__version__", "KAFKA_VERSION"]
