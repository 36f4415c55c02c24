"""kcfast's Kafka clients over real TLS, configured with Java's client security settings.

The embedded broker speaks plaintext only, so each test cluster puts a TLS-terminating proxy
(:class:`kcfast.testing.tls.TlsProxy`) in front of it and has the broker advertise the proxy's address: every
request of a client that bootstraps from the proxy travels over TLS. One cluster checks the server's
certificate only; the other also requires a client certificate (mutual TLS). The proxy records each handshake
and the client certificate it saw, so the tests can tell that TLS was used and which key the client presented.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kcfast.errors import ConnectError, KcfastError
from kcfast.kafka.clients import (
    KafkaError,
    KafkaException,
    NewTopic,
    cluster_id,
    cluster_metadata,
    new_admin,
    new_consumer,
    new_producer,
)
from kcfast.runtime.distributed.transport import AiokafkaTransport
from kcfast.testing import EmbeddedKafka, free_port, tls
from kcfast.testing.standalone import StandaloneProcess, properties_with

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(bool(os.environ.get("KCFAST_BOOTSTRAP")),
                       reason="needs the embedded broker, to put a TLS proxy in front of it"),
]

pytest.importorskip("cryptography", reason="the test certificates are made with cryptography")

KAFKA_CONFIG = Path(__file__).resolve().parents[1] / "data" / "kafka-config"
KEYSTORES = ["pem-file", "pem-text", "pkcs12"]


@dataclass
class TlsCluster:
    """A broker reachable only through a TLS proxy."""

    files: Any  # kcfast.testing.tls.TlsFiles
    proxy: Any  # kcfast.testing.tls.TlsProxy
    kafka: EmbeddedKafka

    @property
    def bootstrap(self) -> str:
        return str(self.proxy.address)

    def settings(self, ca: Path | None = None, **extra: str) -> dict[str, Any]:
        """Java-style client settings: SSL, the CA as a PEM truststore, host name checks on."""
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": "SSL",
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(ca or self.files.ca),
            "ssl.endpoint.identification.algorithm": "https",
        }
        conf.update(extra)
        return conf


def keystore(files: Any, form: str) -> dict[str, str]:
    """Java-style keystore settings for the client certificate in one of the forms kcfast supports."""
    if form == "pem-file":  # one PEM file: encrypted key, then the certificate chain
        return {"ssl.keystore.type": "PEM", "ssl.keystore.location": str(files.client_keystore),
                "ssl.key.password": files.password}
    if form == "pem-text":
        return {"ssl.keystore.type": "PEM", "ssl.keystore.certificate.chain": files.client_cert.read_text(),
                "ssl.keystore.key": files.client_key_encrypted.read_text(),
                "ssl.key.password": files.password}
    assert form == "pkcs12"
    return {"ssl.keystore.type": "PKCS12", "ssl.keystore.location": str(files.client_pkcs12),
            "ssl.keystore.password": files.password}


def secrets_of(files: Any) -> list[str]:
    """Strings that must never show up in an error or a log line."""
    first_lines = [next(line for line in path.read_text().splitlines() if not line.startswith("-----"))
                   for path in (files.client_key, files.client_key_encrypted)]
    return [files.password, "PRIVATE KEY", *first_lines]


@pytest.fixture(scope="module")
def tls_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="kcfast-tls-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="module")
def files(tls_dir: Path) -> Any:
    (tls_dir / "good").mkdir()
    return tls.make_tls_files(tls_dir / "good")


@pytest.fixture(scope="module")
def other_ca(tls_dir: Path) -> Path:
    """The CA certificate of another authority, which did not sign the broker's certificate."""
    (tls_dir / "other").mkdir()
    return tls.make_tls_files(tls_dir / "other").ca


def _cluster(files: Any, mutual: bool) -> Iterator[TlsCluster]:
    broker_port = free_port()
    with tls.TlsProxy(("127.0.0.1", broker_port), files.server_cert, files.server_key,
                      client_ca=files.ca if mutual else None) as proxy:
        with EmbeddedKafka(port=broker_port, advertised_listener=proxy.address) as kafka:
            yield TlsCluster(files, proxy, kafka)


@pytest.fixture(scope="module")
def tls_cluster(files: Any) -> Iterator[TlsCluster]:
    """Server authentication only."""
    yield from _cluster(files, mutual=False)


