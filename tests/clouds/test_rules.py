"""A cloud's rules for a token: facets a cloud declares only when it has them, and several clouds'
rules combined for a check on behalf of all of them."""

from __future__ import annotations

from dataclasses import replace

from injector import clouds
from injector.clouds import rules
from injector.clouds.gcp_rules import RULES as GOOGLE

STRICT = rules.CloudRules(
    name="strict",
    label="Strict STS",
    checks=rules.TokenChecks(algorithms=("RS256", "ES256"), require_kid=True, max_token_bytes=900),
    codes={rules.EXPIRED: "Expired", rules.AUDIENCE: "BadAudience"},
    advice=rules.OperatorAdvice(trusts="a public CA", thumbprint="the top intermediate CA"),
)
BARE = rules.CloudRules(name="bare", label="Bare STS", checks=rules.TokenChecks(("RS256",)))


def test_a_cloud_declares_only_what_it_has() -> None:
    assert BARE.code(rules.EXPIRED) is None
    assert BARE.advice == rules.NO_ADVICE
    assert not BARE.checks.recognizes("anything")
    assert BARE.checks.max_lifetime_seconds is None
    assert BARE.checks.required_claims == {}


def test_combined_for_several_clouds_keeps_what_all_of_them_take() -> None:
    both = rules.combined((STRICT, BARE))
    assert (both.name, both.label) == ("strict+bare", "Strict STS and Bare STS")
    assert both.checks.algorithms == ("RS256",)
    assert both.checks.require_kid
    assert both.checks.max_token_bytes == 900  # the one limit there is
    assert both.code(rules.EXPIRED) == "Expired"  # the bare cloud names no code of its own
    assert both.trust_note() == "Strict STS: a public CA"
    assert both.refusing("ES256") == ["Bare STS"]
    assert both.members == (STRICT, BARE)
    # Advice on one cloud's issuer is its own, never the combination's.
    assert both.advice.thumbprint is None


def test_combined_for_any_cloud_takes_what_one_of_them_takes() -> None:
    either = rules.combined((STRICT, BARE), any_of=True)
    assert either.name == "any"
    assert either.checks.algorithms == ("RS256", "ES256")
    assert either.checks.max_token_bytes is None  # the bare cloud takes any size


def test_rules_another_cloud_borrows_name_their_verifier_once() -> None:
    """A cloud whose token goes to another's verifier (Vault-backed AWS: Vault) carries those
    rules under its own name; a second configuration of a cloud carries its rules again."""
    borrowed = replace(STRICT, name="borrower")
    together = rules.combined((STRICT, BARE, borrowed, BARE), any_of=True)
    assert together.members == (STRICT, BARE)
    assert together.label == "Strict STS and Bare STS"
    assert together.trust_note() == "Strict STS: a public CA"
    assert rules.same(borrowed, STRICT)
    assert not rules.same(BARE, STRICT)
    every = clouds.any_rules()
    assert [member.label for member in every.members] == [
        "AWS STS",
        "Entra ID",
        "Google STS",
        "Vault",
        "Kubernetes API server",
    ]


def test_every_registered_cloud_names_a_code_for_each_failure_it_has_one_for() -> None:
    every = clouds.any_rules()
    assert every.code(rules.EXPIRED) == (
        "ExpiredTokenException/AADSTS700024/invalid_grant/"
        "error validating claims: token is expired/401 Unauthorized"
    )
    assert set(rules.every_failure("x")) == set(rules.FAILURES)


def test_google_takes_either_spelling_of_its_provider() -> None:
    provider = (
        "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/pool/providers/prov"
    )
    assert GOOGLE.checks.same_audience(f"https:{provider}", provider)
    assert not GOOGLE.checks.same_audience(provider.replace("prov", "other"), provider)
    assert GOOGLE.checks.recognizes(provider)
