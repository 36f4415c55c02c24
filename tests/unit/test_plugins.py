"""Plugin discovery and class-name resolution: Java names, aliases, plugin.path modules, entry points."""

from __future__ import annotations

import importlib.metadata
import logging
import re
import sys
import types
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kcfast.api import Converter, HeaderConverter, SinkConnector, SourceConnector, Transformation
from kcfast.api.config import ConfigDef
from kcfast.errors import ConnectError, NotFoundError
from kcfast.plugins import PluginDesc, Plugins, PluginType, builtin_class_names, class_name, import_class

PLUGIN_SOURCE = """
from kcfast.api import Converter, HeaderConverter, Predicate, SinkConnector, SourceConnector, Transformation
from kcfast.api.config import ConfigDef


class _Connector:
    def config(self): return ConfigDef()
    def start(self, props): pass
    def stop(self): pass
    def task_class(self): return None
    def task_configs(self, max_tasks): return []


class {prefix}SourceConnector(_Connector, SourceConnector):
    def version(self): return "1.2.3"


class {prefix}SinkConnector(_Connector, SinkConnector):
    def version(self): return "2.0"


class {prefix}Converter(Converter):
    pass


class {prefix}Upper(Transformation):
    def apply(self, record): return record
    def config(self): return ConfigDef()


class {prefix}Always(Predicate):
    def test(self, record): return True
    def config(self): return ConfigDef()


class NotAPlugin:
    pass
"""


_TEST_MODULE = re.compile(r"^(myplugins|broken|mypkg|one|two)_[0-9a-f]{8}(\.|$)")


@pytest.fixture
def isolated() -> Iterator[None]:
    """Undo the sys.path changes plugin discovery makes and forget the plugin modules the test wrote."""
    path = list(sys.path)
    yield
    sys.path[:] = path
    for name in [m for m in sys.modules if _TEST_MODULE.match(m)]:
        del sys.modules[name]


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def plugin_dir(tmp_path: Path, isolated: None) -> tuple[Path, str]:
    """A plugin.path directory holding one module with a plugin of each kind (class names start with ``My``)."""
    module = _unique("myplugins")
    (tmp_path / f"{module}.py").write_text(PLUGIN_SOURCE.format(prefix="My"))
    return tmp_path, module


class _Connector:
    def config(self) -> ConfigDef:
        return ConfigDef()

    def start(self, props: Any) -> None:
        pass

    def stop(self) -> None:
        pass

    def task_class(self) -> Any:
        return None

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return []

    def version(self) -> str:
        return "ignored"


_TRANSFORM_MODULES = ("cast", "drop_headers", "extract_field", "filter", "flatten", "header_from", "hoist_field",
                      "insert_header", "mask_field", "regex_router", "replace_field", "set_schema_metadata",
                      "timestamp_converter", "timestamp_router", "value_to_key")


@pytest.fixture
def fake_builtins(monkeypatch: pytest.MonkeyPatch) -> dict[str, type]:
    """Stand-ins for some built-in modules, so the tests do not depend on which ones exist in the tree."""
    file_mod = types.ModuleType("kcfast.connectors.file")
    source = type("FileStreamSourceConnector", (_Connector, SourceConnector), {"__module__": file_mod.__name__})
    sink = type("FileStreamSinkConnector", (_Connector, SinkConnector), {"__module__": file_mod.__name__})
    task = type("FileStreamSourceTask", (), {"__module__": file_mod.__name__})
    file_mod.FileStreamSourceConnector = source  # type: ignore[attr-defined]
    file_mod.FileStreamSinkConnector = sink  # type: ignore[attr-defined]
    file_mod.FileStreamSourceTask = task  # type: ignore[attr-defined]
    conv_mod = types.ModuleType("kcfast.converters")
    json_conv = type("JsonConverter", (Converter, HeaderConverter), {"__module__": conv_mod.__name__})
    conv_mod.JsonConverter = json_conv  # type: ignore[attr-defined]
    insert_mod = types.ModuleType("kcfast.transforms.insert_field")
    insert_value = type("InsertFieldValue", (Transformation,), {
        "__module__": insert_mod.__name__, "apply": lambda self, r: r, "config": lambda self: ConfigDef()})
    insert_mod.InsertFieldValue = insert_value  # type: ignore[attr-defined]
    transforms_pkg = types.ModuleType("kcfast.transforms")
    for module in (file_mod, conv_mod, insert_mod, transforms_pkg):
        monkeypatch.setitem(sys.modules, module.__name__, module)
    # Modules the tests must see as absent, whatever the tree holds.
    for absent in ("kcfast.connectors.synthetic", "kcfast.connectors.postgres", "kcfast.connectors.jdbc",
                   "kcfast.transforms.predicates", "kcfast.runtime.policies", "kcfast.config_providers"):
        monkeypatch.setitem(sys.modules, absent, None)
    # The real transformation modules may already be imported by other tests: hide them too.
    for module in _TRANSFORM_MODULES:
        monkeypatch.setitem(sys.modules, f"kcfast.transforms.{module}", None)
    return {"source": source, "sink": sink, "task": task, "json": json_conv, "insert_value": insert_value}


