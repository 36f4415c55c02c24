"""Plugin discovery and class-name resolution (Kafka Connect's ``Plugins`` and ``DelegatingClassLoader``).

A class-typed setting (``connector.class``, ``key.converter``, ``transforms.<a>.type``, ...) may name:

1. a built-in by its Java class name (``org.apache.kafka.connect.file.FileStreamSourceConnector``,
   ``org.apache.kafka.connect.transforms.InsertField$Value``), which maps to kcfast's Python class;
2. an alias of a known plugin: the simple class name, or the simple name without its type's suffix
   (``Connector``, ``Converter``, ``HeaderConverter``, ``Transformation``, ``Predicate``, ``ConfigProvider``,
   ``ConnectorClientConfigOverridePolicy``), computed over every known plugin; an alias two classes share is
   dropped, as Kafka does (``Value`` names no one);
3. an entry point name in the groups ``kcfast.connectors``, ``kcfast.converters``, ``kcfast.transforms``,
   ``kcfast.predicates``, ``kcfast.config_providers``;
4. a Python dotted path (``package.module.ClassName``, or ``package.module:ClassName``), importable from the
   ``plugin.path`` directories (added to ``sys.path``) or from ``sys.path``.

Known plugins are the built-ins, the entry points, and the plugin classes found in the top-level modules and
packages of the ``plugin.path`` directories. Modules are imported only when needed, so a built-in whose module
is missing or broken fails its own lookups only.
"""

from __future__ import annotations

import enum
import importlib
import importlib.metadata
import inspect
import logging
import re
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kcfast._version import KAFKA_VERSION
from kcfast.errors import ConnectError, NotFoundError

__all__ = [
    "PluginDesc",
    "PluginType",
    "Plugins",
    "builtin_class_names",
    "class_name",
    "import_class",
]

log = logging.getLogger(__name__)

UNDEFINED_VERSION = "undefined"


class PluginType(str, enum.Enum):
    """The kinds of plugins; the value is the name the REST API shows."""

    SOURCE = "source"
    SINK = "sink"
    CONVERTER = "converter"
    HEADER_CONVERTER = "header_converter"
    TRANSFORMATION = "transformation"
    PREDICATE = "predicate"
    CONFIGPROVIDER = "configprovider"
    REST_EXTENSION = "rest_extension"
    CONNECTOR_CLIENT_CONFIG_OVERRIDE_POLICY = "connector_client_config_override_policy"

    def __str__(self) -> str:
        return self.value

    @property
    def suffix(self) -> str:
        """The interface name whose trailing occurrence is cut from a class name to make its short alias."""
        return _SUFFIXES[self]


_SUFFIXES = {
    PluginType.SOURCE: "Connector",
    PluginType.SINK: "Connector",
    PluginType.CONVERTER: "Converter",
    PluginType.HEADER_CONVERTER: "HeaderConverter",
    PluginType.TRANSFORMATION: "Transformation",
    PluginType.PREDICATE: "Predicate",
    PluginType.CONFIGPROVIDER: "ConfigProvider",
    PluginType.REST_EXTENSION: "ConnectRestExtension",
    PluginType.CONNECTOR_CLIENT_CONFIG_OVERRIDE_POLICY: "ConnectorClientConfigOverridePolicy",
}

#: The order of ``GET /connector-plugins?connectorsOnly=false``.
REST_ORDER = (
    PluginType.SINK,
    PluginType.SOURCE,
    PluginType.TRANSFORMATION,
    PluginType.PREDICATE,
    PluginType.CONVERTER,
    PluginType.HEADER_CONVERTER,
)

ENTRY_POINT_GROUPS: dict[str, tuple[PluginType, ...]] = {
    "kcfast.connectors": (PluginType.SOURCE, PluginType.SINK),
    "kcfast.converters": (PluginType.CONVERTER, PluginType.HEADER_CONVERTER),
    "kcfast.transforms": (PluginType.TRANSFORMATION,),
    "kcfast.predicates": (PluginType.PREDICATE,),
    "kcfast.config_providers": (PluginType.CONFIGPROVIDER,),
}


