"""The issuer as a cloud sees it when it checks a token: `iss`, the discovery document at
`<iss>/.well-known/openid-configuration`, and the JWKS its `jwks_uri` names. `injector verify`
and `doctor` print these lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from injector.clouds.rules import ISSUER, ISSUER_FORM, CloudRules
from injector.diagnostics import checks
from injector.diagnostics.checks import Line
from injector.diagnostics.fetch import Document, Fetcher, FetchError
from injector.issuer.discovery import DISCOVERY_PATH


@dataclass(frozen=True)
class IssuerDocuments:
    issuer: str
    discovery: dict[str, Any]
    jwks_uri: str
    keys: list[dict[str, Any]]


def check(
    issuer: object, fetcher: Fetcher, rules: CloudRules
) -> tuple[list[Line], IssuerDocuments | None]:
    """The lines for `iss`, its discovery document and its JWKS, and the documents when all of
    them could be had."""
    lines: list[Line] = []
    code = rules.code(ISSUER)
    if not isinstance(issuer, str) or not issuer:
        return [checks.fail("iss", "the token has no iss claim", rules.code(ISSUER_FORM))], None
    parts = urlsplit(issuer)
    if parts.scheme != "https" or not parts.netloc:
        lines.append(
            checks.fail(
                "iss",
                f"{issuer!r} is not an https:// URL: clouds fetch the issuer's keys over HTTPS",
                rules.code(ISSUER_FORM),
            )
        )
        return lines, None
    if issuer.endswith("/") or parts.query or parts.fragment:
        lines.append(
            checks.fail(
                "iss",
                f"{issuer!r} ends with '/' or has a query: clouds append {DISCOVERY_PATH} to it "
                "and compare it byte for byte with the registered issuer",
                rules.code(ISSUER_FORM),
            )
        )
        return lines, None
    lines.append(checks.ok("iss", issuer))

    discovery_url = issuer + DISCOVERY_PATH
    try:
        discovery = fetcher.json(discovery_url)
    except FetchError as error:
        lines.append(_fetch_failure("discovery", error, fetcher, rules))
        return lines, None
    lines.append(_fetched("discovery", discovery, "200, JSON"))

    named = discovery.body.get("issuer")
    if named != issuer:
        lines.append(
            checks.fail(
                "discovery.issuer",
                f"the discovery document names issuer {named!r}, the token's iss is {issuer!r}: "
                "they must be identical (OpenID Connect Discovery 4.3)",
                code,
            )
        )
        return lines, None
    lines.append(checks.ok("discovery.issuer", "equals iss"))

    jwks_uri = discovery.body.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not jwks_uri:
        lines.append(checks.fail("jwks_uri", "the discovery document has no jwks_uri", code))
        return lines, None
    if urlsplit(jwks_uri).scheme != "https":
        lines.append(
            checks.fail("jwks_uri", f"{jwks_uri} is not https: clouds fetch keys over HTTPS", code)
        )
        return lines, None
    lines.append(checks.ok("jwks_uri", jwks_uri))

    try:
        jwks = fetcher.json(jwks_uri)
    except FetchError as error:
        lines.append(_fetch_failure("jwks", error, fetcher, rules))
        return lines, None
    keys = jwks.body.get("keys")
    if not isinstance(keys, list) or not all(isinstance(key, dict) for key in keys):
        lines.append(checks.fail("jwks", f"{jwks_uri} holds no 'keys' list of objects", code))
        return lines, None
    kids = ", ".join(str(key.get("kid")) for key in keys) or "none"
    lines.append(_fetched("jwks", jwks, f"{len(keys)} key(s), kid: {kids}"))
    return lines, IssuerDocuments(issuer, discovery.body, jwks_uri, keys)


def _fetched(rule: str, document: Document, summary: str) -> Line:
    """ok, or a warning when the document came through a redirect or not as JSON: what a
    browser forgives, a cloud's fetcher may not."""
    doubts = []
    if document.final_url != document.url:
        doubts.append(
            f"redirected to {document.final_url}: serve it at the URL itself, a cloud may not "
            "follow redirects"
        )
    if not document.content_type.lower().startswith("application/json"):
        doubts.append(f"served as {document.content_type or 'no type'}, not application/json")
    if doubts:
        return checks.warn(rule, f"GET {document.url}: {summary}; " + "; ".join(doubts))
    return checks.ok(rule, f"GET {document.url}: {summary}")


def _fetch_failure(rule: str, error: FetchError, fetcher: Fetcher, rules: CloudRules) -> Line:
    code = rules.code(ISSUER)
    if error.kind == "tls":
        return checks.fail(
            "tls",
            f"{error.url}: {error.reason} (trusting {fetcher.trust.source}; for a private CA "
            f"pass --ca-bundle; what the clouds trust: {rules.trust_note()})",
            code,
        )
    return checks.fail(rule, f"GET {error.url}: {error.reason}", code)
