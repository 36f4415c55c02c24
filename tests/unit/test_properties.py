"""Java ``.properties`` reading and writing: Kafka's sample files, the grammar's corner cases, and a differential
test against ``java.util.Properties.load`` itself when a JDK is installed."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kcfast.errors import ConfigError
from kcfast.properties import dump_properties, load_properties, parse_properties

KAFKA_CONFIG = Path(__file__).resolve().parents[1] / "data" / "kafka-config"


def test_kafka_standalone_worker_file() -> None:
    props = load_properties(KAFKA_CONFIG / "connect-standalone.properties")
    assert props == {
        "bootstrap.servers": "localhost:9092",
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "true",
        "value.converter.schemas.enable": "true",
        "offset.storage.file.filename": "/tmp/connect.offsets",
        "offset.flush.interval.ms": "10000",
    }


def test_kafka_file_source_and_sink_files() -> None:
    # Both files end without a final newline.
    assert load_properties(KAFKA_CONFIG / "connect-file-source.properties") == {
        "name": "local-file-source",
        "connector.class": "FileStreamSource",
        "tasks.max": "1",
        "file": "test.txt",
        "topic": "connect-test",
    }
    assert load_properties(KAFKA_CONFIG / "connect-file-sink.properties") == {
        "name": "local-file-sink",
        "connector.class": "FileStreamSink",
        "tasks.max": "1",
        "file": "test.sink.txt",
        "topics": "connect-test",
    }


def test_kafka_distributed_worker_file() -> None:
    props = load_properties(KAFKA_CONFIG / "connect-distributed.properties")
    assert props == {
        "bootstrap.servers": "localhost:9092",
        "group.id": "connect-cluster",
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "true",
        "value.converter.schemas.enable": "true",
        "offset.storage.topic": "connect-offsets",
        "offset.storage.replication.factor": "1",
        "config.storage.topic": "connect-configs",
        "config.storage.replication.factor": "1",
        "status.storage.topic": "connect-status",
        "status.storage.replication.factor": "1",
        "offset.flush.interval.ms": "10000",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a=b", {"a": "b"}),
        ("a:b", {"a": "b"}),
        ("a b", {"a": "b"}),
        ("a\tb", {"a": "b"}),
        ("  a  =  b  ", {"a": "b  "}),  # leading blanks dropped, trailing kept
        ("a = = b", {"a": "= b"}),  # only one separator character is eaten
        ("a  :=b", {"a": "=b"}),
        ("a", {"a": ""}),
        ("a=", {"a": ""}),
        ("=b", {"": "b"}),
        ("# comment\n! also\nk=v", {"k": "v"}),
        ("   # indented comment\nk=v", {"k": "v"}),
        ("k=v # not a comment", {"k": "v # not a comment"}),
        ("k=v\nk=w", {"k": "w"}),
        ("a\\=b=c", {"a=b": "c"}),
        ("a\\:b:c", {"a:b": "c"}),
        ("a\\ b c", {"a b": "c"}),
        ("key\\\\=v", {"key\\": "v"}),
        ("k=a\\tb\\nc\\rd\\fe", {"k": "a\tb\nc\rd\fe"}),
        ("k=\\u00e9\\u0041", {"k": "éA"}),
        ("k=\\uD83D\\uDE00", {"k": "\U0001F600"}),  # an escaped surrogate pair is one character
        ("k=\\q\\\\", {"k": "q\\"}),  # unknown escape: the character itself
        ("k=one\\\n    two", {"k": "onetwo"}),  # continuation drops the next line's indentation
        ("k=one\\\r\n  two\\\r  three", {"k": "onetwothree"}),
        ("k=one\\\\\nx=y", {"k": "one\\", "x": "y"}),  # an even number of backslashes does not continue
        ("k=v\\", {"k": "v"}),  # a backslash at the end of the input is dropped
        ("# comment \\\nk=v", {"k": "v"}),  # a comment never continues
        ("k=a\\\n# not a comment", {"k": "a# not a comment"}),
        ("k=a\\\n\nx=y", {"k": "a", "x": "y"}),  # an empty continuation line ends the logical line
        ("\\\n#c\nk", {"k": ""}),  # a lone backslash line then '#' still starts a comment
        ("a=1\r\nb=2\rc=3\n", {"a": "1", "b": "2", "c": "3"}),
        ("\n\n   \n\t\fk=v\n\n", {"k": "v"}),
        ("k=ünïcödé", {"k": "ünïcödé"}),
    ],
)
def test_grammar(text: str, expected: dict[str, str]) -> None:
    assert parse_properties(text) == expected


def test_repeated_key_keeps_first_position_and_last_value() -> None:
    assert list(parse_properties("a=1\nb=2\na=3").items()) == [("a", "3"), ("b", "2")]


@pytest.mark.parametrize("text", ["k=\\u00", "k=\\u00zz", "k=x\\u12"])
def test_malformed_unicode_escape(text: str) -> None:
    with pytest.raises(ConfigError, match=r"Malformed \\uxxxx encoding on line 1"):
        parse_properties(text)


def test_malformed_escape_in_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.properties"
    path.write_text("a=1\nb=\\uXYZW\n")
    with pytest.raises(ConfigError) as info:
        load_properties(path)
    assert str(path) in str(info.value)
    assert "line 2" in str(info.value)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing.properties"):
        load_properties(tmp_path / "missing.properties")


def test_utf8_file_and_latin1_fallback(tmp_path: Path) -> None:
    utf8 = tmp_path / "utf8.properties"
    utf8.write_bytes("\ufeffname=caf\u00e9\n".encode())
    assert load_properties(utf8) == {"name": "café"}
    latin1 = tmp_path / "latin1.properties"
    latin1.write_bytes("name=caf\u00e9\n".encode("iso-8859-1"))
    assert load_properties(latin1) == {"name": "café"}


def test_dump_escapes_everything_special() -> None:
    props = {"a b=c:d": " lead and trail ", "#k": "!v", "tab\t": "line\nbreak\\", "é": "\U0001F600"}
    text = dump_properties(props)
    assert text.isascii()
    assert parse_properties(text) == props
    assert dump_properties({"k": "v"}) == "k=v\n"
    assert dump_properties({}) == ""


@given(st.dictionaries(st.text(), st.text(), max_size=8))
def test_dump_then_parse_round_trips(props: dict[str, str]) -> None:
    assert parse_properties(dump_properties(props)) == props


# ------------------------------------------------------------------------------------------------------------
# Differential test against java.util.Properties (skipped without a JDK).

_JAVA_SOURCE = r"""
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.*;

