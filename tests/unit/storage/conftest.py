"""Fixtures for the storage tests: the JDK's own ObjectInputStream / ObjectOutputStream as an oracle."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

TESTDATA = Path(__file__).resolve().parent / "data"

_JAVA_SOURCE = r"""
import java.io.*;
import java.nio.file.*;
import java.util.*;

/** read FILE...: prints each map's size and entries as hex; write FILE MODE k=v...: writes a map. */
public class HashMapOracle {
    static String hex(byte[] b) {
        if (b == null) return "null";
        StringBuilder s = new StringBuilder("x");
        for (byte x : b) s.append(String.format("%02x", x));
        return s.toString();
    }
    static byte[] unhex(String s) {
        if (s.equals("null")) return null;
        byte[] b = new byte[(s.length() - 1) / 2];
        for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(s.substring(1 + 2 * i, 3 + 2 * i), 16);
        return b;
    }
    @SuppressWarnings("unchecked")
    public static void main(String[] a) throws Exception {
        if (a[0].equals("read")) {
            for (int f = 1; f < a.length; f++) {
                try (ObjectInputStream in = new ObjectInputStream(Files.newInputStream(Paths.get(a[f])))) {
                    HashMap<byte[], byte[]> m = (HashMap<byte[], byte[]>) in.readObject();
                    System.out.println(m.size());
                    for (Map.Entry<byte[], byte[]> e : m.entrySet())
                        System.out.println(hex(e.getKey()) + " " + hex(e.getValue()));
                }
            }
            return;
        }
        String mode = a[2];
        HashMap<byte[], byte[]> m = mode.equals("presized") ? new HashMap<>(1000) : new HashMap<>();
        byte[] shared = null;
        for (int i = 3; i < a.length; i++) {
            String[] kv = a[i].split("=", 2);
            byte[] v = unhex(kv[1]);
            if (mode.equals("shared") && v != null) {
                if (shared == null) shared = v;
                v = shared;
            }
            m.put(unhex(kv[0]), v);
        }
        try (ObjectOutputStream out = new ObjectOutputStream(Files.newOutputStream(Paths.get(a[1])))) {
            if (mode.equals("reset")) out.reset();
            out.writeObject(m);
        }
    }
}
"""


def _hex(value: bytes | None) -> str:
    return "null" if value is None else "x" + value.hex()


def _unhex(text: str) -> bytes | None:
    return None if text == "null" else bytes.fromhex(text[1:])


class JavaHashMapOracle:
    """Runs the JDK to read and write serialized ``HashMap<byte[], byte[]>`` files."""

    def __init__(self, classpath: Path) -> None:
        self.classpath = classpath

    def _run(self, *args: str) -> str:
        return subprocess.run(
            ["java", "-cp", str(self.classpath), "HashMapOracle", *args],
            check=True, capture_output=True, text=True, timeout=120,
        ).stdout

    def read(self, *paths: Path) -> list[dict[bytes | None, bytes | None]]:
        """Decode each file with ``ObjectInputStream.readObject``."""
        lines = self._run("read", *map(str, paths)).splitlines()
        maps = []
        i = 0
        while i < len(lines):
            count = int(lines[i])
            entries = {}
            for line in lines[i + 1 : i + 1 + count]:
                key, value = line.split(" ")
                entries[_unhex(key)] = _unhex(value)
            maps.append(entries)
            i += 1 + count
        return maps

    def write(self, path: Path, entries: dict[bytes | None, bytes | None], mode: str = "plain") -> None:
        """Write ``entries`` with ``ObjectOutputStream``; modes: plain, presized, shared (one value object), reset."""
        self._run("write", str(path), mode, *(f"{_hex(k)}={_hex(v)}" for k, v in entries.items()))


@pytest.fixture(scope="session")
def java_hashmap(tmp_path_factory: pytest.TempPathFactory) -> JavaHashMapOracle:
    """The JDK as an oracle for the offsets file format (skips the test when no JDK is installed)."""
    if shutil.which("javac") is None or shutil.which("java") is None:
        pytest.skip("no JDK installed")
    workdir = tmp_path_factory.mktemp("hashmap-oracle")
    (workdir / "HashMapOracle.java").write_text(_JAVA_SOURCE)
    subprocess.run(["javac", "HashMapOracle.java"], cwd=workdir, check=True, capture_output=True, timeout=120)
    return JavaHashMapOracle(workdir)


@pytest.fixture
def sample_offsets() -> tuple[bytes, list[tuple[bytes, bytes | None]]]:
    """The JDK-written sample offsets file (a copy of the shared test data) and its listed entries."""
    raw = (TESTDATA / "java-standalone.offsets").read_bytes()
    entries: list[tuple[bytes, bytes | None]] = []
    for line in (TESTDATA / "java-standalone.offsets.txt").read_text(encoding="utf-8").splitlines():
        key, value = line.split("\t")
        entries.append((key.encode(), None if value == "null" else value.encode()))
    return raw, entries
