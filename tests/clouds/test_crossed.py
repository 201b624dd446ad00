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
    crossed.refuse([])  # nothing enabled: nothing to refuse


def _switched_on() -> dict[str, str]:
    from injector.job.example import JOB_EXAMPLE

    return {**JOB_EXAMPLE, **AWS.example, "DynamicCredentialPrivateKeyPath": "/nonexistent"}


def test_the_example_workspace_runs_every_cloud() -> None:
    result = run_injector("--example", env={})
    assert result.returncode == 0, result.stderr
    assert f"== vault_backed_aws_{EXAMPLE_TAG}: token" in result.stdout
