"""`injector verify`: check a token the way AWS STS, Entra ID or Google STS would, and say which
rule fails and what the cloud would answer.

The steps are the clouds' own: read the token, fetch `<iss>/.well-known/openid-configuration`
over HTTPS, check that it names the same issuer, follow its `jwks_uri`, find the key by `kid`,
check the algorithm against what the cloud accepts, verify the signature (with pyjwt: no
signature check is written by hand here), then the times, the audience and the subject.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import jwt

from injector import checks
from injector.checks import Line
from injector.cloud_rules import (
    ALGORITHM,
    ANY,
    AUDIENCE,
    AWS,
    AZURE,
    EXPIRED,
    GCP,
    GOOGLE_AUDIENCE,
    GOOGLE_MAX_SUBJECT_BYTES,
    HOUR,
    ISSUER,
    ISSUER_FORM,
    KEY,
    LIFETIME,
    MALFORMED,
    MINUTE,
    NOT_YET_VALID,
    RULES,
    SIGNATURE,
    SUBJECT,
    CloudRules,
    guess_cloud,
)
from injector.discovery import DISCOVERY_PATH
from injector.errors import ConfigError, InjectorError
from injector.fetch import Document, Fetcher, FetchError


@dataclass(frozen=True)
class Decoded:
    compact: str = field(repr=False)  # the token itself: never printed
    header: dict[str, Any]
    claims: dict[str, Any]


def decode(compact: str) -> Decoded:
    """Header and claims, not verified. Raises jwt.PyJWTError when it is not a compact JWS with
    JSON header and claims."""
    header = jwt.get_unverified_header(compact)
    claims = jwt.decode(compact, options={"verify_signature": False})
    return Decoded(compact=compact, header=header, claims=claims)


@dataclass(frozen=True)
class IssuerDocuments:
    issuer: str
    discovery: dict[str, Any]
    jwks_uri: str
    keys: list[dict[str, Any]]


def issuer_checks(
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
        lines.append(_fetch_failure("discovery", error, fetcher, code))
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
        lines.append(_fetch_failure("jwks", error, fetcher, code))
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


def _fetch_failure(rule: str, error: FetchError, fetcher: Fetcher, code: str | None) -> Line:
    if error.kind == "tls":
        return checks.fail(
            "tls",
            f"{error.url}: {error.reason} (trusting {fetcher.trust.source}; for a private CA "
            "pass --ca-bundle; Entra ID and Google expect a public CA, AWS takes a private "
            "one only through the IAM provider's thumbprint)",
            code,
        )
    return checks.fail(rule, f"GET {error.url}: {error.reason}", code)


def token_checks(
    token: Decoded,
    documents: IssuerDocuments | None,
    rules: CloudRules,
    *,
    expect_sub: str | None = None,
    expect_aud: str | None = None,
    now: float | None = None,
) -> list[Line]:
    """The lines for the algorithm, key, signature, times, audience and subject."""
    moment = time.time() if now is None else now
    return [
        *_algorithm(token, documents, rules),
        *_signature(token, documents, rules),
        *_times(token, rules, moment),
        _audience(token, rules, expect_aud),
        _subject(token, rules, expect_sub),
    ]


def _algorithm(token: Decoded, documents: IssuerDocuments | None, rules: CloudRules) -> list[Line]:
    algorithm = token.header.get("alg")
    lines = []
    if algorithm not in rules.algorithms:
        lines.append(
            checks.fail(
                "alg",
                f"{algorithm!r}: {rules.label} accepts {', '.join(rules.algorithms)} only",
                rules.code(ALGORITHM),
            )
        )
    elif rules is ANY and algorithm not in AZURE.algorithms + GCP.algorithms:
        refusing = [r.label for r in (AZURE, GCP) if algorithm not in r.algorithms]
        lines.append(checks.warn("alg", f"{algorithm}: refused by {' and '.join(refusing)}"))
    else:
        lines.append(checks.ok("alg", f"{algorithm} (accepted by {rules.label})"))
    if documents is not None:
        advertised = documents.discovery.get("id_token_signing_alg_values_supported")
        if isinstance(advertised, list) and algorithm not in advertised:
            lines.append(
                checks.warn(
                    "alg.advertised",
                    f"discovery advertises {', '.join(map(str, advertised))}, not {algorithm}",
                )
            )
        elif isinstance(advertised, list):
            lines.append(checks.ok("alg.advertised", "in id_token_signing_alg_values_supported"))
    return lines


def _signature(token: Decoded, documents: IssuerDocuments | None, rules: CloudRules) -> list[Line]:
    kid = token.header.get("kid")
    algorithm = token.header.get("alg")
    if kid is None and rules.require_kid:
        return [checks.fail("kid", "the token header has no kid", rules.code(KEY))]
    if kid is not None and not isinstance(kid, str):
        return [checks.fail("kid", "the kid in the header is not a string", rules.code(MALFORMED))]
    if documents is None:
        return [
            checks.fail(
                "signature",
                "not verified: the issuer's keys could not be had (see above)",
                rules.code(ISSUER),
            )
        ]
    if not isinstance(algorithm, str) or algorithm not in AWS.algorithms:
        return [
            checks.fail(
                "signature", f"not verified: alg {algorithm!r} is refused", rules.code(ALGORITHM)
            )
        ]
    named = [key for key in documents.keys if kid is None or key.get("kid") == kid]
    if not named:
        present = ", ".join(str(key.get("kid")) for key in documents.keys) or "none"
        return [
            checks.fail(
                "kid",
                f"no key with kid {kid!r} in {documents.jwks_uri} (it holds: {present}): "
                "publish the key before tokens signed with it are used",
                rules.code(KEY),
            )
        ]
    lines = [checks.ok("kid", f"{kid} is in the JWKS" if kid else "no kid: any key may match")]
    usable = [
        key
        for key in named
        if key.get("use", "sig") == "sig" and key.get("alg", algorithm) == algorithm
    ]
    if not usable:
        found = ", ".join(f"use={key.get('use')} alg={key.get('alg')}" for key in named)
        lines.append(
            checks.fail(
                "signature",
                f"the key {kid!r} is published for another use or algorithm ({found}), "
                f"the token is {algorithm}",
                rules.code(KEY),
            )
        )
        return lines
    failure = None
    for key in usable:
        failure = _verify_with(token, key, algorithm)
        if failure is None:
            lines.append(
                checks.ok("signature", f"verifies with the published key {key.get('kid')}")
            )
            return lines
    assert failure is not None  # noqa: S101 (usable is not empty)
    category, reason = failure
    lines.append(checks.fail("signature", reason, rules.code(category)))
    return lines


def _verify_with(token: Decoded, jwk: dict[str, Any], algorithm: str) -> tuple[str, str] | None:
    """None when pyjwt verifies the signature with `jwk`; else the failure and why."""
    kid = jwk.get("kid")
    try:
        key = jwt.PyJWK.from_dict(jwk, algorithm=algorithm)
    except jwt.PyJWTError as error:
        return KEY, f"the published key {kid!r} cannot be used for {algorithm}: {error}"
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
                "verify_sub": False,
                "verify_jti": False,
            },
        )
    except jwt.InvalidSignatureError:
        return SIGNATURE, (
            f"does not verify with the key published as {kid!r}: the token was signed with "
            "another key (the private key and the published public key are not a pair)"
        )
    except jwt.PyJWTError as error:
        return SIGNATURE, f"cannot be verified with the key {kid!r}: {error}"
    return None


def _integer(token: Decoded, name: str) -> int | None:
    value = token.claims.get(name)
    return None if isinstance(value, bool) or not isinstance(value, int) else value


def _span(seconds: float) -> str:
    seconds = abs(int(seconds))
    if seconds < 2 * MINUTE:
        return f"{seconds} s"
    if seconds < 2 * HOUR:
        return f"{seconds // MINUTE} min"
    return f"{seconds / HOUR:.1f} h"


def _times(token: Decoded, rules: CloudRules, now: float) -> list[Line]:
    expires, issued = _integer(token, "exp"), _integer(token, "iat")
    lines = []
    if expires is None:
        lines.append(
            checks.fail("exp", "missing or not an integer (NumericDate)", rules.code(MALFORMED))
        )
    elif expires <= now:
        lines.append(
            checks.fail(
                "exp",
                f"expired {_span(now - expires)} ago: mint a fresh token (or the clock of this "
                "machine or the issuer's is off)",
                rules.code(EXPIRED),
            )
        )
    else:
        lines.append(checks.ok("exp", f"expires in {_span(expires - now)}"))
    if issued is None:
        lines.append(
            checks.fail("iat", "missing or not an integer (NumericDate)", rules.code(MALFORMED))
        )
    elif issued > now + rules.clock_skew_seconds:
        lines.append(
            checks.fail(
                "iat",
                f"issued {_span(issued - now)} in the future: the issuer's clock is ahead",
                rules.code(NOT_YET_VALID),
            )
        )
    else:
        lines.append(checks.ok("iat", f"issued {_span(now - issued)} ago"))
    not_before = _integer(token, "nbf")
    if not_before is not None and not_before > now + rules.clock_skew_seconds:
        lines.append(
            checks.fail(
                "nbf", f"not valid for another {_span(not_before - now)}", rules.code(NOT_YET_VALID)
            )
        )
    if expires is not None and issued is not None:
        lines.append(lifetime(expires - issued, rules))
    return lines


def lifetime(seconds: int, rules: CloudRules, rule: str = "lifetime") -> Line:
    """The line for a token lifetime of `seconds` under the cloud's rules."""
    if seconds <= 0:
        return checks.fail(rule, "exp is not after iat", rules.code(NOT_YET_VALID))
    if rules.max_lifetime_seconds is not None and seconds > rules.max_lifetime_seconds:
        return checks.fail(
            rule,
            f"{_span(seconds)}: {rules.label} refuses tokens that live over "
            f"{_span(rules.max_lifetime_seconds)} (exp - iat)",
            rules.code(LIFETIME),
        )
    if (
        rules.recommended_lifetime_seconds is not None
        and seconds > rules.recommended_lifetime_seconds
    ):
        return checks.warn(
            rule,
            f"{_span(seconds)}: Google recommends at most "
            f"{_span(rules.recommended_lifetime_seconds)}",
        )
    if rules.min_lifetime_seconds is not None and seconds < rules.min_lifetime_seconds:
        return checks.warn(
            rule,
            f"{_span(seconds)}: azure-identity keeps the token file's content up to 10 min, so "
            f"it can present this token after it expired; use at least "
            f"{_span(rules.min_lifetime_seconds)} (DynamicCredentialTtl)",
            rules.code(LIFETIME),
        )
    return checks.ok(rule, _span(seconds))