public class PropsOracle {
    static String units(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) b.append(String.format("%04x", (int) s.charAt(i)));
        return b.toString();
    }
    public static void main(String[] args) throws Exception {
        for (String path : args) {
            Properties p = new Properties();
            try (Reader r = new InputStreamReader(new FileInputStream(path), StandardCharsets.UTF_8)) {
                p.load(r);
                System.out.println("OK " + p.size());
                for (String k : p.stringPropertyNames()) System.out.println(units(k) + " " + units(p.getProperty(k)));
            } catch (IllegalArgumentException e) {
                System.out.println("ERROR 0");
            }
        }
    }
}
"""


@pytest.fixture(scope="module")
def java_oracle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("javac") is None or shutil.which("java") is None:
        pytest.skip("no JDK installed")
    workdir = tmp_path_factory.mktemp("props-oracle")
    (workdir / "PropsOracle.java").write_text(_JAVA_SOURCE)
    subprocess.run(["javac", "PropsOracle.java"], cwd=workdir, check=True, capture_output=True, timeout=120)
    return workdir


def _units(text: str) -> str:
    raw = text.encode("utf-16-be", "surrogatepass")
    return "".join(f"{int.from_bytes(raw[i:i + 2], 'big'):04x}" for i in range(0, len(raw), 2))


def _java_results(oracle: Path, files: list[Path]) -> list[dict[str, str] | None]:
    out = subprocess.run(
        ["java", "-cp", str(oracle), "PropsOracle", *map(str, files)],
        check=True, capture_output=True, text=True, timeout=120,
    ).stdout.splitlines()
    results: list[dict[str, str] | None] = []
    i = 0
    while i < len(out):
        status, count = out[i].split()
        i += 1
        if status == "ERROR":
            results.append(None)
            continue
        entries = {}
        for line in out[i : i + int(count)]:
            key, _, value = line.partition(" ")
            entries[key] = value
        i += int(count)
        results.append(entries)
    return results


def _random_text(rng: random.Random) -> str:
    pieces = ["a", "b", "k", "=", ":", " ", "\t", "\f", "\n", "\r", "\r\n", "\\", "\\\n", "#", "!", "u", "0",
              "\\u0041", "\\u00e9", "\\uD83D\\uDE00", "é", "\U0001F600", "\\t", "\\n", "x=y\n"]
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))


def test_matches_java_properties_load(java_oracle: Path, tmp_path: Path) -> None:
    rng = random.Random(20241025)
    texts = [_random_text(rng) for _ in range(400)]
    texts += [(KAFKA_CONFIG / name).read_text() for name in sorted(p.name for p in KAFKA_CONFIG.iterdir())]
    files = []
    for index, text in enumerate(texts):
        path = tmp_path / f"{index}.properties"
        path.write_bytes(text.encode("utf-8"))
        files.append(path)
    java = _java_results(java_oracle, files)
    for text, expected in zip(texts, java):
        try:
            ours: dict[str, str] | None = {_units(k): _units(v) for k, v in parse_properties(text).items()}
        except ConfigError:
            ours = None
        assert ours == expected, repr(text)


def test_java_reads_what_dump_writes(java_oracle: Path, tmp_path: Path) -> None:
    rng = random.Random(7)
    alphabet = "ab =:#!\\\t\n\r\féü\U0001F600\x00\x7f"
    maps = [
        {"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))):
         "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(rng.randint(0, 5))}
        for _ in range(100)
    ]
    files = []
    for index, props in enumerate(maps):
        path = tmp_path / f"{index}.properties"
        path.write_text(dump_properties(props), encoding="utf-8")
        files.append(path)
    for props, expected in zip(maps, _java_results(java_oracle, files)):
        assert expected == {_units(k): _units(v) for k, v in props.items()}
