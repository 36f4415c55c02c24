"""Test kit shipped with kcfast: an embedded Kafka-compatible broker for tests, demos and benchmarks."""

from kcfast.testing.embedded import EmbeddedKafka, free_port
from kcfast.testing.standalone import RestClient, StandaloneProcess, properties_with

__all__ = ["EmbeddedKafka", "RestClient", "StandaloneProcess", "free_port", "properties_with"]