@dataclass(frozen=True, order=False)
class PluginDesc:
    """One plugin: its class name (what REST shows), type, version and where it was found."""

    class_name: str
    type: str
    version: str
    location: str = "classpath"

    def __str__(self) -> str:
        # The text of Kafka's PluginDesc.toString, which error messages list.
        return (
            f"PluginDesc{{klass=class {self.class_name}, name='{self.class_name}', version='{self.version}', "
            f"encodedVersion={self.version}, type={self.type}, typeName='{self.type}', location='{self.location}'}}"
        )

    @property
    def sort_key(self) -> tuple[Any, ...]:
        """Kafka's order: class name, then version (numeric parts compared as numbers), then location."""
        return (self.class_name, _version_key(self.version), self.location, self.type)


def _version_key(version: str) -> tuple[tuple[int, Any], ...]:
    parts = re.split(r"[.\-]", version)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


# ---------------------------------------------------------------------------------------------------------------
# Built-ins: Java class name -> where kcfast implements it.

@dataclass(frozen=True)
class _Builtin:
    name: str  # the class name shown to users (Java's for Kafka's plugins)
    types: tuple[PluginType, ...]
    targets: tuple[str, ...]  # "module:attr.path" candidates, tried in order
    version: str | None  # None: ask the class


def _smt(java: str, module: str, ptype: PluginType, variants: bool) -> list[_Builtin]:
    pkg = "org.apache.kafka.connect.transforms."
    if ptype is PluginType.PREDICATE:
        pkg += "predicates."
    out = []
    names = [(f"{java}${v}", f"{java}{v}", f"{java}.{v}") for v in ("Key", "Value")] if variants else [
        (java, java, java)]
    for java_name, flat, nested in names:
        targets: tuple[str, ...] = (
            (f"{module}:{flat}",) if flat == nested else (f"{module}:{flat}", f"{module}:{nested}")
        )
        package = module.rsplit(".", 1)[0]
        targets += tuple(f"{package}:{t.split(':')[1]}" for t in targets)
        out.append(_Builtin(pkg + java_name, (ptype,), targets, KAFKA_VERSION))
    return out


