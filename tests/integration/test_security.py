"""REST security: basic authentication configured like Kafka's extension, HTTPS listeners, secrets kept secret.

The first tests check the credential files and the header parsing without a worker; the integration tests start
``kcfast standalone`` with an HTTPS listener (a self-signed certificate made here), an HTTPS admin listener and
basic authentication, and talk to it as a client would.
"""

from __future__ import annotations

import base64
import datetime
import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from kcfast.errors import ConfigError
from kcfast.rest.auth import BASIC_AUTH_EXTENSION, UNAUTHORIZED_MESSAGE, BasicAuth, is_internal_request, parse_jaas
from kcfast.testing import EmbeddedKafka, free_port
from kcfast.testing.standalone import StandaloneProcess

JAAS = """
// Kafka's documented example, with the file option this test points at
KafkaConnect {
  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required
  file="%s";
};
"""


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def credentials(tmp_path: Path) -> Path:
    path = tmp_path / "credentials.properties"
    path.write_text("# users of the REST API\nadmin: s3cr3t:with:colons\nops=ops-pass\n", encoding="utf-8")
    return path


# -- credentials and headers ---------------------------------------------------------------------------------


def test_credentials_file_in_properties_format(credentials: Path) -> None:
    auth = BasicAuth.load(credentials)
    assert auth.authenticate(basic("admin", "s3cr3t:with:colons"))
    assert auth.authenticate(basic("ops", "ops-pass"))
    assert auth.authenticate("basic " + basic("ops", "ops-pass").split(" ", 1)[1])  # scheme is case-insensitive
    assert not auth.authenticate(basic("ops", "wrong"))
    assert not auth.authenticate(basic("nobody", "ops-pass"))
    assert "s3cr3t" not in repr(auth)


@pytest.mark.parametrize("header", [
    None, "", "Basic", "Basic ", "Bearer abc", "Basic !!!notbase64!!!", "Basic " + base64.b64encode(b"nocolon").decode(),
    "Basic " + base64.b64encode(b":ops-pass").decode(), "Basic " + base64.b64encode(b"\xff\xfe:\x00").decode(),
])
def test_malformed_authorization_headers_are_refused(credentials: Path, header: str | None) -> None:
    assert not BasicAuth.load(credentials).authenticate(header)


def test_jaas_file_names_the_credentials_file(tmp_path: Path, credentials: Path) -> None:
    jaas = tmp_path / "connect_jaas.conf"
    jaas.write_text(JAAS % credentials, encoding="utf-8")
    sections = parse_jaas(jaas.read_text())
    assert sections["KafkaConnect"][0][1] == "required"
    auth = BasicAuth.load(jaas)
    assert auth.source == str(credentials) and auth.authenticate(basic("ops", "ops-pass"))


