"""The JWS algorithms injector signs with (RFC 7518), by name: the settings, the key checks and
the signer read them here without loading the signing code."""

from __future__ import annotations

# RSASSA-PKCS1-v1_5 with SHA-2 (RFC 7518 section 3.3).
RSA_ALGORITHMS = ("RS256", "RS384", "RS512")
# ES256 only: P-256 is the one curve every cloud accepts.
EC_ALGORITHMS = ("ES256",)
ALGORITHMS = RSA_ALGORITHMS + EC_ALGORITHMS
DEFAULT = "RS256"
