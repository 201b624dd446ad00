"""The JWS algorithms injector signs with (RFC 7518), by name: the settings, the key checks and
the signer read them here without loading the signing code."""

from __future__ import annotations

# RSASSA-PKCS1-v1_5 with SHA-2 (RFC 7518 section 3.3).
RSA_ALGORITHMS = ("RS256", "RS384", "RS512")
# ES256 only: P-256 is the one curve every cloud accepts.
EC_ALGORITHMS = ("ES256",)
ALGORITHMS = RSA_ALGORITHMS + EC_ALGORITHMS
DEFAULT = "RS256"
# Every JWS signature algorithm a verifier may accept (RFC 7518 section 3.1, RFC 8037's EdDSA):
# what a cloud that names no algorithms of its own is assumed to take.
ANY_VERIFIER = (
    "RS256",
    "RS384",
    "RS512",
    "ES256",
    "ES384",
    "ES512",
    "PS256",
    "PS384",
    "PS512",
    "EdDSA",
)
