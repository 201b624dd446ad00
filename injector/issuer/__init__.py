"""The issuer side: what the clouds fetch to verify a token, from the issuer settings and keys
alone (no job context, no cloud).

- `keyset`: the published keys (the signing key's public half, rotation keys, a Transit key);
- `discovery`: the OpenID configuration and the JWKS, rendered once to the bytes every command
  emits;
- `keygen`: a new key pair and a fresh `kid`;
- `publish`: the documents as files for a static host;
- `app`, `server`: the ASGI app and `injector serve` (Granian, imported only there).
"""

__all__ = ["app", "discovery", "keygen", "keyset", "publish", "server"]