def _audiences(token: Decoded) -> list[str]:
    value = token.claims.get("aud")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _google_resource(audience: str) -> str | None:
    """The provider resource an audience names, in its `//iam.googleapis.com/...` form, or None
    when it names none."""
    match = GOOGLE_AUDIENCE.fullmatch(audience)
    return audience.removeprefix("https:") if match else None


def _same_audience(audience: str, expected: str, rules: CloudRules) -> bool:
    if rules is GCP and _google_resource(expected) is not None:
        return _google_resource(audience) == _google_resource(expected)
    return audience == expected


def _audience(token: Decoded, rules: CloudRules, expected: str | None) -> Line:
    audiences = _audiences(token)
    code = rules.code(AUDIENCE)
    shown = ", ".join(audiences)
    if not audiences:
        return checks.fail("aud", "missing", code)
    if expected is not None:
        if not any(_same_audience(audience, expected, rules) for audience in audiences):
            return checks.fail("aud", f"{shown!r}, expected {expected!r}", code)
        return checks.ok("aud", f"{shown} (as expected)")
    if rules is GCP and not any(_google_resource(audience) for audience in audiences):
        # With no allowed audiences configured, a provider accepts its own resource name, with
        # or without `https:` (`allowedAudiences` in the IAM API reference of the provider).
        return checks.fail(
            "aud",
            f"{shown!r} is not a provider resource name: Google accepts by default only "
            "https://iam.googleapis.com/projects/<number>/locations/global/"
            "workloadIdentityPools/<pool>/providers/<provider> (or the same without https:); "
            "if the provider lists other allowed audiences, pass --expect-aud",
            code,
        )
    if rules.default_audience and rules.default_audience not in audiences:
        return checks.warn(
            "aud",
            f"{shown!r}: {rules.label} is usually set up with {rules.default_audience!r}; "
            "pass --expect-aud to compare with the trust setting",
        )
    return checks.ok("aud", f"{shown} (not compared: no --expect-aud)")


