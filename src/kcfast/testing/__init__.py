"""Test kit shipped with kcfast: an embedded Kafka-compatible broker for tests, demos and benchmarks."""

from kcfast.testing.embedded import EmbeddedKafka, free_port

__all__ = ["EmbeddedKafka", "free_port"]