@pytest.fixture(scope="module")
def mtls_cluster(files: Any) -> Iterator[TlsCluster]:
    """Clients must present a certificate signed by the test CA."""
    yield from _cluster(files, mutual=True)


def create_topic(conf: dict[str, Any], topic: str, partitions: int = 1) -> None:
    admin = new_admin(conf)
    for future in admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)],
                                      request_timeout=15).values():
        future.result(timeout=20)


def produce(conf: dict[str, Any], topic: str, values: list[bytes]) -> list[Any]:
    """Produce ``values``; return the delivery errors (``None`` for each record delivered)."""
    reports: list[Any] = []
    producer = new_producer(dict(conf, **{"message.timeout.ms": "15000"}))
    for i, value in enumerate(values):
        producer.produce(topic, key=b"k%d" % i, value=value, on_delivery=lambda err, msg: reports.append(err))
    assert producer.flush(30) == 0
    return reports


def consume(conf: dict[str, Any], topic: str, count: int, timeout: float = 30.0) -> list[bytes]:
    consumer = new_consumer(dict(conf, **{"group.id": f"tls-{uuid.uuid4().hex[:8]}",
                                          "auto.offset.reset": "earliest", "session.timeout.ms": "6000",
                                          "heartbeat.interval.ms": "1000"}))
    consumer.subscribe([topic])
    values: list[bytes] = []
    errors: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(values) < count and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                errors.append(msg.error())
            else:
                values.append(msg.value())
    finally:
        consumer.close()
    assert len(values) >= count, f"consumed {len(values)} of {count} records; errors: {errors}"
    return values


