"""How a cloud checks a web-identity token before it trades it for credentials: the shape of the
rules. Each cloud module fills one `CloudRules` from small facets, declaring only what it has:
what its token service checks (`TokenChecks`), what doctor advises an operator about it
(`OperatorAdvice`), and the error it answers for each failure (`codes`). `injector verify`,
`doctor` and the job's preflight read them from there; `combined` makes one `CloudRules` of
several clouds' for a check on behalf of all of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

# What each rule's failure is called, so each cloud can name its own error for it.
MALFORMED = "malformed"
ISSUER_FORM = "issuer-form"
ISSUER = "issuer"  # discovery or JWKS cannot be had, or does not fit
KEY = "key"  # no usable key for the token's kid
ALGORITHM = "algorithm"
SIGNATURE = "signature"
EXPIRED = "expired"
NOT_YET_VALID = "not-yet-valid"
LIFETIME = "lifetime"
AUDIENCE = "audience"
SUBJECT = "subject"
CLAIM = "claim"  # a claim the cloud requires is missing
SIZE = "size"  # longer than the cloud takes
FAILURES = (
    MALFORMED,
    SIZE,
    ISSUER_FORM,
    ISSUER,
    KEY,
    ALGORITHM,
    SIGNATURE,
    EXPIRED,
    NOT_YET_VALID,
    LIFETIME,
    AUDIENCE,
    SUBJECT,
    CLAIM,
)

MINUTE = 60
HOUR = 60 * MINUTE


@dataclass(frozen=True)
class AudienceForm:
    """A form every audience of the cloud's tokens must have unless the trust names another
    (Google's provider resource name): `pattern` matches it, `canonical` maps its spellings to
    one, `refusal` says what is accepted by default."""

    pattern: re.Pattern[str]
    canonical: Callable[[str], str]
    refusal: str

    def key(self, audience: str) -> str | None:
        """The canonical form of `audience`, or None when it is not of this form."""
        return self.canonical(audience) if self.pattern.fullmatch(audience) else None


@dataclass(frozen=True)
class SubjectLimit:
    """The most bytes of `sub` the cloud keeps, and the attribute it keeps them in."""

    max_bytes: int
    attribute: str


@dataclass(frozen=True)
class LifetimeNote:
    """A bound on a token's lifetime that is advice, not a refusal: over `seconds` (a maximum)
    or under it (a minimum), with why."""

    seconds: int
    why: str


def _tells_none(_audience: str) -> bool:
    return False


@dataclass(frozen=True)
class TokenChecks:
    """What the cloud's token service checks before it trades a token: a token that fails one
    of these is refused."""

    algorithms: tuple[str, ...]
    require_kid: bool = False
    clock_skew_seconds: int = 0
    max_lifetime_seconds: int | None = None
    # The longest token (compact JWS, in bytes) the cloud takes; None: no published limit.
    max_token_bytes: int | None = None
    # The audience the cloud is usually set up with: another one is a warning, not a refusal.
    default_audience: str | None = None
    audience_form: AudienceForm | None = None
    subject_limit: SubjectLimit | None = None
    # Claims the cloud requires besides sub and aud, with why (Vault: the role's user_claim).
    required_claims: Mapping[str, str] = field(default_factory=dict)
    # Tells the cloud's own tokens by their `aud`, for a token whose cloud is not named.
    recognizes: Callable[[str], bool] = _tells_none

    def same_audience(self, audience: str, expected: str) -> bool:
        """Whether the cloud takes `audience` for `expected` (Google: either spelling)."""
        form = self.audience_form
        if form is not None and form.key(expected) is not None:
            return form.key(audience) == form.key(expected)
        return audience == expected


@dataclass(frozen=True)
class OperatorAdvice:
    """What doctor tells an operator about the cloud that is not a refusal of the token: the
    lifetimes it works best with, which CAs it trusts for the issuer's certificate, what it
    thinks of a port in the issuer URL, and the certificate it pins."""

    # Which CA the cloud trusts for the issuer's certificate, for the TLS failure line.
    trusts: str = ""
    recommended_min: LifetimeNote | None = None
    recommended_max: LifetimeNote | None = None
    # Advice when the issuer URL has a port, for a cloud that does not want one.
    issuer_port: str | None = None
    # Whether the cloud pins the issuer's certificate by the SHA-1 thumbprint of the top
    # intermediate CA, and what the operator does with it (doctor prints it).
    thumbprint: str | None = None


NO_ADVICE = OperatorAdvice()


def every_failure(code: str) -> dict[str, str]:
    """The same error code for every failure: a cloud that answers all refusals alike."""
    return dict.fromkeys(FAILURES, code)


@dataclass(frozen=True)
class CloudRules:
    """One cloud's rules for a token: who applies them (`name`, `label`), what they check, the
    error answered for each failure (failure -> code; a failure not there has no code of its
    own), and the advice doctor gives; or several clouds' rules combined (`members`)."""

    name: str
    label: str
    checks: TokenChecks
    codes: Mapping[str, str] = field(default_factory=dict)
    advice: OperatorAdvice = NO_ADVICE
    # The clouds whose rules these combine; empty for one cloud's own rules.
    members: tuple[CloudRules, ...] = ()

    def code(self, failure: str) -> str | None:
        return self.codes.get(failure)

    def trust_note(self) -> str:
        """Which CAs the cloud (or each member cloud) trusts for the issuer's certificate."""
        trusts = self.advice.trusts
        return trusts if self.members else f"{self.label}: {trusts}"

    def refusing(self, algorithm: str) -> list[str]:
        """The labels of the member clouds that refuse `algorithm`."""
        return [rules.label for rules in self.members if algorithm not in rules.checks.algorithms]


def combined(clouds: tuple[CloudRules, ...], *, any_of: bool = False) -> CloudRules:
    """The rules the given clouds share: each failure names the codes of all of them. With
    `any_of`, the algorithms that any of them accepts (for a token whose cloud is unknown);
    else those all of them accept (a check of the issuer on behalf of several clouds). Rules
    shared by several clouds count once (`distinct`)."""
    clouds = distinct(clouds)
    failures = dict.fromkeys(failure for rules in clouds for failure in rules.codes)
    every = dict.fromkeys(algorithm for rules in clouds for algorithm in rules.checks.algorithms)
    return CloudRules(
        name="any" if any_of else "+".join(rules.name for rules in clouds),
        label=" and ".join(rules.label for rules in clouds),
        checks=TokenChecks(
            algorithms=tuple(
                algorithm
                for algorithm in every
                if any_of or all(algorithm in rules.checks.algorithms for rules in clouds)
            ),
            require_kid=any(rules.checks.require_kid for rules in clouds),
            max_token_bytes=_token_limit(clouds, any_of=any_of),
        ),
        codes={
            failure: "/".join(
                dict.fromkeys(code for rules in clouds if (code := rules.code(failure)))
            )
            for failure in failures
        },
        advice=OperatorAdvice(trusts=_trusts(clouds)),
        members=clouds,
    )


def same(rules: CloudRules, other: CloudRules) -> bool:
    """Whether `rules` are `other`'s, whichever cloud's name each carries (Vault-backed AWS's
    token goes to Vault: its rules are Vault's)."""
    return replace(rules, name=other.name) == other


def distinct(clouds: tuple[CloudRules, ...]) -> tuple[CloudRules, ...]:
    """`clouds` with each set of rules once (the first cloud's): a copy under another cloud's
    name, or a cloud's own again for a second configuration, names no verifier of its own."""
    kept: list[CloudRules] = []
    for rules in clouds:
        if not any(same(rules, other) for other in kept):
            kept.append(rules)
    return tuple(kept)


def _token_limit(clouds: tuple[CloudRules, ...], *, any_of: bool) -> int | None:
    """The size every one of `clouds` takes (the smallest limit); with `any_of`, the size some
    one of them takes (None if one has no limit)."""
    limits = [rules.checks.max_token_bytes for rules in clouds]
    if any_of:
        return None if None in limits or not limits else max(x for x in limits if x is not None)
    return min((x for x in limits if x is not None), default=None)


def _trusts(clouds: tuple[CloudRules, ...]) -> str:
    """What each of `clouds` trusts, in one sentence: the clouds that trust the same CAs
    together, in the order first named."""
    grouped: dict[str, list[str]] = {}
    for rules in clouds:
        if rules.advice.trusts:
            grouped.setdefault(rules.advice.trusts, []).append(rules.label)
    return "; ".join(f"{' and '.join(labels)}: {trusts}" for trusts, labels in grouped.items())
