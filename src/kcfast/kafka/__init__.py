"""The one door to librdkafka: only this package imports ``confluent_kafka``."""
