"""The token as a cloud checks it once it has the issuer's keys: algorithm, `kid`, signature
(verified with pyjwt: no signature check is written by hand here), times, audience, subject.
Each cloud's facts come from its `CloudRules`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import jwt

from injector import clouds
from injector.clouds.rules import (
    ALGORITHM,
    AUDIENCE,
    CLAIM,
    ISSUER,
    KEY,
    MALFORMED,
    SIGNATURE,
    SIZE,
    SUBJECT,
    CloudRules,
)
from injector.diagnostics import checks, time_checks
from injector.diagnostics.checks import Line
from injector.diagnostics.issuer_checks import IssuerDocuments


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


def check(
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
        *_size(token, rules),
        *_algorithm(token, documents, rules),
        *_signature(token, documents, rules),
        *time_checks.check(token.claims, rules, moment),
        _audience(token, rules, expect_aud),
        _subject(token, rules, expect_sub),
        *_required_claims(token, rules),
    ]


def _required_claims(token: Decoded, rules: CloudRules) -> list[Line]:
    """A line per claim the cloud requires (Vault's user_claim): present and a non-empty
    string, or the cloud refuses the token."""
    lines = []
    for name, why in rules.checks.required_claims.items():
        value = token.claims.get(name)
        if isinstance(value, str) and value:
            lines.append(checks.ok(f"claim.{name}", f"{value!r}"))
        else:
            lines.append(
                checks.fail(f"claim.{name}", f"missing or not a string: {why}", rules.code(CLAIM))
            )
    return lines


def _size(token: Decoded, rules: CloudRules) -> list[Line]:
    """A FAIL line when the token is longer than the cloud takes; nothing when it has no limit."""
    limit = rules.checks.max_token_bytes
    if limit is None:
        return []
    size = len(token.compact.encode())
    if size > limit:
        return [
            checks.fail(
                "size",
                f"{size} bytes: {rules.label} takes tokens of at most {limit}",
                rules.code(SIZE),
            )
        ]
    return [checks.ok("size", f"{size} bytes (at most {limit})")]


def _algorithm(token: Decoded, documents: IssuerDocuments | None, rules: CloudRules) -> list[Line]:
    algorithm = token.header.get("alg")
    lines = []
    refusing = rules.refusing(str(algorithm))
    if algorithm not in rules.checks.algorithms:
        lines.append(
            checks.fail(
                "alg",
                f"{algorithm!r}: {rules.label} accepts {', '.join(rules.checks.algorithms)} only",
                rules.code(ALGORITHM),
            )
        )
    elif refusing:
        lines.append(checks.warn("alg", f"{algorithm}: refused by {' and '.join(refusing)}"))
    else:
        lines.append(checks.ok("alg", f"{algorithm} (accepted by {rules.label})"))
    if documents is not None and isinstance(algorithm, str):
        lines += advertised(algorithm, documents, "in id_token_signing_alg_values_supported")
    return lines


def advertised(algorithm: str, documents: IssuerDocuments, ok: str, why: str = "") -> list[Line]:
    """Whether discovery advertises `algorithm`: an `ok` line, a warning (with `why` after the
    algorithm when it comes from a setting), or nothing when it lists none."""
    listed = documents.discovery.get("id_token_signing_alg_values_supported")
    if not isinstance(listed, list):
        return []
    if algorithm not in listed:
        return [
            checks.warn(
                "alg.advertised",
                f"discovery advertises {', '.join(map(str, listed))}, not {algorithm}{why}",
            )
        ]
    return [checks.ok("alg.advertised", ok)]


def missing_kid(kid: object, documents: IssuerDocuments, named: str, advice: str) -> str | None:
    """Why the JWKS has no key for `kid` (`named` says what the kid is), or None if it has."""
    if any(key.get("kid") == kid for key in documents.keys):
        return None
    present = ", ".join(str(key.get("kid")) for key in documents.keys) or "none"
    return f"kid {named} is not in {documents.jwks_uri} (it holds: {present}): {advice}"


_PUBLISH_FIRST = "publish the key before tokens signed with it are used"


def _signature(token: Decoded, documents: IssuerDocuments | None, rules: CloudRules) -> list[Line]:
    kid = token.header.get("kid")
    algorithm = token.header.get("alg")
    if kid is None and rules.checks.require_kid:
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
    if not isinstance(algorithm, str) or algorithm not in clouds.any_rules().checks.algorithms:
        return [
            checks.fail(
                "signature", f"not verified: alg {algorithm!r} is refused", rules.code(ALGORITHM)
            )
        ]
    named = [key for key in documents.keys if kid is None or key.get("kid") == kid]
    if not named:
        why = missing_kid(kid, documents, repr(kid), _PUBLISH_FIRST)
        return [checks.fail("kid", str(why), rules.code(KEY))]
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


def _audiences(token: Decoded) -> list[str]:
    value = token.claims.get("aud")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _audience(token: Decoded, rules: CloudRules, expected: str | None) -> Line:
    audiences = _audiences(token)
    code = rules.code(AUDIENCE)
    shown = ", ".join(audiences)
    if not audiences:
        return checks.fail("aud", "missing", code)
    if expected is not None:
        if not any(rules.checks.same_audience(audience, expected) for audience in audiences):
            return checks.fail("aud", f"{shown!r}, expected {expected!r}", code)
        return checks.ok("aud", f"{shown} (as expected)")
    form = rules.checks.audience_form
    if form is not None and not any(form.key(audience) for audience in audiences):
        return checks.fail("aud", f"{shown!r} {form.refusal}", code)
    if rules.checks.default_audience and rules.checks.default_audience not in audiences:
        return checks.warn(
            "aud",
            f"{shown!r}: {rules.label} is usually set up with {rules.checks.default_audience!r}; "
            "pass --expect-aud to compare with the trust setting",
        )
    return checks.ok("aud", f"{shown} (not compared: no --expect-aud)")


def _subject(token: Decoded, rules: CloudRules, expected: str | None) -> Line:
    subject = token.claims.get("sub")
    code = rules.code(SUBJECT)
    if not isinstance(subject, str) or not subject:
        return checks.fail("sub", "missing or not a string", code)
    limit = rules.checks.subject_limit
    if limit is not None and len(subject.encode()) > limit.max_bytes:
        return checks.fail(
            "sub",
            f"{len(subject.encode())} bytes: {limit.attribute} holds at most {limit.max_bytes}",
            code,
        )
    if expected is not None:
        if subject != expected:
            return checks.fail(
                "sub",
                f"{subject!r}, expected {expected!r}: the trust policy (role condition, "
                "federated credential, attribute condition) matches sub exactly",
                code,
            )
        return checks.ok("sub", f"{subject} (as expected)")
    return checks.ok("sub", f"{subject} (not compared: no --expect-sub)")
