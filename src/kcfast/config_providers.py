"""The built-in config providers and the resolution of ``${provider:[path:]key}`` variables.

Mirrors Kafka's ``FileConfigProvider``, ``DirectoryConfigProvider``, ``EnvVarConfigProvider`` (package
``org.apache.kafka.common.config.provider``) and ``ConfigTransformer``. A worker declares its providers::

    config.providers=file,env
    config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider
    config.providers.file.param.allowed.paths=/etc/kafka/secrets
    config.providers.env.class=EnvVarConfigProvider

and a connector config refers to values with ``${file:/etc/kafka/secrets/db.properties:password}`` or
``${env:DB_USER}``. A variable whose provider is unknown, or whose key the provider does not have, is left as
written. :func:`providers_from_worker_config` builds the providers, :func:`resolve` substitutes the variables.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kcfast.api.config_provider import ConfigData, ConfigProvider
from kcfast.errors import ConfigError
from kcfast.properties import parse_properties

log = logging.getLogger(__name__)

#: Kafka's ``ConfigTransformer.DEFAULT_PATTERN``: ``${provider:[path:]key}``.
VARIABLE_PATTERN = re.compile(r"\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}")

CONFIG_PROVIDERS_CONFIG = "config.providers"
ALLOWED_PATHS_CONFIG = "allowed.paths"
ALLOWLIST_PATTERN_CONFIG = "allowlist.pattern"

_NOT_CONFIGURED = "The provider has not been configured yet."


# -- allowed.paths ------------------------------------------------------------------------------------------------


def _normalize(path: str) -> str:
    """Java ``Path.normalize`` on a POSIX path: drop ``.`` and resolve ``..`` lexically."""
    if not path:
        return path
    normalized = posixpath.normpath(path)
    if normalized.startswith("//"):
        normalized = "/" + normalized.lstrip("/")
    return normalized


def _starts_with(path: str, prefix: str) -> bool:
    """Java ``Path.startsWith(Path)``: whole name elements only."""
    if path == prefix:
        return True
    if prefix == "/":
        return path.startswith("/")
    return path.startswith(prefix.rstrip("/") + "/")


class AllowedPaths:
    """The ``allowed.paths`` restriction of the file and directory providers (Kafka's ``AllowedPaths``).

    Args:
        config_value: a comma-separated list of absolute paths that exist, or None/empty for no restriction.

    Raises:
        ConfigError: ``Path p is not absolute`` or ``Path p does not exist``.
    """

    def __init__(self, config_value: str | None) -> None:
        self.allowed: list[str] | None = None
        if config_value:
            allowed = []
            for entry in config_value.split(","):
                normalized = _normalize(entry)
                if not normalized.startswith("/"):
                    raise ConfigError(f"Path {normalized} is not absolute")
                if not os.path.exists(normalized):
                    raise ConfigError(f"Path {normalized} does not exist")
                allowed.append(normalized)
            self.allowed = allowed

    def parse_untrusted_path(self, path: str) -> str | None:
        """``path`` (normalized when restricted) if it may be read, else None."""
        if self.allowed is None:
            return path
        normalized = _normalize(path)
        if not any(_starts_with(normalized, allowed) for allowed in self.allowed):
            return None
        return normalized


# -- providers ----------------------------------------------------------------------------------------------------


class FileConfigProvider(ConfigProvider):
    """Values from a Java properties file: ``${file:/path/to/file.properties:key}``.

    Param ``allowed.paths`` restricts the files that may be read.
    """

    def __init__(self) -> None:
        self._allowed: AllowedPaths | None = None

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Read ``allowed.paths``."""
        self._allowed = AllowedPaths(configs.get(ALLOWED_PATHS_CONFIG))

    def get(self, path: str, keys: Collection[str] | None = None) -> ConfigData:
        """The properties of the file at ``path`` (only ``keys`` if given); empty for an empty or disallowed path.

        Raises:
            ConfigError: ``Could not read properties from file <path>``.
        """
        if self._allowed is None:
            raise RuntimeError(_NOT_CONFIGURED)
        if not path:
            return ConfigData({})
        file_path = self._allowed.parse_untrusted_path(path)
        if file_path is None:
            log.warning("The path %s is not allowed to be accessed", path)
            return ConfigData({})
        try:
            with open(file_path, encoding="utf-8") as handle:
                properties = parse_properties(handle.read())
        except (OSError, UnicodeDecodeError) as exc:
            log.error("Could not read properties from file %s", path, exc_info=True)
            raise ConfigError(f"Could not read properties from file {path}") from exc
        if keys is None:
            return ConfigData(properties)
        return ConfigData({key: properties[key] for key in keys if key in properties})

    def version(self) -> str:
        """Kafka reports no version for its config providers."""
        return "undefined"


class DirectoryConfigProvider(ConfigProvider):
    """Values from the regular files of a directory: ``${dir:/path/to/dir:filename}`` is the file's text.

    Param ``allowed.paths`` restricts the directories that may be read. Subdirectories are ignored.
    """

    def __init__(self) -> None:
        self._allowed: AllowedPaths | None = None

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Read ``allowed.paths``."""
        self._allowed = AllowedPaths(configs.get(ALLOWED_PATHS_CONFIG))

    def get(self, path: str, keys: Collection[str] | None = None) -> ConfigData:
        """The contents (UTF-8) of the files in the directory ``path``, by file name (only ``keys`` if given).

        Raises:
            ConfigError: the directory cannot be listed or a file cannot be read.
        """
        if self._allowed is None:
            raise RuntimeError(_NOT_CONFIGURED)
        data: dict[str, str] = {}
        if not path:
            return ConfigData(data)
        directory = self._allowed.parse_untrusted_path(path)
        if directory is None:
            log.warning("The path %s is not allowed to be accessed", path)
            return ConfigData(data)
        if not os.path.isdir(directory):
            log.warning("The path %s is not a directory", path)
            return ConfigData(data)
        try:
            names = os.listdir(directory)
        except OSError as exc:
            log.error("Could not list directory %s", directory, exc_info=True)
            raise ConfigError(f"Could not list directory {directory}") from exc
        wanted = None if keys is None else set(keys)
        for name in names:
            file_path = os.path.join(directory, name)
            if not os.path.isfile(file_path) or (wanted is not None and name not in wanted):
                continue
            try:
                with open(file_path, "rb") as handle:
                    data[name] = handle.read().decode("utf-8", errors="replace")
            except OSError as exc:
                log.error("Could not read file %s for property %s", file_path, name, exc_info=True)
                raise ConfigError(f"Could not read file {file_path} for property {name}") from exc
        return ConfigData(data)

    def version(self) -> str:
        """Kafka reports no version for its config providers."""
        return "undefined"


class EnvVarConfigProvider(ConfigProvider):
    """Values of environment variables: ``${env:NAME}`` (no path).

    Param ``allowlist.pattern`` (a Java regex, default ``.*``) limits the variables that can be read; the
    environment is read once, when the provider is created.

    Args:
        env: the variables to serve instead of ``os.environ`` (for tests).
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = dict(os.environ if env is None else env)
        self._filtered: dict[str, str] | None = None

    def configure(self, configs: Mapping[str, Any]) -> None:
        """Read ``allowlist.pattern``.

        Raises:
            ConfigError: the pattern is not a valid regular expression.
        """
        from kcfast.transforms._regex import JavaRegexError, compile_java_regex

        if ALLOWLIST_PATTERN_CONFIG in configs:
            text = configs[ALLOWLIST_PATTERN_CONFIG]
            text = "null" if text is None else str(text)
        else:
            text = ".*"
            log.info("No pattern for environment variables provided. Using default pattern '(.*)'.")
        try:
            pattern = compile_java_regex(text)
        except JavaRegexError as exc:
            raise ConfigError(str(exc)) from exc
        self._filtered = {k: v for k, v in self._env.items() if pattern.fullmatch(k) is not None}

    def get(self, path: str, keys: Collection[str] | None = None) -> ConfigData:
        """The allowed variables (only ``keys`` if given).

        Raises:
            ConfigError: ``Path is not supported for EnvVarConfigProvider, invalid value '<path>'``.
        """
        if path:
            log.error("Path is not supported for EnvVarConfigProvider, invalid value '%s'", path)
            raise ConfigError(f"Path is not supported for EnvVarConfigProvider, invalid value '{path}'")
        if self._filtered is None:
            raise RuntimeError(_NOT_CONFIGURED)
        if keys is None:
            return ConfigData(dict(self._filtered))
        return ConfigData({k: v for k, v in self._filtered.items() if k in keys})

    def version(self) -> str:
        """Kafka reports no version for its config providers."""
        return "undefined"


# -- variable substitution ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigVariable:
    """One ``${provider:[path:]key}`` reference; an absent path is ``""``."""

    provider: str
    path: str
    key: str

    @staticmethod
    def of(match: re.Match[str]) -> ConfigVariable:
        """The variable a :data:`VARIABLE_PATTERN` match spells."""
        return ConfigVariable(match.group(1), match.group(3) or "", match.group(4))


@dataclass(frozen=True)
class ConfigTransformerResult:
    """Resolved configs, and the TTL (ms) each provider path asked for (Kafka's ``ConfigTransformerResult``)."""

    data: dict[str, str | None]
    ttls: dict[str, int] = field(default_factory=dict)


def variables(value: str | None) -> list[ConfigVariable]:
    """The variables referenced in ``value``, in order (none in a value that is not a string)."""
    if not value or not isinstance(value, str):
        return []
    return [ConfigVariable.of(m) for m in VARIABLE_PATTERN.finditer(value)]


def has_variables(value: str | None) -> bool:
    """Whether ``value`` refers to at least one ``${...}`` variable."""
    return isinstance(value, str) and VARIABLE_PATTERN.search(value) is not None


class ConfigTransformer:
    """Substitutes ``${provider:[path:]key}`` variables with values from config providers.

    Each provider is asked once per path, for all the keys the configs use there. Providers are used, not owned:
    closing them is the caller's business.
    """

    def __init__(self, providers: Mapping[str, ConfigProvider | None]) -> None:
        self._providers = providers

    def transform(self, configs: Mapping[str, str | None]) -> ConfigTransformerResult:
        """Resolve every variable in ``configs`` (values stay as written where nothing is found).

        Raises:
            ConfigError: a provider failed to read (e.g. an unreadable file).
        """
        keys_by_provider: dict[str, dict[str, set[str]]] = {}
        for value in configs.values():
            for var in variables(value):
                keys_by_provider.setdefault(var.provider, {}).setdefault(var.path, set()).add(var.key)
        lookups: dict[str, dict[str, Mapping[str, str]]] = {}
        ttls: dict[str, int] = {}
        for provider_name, keys_by_path in keys_by_provider.items():
            provider = self._providers.get(provider_name)
            if provider is None:
                continue
            for path, keys in keys_by_path.items():
                config_data = provider.get(path, set(keys))
                if config_data.ttl is not None and config_data.ttl >= 0:
                    ttls[path] = config_data.ttl
                lookups.setdefault(provider_name, {})[path] = config_data.data or {}
        data = {key: _replace(lookups, value) for key, value in configs.items()}
        return ConfigTransformerResult(data, ttls)


def _replace(lookups: Mapping[str, Mapping[str, Mapping[str, str]]], value: str | None) -> str | None:
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        var = ConfigVariable.of(match)
        by_path = lookups.get(var.provider)
        if by_path is None:
            return match.group(0)
        replacement = by_path.get(var.path, {}).get(var.key)
        return match.group(0) if replacement is None else replacement

    return VARIABLE_PATTERN.sub(substitute, value)


def resolve(props: Mapping[str, str | None], providers: Mapping[str, ConfigProvider | None]) -> dict[str, str | None]:
    """``props`` with every resolvable ``${provider:[path:]key}`` replaced (others kept as written).

    Raises:
        ConfigError: a provider failed to read.
    """
    return ConfigTransformer(providers).transform(props).data


def provider_names(props: Mapping[str, str]) -> list[str]:
    """The names listed in ``config.providers`` (a comma-separated list)."""
    raw = props.get(CONFIG_PROVIDERS_CONFIG) or ""
    return [name for name in (part.strip() for part in raw.split(",")) if name]


def providers_from_worker_config(props: Mapping[str, str], plugins: Any) -> dict[str, ConfigProvider]:
    """Create and configure the providers a worker config declares.

    For each name in ``config.providers`` with a ``config.providers.<name>.class`` (a Java class name, alias,
    entry point or Python path, resolved by ``plugins.config_provider_class``), the provider is created and
    configured with the ``config.providers.<name>.param.*`` keys (prefix removed). Names without a class are
    skipped, as Kafka skips them.

    Raises:
        ConnectError: a class that names no config provider.
        ConfigError: a provider rejects its params (e.g. ``allowed.paths``).
    """
    providers: dict[str, ConfigProvider] = {}
    try:
        for name in provider_names(props):
            prefix = f"{CONFIG_PROVIDERS_CONFIG}.{name}"
            class_name = props.get(prefix + ".class")
            if class_name is None:
                continue
            cls = plugins.config_provider_class(class_name)
            param_prefix = prefix + ".param."
            params = {k[len(param_prefix):]: v for k, v in props.items()
                      if k.startswith(param_prefix) and len(k) > len(param_prefix)}
            provider = cls()
            provider.configure(params)
            providers[name] = provider
    except BaseException:
        close_providers(providers.values())
        raise
    return providers


def close_providers(providers: Iterable[ConfigProvider]) -> None:
    """Close each provider, logging (not raising) failures."""
    for provider in providers:
        try:
            provider.close()
        except Exception:  # noqa: BLE001 - one failing provider must not keep the others open
            log.warning("Failed to close config provider %r", provider, exc_info=True)


def resolve_worker_config(props: Mapping[str, str], plugins: Any) -> dict[str, str | None]:
    """A worker config with its own ``${...}`` variables resolved by the providers it declares.

    The providers are created for this call and closed before it returns (as Kafka does for ``AbstractConfig``).

    Raises:
        ConnectError: a provider class cannot be found.
        ConfigError: a provider fails.
    """
    providers = providers_from_worker_config(props, plugins)
    try:
        if not providers:
            return dict(props)
        return resolve(props, providers)
    finally:
        close_providers(providers.values())


__all__ = [
    "ALLOWED_PATHS_CONFIG",
    "ALLOWLIST_PATTERN_CONFIG",
    "CONFIG_PROVIDERS_CONFIG",
    "VARIABLE_PATTERN",
    "AllowedPaths",
    "ConfigTransformer",
    "ConfigTransformerResult",
    "ConfigVariable",
    "DirectoryConfigProvider",
    "EnvVarConfigProvider",
    "FileConfigProvider",
    "close_providers",
    "has_variables",
    "provider_names",
    "providers_from_worker_config",
    "resolve",
    "resolve_worker_config",
    "variables",
]
