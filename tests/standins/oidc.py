"""What each cloud does with a web-identity token before applying its own rules: read it, fetch
the issuer's discovery document and JWKS over HTTPS, find the key by `kid` and check the
signature. Timestamps, audience and subject are each cloud's business (see its stand-in).

The stand-ins fetch the documents on every request: no cache, so a stopped issuer shows at once.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt

DISCOVERY_PATH = "/.well-known/openid-configuration"
FETCH_TIMEOUT_SECONDS = 5


class Rejected(Exception):
    """The token cannot be accepted; `reason` says why, in words a stand-in may show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Malformed(Rejected):
    pass


class IssuerUnreachable(Rejected):
    pass


class MissingKeyId(Rejected):
    pass


class KeyNotFound(Rejected):
    pass


class AlgorithmRefused(Rejected):
    pass


class BadSignature(Rejected):
    pass


@dataclass(frozen=True)
class Unverified:
    """A token's header and claims, read but not yet trusted."""

    compact: str
    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def issuer(self) -> str:
        value = self.claims.get("iss")
        return value if isinstance(value, str) else ""


def read(token: str) -> Unverified:
    """Decode without verifying. Raises Malformed if it is not a compact JWS with a JSON body."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise Malformed(f"not a signed JWT: {error}") from None
    return Unverified(compact=token, header=header, claims=claims)


def integer_claim(token: Unverified, name: str) -> int | None:
    """A NumericDate claim as an integer (RFC 7519 §2), None when absent or of another type."""
    value = token.claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _get_json(url: str, tls: ssl.SSLContext) -> dict[str, Any]:
    if not url.startswith("https://"):
        raise IssuerUnreachable(f"{url} is not an https URL")
    # No proxy from the environment: the issuer is on this machine.
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=tls)
    )
    try:
        with opener.open(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
            document = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise IssuerUnreachable(f"GET {url} answered HTTP {error.code}") from None
    except (OSError, ValueError) as error:
        raise IssuerUnreachable(f"GET {url} failed: {error}") from None
    if not isinstance(document, dict):
        raise IssuerUnreachable(f"GET {url} did not return a JSON object")
    return document


class IssuerKeys:
    """Fetches issuers' keys as a cloud does, trusting the CA of `trust`. Keeps each URL it
    fetched in `fetched`, so tests can tell that a verification really went to the issuer."""

    def __init__(self, trust: ssl.SSLContext) -> None:
        self._trust = trust
        self.fetched: list[str] = []

    def _get(self, url: str) -> dict[str, Any]:
        self.fetched.append(url)
        return _get_json(url, self._trust)

    def jwks(self, issuer: str) -> dict[str, Any]:
        """The issuer's JWKS, found through its discovery document.

        Follows OpenID Connect Discovery 1.0
        (https://openid.net/specs/openid-connect-discovery-1_0.html): the document is at
        `<issuer>/.well-known/openid-configuration` (§4), its `issuer` must be identical to the
        issuer it was fetched for (§4.3), and `jwks_uri` names the key set (§3).
        Raises IssuerUnreachable when a document cannot be fetched or does not fit.
        """
        discovery = self._get(issuer + DISCOVERY_PATH)
        if discovery.get("issuer") != issuer:
            raise IssuerUnreachable(
                f"the discovery document names issuer {discovery.get('issuer')!r}, not {issuer!r}"
            )
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise IssuerUnreachable("the discovery document has no jwks_uri")
        jwks = self._get(jwks_uri)
        if not isinstance(jwks.get("keys"), list):
            raise IssuerUnreachable(f"{jwks_uri} holds no 'keys' list")
        return jwks


def _key_for(jwks: dict[str, Any], kid: str | None, algorithm: str) -> jwt.PyJWK:
    candidates = [
        key
        for key in jwks["keys"]
        if isinstance(key, dict)
        and (kid is None or key.get("kid") == kid)
        and key.get("use", "sig") == "sig"
        and key.get("alg", algorithm) == algorithm
    ]
    if not candidates:
        raise KeyNotFound(f"no signing key with kid {kid!r} in the issuer's JWKS")
    for candidate in candidates:
        try:
            return jwt.PyJWK.from_dict(candidate, algorithm=algorithm)
        except jwt.PyJWTError:
            continue
    raise KeyNotFound(f"the JWKS key with kid {kid!r} is not usable for {algorithm}")


def verify_signature(
    token: Unverified,
    keys: IssuerKeys,
    algorithms: tuple[str, ...],
    *,
    require_kid: bool = True,
) -> None:
    """Check `alg` against `algorithms`, fetch the JWKS of the token's `iss`, find the key by
    `kid` and verify the signature. Returns nothing when all hold.

    Raises AlgorithmRefused, MissingKeyId, IssuerUnreachable, KeyNotFound or BadSignature.
    """
    algorithm = token.header.get("alg")
    if algorithm not in algorithms:
        raise AlgorithmRefused(f"alg {algorithm!r} is not one of {', '.join(algorithms)}")
    kid = token.header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise Malformed("kid is not a string")
    if kid is None and require_kid:
        raise MissingKeyId("the token header has no kid")
    jwks = keys.jwks(token.issuer)
    key = _key_for(jwks, kid, algorithm)
    try:
        jwt.decode(
            token.compact,
            key=key.key,
            algorithms=[algorithm],
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise BadSignature(f"the signature does not verify with the key {kid!r}") from None
    except jwt.PyJWTError as error:
        raise Malformed(f"the token cannot be verified: {error}") from None
