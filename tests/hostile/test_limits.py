"""Limits and names: one length and character rule (values.claim) for every value that reaches
`sub` or a claim, projectName and the audiences included; an error names the variable the user
set, a tagged one included; every value a message echoes is clipped, `run`'s command too."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from injector.config import job_context, values
from injector.errors import ConfigError
from injector.job import settings as settings_module
from injector.job.example import EXAMPLE_ENV
from tests.conftest import run_injector

# Every variable whose value goes into `sub` or another claim, and where it shows.
CLAIM_VARIABLES: dict[str, Callable[[settings_module.Settings], object]] = {
    job_context.ORGANIZATION_NAME: lambda s: s.job.organization,
    job_context.WORKSPACE_NAME: lambda s: s.job.workspace,
    job_context.ORGANIZATION_ID: lambda s: s.job.organization_id,
    job_context.WORKSPACE_ID: lambda s: s.job.workspace_id,
    job_context.JOB_ID: lambda s: s.job.job_id,
    job_context.PROJECT_NAME: lambda s: s.job.project,
    "WORKLOAD_IDENTITY_AUDIENCE_AWS": lambda s: _audience(s, "aws"),
    "WORKLOAD_IDENTITY_AUDIENCE_AZURE": lambda s: _audience(s, "azure"),
}


def _audience(loaded: settings_module.Settings, cloud: str) -> object:
    config = next(c for c in loaded.clouds if c.name == cloud)
    return dataclasses.asdict(config)["audience"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    variable=st.sampled_from(sorted(CLAIM_VARIABLES)),
    value=st.one_of(
        st.text(max_size=20),
        st.text(alphabet="ab:-_.", min_size=250, max_size=260),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
    ),
)
def test_every_claim_value_is_taken_whole_or_refused_by_its_name(variable: str, value: str) -> None:
    assume(value != "")  # unset: the default applies
    env = {**EXAMPLE_ENV, "ENABLE_DYNAMIC_CREDENTIALS_VAULT": "false", variable: value}
    try:
        loaded = settings_module.load(env, require_key=False)
    except ConfigError as error:
        assert {p.variable for p in error.problems} == {variable}, error
        return
    assert loaded is not None
    assert len(value) <= values.CLAIM_MAX_LENGTH
    assert CLAIM_VARIABLES[variable](loaded) == value


@pytest.mark.parametrize("length", [256, 5000])
def test_a_long_project_name_is_refused(
    workspace: dict[str, str], tmp_path: Path, length: int
) -> None:
    env = {**workspace, job_context.PROJECT_NAME: "p" * length}
    result = run_injector("env", "--dir", str(tmp_path / "creds"), env=env)
    assert result.returncode == 2, result.stderr
    assert f"injector: error: {job_context.PROJECT_NAME}: is {length} characters long" in (
        result.stderr
    )
    assert f"at most {values.CLAIM_MAX_LENGTH}" in result.stderr
    assert len(result.stderr) < 400
    assert not (tmp_path / "creds").exists()


def test_disagreeing_tagged_switches_are_both_named_by_their_tagged_names(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **workspace,
        "ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD": "true",
        "INJECTOR_ENABLE_AWS_PROD": "false",
        "WORKLOAD_IDENTITY_ROLE_AWS_PROD": "arn:aws:iam::123456789012:role/prod",
    }
    result = run_injector("env", "--dir", str(tmp_path / "creds"), env=env)
    assert result.returncode == 2, result.stderr
    assert (
        "injector: error: ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD: is 'true' but "
        "INJECTOR_ENABLE_AWS_PROD is 'false'"
    ) in result.stderr


@pytest.mark.parametrize("name", ["x" * 5000, "no\nsuch\x1b[2Kcommand" + "y" * 3000])
def test_runs_command_name_is_clipped_in_its_error(workspace: dict[str, str], name: str) -> None:
    result = run_injector("run", "--", name, env=workspace)
    assert result.returncode in (126, 127), result.stderr  # not found, or a name too long
    lines = result.stderr.splitlines()
    error = next(line for line in lines if line.startswith("injector: error: "))
    assert len(error) < 400
    assert "characters)" in error
    assert "\x1b" not in result.stderr
    assert all(len(line) < 400 for line in lines)
