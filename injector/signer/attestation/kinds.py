"""What each platform's token says about the job that holds it, as job context variables.

GitHub and GitLab go through the same table as `INJECTOR_CI=github|gitlab` (config.ci): the
claims are laid out as the CI variables they stand for, and the CI defaults fill the context.
So a pipeline that goes keyless keeps its `sub` to the byte. Kubernetes maps a projected
service-account token; `oidc` maps any issuer through templates the operator writes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from injector.config import ci, job_context

# Asymmetric algorithms only: an HMAC "signature" made with the JWKS key's public bytes must
# never verify, and `none` is no signature.
ASYMMETRIC = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
# The job context fields an `oidc` attestation maps, each a template over claim names.
TEMPLATE_FIELDS = {
    "organization": job_context.ORGANIZATION_NAME,
    "workspace": job_context.WORKSPACE_NAME,
    "organization_id": job_context.ORGANIZATION_ID,
    "workspace_id": job_context.WORKSPACE_ID,
    "job_id": job_context.JOB_ID,
}
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.:/-]+)\}")


class ClaimsError(Exception):
    """The verified claims lack what the kind maps (a missing or non-text claim)."""


def claim(claims: Mapping[str, Any], dotted: str) -> str | None:
    """The claim at `dotted` (`kubernetes.io.pod.uid` walks nested objects; a name that holds
    dots itself, such as `kubernetes.io`, is found whole) as text; numbers as their decimal
    form; None otherwise, and when two spellings of the path disagree."""
    value = _walk(claims, dotted.split("."))
    if value is _AMBIGUOUS or isinstance(value, bool):
        return None
    if isinstance(value, (str, int)):
        text = str(value)
        return text or None
    return None


_AMBIGUOUS = object()  # a dotted name and nested objects spell one path, with other values


def _walk(value: Any, parts: list[str]) -> Any:
    """The value at `parts`, None when there is none, or _AMBIGUOUS when two spellings of the
    path hold different values: which one a template means is not the token's to choose."""
    if not parts:
        return value
    if not isinstance(value, Mapping):
        return None
    readings = [
        found
        for cut in range(len(parts), 0, -1)
        if (name := ".".join(parts[:cut])) in value
        and (found := _walk(value[name], parts[cut:])) is not None
    ]
    if not readings:
        return None
    first = readings[0]
    if any(reading is _AMBIGUOUS or reading != first for reading in readings):
        return _AMBIGUOUS
    return first


def _required(claims: Mapping[str, Any], name: str) -> str:
    value = claim(claims, name)
    if value is None:
        raise ClaimsError(f"the token has no {name!r} claim (or it is not text)")
    return value


Mapping_ = Callable[[Mapping[str, Any], Mapping[str, str]], dict[str, str]]


def _as_ci(name: str, variables: Mapping[str, str]) -> dict[str, str]:
    """The job context variables `INJECTOR_CI=name` derives from these CI `variables`."""
    filled = ci.with_defaults({ci.CI: name, **variables})
    return {field: filled[field] for field in job_context.OPTIONS if filled.get(field)}


def _github(claims: Mapping[str, Any], _templates: Mapping[str, str]) -> dict[str, str]:
    repository = _required(claims, "repository")
    owner = _required(claims, "repository_owner")
    name = repository.partition("/")[2]
    if not name or "/" in name:
        raise ClaimsError(f"repository {repository!r} is not owner/name")
    if repository.partition("/")[0] != owner:
        raise ClaimsError(f"repository {repository!r} is not in repository_owner {owner!r}")
    return _as_ci(
        "github",
        {
            "GITHUB_REPOSITORY": repository,
            "GITHUB_REPOSITORY_OWNER_ID": _required(claims, "repository_owner_id"),
            "GITHUB_REPOSITORY_ID": _required(claims, "repository_id"),
            "GITHUB_RUN_ID": _required(claims, "run_id"),
        },
    )


