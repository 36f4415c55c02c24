"""Java client security settings translated for librdkafka and aiokafka (kcfast.kafka.security)."""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import logging
import ssl
from pathlib import Path
from typing import Any

import pytest

from kcfast.api._config_types import Password
from kcfast.errors import ConfigError
from kcfast.kafka.clients import AdminClient, Producer, new_producer, translate_client_config
from kcfast.kafka.security import (
    aiokafka_security_kwargs,
    is_secret_key,
    librdkafka_security_config,
    parse_jaas_config,
)
from kcfast.runtime.distributed.transport import AiokafkaTransport

SECRET = "S3cr3t-pw!"
PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"
OAUTH = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"
KRB5 = "com.sun.security.auth.module.Krb5LoginModule"


def jaas(module: str, **options: str) -> str:
    return f"{module} required " + " ".join(f'{k}="{v}"' for k, v in options.items()) + ";"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A CA and a client certificate it signed, as PEM files, PEM text and a PKCS12 keystore."""
    crypto = pytest.importorskip("cryptography")
    del crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def cert(subject: str, key: Any, issuer: str, issuer_key: Any, ca: bool) -> Any:
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key, hashes.SHA256())
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = cert("kcfast-test-ca", ca_key, "kcfast-test-ca", ca_key, True)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_cert = cert("kcfast-client", client_key, "kcfast-test-ca", ca_key, False)
    pem = serialization.Encoding.PEM
    key_pem = client_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    out = tmp_path_factory.mktemp("pki")
    ca_file, combined, p12 = out / "ca.pem", out / "client.pem", out / "client.p12"
    ca_file.write_bytes(ca_cert.public_bytes(pem))
    cert_pem = client_cert.public_bytes(pem).decode()
    combined.write_text(key_pem + cert_pem)
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"client", client_key, client_cert, None, serialization.BestAvailableEncryption(SECRET.encode())))
    return {"ca": str(ca_file), "ca_pem": ca_file.read_text(), "cert_pem": cert_pem, "key_pem": key_pem,
            "combined": str(combined), "p12": str(p12)}


# -- security.protocol and sasl.mechanism -----------------------------------------------------------------------


@pytest.mark.parametrize("given, expected", [("PLAINTEXT", "plaintext"), ("ssl", "ssl"),
                                             ("Sasl_Plaintext", "sasl_plaintext"), ("SASL_SSL", "sasl_ssl")])
def test_security_protocol_is_case_insensitive(given: str, expected: str) -> None:
    assert translate_client_config({"security.protocol": given})["security.protocol"] == expected
    assert aiokafka_security_kwargs({"security.protocol": given, "sasl.mechanism": "PLAIN",
                                     "sasl.username": "u", "sasl.password": "p"})["security_protocol"] == given.upper()


def test_bad_security_protocol_names_the_key_and_the_allowed_values() -> None:
    with pytest.raises(ConfigError) as info:
        translate_client_config({"security.protocol": "TLS"})
    assert str(info.value) == ("Invalid value TLS for configuration security.protocol: String must be one of: "
                               "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL")


@pytest.mark.parametrize("mechanism", ["PLAIN", "scram-sha-256", "SCRAM-SHA-512", "OAUTHBEARER", "GSSAPI"])
def test_sasl_mechanism_becomes_sasl_mechanisms(mechanism: str) -> None:
    out = translate_client_config({"sasl.mechanism": mechanism})
    assert out == {"sasl.mechanisms": mechanism.upper()}


def test_unknown_sasl_mechanism_is_rejected() -> None:
    with pytest.raises(ConfigError, match="sasl.mechanism"):
        translate_client_config({"sasl.mechanism": "DIGEST-MD5"})


# -- JAAS parsing ----------------------------------------------------------------------------------------------


def test_jaas_quotes_escapes_comments_and_bare_words() -> None:
    text = (
        f"{PLAIN}  REQUIRED /* a comment */ username=alice\n"
        "  password=\"a \\\"quoted\\\" pass;word=x\" // trailing comment\n"
        "  other='single \\\\ quoted' tab=\"a\\tb\" octal=\"\\101\";"
    )
    entry = parse_jaas_config(text)
    assert entry.login_module == PLAIN
    assert entry.control_flag == "required"
    assert entry.options == {"username": "alice", "password": 'a "quoted" pass;word=x',
                             "other": "single \\ quoted", "tab": "a\tb", "octal": "A"}


def test_jaas_entry_repr_hides_option_values() -> None:
    entry = parse_jaas_config(jaas(PLAIN, username="alice", password=SECRET))
    assert SECRET not in repr(entry) and "alice" not in repr(entry)


@pytest.mark.parametrize(
    "text, problem",
    [
        (f'{PLAIN} username="alice" password="{SECRET}";', "control flag"),
        (f'{PLAIN} required username="alice" password="{SECRET}"', "not terminated by semi-colon"),
        (f'{PLAIN} required username="alice" password;', "value not specified for option 2"),
        (f'{PLAIN} required username="alice" password=;', "value not specified for option 2"),
        (f'{PLAIN} required username="alice" password="{SECRET}" {SECRET};', "value not specified for option 3"),
        (f'{PLAIN} required ="{SECRET}";', "option 1 has no name"),
        ("   // only a comment", "login module not specified"),
        (f'{PLAIN} required username="a" password="{SECRET}"; {SCRAM} required;', "2 login modules"),
        (f'"{SECRET}" required;', "not supported"),
    ],
)
def test_malformed_jaas_names_the_key_but_never_the_secret(
    text: str, problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConfigError) as info:
        translate_client_config({"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.jaas.config": text},
                                logging.getLogger("test"))
    message = str(info.value)
    assert message.startswith("Invalid value [hidden] for configuration sasl.jaas.config: ")
    assert problem in message
    assert SECRET not in message and SECRET not in repr(info.value.value)
    assert SECRET not in caplog.text


# -- SASL translation tables ------------------------------------------------------------------------------------


@pytest.mark.parametrize("module, mechanism", [(PLAIN, "PLAIN"), (SCRAM, "SCRAM-SHA-256"), (SCRAM, "SCRAM-SHA-512")])
def test_username_password_modules(module: str, mechanism: str) -> None:
    props = {"security.protocol": "SASL_SSL", "sasl.mechanism": mechanism,
             "sasl.jaas.config": jaas(module, username="alice", password=SECRET)}
    assert translate_client_config(props) == {
        "security.protocol": "sasl_ssl", "sasl.mechanisms": mechanism, "sasl.username": "alice",
        "sasl.password": SECRET,
    }
    kwargs = aiokafka_security_kwargs(props)
    assert (kwargs["sasl_mechanism"], kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == (
        mechanism, "alice", SECRET)
    assert isinstance(kwargs["ssl_context"], ssl.SSLContext)


def test_jaas_without_password_is_an_error() -> None:
    with pytest.raises(ConfigError, match="needs both username and password"):
        translate_client_config({"sasl.jaas.config": jaas(PLAIN, username="alice")})


def test_unsecured_oauthbearer() -> None:
    props = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER",
             "sasl.jaas.config": f'{OAUTH} required unsecuredLoginStringClaim_sub="alice" '
                                 'unsecuredLoginListClaim_scope=",read,write" unsecuredLoginLifetimeSeconds="600" '
                                 'unsecuredLoginExtension_traceId="abc";'}
    out = translate_client_config(props)
    assert out["enable.sasl.oauthbearer.unsecure.jwt"] is True
    assert out["sasl.oauthbearer.config"] == "principal=alice lifeSeconds=600 scope=read,write extension_traceId=abc"
    provider = aiokafka_security_kwargs(props)["sasl_oauth_token_provider"]
    token = asyncio.run(provider.token())
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert (claims["sub"], claims["scope"], claims["exp"] - claims["iat"], signature) == (
        "alice", ["read", "write"], 600, "")
    assert provider.extensions() == {"traceId": "abc"}


def test_oauthbearer_with_token_endpoint_uses_oidc() -> None:
    props = {"sasl.mechanism": "OAUTHBEARER", "sasl.oauthbearer.token.endpoint.url": "https://idp.example/token",
             "sasl.jaas.config": f'{OAUTH} required clientId="kcfast" clientSecret="{SECRET}" scope="kafka" '
                                 'extension_logicalCluster="lkc-1";'}
    assert translate_client_config(props) == {
        "sasl.mechanisms": "OAUTHBEARER", "sasl.oauthbearer.method": "oidc",
        "sasl.oauthbearer.token.endpoint.url": "https://idp.example/token", "sasl.oauthbearer.client.id": "kcfast",
        "sasl.oauthbearer.client.secret": SECRET, "sasl.oauthbearer.scope": "kafka",
        "sasl.oauthbearer.extensions": "logicalCluster=lkc-1",
    }


def test_oidc_without_client_secret_is_an_error() -> None:
    with pytest.raises(ConfigError, match="clientSecret"):
        translate_client_config({"sasl.oauthbearer.token.endpoint.url": "https://idp.example/token",
                                 "sasl.jaas.config": f'{OAUTH} required clientId="kcfast";'})


def test_kerberos() -> None:
    props = {"sasl.mechanism": "GSSAPI", "sasl.jaas.config":
             f'{KRB5} required useKeyTab=true storeKey=true keyTab="/etc/k.keytab" principal="connect@EX.COM" '
             'serviceName="kafka";'}
    assert translate_client_config(props) == {
        "sasl.mechanisms": "GSSAPI", "sasl.kerberos.service.name": "kafka",
        "sasl.kerberos.principal": "connect@EX.COM", "sasl.kerberos.keytab": "/etc/k.keytab",
    }
    with pytest.raises(ConfigError, match="conflicting serviceName"):
        translate_client_config({**props, "sasl.kerberos.service.name": "other"})


def test_java_only_keys_are_dropped_with_an_info_log_without_values(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    props = {"ssl.keymanager.algorithm": "SunX509", "ssl.trustmanager.algorithm": "PKIX",
             "ssl.secure.random.implementation": "SHA1PRNG", "ssl.engine.factory.class": "x.Y",
             "sasl.login.class": "x.Login", "sasl.login.refresh.window.factor": "0.8",
             "sasl.kerberos.kinit.cmd": "/usr/bin/kinit", "ssl.protocol": "TLSv1.3",
             "sasl.jaas.config": jaas(PLAIN, username="alice", password=SECRET, debug="true")}
    out = translate_client_config(props, logging.getLogger("test"))
    assert out == {"sasl.username": "alice", "sasl.password": SECRET}
    for key in ("ssl.keymanager.algorithm", "sasl.login.class", "ssl.protocol", "sasl.kerberos.kinit.cmd"):
        assert key in caplog.text
    assert "JAAS option debug" in caplog.text
    assert SECRET not in caplog.text and "SunX509" not in caplog.text


def test_librdkafka_native_names_pass_through() -> None:
    assert translate_client_config({"sasl.username": "u", "ssl.ca.location": "/ca.pem"}) == {
        "sasl.username": "u", "ssl.ca.location": "/ca.pem"}


def test_password_objects_are_unwrapped() -> None:
    out = librdkafka_security_config({"sasl.jaas.config": Password(jaas(PLAIN, username="u", password=SECRET))})
    assert out["sasl.password"] == SECRET


def test_secret_keys() -> None:
    for key in ("sasl.jaas.config", "ssl.keystore.password", "ssl.key.password", "ssl.keystore.key",
                "ssl.truststore.password", "sasl.password"):
        assert is_secret_key(key)
    assert not is_secret_key("ssl.truststore.location")


# -- SSL translation tables -------------------------------------------------------------------------------------


def test_pem_truststore_and_certificates() -> None:
    assert translate_client_config({"ssl.truststore.type": "PEM", "ssl.truststore.location": "/ca.pem"}) == {
        "ssl.ca.location": "/ca.pem"}
    assert translate_client_config({"ssl.truststore.type": "PEM", "ssl.truststore.certificates": "-----BEGIN"}) == {
        "ssl.ca.pem": "-----BEGIN"}


@pytest.mark.parametrize("props", [
    {"ssl.truststore.location": "/ts.jks"},
    {"ssl.truststore.location": "/ts.jks", "ssl.truststore.type": "JKS"},
    {"ssl.truststore.location": "/ts.p12", "ssl.truststore.type": "PKCS12"},
])
def test_jks_and_pkcs12_truststores_ask_for_pem(props: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="ssl.truststore.type.*not supported by librdkafka.*PEM"):
        translate_client_config(props)


def test_keystores() -> None:
    p12 = {"ssl.keystore.type": "PKCS12", "ssl.keystore.location": "/ks.p12", "ssl.keystore.password": SECRET,
           "ssl.key.password": "kp"}
    assert translate_client_config(p12) == {"ssl.keystore.location": "/ks.p12", "ssl.keystore.password": SECRET,
                                            "ssl.key.password": "kp"}
    assert translate_client_config({"ssl.keystore.type": "PEM", "ssl.keystore.location": "/both.pem"}) == {
        "ssl.certificate.location": "/both.pem", "ssl.key.location": "/both.pem"}
    assert translate_client_config({"ssl.keystore.type": "PEM", "ssl.keystore.certificate.chain": "CHAIN",
                                    "ssl.keystore.key": SECRET}) == {
        "ssl.certificate.pem": "CHAIN", "ssl.key.pem": SECRET}
    with pytest.raises(ConfigError, match="JKS keystores are not supported"):
        translate_client_config({"ssl.keystore.location": "/ks.jks", "ssl.keystore.password": SECRET})
    with pytest.raises(ConfigError, match="ssl.keystore.password") as info:
        translate_client_config({"ssl.keystore.type": "PKCS12", "ssl.keystore.location": "/ks.p12"})
    assert "[hidden]" in str(info.value)


@pytest.mark.parametrize("given, expected", [("https", "https"), ("HTTPS", "https"), ("", "none")])
def test_endpoint_identification(given: str, expected: str) -> None:
    out = translate_client_config({"ssl.endpoint.identification.algorithm": given})
    assert out == {"ssl.endpoint.identification.algorithm": expected}


def test_cipher_suites_use_openssl_names() -> None:
    out = translate_client_config({"ssl.cipher.suites": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "
                                   "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,TLS_AES_128_GCM_SHA256,"
                                   "ECDHE-RSA-AES256-GCM-SHA384"})
    assert out == {"ssl.cipher.suites": "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-GCM-SHA384"}
    with pytest.raises(ConfigError, match="TLS_FOO_WITH_BAR.*ssl.cipher.suites"):
        translate_client_config({"ssl.cipher.suites": "TLS_FOO_WITH_BAR"})


# -- librdkafka accepts what kcfast builds ------------------------------------------------------------------------


def test_librdkafka_accepts_translated_sasl_ssl_settings(pki: dict[str, Any]) -> None:
    conf = {"bootstrap.servers": "127.0.0.1:1", "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.jaas.config": jaas(SCRAM, username="alice", password=SECRET),
            "ssl.truststore.type": "PEM", "ssl.truststore.location": pki["ca"],
            "ssl.keystore.type": "PEM", "ssl.keystore.location": pki["combined"],
            "ssl.endpoint.identification.algorithm": "", "ssl.cipher.suites": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}
    # librdkafka checks names and values and loads the CA, certificate and key when the client is created
    # (created directly: kcfast's factories would drop a setting librdkafka does not know).
    assert isinstance(Producer(translate_client_config(conf)), Producer)
    admin = AdminClient(translate_client_config({**conf, "ssl.keystore.type": "PKCS12", "ssl.keystore.location": pki["p12"],
                       "ssl.keystore.password": SECRET}))
    assert isinstance(admin, AdminClient)


def test_librdkafka_rejects_a_bad_client_key(pki: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text(pki["cert_pem"])  # a certificate without its key
    with pytest.raises(Exception, match="ssl.key.location|private key|key"):
        new_producer({"security.protocol": "SSL", "ssl.keystore.type": "PEM", "ssl.keystore.location": str(bad)})


# -- aiokafka -------------------------------------------------------------------------------------------------


def test_aiokafka_plaintext_default() -> None:
    assert aiokafka_security_kwargs({"bootstrap.servers": "x"}) == {"security_protocol": "PLAINTEXT"}


def test_aiokafka_ssl_context_settings(pki: dict[str, Any]) -> None:
    kwargs = aiokafka_security_kwargs({"security.protocol": "SSL", "ssl.truststore.type": "PEM",
                                       "ssl.truststore.location": pki["ca"],
                                       "ssl.endpoint.identification.algorithm": "",
                                       "ssl.enabled.protocols": "TLSv1.3"})
    ctx = kwargs["ssl_context"]
    assert ctx.check_hostname is False and ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.minimum_version == ctx.maximum_version == ssl.TLSVersion.TLSv1_3
    assert [c["subject"] for c in ctx.get_ca_certs()] == [((("commonName", "kcfast-test-ca"),),)]


@pytest.mark.parametrize("keystore", ["pem-text", "pem-file", "pkcs12"])
def test_aiokafka_loads_client_certificates(pki: dict[str, Any], keystore: str) -> None:
    props: dict[str, Any] = {"security.protocol": "SSL", "ssl.truststore.type": "PEM",
                             "ssl.truststore.certificates": pki["ca_pem"]}
    if keystore == "pem-text":
        props |= {"ssl.keystore.type": "PEM", "ssl.keystore.certificate.chain": pki["cert_pem"],
                  "ssl.keystore.key": pki["key_pem"]}
    elif keystore == "pem-file":
        props |= {"ssl.keystore.type": "PEM", "ssl.keystore.location": pki["combined"]}
    else:
        props |= {"ssl.keystore.type": "PKCS12", "ssl.keystore.location": pki["p12"], "ssl.keystore.password": SECRET}
    assert isinstance(aiokafka_security_kwargs(props)["ssl_context"], ssl.SSLContext)


def test_aiokafka_wrong_pkcs12_password_hides_it(pki: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as info:
        aiokafka_security_kwargs({"security.protocol": "SSL", "ssl.keystore.type": "PKCS12",
                                  "ssl.keystore.location": pki["p12"], "ssl.keystore.password": "wrong-" + SECRET})
    assert "cannot read the PKCS12 keystore" in str(info.value) and SECRET not in str(info.value)


def test_aiokafka_sasl_without_credentials_is_an_error() -> None:
    with pytest.raises(ConfigError, match="needs a username and password"):
        aiokafka_security_kwargs({"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN"})


def test_aiokafka_gssapi_service_name() -> None:
    kwargs = aiokafka_security_kwargs({"security.protocol": "SASL_PLAINTEXT", "sasl.kerberos.service.name": "kfk"})
    assert (kwargs["sasl_mechanism"], kwargs["sasl_kerberos_service_name"]) == ("GSSAPI", "kfk")


def test_transport_takes_worker_security_settings_and_keeps_the_old_parameters(pki: dict[str, Any]) -> None:
    worker = {"bootstrap.servers": "b:9092", "group.id": "g", "security.protocol": "SASL_SSL",
              "sasl.mechanism": "SCRAM-SHA-256", "sasl.jaas.config": jaas(SCRAM, username="alice", password=SECRET),
              "ssl.truststore.type": "PEM", "ssl.truststore.location": pki["ca"]}
    transport = AiokafkaTransport("b:9092", "connect-1", security=worker)
    assert transport.security_protocol == "SASL_SSL"
    legacy = AiokafkaTransport("b:9092", "connect-1", 65000, 100, "SSL", pki["ca"])
    assert legacy.security_protocol == "SSL"
    assert AiokafkaTransport("b:9092", "connect-1").security_protocol == "PLAINTEXT"
    with pytest.raises(ConfigError, match="security.protocol"):
        AiokafkaTransport("b:9092", "connect-1", security={"security.protocol": "SASL"})


@pytest.mark.parametrize("failure, expected", [
    ("sasl", "could not authenticate to 127.0.0.1:1 with SASL mechanism SCRAM-SHA-256"),
    ("tls", "TLS handshake with 127.0.0.1:1 failed"),
])
def test_transport_stops_retrying_when_the_broker_refuses(
    monkeypatch: pytest.MonkeyPatch, failure: str, expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    import aiokafka.conn
    from aiokafka.errors import SaslAuthenticationFailed

    from kcfast.errors import ConnectError

    async def refuse(*args: Any, **kwargs: Any) -> Any:
        raise SaslAuthenticationFailed("bad credentials") if failure == "sasl" else ssl.SSLError("certificate verify failed")

    monkeypatch.setattr(aiokafka.conn, "create_conn", refuse)
    transport = AiokafkaTransport("127.0.0.1:1", "connect-1", request_timeout_ms=2000, security={
        "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.jaas.config": jaas(SCRAM, username="alice", password=SECRET)})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConnectError, match=expected) as info:
        asyncio.run(transport.start())
    assert SECRET not in str(info.value) and SECRET not in caplog.text