# -- built-ins --------------------------------------------------------------------------------------------------


def test_builtin_aliases_follow_kafka_rules() -> None:
    aliases = Plugins().aliases()
    assert aliases["FileStreamSource"] == "org.apache.kafka.connect.file.FileStreamSourceConnector"
    assert aliases["FileStreamSourceConnector"] == "org.apache.kafka.connect.file.FileStreamSourceConnector"
    assert aliases["FileStreamSink"] == "org.apache.kafka.connect.file.FileStreamSinkConnector"
    assert aliases["Json"] == aliases["JsonConverter"] == "org.apache.kafka.connect.json.JsonConverter"
    assert aliases["Simple"] == "org.apache.kafka.connect.storage.SimpleHeaderConverter"
    assert aliases["RegexRouter"] == "org.apache.kafka.connect.transforms.RegexRouter"
    assert aliases["TopicNameMatches"] == "org.apache.kafka.connect.transforms.predicates.TopicNameMatches"
    assert aliases["File"] == "org.apache.kafka.common.config.provider.FileConfigProvider"
    assert aliases["Principal"] == (
        "org.apache.kafka.connect.connector.policy.PrincipalConnectorClientConfigOverridePolicy"
    )
    # Shared by every $Key/$Value nested class: dropped. Outer names of nested classes are not aliases.
    assert "Value" not in aliases and "Key" not in aliases and "Cast" not in aliases


def test_builtin_list_covers_the_java_plugins() -> None:
    names = set(builtin_class_names())
    assert "org.apache.kafka.connect.transforms.InsertField$Value" in names
    assert "org.apache.kafka.connect.transforms.TimestampConverter$Key" in names
    assert "org.apache.kafka.connect.converters.ByteArrayConverter" in names
    assert "org.apache.kafka.connect.storage.SimpleHeaderConverter" in names
    transforms = [n for n in names if n.startswith("org.apache.kafka.connect.transforms.") and ".predicates." not in n]
    assert len(transforms) == 26  # Kafka's META-INF/services list of transformations
    assert len([n for n in names if ".predicates." in n]) == 3
    assert len([n for n in names if n.startswith("org.apache.kafka.connect.converters.")]) == 7


def test_builtins_resolve_by_every_name(fake_builtins: dict[str, type], isolated: None) -> None:
    plugins = Plugins()
    for name in ("org.apache.kafka.connect.file.FileStreamSourceConnector", "FileStreamSourceConnector",
                 "FileStreamSource", "kcfast.connectors.file.FileStreamSourceConnector"):
        assert plugins.connector_class(name) is fake_builtins["source"]
    assert plugins.connector_class(" FileStreamSink ") is fake_builtins["sink"]
    for name in ("org.apache.kafka.connect.json.JsonConverter", "JsonConverter", "Json"):
        assert plugins.converter_class(name) is fake_builtins["json"]
        assert plugins.header_converter_class(name) is fake_builtins["json"]
    assert plugins.transformation_class("org.apache.kafka.connect.transforms.InsertField$Value") is (
        fake_builtins["insert_value"]
    )
    assert class_name(fake_builtins["source"]) == "org.apache.kafka.connect.file.FileStreamSourceConnector"
    assert class_name(fake_builtins["insert_value"]) == "org.apache.kafka.connect.transforms.InsertField$Value"


def test_missing_builtin_module_fails_only_its_own_lookups(fake_builtins: dict[str, type], isolated: None) -> None:
    plugins = Plugins()
    assert plugins.converter_class("JsonConverter") is fake_builtins["json"]
    with pytest.raises(ConnectError, match="which name matches StringConverter, available converters are: "
                                           r"PluginDesc\{klass=class org.apache.kafka.connect.json.JsonConverter"):
        plugins.converter_class("StringConverter")
    with pytest.raises(ConnectError, match="implements Predicate and which name matches HasHeaderKey"):
        plugins.predicate_class("HasHeaderKey")


