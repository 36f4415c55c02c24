"""Signed internal requests between workers (KIP-507, ``connect.protocol=sessioned``).

The leader generates a session key, distributes it through the config topic (``session-key``) and rotates it
every ``inter.worker.key.ttl.ms``. A worker that sends an internal request (``POST /connectors/{c}/tasks``,
``PUT /connectors/{c}/fence``) signs the exact body bytes with the key:

- ``X-Connect-Authorization``: base64 of the HMAC of the body;
- ``X-Connect-Request-Signature-Algorithm``: the MAC algorithm, e.g. ``HmacSHA256``.

The receiving worker answers 400 when the signature is missing or uses an algorithm it does not accept, 503
while it has no session key yet, and 403 when the MAC does not match (spec 1.2). Algorithms use Java's names
(``HmacSHA256``, ``HmacSHA1``, ``HmacSHA384``, ``HmacSHA512``, ``HmacSHA224``, ``HmacMD5``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from kcfast.errors import BadRequestError, ConnectError, RestError

__all__ = [
    "SIGNATURE_ALGORITHM_HEADER",
    "SIGNATURE_HEADER",
    "InternalRequestSignature",
    "digest_name",
    "generate_key",
    "sign",
    "signature_headers",
    "verify_request",
]

SIGNATURE_HEADER = "X-Connect-Authorization"
SIGNATURE_ALGORITHM_HEADER = "X-Connect-Request-Signature-Algorithm"

_DIGESTS = {
    "hmacsha256": "sha256",
    "hmacsha1": "sha1",
    "hmacsha224": "sha224",
    "hmacsha384": "sha384",
    "hmacsha512": "sha512",
    "hmacmd5": "md5",
}
#: Default key size in bits of each key generation algorithm (the JDK's ``KeyGenerator`` defaults).
_DEFAULT_KEY_BITS = {
    "hmacsha256": 256,
    "hmacsha1": 512,
    "hmacsha224": 224,
    "hmacsha384": 384,
    "hmacsha512": 512,
    "hmacmd5": 512,
}


def digest_name(algorithm: str) -> str:
    """The :mod:`hashlib` name of a Java MAC algorithm name.

    Raises:
        ValueError: ``Algorithm X not available`` (the JDK's message).
    """
    digest = _DIGESTS.get(algorithm.lower())
    if digest is None:
        raise ValueError(f"Algorithm {algorithm} not available")
    return digest


def generate_key(algorithm: str = "HmacSHA256", size_bits: int | None = None) -> bytes:
    """A new random session key for ``algorithm`` (``inter.worker.key.generation.algorithm``).

    Raises:
        ValueError: unknown algorithm, or a size that is not a positive multiple of 8.
    """
    digest_name(algorithm)
    bits = size_bits if size_bits is not None else _DEFAULT_KEY_BITS[algorithm.lower()]
    if bits <= 0 or bits % 8:
        raise ValueError(f"Invalid key size {bits} for {algorithm}")
    return os.urandom(bits // 8)


def sign(key: bytes, body: bytes, algorithm: str = "HmacSHA256") -> bytes:
    """The MAC of ``body`` under ``key``."""
    return hmac.new(key, body, digest_name(algorithm)).digest()


def signature_headers(key: bytes, body: bytes, algorithm: str = "HmacSHA256") -> dict[str, str]:
    """The two headers that sign a request whose body is exactly ``body``.

    Raises:
        ConnectError: ``algorithm`` is unknown.
    """
    try:
        mac = sign(key, body, algorithm)
    except ValueError as exc:
        raise ConnectError(str(exc)) from exc
    return {SIGNATURE_HEADER: base64.b64encode(mac).decode("ascii"), SIGNATURE_ALGORITHM_HEADER: algorithm}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


@dataclass(frozen=True)
class InternalRequestSignature:
    """The signature a request carries, with the body it claims to sign.

    Attributes:
        body: the raw request body.
        algorithm: the MAC algorithm named by the request.
        signature: the decoded MAC.
    """

    body: bytes
    algorithm: str
    signature: bytes

    @classmethod
    def from_headers(cls, body: bytes, headers: Mapping[str, str]) -> InternalRequestSignature | None:
        """The request's signature, or ``None`` if either header is missing.

        Raises:
            BadRequestError: the algorithm is unknown (``Algorithm X not available``) or the signature is not
                valid base64.
        """
        algorithm = _header(headers, SIGNATURE_ALGORITHM_HEADER)
        encoded = _header(headers, SIGNATURE_HEADER)
        if algorithm is None or encoded is None:
            return None
        try:
            digest_name(algorithm)
        except ValueError as exc:
            raise BadRequestError(str(exc)) from exc
        try:
            signature = base64.b64decode(encoded.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise BadRequestError(f"Illegal base64 signature: {exc}") from exc
        return cls(bytes(body), algorithm, signature)

    def is_valid(self, key: bytes) -> bool:
        """Whether the signature is the MAC of the body under ``key`` (constant-time comparison)."""
        return hmac.compare_digest(sign(key, self.body, self.algorithm), self.signature)


def verify_request(
    body: bytes,
    headers: Mapping[str, str],
    session_key: bytes | None,
    accepted_algorithms: Collection[str],
) -> None:
    """Check an internal request's signature as a ``sessioned`` worker does.

    Raises:
        BadRequestError: ``Internal request missing required signature``, or an algorithm this worker does
            not accept (400).
        RestError: 503 while no session key was read yet; 403 ``Internal request contained invalid
            signature.``
    """
    signature = InternalRequestSignature.from_headers(body, headers)
    if signature is None:
        raise BadRequestError("Internal request missing required signature")
    if signature.algorithm not in accepted_algorithms:
        raise BadRequestError(
            f"This worker does not support the '{signature.algorithm}' key signing algorithm used by other "
            f"workers. This worker is currently configured to use: [{', '.join(accepted_algorithms)}]. Check "
            "that all workers' configuration files permit the same set of signature algorithms, and correct any "
            "misconfigured worker and restart it."
        )
    if session_key is None:
        raise RestError(
            503,
            "This worker is still starting up and has not been able to read a session key from the config "
            "topic yet",
        )
    if not signature.is_valid(session_key):
        raise RestError(403, "Internal request contained invalid signature.")
