"""HTTP basic authentication of the REST API, configured like Kafka's ``BasicAuthSecurityRestExtension``.

Kafka Connect turns it on with ``rest.extension.classes=org.apache.kafka.connect.rest.basic.auth.extension.
BasicAuthSecurityRestExtension`` and a JAAS file (``KAFKA_OPTS=-Djava.security.auth.login.config=...``) whose
``KafkaConnect`` section names ``PropertyFileLoginModule`` with ``file="<credentials.properties>"``; the
credentials file holds ``user=password`` (or ``user: password``) lines. kcfast reads the same files:

- ``rest.basic.auth.credentials.file`` (a kcfast worker key) names either the credentials file itself or a
  JAAS file as above; setting it turns authentication on;
- without it, listing the extension in ``rest.extension.classes`` reads the JAAS file named by
  ``-Djava.security.auth.login.config=`` in ``KAFKA_OPTS``, as Kafka does (and fails at startup if there is
  none, instead of refusing every request).

The behaviour is the extension's: every request needs ``Authorization: Basic base64(user:password)`` except
the internal ``POST /connectors/{c}/tasks`` and ``PUT /connectors/{c}/fence`` (signed between workers); a
failure is **401** with the text body ``User cannot access the resource.``; an empty credentials file lets
every request through (with a warning at startup). Differences, on purpose: a header that is not valid
base64 is a 401 (Kafka answers 500), and the admin listeners are protected too (Kafka leaves them open).
Passwords are compared in constant time and never logged.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from kcfast.errors import ConfigError
from kcfast.properties import parse_properties

log = logging.getLogger(__name__)

BASIC_AUTH_EXTENSION = "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension"
#: Names ``rest.extension.classes`` accepts for it (the class name and its simple name).
BASIC_AUTH_ALIASES = frozenset({BASIC_AUTH_EXTENSION, "BasicAuthSecurityRestExtension"})
CREDENTIALS_FILE_CONFIG = "rest.basic.auth.credentials.file"
REST_EXTENSIONS_CONFIG = "rest.extension.classes"
JAAS_SECTION = "KafkaConnect"
JAAS_PROPERTY = "java.security.auth.login.config"
UNAUTHORIZED_MESSAGE = "User cannot access the resource."

_INTERNAL_REQUESTS = (
    ("POST", re.compile(r"/?connectors/[^/]+/tasks/?")),
    ("PUT", re.compile(r"/?connectors/[^/]+/fence/?")),
)
_JAAS_COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_JAAS_FLAG = re.compile(r"\s(required|requisite|sufficient|optional)\b")
_JAAS_SECTION = re.compile(r"([A-Za-z0-9_.\-]+)\s*\{(.*?)\}\s*;", re.S)
_JAAS_OPTION = re.compile(r"""([A-Za-z0-9_.\-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;]+)""")


def is_internal_request(method: str, path: str) -> bool:
    """Whether the request is one that workers send each other (authenticated by its signature instead)."""
    relative = path.lstrip("/")
    return any(method == m and pattern.fullmatch(relative) for m, pattern in _INTERNAL_REQUESTS)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_jaas(text: str) -> dict[str, list[tuple[str, str, dict[str, str]]]]:
    """Parse a JAAS login configuration: section -> ``[(login module class, control flag, options)]``."""
    sections: dict[str, list[tuple[str, str, dict[str, str]]]] = {}
    for name, body in _JAAS_SECTION.findall(_JAAS_COMMENTS.sub("", text)):
        entries = []
        for entry in body.split(";"):
            entry = entry.strip()
            if not entry:
                continue
            parts = entry.split(None, 2)
            if len(parts) < 2:
                raise ConfigError(f"Malformed JAAS login module entry in section {name}: {entry!r}")
            options = {k: _unquote(v) for k, v in _JAAS_OPTION.findall(parts[2] if len(parts) > 2 else "")}
            entries.append((parts[0], parts[1], options))
        sections[name] = entries
    return sections


def _credentials_file_from_jaas(path: Path, text: str) -> Path:
    sections = parse_jaas(text)
    entries = sections.get(JAAS_SECTION)
    if entries is None:
        raise ConfigError(f"The JAAS file {path} has no section named '{JAAS_SECTION}'")
    for module, _flag, options in entries:
        if module.rsplit(".", 1)[-1] == "PropertyFileLoginModule":
            file = options.get("file", "").strip()
            if not file:
                raise ConfigError("Property Credentials file must be specified")
            return Path(file)
    raise ConfigError(f"The '{JAAS_SECTION}' section of {path} names no PropertyFileLoginModule; kcfast supports "
                      "only that login module")


def _looks_like_jaas(text: str) -> bool:
    return any(_JAAS_FLAG.search(body) for _, body in _JAAS_SECTION.findall(_JAAS_COMMENTS.sub("", text)))


def jaas_file_from_env(environ: Mapping[str, str]) -> str | None:
    """The JAAS file named by ``-Djava.security.auth.login.config=`` in ``KAFKA_OPTS``, if any."""
    for token in shlex.split(environ.get("KAFKA_OPTS", "")):
        prefix = f"-D{JAAS_PROPERTY}="
        if token.startswith(prefix):
            return token[len(prefix):].removeprefix("file:") or None
    return None


@dataclass
class BasicAuth:
    """The accepted credentials; :meth:`authenticate` checks an ``Authorization`` header.

    Attributes:
        credentials: user -> password; empty lets every request through (Kafka's rule).
        source: the credentials file they were read from.
    """

    credentials: dict[str, str] = field(repr=False)
    source: str = ""

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BasicAuth:
        """Read a credentials properties file, or a JAAS file that names one (see the module docstring)."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"Error loading Property Credentials file: {exc}") from exc
        if _looks_like_jaas(text):
            file = _credentials_file_from_jaas(file, text)
            try:
                text = file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"Error loading Property Credentials file: {exc}") from exc
        credentials = parse_properties(text)
        if not credentials:
            log.warning("Credential properties file '%s' is empty; all requests will be permitted", file)
        else:
            log.info("REST basic authentication on, %d user(s) from %s", len(credentials), file)
        return cls(credentials, str(file))

    @classmethod
    def from_worker_props(cls, props: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> BasicAuth | None:
        """The authentication a worker config asks for, or ``None`` when it asks for none.

        Raises:
            ConfigError: the extension is listed but no credentials file can be found, or a file is unreadable.
        """
        raw = props.get(REST_EXTENSIONS_CONFIG) or ""
        names = [n.strip() for n in (raw.split(",") if isinstance(raw, str) else raw) if str(n).strip()]
        listed = False
        for name in names:
            if name in BASIC_AUTH_ALIASES:
                listed = True
            else:
                log.warning("REST extension %s is not available in kcfast; it is ignored", name)
        path = props.get(CREDENTIALS_FILE_CONFIG)
        if not path and listed:
            path = jaas_file_from_env(os.environ if environ is None else environ)
            if not path:
                raise ConfigError(
                    f"{BASIC_AUTH_EXTENSION} needs credentials: set {CREDENTIALS_FILE_CONFIG} to a credentials "
                    f"or JAAS file, or -D{JAAS_PROPERTY}=<JAAS file> in KAFKA_OPTS"
                )
        if not path:
            return None
        return cls.load(str(path))

    def authenticate(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header value carries valid credentials."""
        if not self.credentials:
            return True
        if header is None:
            return False
        space = header.find(" ")
        if space <= 0 or header[:space].lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(header[space + 1:], validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return False
        colon = decoded.find(":")
        if colon <= 0:
            return False
        expected = self.credentials.get(decoded[:colon])
        if expected is None:
            return False
        return hmac.compare_digest(decoded[colon + 1:].encode("utf-8"), expected.encode("utf-8"))

    def middleware(self) -> Any:
        """An aiohttp middleware that answers 401 to requests without valid credentials."""

        @web.middleware
        async def basic_auth(request: web.Request, handler: Any) -> web.StreamResponse:
            if is_internal_request(request.method, request.path) or self.authenticate(
                request.headers.get("Authorization")
            ):
                return await handler(request)
            log.debug("Request failed authentication: %s %s", request.method, request.path)
            return web.Response(status=401, text=UNAUTHORIZED_MESSAGE)

        return basic_auth


__all__ = [
    "BASIC_AUTH_EXTENSION",
    "CREDENTIALS_FILE_CONFIG",
    "UNAUTHORIZED_MESSAGE",
    "BasicAuth",
    "is_internal_request",
    "jaas_file_from_env",
    "parse_jaas",
]
