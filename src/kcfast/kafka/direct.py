"""The source tasks' producer: the core's ``DirectProducer`` on the librdkafka confluent-kafka loaded.

confluent-kafka builds a ``Message`` object and an argument tuple for every delivery report, and parses
keyword arguments and allocates a state for every ``produce``; the core's ``DirectProducer`` calls the same
librdkafka without either (benchmarks/README.md, "Source loop"). It is used when:

- the compiled core is in use (not the pure-Python twin),
- the librdkafka library confluent-kafka loaded is found among the process's libraries and its version is
  the one confluent-kafka reports,
- every setting is a string, number or boolean (a Python callback, such as an OAuth token refresher, needs
  confluent-kafka), and
- ``KCFAST_DIRECT_PRODUCER`` is not ``0``.

Otherwise the caller uses confluent-kafka's ``Producer``, which behaves the same for a source task.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import confluent_kafka
from confluent_kafka import KafkaError, KafkaException

from kcfast import core

__all__ = ["is_direct_producer", "new_direct_producer", "unavailable_reason"]

_UNKNOWN = object()
_reason: Any = _UNKNOWN

# librdkafka logs with syslog levels.
_LEVELS = {0: logging.CRITICAL, 1: logging.CRITICAL, 2: logging.CRITICAL, 3: logging.ERROR, 4: logging.WARNING,
           5: logging.INFO, 6: logging.INFO, 7: logging.DEBUG}


def _loaded_librdkafka() -> str | None:
    """The path of the librdkafka shared library mapped into this process, if there is one."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                fields = line.split(maxsplit=5)
                if len(fields) == 6 and os.path.basename(fields[5].strip()).startswith("librdkafka"):
                    return fields[5].strip()
    except OSError:
        return None
    return None


def unavailable_reason() -> str | None:
    """``None`` when the direct producer can be used, else why it cannot (checked once per process)."""
    global _reason
    if os.environ.get("KCFAST_DIRECT_PRODUCER", "1").lower() in ("0", "false", "no"):
        return "KCFAST_DIRECT_PRODUCER is off"
    if _reason is _UNKNOWN:
        if core.IMPLEMENTATION != "cython":
            _reason = "the pure-Python core is in use"
        else:
            path = _loaded_librdkafka()
            if path is None:
                _reason = "librdkafka was not found among the process's libraries"
            else:
                from kcfast._core import load_librdkafka

                _reason = load_librdkafka(path, confluent_kafka.libversion()[1])
    return _reason


def is_direct_producer(producer: Any) -> bool:
    """Whether ``producer`` is the core's ``DirectProducer``."""
    if core.IMPLEMENTATION != "cython":
        return False
    from kcfast._core import DirectProducer

    return type(producer) is DirectProducer


def _error(code: int, reason: str) -> KafkaError:
    return KafkaError(code, reason)


def new_direct_producer(conf: dict[str, Any], logger: logging.Logger, log: Any = None) -> Any | None:
    """A ``DirectProducer`` from librdkafka settings (``translate_client_config``'s output), or ``None`` when
    it cannot be used. librdkafka's log lines go to ``logger``; settings librdkafka does not know are dropped
    with a warning on ``log``, as for the other clients.

    Raises:
        KafkaException: a setting has a value librdkafka rejects.
    """
    if unavailable_reason() is not None:
        return None
    settings = {k: v for k, v in conf.items() if k != "logger"}
    if any(callable(v) for v in settings.values()):
        return None

    def log_line(level: int, facility: str, client: str, text: str) -> None:
        logger.log(_LEVELS.get(level, logging.DEBUG), "%s [%s] %s", facility, client, text)

    from kcfast._core import DirectProducer

    try:
        producer = DirectProducer(settings, log_line, _error, KafkaException)
    except ValueError as exc:
        raise KafkaException(KafkaError(KafkaError._INVALID_ARG, str(exc))) from None
    if log is not None:
        for key in producer.ignored:
            log.warning("Client setting %s is not known to librdkafka; ignored", key)
    return producer
