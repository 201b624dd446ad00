"""Two untagged configurations that give the AWS SDKs a default identity (AWS's web identity
and the Vault-backed AWS credentials file) are refused together: boto3 would quietly take the
web identity. Tagged, each is reached through its Terraform variable and both may run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from injector import clouds
from injector.clouds import crossed
from injector.errors import ConfigError
from injector.job import settings
from injector.job.example import EXAMPLE_ENV, EXAMPLE_TAG
from tests.conftest import run_injector

VAULT_BACKED = clouds.named("vault_backed_aws")
AWS = clouds.named("aws")
# Vault-backed AWS untagged, logging in through the example Vault (never reached: refused first).
UNTAGGED = VAULT_BACKED.example
# The example workspace's Vault-backed AWS, tagged (job.example).
TAGGED = {name: value for name, value in EXAMPLE_ENV.items() if name.endswith(f"_{EXAMPLE_TAG}")}

# boto3's default chain, with the credentials file and the web identity side by side; the
# credential method is known before any call to STS.
_METHOD = "import boto3; print(boto3.Session().get_credentials().method)"


def test_boto3_takes_the_web_identity_before_the_credentials_file(tmp_path: Path) -> None:
    """Why the pair is refused."""
    credentials = tmp_path / "credentials"
    credentials.write_text("[default]\naws_access_key_id = AKIA0\naws_secret_access_key = s\n")
    token = tmp_path / "aws.jwt"
    token.write_text("eyJ.e30.sig")
    chain = {
        "PATH": os.environ["PATH"],
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
    }
    methods = []
    for extra in ({}, {"AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/r"}):
        web = {"AWS_WEB_IDENTITY_TOKEN_FILE": str(token), **extra} if extra else {}
        result = subprocess.run(
            [sys.executable, "-c", _METHOD],
            env={**chain, **web},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        methods.append(result.stdout.strip())
    assert methods == ["shared-credentials-file", "assume-role-with-web-identity"]


def test_untagged_aws_and_untagged_vault_backed_aws_are_exit_2_and_nothing_is_written(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "creds"
    result = run_injector("env", "--dir", str(folder), env={**workspace, **UNTAGGED})
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert not folder.exists()
    assert result.stderr.startswith(f"injector: error: {VAULT_BACKED.switch}: is on, and so is")
    assert AWS.switch in result.stderr


# Each family of switch names: injector's, the alias (INJECTOR_ENABLE_*) and HCP Terraform's.
_FAMILIES = {
    "injector": (AWS.switch, VAULT_BACKED.switch),
    "alias": (AWS.alias, VAULT_BACKED.alias),
    "hcp": ("TFC_AWS_PROVIDER_AUTH", "TFC_VAULT_BACKED_AWS_AUTH"),
}


def _crossed(workspace: dict[str, str], aws: str, vault_backed: str) -> dict[str, str]:
    """Untagged AWS and untagged Vault-backed AWS, each switched on by the name given alone."""
    switches = (AWS.switch, VAULT_BACKED.switch)
    plain = {**workspace, **UNTAGGED}
    for switch in switches:
        plain.pop(switch)
    return {**plain, aws: "true", vault_backed: "true"}


@pytest.mark.parametrize(
    ("aws", "vault_backed"),
    [*_FAMILIES.values(), ("TFC_AWS_PROVIDER_AUTH", VAULT_BACKED.alias)],
    ids=[*_FAMILIES, "hcp-and-alias"],
)
def test_the_refusal_names_both_switches_as_the_user_set_them(
    workspace: dict[str, str], tmp_path: Path, aws: str, vault_backed: str
) -> None:
    folder = tmp_path / "creds"
    result = run_injector("env", "--dir", str(folder), env=_crossed(workspace, aws, vault_backed))
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert not folder.exists()
    assert result.stderr.startswith(f"injector: error: {vault_backed}: is on, and so is {aws},")
    # The tag suggested is a name of the family each was set in.
    assert f"({vault_backed}_<TAG> or {aws}_<TAG>," in result.stderr
    for unset in {AWS.switch, VAULT_BACKED.switch} - {aws, vault_backed}:
        assert unset not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_switch_set_under_two_names_is_named_under_both(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    env = {**_crossed(workspace, AWS.switch, VAULT_BACKED.switch), VAULT_BACKED.alias: "true"}
    result = run_injector("env", "--dir", str(tmp_path / "creds"), env=env)
    assert result.returncode == 2, result.stderr
    said = f"{VAULT_BACKED.switch} (and {VAULT_BACKED.alias}) asks for"
    assert said in result.stderr


@pytest.mark.parametrize("family", _FAMILIES.values(), ids=list(_FAMILIES))
def test_the_tag_suggested_lets_both_run(
    workspace: dict[str, str], family: tuple[str, str]
) -> None:
    aws, vault_backed = family
    env = _crossed(workspace, aws, vault_backed)
    # Following the suggestion: Vault-backed AWS's switch tagged PROD, and its identity (the
    # Vault role, which a tagged configuration never takes from the untagged one) too.
    env[f"{vault_backed}_PROD"] = env.pop(vault_backed)
    role = "WORKLOAD_IDENTITY_VAULT_BACKED_AWS_VAULT_ROLE"
    env[f"{role}_PROD"] = env.pop(role)
    loaded = settings.load(env)
    assert loaded is not None
    assert {(config.name, config.tag) for config in loaded.clouds} >= {
        ("aws", None),
        ("vault_backed_aws", "PROD"),
    }


@pytest.mark.parametrize(
    "tagged",
    [
        # Vault-backed AWS tagged (the example workspace's way), AWS untagged.
        TAGGED,
        # Vault-backed AWS untagged, AWS tagged only.
        {
            **UNTAGGED,
            f"{AWS.switch}": "false",
            f"{AWS.switch}_PROD": "true",
            "WORKLOAD_IDENTITY_ROLE_AWS_PROD": "arn:aws:iam::123456789012:role/prod",
        },
    ],
    ids=["vault-backed-tagged", "aws-tagged"],
)
def test_a_tag_on_either_side_lets_both_run(
    workspace: dict[str, str], tagged: dict[str, str]
) -> None:
    loaded = settings.load({**workspace, **tagged})
    assert loaded is not None
    names = {(config.name, config.tag) for config in loaded.clouds}
    assert {"aws", "vault_backed_aws"} <= {name for name, _ in names}


def test_the_refusal_reads_the_registry_not_names() -> None:
    # Only a cloud that yields to another is refused, and only while both are untagged.
    assert VAULT_BACKED.rivals.yields_to == ("aws",)
    assert all(
        cloud.rivals.yields_to == () for cloud in clouds.registered() if cloud is not VAULT_BACKED
    )
    with pytest.raises(ConfigError) as refused:
        settings.load({**_switched_on(), **UNTAGGED})
    assert [problem.variable for problem in refused.value.problems] == [VAULT_BACKED.switch]
    crossed.refuse([], {})  # nothing enabled: nothing to refuse


def _switched_on() -> dict[str, str]:
    from injector.job.example import JOB_EXAMPLE

    return {**JOB_EXAMPLE, **AWS.example, "DynamicCredentialPrivateKeyPath": "/nonexistent"}


def test_the_example_workspace_runs_every_cloud() -> None:
    result = run_injector("--example", env={})
    assert result.returncode == 0, result.stderr
    assert f"== vault_backed_aws_{EXAMPLE_TAG}: token" in result.stdout
