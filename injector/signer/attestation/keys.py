"""A platform's signing keys: its discovery document and JWKS, fetched with the same hardened
fetch as `doctor` (https only, a size cap, one deadline per document, no redirect off https),
kept for an hour, and fetched again when a token names a `kid` the set lacks, at most once a
minute, so a stream of made-up `kid`s cannot turn the signer into a fetch loop.

A `kid` is read before any signature is checked, so anyone who can reach the signer chooses
it. Hence: a failed fetch is remembered and tried again only after RETRY_SECONDS (else, while
the platform is down or slow, every made-up `kid` would cost a fetch); one fetch at a time,
which only requests needing it wait for (`pending`: without holding a thread), and not even
they while the platform is failing; a token whose key is already held never waits.

A set that publishes one `kid` more than once is ambiguous: a verifier that picks by `kid`
(this one, and the platform's other relying parties) cannot say which key was meant, and two
verifiers could pick differently. RFC 7517 §4.5 only asks for distinct `kid`s (SHOULD) and
allows same-`kid` alternatives of different key types; the signer refuses them anyway, per
`kid`: a token naming such a `kid` is "unavailable" (the platform's fault, not the job's, and
fixed by the platform within a refresh), the set's other keys still serve, and a key the
platform removed still stops being trusted with the fetch that no longer lists it.
"""

from __future__ import annotations

import collections
import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from injector.signer.attestation import fetching, pending

log = logging.getLogger("injector")

DISCOVERY_PATH = "/.well-known/openid-configuration"
# Each document must be had within this; two documents at most per refresh, so a refresh ends
# within the signer's deadline for one request (5 s on the socket).
FETCH_SECONDS = 2.0
# Keys rotate: a removed key stops being trusted within this.
KEEP_SECONDS = 3600.0
# The least time between two fetches caused by unknown `kid`s.
REFRESH_SECONDS = 60.0
# The least time between a failed fetch and the next attempt: a platform back up is used again
# within seconds, one that stays down costs one fetch per this many seconds, whatever comes in.
RETRY_SECONDS = 10.0


class Unavailable(Exception):
    """The platform's keys cannot be had now (an answer of 503, not the token's fault)."""


class UnknownKey(Exception):
    """The token names a key the platform does not publish."""


@dataclass(frozen=True)
class Fetched:
    """One fetched JWKS: its usable keys by `kid`, and how many entries name each `kid` that
    more than one entry names (those are never used)."""

    keys: dict[str, jwt.PyJWK]
    ambiguous: dict[str, int]


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
        self._ambiguous: dict[str, int] = {}  # kid: how many entries of the set name it
        self._fetched_at: float | None = None  # when the keys held were fetched
        self._tried_at: float | None = None  # when the last fetch was attempted
        self._failure: str | None = None  # why it failed, if it did
        self._lock = threading.Lock()  # the fields above: held for reads and writes only
        self._fetching = pending.Fetch()  # one at a time
        self.fetches = 0  # how many times the documents were fetched (tests, the audit)

    def key(self, kid: str, algorithm: str) -> jwt.PyJWK:
        """The key `kid` for `algorithm`. Raises UnknownKey, Unavailable when the documents
        cannot be fetched (or hold no key set), or pending.Pending while another request
        fetches them (its runner runs it again once they are in)."""
        found = self._held(kid)
        if found is None:
            with self._lock:
                failure = self._failure
            if not self._fetching.begin():
                # While the platform is failing, one request retries and the others are told
                # at once, rather than each waiting for the retry's deadline.
                if failure is not None:
                    raise Unavailable(failure)
                raise pending.Pending(self._fetching, self.issuer)
            try:
                found = self._held(kid)  # a fetch may have ended since the look-up above
                if found is None and self._due():
                    self._refresh()
                    found = self._held(kid)
            finally:
                self._fetching.end()
        if found is None:
            with self._lock:
                failure, fresh = self._failure, self._fresh(self._clock())
                named = self._ambiguous.get(kid, 0) if fresh else 0
            if failure is not None or not fresh:
                raise Unavailable(failure or f"the keys of {self.issuer} are not fetched yet")
            if named:
                raise Unavailable(_ambiguity(self.issuer, kid, named))
            raise UnknownKey(f"the issuer {self.issuer} publishes no {algorithm} key {kid!r}")
        if found.algorithm_name != algorithm:
            raise UnknownKey(f"the issuer {self.issuer} publishes no {algorithm} key {kid!r}")
        return found

    def _fresh(self, now: float) -> bool:
        return self._fetched_at is not None and now - self._fetched_at < KEEP_SECONDS

    def _held(self, kid: str) -> jwt.PyJWK | None:
        """Key `kid` of a set fetched within KEEP_SECONDS; None otherwise."""
        with self._lock:
            return self._keys.get(kid) if self._fresh(self._clock()) else None

    def _due(self) -> bool:
        """Whether a fetch may be attempted now (the caller has begun `_fetching`)."""
        with self._lock:
            if self._tried_at is None:
                return True
            since = self._clock() - self._tried_at
            if self._failure is not None:
                return since >= RETRY_SECONDS
            return since >= REFRESH_SECONDS or not self._fresh(self._clock())

    def _refresh(self) -> None:
        """Fetch the documents (the caller has begun `_fetching`); Unavailable, also remembered."""
        now = self._clock()
        with self._lock:
            self._tried_at = now
        try:
            fetched = self._fetch()
        except Unavailable as failure:
            with self._lock:
                self._failure = str(failure)
            raise
        for kid, named in fetched.ambiguous.items():
            log.warning("%s; its tokens are refused", _ambiguity(self.issuer, kid, named))
        with self._lock:
            self._keys, self._ambiguous = fetched.keys, fetched.ambiguous
            self._fetched_at, self._failure = now, None

    def _fetch(self) -> Fetched:
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
        return _keys_of(listed)

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


def _keys_of(listed: list[Any]) -> Fetched:
    """The usable keys of a JWKS's `keys`, leaving out every entry of a `kid` that more than
    one entry names, whatever its `alg`, `use` or `kty`, usable or not: a verifier picking by
    `kid` could take any of them."""
    named = collections.Counter(
        item["kid"]
        for item in listed
        if isinstance(item, dict) and isinstance(item.get("kid"), str)
    )
    ambiguous = {kid: count for kid, count in named.items() if count > 1}
    usable = (pair for pair in map(_usable, listed) if pair is not None)
    return Fetched({kid: key for kid, key in usable if kid not in ambiguous}, ambiguous)


def _ambiguity(issuer: str, kid: str, named: int) -> str:
    # The kid is the platform's text: shown quoted and cut, never the keys themselves.
    return f"the issuer {issuer} publishes {named} keys under kid {kid!r:.80}: ambiguous"


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
