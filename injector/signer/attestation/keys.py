"""A platform's signing keys: its discovery document and JWKS, fetched with the same hardened
fetch as `doctor` (https only, a size cap, one deadline per document, no redirect off https),
kept for an hour, and fetched again when a token names a `kid` the set lacks, at most once a
minute, so a stream of made-up `kid`s cannot turn the signer into a fetch loop.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from injector.signer.attestation import fetching

DISCOVERY_PATH = "/.well-known/openid-configuration"
# Each document must be had within this; two documents at most per refresh, so a refresh ends
# within the signer's deadline for one request (5 s on the socket).
FETCH_SECONDS = 2.0
# Keys rotate: a removed key stops being trusted within this.
KEEP_SECONDS = 3600.0
# The least time between two fetches caused by unknown `kid`s.
REFRESH_SECONDS = 60.0


class Unavailable(Exception):
    """The platform's keys cannot be had now (an answer of 503, not the token's fault)."""


class UnknownKey(Exception):
    """The token names a key the platform does not publish."""


@dataclass(frozen=True)
class Trust:
    context: ssl.SSLContext
    source: str


def trust(ca_bundle: Path | None) -> Trust:
    """The public CAs, plus `ca_bundle` for a platform behind a private CA. ValueError when the
    bundle cannot be loaded (the policy reports it at start)."""
    import certifi

    context = ssl.create_default_context(cafile=certifi.where())
    if ca_bundle is None:
        return Trust(context, "the public CAs of certifi")
    try:
        context.load_verify_locations(cafile=str(ca_bundle))
    except (OSError, ssl.SSLError) as error:
        raise ValueError(f"cannot load CA certificates from {ca_bundle}: {error}") from None
    return Trust(context, f"{ca_bundle} and the public CAs")


class KeySet:
    """The keys of one issuer, looked up by `kid`; safe to share between threads."""

    def __init__(
        self,
        issuer: str,
        jwks_uri: str | None,
        trusted: Trust,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = FETCH_SECONDS,
    ) -> None:
        self.issuer, self._jwks_uri, self._trust, self._clock = issuer, jwks_uri, trusted, clock
        self._timeout = timeout
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0  # how many times the documents were fetched (tests, the audit)

    def key(self, kid: str, algorithm: str) -> jwt.PyJWK:
        """The key `kid` for `algorithm`. Raises UnknownKey, or Unavailable when the documents
        cannot be fetched (or hold no key set)."""
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= KEEP_SECONDS
            may_refresh = self._fetched_at is None or now - self._fetched_at >= REFRESH_SECONDS
            if stale or (kid not in self._keys and may_refresh):
                self._keys = self._fetch()
                self._fetched_at = now
            found = self._keys.get(kid)
        if found is None or (found.algorithm_name != algorithm):
            raise UnknownKey(f"the issuer {self.issuer} publishes no {algorithm} key {kid!r}")
        return found

    def _fetch(self) -> dict[str, jwt.PyJWK]:
        self.fetches += 1
        try:
            fetch = fetching.module()
            trusted = fetch.Trust(self._trust.context, self._trust.source)
            with fetch.Fetcher(trusted, self._timeout) as fetcher:
                jwks_uri = self._jwks_uri or self._discover(fetcher)
                document = fetcher.json(jwks_uri).body
        except fetching.module().FetchError as error:
            raise Unavailable(f"the keys of {self.issuer} cannot be fetched: {error}") from None
        listed = document.get("keys")
        if not isinstance(listed, list):
            raise Unavailable(f"{jwks_uri} holds no 'keys' list")
        return dict(pair for pair in map(_usable, listed) if pair is not None)

    def _discover(self, fetcher: Any) -> str:
        discovery = fetcher.json(self.issuer.rstrip("/") + DISCOVERY_PATH).body
        # OpenID Connect Discovery 1.0 §4.3: the document speaks for exactly this issuer.
        if discovery.get("issuer") != self.issuer:
            raise Unavailable(
                f"the discovery document of {self.issuer} names issuer {discovery.get('issuer')!r}"
            )
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise Unavailable(f"the discovery document of {self.issuer} has no jwks_uri")
        return jwks_uri


def _usable(item: Any) -> tuple[str, jwt.PyJWK] | None:
    """A signing key with a `kid` that pyjwt can use; None for anything else (an encryption
    key, a symmetric key, a malformed entry)."""
    if not isinstance(item, dict) or item.get("use", "sig") != "sig":
        return None
    kid = item.get("kid")
    if not isinstance(kid, str) or item.get("kty") not in ("RSA", "EC", "OKP"):
        return None
    algorithm = item.get("alg")
    if algorithm is None:
        algorithm = {"RSA": "RS256", "EC": _ec_algorithm(item), "OKP": "EdDSA"}[item["kty"]]
    try:
        return kid, jwt.PyJWK.from_dict(item, algorithm=algorithm)
    except (jwt.PyJWTError, ValueError, KeyError, TypeError):
        return None


def _ec_algorithm(item: dict[str, Any]) -> str:
    return {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}.get(item.get("crv", ""), "ES256")
