"""A platform token is verified strictly and becomes the job context, never more: each negative
row of the attested-identity issue is refused with a message that names the reason and never
holds the token."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from injector.config import ci, job_context
from injector.signer.attestation import verify as attest
from injector.signer.attestation.verify import InvalidToken, Verifier
from tests.standins.platforms import AUDIENCE, Platforms

pytest_plugins = ["tests.standins.fixtures", "tests.standins.platform_fixtures"]


def _refused(attestation: attest.Attestation, token: str, reason: str) -> None:
    with pytest.raises(InvalidToken) as refused:
        attest.verify(attestation, token)
    assert reason in str(refused.value)
    assert token not in str(refused.value)


def test_a_github_token_gives_the_context_injector_ci_github_gives(platforms: Platforms) -> None:
    attested = attest.verify(platforms.attestation("github"), platforms.github.github(AUDIENCE))
    same = job_context.from_env(
        ci.with_defaults(
            {
                "INJECTOR_CI": "github",
                "GITHUB_REPOSITORY": "acme/infra",
                "GITHUB_REPOSITORY_OWNER_ID": "1001",
                "GITHUB_REPOSITORY_ID": "2002",
                "GITHUB_RUN_ID": "4242",
            }
        )
    )
    assert attested.job == same
    assert (attested.job.organization, attested.job.workspace) == ("acme", "infra")
    assert attested.phase is None  # no `phases`: no phase
    assert attested.subject == "github:repo:acme/infra:environment:production"


def test_a_gitlab_token_gives_the_context_injector_ci_gitlab_gives(platforms: Platforms) -> None:
    attested = attest.verify(platforms.attestation("gitlab"), platforms.gitlab.gitlab(AUDIENCE))
    same = job_context.from_env(
        ci.with_defaults(
            {
                "INJECTOR_CI": "gitlab",
                "CI_PROJECT_NAMESPACE": "acme",
                "CI_PROJECT_NAME": "infra",
                "CI_PROJECT_NAMESPACE_ID": "11",
                "CI_PROJECT_ID": "22",
                "CI_JOB_ID": "77",
            }
        )
    )
    assert attested.job == same


def test_a_projected_kubernetes_token_names_namespace_account_and_pod(
    platforms: Platforms,
) -> None:
    attestation = platforms.attestation("kubernetes")
    attested = attest.verify(attestation, platforms.kubernetes.kubernetes(AUDIENCE))
    assert attested.job == job_context.JobContext(
        organization="terraform",
        workspace="runner",
        organization_id="terraform",
        workspace_id="sa-uid-1",
        job_id="pod-uid-9",
    )
    unbound = platforms.kubernetes.kubernetes(
        AUDIENCE,
        **{
            "kubernetes.io": {
                "namespace": "terraform",
                "serviceaccount": {"name": "runner", "uid": "sa-uid-1"},
            }
        },
    )
    _refused(attestation, unbound, "not bound to a pod")


def _tenant_templates(platforms: Platforms) -> attest.Attestation:
    """An oidc attestation over the stand-in GitHub's tokens with a `tenant` object added."""
    return platforms.attestation(
        "oidc",
        organization="{repository_owner}",
        workspace="ws-{tenant.name}",
        organization_id="{repository_owner_id}",
        workspace_id="{tenant.id}",
        job_id="{run_id}",
    )


def test_an_oidc_attestation_maps_claims_through_templates(platforms: Platforms) -> None:
    attestation = _tenant_templates(platforms)
    token = platforms.github.github(AUDIENCE, tenant={"name": "blue", "id": 7})
    attested = attest.verify(attestation, token)
    assert (attested.job.workspace, attested.job.workspace_id) == ("ws-blue", "7")
    _refused(attestation, platforms.github.github(AUDIENCE), "no 'tenant.name' claim")


