"""One platform token in, the job it attests out: verified strictly with pyjwt, then mapped to
the job context by its kind. Nothing of the job's own request enters the result.

Strict means: the algorithm is one the kind allows (asymmetric only, never `none` or HMAC), the
key is the platform's by `kid`, `iss` and `aud` are exactly what the attestation names, `exp`
and `iat` are required, the registered claims have RFC 7519's JSON types (claim_types, checked
before the key is even looked up), and `exp`, `nbf` and `iat` hold within SKEW_SECONDS of the
signer's clock (clocks of platforms and signer drift by seconds, not minutes). With
`max_age_minutes`, a token older than that is refused even before its `exp`. With a
`token_review`, the cluster's API server must also say, at each request, that the token is live
(token_review).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt

from injector import claims
from injector.config import job_context
from injector.config.job_context import JobContext
from injector.config.subject import SubjectTemplate
from injector.errors import ConfigError
from injector.signer.attestation import claim_types, kinds
from injector.signer.attestation.keys import KeySet, Unavailable, UnknownKey
from injector.signer.attestation.token_review import NotLive, TokenReview, review

SKEW_SECONDS = 60
# Platform tokens are one to two kilobytes; far larger is not one, and is not parsed.
MAX_TOKEN_BYTES = 16 * 1024
PLAN, APPLY = claims.PHASES

__all__ = ["Attestation", "Attested", "InvalidToken", "Unavailable", "Verifier"]


class InvalidToken(Exception):
    """The subject token is not one the signer accepts; the message says why and never holds
    the token."""


@dataclass(frozen=True)
class Attestation:
    """One `[[attestation]]` table of the policy, ready to verify."""

    name: str
    kind: kinds.Kind
    issuer: str
    audience: str
    keys: KeySet
    algorithms: tuple[str, ...]
    # Values of `phase_claim` that make a token an apply token; None: no phase at all.
    apply_values: frozenset[str] | None = None
    phase_claim: str | None = None
    templates: Mapping[str, str] = field(default_factory=dict)  # kind oidc only
    max_age_minutes: int | None = None
    rate_per_minute: int = 120
    review: TokenReview | None = None  # kind kubernetes: ask the API server the token is live
    # The `sub` of the tokens minted for it; None: the signer's DynamicCredentialSubjectTemplate.
    subject_template: SubjectTemplate | None = None


@dataclass(frozen=True)
class Attested:
    """What a verified platform token says: the job context and phase the signer uses, the
    claims (for `[[allow]]`'s claim globs), and the platform's `sub` (audit, rate limit)."""

    attestation: Attestation
    job: JobContext
    phase: str | None
    claims: Mapping[str, Any]
    subject: str

    @property
    def budget(self) -> str:
        """What one rate budget is kept for: the platform's `sub` within one attested
        workspace. `sub` alone is not enough: a platform may give every workspace of an owner
        the same one (GitHub's customized `sub`), and one job would spend them all."""
        return "\0".join((self.subject, self.job.organization_id, self.job.workspace_id))


def _header(token: str) -> dict[str, Any]:
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidToken(f"the subject token is over {MAX_TOKEN_BYTES} bytes")
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidToken("the subject token is not a signed JWT") from None


def _unverified_claims(token: str) -> dict[str, Any]:
    """The claims as the token states them, their registered claims of the right JSON types;
    nothing is trusted until `_decode` verified the same bytes."""
    try:
        stated: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise InvalidToken("the subject token is not a signed JWT") from None
    problem = claim_types.problem(stated)
    if problem is not None:
        raise InvalidToken(f"the subject token's {problem}")
    return stated


_REFUSALS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "the subject token has expired"),
    (jwt.ImmatureSignatureError, "the subject token is not valid yet (nbf or iat ahead)"),
    (jwt.InvalidSignatureError, "the subject token's signature does not verify"),
    (jwt.MissingRequiredClaimError, "the subject token lacks a required claim"),
)


