"""Kafka client security settings: Java names (``security.protocol``, ``sasl.*``, ``ssl.*``) for librdkafka and aiokafka.

Users configure kcfast's Kafka clients exactly as they configure Kafka Connect's Java clients. This module reads
those settings once into a :class:`SecuritySettings` and renders them for the two client libraries kcfast uses:
librdkafka (:func:`librdkafka_security_config`, used by every producer, consumer and admin client) and aiokafka
(:func:`aiokafka_security_kwargs`, used by the distributed group membership client).

Secrets (``sasl.jaas.config``, passwords, private keys) never appear in an error message or a log line: errors
name the setting and show ``[hidden]`` in place of its value, as Java's ``ConfigException`` does.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import ssl
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from kcfast.api._config_types import Password
from kcfast.errors import ConfigError

__all__ = [
    "SASL_MECHANISMS",
    "SECURITY_PROTOCOLS",
    "JaasEntry",
    "SecuritySettings",
    "aiokafka_security_kwargs",
    "is_secret_key",
    "is_security_key",
    "librdkafka_security_config",
    "parse_jaas_config",
    "read_security_settings",
]

log = logging.getLogger(__name__)

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "GSSAPI")
HIDDEN = "[hidden]"

JAAS = "sasl.jaas.config"
PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"
OAUTH_MODULE = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"
KRB5_MODULES = ("com.sun.security.auth.module.Krb5LoginModule", "com.ibm.security.auth.module.Krb5LoginModule")

# Settings whose values are secrets, in Java's names and librdkafka's.
_SECRET_KEYS = frozenset(
    {
        JAAS,
        "ssl.keystore.password",
        "ssl.key.password",
        "ssl.truststore.password",
        "ssl.keystore.key",
        "sasl.password",
        "sasl.oauthbearer.client.secret",
        "sasl.oauthbearer.client.credentials.client.secret",
        "sasl.oauthbearer.assertion.private.key.passphrase",
        "sasl.oauthbearer.config",
        "ssl.key.pem",
    }
)

# Java client settings with no librdkafka or aiokafka counterpart: they tune the JVM's own TLS/SASL machinery
# (key managers, login threads, pluggable classes) or only matter on brokers.
_JAVA_ONLY = frozenset(
    {
        "ssl.keymanager.algorithm",
        "ssl.trustmanager.algorithm",
        "ssl.secure.random.implementation",
        "ssl.engine.factory.class",
        "ssl.provider",
        "ssl.protocol",
        "ssl.enabled.protocols",
        "ssl.client.auth",
        "ssl.principal.mapping.rules",
        "ssl.allow.dn.changes",
        "ssl.allow.san.changes",
        "sasl.client.callback.handler.class",
        "sasl.kerberos.kinit.cmd",
        "sasl.kerberos.ticket.renew.window.factor",
        "sasl.kerberos.ticket.renew.jitter",
        "sasl.kerberos.principal.to.local.rules",
        "sasl.oauthbearer.scope.claim.name",
        "sasl.oauthbearer.sub.claim.name",
        "sasl.oauthbearer.clock.skew.seconds",
        "sasl.oauthbearer.header.urlencode",
        "sasl.oauthbearer.access.token.retriever.class",
        "sasl.oauthbearer.access.token.validator.class",
        "sasl.oauthbearer.jwt.retriever.class",
        "sasl.oauthbearer.jwt.validator.class",
        "sasl.enabled.mechanisms",
        "sasl.mechanism.inter.broker.protocol",
        "sasl.server.callback.handler.class",
        "sasl.server.max.receive.size",
    }
)
_JAVA_ONLY_PREFIXES = ("sasl.login.", "sasl.oauthbearer.jwks.endpoint.", "sasl.oauthbearer.expected.")

# Java keys read by read_security_settings (everything else under ssl./sasl. is passed on to librdkafka as is,
# so librdkafka's own names such as ``sasl.username`` or ``ssl.ca.location`` keep working).
_TRANSLATED = frozenset(
    {
        "security.protocol",
        "sasl.mechanism",
        JAAS,
        "sasl.kerberos.service.name",
        "sasl.oauthbearer.token.endpoint.url",
        "sasl.oauthbearer.scope",
        "sasl.oauthbearer.client.credentials.client.id",
        "sasl.oauthbearer.client.credentials.client.secret",
        "ssl.truststore.location",
        "ssl.truststore.type",
        "ssl.truststore.password",
        "ssl.truststore.certificates",
        "ssl.keystore.location",
        "ssl.keystore.type",
        "ssl.keystore.password",
        "ssl.keystore.key",
        "ssl.keystore.certificate.chain",
        "ssl.key.password",
        "ssl.endpoint.identification.algorithm",
        "ssl.cipher.suites",
    }
)

_TLS_VERSIONS = {
    "TLSV1": ssl.TLSVersion.TLSv1,
    "TLSV1.1": ssl.TLSVersion.TLSv1_1,
    "TLSV1.2": ssl.TLSVersion.TLSv1_2,
    "TLSV1.3": ssl.TLSVersion.TLSv1_3,
}
# TLS 1.3 suites are fixed by OpenSSL and cannot be chosen through librdkafka's cipher list.
_TLS13_SUITES = frozenset(
    {
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_AES_128_CCM_SHA256",
        "TLS_AES_128_CCM_8_SHA256",
    }
)


def is_secret_key(key: str) -> bool:
    """Whether the value of client setting ``key`` is a secret that must never be logged."""
    return key in _SECRET_KEYS or key.endswith(".password")


def is_security_key(key: str) -> bool:
    """Whether ``key`` is a security setting handled by this module (``security.protocol``, ``ssl.*``, ``sasl.*``)."""
    return key == "security.protocol" or key.startswith(("ssl.", "sasl.", "enable.sasl."))


def _hidden_error(key: str, message: str) -> ConfigError:
    return ConfigError(key, HIDDEN, message)


# -- JAAS -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JaasEntry:
    """One login module entry of a ``sasl.jaas.config`` value.

    Attributes:
        login_module: the login module class name.
        control_flag: ``required``, ``requisite``, ``sufficient`` or ``optional`` (lower case).
        options: the ``name=value`` options; their values are secrets and are left out of ``repr``.
    """

    login_module: str
    control_flag: str
    options: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"JaasEntry({self.login_module!r}, {self.control_flag!r}, options={sorted(self.options)!r})"


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_SPECIAL = frozenset(';="\'/')


def _jaas_tokens(text: str) -> Iterator[tuple[str, str]]:
    """Tokens of a JAAS value as ``(kind, text)``: kind is ``word``, ``quoted`` or the character ``;`` / ``=``.

    Follows the tokenizer Kafka's clients use: characters up to the space are blanks, ``"`` and ``'`` quote
    (with backslash escapes; a line end closes an unterminated quote), ``/`` starts a comment (``//`` and a lone
    ``/`` to the end of the line, ``/* ... */`` as a block), ``;`` and ``=`` stand alone, the rest forms words.
    """
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c <= " ":
            i += 1
        elif c == "/":
            if text.startswith("/*", i):
                end = text.find("*/", i + 2)
                i = n if end < 0 else end + 2
            else:
                while i < n and text[i] not in "\r\n":
                    i += 1
        elif c in ";=":
            yield c, c
            i += 1
        elif c in "\"'":
            out: list[str] = []
            i += 1
            while i < n and text[i] != c and text[i] not in "\r\n":
                ch = text[i]
                if ch == "\\" and i + 1 < n:
                    i += 1
                    ch = text[i]
                    if ch in "01234567":
                        digits = re.match(r"[0-3]?[0-7]{1,2}", text[i : i + 3])
                        span = digits.group(0) if digits else ch
                        out.append(chr(int(span, 8)))
                        i += len(span)
                        continue
                    ch = _ESCAPES.get(ch, ch)
                out.append(ch)
                i += 1
            if i < n and text[i] == c:
                i += 1
            yield "quoted", "".join(out)
        else:
            start = i
            while i < n and text[i] > " " and text[i] not in _SPECIAL:
                i += 1
            yield "word", text[start:i]


def parse_jaas_config(text: str, key: str = JAAS) -> JaasEntry:
    """Parse a ``sasl.jaas.config`` value: ``<LoginModule> <flag> (name=value)*;`` with exactly one entry.

    Args:
        text: the JAAS text.
        key: the setting name used in error messages.

    Raises:
        ConfigError: the text is malformed; the message names ``key`` and the problem, never the text.
    """
    tokens = list(_jaas_tokens(text))
    entries: list[JaasEntry] = []
    i = 0
    while i < len(tokens):
        kind, module = tokens[i]
        if kind in ";=":
            raise _hidden_error(key, f"expected a login module class name at JAAS token {i + 1}")
        if i + 1 >= len(tokens):
            raise _hidden_error(key, "login module control flag not specified")
        flag = tokens[i + 1][1].lower()
        if tokens[i + 1][0] in ";=" or flag not in ("required", "requisite", "sufficient", "optional"):
            raise _hidden_error(
                key, "the login module control flag (required, requisite, sufficient or optional) is missing or invalid"
            )
        i += 2
        options: dict[str, str] = {}
        while i < len(tokens) and tokens[i][0] != ";":
            # Option names are not shown either: in a garbled value a "name" may be part of a secret.
            number = len(options) + 1
            if tokens[i][0] == "=":
                raise _hidden_error(key, f"option {number} has no name")
            if i + 2 >= len(tokens) or tokens[i + 1][0] != "=" or tokens[i + 2][0] in ";=":
                raise _hidden_error(key, f"value not specified for option {number}")
            options[tokens[i][1]] = tokens[i + 2][1]
            i += 3
        if i >= len(tokens):
            raise _hidden_error(key, "JAAS config entry not terminated by semi-colon")
        i += 1
        entries.append(JaasEntry(module, flag, options))
    if not entries:
        raise _hidden_error(key, "login module not specified")
    if len(entries) > 1:
        raise _hidden_error(key, f"JAAS config contains {len(entries)} login modules, should be 1 module")
    return entries[0]


def _safe_name(name: str) -> str:
    """An option or class name fit for an error message (anything that does not look like a name is hidden)."""
    return name if re.fullmatch(r"[A-Za-z_$][\w$.-]{0,100}", name) else HIDDEN


# -- settings -------------------------------------------------------------------------------------------------


@dataclass
class SecuritySettings:
    """Client security read from Java-style settings, independent of the client library.

    File paths stay paths and PEM text stays text; secrets live only in this object (its ``repr`` hides them).
    """

    protocol: str = "PLAINTEXT"
    mechanism: str | None = None
    username: str | None = None
    password: str | None = None
    ca_location: str | None = None
    ca_pem: str | None = None
    cert_location: str | None = None
    key_location: str | None = None
    cert_pem: str | None = None
    key_pem: str | None = None
    key_password: str | None = None
    keystore_location: str | None = None
    keystore_password: str | None = None
    check_hostname: bool | None = None
    ciphers: list[str] | None = None
    tls_versions: tuple[ssl.TLSVersion, ssl.TLSVersion] | None = None
    kerberos: dict[str, str] = field(default_factory=dict)
    oauth_mode: str | None = None  # "unsecured" | "oidc"
    oauth: dict[str, Any] = field(default_factory=dict)
    passthrough: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"SecuritySettings(protocol={self.protocol!r}, mechanism={self.mechanism!r})"

    @property
    def uses_ssl(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")


def _str(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in _str(value).split(",") if v.strip()]


def read_security_settings(props: Mapping[str, Any], log: Any = None) -> SecuritySettings:
    """Read the security settings of one client from Java-style ``props`` (other keys are ignored).

    Args:
        props: client settings (prefixes already stripped).
        log: logger for the info lines about settings that have no counterpart (default: this module's).

    Raises:
        ConfigError: a setting has a value kcfast cannot honour (bad protocol or mechanism, malformed JAAS,
            a JKS or PKCS12 truststore, a JKS keystore, ...).
    """
    logger = log if log is not None else globals()["log"]
    props = {k: v.value() if isinstance(v, Password) else v for k, v in props.items() if is_security_key(k)}
    s = SecuritySettings()
    protocol = _str(props.get("security.protocol")) or "PLAINTEXT"
    if protocol.upper() not in SECURITY_PROTOCOLS:
        raise ConfigError("security.protocol", protocol, "String must be one of: " + ", ".join(SECURITY_PROTOCOLS))
    s.protocol = protocol.upper()
    for key, value in props.items():
        if value is None:
            continue
        if key in _JAVA_ONLY or key.startswith(_JAVA_ONLY_PREFIXES):
            logger.info("Client setting %s has no librdkafka equivalent; ignored", key)
        elif key not in _TRANSLATED:
            s.passthrough[key] = value
    mechanism = _str(props.get("sasl.mechanism"))
    if mechanism:
        if mechanism.upper() not in SASL_MECHANISMS:
            raise ConfigError("sasl.mechanism", mechanism, "must be one of: " + ", ".join(SASL_MECHANISMS))
        s.mechanism = mechanism.upper()
    _read_jaas(s, props, logger)
    _read_ssl(s, props)
    return s


def _read_jaas(s: SecuritySettings, props: Mapping[str, Any], logger: Any) -> None:
    service = _str(props.get("sasl.kerberos.service.name"))
    if service:
        s.kerberos["service.name"] = service
    token_url = _str(props.get("sasl.oauthbearer.token.endpoint.url"))
    text = props.get(JAAS)
    if text is None or not _str(text):
        if token_url:
            _read_oidc(s, props, {}, token_url)
        return
    entry = parse_jaas_config(str(text))
    opts = dict(entry.options)
    module = entry.login_module
    if module in (PLAIN_MODULE, SCRAM_MODULE):
        if opts.pop("tokenauth", "false").lower() == "true":
            raise _hidden_error(JAAS, "delegation token login (tokenauth=true) is not supported by librdkafka")
        s.username = opts.pop("username", None)
        s.password = opts.pop("password", None)
        if s.username is None or s.password is None:
            raise _hidden_error(JAAS, f"{module.rsplit('.', 1)[-1]} needs both username and password options")
    elif module == OAUTH_MODULE:
        if token_url:
            _read_oidc(s, props, opts, token_url)
        else:
            _read_unsecured_oauth(s, opts)
        opts = {}
    elif module in KRB5_MODULES:
        for java, ours in (("principal", "principal"), ("keyTab", "keytab")):
            if java in opts:
                s.kerberos[ours] = opts.pop(java)
        jaas_service = opts.pop("serviceName", None)
        if jaas_service is not None:
            if service and jaas_service != service:
                raise _hidden_error(
                    JAAS,
                    "conflicting serviceName values found in JAAS and Kafka configs "
                    f"(sasl.kerberos.service.name={service})",
                )
            s.kerberos["service.name"] = jaas_service
    else:
        raise _hidden_error(
            JAAS,
            f"login module {_safe_name(module)} is not supported (supported: PlainLoginModule, ScramLoginModule, "
            "OAuthBearerLoginModule, Krb5LoginModule)",
        )
    for name in sorted(opts):
        logger.info("JAAS option %s of %s has no librdkafka equivalent; ignored", _safe_name(name),
                    module.rsplit(".", 1)[-1])


def _read_oidc(s: SecuritySettings, props: Mapping[str, Any], opts: dict[str, str], url: str) -> None:
    if url.lower().startswith("file:"):
        raise ConfigError(
            "sasl.oauthbearer.token.endpoint.url", url,
            "a file-based token endpoint is not supported; use the identity provider's HTTP(S) token endpoint",
        )
    client_id = _str(props.get("sasl.oauthbearer.client.credentials.client.id")) or opts.get("clientId")
    secret = props.get("sasl.oauthbearer.client.credentials.client.secret") or opts.get("clientSecret")
    if not client_id or not secret:
        raise _hidden_error(
            JAAS, "an OAuth token endpoint needs clientId and clientSecret (in sasl.jaas.config or "
            "sasl.oauthbearer.client.credentials.client.id/.client.secret)"
        )
    scope = _str(props.get("sasl.oauthbearer.scope")) or opts.get("scope")
    s.oauth_mode = "oidc"
    s.oauth = {
        "token_url": url,
        "client_id": client_id,
        "client_secret": str(secret),
        "scope": scope or None,
        "extensions": {k[len("extension_"):]: v for k, v in opts.items() if k.startswith("extension_")},
    }


def _read_unsecured_oauth(s: SecuritySettings, opts: dict[str, str]) -> None:
    principal_claim = opts.get("unsecuredLoginPrincipalClaimName", "sub")
    scope_claim = opts.get("unsecuredLoginScopeClaimName", "scope")
    principal = opts.get(f"unsecuredLoginStringClaim_{principal_claim}")
    if not principal:
        raise _hidden_error(JAAS, f"OAuthBearerLoginModule needs unsecuredLoginStringClaim_{_safe_name(principal_claim)}"
                            " (or sasl.oauthbearer.token.endpoint.url for a real identity provider)")
    scopes: list[str] = []
    raw_scope = opts.get(f"unsecuredLoginListClaim_{scope_claim}")
    if raw_scope:  # the first character is the separator of the list
        scopes = [v for v in raw_scope[1:].split(raw_scope[0]) if v]
    lifetime = opts.get("unsecuredLoginLifetimeSeconds", "3600")
    if not lifetime.isdigit():
        raise _hidden_error(JAAS, "unsecuredLoginLifetimeSeconds must be a whole number of seconds")
    s.oauth_mode = "unsecured"
    s.oauth = {
        "principal": principal,
        "principal_claim": principal_claim,
        "scope_claim": scope_claim,
        "scopes": scopes,
        "lifetime": int(lifetime),
        "extensions": {k[len("unsecuredLoginExtension_"):]: v for k, v in opts.items()
                       if k.startswith("unsecuredLoginExtension_")},
    }


def _read_ssl(s: SecuritySettings, props: Mapping[str, Any]) -> None:
    ts_location = _str(props.get("ssl.truststore.location"))
    ts_type = (_str(props.get("ssl.truststore.type")) or "JKS").upper()
    ts_certs = props.get("ssl.truststore.certificates")
    if ts_location or ts_certs:
        if ts_type != "PEM":
            raise ConfigError(
                "ssl.truststore.type", ts_type,
                f"{ts_type} truststores are not supported by librdkafka; convert the truststore to a PEM file of CA "
                "certificates and set ssl.truststore.type=PEM (for example: keytool -exportcert -rfc)",
            )
        if ts_location:
            s.ca_location = ts_location
        if ts_certs:
            s.ca_pem = str(ts_certs)
    ks_type = (_str(props.get("ssl.keystore.type")) or "JKS").upper()
    ks_location = _str(props.get("ssl.keystore.location"))
    ks_password = props.get("ssl.keystore.password")
    chain, key = props.get("ssl.keystore.certificate.chain"), props.get("ssl.keystore.key")
    if ks_location or chain or key:
        if ks_type == "PKCS12":
            if not ks_location:
                raise ConfigError("ssl.keystore.location", None, "a PKCS12 keystore needs ssl.keystore.location")
            if not ks_password:
                raise _hidden_error("ssl.keystore.password", "a PKCS12 keystore needs ssl.keystore.password")
            s.keystore_location, s.keystore_password = ks_location, str(ks_password)
        elif ks_type == "PEM":
            if ks_location and (chain or key):
                raise ConfigError("ssl.keystore.location", ks_location, "set either ssl.keystore.location or "
                                  "ssl.keystore.certificate.chain with ssl.keystore.key, not both")
            if ks_location:  # one PEM file holding the private key and the certificate chain
                s.cert_location = s.key_location = ks_location
            elif not (chain and key):
                raise _hidden_error("ssl.keystore.key", "ssl.keystore.certificate.chain and ssl.keystore.key go together")
            else:
                s.cert_pem, s.key_pem = str(chain), str(key)
        else:
            raise ConfigError(
                "ssl.keystore.type", ks_type,
                f"{ks_type} keystores are not supported by librdkafka; use PKCS12 (ssl.keystore.type=PKCS12) or PEM",
            )
    if props.get("ssl.key.password"):
        s.key_password = str(props["ssl.key.password"])
    if "ssl.endpoint.identification.algorithm" in props:
        algo = _str(props["ssl.endpoint.identification.algorithm"]).lower()
        if algo not in ("", "https", "none"):
            raise ConfigError("ssl.endpoint.identification.algorithm", algo, "must be 'https' or empty")
        s.check_hostname = algo == "https"
    if props.get("ssl.cipher.suites"):
        s.ciphers = [c for c in (_openssl_cipher(v) for v in _list(props["ssl.cipher.suites"])) if c]
    if props.get("ssl.enabled.protocols"):
        versions = []
        for v in _list(props["ssl.enabled.protocols"]):
            if v.upper() not in _TLS_VERSIONS:
                raise ConfigError("ssl.enabled.protocols", v, "supported: TLSv1, TLSv1.1, TLSv1.2, TLSv1.3")
            versions.append(_TLS_VERSIONS[v.upper()])
        s.tls_versions = (min(versions), max(versions))


_KNOWN_CIPHERS: frozenset[str] | None = None


def _known_ciphers() -> frozenset[str]:
    global _KNOWN_CIPHERS
    if _KNOWN_CIPHERS is None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        _KNOWN_CIPHERS = frozenset(c["name"] for c in ctx.get_ciphers())
    return _KNOWN_CIPHERS


def _openssl_cipher(name: str) -> str | None:
    """OpenSSL's name for a Java (IANA) cipher suite name; ``None`` for TLS 1.3 suites (fixed by OpenSSL)."""
    if name.upper() in _TLS13_SUITES:
        log.info("TLS 1.3 cipher suite %s in ssl.cipher.suites is always enabled by librdkafka; ignored", name)
        return None
    if "_WITH_" not in name.upper():
        openssl = name  # already an OpenSSL name
    else:
        kx, cipher = name.upper().removeprefix("TLS_").removeprefix("SSL_").split("_WITH_", 1)
        kx = "" if kx == "RSA" else kx.replace("_", "-") + "-"
        cipher = cipher.replace("AES_128", "AES128").replace("AES_256", "AES256").replace("_CBC", "")
        if cipher.startswith("CHACHA20_POLY1305"):
            cipher = "CHACHA20_POLY1305"
        openssl = kx + cipher.replace("_", "-")
    if openssl not in _known_ciphers():
        raise ConfigError("ssl.cipher.suites", name, "not a cipher suite known to OpenSSL")
    return openssl


# -- librdkafka -----------------------------------------------------------------------------------------------


def librdkafka_security_config(props: Mapping[str, Any], log: Any = None) -> dict[str, Any]:
    """librdkafka settings for the security settings in Java-style ``props`` (other keys are not returned).

    Raises:
        ConfigError: see :func:`read_security_settings`.
    """
    s = read_security_settings(props, log)
    out: dict[str, Any] = {"security.protocol": s.protocol.lower()} if "security.protocol" in props else {}
    if s.mechanism:
        out["sasl.mechanisms"] = s.mechanism
    if s.username is not None:
        out["sasl.username"] = s.username
    if s.password is not None:
        out["sasl.password"] = s.password
    k = s.kerberos
    for ours, theirs in (("service.name", "sasl.kerberos.service.name"), ("principal", "sasl.kerberos.principal"),
                         ("keytab", "sasl.kerberos.keytab")):
        if ours in k:
            out[theirs] = k[ours]
    o = s.oauth
    if s.oauth_mode == "oidc":
        out.update({"sasl.oauthbearer.method": "oidc", "sasl.oauthbearer.token.endpoint.url": o["token_url"],
                    "sasl.oauthbearer.client.id": o["client_id"], "sasl.oauthbearer.client.secret": o["client_secret"]})
        if o["scope"]:
            out["sasl.oauthbearer.scope"] = o["scope"]
        if o["extensions"]:
            out["sasl.oauthbearer.extensions"] = ",".join(f"{n}={v}" for n, v in o["extensions"].items())
    elif s.oauth_mode == "unsecured":
        parts = {"principal": o["principal"], "lifeSeconds": str(o["lifetime"])}
        if o["principal_claim"] != "sub":
            parts["principalClaimName"] = o["principal_claim"]
        if o["scope_claim"] != "scope":
            parts["scopeClaimName"] = o["scope_claim"]
        if o["scopes"]:
            parts["scope"] = ",".join(o["scopes"])
        parts.update({f"extension_{n}": v for n, v in o["extensions"].items()})
        if any(not v or re.search(r"\s", v) for v in parts.values()):
            raise _hidden_error(JAAS, "unsecured OAuth claims and extensions cannot be empty or contain blanks")
        out["enable.sasl.oauthbearer.unsecure.jwt"] = True
        out["sasl.oauthbearer.config"] = " ".join(f"{n}={v}" for n, v in parts.items())
    for ours, theirs in (("ca_location", "ssl.ca.location"), ("ca_pem", "ssl.ca.pem"),
                         ("cert_location", "ssl.certificate.location"), ("key_location", "ssl.key.location"),
                         ("cert_pem", "ssl.certificate.pem"), ("key_pem", "ssl.key.pem"),
                         ("key_password", "ssl.key.password"), ("keystore_location", "ssl.keystore.location"),
                         ("keystore_password", "ssl.keystore.password")):
        value = getattr(s, ours)
        if value is not None:
            out[theirs] = value
    if s.check_hostname is not None:
        out["ssl.endpoint.identification.algorithm"] = "https" if s.check_hostname else "none"
    if s.ciphers:
        out["ssl.cipher.suites"] = ":".join(s.ciphers)
    for key, value in s.passthrough.items():
        out.setdefault(key, value)
    return out


# -- aiokafka -------------------------------------------------------------------------------------------------


def aiokafka_security_kwargs(props: Mapping[str, Any], log: Any = None) -> dict[str, Any]:
    """``AIOKafkaClient`` keyword arguments for the security settings in Java-style ``props``.

    Returns ``security_protocol`` always, ``ssl_context`` for SSL and SASL_SSL, and the ``sasl_*`` arguments
    (``sasl_oauth_token_provider`` for OAUTHBEARER) for SASL protocols. librdkafka's own names that kcfast also
    understands here: ``sasl.username``, ``sasl.password``, ``ssl.ca.location``, ``ssl.certificate.location``,
    ``ssl.key.location``.

    Raises:
        ConfigError: as :func:`read_security_settings`, plus a PKCS12 keystore without the ``cryptography``
            package.
    """
    s = read_security_settings(props, log)
    p = s.passthrough
    kwargs: dict[str, Any] = {"security_protocol": s.protocol}
    if s.uses_ssl:
        kwargs["ssl_context"] = _ssl_context(s)
    if s.uses_sasl:
        mechanism = s.mechanism or "GSSAPI"
        kwargs["sasl_mechanism"] = mechanism
        if mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
            kwargs["sasl_plain_username"] = s.username if s.username is not None else p.get("sasl.username")
            kwargs["sasl_plain_password"] = s.password if s.password is not None else p.get("sasl.password")
            if kwargs["sasl_plain_username"] is None or kwargs["sasl_plain_password"] is None:
                raise _hidden_error(JAAS, f"SASL mechanism {mechanism} needs a username and password "
                                    "(PlainLoginModule or ScramLoginModule)")
        elif mechanism == "GSSAPI":
            kwargs["sasl_kerberos_service_name"] = s.kerberos.get("service.name", "kafka")
        elif mechanism == "OAUTHBEARER":
            kwargs["sasl_oauth_token_provider"] = _token_provider(s)
    return kwargs


def _ssl_context(s: SecuritySettings) -> ssl.SSLContext:
    p = s.passthrough
    cafile = s.ca_location or p.get("ssl.ca.location")
    capath = None
    if cafile and os.path.isdir(cafile):
        cafile, capath = None, cafile
    try:
        ctx = ssl.create_default_context(cafile=cafile, capath=capath, cadata=s.ca_pem or p.get("ssl.ca.pem"))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError("ssl.truststore.location", cafile or capath, f"cannot load CA certificates: {exc}") from exc
    if s.check_hostname is False:
        ctx.check_hostname = False
    if s.tls_versions is not None:
        ctx.minimum_version, ctx.maximum_version = s.tls_versions
    if s.ciphers:
        ctx.set_ciphers(":".join(s.ciphers))
    cert = s.cert_location or p.get("ssl.certificate.location")
    key = s.key_location or p.get("ssl.key.location")
    password = s.key_password or p.get("ssl.key.password")
    try:
        if cert:
            ctx.load_cert_chain(cert, key or None, password=password)
        elif s.cert_pem and s.key_pem:
            with _pem_files(s.cert_pem, s.key_pem) as (cert_file, key_file):
                ctx.load_cert_chain(cert_file, key_file, password=password)
        elif s.keystore_location:
            cert_pem, key_pem = _pkcs12_to_pem(s.keystore_location, s.keystore_password or "")
            with _pem_files(cert_pem, key_pem) as (cert_file, key_file):
                ctx.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as exc:
        # The message of OpenSSL names the failing step, never the key or password.
        raise _hidden_error("ssl.keystore.location", f"cannot load the client certificate and key: {exc}") from exc
    return ctx


@contextmanager
def _pem_files(cert_pem: str | bytes, key_pem: str | bytes) -> Iterator[tuple[str, str]]:
    """Write PEM text to two private temporary files (``ssl`` loads certificates only from files)."""
    with tempfile.TemporaryDirectory(prefix="kcfast-tls-") as tmp:
        paths = []
        for name, data in (("cert.pem", cert_pem), ("key.pem", key_pem)):
            path = os.path.join(tmp, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data.encode() if isinstance(data, str) else data)
            paths.append(path)
        yield paths[0], paths[1]


def _pkcs12_to_pem(location: str, password: str) -> tuple[bytes, bytes]:
    try:
        from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, pkcs12
    except ImportError as exc:
        raise ConfigError("ssl.keystore.type", "PKCS12", "the group membership client reads PKCS12 keystores with "
                          "the 'cryptography' package, which is not installed; install it or use a PEM keystore") from exc
    try:
        with open(location, "rb") as fh:
            key, cert, extra = pkcs12.load_key_and_certificates(fh.read(), password.encode() or None)
    except (OSError, ValueError) as exc:
        raise _hidden_error("ssl.keystore.location", f"cannot read the PKCS12 keystore: {type(exc).__name__}") from exc
    if key is None or cert is None:
        raise ConfigError("ssl.keystore.location", location, "the PKCS12 keystore holds no private key entry")
    chain = cert.public_bytes(Encoding.PEM) + b"".join(c.public_bytes(Encoding.PEM) for c in extra or [])
    return chain, key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def _token_provider(s: SecuritySettings) -> Any:
    if s.oauth_mode == "unsecured":
        return UnsecuredJwtProvider(s.oauth)
    if s.oauth_mode == "oidc":
        return ClientCredentialsProvider(s.oauth)
    raise _hidden_error(JAAS, "SASL mechanism OAUTHBEARER needs OAuthBearerLoginModule in sasl.jaas.config")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class _CachingProvider:
    """A token provider for aiokafka that reuses its token until 80% of its lifetime has passed."""

    def __init__(self, oauth: Mapping[str, Any], clock: Callable[[], float] = time.time) -> None:
        self._oauth = dict(oauth)
        self._clock = clock
        self._token: str | None = None
        self._refresh_at = 0.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    async def token(self) -> str:
        now = self._clock()
        if self._token is None or now >= self._refresh_at:
            self._token, lifetime = await self._fetch(now)
            self._refresh_at = now + 0.8 * lifetime
        return self._token

    def extensions(self) -> dict[str, str]:
        return dict(self._oauth.get("extensions") or {})

    async def _fetch(self, now: float) -> tuple[str, float]:
        raise NotImplementedError


class UnsecuredJwtProvider(_CachingProvider):
    """Unsigned JWTs (``alg: none``) like Java's unsecured OAUTHBEARER login, for test and development brokers."""

    async def _fetch(self, now: float) -> tuple[str, float]:
        o = self._oauth
        claims: dict[str, Any] = {o["principal_claim"]: o["principal"], "iat": int(now),
                                  "exp": int(now) + int(o["lifetime"])}
        if o["scopes"]:
            claims[o["scope_claim"]] = list(o["scopes"])
        header = _b64(json.dumps({"alg": "none"}).encode())
        return f"{header}.{_b64(json.dumps(claims).encode())}.", float(o["lifetime"])


class ClientCredentialsProvider(_CachingProvider):
    """Access tokens from an OAuth 2 token endpoint with the client-credentials grant."""

    async def _fetch(self, now: float) -> tuple[str, float]:
        import aiohttp

        o = self._oauth
        data = {"grant_type": "client_credentials"}
        if o.get("scope"):
            data["scope"] = o["scope"]
        auth = aiohttp.BasicAuth(o["client_id"], o["client_secret"])
        async with aiohttp.ClientSession() as session:
            async with session.post(o["token_url"], data=data, auth=auth) as resp:
                if resp.status != 200:
                    raise ConfigError("sasl.oauthbearer.token.endpoint.url", o["token_url"],
                                      f"the token endpoint answered HTTP {resp.status}")
                body = await resp.json(content_type=None)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise ConfigError("sasl.oauthbearer.token.endpoint.url", o["token_url"],
                              "the token endpoint answered without an access_token")
        return str(token), float(body.get("expires_in") or 3600)