def test_the_phase_comes_from_the_environment_claim_only(platforms: Platforms) -> None:
    attestation = platforms.attestation("github", phases={"apply": ["production"]})
    production = platforms.github.github(AUDIENCE)
    staging = platforms.github.github(AUDIENCE, environment="staging")
    no_environment = platforms.github.github(AUDIENCE, environment=None)
    assert attest.verify(attestation, production).phase == "apply"
    assert attest.verify(attestation, staging).phase == "plan"
    assert attest.verify(attestation, no_environment).phase == "plan"


@pytest.mark.parametrize(
    ("phase_claim", "claims", "phase"),
    [
        ("environment", {"environment": "production", "environment_protected": "true"}, "apply"),
        # Whoever may push a branch names the job's environment in .gitlab-ci.yml: only a
        # protected one (GitLab decides who deploys to it) is the platform's word.
        ("environment", {"environment": "production", "environment_protected": "false"}, "plan"),
        ("environment", {"environment": "production", "environment_protected": None}, "plan"),
        ("environment", {"environment": "production", "environment_protected": True}, "plan"),
        ("ref", {"ref": "production", "ref_protected": "true"}, "apply"),
        ("ref", {"ref": "production", "ref_protected": "false"}, "plan"),
    ],
)
def test_a_gitlab_apply_needs_the_protected_environment_or_ref(
    platforms: Platforms, phase_claim: str, claims: dict[str, Any], phase: str
) -> None:
    attestation = platforms.attestation(
        "gitlab", phases={"apply": ["production"]}, phase_claim=phase_claim
    )
    token = platforms.gitlab.gitlab(AUDIENCE, **claims)
    assert attest.verify(attestation, token).phase == phase


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        # Seconds from now, added when the test runs (a long suite outlives collection time).
        ({"exp": -600}, "has expired"),
        ({"nbf": 600}, "not valid yet"),
        ({"iat": 600}, "not valid yet"),
        ({"aud": "https://other.example.com"}, "aud is not 'https://signer.example.com'"),
        ({"exp": None}, "lacks a required claim"),
        ({"repository": "evil/infra"}, "is not in repository_owner"),
        ({"run_id": None}, "no 'run_id' claim"),
        ({"repository": "acme/in\nfra"}, "make no job context"),
        # GitHub's names are `owner/name`: anything else is not a repository it would sign.
        ({"repository": "acme/infra/"}, "is not owner/name"),
        ({"repository": "acme/infra/payments"}, "is not owner/name"),
        # An empty sub would share one rate budget with every other empty one.
        ({"sub": ""}, "sub is empty"),
        ({"sub": ["repo:acme/infra"]}, "sub is not a string: an array"),
        ({"repository": ["acme/infra"]}, "no 'repository' claim (or it is not text)"),
        ({"repository_owner_id": True}, "no 'repository_owner_id' claim"),
        ({"repository_owner_id": 1001.0}, "no 'repository_owner_id' claim"),
        ({"aud": ["https://elsewhere", "sts.amazonaws.com"]}, "aud is not"),
        ({"iat": "1700000000"}, "iat is not a NumericDate"),
        ({"repository": "acme/infra\x00"}, "contains a control character"),
        ({"repository": "acme/infra\uff1ab"}, "U+FF1A (fullwidth colon)"),
        ({"repository": "acme/infra\u200b"}, "U+200B"),
        ({"repository": "Acme/infra"}, "is not in repository_owner 'acme'"),
    ],
)
def test_bad_claims_are_refused(platforms: Platforms, claims: dict[str, Any], reason: str) -> None:
    now = int(time.time())
    claims = {
        name: now + value if name in ("exp", "nbf", "iat") and isinstance(value, int) else value
        for name, value in claims.items()
    }
    _refused(platforms.attestation("github"), platforms.github.github(AUDIENCE, **claims), reason)


