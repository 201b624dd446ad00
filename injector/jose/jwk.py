"""Public keys as JSON Web Keys (RFC 7517), encoded exactly as RFC 7518 section 6 demands.

The slips this guards against are the ones that make every cloud answer "InvalidIdentityToken":
a `=`-padded value, or a modulus with a leading zero octet (what a signed big-integer encoding,
such as Java's `BigInteger.toByteArray`, produces whenever the top bit is set). RSA `n` and `e`
are the minimal unsigned big-endian octets; EC `x` and `y` are the full coordinate size, leading
zeros kept (section 6.2.1.2).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from injector.jose.jws import b64url

# Octets of one coordinate per curve, and the curve's JWK name (RFC 7518 section 6.2.1.1).
_CURVES: dict[str, tuple[str, int]] = {"secp256r1": ("P-256", 32)}


def uint(value: int) -> str:
    """base64url of a non-negative integer as its shortest big-endian octets (at least one)."""
    if value < 0:
        raise ValueError("a JWK integer is unsigned")
    return b64url(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def coordinate(value: int, size: int) -> str:
    """base64url of an EC coordinate as exactly `size` octets."""
    return b64url(value.to_bytes(size, "big"))


def public_jwk(
    key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey, key_id: str, algorithm: str
) -> dict[str, str]:
    """The JWK of a public key, in the field order of Terrakube's documents.

    Raises ValueError for a curve other than P-256 (nothing else is signed with here).
    """
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "n": uint(numbers.n),
            "e": uint(numbers.e),
            "kid": key_id,
            "alg": algorithm,
        }
    if key.curve.name not in _CURVES:
        raise ValueError(f"no JWK encoding for curve {key.curve.name}")
    name, size = _CURVES[key.curve.name]
    point = key.public_numbers()
    return {
        "kty": "EC",
        "use": "sig",
        "crv": name,
        "x": coordinate(point.x, size),
        "y": coordinate(point.y, size),
        "kid": key_id,
        "alg": algorithm,
    }