def _builtins() -> list[_Builtin]:
    src, sink, conv, hconv = PluginType.SOURCE, PluginType.SINK, PluginType.CONVERTER, PluginType.HEADER_CONVERTER
    both = (conv, hconv)
    items = [
        _Builtin("org.apache.kafka.connect.file.FileStreamSourceConnector", (src,),
                 ("kcfast.connectors.file:FileStreamSourceConnector",), KAFKA_VERSION),
        _Builtin("org.apache.kafka.connect.file.FileStreamSinkConnector", (sink,),
                 ("kcfast.connectors.file:FileStreamSinkConnector",), KAFKA_VERSION),
        _Builtin("kcfast.connectors.synthetic.SyntheticSourceConnector", (src,),
                 ("kcfast.connectors.synthetic:SyntheticSourceConnector",), None),
        _Builtin("kcfast.connectors.synthetic.DiscardSinkConnector", (sink,),
                 ("kcfast.connectors.synthetic:DiscardSinkConnector",), None),
        _Builtin("io.debezium.connector.postgresql.PostgresConnector", (src,),
                 ("kcfast.connectors.postgres:PostgresConnector",), None),
        _Builtin("io.debezium.connector.jdbc.JdbcSinkConnector", (sink,),
                 ("kcfast.connectors.jdbc:JdbcSinkConnector",), None),
        _Builtin("org.apache.kafka.connect.json.JsonConverter", both, ("kcfast.converters:JsonConverter",),
                 KAFKA_VERSION),
        _Builtin("org.apache.kafka.connect.storage.StringConverter", both, ("kcfast.converters:StringConverter",),
                 KAFKA_VERSION),
        _Builtin("org.apache.kafka.connect.storage.SimpleHeaderConverter", (hconv,),
                 ("kcfast.converters:SimpleHeaderConverter",), KAFKA_VERSION),
    ]
    for simple in ("ByteArray", "Double", "Float", "Integer", "Long", "Short", "Boolean"):
        items.append(_Builtin(f"org.apache.kafka.connect.converters.{simple}Converter", both,
                              (f"kcfast.converters:{simple}Converter",), KAFKA_VERSION))
    smts = [
        ("Cast", "cast", True), ("DropHeaders", "drop_headers", False), ("ExtractField", "extract_field", True),
        ("Filter", "filter", False), ("Flatten", "flatten", True), ("HeaderFrom", "header_from", True),
        ("HoistField", "hoist_field", True), ("InsertField", "insert_field", True),
        ("InsertHeader", "insert_header", False), ("MaskField", "mask_field", True),
        ("RegexRouter", "regex_router", False), ("ReplaceField", "replace_field", True),
        ("SetSchemaMetadata", "set_schema_metadata", True), ("TimestampConverter", "timestamp_converter", True),
        ("TimestampRouter", "timestamp_router", False), ("ValueToKey", "value_to_key", False),
    ]
    for java, module, variants in smts:
        items += _smt(java, f"kcfast.transforms.{module}", PluginType.TRANSFORMATION, variants)
    for java in ("HasHeaderKey", "RecordIsTombstone", "TopicNameMatches"):
        items += _smt(java, "kcfast.transforms.predicates", PluginType.PREDICATE, False)
    for simple in ("File", "Directory", "EnvVar"):
        items.append(_Builtin(f"org.apache.kafka.common.config.provider.{simple}ConfigProvider",
                              (PluginType.CONFIGPROVIDER,), (f"kcfast.config_providers:{simple}ConfigProvider",),
                              UNDEFINED_VERSION))
    for simple in ("All", "None", "Principal"):
        items.append(_Builtin(
            f"org.apache.kafka.connect.connector.policy.{simple}ConnectorClientConfigOverridePolicy",
            (PluginType.CONNECTOR_CLIENT_CONFIG_OVERRIDE_POLICY,),
            (f"kcfast.runtime.policies:{simple}ConnectorClientConfigOverridePolicy",), KAFKA_VERSION))
    return items


_BUILTINS: dict[str, _Builtin] = {b.name: b for b in _builtins()}

#: Classes that are not plugins but that configs name by their Java class name (``task.class``).
_BUILTIN_CLASSES: dict[str, tuple[str, ...]] = {
    "org.apache.kafka.connect.file.FileStreamSourceTask": ("kcfast.connectors.file:FileStreamSourceTask",),
    "org.apache.kafka.connect.file.FileStreamSinkTask": ("kcfast.connectors.file:FileStreamSinkTask",),
}


def builtin_class_names() -> list[str]:
    """The class names of every built-in plugin, as users write them."""
    return list(_BUILTINS)


class _ClassNotFound(Exception):
    """Internal: a name resolves to no class."""


def _import_target(target: str) -> Any:
    """Import ``module:attr.path``; raise :class:`_ClassNotFound` if the module or attribute does not exist."""
    module_name, _, attr_path = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise _ClassNotFound(target) from exc
        log.warning("Module %s cannot be imported: %s", module_name, exc, exc_info=True)
        raise _ClassNotFound(target) from exc
    except Exception as exc:
        log.warning("Module %s cannot be imported: %s", module_name, exc, exc_info=True)
        raise _ClassNotFound(target) from exc
    for part in attr_path.split(".") if attr_path else ():
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise _ClassNotFound(target) from exc
    if not inspect.isclass(obj):
        raise _ClassNotFound(target)
    return obj


def _import_first(targets: Iterable[str]) -> Any:
    last: _ClassNotFound | None = None
    for target in targets:
        try:
            return _import_target(target)
        except _ClassNotFound as exc:
            last = exc
    raise last or _ClassNotFound("")