@pytest.mark.parametrize(
    ("kind", "claims", "reason"),
    [
        ("gitlab", {"project_path": "acmex/infra"}, "is not a project of 'acme'"),
        ("gitlab", {"project_path": "acme/team/infra"}, "is not a project of 'acme'"),
        ("gitlab", {"project_path": "acme/"}, "make no job context"),
        ("gitlab", {"namespace_path": ["acme"]}, "no 'namespace_path' claim"),
        ("kubernetes", {"sub": "system:serviceaccount:prod:runner"}, "sub is not"),
        # A pod's author picks a projected token's lifetime: a text exp is still no number.
        ("kubernetes", {"exp": "99999999999"}, "exp is not a NumericDate"),
        ("gitlab", {"nbf": True}, "nbf is not a NumericDate"),
        (
            "kubernetes",
            {
                "kubernetes.io": {
                    "namespace": ["terraform"],
                    "serviceaccount": {"name": "runner", "uid": "sa-uid-1"},
                    "pod": {"name": "job-abc", "uid": "pod-uid-9"},
                }
            },
            "no 'kubernetes.io.namespace' claim",
        ),
    ],
)
def test_claims_that_disagree_with_their_platforms_shape_are_refused(
    platforms: Platforms, kind: str, claims: dict[str, Any], reason: str
) -> None:
    issuer = getattr(platforms, kind)
    _refused(platforms.attestation(kind), getattr(issuer, kind)(AUDIENCE, **claims), reason)


def test_a_wrong_issuer_is_refused_with_the_exact_check(platforms: Platforms) -> None:
    token = platforms.github.github(AUDIENCE, iss=platforms.github.url + "/")
    _refused(platforms.attestation("github"), token, "iss is not")
    with pytest.raises(InvalidToken, match="no \\[\\[attestation\\]\\] of the policy trusts"):
        Verifier([platforms.attestation("github")]).verify(token)


def test_a_token_signed_by_another_platform_does_not_verify(platforms: Platforms) -> None:
    # GitLab's key, GitHub's kid and issuer: the key set says which key, the signature fails.
    forged = platforms.github.sign(
        jwt.decode(platforms.github.github(AUDIENCE), options={"verify_signature": False}),
        key=platforms.gitlab.key,
    )
    _refused(platforms.attestation("github"), forged, "signature does not verify")


def test_max_age_refuses_an_old_token_before_its_exp(platforms: Platforms) -> None:
    attestation = platforms.attestation("github", max_age_minutes=5)
    now = int(time.time())
    old = platforms.github.github(AUDIENCE, iat=now - 3600, nbf=now - 3600, exp=now + 600)
    _refused(attestation, old, "issued over 5 minutes ago")
    assert attest.verify(attestation, platforms.github.github(AUDIENCE)).job.workspace == "infra"


def test_a_claim_a_dotted_name_and_a_nested_object_both_spell_is_no_claim(
    platforms: Platforms,
) -> None:
    # An issuer that lets its users add claims could add a top-level "tenant.id" beside its own
    # nested tenant.id: which one a template means must not be the token's choice.
    attestation = _tenant_templates(platforms)
    tenant = {"name": "blue", "id": 7}
    both = platforms.github.github(AUDIENCE, tenant=tenant, **{"tenant.id": "8"})
    _refused(attestation, both, "no 'tenant.id' claim")
    alike = platforms.github.github(AUDIENCE, tenant=tenant, **{"tenant.id": 7})
    assert attest.verify(attestation, alike).job.workspace_id == "7"


def test_a_token_valid_for_a_century_is_refused_a_day_after_its_iat(platforms: Platforms) -> None:
    # A pod's author picks its projected token's expirationSeconds (up to 2^32), and the signer
    # cannot see the pod go: without max_age_minutes, a day is the most any token is taken for.
    attestation = platforms.attestation("kubernetes")
    now = int(time.time())
    day = 24 * 3600
    old = platforms.kubernetes.kubernetes(AUDIENCE, iat=now - day - 120, exp=now + 100 * 365 * day)
    _refused(attestation, old, "issued over 1440 minutes ago")
    young = platforms.kubernetes.kubernetes(AUDIENCE, iat=now - 600, exp=now + 100 * 365 * day)
    assert attest.verify(attestation, young).job.workspace == "runner"


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return ".".join(
        (part(json.dumps(header).encode()), part(json.dumps(claims).encode()), part(signature))
    )


