"""FileStream connectors: lines of a file (or stdin) into a topic, and records into a file (or stdout).

They behave like Kafka's ``org.apache.kafka.connect.file.FileStream{Source,Sink}Connector``, byte for byte where
a user can see it: the same configuration keys, source partition ``{"filename": <file>}`` and offset
``{"position": <n>}`` (the character position after the line terminator), lines split on ``\\n``, ``\\r`` and
``\\r\\n``, and the sink writing each value as Java's ``String.valueOf`` prints it, one per line.

One deliberate difference: on restart Kafka skips ``position`` *bytes* of the file although the position counts
characters, so a file with non-ASCII text is partly read again; kcfast skips ``position`` characters and resumes
at the next line. The offsets written are the same.
"""

from __future__ import annotations

import codecs
import logging
import os
import re
import select
import sys
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any, TextIO

from kcfast._version import KAFKA_VERSION
from kcfast.api import (
    Config,
    ConfigDef,
    ExactlyOnceSupport,
    Importance,
    NonEmptyString,
    SinkConnector,
    SinkTask,
    SourceConnector,
    SourceTask,
    Task,
    TopicPartition,
    Type,
)
from kcfast.errors import ConnectError

log = logging.getLogger(__name__)

TOPIC_CONFIG = "topic"
FILE_CONFIG = "file"
TASK_BATCH_SIZE_CONFIG = "batch.size"
DEFAULT_TASK_BATCH_SIZE = 2000
FILENAME_FIELD = "filename"
POSITION_FIELD = "position"

SOURCE_CONFIG_DEF = (
    ConfigDef()
    .define(
        FILE_CONFIG,
        Type.STRING,
        None,
        importance=Importance.HIGH,
        documentation="Source filename. If not specified, the standard input will be used",
    )
    .define(
        TOPIC_CONFIG,
        Type.STRING,
        validator=NonEmptyString(),
        importance=Importance.HIGH,
        documentation="The topic to publish data to",
    )
    .define(
        TASK_BATCH_SIZE_CONFIG,
        Type.INT,
        DEFAULT_TASK_BATCH_SIZE,
        importance=Importance.LOW,
        documentation="The maximum number of records the source task can read from the file each time it is polled",
    )
)

SINK_CONFIG_DEF = ConfigDef().define(
    FILE_CONFIG,
    Type.STRING,
    None,
    importance=Importance.HIGH,
    documentation="Destination filename. If not specified, the standard output will be used",
)


