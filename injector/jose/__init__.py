"""JOSE, as injector signs and publishes it, with `cryptography` only (the tests verify every
token with pyjwt and joserfc).

- `algorithms`: the algorithm names, without loading any signing code;
- `jws`: compact serialization and signing (RS256/384/512, ES256);
- `jwk`: public keys as JSON Web Keys, encoded exactly as RFC 7518 says.
"""

__all__ = ["algorithms", "jwk", "jws"]