def _subject(token: Decoded, rules: CloudRules, expected: str | None) -> Line:
    subject = token.claims.get("sub")
    code = rules.code(SUBJECT)
    if not isinstance(subject, str) or not subject:
        return checks.fail("sub", "missing or not a string", code)
    if rules is GCP and len(subject.encode()) > GOOGLE_MAX_SUBJECT_BYTES:
        return checks.fail(
            "sub",
            f"{len(subject.encode())} bytes: google.subject holds at most "
            f"{GOOGLE_MAX_SUBJECT_BYTES}",
            code,
        )
    if expected is not None:
        if subject != expected:
            return checks.fail(
                "sub",
                f"{subject!r}, expected {expected!r}: the trust policy (AWS role condition, "
                "Entra federated credential, Google attribute condition) matches sub exactly",
                code,
            )
        return checks.ok("sub", f"{subject} (as expected)")
    return checks.ok("sub", f"{subject} (not compared: no --expect-sub)")


def check(
    compact: str,
    fetcher: Fetcher,
    *,
    cloud: str | None = None,
    expect_sub: str | None = None,
    expect_aud: str | None = None,
    now: float | None = None,
) -> list[Line]:
    """Every line `injector verify` prints for `compact`."""
    try:
        token = decode(compact)
    except jwt.PyJWTError as error:
        code = RULES[cloud].code(MALFORMED) if cloud else ANY.code(MALFORMED)
        return [checks.fail("token", f"not a signed JWT (header.claims.signature): {error}", code)]
    header = ", ".join(f"{name}={token.header.get(name)}" for name in ("alg", "kid", "typ"))
    lines = [checks.ok("token", f"decoded: {header}")]
    if cloud is not None:
        rules = RULES[cloud]
        lines.append(checks.ok("cloud", f"{cloud} ({rules.label}, from --cloud)"))
    else:
        guessed = guess_cloud(token.claims.get("aud"))
        if guessed is None:
            rules = ANY
            lines.append(
                checks.warn(
                    "cloud",
                    "not told by aud: checked against the rules of all three clouds; "
                    "pass --cloud aws|azure|gcp",
                )
            )
        else:
            rules = guessed
            lines.append(checks.ok("cloud", f"{rules.name} ({rules.label}, from aud)"))
    issuer_lines, documents = issuer_checks(token.claims.get("iss"), fetcher, rules)
    lines += issuer_lines
    lines += token_checks(
        token, documents, rules, expect_sub=expect_sub, expect_aud=expect_aud, now=now
    )
    return lines