def _import_dotted(name: str) -> Any:
    """Import a Python dotted path (``pkg.mod.Class``, ``pkg.mod:Class``, ``pkg.mod.Outer$Inner``)."""
    name = name.strip()
    if not name or any(c.isspace() for c in name):
        raise _ClassNotFound(name)
    if ":" in name:
        return _import_target(name)
    parts = name.replace("$", ".").split(".")
    if not all(p.isidentifier() for p in parts):
        raise _ClassNotFound(name)
    for split in range(len(parts) - 1, 0, -1):
        try:
            return _import_target(".".join(parts[:split]) + ":" + ".".join(parts[split:]))
        except _ClassNotFound as exc:
            cause = exc.__cause__
            if isinstance(cause, ModuleNotFoundError) and cause.name is not None and (
                ".".join(parts[:split]) == cause.name or ".".join(parts[:split]).startswith(cause.name + ".")
            ):
                continue  # the module does not exist: try a shorter module path
            raise
    raise _ClassNotFound(name)


def import_class(name: str) -> Any:
    """Load a class by Java built-in name or Python dotted path (for ``task.class`` and similar settings).

    Raises:
        ConnectError: ``Class <name> could not be found.``
    """
    try:
        builtin = _BUILTINS.get(name)
        if builtin is not None:
            return _import_first(builtin.targets)
        if name in _BUILTIN_CLASSES:
            return _import_first(_BUILTIN_CLASSES[name])
        return _import_dotted(name)
    except _ClassNotFound as exc:
        raise ConnectError(f"Class {name} could not be found.") from exc.__cause__


def class_name(cls: type) -> str:
    """The name users see for ``cls``: the Java name of a built-in, else the Python dotted path."""
    dotted = f"{cls.__module__}.{cls.__qualname__}"
    java = _JAVA_NAMES.get(dotted)
    if java is None:
        # Built-ins are registered by the package that re-exports them (kcfast.converters.JsonConverter is
        # defined in kcfast.converters.json): try the enclosing packages too.
        parts = cls.__module__.split(".")
        for end in range(len(parts) - 1, 0, -1):
            java = _JAVA_NAMES.get(".".join(parts[:end]) + "." + cls.__qualname__)
            if java is not None:
                break
    return java or dotted


def _java_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for java, targets in [(b.name, b.targets) for b in _BUILTINS.values()] + list(_BUILTIN_CLASSES.items()):
        for target in targets:
            names.setdefault(target.replace(":", "."), java)
    return names


_JAVA_NAMES = _java_names()


def _simple_name(name: str) -> str:
    """Java's ``Class.getSimpleName`` of a class name (``a.b.Outer$Inner`` -> ``Inner``)."""
    return re.split(r"[.$]", name)[-1]


def _pruned_name(simple: str, ptype: PluginType) -> str:
    pos = simple.rfind(ptype.suffix)
    return simple[:pos] if pos > 0 else simple


# ---------------------------------------------------------------------------------------------------------------


@dataclass
class _Known:
    """A known plugin class (resolved or not yet)."""

    name: str
    types: tuple[PluginType, ...]
    loader: Any  # () -> class; raises _ClassNotFound
    version: str | None
    location: str = "classpath"
    cls: Any = None
    failed: bool = False
    versions: dict[PluginType, str] = field(default_factory=dict)

    def load(self) -> Any:
        if self.cls is None and not self.failed:
            try:
                self.cls = self.loader()
            except _ClassNotFound:
                self.failed = True
        if self.cls is None:
            raise _ClassNotFound(self.name)
        return self.cls


