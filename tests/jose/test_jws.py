"""The hand-written JWS signer, checked against two independent implementations."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jws as jose_jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import RSAKey

from injector.jose import jws
from tests.conftest import KeyFiles


@pytest.fixture(scope="module")
def private_key(key_files: KeyFiles) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(key_files.private_pkcs8.read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


HEADER: dict[str, object] = {
    "kid": "03446895-220d-47e1-9564-4eeaa3691b42",
    "alg": "RS256",
    "typ": "JWT",
}
CLAIMS: dict[str, object] = {
    "sub": "organization:simple:workspace:simple-cli",
    "aud": "aws.workload.identity",
    "unicode": "équipe ✓ 𝄞",
    "quotes": "\"'\\/",
    "iat": 1700000000,
    "nested": {"b": [1, 2.5, None, True], "a": "x"},
}


def _decode_segment(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


@pytest.mark.parametrize(
    ("data", "encoded"),
    [
        (b"", ""),
        (b"f", "Zg"),
        (b"fo", "Zm8"),
        (b"foo", "Zm9v"),
        (b"\xfb\xff\xfe", "-__-"),
        (b"\xff\xff\xbe", "__--"),
    ],
)
def test_b64url_without_padding(data: bytes, encoded: str) -> None:
    assert jws.b64url(data) == encoded


def test_b64url_never_pads_or_uses_standard_alphabet() -> None:
    for length in range(40):
        text = jws.b64url(bytes(range(256 - length, 256)))
        assert "=" not in text
        assert "+" not in text
        assert "/" not in text


def test_compact_form(private_key: rsa.RSAPrivateKey) -> None:
    token = jws.sign(HEADER, CLAIMS, private_key)
    segments = token.split(".")
    assert len(segments) == 3
    assert all(segments)
    assert "=" not in token
    assert len(_decode_segment(segments[2])) == 256  # RSA-2048 signature


def test_header_and_payload_decode_to_what_was_given(private_key: rsa.RSAPrivateKey) -> None:
    header, payload, _ = jws.sign(HEADER, CLAIMS, private_key).split(".")
    decoded_header = json.loads(_decode_segment(header))
    decoded_payload = json.loads(_decode_segment(payload))
    # Same keys, same values, same order.
    assert list(decoded_header.items()) == list(HEADER.items())
    assert list(decoded_payload.items()) == list(CLAIMS.items())


@pytest.mark.parametrize("algorithm", ["RS256", "RS384", "RS512"])
def test_verifies_with_pyjwt(
    private_key: rsa.RSAPrivateKey, key_files: KeyFiles, algorithm: str
) -> None:
    token = jws.sign({**HEADER, "alg": algorithm}, CLAIMS, private_key)
    public_key = key_files.public.read_bytes()  # pyjwt loads PEM itself
    decoded = jwt.PyJWS().decode_complete(token, public_key, algorithms=[algorithm])
    assert decoded["header"] == {**HEADER, "alg": algorithm}
    assert json.loads(decoded["payload"]) == CLAIMS
    claims = jwt.decode(token, public_key, algorithms=[algorithm], options={"verify_aud": False})
    assert claims == CLAIMS


@pytest.mark.parametrize("algorithm", ["RS256", "RS384", "RS512"])
def test_verifies_with_joserfc(
    private_key: rsa.RSAPrivateKey, key_files: KeyFiles, algorithm: str
) -> None:
    token = jws.sign({**HEADER, "alg": algorithm}, CLAIMS, private_key)
    public = RSAKey.import_key(key_files.public.read_bytes())
    verified = jose_jws.deserialize_compact(token, public, algorithms=[algorithm])
    assert verified.headers() == {**HEADER, "alg": algorithm}
    assert json.loads(verified.payload) == CLAIMS


def test_tampered_token_does_not_verify(
    private_key: rsa.RSAPrivateKey, key_files: KeyFiles
) -> None:
    header, _, signature = jws.sign(HEADER, CLAIMS, private_key).split(".")
    forged_payload = jws.b64url(json.dumps({**CLAIMS, "sub": "organization:evil"}).encode())
    forged = f"{header}.{forged_payload}.{signature}"
    public_key = key_files.public.read_bytes()  # pyjwt loads PEM itself
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.PyJWS().decode_complete(forged, public_key, algorithms=["RS256"])
    with pytest.raises(BadSignatureError):
        jose_jws.deserialize_compact(
            forged, RSAKey.import_key(key_files.public.read_bytes()), algorithms=["RS256"]
        )


def test_other_key_does_not_verify(private_key: rsa.RSAPrivateKey, key_files: KeyFiles) -> None:
    token = jws.sign(HEADER, CLAIMS, private_key)
    other = key_files.other_public.read_bytes()  # pyjwt loads PEM itself
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.PyJWS().decode_complete(token, other, algorithms=["RS256"])


@pytest.mark.parametrize("algorithm", ["none", "HS256", "rs256", "RS1", ""])
def test_unsupported_algorithm_raises(private_key: rsa.RSAPrivateKey, algorithm: str) -> None:
    with pytest.raises(ValueError, match="unsupported") as error:
        jws.sign({**HEADER, "alg": algorithm}, CLAIMS, private_key)
    assert repr(algorithm) in str(error.value)


def test_signature_is_deterministic_for_rs256(private_key: rsa.RSAPrivateKey) -> None:
    # PKCS#1 v1.5 has no randomness: same input, same token (PSS would differ each time).
    assert jws.sign(HEADER, CLAIMS, private_key) == jws.sign(HEADER, CLAIMS, private_key)
