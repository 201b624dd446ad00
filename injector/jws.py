"""JWS compact serialization (RFC 7515) signed with `cryptography`.

Written here instead of calling pyjwt or joserfc because importing either one loads
`cryptography.x509`, `urllib.request`, `http.client` and `ssl`: measured at about 80 ms added to
every hook call, more than the whole floor of importing the RSA primitives and signing (`make
bench` shows the ratio). Tokens are verified with pyjwt and joserfc in the tests, so the
signing code here is checked by two independent implementations.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

_RSA_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "RS256": hashes.SHA256,
    "RS384": hashes.SHA384,
    "RS512": hashes.SHA512,
}
ALGORITHMS = tuple(_RSA_HASHES)


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(document: Mapping[str, object]) -> str:
    return b64url(json.dumps(document, separators=(",", ":")).encode("utf-8"))


def sign(header: Mapping[str, object], claims: Mapping[str, object], key: rsa.RSAPrivateKey) -> str:
    """`header.claims.signature`, signed with the algorithm the header names."""
    algorithm = header["alg"]
    if algorithm not in _RSA_HASHES:
        raise ValueError(f"unsupported JWS algorithm {algorithm!r}")
    signing_input = f"{_segment(header)}.{_segment(claims)}".encode("ascii")
    signature = key.sign(signing_input, padding.PKCS1v15(), _RSA_HASHES[str(algorithm)]())
    return f"{signing_input.decode('ascii')}.{b64url(signature)}"
