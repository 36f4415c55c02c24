"""Run ``kcfast standalone`` as a subprocess and talk to its REST API, the way a user does.

Used by kcfast's integration tests and usable by anyone testing connectors against a real worker.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any


def properties_with(text: str, **overrides: str) -> str:
    """Properties file ``text`` with the given keys replaced (or appended), other lines kept as they are."""
    out, seen = [], set()
    for line in text.splitlines():
        stripped = line.lstrip()
        key = line.split("=", 1)[0].strip() if "=" in line and not stripped.startswith(("#", "!")) else None
        if key in overrides:
            out.append(f"{key}={overrides[key]}")
            seen.add(key)
        else:
            out.append(line)
    out += [f"{k}={v}" for k, v in overrides.items() if k not in seen]
    return "\n".join(out) + "\n"


class RestClient:
    """A small JSON-over-HTTP client for the REST API."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def request(self, method: str, path: str, body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                text = resp.read()
                return resp.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as exc:
            text = exc.read()
            return exc.code, (json.loads(text) if text else None)

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)


def stop_process(proc: subprocess.Popen[Any] | None, sig: int, timeout: float, name: str,
                 log: Callable[[], str]) -> int:
    """Send ``sig`` to ``proc`` and wait for it to exit; returns its exit code (0 when there is no process).

    Raises:
        AssertionError: it did not exit within ``timeout`` seconds (it is then killed); the message ends with
            ``log()``.
    """
    if proc is None:
        return 0
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"{name} did not stop within {timeout}s:\n{log()}") from None


class StandaloneProcess:
    """``python -m kcfast standalone worker.properties connector...`` in a subprocess."""

    def __init__(self, workdir: Path, worker_props: str, connector_files: list[Path], port: int) -> None:
        self.workdir = workdir
        self.worker_file = workdir / "worker.properties"
        self.worker_file.write_text(worker_props, encoding="utf-8")
        self.connector_files = connector_files
        self.port = port
        self.http = RestClient(f"http://127.0.0.1:{port}")
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"worker-{port}.log"

    def start(self, timeout: float = 60.0) -> "StandaloneProcess":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kcfast", "standalone", str(self.worker_file), *map(str, self.connector_files)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.workdir,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}:\n{self.log()}")
            try:
                status, _ = self.http.get("/")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"worker did not serve REST within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-8000:]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        proc, self.proc = self.proc, None
        return stop_process(proc, sig, timeout, "worker", self.log)

    def wait_for(self, predicate: Any, timeout: float = 60.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what} (last: {last!r})\n{self.log()}")