class Plugins:
    """The plugins a worker knows, and resolution of class names and aliases to Python classes.

    Thread-safe. Discovery (entry points and ``plugin.path`` modules) happens once, on first need.

    Args:
        plugin_path: the worker's ``plugin.path``: a list of directories or a comma-separated string. Each
            directory is appended to ``sys.path``; one that does not exist is logged as a warning.
    """

    def __init__(self, plugin_path: str | Sequence[str] | None = None) -> None:
        if isinstance(plugin_path, str):
            plugin_path = [p for p in (s.strip() for s in plugin_path.split(",")) if p]
        self.plugin_path: list[str] = list(plugin_path or [])
        self._lock = threading.RLock()
        self._known: dict[str, _Known] = {}
        self._aliases: dict[str, str] = {}
        self._discovered = False
        for builtin in _BUILTINS.values():
            self._known[builtin.name] = _Known(builtin.name, builtin.types,
                                               lambda t=builtin.targets: _import_first(t), builtin.version)
        self._directories: list[Path] = []
        for entry in self.plugin_path:
            directory = Path(entry).expanduser()
            if not directory.is_dir():
                log.warning("Plugin path %s does not exist or is not a directory; ignoring it", entry)
                continue
            self._directories.append(directory)
            if str(directory) not in sys.path:
                sys.path.append(str(directory))

    # -- discovery --------------------------------------------------------------------------------------------

    def _discover(self) -> None:
        with self._lock:
            if self._discovered:
                return
            self._discovered = True
            self._discover_entry_points()
            for directory in self._directories:
                self._scan_directory(directory)
            self._compute_aliases()

    def _discover_entry_points(self) -> None:
        self._entry_point_names: dict[str, str] = {}
        for group, types in ENTRY_POINT_GROUPS.items():
            try:
                entry_points = importlib.metadata.entry_points(group=group)
            except Exception as exc:  # noqa: BLE001 - broken metadata must not stop the worker
                log.warning("Cannot read entry points of group %s: %s", group, exc)
                continue
            for ep in entry_points:
                name = ep.value.replace(":", ".").replace(" ", "")
                self._entry_point_names.setdefault(ep.name, name)
                if name in self._known:
                    continue
                self._known[name] = _Known(name, types, lambda value=ep.value: _import_target(value.replace(" ", "")),
                                           None)

    def _scan_directory(self, directory: Path) -> None:
        try:
            entries = sorted(directory.iterdir())
        except OSError as exc:
            log.warning("Cannot list plugin path directory %s: %s", directory, exc)
            return
        for entry in entries:
            if entry.name.startswith((".", "_")):
                continue
            if entry.is_file() and entry.suffix == ".py":
                module_name = entry.stem
            elif entry.is_dir() and (entry / "__init__.py").is_file():
                module_name = entry.name
            else:
                continue
            if not module_name.isidentifier():
                continue
            try:
                module = importlib.import_module(module_name)
            except Exception as exc:
                log.warning("Skipping plugin module %s in %s: %s", module_name, directory, exc, exc_info=True)
                continue
            for cls in _module_classes(module):
                types = _plugin_types(cls)
                name = f"{cls.__module__}.{cls.__qualname__}"
                if types and name not in self._known:
                    self._known[name] = _Known(name, types, lambda c=cls: c, None, str(directory), cls=cls)

    def _compute_aliases(self) -> None:
        collisions: dict[str, set[str]] = {}
        for known in self._known.values():
            simple = _simple_name(known.name)
            collisions.setdefault(simple, set()).add(known.name)
            for ptype in known.types:
                collisions.setdefault(_pruned_name(simple, ptype), set()).add(known.name)
        for ep_name, target in self._entry_point_names.items():
            collisions.setdefault(ep_name, set()).add(target)
        self._aliases = {alias: next(iter(names)) for alias, names in collisions.items() if len(names) == 1}
        for alias, names in collisions.items():
            if len(names) > 1:
                log.debug("Ignoring ambiguous alias '%s' since it refers to multiple distinct plugins %s",
                          alias, sorted(names))

    # -- resolution -------------------------------------------------------------------------------------------

    def _resolve(self, name: str) -> tuple[Any, _Known | None]:
        """Resolve ``name`` (a class name, alias, entry point name or dotted path) to a class."""
        name = name.strip()
        known = self._known.get(name)
        if known is None:
            self._discover()
            full = self._aliases.get(name, name)
            known = self._known.get(full)
        if known is not None:
            with self._lock:
                return known.load(), known
        if name in _BUILTIN_CLASSES:
            return _import_first(_BUILTIN_CLASSES[name]), None
        cls = _import_dotted(name)
        types = _plugin_types(cls)
        if types:
            # A plugin found by its dotted path is listed from now on, like the discovered ones.
            with self._lock:
                dotted = class_name(cls)
                known = self._known.get(dotted)
                if known is None:
                    known = self._known[dotted] = _Known(dotted, types, lambda c=cls: c, None, cls=cls)
            return cls, known
        return cls, None

    def _find(self, name: str, ptypes: tuple[PluginType, ...], interface: str, listing: str) -> Any:
        try:
            cls, _ = self._resolve(name)
        except _ClassNotFound:
            cls = None
        if cls is not None and any(_is_type(cls, t) for t in ptypes):
            return cls
        available = ", ".join(str(d) for d in self._descs(ptypes, sort=True))
        raise ConnectError(
            f"Failed to find any class that implements {interface} and which name matches {name}, "
            f"available {listing} are: {available}"
        )

    def connector_class(self, name: str) -> Any:
        """The connector class ``name`` designates (Java name, alias, entry point or dotted path).

        Raises:
            ConnectError: no connector matches (Kafka's message, listing the available connectors).
        """
        try:
            cls, _ = self._resolve(name)
        except _ClassNotFound:
            cls = None
        if cls is not None and (_is_type(cls, PluginType.SOURCE) or _is_type(cls, PluginType.SINK)):
            return cls
        connectors = self._descs((PluginType.SOURCE, PluginType.SINK), sort=True)
        matches = []
        for desc in connectors:
            simple = _simple_name(desc.class_name)
            if simple in (name, name + "Connector") and desc.class_name not in matches:
                matches.append(desc.class_name)
        listing = ", ".join(str(d) for d in connectors)
        if not matches:
            raise ConnectError(
                f"Failed to find any class that implements Connector and which name matches {name}, "
                f"available connectors are: {listing}"
            )
        if len(matches) > 1:
            raise ConnectError(
                f"More than one connector matches alias {name}. Please use full package and class name instead. "
                f"Classes found: {listing}"
            )
        return self._known[matches[0]].load()

    def converter_class(self, name: str) -> Any:
        """The :class:`~kcfast.api.converter.Converter` class ``name`` designates.

        Raises:
            ConnectError: none matches; the message lists the available converters.
        """
        return self._find(name, (PluginType.CONVERTER,), "Converter", "converters")

    def header_converter_class(self, name: str) -> Any:
        """The :class:`~kcfast.api.converter.HeaderConverter` class ``name`` designates."""
        return self._find(name, (PluginType.HEADER_CONVERTER,), "HeaderConverter", "header converters")

    def transformation_class(self, name: str) -> Any:
        """The :class:`~kcfast.api.transforms.Transformation` class ``name`` designates."""
        return self._find(name, (PluginType.TRANSFORMATION,), "Transformation", "transformations")

    def predicate_class(self, name: str) -> Any:
        """The :class:`~kcfast.api.transforms.Predicate` class ``name`` designates."""
        return self._find(name, (PluginType.PREDICATE,), "Predicate", "predicates")

    def config_provider_class(self, name: str) -> Any:
        """The config provider class ``name`` designates."""
        return self._find(name, (PluginType.CONFIGPROVIDER,), "ConfigProvider", "config providers")

    def override_policy_class(self, name: str) -> Any:
        """The connector client config override policy class ``name`` designates (``All``, ``None``, ...)."""
        return self._find(name, (PluginType.CONNECTOR_CLIENT_CONFIG_OVERRIDE_POLICY,),
                          "ConnectorClientConfigOverridePolicy", "policies")

    def plugin_class(self, name: str) -> tuple[Any, PluginType | None]:
        """The class ``name`` designates and its plugin type (``None`` if it is not a plugin).

        A class that is both a converter and a header converter reports ``converter``.

        Raises:
            NotFoundError: ``Unknown plugin <name>.``
        """
        try:
            cls, known = self._resolve(name)
        except _ClassNotFound as exc:
            raise NotFoundError(f"Unknown plugin {name}.") from exc.__cause__
        types = known.types if known is not None else _plugin_types(cls)
        for ptype in PluginType:
            if ptype in types and (known is not None or _is_type(cls, ptype)):
                return cls, ptype
        return cls, None

    def connector_type(self, cls: Any) -> str:
        """``"source"``, ``"sink"`` or ``"unknown"`` for a connector class (or instance, or ``None``)."""
        if cls is None:
            return "unknown"
        if not inspect.isclass(cls):
            cls = type(cls)
        if _is_type(cls, PluginType.SOURCE):
            return "source"
        if _is_type(cls, PluginType.SINK):
            return "sink"
        return "unknown"

    # -- listing ----------------------------------------------------------------------------------------------

    def _descs(self, ptypes: Iterable[PluginType], sort: bool) -> list[PluginDesc]:
        self._discover()
        wanted = tuple(ptypes)
        out: list[PluginDesc] = []
        with self._lock:
            for known in list(self._known.values()):
                for ptype in known.types:
                    if ptype not in wanted:
                        continue
                    try:
                        cls = known.load()
                    except _ClassNotFound:
                        log.debug("Plugin %s is not available", known.name)
                        break
                    if known.version is None and not _is_type(cls, ptype):
                        continue
                    out.append(PluginDesc(known.name, ptype.value, self._version(known, cls, ptype),
                                          known.location))
        if sort:
            out.sort(key=lambda d: d.sort_key)
        return out

    @staticmethod
    def _version(known: _Known, cls: Any, ptype: PluginType) -> str:
        if known.version is not None:
            return known.version
        if ptype not in known.versions:
            version = UNDEFINED_VERSION
            try:
                value = cls().version()
                version = "null" if value is None else str(value)
            except Exception:  # noqa: BLE001 - a plugin without a working version() is "undefined"
                version = UNDEFINED_VERSION
            known.versions[ptype] = version
        return known.versions[ptype]

    def plugins(self, ptype: PluginType | str) -> list[PluginDesc]:
        """The available plugins of one type, sorted by class name then version."""
        return self._descs((PluginType(ptype),), sort=True)

    def connector_plugins(self) -> list[PluginDesc]:
        """Sink then source connectors, as ``GET /connector-plugins`` lists them."""
        return self.plugins(PluginType.SINK) + self.plugins(PluginType.SOURCE)

    def all_plugins(self) -> list[PluginDesc]:
        """Every plugin ``GET /connector-plugins?connectorsOnly=false`` lists, in its order."""
        out: list[PluginDesc] = []
        for ptype in REST_ORDER:
            out += self.plugins(ptype)
        return out

    def aliases(self) -> dict[str, str]:
        """The usable aliases (ambiguous ones dropped) and the class names they stand for."""
        self._discover()
        return dict(self._aliases)


