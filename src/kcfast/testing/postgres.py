"""A throwaway PostgreSQL server for tests, demos and benchmarks.

``EmbeddedPostgres`` runs Debian's PostgreSQL binaries (installing the ``postgresql`` package with apt when
they are missing and the process runs as root), ``initdb`` into a temporary directory, and starts a server on a
free loopback port with ``wal_level=logical``, so logical replication works. The superuser ``postgres`` has a
password (``password`` unless told otherwise); TCP connections, replication ones included, use
``scram-sha-256``. PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user
(through ``runuser``). ``stop`` stops the server and deletes the directory.

With ``KCFAST_PG_DSN`` set (a libpq connection string of a server with ``wal_level=logical``), nothing is
started and that server is used instead.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from kcfast.errors import KcfastError
from kcfast.testing.embedded import free_port

__all__ = ["EmbeddedPostgres", "PostgresError", "find_bindir"]

_SERVICE_USER = "postgres"


class PostgresError(KcfastError):
    """The test PostgreSQL could not be found, installed or started."""


def _bindir_candidates() -> list[str]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        found.append(str(Path(os.path.realpath(initdb)).parent))
    return [d for d in found if os.path.exists(os.path.join(d, "initdb")) and os.path.exists(os.path.join(d, "pg_ctl"))]


def find_bindir(install: bool = True) -> str:
    """The directory of ``initdb``/``pg_ctl``/``postgres``; installs Debian's ``postgresql`` when allowed.

    ``KCFAST_PG_BINDIR`` overrides the search. Installing needs root and a reachable package mirror.

    Raises:
        PostgresError: no PostgreSQL binaries were found and none could be installed.
    """
    explicit = os.environ.get("KCFAST_PG_BINDIR")
    if explicit:
        return explicit
    found = _bindir_candidates()
    if found:
        return found[0]
    if install and os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "postgresql"]):
            proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
            if proc.returncode != 0:
                raise PostgresError(f"{' '.join(cmd)} failed:\n{proc.stdout.decode(errors='replace')[-4000:]}")
        found = _bindir_candidates()
        if found:
            return found[0]
    raise PostgresError(
        "no PostgreSQL server binaries (initdb, pg_ctl): install Debian's 'postgresql' package, "
        "set KCFAST_PG_BINDIR, or set KCFAST_PG_DSN to use a running server"
    )


class EmbeddedPostgres:
    """A PostgreSQL server on a loopback port for as long as the object is open.

    Usable as a context manager::

        with EmbeddedPostgres() as pg:
            conn = psycopg2.connect(pg.dsn())

    Not thread-safe: start and stop it from one thread.
    """

    def __init__(self, password: str = "password", host: str = "127.0.0.1", start_timeout: float = 60.0) -> None:
        self.host = host
        self.user = "postgres"
        self.password = password
        self.dbname = "postgres"
        self.port = 0
        self.start_timeout = start_timeout
        self._external = os.environ.get("KCFAST_PG_DSN")
        self._tmp: str | None = None
        self._bindir = ""
        self._run_as: str | None = None
        if self._external:
            self._adopt_external(self._external)

    def _adopt_external(self, dsn: str) -> None:
        from psycopg2.extensions import parse_dsn

        parts = parse_dsn(dsn)
        self.host = parts.get("host", "127.0.0.1")
        self.port = int(parts.get("port", 5432))
        self.user = parts.get("user", "postgres")
        self.password = parts.get("password", "")
        self.dbname = parts.get("dbname", "postgres")

    # -- connection details ---------------------------------------------------------------------------------

    def dsn(self, dbname: str | None = None, **overrides: Any) -> str:
        """A libpq connection string for this server (``overrides`` replace its keywords)."""
        parts: dict[str, Any] = {
            "host": self.host, "port": self.port, "user": self.user, "password": self.password,
            "dbname": dbname or self.dbname, "connect_timeout": 10,
        }
        parts.update(overrides)
        return " ".join(f"{k}='{str(v)}'" for k, v in parts.items())

    def connector_config(self, dbname: str | None = None) -> dict[str, str]:
        """The ``database.*`` keys of a PostgreSQL source connector pointing at this server."""
        return {
            "database.hostname": self.host, "database.port": str(self.port), "database.user": self.user,
            "database.password": self.password, "database.dbname": dbname or self.dbname,
        }

    def jdbc_url(self, dbname: str | None = None) -> str:
        """A ``jdbc:postgresql://host:port/db`` URL for the JDBC sink connector."""
        return f"jdbc:postgresql://{self.host}:{self.port}/{dbname or self.dbname}"

    def connect(self, dbname: str | None = None, autocommit: bool = True) -> Any:
        """A psycopg2 connection (autocommit by default)."""
        import psycopg2

        conn = psycopg2.connect(self.dsn(dbname))
        conn.autocommit = autocommit
        return conn

    def create_database(self, name: str) -> str:
        """Create database ``name`` (dropping one of that name first) and return its name."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return name

    @property
    def external(self) -> bool:
        """True when this points at a server it did not start (``KCFAST_PG_DSN``)."""
        return bool(self._external)

    # -- lifecycle --------------------------------------------------------------------------------------------

    def _cmd(self, args: list[str]) -> list[str]:
        if self._run_as is None:
            return args
        return ["runuser", "-u", self._run_as, "--", *args]

    def _run(self, args: list[str], what: str) -> None:
        proc = subprocess.run(self._cmd(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, check=False, timeout=self.start_timeout)
        if proc.returncode != 0:
            raise PostgresError(f"{what} failed ({proc.returncode}):\n{proc.stdout.decode(errors='replace')[-4000:]}")

    def start(self) -> EmbeddedPostgres:
        """Create the cluster and start the server (no-op when already started or external)."""
        if self._external or self._tmp is not None:
            return self
        self._bindir = find_bindir()
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(_SERVICE_USER)
            except KeyError as exc:
                raise PostgresError(f"running as root needs the '{_SERVICE_USER}' user to run PostgreSQL") from exc
            self._run_as = _SERVICE_USER
        self._tmp = tempfile.mkdtemp(prefix="kcfast-pg-")
        try:
            self._init_cluster()
            self._start_server()
        except BaseException:
            self.stop()
            raise
        return self

    def _init_cluster(self) -> None:
        assert self._tmp is not None
        tmp = Path(self._tmp)
        data = tmp / "data"
        pwfile = tmp / "pwfile"
        pwfile.write_text(self.password + "\n", encoding="utf-8")
        if self._run_as is not None:
            entry = pwd.getpwnam(self._run_as)
            os.chown(tmp, entry.pw_uid, entry.pw_gid)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        self._run([os.path.join(self._bindir, "initdb"), "-D", str(data), "-U", self.user, "-E", "UTF8",
                   "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"], "initdb")
        self.port = free_port(self.host)
        settings = {
            "listen_addresses": f"'{self.host}'", "port": str(self.port), "unix_socket_directories": f"'{tmp}'",
            "wal_level": "logical", "max_replication_slots": "20", "max_wal_senders": "20",
            "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
            "max_connections": "100", "shared_buffers": "128MB", "log_min_messages": "warning",
            "timezone": "'UTC'", "wal_sender_timeout": "60s",
        }
        with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# kcfast test server\n")
            conf.writelines(f"{k} = {v}\n" for k, v in settings.items())

    def _start_server(self) -> None:
        assert self._tmp is not None
        data = os.path.join(self._tmp, "data")
        log = os.path.join(self._tmp, "server.log")
        self._run([os.path.join(self._bindir, "pg_ctl"), "-D", data, "-l", log, "-w",
                   "-t", str(int(self.start_timeout)), "start"], "pg_ctl start")
        deadline = time.monotonic() + self.start_timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                self.connect().close()
                return
            except Exception as exc:  # noqa: BLE001 - retried until the deadline
                last = exc
                time.sleep(0.1)
        raise PostgresError(f"PostgreSQL did not accept connections: {last}")

    def log(self) -> str:
        """The tail of the server log."""
        if self._tmp is None:
            return ""
        path = Path(self._tmp) / "server.log"
        return path.read_text(encoding="utf-8", errors="replace")[-8000:] if path.exists() else ""

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its directory."""
        tmp, self._tmp = self._tmp, None
        if tmp is None:
            return
        data = os.path.join(tmp, "data")
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            try:
                self._run([os.path.join(self._bindir, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"],
                          "pg_ctl stop")
            except (PostgresError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(tmp, ignore_errors=True)

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
