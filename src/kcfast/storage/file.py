"""The standalone worker's offset store: a file in Kafka Connect's format (``offset.storage.file.filename``).

The file is a Java-serialized ``HashMap<byte[], byte[]>`` (spec 3.4, :mod:`kcfast.storage.javaser`), so a
standalone worker can switch between Kafka Connect and kcfast and keep its offsets.

Every write rewrites the whole map atomically: the bytes go to a temporary file in the same directory, which is
fsynced and renamed over the target, and then the directory is fsynced. A crash leaves either the old file or
the new one, never a truncated one.

Loading follows Kafka: a missing or empty file means no offsets yet, and so does a file that ends early (Kafka
treats ``EOFException`` that way; kcfast logs a warning). A file that is not a serialized map at all, or cannot
be read, stops the store with a :class:`~kcfast.errors.ConnectError` naming the file.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

from kcfast.errors import ConnectError
from kcfast.storage.javaser import (
    JavaSerializationError,
    TruncatedStreamError,
    decode_hashmap,
    encode_hashmap,
)
from kcfast.storage.memory import MemoryOffsetBackingStore

__all__ = ["FileOffsetBackingStore"]

log = logging.getLogger(__name__)


class FileOffsetBackingStore(MemoryOffsetBackingStore):
    """Offsets kept in memory and saved to ``path`` in Kafka Connect's standalone format after every write."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)

    def start(self) -> None:
        """Load the file (if any) and start the writer thread.

        Raises:
            ConnectError: the file exists but cannot be read or is not a serialized offsets map.
        """
        log.info("Starting FileOffsetBackingStore with file %s", self.path)
        self._load(self._read())
        directory = self.path.parent
        if not directory.is_dir() or not os.access(directory, os.W_OK | os.X_OK):
            log.warning("Offsets cannot be saved: directory %s of offsets file %s is missing or not writable",
                        directory, self.path)
        super().start()

    def stop(self) -> None:
        """Finish pending writes and stop."""
        super().stop()
        log.info("Stopped FileOffsetBackingStore")

    def _read(self) -> dict[bytes | None, bytes | None]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConnectError(f"Unable to read the offsets file {self.path}: {exc.strerror or exc}") from exc
        if not raw:
            log.info("Offsets file %s is empty: starting with no offsets", self.path)
            return {}
        try:
            return decode_hashmap(raw)
        except TruncatedStreamError as exc:
            log.warning("Offsets file %s is truncated (%s): starting with no offsets", self.path, exc)
            return {}
        except JavaSerializationError as exc:
            raise ConnectError(
                f"The offsets file {self.path} is not a Kafka Connect standalone offsets file (a Java-serialized "
                f"java.util.HashMap): {exc}"
            ) from exc

    def _save(self, data: dict[bytes | None, bytes | None]) -> None:
        payload = encode_hashmap(data)
        directory = self.path.parent
        tmp = directory / f".{self.path.name}.{uuid.uuid4().hex}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            try:
                try:
                    mode = os.stat(self.path).st_mode & 0o7777
                except FileNotFoundError:
                    pass
                else:
                    os.fchmod(fd, mode)
                view = memoryview(payload)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise ConnectError(f"Unable to write the offsets file {self.path}: {exc.strerror or exc}") from exc
        _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable; some filesystems do not support fsync on a directory, which is harmless."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