def test_unknown_connector_lists_available_ones(fake_builtins: dict[str, type], isolated: None) -> None:
    with pytest.raises(ConnectError) as info:
        Plugins().connector_class("NoSuchConnector")
    assert str(info.value) == (
        "Failed to find any class that implements Connector and which name matches NoSuchConnector, available "
        "connectors are: PluginDesc{klass=class org.apache.kafka.connect.file.FileStreamSinkConnector, "
        "name='org.apache.kafka.connect.file.FileStreamSinkConnector', version='3.9.0', encodedVersion=3.9.0, "
        "type=sink, typeName='sink', location='classpath'}, "
        "PluginDesc{klass=class org.apache.kafka.connect.file.FileStreamSourceConnector, "
        "name='org.apache.kafka.connect.file.FileStreamSourceConnector', version='3.9.0', encodedVersion=3.9.0, "
        "type=source, typeName='source', location='classpath'}"
    )


def test_wrong_kind_of_class_is_not_found(fake_builtins: dict[str, type], isolated: None) -> None:
    plugins = Plugins()
    with pytest.raises(ConnectError, match="implements Converter and which name matches FileStreamSource,"):
        plugins.converter_class("FileStreamSource")
    with pytest.raises(ConnectError, match="implements Connector and which name matches JsonConverter,"):
        plugins.connector_class("JsonConverter")


def test_import_class_for_task_classes(fake_builtins: dict[str, type], isolated: None) -> None:
    assert import_class("org.apache.kafka.connect.file.FileStreamSourceTask") is fake_builtins["task"]
    assert import_class("kcfast.connectors.file.FileStreamSourceTask") is fake_builtins["task"]
    assert import_class("collections.OrderedDict") is __import__("collections").OrderedDict
    assert import_class("collections:OrderedDict") is __import__("collections").OrderedDict
    with pytest.raises(ConnectError, match=r"^Class no.such.Task could not be found\.$"):
        import_class("no.such.Task")
    with pytest.raises(ConnectError, match="could not be found"):
        import_class("collections.NoSuchClass")
    with pytest.raises(ConnectError, match="could not be found"):
        import_class("collections.abc")  # a module, not a class


def test_listing_order_and_versions(fake_builtins: dict[str, type], isolated: None) -> None:
    listed = Plugins().all_plugins()
    assert [(d.class_name, d.type) for d in listed] == [
        ("org.apache.kafka.connect.file.FileStreamSinkConnector", "sink"),
        ("org.apache.kafka.connect.file.FileStreamSourceConnector", "source"),
        ("org.apache.kafka.connect.transforms.InsertField$Value", "transformation"),
        ("org.apache.kafka.connect.json.JsonConverter", "converter"),
        ("org.apache.kafka.connect.json.JsonConverter", "header_converter"),
    ]
    assert {d.version for d in listed} == {"3.9.0"}
    assert [d.type for d in Plugins().connector_plugins()] == ["sink", "source"]


def test_connector_type(fake_builtins: dict[str, type]) -> None:
    plugins = Plugins()
    assert plugins.connector_type(fake_builtins["source"]) == "source"
    assert plugins.connector_type(fake_builtins["sink"]()) == "sink"
    assert plugins.connector_type(fake_builtins["json"]) == "unknown"
    assert plugins.connector_type(None) == "unknown"


def test_plugin_class(fake_builtins: dict[str, type], isolated: None) -> None:
    plugins = Plugins()
    assert plugins.plugin_class("Json") == (fake_builtins["json"], PluginType.CONVERTER)
    assert plugins.plugin_class("FileStreamSink") == (fake_builtins["sink"], PluginType.SINK)
    assert plugins.plugin_class("collections.OrderedDict") == (__import__("collections").OrderedDict, None)
    with pytest.raises(NotFoundError, match=r"^Unknown plugin nope\.$"):
        plugins.plugin_class("nope")


# -- plugin.path ------------------------------------------------------------------------------------------------