def _gitlab(claims: Mapping[str, Any], _templates: Mapping[str, str]) -> dict[str, str]:
    namespace = _required(claims, "namespace_path")
    project_path = _required(claims, "project_path")
    prefix = namespace + "/"
    if not project_path.startswith(prefix) or "/" in project_path[len(prefix) :]:
        raise ClaimsError(f"project_path {project_path!r} is not a project of {namespace!r}")
    return _as_ci(
        "gitlab",
        {
            "CI_PROJECT_NAMESPACE": namespace,
            "CI_PROJECT_NAME": project_path[len(prefix) :],
            "CI_PROJECT_NAMESPACE_ID": _required(claims, "namespace_id"),
            "CI_PROJECT_ID": _required(claims, "project_id"),
            "CI_JOB_ID": _required(claims, "job_id"),
        },
    )


def _kubernetes(claims: Mapping[str, Any], _templates: Mapping[str, str]) -> dict[str, str]:
    namespace = _required(claims, "kubernetes.io.namespace")
    account = _required(claims, "kubernetes.io.serviceaccount.name")
    # A projected token is bound to its pod; an unbound one (TokenRequest by hand) could be
    # kept and replayed by any holder, and has no job to name.
    pod = claim(claims, "kubernetes.io.pod.uid")
    if pod is None:
        raise ClaimsError("the token is not bound to a pod (no kubernetes.io.pod.uid claim)")
    expected = f"system:serviceaccount:{namespace}:{account}"
    if claim(claims, "sub") != expected:
        raise ClaimsError(f"sub is not {expected!r}")
    return {
        job_context.ORGANIZATION_NAME: namespace,
        job_context.WORKSPACE_NAME: account,
        job_context.ORGANIZATION_ID: namespace,
        job_context.WORKSPACE_ID: _required(claims, "kubernetes.io.serviceaccount.uid"),
        job_context.JOB_ID: pod,
    }


def render(template: str, claims: Mapping[str, Any]) -> str:
    """`template` with each `{claim.path}` replaced by that claim's text. ClaimsError."""
    return _PLACEHOLDER.sub(lambda match: _required(claims, match.group(1)), template)


def _oidc(claims: Mapping[str, Any], templates: Mapping[str, str]) -> dict[str, str]:
    return {TEMPLATE_FIELDS[key]: render(value, claims) for key, value in templates.items()}


@dataclass(frozen=True)
class Kind:
    name: str
    default_issuer: str | None
    algorithms: tuple[str, ...]
    phase_claim: str | None  # the claim `phases` looks at, unless the attestation names one
    context: Mapping_
    # Phase claim -> the claim that must be "true" for its value to give apply: where the job's
    # own CI file names the value, only the platform's protection of it is the platform's word.
    protected_by: Mapping[str, str] = field(default_factory=dict)

    def apply_allowed(self, phase_claim: str, claims: Mapping[str, Any]) -> bool:
        """Whether the platform vouches for the value of `phase_claim` (protected_by)."""
        guard = self.protected_by.get(phase_claim)
        return guard is None or claims.get(guard) == "true"


KINDS = {
    kind.name: kind
    for kind in (
        # GitHub signs its Actions tokens with RS256 only.
        Kind(
            "github",
            "https://token.actions.githubusercontent.com",
            ("RS256",),
            "environment",
            _github,
        ),
        # A branch's .gitlab-ci.yml names any environment; GitLab says whether it (or the ref)
        # is protected, as the text "true" or "false".
        Kind(
            "gitlab",
            "https://gitlab.com",
            ("RS256",),
            "environment",
            _gitlab,
            {"environment": "environment_protected", "ref": "ref_protected"},
        ),
        # The API server signs with an RSA or an EC key, whichever its key file holds.
        Kind("kubernetes", None, ("RS256", "ES256"), None, _kubernetes),
        # No default phase claim: which of a generic issuer's claims its users cannot set is the
        # operator's to know, so phases there need phase_claim named.
        Kind("oidc", None, ASYMMETRIC, None, _oidc),
    )
}