class FileStreamSourceConnector(SourceConnector):
    """Reads lines from one file (or stdin) with one task."""

    TOPIC_CONFIG = TOPIC_CONFIG
    FILE_CONFIG = FILE_CONFIG
    TASK_BATCH_SIZE_CONFIG = TASK_BATCH_SIZE_CONFIG
    DEFAULT_TASK_BATCH_SIZE = DEFAULT_TASK_BATCH_SIZE
    CONFIG_DEF = SOURCE_CONFIG_DEF

    def __init__(self) -> None:
        self._props: dict[str, str] = {}

    def version(self) -> str:
        """Kafka's version, as the Java connector reports."""
        return KAFKA_VERSION

    def start(self, props: Mapping[str, str]) -> None:
        """Check the configuration and keep it for the task."""
        self._props = dict(props)
        filename = Config(SOURCE_CONFIG_DEF, props).get_string(FILE_CONFIG)
        log.info("Starting file source connector reading from %s", filename or "standard input")

    def task_class(self) -> type[Task]:
        """:class:`FileStreamSourceTask`."""
        return FileStreamSourceTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        """Exactly one task config, a copy of the connector's: one input stream makes one task."""
        return [dict(self._props)]

    def stop(self) -> None:
        """Nothing to release."""

    def config(self) -> ConfigDef:
        """``file``, ``topic`` and ``batch.size``."""
        return SOURCE_CONFIG_DEF

    def exactly_once_support(self, connector_config: Mapping[str, str]) -> ExactlyOnceSupport | None:
        """Supported when reading a real file (offsets are tracked); not for stdin."""
        filename = Config(SOURCE_CONFIG_DEF, connector_config).get_string(FILE_CONFIG)
        return ExactlyOnceSupport.SUPPORTED if filename else ExactlyOnceSupport.UNSUPPORTED

    def alter_offsets(
        self,
        connector_config: Mapping[str, str],
        offsets: Sequence[tuple[Mapping[str, Any], Mapping[str, Any] | None]],
    ) -> bool:
        """Accept offsets that name a file and a non-negative position (tombstones always); the task checks the rest.

        Raises:
            ConnectError: with Kafka's message, for stdin or a malformed partition or offset.
        """
        filename = Config(SOURCE_CONFIG_DEF, connector_config).get_string(FILE_CONFIG)
        if not filename:
            raise ConnectError(
                f"Offsets cannot be modified if the '{FILE_CONFIG}' configuration is unspecified. "
                "This is because stdin is used for input and offsets are not tracked."
            )
        for partition, offset in offsets:
            if offset is None:
                continue  # tombstones are allowed for anything, so garbage can be cleaned up
            if POSITION_FIELD not in offset:
                raise ConnectError(
                    f"Offset objects should either be null or contain the key '{POSITION_FIELD}'"
                )
            position = offset[POSITION_FIELD]
            if not _is_long(position):
                raise ConnectError(
                    f"The value for the '{POSITION_FIELD}' key in the offset is expected to be a Long value"
                )
            if position < 0:
                raise ConnectError(
                    f"The value for the '{POSITION_FIELD}' key in the offset should be a non-negative value"
                )
            if partition is None:
                raise ConnectError("Partition objects cannot be null")
            if FILENAME_FIELD not in partition:
                raise ConnectError(f"Partition objects should contain the key '{FILENAME_FIELD}'")
        return True