def test_plugin_path_modules_are_discovered(plugin_dir: tuple[Path, str]) -> None:
    directory, module = plugin_dir
    plugins = Plugins(str(directory))
    source = plugins.connector_class("MySource")
    assert source.__name__ == "MySourceConnector"
    assert plugins.connector_class("MySourceConnector") is source
    assert plugins.connector_class(f"{module}.MySourceConnector") is source
    assert plugins.connector_class(f"{module}:MySourceConnector") is source
    assert plugins.connector_type(plugins.connector_class("MySink")) == "sink"
    assert plugins.converter_class("My").__name__ == "MyConverter"  # MyConverter minus "Converter"
    assert plugins.transformation_class("MyUpper").__name__ == "MyUpper"
    assert plugins.predicate_class("MyAlways").__name__ == "MyAlways"
    descs = {(d.class_name, d.type): d for d in plugins.all_plugins()}
    assert descs[(f"{module}.MySourceConnector", "source")] == PluginDesc(
        f"{module}.MySourceConnector", "source", "1.2.3", str(directory)
    )
    assert descs[(f"{module}.MySinkConnector", "sink")].version == "2.0"
    # Classes without a version() report Kafka's "undefined".
    assert descs[(f"{module}.MyConverter", "converter")].version == "undefined"
    assert (f"{module}.NotAPlugin", "converter") not in descs


def test_plugin_path_as_list_and_missing_directory_warns(plugin_dir: tuple[Path, str],
                                                         caplog: pytest.LogCaptureFixture) -> None:
    directory, _ = plugin_dir
    caplog.set_level(logging.WARNING, logger="kcfast.plugins")
    plugins = Plugins([str(directory / "missing"), str(directory)])
    assert plugins.connector_class("MySource").__name__ == "MySourceConnector"
    assert any("missing" in r.getMessage() and "does not exist" in r.getMessage() for r in caplog.records)


def test_broken_plugin_module_is_skipped_with_a_warning(plugin_dir: tuple[Path, str],
                                                        caplog: pytest.LogCaptureFixture) -> None:
    directory, _ = plugin_dir
    broken = _unique("broken")
    (directory / f"{broken}.py").write_text("raise RuntimeError('boom at import')\n")
    plugins = Plugins(str(directory))
    assert plugins.connector_class("MySource").__name__ == "MySourceConnector"
    assert any(broken in r.getMessage() and "boom at import" in r.getMessage() for r in caplog.records)


def test_plugin_packages_are_discovered(tmp_path: Path, isolated: None) -> None:
    package = _unique("mypkg")
    (tmp_path / package).mkdir()
    (tmp_path / package / "impl.py").write_text(PLUGIN_SOURCE.format(prefix="Pkg"))
    (tmp_path / package / "__init__.py").write_text("from .impl import PkgSourceConnector\n")
    plugins = Plugins([str(tmp_path)])
    assert plugins.connector_class("PkgSource").__module__ == f"{package}.impl"
    # A module below the package is importable by its dotted path even though it is not scanned.
    assert plugins.transformation_class(f"{package}.impl.PkgUpper").__name__ == "PkgUpper"
    assert f"{package}.impl.PkgUpper" in {d.class_name for d in plugins.plugins("transformation")}


def test_ambiguous_alias_is_dropped(tmp_path: Path, isolated: None) -> None:
    for prefix in ("one", "two"):
        (tmp_path / f"{_unique(prefix)}.py").write_text(PLUGIN_SOURCE.format(prefix="Dup"))
    plugins = Plugins([str(tmp_path)])
    assert "DupSource" not in plugins.aliases()
    with pytest.raises(ConnectError, match="More than one connector matches alias DupSource. Please use full "
                                           "package and class name instead. Classes found: PluginDesc"):
        plugins.connector_class("DupSource")
    with pytest.raises(ConnectError, match="implements Converter and which name matches Dup,"):
        plugins.converter_class("Dup")


# -- entry points -----------------------------------------------------------------------------------------------


def test_entry_points_resolve_by_name_and_alias(plugin_dir: tuple[Path, str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    directory, module = plugin_dir
    sys.path.append(str(directory))
    eps = {
        "kcfast.connectors": [importlib.metadata.EntryPoint("my-source", f"{module}:MySourceConnector",
                                                            "kcfast.connectors")],
        "kcfast.transforms": [importlib.metadata.EntryPoint("upper", f"{module}:MyUpper", "kcfast.transforms")],
    }
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: eps.get(group, []))
    plugins = Plugins()  # not on plugin.path: only the entry points make these known
    assert plugins.connector_class("my-source").__name__ == "MySourceConnector"
    assert plugins.connector_class("MySource").__name__ == "MySourceConnector"
    assert plugins.transformation_class("upper").__name__ == "MyUpper"
    assert f"{module}.MySourceConnector" in {d.class_name for d in plugins.connector_plugins()}
    with pytest.raises(ConnectError):
        plugins.connector_class("MySink")  # not registered anywhere, and no alias
