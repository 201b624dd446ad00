"""Every mistake in an `[[attestation]]` table is reported at once, naming the table and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from injector.errors import ConfigError
from injector.signer.attestation import settings

WHERE = "policy.toml [[attestation]]"


def _each_said(expected: list[str], problems: list[str]) -> None:
    """Each of `expected` begins one of `problems`."""
    for start in expected:
        assert any(problem.startswith(start) for problem in problems), (start, problems)


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
    expected = [
        f'{WHERE} #1 issuer: is required for kind "kubernetes"',
        f'{WHERE} #1 phases: needs phase_claim for kind "kubernetes"',
        f"{WHERE} #2: unknown key(s) colour",
        f"{WHERE} #2 issuer: expected an https:// URL, got 'http://plain'",
        f"{WHERE} #2 algorithms: expected a non-empty list of: RS256",
        f"{WHERE} #2 max_age_minutes: expected a whole number from 1 to 1440",
        f'{WHERE} #2 organization: is required for kind "oidc"',
        f'{WHERE} #3: organization: only kind = "oidc" maps claims by templates',
        f"{WHERE} #4 ca_bundle: cannot load CA certificates from /nonexistent/ca.pem",
        f"{WHERE} #5 kind: expected one of github, gitlab, kubernetes, oidc",
        # A generic issuer's claim its users may set (environment) is never assumed.
        f'{WHERE} #6 phases: needs phase_claim for kind "oidc"',
    ]
    _each_said(expected, problems)


def test_a_name_given_twice_is_refused() -> None:
    table = {"name": "gh", "kind": "github", "audience": "https://signer"}
    assert _problems(table, table) == [
        "policy.toml: [[attestation]] name 'gh' is given more than once"
    ]


def test_token_review_settings_are_checked_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trustme

    from injector.signer.attestation import token_review

    # What a pod mounts, here for `token_review = true`, and nothing where the next test looks.
    ca, token = tmp_path / "ca.crt", tmp_path / "token"
    trustme.CA().cert_pem.write_to_path(str(ca))
    token.write_text("credential\n")
    monkeypatch.setattr(token_review, "IN_CLUSTER", tmp_path)
    cluster = {"name": "k", "kind": "kubernetes", "issuer": "https://k8s", "audience": "a"}
    (in_cluster,) = settings.load("policy.toml", [{**cluster, "token_review": True}])
    assert in_cluster.review is not None
    assert in_cluster.review.api_server == "https://kubernetes.default.svc"
    assert (in_cluster.review.ca_file, in_cluster.review.token_file) == (ca, token)
    (reviewed,) = settings.load(
        "policy.toml",
        [
            {
                **cluster,
                "token_review": {
                    "api_server": "https://10.0.0.1:6443",
                    "ca_file": str(ca),
                    "token_file": str(token),
                },
            }
        ],
    )
    assert reviewed.review is not None
    assert (reviewed.review.api_server, reviewed.review.token_file) == (
        "https://10.0.0.1:6443",
        token,
    )
    (unreviewed,) = settings.load("policy.toml", [{**cluster, "token_review": False}])
    assert unreviewed.review is None

    mounted = tmp_path / "not-mounted"
    monkeypatch.setattr(token_review, "IN_CLUSTER", mounted)
    problems = _problems(
        {"name": "g", "kind": "github", "audience": "a", "token_review": True},
        {**cluster, "name": "k1", "token_review": "yes"},
        # true: the files a pod's service account mounts, which are not there
        {**cluster, "name": "k2", "token_review": True},
        {
            **cluster,
            "name": "k3",
            "token_review": {"api_server": "https://user@10.0.0.1/?x=1", "token_file": str(ca)},
        },
    )
    expected = [
        f'{WHERE} #1 token_review: only kind = "kubernetes" has a TokenReview API',
        f"{WHERE} #2 token_review: expected true, or a table {{ api_server",
        f"{WHERE} #3 token_review.ca_file: cannot load CA certificates from {mounted}/ca.crt",
        f"{WHERE} #3 token_review.token_file: cannot read {mounted}/token",
        f"{WHERE} #4 token_review.api_server: expected https://host[:port][/path], got",
        f"{WHERE} #4 token_review.ca_file: cannot load CA certificates from {mounted}/ca.crt",
        f"{WHERE} #4 token_review.token_file: {ca} does not hold a bearer token",
    ]
    _each_said(expected, problems)
    assert len(problems) == len(expected), problems


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