def test_worker_config_turns_authentication_on(tmp_path: Path, credentials: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    assert BasicAuth.from_worker_props({}) is None
    assert BasicAuth.from_worker_props({"rest.basic.auth.credentials.file": str(credentials)}) is not None
    listed = {"rest.extension.classes": BASIC_AUTH_EXTENSION}
    with pytest.raises(ConfigError, match="needs credentials"):
        BasicAuth.from_worker_props(listed, environ={})
    jaas = tmp_path / "jaas.conf"
    jaas.write_text(JAAS % credentials, encoding="utf-8")
    env = {"KAFKA_OPTS": f"-Xmx1g -Djava.security.auth.login.config={jaas}"}
    auth = BasicAuth.from_worker_props(listed, environ=env)
    assert auth is not None and auth.authenticate(basic("admin", "s3cr3t:with:colons"))
    assert BasicAuth.from_worker_props({"rest.extension.classes": "com.example.Other"}, environ={}) is None
    assert "com.example.Other is not available in kcfast" in caplog.text
    with pytest.raises(ConfigError, match="no section named 'KafkaConnect'"):
        (tmp_path / "other.conf").write_text("Other { x.PropertyFileLoginModule required file=\"a\"; };")
        BasicAuth.load(tmp_path / "other.conf")
    with pytest.raises(ConfigError, match="Error loading Property Credentials file"):
        BasicAuth.load(tmp_path / "missing.properties")


def test_an_empty_credentials_file_lets_every_request_through(tmp_path: Path) -> None:
    empty = tmp_path / "empty.properties"
    empty.write_text("# nobody\n")
    assert BasicAuth.load(empty).authenticate(None)


def test_only_the_internal_requests_skip_authentication() -> None:
    assert is_internal_request("POST", "/connectors/c/tasks")
    assert is_internal_request("POST", "/connectors/c/tasks/")
    assert is_internal_request("PUT", "/connectors/c/fence")
    assert not is_internal_request("GET", "/connectors/c/tasks")
    assert not is_internal_request("POST", "/connectors/c/tasks/0/restart")
    assert not is_internal_request("POST", "/connectors")


# -- a worker behind HTTPS and basic authentication ----------------------------------------------------------


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A key and certificate for 127.0.0.1, as one PEM key store; returns (keystore, certificate)."""
    x509 = pytest.importorskip("cryptography.x509", reason="the HTTPS test makes its certificate with cryptography")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kcfast-test")])
    import ipaddress

    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    keystore = directory / "keystore.pem"
    keystore.write_bytes(key_pem + cert_pem)
    certificate = directory / "cert.pem"
    certificate.write_bytes(cert_pem)
    return keystore, certificate


class HttpsClient:
    """The REST client ``StandaloneProcess`` expects, over TLS with a trusted certificate and credentials."""

    def __init__(self, base: str, cafile: Path, authorization: str | None) -> None:
        self.base = base
        self.context = ssl.create_default_context(cafile=str(cafile))
        self.authorization = authorization

    def request(self, method: str, path: str, body: Any = None, authorization: str | None = "default",
                ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        auth = self.authorization if authorization == "default" else authorization
        if auth is not None:
            req.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(req, timeout=60, context=self.context) as resp:
                text = resp.read()
                return resp.status, _decode(text)
        except urllib.error.HTTPError as exc:
            return exc.code, _decode(exc.read())

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)


def _decode(text: bytes) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text.decode()


SECRET_CONNECTOR = '''
from kcfast.api import ConfigDef, Importance, Type
from kcfast.connectors.synthetic import SyntheticSourceConnector, SYNTHETIC_CONFIG_DEF

DEF = SYNTHETIC_CONFIG_DEF.define("db.password", Type.PASSWORD, importance=Importance.HIGH,
                                  documentation="A secret")


class SecretSourceConnector(SyntheticSourceConnector):
    CONFIG_DEF = DEF

    def config(self):
        return DEF
'''


@pytest.mark.integration
def test_https_listeners_with_basic_auth_and_hidden_secrets(kafka: EmbeddedKafka, tmp_path: Path,
                                                            credentials: Path, kafka_sample: Any,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    keystore, certificate = _self_signed(tmp_path)
    (tmp_path / "secret_connector.py").write_text(SECRET_CONNECTOR, encoding="utf-8")
    jaas = tmp_path / "connect_jaas.conf"
    jaas.write_text(JAAS % credentials, encoding="utf-8")
    # Kafka's way: the extension class in the worker config, the JAAS file in KAFKA_OPTS.
    monkeypatch.setenv("KAFKA_OPTS", f"-Djava.security.auth.login.config={jaas}")
    monkeypatch.setenv("KCFAST_LOG_LEVEL", "DEBUG")  # secrets must stay out of the log at every level
    port, admin_port = free_port(), free_port()
    props = kafka_sample(
        "connect-standalone.properties",
        **{
            "bootstrap.servers": kafka.bootstrap_servers,
            "offset.storage.file.filename": str(tmp_path / "connect.offsets"),
            "listeners": f"https://127.0.0.1:{port}",
            "admin.listeners": f"https://127.0.0.1:{admin_port}",
            "listeners.https.ssl.keystore.type": "PEM",
            "listeners.https.ssl.keystore.location": str(keystore),
            "admin.listeners.https.ssl.keystore.type": "PEM",
            "admin.listeners.https.ssl.keystore.location": str(keystore),
            "rest.extension.classes": BASIC_AUTH_EXTENSION,
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        },
    )
    worker = StandaloneProcess(tmp_path, props, [], port)
    worker.http = HttpsClient(f"https://127.0.0.1:{port}", certificate, basic("ops", "ops-pass"))  # type: ignore[assignment]
    admin = HttpsClient(f"https://127.0.0.1:{admin_port}", certificate, basic("ops", "ops-pass"))
    worker.start()
    try:
        http: HttpsClient = worker.http  # type: ignore[assignment]
        # Authentication: Kafka's 401 text for no, wrong and malformed credentials; the API with good ones.
        for auth in (None, basic("ops", "wrong"), basic("admin", "ops-pass"), "Basic %%%"):
            assert http.request("GET", "/connectors", authorization=auth) == (401, UNAUTHORIZED_MESSAGE)
        assert http.get("/connectors") == (200, [])
        assert http.request("GET", "/metrics", authorization=None)[0] == 401
        status, text = http.get("/metrics")
        assert status == 200 and "kafka_connect_connect_worker_metrics_task_count" in text
        # The internal task-config request is not subject to basic authentication (standalone refuses it).
        status, _ = http.request("POST", "/connectors/c/tasks", [], authorization=None)
        assert status not in (401, 200)
        # /admin/* lives only on the admin listener, behind the same authentication.
        assert http.get("/admin/loggers")[0] == 404
        assert admin.request("GET", "/admin/loggers", authorization=None)[0] == 401
        status, loggers = admin.get("/admin/loggers")
        assert status == 200 and "root" in loggers
        # Plain HTTP on the HTTPS port gets no API.
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read()

        # Secrets: validation shows [hidden]; the running connector works with the real value.
        secret = "pa55-w0rd-never-logged"
        config = {"connector.class": "secret_connector.SecretSourceConnector", "topic": "secrets-t",
                  "records": "10", "db.password": secret, "tasks.max": "1"}
        status, infos = http.request("PUT", "/connector-plugins/SecretSourceConnector/config/validate", config)
        assert status == 200, infos
        shown = {c["value"]["name"]: c["value"]["value"] for c in infos["configs"] if c.get("value")}
        assert shown["db.password"] == "[hidden]"
        definition = next(c["definition"] for c in infos["configs"] if c["value"]["name"] == "db.password")
        assert definition["type"] == "PASSWORD"
        status, _ = http.request("PUT", "/connectors/secret/config", config)
        assert status == 201
        worker.wait_for(lambda: http.get("/connectors/secret/status")[1]["tasks"][:1]
                        and http.get("/connectors/secret/status")[1]["tasks"][0]["state"] == "RUNNING",
                        what="secret connector running")
        assert http.request("DELETE", "/connectors/secret")[0] == 204
    finally:
        assert worker.stop() == 0
    log = worker.log_path.read_text(encoding="utf-8", errors="replace")
    assert "Added connector for https://127.0.0.1" in log
    for leaked in ("pa55-w0rd-never-logged", "ops-pass", "s3cr3t"):
        assert leaked not in log, f"{leaked!r} appears in the worker log"
