"""Dynamic log levels over Python logging, with log4j level names (``/admin/loggers``, Kafka's ``Loggers``).

Kafka Connect shows and accepts log4j level names; Python's levels map onto them (``WARNING`` is ``WARN``,
``CRITICAL`` is ``FATAL``; ``TRACE`` is 5, ``ALL`` 1, ``OFF`` above every level).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def _now_ms() -> int:
    return int(time.time() * 1000)


#: log4j level names and the Python levels they map to.
LOG4J_LEVELS = {"ALL": 1, "TRACE": 5, "DEBUG": 10, "INFO": 20, "WARN": 30, "ERROR": 40, "FATAL": 50, "OFF": 100}


def log4j_level_name(levelno: int) -> str:
    """The log4j name of a Python level: the highest log4j level at or below it (``WARNING`` -> ``WARN``)."""
    name = "ALL"
    for candidate, number in LOG4J_LEVELS.items():
        if levelno >= number:
            name = candidate
    return name


class Loggers:
    """Reads and sets Python logger levels with log4j names, as Kafka's ``Loggers`` does for log4j.

    Thread-safe. Changes are in memory only: a restarted worker has its configured levels again.
    """

    ROOT = "root"

    def __init__(self, wall_ms: Callable[[], int] = _now_ms) -> None:
        self._wall_ms = wall_ms
        self._lock = threading.Lock()
        self._last_modified: dict[str, int] = {}

    @staticmethod
    def _current() -> dict[str, logging.Logger]:
        items = list(logging.Logger.manager.loggerDict.items())
        return {name: lg for name, lg in items if isinstance(lg, logging.Logger)}

    def _describe(self, name: str, logger: logging.Logger) -> dict[str, Any]:
        levelno = logger.level or logger.getEffectiveLevel()
        return {"level": log4j_level_name(levelno), "last_modified": self._last_modified.get(name)}

    def level(self, name: str) -> dict[str, Any] | None:
        """``{"level", "last_modified"}`` of an existing logger (effective level if unset), else ``None``."""
        with self._lock:
            if name.lower() == self.ROOT:
                return self._describe(self.ROOT, logging.getLogger())
            logger = self._current().get(name)
            return None if logger is None else self._describe(name, logger)

    def all_levels(self) -> dict[str, dict[str, Any]]:
        """Every logger with an explicitly set level, plus ``root``, sorted by name."""
        with self._lock:
            result = {n: self._describe(n, lg) for n, lg in self._current().items() if lg.level != logging.NOTSET}
            root = logging.getLogger()
            if root.level != logging.NOTSET:
                result[self.ROOT] = self._describe(self.ROOT, root)
            return dict(sorted(result.items()))

    def set_level(self, namespace: str, level: str) -> list[str]:
        """Set ``level`` on every logger whose name starts with ``namespace`` (and on the namespace itself).

        Returns:
            The sorted names of the loggers in the namespace; empty if ``level`` is not a log4j level.
        """
        levelno = LOG4J_LEVELS.get(level.upper())
        if levelno is None:
            log.warning("Ignoring request to set invalid level '%s' for namespace %s", level, namespace)
            return []
        with self._lock:
            current = self._current()
            if namespace.lower() == self.ROOT:
                targets = dict(current)
                targets[self.ROOT] = logging.getLogger()
            else:
                targets = {n: lg for n, lg in current.items() if n.startswith(namespace)}
                if namespace not in targets:
                    targets[namespace] = logging.getLogger(namespace)
            log.info("Setting level of namespace %s and children to %s", namespace, level.upper())
            for name, logger in targets.items():
                if (logger.level or logger.getEffectiveLevel()) != levelno:
                    logger.setLevel(levelno)
                    self._last_modified[name] = self._wall_ms()
            return sorted(targets)


__all__ = ["LOG4J_LEVELS", "Loggers", "log4j_level_name"]
