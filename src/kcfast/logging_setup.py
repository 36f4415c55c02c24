"""Logging of a kcfast worker: Kafka Connect's line format and connector context, and logging config files.

Kafka Connect prefixes every line logged on behalf of a connector with its context (log4j's MDC key
``connector.context``): ``[name|worker]`` for the connector, ``[name|task-0]`` for a task, ``[name|task-0|offsets]``
for its offset commits and ``[name|validate]`` for validation. kcfast does the same with a context variable set by
:class:`LoggingContext`; every log record gets it as ``%(connector_context)s``, so the lines a connector's own
code logs (with ``logging.getLogger(__name__)``) carry the prefix too. The default line format is Kafka's
``[%d] %p %X{connector.context}%m (%c:%L)%n``.

:func:`configure_logging` sets logging up from, in order of preference:

- a file given to it (``kcfast --log-config FILE``): a Python ``logging.config.dictConfig`` document in JSON
  (``.json``) or YAML (``.yaml``/``.yml``, needs PyYAML), or a log4j 1.x properties file such as Kafka's own
  ``config/connect-log4j.properties`` (any other name);
- ``-Dlog4j.configuration=file:FILE`` in ``KAFKA_LOG4J_OPTS``, as Kafka's scripts pass it;
- else one stderr handler with Kafka's format at ``INFO``.

A level given to it (``--log-level``) then overrides the root level. From log4j properties kcfast reads the
root logger's level and appenders, ``log4j.logger.<name>`` levels (``org.apache.kafka.connect`` names also set
the matching ``kcfast`` logger), ``ConsoleAppender`` (``Target``), ``FileAppender``, ``RollingFileAppender``
(``MaxFileSize``, ``MaxBackupIndex``), ``DailyRollingFileAppender`` (``DatePattern``), ``PatternLayout``
patterns, ``Threshold``, and ``${...}`` variables (from the file, the environment, and ``kafka.logs.dir``, which
is ``$LOG_DIR`` or ``logs`` as in Kafka's scripts).
"""

from __future__ import annotations

import contextvars
import json
import logging
import logging.config
import os
import re
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from kcfast.errors import ConfigError
from kcfast.properties import parse_properties
from kcfast.rest.loggers import LOG4J_LEVELS

#: Kafka Connect's line format (``[%d] %p %X{connector.context}%m (%c:%L)%n``) in Python's terms.
DEFAULT_FORMAT = "[%(asctime)s] %(levelname)s %(connector_context)s%(message)s (%(name)s:%(lineno)d)"

_CONTEXT: contextvars.ContextVar[str] = contextvars.ContextVar("kcfast_connector_context", default="")
_JAVA_PREFIX = "org.apache.kafka.connect"


def connector_context() -> str:
    """The connector context of the current thread (``"[name|task-0] "``), or ``""``."""
    return _CONTEXT.get()


class LoggingContext:
    """Sets the connector context of log lines for the duration of a ``with`` block (Kafka's ``LoggingContext``).

    Example::

        with LoggingContext.for_task(task_id):
            task.poll()          # its log lines read "[name|task-0] ..."
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._token: contextvars.Token[str] | None = None

    @classmethod
    def for_connector(cls, connector: str) -> LoggingContext:
        """``[name|worker]``: the connector instance."""
        return cls(f"[{connector}|worker] ")

    @classmethod
    def for_task(cls, task_id: Any) -> LoggingContext:
        """``[name|task-N]``: a task (``task_id`` has ``connector`` and ``task``)."""
        return cls(f"[{task_id.connector}|task-{task_id.task}] ")

    @classmethod
    def for_offsets(cls, task_id: Any) -> LoggingContext:
        """``[name|task-N|offsets]``: a task's offset commits."""
        return cls(f"[{task_id.connector}|task-{task_id.task}|offsets] ")

    @classmethod
    def for_validation(cls, connector: str) -> LoggingContext:
        """``[name|validate]``: validation of a connector config."""
        return cls(f"[{connector}|validate] ")

    def __enter__(self) -> LoggingContext:
        self._token = _CONTEXT.set(self.prefix)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._token is not None:
            _CONTEXT.reset(self._token)
            self._token = None


