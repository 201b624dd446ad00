"""How each cloud checks a web-identity token before it trades it for credentials: the
algorithms it accepts, whether it needs `kid`, its time rules, its usual audience, and the error
code it answers for each kind of failure. `injector verify` and `doctor` name these codes.

Sources: AssumeRoleWithWebIdentity (its WebIdentityToken parameter and errors) for AWS; Entra
ID's AADSTS error reference for workload identity federation; Google's STS token exchange and
workload identity provider (`allowedAudiences`) reference.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass

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

MINUTE = 60
HOUR = 60 * MINUTE
# azure-identity reads the federated token file at most every 10 minutes and presents what it
# read until then: a token must outlive that, with a margin for the request itself.
AZURE_MIN_LIFETIME_SECONDS = 12 * MINUTE
GOOGLE_MAX_LIFETIME_SECONDS = 24 * HOUR
GOOGLE_RECOMMENDED_LIFETIME_SECONDS = 6 * HOUR
GOOGLE_MAX_SUBJECT_BYTES = 127  # google.subject
GOOGLE_AUDIENCE = re.compile(
    r"(?:https:)?//iam\.googleapis\.com/projects/[0-9]+/locations/global/"
    r"workloadIdentityPools/[a-z0-9-]+/providers/[a-z0-9-]+"
)


@dataclass(frozen=True)
class CloudRules:
    """How one cloud checks a web-identity token, and the error it answers for each failure."""

    name: str
    label: str
    algorithms: tuple[str, ...]
    require_kid: bool
    codes: Mapping[str, str]
    clock_skew_seconds: int = 0
    max_lifetime_seconds: int | None = None
    recommended_lifetime_seconds: int | None = None
    min_lifetime_seconds: int | None = None
    default_audience: str | None = None

    def code(self, failure: str) -> str | None:
        return self.codes.get(failure)


AWS = CloudRules(
    name="aws",
    label="AWS STS",
    # WebIdentityToken: "signed using either RSA keys (RS256, RS384, or RS512) or ECDSA keys
    # (ES256, ES384, or ES512)" (AssumeRoleWithWebIdentity API reference).
    algorithms=("RS256", "RS384", "RS512", "ES256", "ES384", "ES512"),
    require_kid=False,
    codes={
        MALFORMED: "InvalidIdentityToken",
        ISSUER_FORM: "InvalidIdentityToken",
        ISSUER: "IDPCommunicationError",
        KEY: "InvalidIdentityToken",
        ALGORITHM: "InvalidIdentityToken",
        SIGNATURE: "InvalidIdentityToken",
        EXPIRED: "ExpiredTokenException",
        NOT_YET_VALID: "InvalidIdentityToken",
        AUDIENCE: "InvalidIdentityToken",
        SUBJECT: "AccessDenied",
    },
    default_audience="aws.workload.identity",
)
AZURE = CloudRules(
    name="azure",
    label="Entra ID",
    algorithms=("RS256",),
    require_kid=True,
    codes={
        MALFORMED: "AADSTS50027",
        ISSUER_FORM: "AADSTS70021",
        ISSUER: "AADSTS90061",
        KEY: "AADSTS700027",
        ALGORITHM: "AADSTS700027",
        SIGNATURE: "AADSTS700027",
        EXPIRED: "AADSTS700024",
        NOT_YET_VALID: "AADSTS700024",
        LIFETIME: "AADSTS700024",
        AUDIENCE: "AADSTS70021",
        SUBJECT: "AADSTS70021",
    },
    clock_skew_seconds=5 * MINUTE,
    min_lifetime_seconds=AZURE_MIN_LIFETIME_SECONDS,
    default_audience="api://AzureADTokenExchange",
)
GCP = CloudRules(
    name="gcp",
    label="Google STS",
    algorithms=("RS256", "ES256"),
    require_kid=True,
    codes=dict.fromkeys(
        (
            MALFORMED,
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
        ),
        "invalid_grant",
    ),
    max_lifetime_seconds=GOOGLE_MAX_LIFETIME_SECONDS,
    recommended_lifetime_seconds=GOOGLE_RECOMMENDED_LIFETIME_SECONDS,
)
RULES: dict[str, CloudRules] = {rules.name: rules for rules in (AWS, AZURE, GCP)}


def combined(clouds: tuple[CloudRules, ...]) -> CloudRules:
    """The rules the given clouds share: each failure names the codes of all of them (for a
    token whose cloud is unknown, or a check of the issuer on behalf of several clouds)."""
    failures = dict.fromkeys(failure for rules in clouds for failure in rules.codes)
    return CloudRules(
        name="+".join(rules.name for rules in clouds),
        label=" and ".join(rules.label for rules in clouds),
        algorithms=tuple(
            algorithm
            for algorithm in clouds[0].algorithms
            if all(algorithm in rules.algorithms for rules in clouds)
        ),
        require_kid=any(rules.require_kid for rules in clouds),
        codes={
            failure: "/".join(
                dict.fromkeys(code for rules in clouds if (code := rules.code(failure)))
            )
            for failure in failures
        },
    )


# An unknown cloud: the algorithms any of them accepts (AWS's list holds the others'), the
# codes of all three.
ANY = dataclasses.replace(combined((AWS, AZURE, GCP)), name="any", algorithms=AWS.algorithms)


def guess_cloud(audience: object) -> CloudRules | None:
    """The cloud a token is meant for, told from its `aud`; None when it cannot be told."""
    if not isinstance(audience, str):
        return None
    if GOOGLE_AUDIENCE.fullmatch(audience):
        return GCP
    if audience.startswith("api://AzureADTokenExchange"):
        return AZURE
    if audience in ("aws.workload.identity", "sts.amazonaws.com"):
        return AWS
    return None
