"""Plan and apply phases: per-phase identities, error names, the opt-in claim."""

from __future__ import annotations

import pytest

from injector.errors import ConfigError
from injector.job import phases, settings

ROLE = "WORKLOAD_IDENTITY_ROLE_AWS"


def test_no_phase_leaves_the_environment_as_it_is() -> None:
    env = {ROLE: "a", f"{ROLE}_APPLY": "b"}
    resolved = phases.resolve(env, None)
    assert dict(resolved) == env
    assert [resolved.origin(name) for name in env] == list(env)


@pytest.mark.parametrize("phase", ["plan", "apply"])
def test_phase_variables_override_the_plain_ones(phase: str) -> None:
    # The phased variables are those of the clouds the environment switches on.
    env = {
        "ENABLE_DYNAMIC_CREDENTIALS_AWS": "true",
        "ENABLE_DYNAMIC_CREDENTIALS_GCP": "true",
        ROLE: "plain",
        f"{ROLE}_{phase.upper()}": "phased",
        "ARM_CLIENT_ID": "client",
        "WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL_PLAN": "",  # empty: Terrakube's unset
    }
    resolved = phases.resolve(env, phase)
    assert resolved[ROLE] == "phased"
    assert resolved["ARM_CLIENT_ID"] == "client"
    assert resolved.origin(ROLE) == f"{ROLE}_{phase.upper()}"
    assert resolved.origin("ARM_CLIENT_ID") == "ARM_CLIENT_ID"


def test_unknown_phase_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        phases.resolve({}, "destroy")
    assert caught.value.problems[0].variable == "--phase"


def test_an_error_names_the_phase_variable_that_holds_the_typo(workspace: dict[str, str]) -> None:
    workspace[f"{ROLE}_APPLY"] = "arn:aws:iam::123:role/x"
    with pytest.raises(ConfigError) as caught:
        settings.load(workspace, phase="apply")
    assert [p.variable for p in caught.value.problems] == [f"{ROLE}_APPLY"]
    # The plan phase does not read the apply variable, so it is fine.
    assert settings.load(workspace, phase="plan") is not None


def test_the_phase_claim_is_off_unless_the_operator_opts_in(workspace: dict[str, str]) -> None:
    assert phases.claim(workspace, "plan") == {}
    workspace[phases.PHASE_CLAIM] = "true"
    assert phases.claim(workspace, "plan") == {"terrakube_run_phase": "plan"}
    assert phases.claim(workspace, None) == {}
    loaded = settings.load(workspace, phase="apply")
    assert loaded is not None and loaded.extra_claims == {"terrakube_run_phase": "apply"}


def test_the_phase_claim_switch_is_validated(workspace: dict[str, str]) -> None:
    workspace[phases.PHASE_CLAIM] = "maybe"
    with pytest.raises(ConfigError) as caught:
        settings.load(workspace, phase="plan")
    assert caught.value.problems[0].variable == phases.PHASE_CLAIM


def test_a_phase_missing_its_own_identity_names_its_variable(workspace: dict[str, str]) -> None:
    """Only `_PLAN` set: the apply phase lacks `_APPLY`, and says so (not the plain name the
    workspace never meant to set); the plan phase is fine."""
    workspace[f"{ROLE}_PLAN"] = workspace.pop(ROLE)
    with pytest.raises(ConfigError) as caught:
        settings.load(workspace, phase="apply")
    assert [p.variable for p in caught.value.problems] == [f"{ROLE}_APPLY"]
    assert caught.value.problems[0].message.startswith("is required")
    assert settings.load(workspace, phase="plan") is not None
    # Without a phase, the plain name is the one missing.
    with pytest.raises(ConfigError) as plain:
        settings.load(workspace)
    assert [p.variable for p in plain.value.problems] == [ROLE]
