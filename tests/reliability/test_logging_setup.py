"""Operations logging: Kafka's line format with the connector context, and logging config files."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kcfast.errors import ConfigError
from kcfast.logging_setup import (
    DEFAULT_FORMAT,
    LoggingContext,
    configure_logging,
    install_record_factory,
    log4j_pattern_to_format,
    log4j_properties_to_dict_config,
    parse_level,
)
from kcfast.runtime.status import ConnectorTaskId

#: Kafka's config/connect-log4j.properties (3.9), as a user would pass it with KAFKA_LOG4J_OPTS.
CONNECT_LOG4J = """\
log4j.rootLogger=INFO, stdout, connectAppender
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.connectAppender=org.apache.log4j.DailyRollingFileAppender
log4j.appender.connectAppender.DatePattern='.'yyyy-MM-dd-HH
log4j.appender.connectAppender.File=${kafka.logs.dir}/connect.log
log4j.appender.connectAppender.layout=org.apache.log4j.PatternLayout
connect.log.pattern=[%d] %p %X{connector.context}%m (%c:%L)%n
log4j.appender.stdout.layout.ConversionPattern=${connect.log.pattern}
log4j.appender.connectAppender.layout.ConversionPattern=${connect.log.pattern}
log4j.logger.org.apache.zookeeper=ERROR
log4j.logger.org.reflections=ERROR
log4j.logger.org.apache.kafka.connect.runtime.rest=WARN
"""


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    names = {name: (lg.level, lg.propagate, list(lg.handlers))
             for name, lg in logging.Logger.manager.loggerDict.items() if isinstance(lg, logging.Logger)}
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, lg in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(lg, logging.Logger):
            lvl, prop, hs = names.get(name, (logging.NOTSET, True, []))
            for handler in lg.handlers:
                if handler not in hs:
                    handler.close()
            lg.setLevel(lvl)
            lg.propagate = prop
            lg.handlers[:] = hs
    for number, name in ((logging.WARNING, "WARNING"), (logging.CRITICAL, "CRITICAL")):
        logging.addLevelName(number, name)


def test_kafka_pattern_becomes_the_default_format() -> None:
    fmt, datefmt = log4j_pattern_to_format("[%d] %p %X{connector.context}%m (%c:%L)%n")
    assert (fmt, datefmt) == (DEFAULT_FORMAT, None)
    assert log4j_pattern_to_format("%-5p %d{HH:mm:ss} [%t] 100%% %m%n") == (
        "%(levelname)-5s %(asctime)s [%(threadName)s] 100%% %(message)s", "%H:%M:%S")


def test_context_prefixes_lines_of_the_current_thread_only() -> None:
    install_record_factory()
    formatter = logging.Formatter(DEFAULT_FORMAT)
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(formatter.format(record))

    logger = logging.getLogger("kcfast.test.context")
    handler = Collect()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        task = ConnectorTaskId("orders", 3)
        with LoggingContext.for_task(task):
            logger.info("polled")
            other = threading.Thread(target=logger.info, args=("elsewhere",))
            other.start()
            other.join()
            with LoggingContext.for_offsets(task):
                logger.info("committed")
        with LoggingContext.for_connector("orders"):
            logger.info("started")
        with LoggingContext.for_validation("orders"):
            logger.info("validated")
        logger.info("plain")
    finally:
        logger.removeHandler(handler)
    bodies = [line.split("] ", 1)[1] for line in lines]
    assert all(b.endswith(")") and "(kcfast.test.context:" in b for b in bodies)
    assert [b.split(" (")[0] for b in bodies] == [
        "INFO [orders|task-3] polled", "INFO elsewhere", "INFO [orders|task-3|offsets] committed",
        "INFO [orders|worker] started", "INFO [orders|validate] validated", "INFO plain",
    ]


def test_kafka_connect_log4j_properties(tmp_path: Path, restore_logging: None) -> None:
    doc = log4j_properties_to_dict_config(CONNECT_LOG4J, {"LOG_DIR": str(tmp_path / "logs")})
    assert doc["root"] == {"level": logging.INFO, "handlers": ["stdout", "connectAppender"]}
    file_handler = doc["handlers"]["connectAppender"]
    assert file_handler["class"] == "logging.handlers.TimedRotatingFileHandler" and file_handler["when"] == "H"
    assert file_handler["filename"] == str(tmp_path / "logs" / "connect.log")
    assert doc["formatters"]["stdout"]["format"] == DEFAULT_FORMAT
    assert doc["loggers"]["org.apache.zookeeper"]["level"] == logging.ERROR
    # Kafka's Connect logger names also set kcfast's matching loggers.
    assert doc["loggers"]["kcfast.runtime.rest"]["level"] == logging.WARNING

    config = tmp_path / "connect-log4j.properties"
    config.write_text(CONNECT_LOG4J)
    configure_logging(config_file=config, environ={"LOG_DIR": str(tmp_path / "logs")})
    with LoggingContext.for_connector("c"):
        logging.getLogger("kcfast.test.file").warning("to the file")
    logging.getLogger("kcfast.runtime.rest").info("filtered out")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = (tmp_path / "logs" / "connect.log").read_text()
    assert "WARN [c|worker] to the file (kcfast.test.file:" in text
    assert "filtered out" not in text


def test_kafka_log4j_opts_and_level_override(tmp_path: Path, restore_logging: None) -> None:
    config = tmp_path / "log4j.properties"
    config.write_text("log4j.rootLogger=WARN, f\nlog4j.appender.f=org.apache.log4j.FileAppender\n"
                      f"log4j.appender.f.File={tmp_path}/out.log\nlog4j.appender.f.layout.ConversionPattern=%p %m%n\n")
    configure_logging("DEBUG", environ={"KAFKA_LOG4J_OPTS": f"-Dlog4j.configuration=file:{config}"})
    assert logging.getLogger().level == logging.DEBUG
    logging.getLogger("kcfast.test.opts").debug("debug line")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert (tmp_path / "out.log").read_text() == "DEBUG debug line\n"


def test_dict_config_json_file(tmp_path: Path, restore_logging: None) -> None:
    config = tmp_path / "logging.json"
    config.write_text(json.dumps({
        "formatters": {"k": {"format": "%(levelname)s %(connector_context)s%(message)s"}},
        "handlers": {"f": {"class": "logging.FileHandler", "filename": str(tmp_path / "j.log"), "formatter": "k"}},
        "root": {"level": "INFO", "handlers": ["f"]},
    }))
    configure_logging(config_file=config)
    with LoggingContext.for_task(ConnectorTaskId("j", 0)):
        logging.getLogger("kcfast.test.json").info("hello")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert (tmp_path / "j.log").read_text() == "INFO [j|task-0] hello\n"


@pytest.mark.parametrize(("text", "name"), [
    ("{not json", "bad.json"),
    ("log4j.rootLogger=INFO, x\nlog4j.appender.x=org.apache.log4j.net.SyslogAppender\n", "bad.properties"),
    ("log4j.rootLogger=LOUD\n", "level.properties"),
])
def test_bad_logging_config_files_are_config_errors(tmp_path: Path, text: str, name: str,
                                                    restore_logging: None) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError):
        configure_logging(config_file=path)


def test_level_names() -> None:
    assert [parse_level(n) for n in ("warn", "WARNING", "trace", "FATAL", "off")] == [30, 30, 5, 50, 100]
    with pytest.raises(ConfigError):
        parse_level("chatty")
