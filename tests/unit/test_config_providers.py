"""Config providers (file, directory, env) and ``${provider:[path:]key}`` resolution, as Kafka does them."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pytest

from kcfast.api.config_provider import ConfigData, ConfigProvider
from kcfast.config_providers import (
    VARIABLE_PATTERN,
    ConfigTransformer,
    DirectoryConfigProvider,
    EnvVarConfigProvider,
    FileConfigProvider,
    has_variables,
    providers_from_worker_config,
    resolve,
    resolve_worker_config,
    variables,
)
from kcfast.errors import ConfigError, ConnectError
from kcfast.plugins import Plugins


def configured(provider: ConfigProvider, **params: str) -> ConfigProvider:
    provider.configure({k.replace("_", "."): v for k, v in params.items()})
    return provider


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    directory = tmp_path / "secrets"
    directory.mkdir()
    (directory / "db.properties").write_text("user=admin\npassword = s3cr:et\\\n  more\n# comment\n", "utf-8")
    (directory / "token").write_text("tok\n", "utf-8")
    (directory / "sub").mkdir()
    return directory


# -- FileConfigProvider -------------------------------------------------------------------------------------------


def test_file_provider_reads_properties(secrets: Path) -> None:
    provider = configured(FileConfigProvider())
    path = str(secrets / "db.properties")
    assert provider.get(path).data == {"user": "admin", "password": "s3cr:etmore"}
    assert provider.get(path, {"user", "missing"}).data == {"user": "admin"}
    assert provider.get("").data == {}


def test_file_provider_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="^Could not read properties from file /no/such/file$"):
        configured(FileConfigProvider()).get("/no/such/file", {"k"})


def test_file_provider_allowed_paths(secrets: Path, tmp_path: Path) -> None:
    provider = configured(FileConfigProvider(), allowed_paths=str(secrets))
    assert provider.get(str(secrets / "db.properties"), {"user"}).data == {"user": "admin"}
    outside = tmp_path / "other.properties"
    outside.write_text("user=other\n", "utf-8")
    assert provider.get(str(outside), {"user"}).data == {}
    assert provider.get(str(secrets / ".." / "other.properties"), {"user"}).data == {}
    sibling = tmp_path / "secrets-2"
    sibling.mkdir()
    (sibling / "x.properties").write_text("user=x\n", "utf-8")
    assert provider.get(str(sibling / "x.properties"), {"user"}).data == {}  # a prefix, not a parent


def test_allowed_paths_must_be_absolute_and_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="^Path relative/dir is not absolute$"):
        configured(FileConfigProvider(), allowed_paths="relative/dir")
    with pytest.raises(ConfigError, match=f"^Path {tmp_path}/missing does not exist$"):
        configured(DirectoryConfigProvider(), allowed_paths=f"{tmp_path}/./missing")


def test_unconfigured_provider_refuses() -> None:
    with pytest.raises(RuntimeError, match="^The provider has not been configured yet.$"):
        FileConfigProvider().get("/x")


# -- DirectoryConfigProvider --------------------------------------------------------------------------------------


def test_directory_provider(secrets: Path, tmp_path: Path) -> None:
    provider = configured(DirectoryConfigProvider())
    assert provider.get(str(secrets)).data == {"db.properties": (secrets / "db.properties").read_text(),
                                               "token": "tok\n"}
    assert provider.get(str(secrets), {"token", "sub", "missing"}).data == {"token": "tok\n"}
    assert provider.get(str(secrets / "token")).data == {}  # not a directory
    restricted = configured(DirectoryConfigProvider(), allowed_paths=str(secrets / "sub"))
    assert restricted.get(str(secrets), {"token"}).data == {}


# -- EnvVarConfigProvider -----------------------------------------------------------------------------------------


def test_env_provider_with_allowlist() -> None:
    env = {"DB_USER": "admin", "DB_PASS": "pw", "HOME": "/root"}
    assert configured(EnvVarConfigProvider(env)).get("").data == env
    provider = configured(EnvVarConfigProvider(env), allowlist_pattern="DB_.*")
    assert provider.get("", {"DB_USER", "HOME"}).data == {"DB_USER": "admin"}
    assert provider.get("").data == {"DB_USER": "admin", "DB_PASS": "pw"}
    with pytest.raises(ConfigError, match="^Path is not supported for EnvVarConfigProvider, invalid value '/x'$"):
        provider.get("/x", {"DB_USER"})
    with pytest.raises(ConfigError):
        configured(EnvVarConfigProvider(env), allowlist_pattern="(")


# -- variables and resolution -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "found"), [
    ("${file:/tmp/a.properties:key}", [("file", "/tmp/a.properties", "key")]),
    ("${env:HOME}", [("env", "", "HOME")]),
    ("jdbc://${env:HOST}:${env:PORT}/db", [("env", "", "HOST"), ("env", "", "PORT")]),
    ("${a:b:c:d}", [("a", "b", "c:d")]),
    ("plain ${not a var", []),
])
def test_variable_pattern(text: str, found: list[tuple[str, str, str]]) -> None:
    assert [(v.provider, v.path, v.key) for v in variables(text)] == found
    assert has_variables(text) is bool(found)
    assert VARIABLE_PATTERN.pattern == r"\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}"


class CountingProvider(ConfigProvider):
    def __init__(self, data: dict[str, dict[str, str]], ttl: int | None = None) -> None:
        self.data = data
        self.ttl = ttl
        self.calls: list[tuple[str, set[str]]] = []

    def get(self, path: str, keys: Collection[str] | None = None) -> ConfigData:
        self.calls.append((path, set(keys or ())))
        values = self.data.get(path, {})
        return ConfigData({k: v for k, v in values.items() if keys is None or k in keys}, self.ttl)


def test_transformer_resolves_and_keeps_unresolvable_text() -> None:
    provider = CountingProvider({"/p": {"a": "A", "b": "B"}, "": {"x": "X"}}, ttl=5_000)
    result = ConfigTransformer({"test": provider}).transform({
        "one": "${test:/p:a}-${test:/p:b}",
        "two": "${test:x}",
        "missing_key": "${test:/p:nope}",
        "unknown_provider": "${other:/p:a}",
        "none": None,
        "plain": "text",
    })
    assert result.data == {
        "one": "A-B",
        "two": "X",
        "missing_key": "${test:/p:nope}",
        "unknown_provider": "${other:/p:a}",
        "none": None,
        "plain": "text",
    }
    assert sorted(provider.calls) == [("", {"x"}), ("/p", {"a", "b", "nope"})]  # one call per path
    assert result.ttls == {"/p": 5_000, "": 5_000}


def test_resolve_with_worker_declared_providers(secrets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KCFAST_TEST_TOPIC", "orders")
    worker = {
        "config.providers": "file, dir,env",
        "config.providers.file.class": "org.apache.kafka.common.config.provider.FileConfigProvider",
        "config.providers.file.param.allowed.paths": str(secrets),
        "config.providers.dir.class": "DirectoryConfigProvider",
        "config.providers.env.class": "EnvVar",
        "config.providers.env.param.allowlist.pattern": "KCFAST_TEST_.*",
    }
    providers = providers_from_worker_config(worker, Plugins())
    assert {name: type(p) for name, p in providers.items()} == {
        "file": FileConfigProvider, "dir": DirectoryConfigProvider, "env": EnvVarConfigProvider}
    connector = {
        "name": "c",
        "connection.password": f"${{file:{secrets}/db.properties:password}}",
        "token": f"${{dir:{secrets}:token}}",
        "topic": "${env:KCFAST_TEST_TOPIC}",
        "home": "${env:HOME}",
    }
    assert resolve(connector, providers) == {
        "name": "c",
        "connection.password": "s3cr:etmore",
        "token": "tok\n",
        "topic": "orders",
        "home": "${env:HOME}",
    }


def test_worker_config_resolves_its_own_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KCFAST_TEST_SERVERS", "broker:9092")
    worker = {"config.providers": "env", "config.providers.env.class": "EnvVarConfigProvider",
              "bootstrap.servers": "${env:KCFAST_TEST_SERVERS}"}
    assert resolve_worker_config(worker, Plugins())["bootstrap.servers"] == "broker:9092"
    assert resolve_worker_config({"a": "${env:X}"}, Plugins()) == {"a": "${env:X}"}


def test_provider_without_class_is_skipped_and_bad_class_fails() -> None:
    assert providers_from_worker_config({"config.providers": "nameless"}, Plugins()) == {}
    with pytest.raises(ConnectError, match="implements ConfigProvider and which name matches NoSuchProvider"):
        providers_from_worker_config({"config.providers": "x", "config.providers.x.class": "NoSuchProvider"},
                                     Plugins())
