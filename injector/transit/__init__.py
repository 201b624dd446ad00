"""An OpenBao/Vault Transit key as the issuer's signing key, so that it never exists as a file.

- `settings`: the signer's own DynamicCredentialTransit* settings (no HTTP client);
- `client`: the two Transit calls (read the key's public part, sign digests), with httpx,
  imported only when the Transit settings are set.

`injector signer` signs through it (injector.signer.transit_backend); `jwks`, `discovery`,
`publish` and `serve` publish the same key's public part (injector.issuer.keyset).
"""

__all__ = ["client", "settings"]