def read_token(argument: str | None, file: Path | None, stdin: TextIO) -> str:
    """The token from the argument, `--file` or standard input (when neither, or the argument
    is `-`). Raises ConfigError when both are given, the file cannot be read, or it is empty."""
    if argument is not None and file is not None:
        raise ConfigError.of("usage", "give the token as an argument or with --file, not both")
    if file is not None:
        try:
            text = file.read_text(encoding="ascii", errors="replace")
        except OSError as error:
            raise ConfigError.of("--file", f"cannot read {file}: {error.strerror}") from None
        source = str(file)
    elif argument is not None and argument != "-":
        text, source = argument, "the argument"
    else:
        if stdin.isatty():
            raise ConfigError.of(
                "usage", "expected a token: injector verify TOKEN, --file F, or on stdin"
            )
        text, source = stdin.read(), "stdin"
    text = text.strip()
    if not text:
        raise ConfigError.of("usage", f"no token in {source}")
    return text


def command(
    argument: str | None,
    file: Path | None,
    *,
    cloud: str | None,
    expect_sub: str | None,
    expect_aud: str | None,
    ca_bundle: Path | None,
    env: Mapping[str, str],
) -> int:
    """Print the checklist on stdout; return 0 when no rule failed, 1 otherwise. Raises
    ConfigError (exit 2) for bad usage."""
    from injector import fetch

    compact = read_token(argument, file, sys.stdin)
    trusted = fetch.trust(ca_bundle, env)
    try:
        with Fetcher(trusted) as fetcher:
            lines = check(
                compact, fetcher, cloud=cloud, expect_sub=expect_sub, expect_aud=expect_aud
            )
    except OSError as error:
        raise InjectorError(f"verify failed: {error}") from None
    sys.stdout.write(checks.render(lines))
    return checks.exit_status(lines)