def _decode(attestation: Attestation, token: str, algorithm: str, key: jwt.PyJWK) -> dict[str, Any]:
    try:
        return jwt.decode(
            token,
            key=key.key,
            algorithms=[algorithm],
            audience=attestation.audience,
            issuer=attestation.issuer,
            leeway=SKEW_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.InvalidAudienceError:
        raise InvalidToken(f"the subject token's aud is not {attestation.audience!r}") from None
    except jwt.InvalidIssuerError:
        raise InvalidToken(f"the subject token's iss is not {attestation.issuer!r}") from None
    except jwt.PyJWTError as error:
        for kind, message in _REFUSALS:
            if isinstance(error, kind):
                detail = f": {error}" if kind is jwt.MissingRequiredClaimError else ""
                raise InvalidToken(message + detail) from None
        raise InvalidToken(f"the subject token does not verify: {error}") from None


def _times(attestation: Attestation, claims: Mapping[str, Any], now: float) -> None:
    issued = claims["iat"]  # a number: claim_types
    if issued > now + SKEW_SECONDS:
        raise InvalidToken("the subject token is not valid yet (iat ahead)")
    limit = attestation.max_age_minutes
    if limit is not None and now - issued > limit * 60 + SKEW_SECONDS:
        raise InvalidToken(f"the subject token was issued over {limit} minutes ago")


def _phase(attestation: Attestation, claims: Mapping[str, Any]) -> str | None:
    if attestation.apply_values is None or attestation.phase_claim is None:
        return None
    value = kinds.claim(claims, attestation.phase_claim)
    listed = value is not None and value in attestation.apply_values
    vouched = attestation.kind.apply_allowed(attestation.phase_claim, claims)
    return APPLY if listed and vouched else PLAN


def _job(attestation: Attestation, claims: Mapping[str, Any]) -> JobContext:
    try:
        variables = attestation.kind.context(claims, attestation.templates)
        return job_context.from_env(variables)
    except kinds.ClaimsError as error:
        raise InvalidToken(f"{attestation.name}: {error}") from None
    except ConfigError as error:
        raise InvalidToken(f"{attestation.name}: the claims make no job context: {error}") from None


def verify(attestation: Attestation, token: str, now: float | None = None) -> Attested:
    """The job `token` attests under `attestation`. Raises InvalidToken, Unavailable when
    the platform's keys cannot be fetched, or pending.Pending while another request fetches
    them."""
    header = _header(token)
    algorithm = header.get("alg")
    if algorithm not in attestation.algorithms:
        raise InvalidToken(
            f"the subject token's alg {algorithm!r} is not one of "
            f"{', '.join(attestation.algorithms)} ({attestation.name})"
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("the subject token's header has no kid")
    _unverified_claims(token)  # a token of the wrong shape costs no key fetch
    try:
        key = attestation.keys.key(kid, algorithm)
    except UnknownKey as error:
        raise InvalidToken(str(error)) from None
    claims = _decode(attestation, token, algorithm, key)
    if not claims["sub"]:  # pyjwt requires a string; an empty one names nobody
        raise InvalidToken("the subject token's sub is empty")
    _times(attestation, claims, time.time() if now is None else now)
    job = _job(attestation, claims)
    if attestation.review is not None:
        try:
            review(attestation.review, token, claims, attestation.audience)
        except NotLive as error:
            raise InvalidToken(f"{attestation.name}: {error}") from None
        except Unavailable as error:
            raise Unavailable(f"{attestation.name}: {error}") from None
    return Attested(
        attestation=attestation,
        job=job,
        phase=_phase(attestation, claims),
        claims=claims,
        subject=f"{attestation.name}:{claims['sub']}",
    )


@dataclass(frozen=True)
class Verifier:
    """Every attestation of the policy; a token goes to the one(s) of its `iss`."""

    attestations: Sequence[Attestation]
    clock: Callable[[], float] = time.time

    def verify(self, token: str) -> Attested:
        """The attested job; InvalidToken or Unavailable (see `verify`)."""
        _header(token)
        issuer = _unverified_claims(token).get("iss")
        candidates = [a for a in self.attestations if a.issuer == issuer]
        if not candidates:
            shown = repr(issuer)[:200] if isinstance(issuer, str) else "none"
            raise InvalidToken(f"no [[attestation]] of the policy trusts the issuer {shown}")
        refusal: InvalidToken | None = None
        for attestation in candidates:  # one issuer, several audiences: the one that verifies
            try:
                return verify(attestation, token, self.clock())
            except InvalidToken as error:
                refusal = refusal or error
        assert refusal is not None  # noqa: S101 (candidates is not empty)
        raise refusal