@pytest.fixture
def failing_handshakes() -> Iterator[None]:
    """For a test whose group client fails TLS handshakes: asyncio (3.11) leaves the socket transport under a
    failed TLS handshake for the garbage collector, and the test's exception info keeps it reachable until the
    test returns; its ResourceWarning would then surface in a later test. Collect it once the test is done."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def round_trip(conf: dict[str, Any], topic: str) -> None:
    values = [b"record %d" % i for i in range(20)]
    create_topic(conf, topic)
    assert produce(conf, topic, values) == [None] * len(values)
    assert consume(conf, topic, len(values)) == values


def test_missing_cryptography_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "cryptography", None)
    with pytest.raises(KcfastError, match="'cryptography' package"):
        tls.make_tls_files(tmp_path)
    assert list(tmp_path.iterdir()) == []


# -- librdkafka: producers, consumers and admin clients ------------------------------------------------------


def test_producer_and_consumer_over_tls(tls_cluster: TlsCluster, topic_name: str) -> None:
    failures = len(tls_cluster.proxy.failures)
    handshakes = tls_cluster.proxy.handshakes
    round_trip(tls_cluster.settings(), topic_name)
    assert tls_cluster.proxy.handshakes > handshakes
    assert tls_cluster.proxy.failures[failures:] == []


def test_localhost_name_matches_the_certificate(tls_cluster: TlsCluster, topic_name: str) -> None:
    # Bootstrap by name: host name verification checks the DNS name in the certificate, not the IP address.
    conf = tls_cluster.settings(**{"bootstrap.servers": f"localhost:{tls_cluster.proxy.port}"})
    create_topic(conf, topic_name)
    assert produce(conf, topic_name, [b"by name"]) == [None]


@pytest.fixture(scope="module")
def misnamed(tls_cluster: TlsCluster, tls_dir: Path) -> Iterator[TlsCluster]:
    """A second proxy in front of the same broker, whose certificate names another host (only the bootstrap
    connection goes through it: the broker advertises the first proxy)."""
    (tls_dir / "misnamed").mkdir()
    files = tls.make_tls_files(tls_dir / "misnamed", hosts=("broker.invalid",))
    broker = ("127.0.0.1", int(tls_cluster.kafka.port or 0))
    with tls.TlsProxy(broker, files.server_cert, files.server_key) as proxy:
        yield TlsCluster(files, proxy, tls_cluster.kafka)


@pytest.mark.parametrize("algorithm", ["https", ""])
def test_host_name_verification_follows_endpoint_identification(misnamed: TlsCluster, algorithm: str,
                                                                failing_handshakes: None) -> None:
    conf = misnamed.settings(**{"ssl.endpoint.identification.algorithm": algorithm,
                                "socket.timeout.ms": "3000"})
    admin = new_admin(conf)
    if algorithm:
        with pytest.raises(KafkaException):
            admin.list_topics(timeout=3)
        assert any(reason.endswith("ALERT_BAD_CERTIFICATE") for reason in misnamed.proxy.failures)
        with pytest.raises(ConnectError, match="TLS handshake"):
            transport = AiokafkaTransport(misnamed.bootstrap, "c", security=conf)
            asyncio.run(asyncio.wait_for(transport.start(), 30))
    else:
        assert admin.list_topics(timeout=10).brokers
        transport = AiokafkaTransport(misnamed.bootstrap, "c", security=conf)

        async def bootstrap() -> None:
            try:
                await asyncio.wait_for(transport.start(), 30)
            finally:
                await transport.close()

        asyncio.run(bootstrap())


@pytest.mark.parametrize("form", KEYSTORES)
def test_producer_and_consumer_over_mutual_tls(mtls_cluster: TlsCluster, topic_name: str, form: str) -> None:
    peers = len(mtls_cluster.proxy.peers)
    round_trip(mtls_cluster.settings(**keystore(mtls_cluster.files, form)), topic_name)
    seen = mtls_cluster.proxy.peers[peers:]
    assert seen and set(seen) == {mtls_cluster.files.client_name}


def test_wrong_ca_fails_with_a_clear_error_and_no_secrets(mtls_cluster: TlsCluster, other_ca: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    failures = len(mtls_cluster.proxy.failures)
    errors: list[KafkaError] = []
    conf = mtls_cluster.settings(ca=other_ca, **keystore(mtls_cluster.files, "pem-file"))
    producer = new_producer(dict(conf, **{"message.timeout.ms": "3000", "error_cb": errors.append}))
    reports: list[Any] = []
    producer.produce("never-created", value=b"x", on_delivery=lambda err, msg: reports.append(err))
    assert producer.flush(20) == 0, "the record neither delivered nor failed within the message timeout"
    assert [r.code() for r in reports] == [KafkaError._MSG_TIMED_OUT]
    ssl_errors = [e for e in errors if e.code() == KafkaError._SSL]
    assert ssl_errors and "certificate verify failed" in ssl_errors[0].str()
    # The client, not the network, refused: it rejected the broker's certificate during the handshake.
    assert "TLSV1_ALERT_UNKNOWN_CA" in mtls_cluster.proxy.failures[failures:]

    consumer_errors: list[KafkaError] = []
    consumer = new_consumer(dict(conf, **{"group.id": "wrong-ca", "error_cb": consumer_errors.append}))
    consumer.subscribe(["never-created"])
    deadline = time.monotonic() + 20
    while not any(e.code() == KafkaError._SSL for e in consumer_errors) and time.monotonic() < deadline:
        consumer.poll(0.2)
    consumer.close()
    assert any("certificate verify failed" in e.str() for e in consumer_errors)

    text = "\n".join([caplog.text, *(e.str() for e in errors), *(e.str() for e in consumer_errors)])
    assert "certificate verify failed" in caplog.text
    for secret in secrets_of(mtls_cluster.files):
        assert secret not in text


def test_mutual_tls_without_a_client_certificate_is_refused(mtls_cluster: TlsCluster) -> None:
    failures = len(mtls_cluster.proxy.failures)
    producer = new_producer(dict(mtls_cluster.settings(), **{"message.timeout.ms": "3000"}))
    reports: list[Any] = []
    producer.produce("never-created", value=b"x", on_delivery=lambda err, msg: reports.append(err))
    assert producer.flush(20) == 0
    assert [r.code() for r in reports] == [KafkaError._MSG_TIMED_OUT]
    assert "PEER_DID_NOT_RETURN_A_CERTIFICATE" in mtls_cluster.proxy.failures[failures:]


# -- the distributed group membership client (aiokafka) -----------------------------------------------------


async def _find_coordinator(cluster: TlsCluster, security: dict[str, Any], timeout: float = 30.0) -> None:
    transport = AiokafkaTransport(cluster.bootstrap, f"tls-{uuid.uuid4().hex[:8]}", request_timeout_ms=10000,
                                  security=security)
    try:
        await asyncio.wait_for(transport.start(), timeout)
        await asyncio.wait_for(transport.find_coordinator(f"group-{uuid.uuid4().hex[:8]}"), timeout)
    finally:
        await transport.close()


def test_group_client_finds_the_coordinator_over_tls(tls_cluster: TlsCluster) -> None:
    handshakes = tls_cluster.proxy.handshakes
    asyncio.run(_find_coordinator(tls_cluster, tls_cluster.settings()))
    assert tls_cluster.proxy.handshakes > handshakes


@pytest.mark.parametrize("form", KEYSTORES)
def test_group_client_finds_the_coordinator_over_mutual_tls(mtls_cluster: TlsCluster, form: str) -> None:
    peers = len(mtls_cluster.proxy.peers)
    asyncio.run(_find_coordinator(mtls_cluster, mtls_cluster.settings(**keystore(mtls_cluster.files, form))))
    seen = mtls_cluster.proxy.peers[peers:]
    assert seen and set(seen) == {mtls_cluster.files.client_name}


def test_group_client_with_wrong_ca_raises_connect_error(mtls_cluster: TlsCluster, other_ca: Path,
                                                         failing_handshakes: None) -> None:
    security = mtls_cluster.settings(ca=other_ca, **keystore(mtls_cluster.files, "pem-file"))
    with pytest.raises(ConnectError, match="TLS handshake .* failed") as info:
        asyncio.run(_find_coordinator(mtls_cluster, security))
    message = str(info.value)
    assert "certificate verify failed" in message.lower() and "ssl.truststore" in message
    for secret in secrets_of(mtls_cluster.files):
        assert secret not in message


# -- a standalone worker -------------------------------------------------------------------------------------


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


@pytest.mark.slow
def test_standalone_file_pipeline_over_mutual_tls(mtls_cluster: TlsCluster, topic_name: str) -> None:
    security = {k: v for k, v in mtls_cluster.settings(**keystore(mtls_cluster.files, "pem-file")).items()
                if k != "bootstrap.servers"}
    create_topic(mtls_cluster.settings(**keystore(mtls_cluster.files, "pem-file")), topic_name)
    peers = len(mtls_cluster.proxy.peers)
    with tempfile.TemporaryDirectory(prefix="kcfast-it-") as tmp:
        workdir = Path(tmp)
        source_file, sink_file = workdir / "in.txt", workdir / "out.txt"
        lines = [f"line {i}" for i in range(200)]
        source_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        source = workdir / "source.properties"
        source.write_text(properties_with((KAFKA_CONFIG / "connect-file-source.properties").read_text(),
                                          file=str(source_file), topic=topic_name))
        sink = workdir / "sink.properties"
        sink.write_text(properties_with((KAFKA_CONFIG / "connect-file-sink.properties").read_text(),
                                        file=str(sink_file), topics=topic_name))
        port = free_port()
        # As Kafka users write it: the worker's own clients at the top level, the tasks' under prefixes.
        worker = {
            "bootstrap.servers": mtls_cluster.bootstrap,
            "offset.storage.file.filename": str(workdir / "connect.offsets"),
            "offset.flush.interval.ms": "500",
            "listeners": f"http://127.0.0.1:{port}",
            "consumer.session.timeout.ms": "6000",
            "consumer.heartbeat.interval.ms": "1000",
            **security,
            **{f"producer.{k}": v for k, v in security.items()},
            **{f"consumer.{k}": v for k, v in security.items()},
        }
        props = properties_with((KAFKA_CONFIG / "connect-standalone.properties").read_text(), **worker)
        proc = StandaloneProcess(workdir, props, [source, sink], port).start()
        try:
            proc.wait_for(lambda: len(_lines(sink_file)) >= len(lines), what="all lines in the sink file")
            assert _lines(sink_file) == lines
            # The worker looked the cluster id up over TLS too, with its own security settings.
            status, root = proc.http.get("/")
            assert status == 200
            assert root["kafka_cluster_id"] == cluster_id(mtls_cluster.settings(**keystore(mtls_cluster.files,
                                                                                           "pem-file")))
            assert root["kafka_cluster_id"] == cluster_metadata(mtls_cluster.kafka.bootstrap_servers).cluster_id
            log = proc.log()
        finally:
            assert proc.stop() == 0
    seen = mtls_cluster.proxy.peers[peers:]
    assert seen and set(seen) == {mtls_cluster.files.client_name}
    assert mtls_cluster.files.password not in log
