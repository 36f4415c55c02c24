"""Single source of kcfast's version."""

__version__ = "0.1.0"

#: The Apache Kafka Connect release whose observable behaviour kcfast matches.
KAFKA_VERSION = "3.9.0"
