"""Test kit shipped with kcfast: an embedded Kafka-compatible broker for tests, demos and benchmarks."""

from kcfast.testing.distributed import (
    Cluster,
    Worker,
    assert_no_gap,
    committed,
    read_topic,
    sequences,
    synthetic,
    wait_for,
)
from kcfast.testing.embedded import EmbeddedKafka, free_port
from kcfast.testing.standalone import RestClient, StandaloneProcess, properties_with

__all__ = [
    "Cluster",
    "EmbeddedKafka",
    "RestClient",
    "StandaloneProcess",
    "Worker",
    "assert_no_gap",
    "committed",
    "free_port",
    "properties_with",
    "read_topic",
    "sequences",
    "synthetic",
    "wait_for",
]