_FACTORY_INSTALLED = False


def install_record_factory() -> None:
    """Give every log record a ``connector_context`` attribute (idempotent)."""
    global _FACTORY_INSTALLED
    if _FACTORY_INSTALLED:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.connector_context = _CONTEXT.get()
        return record

    logging.setLogRecordFactory(factory)
    _FACTORY_INSTALLED = True


def use_log4j_level_names() -> None:
    """Print levels with log4j's names (``WARN``, ``FATAL``, ``TRACE``), as Kafka's log lines show them."""
    logging.addLevelName(logging.WARNING, "WARN")
    logging.addLevelName(logging.CRITICAL, "FATAL")
    logging.addLevelName(LOG4J_LEVELS["TRACE"], "TRACE")


def parse_level(level: str) -> int:
    """A log4j or Python level name as a Python level number (``ConfigError`` if unknown)."""
    name = level.strip().upper()
    if name in LOG4J_LEVELS:
        return LOG4J_LEVELS[name]
    if name in ("WARNING", "CRITICAL", "NOTSET"):
        return int(logging.getLevelName(name))
    raise ConfigError(f"Unknown log level '{level}'; expected one of {', '.join(LOG4J_LEVELS)}")


# -- log4j 1.x properties ------------------------------------------------------------------------------------

_PATTERN = re.compile(r"%(-?\d+)?(?:\.(\d+))?([a-zA-Z%])(\{[^}]*\})?")
_CONVERSIONS = {
    "p": "levelname", "c": "name", "C": "module", "m": "message", "t": "threadName", "L": "lineno",
    "F": "filename", "M": "funcName", "r": "relativeCreated",
}
_SIZE = re.compile(r"^\s*(\d+)\s*(KB|MB|GB)?\s*$", re.I)


def log4j_pattern_to_format(pattern: str) -> tuple[str, str | None]:
    """A log4j ``PatternLayout`` conversion pattern as a Python ``(format, datefmt)`` pair."""
    out: list[str] = []
    datefmt: str | None = None
    pos = 0
    for match in _PATTERN.finditer(pattern):
        out.append(pattern[pos:match.start()].replace("%", "%%"))
        pos = match.end()
        width, _precision, conv, option = match.groups()
        option = option[1:-1] if option else None
        pad = width or ""
        if conv == "%":
            out.append("%%")
        elif conv == "n":
            continue  # handlers end each record with a newline
        elif conv == "d":
            out.append(f"%(asctime){pad}s")
            if option and option.upper() not in ("ISO8601", "DEFAULT"):
                datefmt = _java_date_format(option)
        elif conv == "X":
            if option == "connector.context":
                out.append(f"%(connector_context){pad}s")
        elif conv in ("L", "r"):
            out.append(f"%({_CONVERSIONS[conv]}){pad}d")
        elif conv in _CONVERSIONS:
            out.append(f"%({_CONVERSIONS[conv]}){pad}s")
        else:
            out.append(match.group(0).replace("%", "%%"))
    out.append(pattern[pos:].replace("%", "%%"))
    return "".join(out), datefmt


def _java_date_format(java: str) -> str:
    if java.upper() == "ABSOLUTE":
        return "%H:%M:%S"
    text = java.replace("'", "")
    for token, python in (("yyyy", "%Y"), ("yy", "%y"), ("MMM", "%b"), ("MM", "%m"), ("dd", "%d"),
                          ("HH", "%H"), ("mm", "%M"), ("ss", "%S"), (",SSS", ""), (".SSS", ""), ("SSS", "")):
        text = text.replace(token, python)
    return text


