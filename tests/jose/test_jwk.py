"""JWK encoding (RFC 7518 section 6): exact round trips, no padding, no leading zero octets."""

from __future__ import annotations

import base64
import re

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given
from hypothesis import strategies as st
from joserfc.jwk import ECKey, RSAKey

from injector.jose import jwk

BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


def _decode(value: str) -> bytes:
    """base64url without padding, refusing anything else."""
    assert BASE64URL.fullmatch(value), value
    assert len(value) % 4 != 1
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


# Mostly the size operators use, plus sizes that leave the top octet partly empty.
RSA_SIZES = [2048] * 40 + [2049, 2050, 2052, 2055, 2057, 2060, 2063, 2065, 2071, 2073]


@pytest.mark.parametrize("bits", RSA_SIZES)
def test_fresh_rsa_moduli_round_trip_exactly(bits: int) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    numbers = key.public_numbers()
    document = jwk.public_jwk(key, "kid-1", "RS256")
    assert list(document) == ["kty", "use", "n", "e", "kid", "alg"]
    n = _decode(document["n"])
    assert n[0] != 0, "leading zero octet in n"
    # OpenSSL may make an odd-sized modulus one bit shorter than asked: the shortest octets.
    assert len(n) == (numbers.n.bit_length() + 7) // 8
    assert int.from_bytes(n, "big") == numbers.n
    assert document["e"] == "AQAB"
    assert "=" not in document["n"]
    # Two independent parsers read back the same key.
    assert RSAKey.import_key({**document}).as_dict()["n"] == document["n"]
    parsed = jwt.PyJWK.from_dict(document).key
    assert isinstance(parsed, rsa.RSAPublicKey)
    assert parsed.public_numbers() == numbers


def test_rsa_jwk_fields() -> None:
    key = rsa.generate_private_key(public_exponent=3, key_size=2048).public_key()
    document = jwk.public_jwk(key, "my-kid", "RS512")
    assert document["kty"] == "RSA"
    assert document["use"] == "sig"
    assert document["kid"] == "my-kid"
    assert document["alg"] == "RS512"
    assert document["e"] == "Aw"


def _p256_key_with_a_short_coordinate() -> ec.EllipticCurvePublicKey:
    """A key whose x or y is below 2**248, so its minimal encoding would be 31 octets: about one
    key in 128, so a few hundred tries find one."""
    for _ in range(20_000):
        key = ec.generate_private_key(ec.SECP256R1()).public_key()
        point = key.public_numbers()
        if point.x < 2**248 or point.y < 2**248:
            return key
    raise AssertionError("no P-256 key with a leading zero coordinate octet in 20000 tries")


@pytest.mark.parametrize("index", range(25))
def test_fresh_p256_keys_round_trip(index: int) -> None:
    key = (
        _p256_key_with_a_short_coordinate()
        if index == 0
        else ec.generate_private_key(ec.SECP256R1()).public_key()
    )
    point = key.public_numbers()
    document = jwk.public_jwk(key, f"ec-{index}", "ES256")
    assert list(document) == ["kty", "use", "crv", "x", "y", "kid", "alg"]
    assert document["kty"] == "EC"
    assert document["crv"] == "P-256"
    x, y = _decode(document["x"]), _decode(document["y"])
    # Fixed length: leading zeros kept (section 6.2.1.2), unlike RSA's n.
    assert len(x) == len(y) == 32
    assert (int.from_bytes(x, "big"), int.from_bytes(y, "big")) == (point.x, point.y)
    assert ECKey.import_key({**document}).as_dict()["x"] == document["x"]
    parsed = jwt.PyJWK.from_dict(document).key
    assert isinstance(parsed, ec.EllipticCurvePublicKey)
    assert parsed.public_numbers() == point


def test_other_curves_are_refused() -> None:
    key = ec.generate_private_key(ec.SECP384R1()).public_key()
    with pytest.raises(ValueError, match="secp384r1"):
        jwk.public_jwk(key, "kid", "ES384")


@given(st.integers(min_value=0, max_value=2**4100))
def test_uint_is_minimal_and_exact(value: int) -> None:
    octets = _decode(jwk.uint(value))
    assert int.from_bytes(octets, "big") == value
    assert len(octets) == max(1, (value.bit_length() + 7) // 8)


def test_uint_edges() -> None:
    assert jwk.uint(0) == "AA"
    assert jwk.uint(255) == "_w"
    assert jwk.uint(256) == "AQA"
    assert jwk.uint(65537) == "AQAB"
    with pytest.raises(ValueError, match="unsigned"):
        jwk.uint(-1)
