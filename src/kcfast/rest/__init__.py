"""The REST API of the worker (aiohttp): Kafka Connect's endpoints, status codes and JSON shapes."""