def _substitute(value: str, variables: Mapping[str, str], depth: int = 0) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        found = variables.get(name)
        if found is None:
            return ""
        return _substitute(found, variables, depth + 1) if depth < 10 else found

    return re.sub(r"\$\{([^}]+)\}", replace, value)


def _bytes(text: str) -> int:
    match = _SIZE.match(text)
    if match is None:
        raise ConfigError(f"Invalid log file size '{text}'")
    factor = {None: 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[(match.group(2) or "").upper() or None]
    return int(match.group(1)) * factor


def _rollover_when(date_pattern: str) -> str:
    pattern = date_pattern.replace("'", "")
    if "mm" in pattern:
        return "M"
    if "HH" in pattern or "hh" in pattern:
        return "H"
    if "ww" in pattern:
        return "W0"
    return "midnight"


def _appender(name: str, props: Mapping[str, str], formatters: dict[str, Any]) -> dict[str, Any]:
    prefix = f"log4j.appender.{name}"
    kind = props.get(prefix, "").rsplit(".", 1)[-1]

    def opt(key: str, default: str | None = None) -> str | None:
        return props.get(f"{prefix}.{key}", default)

    pattern = opt("layout.ConversionPattern", "%m%n") or "%m%n"
    fmt, datefmt = log4j_pattern_to_format(pattern)
    formatters[name] = {"format": fmt, **({"datefmt": datefmt} if datefmt else {})}
    handler: dict[str, Any]
    if kind == "ConsoleAppender":
        target = (opt("Target", "System.out") or "").strip()
        stream = "ext://sys.stderr" if target == "System.err" else "ext://sys.stdout"
        handler = {"class": "logging.StreamHandler", "stream": stream}
    elif kind in ("FileAppender", "RollingFileAppender", "DailyRollingFileAppender"):
        file = opt("File")
        if not file:
            raise ConfigError(f"log4j appender {name} has no File")
        Path(file).parent.mkdir(parents=True, exist_ok=True)
        handler = {"filename": file, "encoding": "utf-8"}
        if kind == "RollingFileAppender":
            handler.update({"class": "logging.handlers.RotatingFileHandler",
                            "maxBytes": _bytes(opt("MaxFileSize", "10MB") or "10MB"),
                            "backupCount": int(opt("MaxBackupIndex", "1") or 1)})
        elif kind == "DailyRollingFileAppender":
            handler.update({"class": "logging.handlers.TimedRotatingFileHandler",
                            "when": _rollover_when(opt("DatePattern", "'.'yyyy-MM-dd") or "")})
        else:
            handler.update({"class": "logging.FileHandler",
                            "mode": "a" if (opt("Append", "true") or "true").lower() != "false" else "w"})
    else:
        raise ConfigError(f"log4j appender {name}: {props.get(prefix)!r} is not supported by kcfast (use a "
                          "ConsoleAppender, FileAppender, RollingFileAppender or DailyRollingFileAppender)")
    handler["formatter"] = name
    threshold = opt("Threshold")
    if threshold:
        handler["level"] = parse_level(threshold)
    return handler


def _level_and_appenders(value: str) -> tuple[int | None, list[str]]:
    parts = [p.strip() for p in value.split(",")]
    level = parse_level(parts[0]) if parts and parts[0] else None
    return level, [p for p in parts[1:] if p]


def log4j_properties_to_dict_config(text: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A log4j 1.x properties file (see the module docstring) as a ``logging.config.dictConfig`` document."""
    env = dict(os.environ if environ is None else environ)
    raw = parse_properties(text)
    variables = {"kafka.logs.dir": env.get("LOG_DIR", "logs"), **env, **raw}
    props = {k: _substitute(v, variables) for k, v in raw.items()}
    formatters: dict[str, Any] = {}
    handlers: dict[str, Any] = {}
    loggers: dict[str, Any] = {}

    def handlers_for(names: list[str]) -> list[str]:
        for name in names:
            if name not in handlers:
                handlers[name] = _appender(name, props, formatters)
        return names

    root_level, root_appenders = _level_and_appenders(props.get("log4j.rootLogger", "INFO"))
    root: dict[str, Any] = {"level": root_level if root_level is not None else logging.INFO,
                            "handlers": handlers_for(root_appenders)}
    for key, value in props.items():
        if not key.startswith("log4j.logger."):
            continue
        name = key[len("log4j.logger."):]
        level, appenders = _level_and_appenders(value)
        additivity = props.get(f"log4j.additivity.{name}", "true").strip().lower() != "false"
        entry: dict[str, Any] = {"handlers": handlers_for(appenders), "propagate": additivity}
        if level is not None:
            entry["level"] = level
        loggers[name] = entry
        if name.startswith(_JAVA_PREFIX):
            loggers.setdefault("kcfast" + name[len(_JAVA_PREFIX):], dict(entry))
    return {"version": 1, "disable_existing_loggers": False, "formatters": formatters, "handlers": handlers,
            "loggers": loggers, "root": root}


# -- entry point ---------------------------------------------------------------------------------------------


def _config_from_env(environ: Mapping[str, str]) -> str | None:
    for token in shlex.split(environ.get("KAFKA_LOG4J_OPTS", "")):
        if token.startswith("-Dlog4j.configuration="):
            return token.split("=", 1)[1].removeprefix("file:") or None
    return None


def load_config_file(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read a logging config file (dictConfig JSON or YAML, or log4j properties) as a dictConfig document."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read the logging config file {file}: {exc}") from exc
    suffix = file.suffix.lower()
    if suffix == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"Logging config file {file} is not valid JSON: {exc}") from exc
    elif suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as exc:
            raise ConfigError(f"Reading {file} needs PyYAML (pip install pyyaml); or use a JSON file") from exc
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"Logging config file {file} is not valid YAML: {exc}") from exc
    else:
        return log4j_properties_to_dict_config(text, environ)
    if not isinstance(doc, dict):
        raise ConfigError(f"Logging config file {file} must hold a dictConfig mapping")
    doc.setdefault("version", 1)
    doc.setdefault("disable_existing_loggers", False)
    return doc


def configure_logging(level: str | None = None, config_file: str | os.PathLike[str] | None = None, *,
                      environ: Mapping[str, str] | None = None, stream: Any = None) -> None:
    """Set up logging for a worker process (see the module docstring for the sources, in order).

    Args:
        level: the root level (log4j or Python names); overrides the file's.
        config_file: a dictConfig JSON/YAML file or a log4j properties file.
        environ: the environment (``KAFKA_LOG4J_OPTS``, ``LOG_DIR``, ``${...}`` variables).
        stream: where the default handler writes (stderr).

    Raises:
        ConfigError: the file cannot be read or holds something kcfast does not support.
    """
    env = os.environ if environ is None else environ
    install_record_factory()
    use_log4j_level_names()
    path = config_file or _config_from_env(env)
    if path:
        doc = load_config_file(path, env)
        try:
            logging.config.dictConfig(doc)
        except (ValueError, TypeError, AttributeError, ImportError) as exc:
            raise ConfigError(f"Invalid logging configuration in {path}: {exc}") from exc
    else:
        root = logging.getLogger()
        for handler in list(root.handlers):
            root.removeHandler(handler)
        handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
        handler.setFormatter(logging.Formatter(DEFAULT_FORMAT))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    if level:
        logging.getLogger().setLevel(parse_level(level))


__all__ = [
    "DEFAULT_FORMAT",
    "LoggingContext",
    "configure_logging",
    "connector_context",
    "install_record_factory",
    "load_config_file",
    "log4j_pattern_to_format",
    "log4j_properties_to_dict_config",
    "parse_level",
    "use_log4j_level_names",
]
