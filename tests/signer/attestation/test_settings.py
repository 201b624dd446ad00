"""Every mistake in an `[[attestation]]` table is reported at once, naming the table and key."""

from __future__ import annotations

import pytest

from injector.errors import ConfigError
from injector.signer.attestation import settings


def _problems(*tables: object) -> list[str]:
    with pytest.raises(ConfigError) as error:
        settings.load("policy.toml", list(tables))
    return [str(problem) for problem in error.value.problems]


def test_github_and_gitlab_default_to_their_public_issuers() -> None:
    github, gitlab = settings.load(
        "policy.toml",
        [
            {"name": "gh", "kind": "github", "audience": "https://signer"},
            {"name": "gl", "kind": "gitlab", "audience": "https://signer"},
        ],
    )
    assert github.issuer == "https://token.actions.githubusercontent.com"
    assert gitlab.issuer == "https://gitlab.com"
    assert github.algorithms == ("RS256",)
    assert github.rate_per_minute == settings.DEFAULT_RATE_PER_MINUTE >= 120


def test_every_problem_is_named() -> None:
    problems = _problems(
        {"name": "k", "kind": "kubernetes", "audience": "a", "phases": {"apply": ["x"]}},
        {
            "name": "o",
            "kind": "oidc",
            "issuer": "http://plain",
            "audience": "a",
            "algorithms": ["HS256"],
            "max_age_minutes": 0,
            "colour": "red",
        },
        {"name": "g", "kind": "github", "audience": "a", "organization": "{x}"},
        {"name": "g", "kind": "github", "audience": "a", "ca_bundle": "/nonexistent/ca.pem"},
        {"name": "x", "kind": "terraform-cloud", "audience": "a"},
        {
            "name": "j",
            "kind": "oidc",
            "issuer": "https://jenkins.example.com/oidc",
            "audience": "a",
            "organization": "jenkins",
            "organization_id": "jenkins",
            "workspace": "{job_name}",
            "workspace_id": "{job_name}",
            "job_id": "{build_number}",
            "phases": {"apply": ["production"]},
        },
    )
    where = "policy.toml [[attestation]]"
    expected = [
        f'{where} #1 issuer: is required for kind "kubernetes"',
        f'{where} #1 phases: needs phase_claim for kind "kubernetes"',
        f"{where} #2: unknown key(s) colour",
        f"{where} #2 issuer: expected an https:// URL, got 'http://plain'",
        f"{where} #2 algorithms: expected a non-empty list of: RS256",
        f"{where} #2 max_age_minutes: expected a whole number from 1 to 1440",
        f'{where} #2 organization: is required for kind "oidc"',
        f'{where} #3: organization: only kind = "oidc" maps claims by templates',
        f"{where} #4 ca_bundle: cannot load CA certificates from /nonexistent/ca.pem",
        f"{where} #5 kind: expected one of github, gitlab, kubernetes, oidc",
        # A generic issuer's claim its users may set (environment) is never assumed.
        f'{where} #6 phases: needs phase_claim for kind "oidc"',
    ]
    for start in expected:
        assert any(problem.startswith(start) for problem in problems), (start, problems)


def test_a_name_given_twice_is_refused() -> None:
    table = {"name": "gh", "kind": "github", "audience": "https://signer"}
    assert _problems(table, table) == [
        "policy.toml: [[attestation]] name 'gh' is given more than once"
    ]


PHASED = "organization:{organization}:workspace:{workspace}:run_phase:{phase}"


def test_an_attestation_names_its_own_subject_template() -> None:
    """One signer serves a policy whose GitHub tokens attest a phase and whose pods attest none:
    each attestation's `sub` has its own shape."""
    github, cluster = settings.load(
        "policy.toml",
        [
            {
                "name": "github",
                "kind": "github",
                "audience": "https://signer",
                "phases": {"apply": ["production"]},
                "subject_template": PHASED,
            },
            {
                "name": "cluster",
                "kind": "kubernetes",
                "issuer": "https://kubernetes.default.svc",
                "audience": "https://signer",
            },
        ],
    )
    assert github.subject_template is not None and github.subject_template.text == PHASED
    assert github.subject_template.uses_phase
    assert cluster.subject_template is None  # the signer's DynamicCredentialSubjectTemplate


def test_an_attestations_subject_template_follows_the_signers_rules() -> None:
    where = "policy.toml [[attestation]]"
    problems = _problems(
        {"name": "a", "kind": "github", "audience": "s", "subject_template": "{organization}"},
        {
            "name": "b",
            "kind": "github",
            "audience": "s",
            "subject_template": "org:{organization}:ws:{workspace}:{colour}",
        },
        {"name": "c", "kind": "github", "audience": "s", "subject_template": 7},
        {
            "name": "d",
            "kind": "github",
            "audience": "s",
            "subject_template": "o:{organization}:w{workspace}",
        },
        # {phase} where no phase is attested: refused at start, naming the table.
        {"name": "e", "kind": "github", "audience": "s", "subject_template": PHASED},
    )
    expected = [
        f"{where} #1 subject_template: names no {{workspace}} or {{workspace_id}}",
        f"{where} #2 subject_template: has unknown placeholder(s) {{colour}}",
        f"{where} #3 subject_template: expected a string",
        f"{where} #4 subject_template: has a placeholder next to a letter or digit",
        f"{where} #5 subject_template: uses {{phase}}, but the attestation has no phases",
    ]
    assert len(problems) == len(expected), problems
    for start in expected:
        assert any(problem.startswith(start) for problem in problems), (start, problems)


def test_a_value_refused_by_an_attestations_template_names_the_attestation() -> None:
    """What a job is told names the attestation's key, not the signer's variable, and never
    the policy's path."""
    from injector.config.job_context import JobContext

    (github,) = settings.load(
        "/etc/injector/policy.toml",
        [
            {
                "name": "github",
                "kind": "github",
                "audience": "s",
                "subject_template": "org-{organization}-ws-{workspace}",
            }
        ],
    )
    assert github.subject_template is not None
    with pytest.raises(ConfigError) as error:
        github.subject_template.render(JobContext("acme", "my-infra", "1", "2", "3"), None)
    (problem,) = error.value.problems
    assert "a separator of [[attestation]] 'github' subject_template" in problem.message
    assert "/etc/injector" not in str(error.value)
