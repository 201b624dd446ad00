"""Settings: the enabled clouds, the job and the issuer, read together, problems aggregated."""

from __future__ import annotations

from pathlib import Path

import pytest

from injector.clouds import aws, azure, gcp
from injector.errors import ConfigError
from injector.job import settings
from injector.job.example import EXAMPLE_ENV

SWITCHES = (
    "ENABLE_DYNAMIC_CREDENTIALS_AWS",
    "ENABLE_DYNAMIC_CREDENTIALS_AZURE",
    "ENABLE_DYNAMIC_CREDENTIALS_GCP",
)


def _problems(env: dict[str, str], *, require_key: bool = True) -> list[str]:
    with pytest.raises(ConfigError) as error:
        settings.load(env, require_key=require_key)
    return [p.variable for p in error.value.problems]


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"organizationName": "a:b", "DynamicCredentialTtl": "0", "TerrakubeHostname": "x/"},
        dict.fromkeys(SWITCHES, "false"),
        {**dict.fromkeys(SWITCHES, "off"), "WORKLOAD_IDENTITY_ROLE_AWS": "nope"},
    ],
)
def test_none_when_no_cloud_is_enabled(env: dict[str, str]) -> None:
    assert settings.load(env) is None


def test_all_three_clouds(workspace: dict[str, str]) -> None:
    loaded = settings.load(workspace)
    assert loaded is not None
    assert [type(c) for c in loaded.clouds] == [aws.AwsConfig, azure.AzureConfig, gcp.GcpConfig]
    assert [c.name for c in loaded.clouds] == ["aws", "azure", "gcp"]
    assert loaded.subject == "organization:simple:workspace:simple-cli"
    assert loaded.issuer is not None
    assert loaded.issuer.issuer == "https://terrakube-api.example.com"
    assert loaded.issuer.private_key_path == Path(workspace["DynamicCredentialPrivateKeyPath"])


@pytest.mark.parametrize(
    ("switch", "name"), list(zip(SWITCHES, ["aws", "azure", "gcp"], strict=True))
)
def test_only_the_enabled_cloud(workspace: dict[str, str], switch: str, name: str) -> None:
    env = {**workspace, **dict.fromkeys(SWITCHES, "false"), switch: "true"}
    loaded = settings.load(env)
    assert loaded is not None
    assert [c.name for c in loaded.clouds] == [name]


def test_key_not_required_for_the_dry_run() -> None:
    env = dict(EXAMPLE_ENV)
    assert _problems(env) == ["DynamicCredentialPrivateKeyPath"]
    loaded = settings.load(env, require_key=False)
    assert loaded is not None and loaded.issuer is not None
    assert loaded.issuer.private_key_path is None


def test_problems_aggregated_across_sections(workspace: dict[str, str]) -> None:
    env = {
        **workspace,
        "WORKLOAD_IDENTITY_ROLE_AWS": "arn:aws:iam::123:role/x",
        "ARM_TENANT_ID": "not-a-guid",
        "GOOGLE_CREDENTIALS": "{}",
        "workspaceName": "a:b",
        "jobId": "",
        "DynamicCredentialTtl": "0",
        "DynamicCredentialHostname": "host/",
    }
    assert _problems(env) == [
        "WORKLOAD_IDENTITY_ROLE_AWS",
        "ARM_TENANT_ID",
        "GOOGLE_CREDENTIALS",
        "jobId",
        "workspaceName",  # its ':' is the subject template's separator
        "DynamicCredentialHostname",
        "DynamicCredentialTtl",
    ]


def test_bad_switch_reported_with_the_other_problems() -> None:
    env = {"ENABLE_DYNAMIC_CREDENTIALS_AZURE": "maybe", "ENABLE_DYNAMIC_CREDENTIALS_AWS": "true"}
    problems = _problems(env)
    assert "ENABLE_DYNAMIC_CREDENTIALS_AZURE" in problems
    assert "WORKLOAD_IDENTITY_ROLE_AWS" in problems
    assert "organizationName" in problems
    assert "DynamicCredentialHostname" in problems


def test_a_bad_switch_alone_is_still_an_error() -> None:
    assert "ENABLE_DYNAMIC_CREDENTIALS_GCP" in _problems({"ENABLE_DYNAMIC_CREDENTIALS_GCP": "1.0"})


def test_error_message_lists_every_problem(workspace: dict[str, str]) -> None:
    env = {**workspace, "ARM_CLIENT_ID": "x", "DynamicCredentialTtl": "forever"}
    with pytest.raises(ConfigError) as error:
        settings.load(env)
    text = str(error.value)
    assert "ARM_CLIENT_ID: " in text
    assert "DynamicCredentialTtl: " in text


def test_the_subject_template_shapes_sub_and_needs_a_phase_for_phase(
    workspace: dict[str, str],
) -> None:
    env = {
        **workspace,
        "DynamicCredentialSubjectTemplate": "org/{organization}/ws/{workspace}/{phase}",
    }
    loaded = settings.load(env, phase="apply")
    assert loaded is not None and loaded.subject == "org/simple/ws/simple-cli/apply"
    assert _problems(env) == ["DynamicCredentialSubjectTemplate"]
    assert _problems({**env, "workspaceName": "a/b", "DynamicCredentialTtl": "0"}) == [
        "workspaceName",
        "DynamicCredentialSubjectTemplate",
        "DynamicCredentialTtl",
    ]


def test_an_error_through_every_layer_names_the_variable_the_workspace_holds(
    workspace: dict[str, str],
) -> None:
    """HCP's tagged apply role, read through the HCP, tag and phase layers (and a CI's job id):
    the problem is under HCP's name, the one the user set."""
    env = {
        **workspace,
        "TFC_AWS_PROVIDER_AUTH_PROD": "true",
        "TFC_AWS_RUN_ROLE_ARN_PROD": "arn:aws:iam::123456789012:role/ok",
        "TFC_AWS_APPLY_ROLE_ARN_PROD": "arn:aws:iam::123:role/x",
        "INJECTOR_CI": "gitlab",
        "CI_JOB_ID": "7",
    }
    env.pop("jobId", None)
    with pytest.raises(ConfigError) as caught:
        settings.load(env, phase="apply")
    assert [p.variable for p in caught.value.problems] == ["TFC_AWS_APPLY_ROLE_ARN_PROD"]
    loaded = settings.load(env, phase="plan")  # the plan phase reads the run role
    assert loaded is not None and loaded.job.job_id == "7"
