"""The REST resources, one module per Kafka Connect resource class."""
