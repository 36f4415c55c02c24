"""TLS for tests: a throw-away certificate authority and a TLS-terminating proxy in front of a plain broker.

:func:`make_tls_files` writes a self-signed CA, a server certificate for ``127.0.0.1``/``localhost`` and a
client certificate (in the forms Kafka clients read: PEM files, a Java-style PEM keystore, a PKCS12
keystore) to a directory. :class:`TlsProxy` accepts TLS on a loopback port (optionally requiring a client
certificate) and forwards the bytes to a plaintext port. Together with
``EmbeddedKafka(advertised_listener=proxy.address)`` they give clients a Kafka cluster they can only reach
over TLS::

    files = make_tls_files(tmp_dir)
    broker_port = free_port()
    with TlsProxy(("127.0.0.1", broker_port), files.server_cert, files.server_key) as proxy, \\
            EmbeddedKafka(port=broker_port, advertised_listener=proxy.address):
        producer = new_producer({"bootstrap.servers": proxy.address, "security.protocol": "SSL",
                                 "ssl.truststore.type": "PEM", "ssl.truststore.location": str(files.ca)})

Certificates are made with the ``cryptography`` package (a development dependency of kcfast).
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import secrets
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from kcfast.errors import KcfastError

__all__ = ["TlsFiles", "TlsProxy", "make_tls_files"]

CLIENT_NAME = "kcfast-test-client"


@dataclass(frozen=True)
class TlsFiles:
    """The PEM files written by :func:`make_tls_files`.

    Attributes:
        directory: where the files are.
        ca: the CA certificate (a PEM truststore: ``ssl.truststore.type=PEM``).
        server_cert: the server certificate followed by the CA certificate.
        server_key: the server's private key (unencrypted).
        client_cert: the client certificate followed by the CA certificate.
        client_key: the client's private key (unencrypted PKCS#8).
        client_key_encrypted: the same key encrypted with ``password`` (encrypted PKCS#8, as Java reads it).
        client_keystore: a Java-style PEM keystore: the client key encrypted with ``password``, then the
            certificate chain (``ssl.keystore.type=PEM``, ``ssl.keystore.location``, ``ssl.key.password``).
        client_pkcs12: a PKCS12 keystore of the client key and chain, protected by ``password``.
        password: the password of ``client_keystore``'s key and of ``client_pkcs12`` (random).
        client_name: the common name of the client certificate.
    """

    directory: Path
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    client_key_encrypted: Path
    client_keystore: Path
    client_pkcs12: Path
    password: str
    client_name: str = CLIENT_NAME

    def __repr__(self) -> str:
        return f"TlsFiles({str(self.directory)!r})"


def _crypto() -> Any:
    try:
        from cryptography import x509
    except ImportError as exc:
        raise KcfastError(
            "kcfast.testing.tls makes certificates with the 'cryptography' package, which is not installed "
            "(pip install cryptography, or pip install 'kcfast[dev]')"
        ) from exc
    return x509


def make_tls_files(
    directory: str | Path,
    hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
    days: int = 2,
    password: str | None = None,
) -> TlsFiles:
    """Write a new CA, a server certificate for ``hosts`` and a client certificate to ``directory``.

    Args:
        directory: an existing directory (the files get mode 0600 where they hold a key).
        hosts: names and IP addresses the server certificate is valid for (subject alternative names).
        days: validity of the certificates, from one hour ago.
        password: the password of the encrypted keystores (default: a random one).

    Returns:
        The paths and the password.

    Raises:
        KcfastError: the ``cryptography`` package is not installed.
    """
    x509 = _crypto()
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import (
        BestAvailableEncryption,
        Encoding,
        NoEncryption,
        PrivateFormat,
        pkcs12,
    )
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    out = Path(directory)
    password = password if password is not None else secrets.token_urlsafe(18)
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    end = start + datetime.timedelta(days=days)

    def name(common_name: str) -> Any:
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "kcfast tests"),
                          x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    def builder(subject: Any, issuer: Any, public_key: Any) -> Any:
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
                .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name(f"kcfast test CA {secrets.token_hex(4)}")
    ca_cert = (
        builder(ca_name, ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(common_name: str, usage: Any, sans: list[Any]) -> tuple[Any, Any]:
        key = ec.generate_private_key(ec.SECP256R1())
        b = (
            builder(name(common_name), ca_name, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
        )
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return key, b.sign(ca_key, hashes.SHA256())

    sans: list[Any] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    server_key, server_cert = leaf(hosts[0] if hosts else "localhost", ExtendedKeyUsageOID.SERVER_AUTH, sans)
    client_key, client_cert = leaf(CLIENT_NAME, ExtendedKeyUsageOID.CLIENT_AUTH, [])

    ca_pem = ca_cert.public_bytes(Encoding.PEM)
    client_chain = client_cert.public_bytes(Encoding.PEM) + ca_pem
    encryption = BestAvailableEncryption(password.encode())
    encrypted = client_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, encryption)
    files = TlsFiles(
        directory=out,
        ca=out / "ca.pem",
        server_cert=out / "server.pem",
        server_key=out / "server-key.pem",
        client_cert=out / "client.pem",
        client_key=out / "client-key.pem",
        client_key_encrypted=out / "client-key-encrypted.pem",
        client_keystore=out / "client-keystore.pem",
        client_pkcs12=out / "client.p12",
        password=password,
    )
    contents = {
        files.ca: ca_pem,
        files.server_cert: server_cert.public_bytes(Encoding.PEM) + ca_pem,
        files.server_key: server_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()),
        files.client_cert: client_chain,
        files.client_key: client_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()),
        files.client_key_encrypted: encrypted,
        files.client_keystore: encrypted + client_chain,
        files.client_pkcs12: pkcs12.serialize_key_and_certificates(
            CLIENT_NAME.encode(), client_key, client_cert, [ca_cert], encryption
        ),
    }
    for path, data in contents.items():
        path.write_bytes(data)
        path.chmod(0o644 if path in (files.ca, files.server_cert, files.client_cert) else 0o600)
    return files


class TlsProxy:
    """Accepts TLS on a loopback port and forwards each connection's bytes to a plaintext ``target``.

    The proxy runs an asyncio loop in a background thread. It counts the handshakes that completed and keeps
    the reasons of those that failed (as OpenSSL states them), so a test can tell a TLS failure from a network
    one. Usable as a context manager.

    Args:
        target: ``(host, port)`` of the plaintext server (it need not be listening yet).
        cert: PEM file of the server certificate chain.
        key: PEM file of its unencrypted private key.
        client_ca: when given, clients must present a certificate signed by a CA in this PEM file (mutual
            TLS).
        host: address to listen on.
        port: port to listen on (default: a free one).
        handshake_timeout: seconds a client has to complete its handshake.
    """

    def __init__(
        self,
        target: tuple[str, int],
        cert: str | Path,
        key: str | Path,
        client_ca: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        handshake_timeout: float = 10.0,
    ) -> None:
        self.target = (str(target[0]), int(target[1]))
        self.host = host
        self.port = port
        self.handshake_timeout = handshake_timeout
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(str(cert), str(key))
        if client_ca is not None:
            self.context.load_verify_locations(cafile=str(client_ca))
            self.context.verify_mode = ssl.CERT_REQUIRED
        self._lock = threading.Lock()
        self._handshakes = 0
        self._failures: list[str] = []
        self._peers: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        """``host:port`` clients connect to."""
        return f"{self.host}:{self.port}"

    @property
    def handshakes(self) -> int:
        """Number of connections whose TLS handshake completed."""
        with self._lock:
            return self._handshakes

    @property
    def failures(self) -> list[str]:
        """Why handshakes failed, in order (OpenSSL's reason, e.g. ``TLSV1_ALERT_UNKNOWN_CA``)."""
        with self._lock:
            return list(self._failures)

    @property
    def peers(self) -> list[str]:
        """Common names of the client certificates of completed handshakes (mutual TLS), in order."""
        with self._lock:
            return list(self._peers)

    def start(self) -> "TlsProxy":
        """Start listening (returns once the port is bound)."""
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name=f"tls-proxy-{self.target[1]}",
                                        daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._listen(), loop).result(timeout=10)
        except BaseException:
            self.stop()
            raise
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    def stop(self) -> None:
        """Close the listening socket and every open connection, and end the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()
            self._loop = self._thread = None

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        upstream: asyncio.StreamWriter | None = None
        try:
            try:
                await writer.start_tls(self.context, ssl_handshake_timeout=self.handshake_timeout)
            except (ssl.SSLError, OSError, asyncio.TimeoutError) as exc:
                with self._lock:
                    self._failures.append(_reason(exc))
                return
            peer = writer.get_extra_info("peercert")
            with self._lock:
                self._handshakes += 1
                if peer:
                    self._peers.append(_common_name(peer))
            try:
                up_reader, upstream = await asyncio.open_connection(*self.target)
            except OSError:
                return
            await asyncio.gather(_pipe(reader, upstream), _pipe(up_reader, writer))
        finally:
            for w in (upstream, writer):
                if w is not None:
                    w.close()
            for w in (upstream, writer):
                if w is not None:
                    try:
                        await asyncio.wait_for(w.wait_closed(), 2)
                    except (OSError, ssl.SSLError, asyncio.TimeoutError, asyncio.CancelledError):
                        pass
            self._tasks.discard(task)  # type: ignore[arg-type]

    def __enter__(self) -> "TlsProxy":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    """Copy ``src`` to ``dst`` until either side ends, then close ``dst`` (which ends the other direction)."""
    try:
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()
    except (OSError, ssl.SSLError):
        pass
    finally:
        dst.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason)
    return type(exc).__name__


def _common_name(peercert: dict[str, Any]) -> str:
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return ""
