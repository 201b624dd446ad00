"""JWS compact serialization (RFC 7515) signed with `cryptography`.

Written here instead of calling pyjwt or joserfc because importing either one loads
`cryptography.x509`, `urllib.request`, `http.client` and `ssl`: measured at about 80 ms added to
every hook call, more than the whole floor of importing the RSA primitives and signing (`make
bench` shows the ratio). Tokens are verified with pyjwt and joserfc in the tests, so the
signing code here is checked by two independent implementations.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Mapping

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from injector.jose import algorithms

_RSA_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "RS256": hashes.SHA256,
    "RS384": hashes.SHA384,
    "RS512": hashes.SHA512,
}
_EC_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"ES256": hashes.SHA256}
# Bytes of each of r and s in the JWS signature (RFC 7518 section 3.4).
_EC_SIZES = {"ES256": 32}
assert tuple(_RSA_HASHES) == algorithms.RSA_ALGORITHMS  # noqa: S101 (one list of names)
assert tuple(_EC_HASHES) == algorithms.EC_ALGORITHMS  # noqa: S101


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# One encoder for every token: `json.dumps` with separators builds a new one on each call, which
# cost more than the ES256 signature itself (`make bench`).
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))
# Per algorithm, the padding or signature scheme objects, made once.
_RSA_PADDING = padding.PKCS1v15()
_RSA_HASH = {name: hash_type() for name, hash_type in _RSA_HASHES.items()}


@functools.cache
def _ecdsa(algorithm: str) -> ec.ECDSA:
    # Made on first use, not at import: cryptography's ECDSA() loads its OpenSSL backend module
    # (about 2 ms), which an RS256 job never needs.
    return ec.ECDSA(_EC_HASHES[algorithm]())


def _segment(document: Mapping[str, object]) -> str:
    return b64url(_COMPACT_JSON.encode(document).encode("utf-8"))


@functools.lru_cache(maxsize=64)
def _header_segment(header: tuple[tuple[str, object], ...]) -> str:
    # The header is the same for every token of a key: encode it once.
    return _segment(dict(header))


def to_sign(header: Mapping[str, object], claims: Mapping[str, object]) -> bytes:
    """The JWS signing input, `header.claims` in base64url: what the signature covers."""
    return f"{_header_segment(tuple(header.items()))}.{_segment(claims)}".encode("ascii")


def sign(
    header: Mapping[str, object],
    claims: Mapping[str, object],
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
) -> str:
    """`header.claims.signature`, signed with the algorithm the header names.

    Raises ValueError when the algorithm is unknown or does not fit the key's type.
    """
    algorithm = str(header["alg"])
    signing_input = to_sign(header, claims)
    if algorithm in _RSA_HASHES and isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(signing_input, _RSA_PADDING, _RSA_HASH[algorithm])
    elif algorithm in _EC_HASHES and isinstance(key, ec.EllipticCurvePrivateKey):
        # cryptography returns DER; JWS wants r || s, each left-padded to the curve's size.
        r, s = decode_dss_signature(key.sign(signing_input, _ecdsa(algorithm)))
        size = _EC_SIZES[algorithm]
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    else:
        raise ValueError(f"unsupported JWS algorithm {algorithm!r} for a {type(key).__name__}")
    return f"{signing_input.decode('ascii')}.{b64url(signature)}"