def _module_classes(module: Any) -> list[type]:
    prefix = module.__name__
    out = []
    for _, obj in inspect.getmembers(module, inspect.isclass):
        if (obj.__module__ == prefix or obj.__module__.startswith(prefix + ".")) and not inspect.isabstract(obj):
            out.append(obj)
    return out


def _bases() -> dict[PluginType, type]:
    from kcfast.api.config_provider import ConfigProvider
    from kcfast.api.connector import SinkConnector, SourceConnector
    from kcfast.api.converter import Converter, HeaderConverter
    from kcfast.api.policy import ConnectorClientConfigOverridePolicy
    from kcfast.api.transforms import Predicate, Transformation

    bases: dict[PluginType, type] = {
        PluginType.SOURCE: SourceConnector,
        PluginType.SINK: SinkConnector,
        PluginType.CONVERTER: Converter,
        PluginType.HEADER_CONVERTER: HeaderConverter,
        PluginType.TRANSFORMATION: Transformation,
        PluginType.PREDICATE: Predicate,
        PluginType.CONNECTOR_CLIENT_CONFIG_OVERRIDE_POLICY: ConnectorClientConfigOverridePolicy,
        PluginType.CONFIGPROVIDER: ConfigProvider,
    }
    return bases


def _is_type(cls: Any, ptype: PluginType) -> bool:
    if not inspect.isclass(cls):
        return False
    base = _bases().get(ptype)
    return base is not None and issubclass(cls, base) and cls is not base


def _plugin_types(cls: type) -> tuple[PluginType, ...]:
    return tuple(ptype for ptype, base in _bases().items() if issubclass(cls, base) and cls is not base)