def test_alg_none_is_refused(platforms: Platforms) -> None:
    claims = jwt.decode(platforms.github.github(AUDIENCE), options={"verify_signature": False})
    token = _unsigned({"alg": "none", "kid": platforms.github.kid}, claims)
    _refused(platforms.attestation("github"), token, "alg 'none' is not one of RS256")


def test_hs256_signed_with_the_jwks_key_bytes_is_refused(platforms: Platforms) -> None:
    import hashlib
    import hmac

    claims = jwt.decode(platforms.github.github(AUDIENCE), options={"verify_signature": False})
    header = {"alg": "HS256", "kid": platforms.github.kid, "typ": "JWT"}
    published = json.dumps(platforms.github.jwk()).encode()
    signing_input = _unsigned(header, claims).rsplit(".", 1)[0]
    mac = hmac.new(published, signing_input.encode(), hashlib.sha256).digest()
    token = _unsigned(header, claims, mac)
    _refused(platforms.attestation("github"), token, "alg 'HS256' is not one of RS256")
    # And an oidc attestation, which allows every asymmetric algorithm, never allows HMAC.
    oidc = platforms.attestation(
        "oidc",
        organization="{repository_owner}",
        workspace="{repository}",
        organization_id="{repository_owner_id}",
        workspace_id="{repository_id}",
        job_id="{run_id}",
    )
    _refused(oidc, token, "alg 'HS256' is not one of")


@pytest.mark.parametrize("kid", ["published", "made-up"])
def test_keys_named_in_the_token_header_are_never_used_or_fetched(
    platforms: Platforms, kid: str
) -> None:
    attestation = platforms.attestation("github")
    attest.verify(attestation, platforms.github.github(AUDIENCE))
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(stranger.public_key()))
    header = {
        "kid": platforms.github.kid if kid == "published" else "made-up",
        "jku": platforms.github.url + "/stranger-jwks",
        "x5u": platforms.github.url + "/stranger-certificate",
        "jwk": public,
    }
    claims = jwt.decode(platforms.github.github(AUDIENCE), options={"verify_signature": False})
    token = platforms.github.sign(claims, header=header, key=stranger)
    reason = "signature does not verify" if kid == "published" else "publishes no RS256 key"
    _refused(attestation, token, reason)
    assert not [seen for seen in platforms.github.server.seen if "stranger" in seen]


def test_a_missing_kid_or_another_platforms_kid_is_refused(platforms: Platforms) -> None:
    attestation = platforms.attestation("github")
    claims = jwt.decode(platforms.github.github(AUDIENCE), options={"verify_signature": False})
    _refused(attestation, jwt.encode(claims, platforms.github.key, "RS256"), "has no kid")
    # Each issuer's keys are its own: GitLab's kid and key on a GitHub token name nothing.
    borrowed = platforms.github.sign(
        claims, header={"kid": platforms.gitlab.kid}, key=platforms.gitlab.key
    )
    _refused(attestation, borrowed, f"publishes no RS256 key {platforms.gitlab.kid!r}")


def test_an_unknown_kid_refetches_at_most_once_a_minute(platforms: Platforms) -> None:
    attestation = platforms.attestation("github")
    attest.verify(attestation, platforms.github.github(AUDIENCE))
    before = attestation.keys.fetches
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for number in range(5):
        token = platforms.github.sign(
            jwt.decode(platforms.github.github(AUDIENCE), options={"verify_signature": False}),
            header={"kid": f"made-up-{number}"},
            key=stranger,
        )
        _refused(attestation, token, f"publishes no RS256 key 'made-up-{number}'")
    assert attestation.keys.fetches == before  # fetched less than a minute ago: no refetch


def test_a_token_is_never_in_an_error_of_a_wrong_shape(platforms: Platforms) -> None:
    attestation = platforms.attestation("github")
    for token in ("not-a-jwt", "a.b.c", "x" * 20000):
        with pytest.raises(InvalidToken) as refused:
            attest.verify(attestation, token)
        assert token not in str(refused.value)