def _is_long(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# A line ends at \r\n, \r or \n; the alternation order makes \r\n one terminator.
_TERMINATOR = re.compile(r"\r\n|\r|\n")
_READ_SIZE = 64 * 1024


def _utf16_length(text: str) -> int:
    """Length in UTF-16 code units, which is how Java counts the ``position`` characters."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


class FileStreamSourceTask(SourceTask):
    """Reads lines from a file (opened lazily in :meth:`poll`, resuming at the committed position) or stdin.

    Thread safety: :meth:`stop` may be called from another thread while :meth:`poll` runs; it wakes a waiting
    poll, and the stream is closed between reads.
    """

    #: How long a poll waits when there is no data or the file does not exist yet (Kafka waits 1 s).
    poll_wait_seconds = 1.0

    def __init__(self) -> None:
        self._filename: str | None = None
        self._partition_filename: str | None = None
        self._topic = ""
        self._batch_size = DEFAULT_TASK_BATCH_SIZE
        self._fd: int | None = None
        self._is_stdin = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._stream_offset: int | None = None
        self._skip_units = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._value_schema: Any = None
        self._source_record: Any = None

    def version(self) -> str:
        """Kafka's version."""
        return KAFKA_VERSION

    def start(self, props: Mapping[str, str]) -> None:
        """Read the configuration; stdin is used at once, a file is opened by the first :meth:`poll`."""
        from kcfast.api.records import SourceRecord
        from kcfast.data import Schema

        self._value_schema = Schema.STRING_SCHEMA
        self._source_record = SourceRecord
        config = Config(SOURCE_CONFIG_DEF, props)
        # An empty ``file`` means stdin too, but the source partition keeps the value as given, as in Kafka.
        self._partition_filename = config.get_string(FILE_CONFIG)
        self._filename = self._partition_filename or None
        self._topic = config.get_string(TOPIC_CONFIG) or ""
        self._batch_size = config.get_int(TASK_BATCH_SIZE_CONFIG) or DEFAULT_TASK_BATCH_SIZE
        self._stopping.clear()
        if self._filename is None:
            self._fd = sys.stdin.fileno()
            self._is_stdin = True
            self._stream_offset = None  # offsets of stdin mean nothing

    @property
    def _log_name(self) -> str:
        return self._filename or "stdin"

    def _open(self) -> bool:
        """Open the file and skip to the committed position; False if the file does not exist yet."""
        assert self._filename is not None
        try:
            fd = os.open(self._filename, os.O_RDONLY)
        except FileNotFoundError:
            log.warning(
                "Couldn't find file %s for FileStreamSourceTask, sleeping to wait for it to be created",
                self._log_name,
            )
            return False
        except OSError as exc:
            log.error("Error while trying to open file %s: %s", self._filename, exc)
            raise ConnectError(str(exc)) from exc
        try:
            stored = self.context.offset_storage_reader().offset({FILENAME_FIELD: self._filename})
            position = None if stored is None else stored.get(POSITION_FIELD)
            if position is not None and not _is_long(position):
                raise ConnectError("Offset position is the incorrect type")
            if position:
                log.debug("Found previous offset, trying to skip to file offset %s", position)
        except BaseException:
            os.close(fd)
            raise
        self._stream_offset = position if position is not None else 0
        # Kafka skips ``position`` bytes although it counted characters, so it re-reads part of a non-ASCII file
        # after a restart; kcfast skips ``position`` characters, which resumes exactly at the next line.
        self._skip_units = position or 0
        self._decoder.reset()
        self._buffer = ""
        with self._lock:
            self._fd = fd
        log.debug("Opened %s for reading", self._log_name)
        return True

    def _read_chunk(self) -> str | None:
        """The next decoded chunk, or None when nothing is available now (end of file, or stdin not ready)."""
        with self._lock:
            fd = self._fd
            if fd is None or self._stopping.is_set():
                return None
            if self._is_stdin:
                ready, _, _ = select.select([fd], [], [], 0)
                if not ready:
                    return None
            data = os.read(fd, _READ_SIZE)
        if not data:
            return None
        text = self._decoder.decode(data)
        return self._skip(text) if self._skip_units else text

    def _skip(self, text: str) -> str:
        """Drop what is left to skip (in UTF-16 units) of the committed position from ``text``."""
        if text.isascii():
            n = min(len(text), self._skip_units)
            self._skip_units -= n
            return text[n:]
        for index, char in enumerate(text):
            if self._skip_units <= 0:
                return text[index:]
            self._skip_units -= 2 if ord(char) > 0xFFFF else 1
        return ""

    def _extract_lines(self, records: list[Any]) -> bool:
        """Move complete lines from the buffer into ``records``; True once ``batch.size`` is reached."""
        buffer = self._buffer
        start = 0
        full = False
        partition = {FILENAME_FIELD: self._partition_filename}
        timestamp = time.time_ns() // 1_000_000
        for match in _TERMINATOR.finditer(buffer):
            if match.end() == len(buffer) and match.group() == "\r":
                break  # a \r at the end may be the start of \r\n: wait for the next character
            line = buffer[start : match.start()]
            if self._stream_offset is not None:
                self._stream_offset += _utf16_length(buffer[start : match.end()])
            start = match.end()
            records.append(
                self._source_record(
                    partition,
                    {POSITION_FIELD: self._stream_offset},
                    self._topic,
                    None,
                    None,
                    None,
                    self._value_schema,
                    line,
                    timestamp,
                )
            )
            if len(records) >= self._batch_size:
                full = True
                break
        self._buffer = buffer[start:]
        return full

    def poll(self) -> list[Any] | None:
        """Up to ``batch.size`` new lines as records, or None after waiting (at most 1 s) for data."""
        if self._stopping.is_set():
            return None
        if self._fd is None and (self._filename is None or not self._open()):
            self._stopping.wait(self.poll_wait_seconds)
            return None
        records: list[Any] = []
        try:
            if self._extract_lines(records):
                return records
            read_any = False
            while True:
                chunk = self._read_chunk()
                if chunk is None:
                    break
                read_any = True
                self._buffer += chunk
                if self._extract_lines(records):
                    return records
        except OSError:
            # The stream was closed under us (stop); the worker handles the shutdown.
            return None
        if not read_any:
            self._stopping.wait(self.poll_wait_seconds)
        return records or None

    def stop(self) -> None:
        """Close the file (never stdin) and wake a waiting poll."""
        self._stopping.set()
        with self._lock:
            if self._fd is not None and not self._is_stdin:
                os.close(self._fd)
            self._fd = None


class FileStreamSinkConnector(SinkConnector):
    """Writes the values of consumed records to a file (or stdout), one per line."""

    FILE_CONFIG = FILE_CONFIG
    CONFIG_DEF = SINK_CONFIG_DEF

    def __init__(self) -> None:
        self._props: dict[str, str] = {}

    def version(self) -> str:
        """Kafka's version, as the Java connector reports."""
        return KAFKA_VERSION

    def start(self, props: Mapping[str, str]) -> None:
        """Check the configuration and keep it for the tasks."""
        self._props = dict(props)
        filename = Config(SINK_CONFIG_DEF, props).get_string(FILE_CONFIG)
        log.info("Starting file sink connector writing to %s", filename or "standard output")

    def task_class(self) -> type[Task]:
        """:class:`FileStreamSinkTask`."""
        return FileStreamSinkTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        """``max_tasks`` copies of the connector's configuration."""
        return [dict(self._props) for _ in range(max_tasks)]

    def stop(self) -> None:
        """Nothing to release."""

    def config(self) -> ConfigDef:
        """``file``."""
        return SINK_CONFIG_DEF

    def alter_offsets(
        self, connector_config: Mapping[str, str], offsets: Mapping[TopicPartition, int | None]
    ) -> bool:
        """Any offsets are fine: the connector keeps no offsets of its own."""
        return True


class FileStreamSinkTask(SinkTask):
    """Appends ``String.valueOf(value)`` and a newline per record to the file (UTF-8), or writes to stdout."""

    def __init__(self, output: TextIO | None = None) -> None:
        self._filename: str | None = None
        self._output: TextIO | None = output
        self._owns_output = False

    def version(self) -> str:
        """Kafka's version."""
        return KAFKA_VERSION

    def start(self, props: Mapping[str, str]) -> None:
        """Open the file in append mode, creating it if needed.

        Raises:
            ConnectError: ``Couldn't find or create file '<file>' for FileStreamSinkTask``.
        """
        self._filename = Config(SINK_CONFIG_DEF, props).get_string(FILE_CONFIG) or None
        if self._filename is None:
            if self._output is None:
                self._output = sys.stdout
            return
        try:
            self._output = open(self._filename, "a", encoding="utf-8", newline="\n")  # noqa: SIM115 - closed in stop()
        except OSError as exc:
            raise ConnectError(
                f"Couldn't find or create file '{self._filename}' for FileStreamSinkTask"
            ) from exc
        self._owns_output = True

    def put(self, records: Collection[Any]) -> None:
        """Write one line per record."""
        if not records:
            return
        from kcfast.data import Values

        to_text = Values.java_str
        assert self._output is not None
        self._output.write("".join([f"{to_text(r.value, r.value_schema)}\n" for r in records]))

    def flush(self, current_offsets: Mapping[TopicPartition, int]) -> None:
        """Flush what was written to the operating system."""
        if self._output is not None:
            self._output.flush()

    def stop(self) -> None:
        """Close the file (never stdout)."""
        if self._output is not None and self._owns_output:
            self._output.close()
            self._output = None
            self._owns_output = False


__all__ = [
    "FileStreamSinkConnector",
    "FileStreamSinkTask",
    "FileStreamSourceConnector",
    "FileStreamSourceTask",
]
