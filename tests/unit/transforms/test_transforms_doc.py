"""docs/transforms.md lists every built-in with every key its ConfigDef defines, and its example runs."""

from __future__ import annotations

import re
from pathlib import Path

from kcfast.config_providers import ALLOWED_PATHS_CONFIG, ALLOWLIST_PATTERN_CONFIG
from kcfast.data import Schema
from kcfast.plugins import Plugins, builtin_class_names
from kcfast.properties import parse_properties
from kcfast.runtime.transforms import build_chain

DOC = (Path(__file__).resolve().parents[3] / "docs" / "transforms.md").read_text(encoding="utf-8")
JAVA = "org.apache.kafka.connect.transforms."


def _rows() -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in DOC.splitlines():
        if line.startswith("| `"):
            cells = re.split(r"(?<!\\)\|", line)
            for name in re.findall(r"`([\w$]+)`", cells[1]):
                rows[name] = cells[2]
    return rows


def test_every_builtin_and_key_is_documented() -> None:
    rows = _rows()
    plugins = Plugins()
    for java in builtin_class_names():
        if not java.startswith(JAVA):
            continue
        simple = java[len(JAVA):].removeprefix("predicates.")
        assert simple in rows, f"{simple} is not in docs/transforms.md"
        cls = plugins.plugin_class(java)[0]
        for key in cls().config().config_keys():
            assert f"`{key}`" in rows[simple], f"{simple}: key {key} is not documented"
    for provider, key in [("FileConfigProvider", ALLOWED_PATHS_CONFIG), ("DirectoryConfigProvider",
                                                                        ALLOWED_PATHS_CONFIG),
                          ("EnvVarConfigProvider", ALLOWLIST_PATTERN_CONFIG)]:
        assert f"`{key}`" in rows[provider]


def test_connector_example_runs(source) -> None:
    example = re.search(r"```properties\n(transforms=.*?)```", DOC, flags=re.DOTALL)
    assert example is not None
    chain = build_chain(parse_properties(example.group(1)), Plugins())
    assert chain is not None
    orders = chain.apply(source(Schema.STRING_SCHEMA, "line", topic="orders-eu", timestamp=5))
    assert orders.topic == "orders-eu-copy"
    assert orders.value.get("content") == "line" and orders.value.get("ts") is not None
    other = chain.apply(source(Schema.STRING_SCHEMA, "line", topic="audit"))
    assert other.topic == "audit"
