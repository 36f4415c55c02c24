"""Signed internal requests: the headers a worker sends and the 400/403/503 answers of the receiving worker."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from kcfast.errors import BadRequestError, RestError
from kcfast.runtime.distributed.signing import (
    SIGNATURE_ALGORITHM_HEADER,
    SIGNATURE_HEADER,
    InternalRequestSignature,
    generate_key,
    signature_headers,
    verify_request,
)

KEY = bytes(range(32))
BODY = b'[{"task.class":"org.example.Task","topic":"t"}]'


def test_headers_carry_the_base64_hmac_of_the_exact_body() -> None:
    headers = signature_headers(KEY, BODY)
    expected = base64.b64encode(hmac.new(KEY, BODY, hashlib.sha256).digest()).decode()
    assert headers == {SIGNATURE_HEADER: expected, SIGNATURE_ALGORITHM_HEADER: "HmacSHA256"}
    sha512 = signature_headers(KEY, BODY, "HmacSHA512")
    assert base64.b64decode(sha512[SIGNATURE_HEADER]) == hmac.new(KEY, BODY, hashlib.sha512).digest()


def test_generated_keys_have_the_jdk_default_sizes() -> None:
    assert len(generate_key("HmacSHA256")) == 32
    assert len(generate_key("HmacSHA256", 128)) == 16
    assert generate_key() != generate_key()
    with pytest.raises(ValueError, match="Algorithm HmacFoo not available"):
        generate_key("HmacFoo")


def test_a_correctly_signed_request_is_accepted_with_any_header_case() -> None:
    headers = {k.lower(): v for k, v in signature_headers(KEY, BODY).items()}
    verify_request(BODY, headers, KEY, ["HmacSHA256"])
    signature = InternalRequestSignature.from_headers(BODY, headers)
    assert signature is not None and signature.is_valid(KEY) and not signature.is_valid(bytes(32))


def test_missing_signature_is_400() -> None:
    with pytest.raises(BadRequestError, match="^Internal request missing required signature$"):
        verify_request(BODY, {}, KEY, ["HmacSHA256"])
    only_algorithm = {SIGNATURE_ALGORITHM_HEADER: "HmacSHA256"}
    with pytest.raises(BadRequestError, match="missing required signature"):
        verify_request(BODY, only_algorithm, KEY, ["HmacSHA256"])


def test_unknown_or_unaccepted_algorithm_is_400() -> None:
    unknown = {**signature_headers(KEY, BODY), SIGNATURE_ALGORITHM_HEADER: "HmacFoo"}
    with pytest.raises(BadRequestError, match="^Algorithm HmacFoo not available$"):
        verify_request(BODY, unknown, KEY, ["HmacSHA256"])
    sha1 = signature_headers(KEY, BODY, "HmacSHA1")
    with pytest.raises(BadRequestError) as info:
        verify_request(BODY, sha1, KEY, ["HmacSHA256"])
    assert str(info.value).startswith(
        "This worker does not support the 'HmacSHA1' key signing algorithm used by other workers. This worker is "
        "currently configured to use: [HmacSHA256]."
    )
    verify_request(BODY, sha1, KEY, ["HmacSHA256", "HmacSHA1"])


def test_no_session_key_yet_is_503_and_a_wrong_mac_is_403() -> None:
    headers = signature_headers(KEY, BODY)
    with pytest.raises(RestError) as starting:
        verify_request(BODY, headers, None, ["HmacSHA256"])
    assert starting.value.status == 503
    assert starting.value.message == (
        "This worker is still starting up and has not been able to read a session key from the config topic yet"
    )
    for body, key in ((BODY + b" ", KEY), (BODY, bytes(32))):
        with pytest.raises(RestError) as forbidden:
            verify_request(body, headers, key, ["HmacSHA256"])
        assert (forbidden.value.status, forbidden.value.message) == (
            403,
            "Internal request contained invalid signature.",
        )


def test_signature_that_is_not_base64_is_400() -> None:
    headers = {SIGNATURE_HEADER: "not base64!", SIGNATURE_ALGORITHM_HEADER: "HmacSHA256"}
    with pytest.raises(BadRequestError, match="Illegal base64"):
        verify_request(BODY, headers, KEY, ["HmacSHA256"])
