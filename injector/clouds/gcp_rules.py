"""What Google's STS accepts in a token (Workload Identity Federation): the provider resource
name an audience must be by default, the algorithms, the lifetime and the subject's size."""

from __future__ import annotations

import re

from injector.clouds import rules

# Pool and provider ids are 4 to 32 of [a-z0-9-]:
# https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools
PROVIDER = re.compile(
    r"(?:https:)?(//iam\.googleapis\.com/projects/[0-9]{1,20}/locations/global/"
    r"workloadIdentityPools/[a-z0-9-]{4,32}/providers/[a-z0-9-]{4,32})"
)


def resource(audience: str) -> str:
    """A provider's resource name without `https:`: Google takes both spellings."""
    return audience.removeprefix("https:")


# Sources: Google's STS token exchange, and the workload identity provider reference
# (`allowedAudiences`, `google.subject`).
RULES = rules.CloudRules(
    name="gcp",
    label="Google STS",
    checks=rules.TokenChecks(
        algorithms=("RS256", "ES256"),
        require_kid=True,
        max_lifetime_seconds=24 * rules.HOUR,
        # With no allowed audiences configured, a provider accepts its own resource name, with
        # or without `https:` (`allowedAudiences` in the IAM API reference of the provider).
        audience_form=rules.AudienceForm(
            pattern=PROVIDER,
            canonical=resource,
            refusal=(
                "is not a provider resource name: Google accepts by default only "
                "https://iam.googleapis.com/projects/<number>/locations/global/"
                "workloadIdentityPools/<pool>/providers/<provider> (or the same without "
                "https:); if the provider lists other allowed audiences, pass --expect-aud"
            ),
        ),
        subject_limit=rules.SubjectLimit(max_bytes=127, attribute="google.subject"),
        recognizes=lambda audience: PROVIDER.fullmatch(audience) is not None,
    ),
    codes=rules.every_failure("invalid_grant"),
    advice=rules.OperatorAdvice(
        trusts="a public CA",
        recommended_max=rules.LifetimeNote(6 * rules.HOUR, "Google recommends at most"),
    ),
)
