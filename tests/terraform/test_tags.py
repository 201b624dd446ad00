"""The real `terraform` with tagged configurations: HCP Terraform's `TF_VAR_tfc_*` values parse as
the types HCP's code declares, and the `s3` backend (aws-sdk-go-base, as the AWS provider) logs
in to each tag's role the ways HCP's and injector's provider blocks ask for it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.standins.accounts import ROLE_ARN
from tests.support import tagged, terraform
from tests.support.tagged import PROD_AUDIENCE
from tests.support.terraform import Workdir
from tests.terraform.test_s3 import backend_config, bucket, endpoints

if TYPE_CHECKING:
    from tests.standins.fixtures import StandIns

pytest_plugins = ["tests.standins.fixtures"]
__all__ = ["bucket"]  # the s3 tests' bucket fixture, used here too

# HCP Terraform's declarations, as its documentation gives them to copy.
HCP_VARIABLES = """
variable "tfc_aws_dynamic_credentials" {
  type = object({
    default = object({ shared_config_file = string })
    aliases = map(object({ shared_config_file = string }))
  })
}
variable "tfc_azure_dynamic_credentials" {
  type = object({
    default = object({ client_id_file_path = string, oidc_token_file_path = string })
    aliases = map(object({ client_id_file_path = string, oidc_token_file_path = string }))
  })
}
variable "tfc_gcp_dynamic_credentials" {
  type = object({
    default = object({ credentials = string })
    aliases = map(object({ credentials = string }))
  })
}
output "aws_prod" {
  value = var.tfc_aws_dynamic_credentials.aliases["PROD"].shared_config_file
}
output "aws_default" {
  value = var.tfc_aws_dynamic_credentials.default.shared_config_file
}
output "azure_prod" {
  value = var.tfc_azure_dynamic_credentials.aliases["PROD"].client_id_file_path
}
output "azure_default_is_null" {
  value = var.tfc_azure_dynamic_credentials.default == null
}
output "gcp_prod" {
  value = var.tfc_gcp_dynamic_credentials.aliases["PROD"].credentials
}
"""


def test_hcp_shaped_values_parse_as_hcps_types(workspace: dict[str, str], tmp_path: Path) -> None:
    env = {
        **workspace,
        "ENABLE_DYNAMIC_CREDENTIALS_AZURE": "false",
        "ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD": "true",
        "WORKLOAD_IDENTITY_ROLE_AWS_PROD": tagged.PROD_ROLE_ARN,
        "INJECTOR_ENABLE_AZURE_PROD": "true",
        "ARM_CLIENT_ID_PROD": "7f0c1e9a-2b3d-4e5f-8a9b-0c1d2e3f4a5b",
        "ENABLE_DYNAMIC_CREDENTIALS_GCP_PROD": "true",
    }
    folder = tmp_path / "creds"
    exports = terraform.injector_exports(env, folder)
    workdir = Workdir(tmp_path / "tf", "local")
    (workdir.module / "main.tf").write_text(HCP_VARIABLES)

    commands = [
        [terraform.binary(), f"-chdir={workdir.module}", "init", "-input=false", "-no-color"],
        [terraform.binary(), f"-chdir={workdir.module}", "apply", "-auto-approve", "-no-color"],
        [terraform.binary(), f"-chdir={workdir.module}", "output", "-json"],
    ]
    for command in commands:
        result = subprocess.run(
            command,
            env=workdir.environment(exports),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    outputs = {name: entry["value"] for name, entry in json.loads(result.stdout).items()}

    assert outputs == {
        "aws_prod": str(folder / "aws_PROD.config"),
        "aws_default": str(folder / "aws.config"),
        "azure_prod": str(folder / "azure_PROD.client-id"),
        "azure_default_is_null": True,
        "gcp_prod": str(folder / "gcp_PROD-credentials.json"),
    }


# --- The s3 backend: which identity each way of asking gets -------------------------------------


@pytest.fixture
def prod_env(
    strict_workspace: dict[str, str], standins: StandIns, moto_endpoint: str
) -> dict[str, str]:
    """AWS with a PROD configuration whose role only a PROD token may assume, and a default
    configuration whose role does not exist: a login that succeeds used PROD's identity."""
    role = tagged.prod_role(moto_endpoint, standins.issuer.url)
    return terraform.only(
        "ENABLE_DYNAMIC_CREDENTIALS_AWS",
        {
            **strict_workspace,
            "WORKLOAD_IDENTITY_ROLE_AWS": "arn:aws:iam::123456789012:role/no-such-role",
            "ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD": "true",
            "WORKLOAD_IDENTITY_ROLE_AWS_PROD": role,
            "WORKLOAD_IDENTITY_AUDIENCE_AWS_PROD": PROD_AUDIENCE,
        },
    )


def _init(
    tmp_path: Path, exports: dict[str, str], settings: str, standins: StandIns, moto: str
) -> terraform.Outcome:
    """`terraform init` with the s3 backend, `settings` (HCL) in a backend config file."""
    workdir = Workdir(tmp_path / "tf", "s3")
    file = tmp_path / "backend.hcl"
    file.write_text(settings)
    init = workdir.commands(backend_config("tags/terraform.tfstate"))[0]
    result = subprocess.run(
        [*init, f"-backend-config={file}"],
        env=workdir.environment({**exports, **endpoints(standins.aws.url, moto)}),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return terraform.Outcome(result.returncode, result.stdout, result.stderr)


@pytest.mark.usefixtures("bucket")
def test_the_s3_backend_takes_the_profile_of_a_tag(
    prod_env: dict[str, str], standins: StandIns, moto_endpoint: str, tmp_path: Path
) -> None:
    """`profile = "PROD"` against injector's AWS_CONFIG_FILE (injector's own blocks)."""
    exports = terraform.injector_exports(prod_env, tmp_path / "creds")
    outcome = _init(tmp_path, exports, 'profile = "PROD"\n', standins, moto_endpoint)

    assert outcome.returncode == 0, outcome.output


@pytest.mark.usefixtures("bucket")
def test_the_s3_backend_takes_hcps_per_alias_file_without_a_profile(
    prod_env: dict[str, str], standins: StandIns, moto_endpoint: str, tmp_path: Path
) -> None:
    """HCP's blocks: `shared_config_files = [aliases["PROD"].shared_config_file]`, no profile."""
    exports = terraform.injector_exports(prod_env, tmp_path / "creds")
    hcp = json.loads(exports["TF_VAR_tfc_aws_dynamic_credentials"])
    settings = (
        f"shared_config_files = [{json.dumps(hcp['aliases']['PROD']['shared_config_file'])}]\n"
    )

    outcome = _init(tmp_path, exports, settings, standins, moto_endpoint)

    assert outcome.returncode == 0, outcome.output


@pytest.mark.usefixtures("bucket")
def test_web_identity_in_the_environment_wins_over_a_shared_config_file(
    prod_env: dict[str, str], standins: StandIns, moto_endpoint: str, tmp_path: Path
) -> None:
    """Why a tag moves every identity out of the environment: with AWS_ROLE_ARN and
    AWS_WEB_IDENTITY_TOKEN_FILE set (the untagged exports), aws-sdk-go-base ignores the profile
    of a `shared_config_files` that names no profile, so HCP's alias block would run as the
    default role."""
    folder = tmp_path / "creds"
    exports = terraform.injector_exports(prod_env, folder)
    hcp = json.loads(exports["TF_VAR_tfc_aws_dynamic_credentials"])
    settings = (
        f"shared_config_files = [{json.dumps(hcp['aliases']['PROD']['shared_config_file'])}]\n"
    )
    # The default configuration's identity, in the environment as it is without tags.
    untagged = {
        **exports,
        "AWS_ROLE_ARN": ROLE_ARN.replace("terrakube-strict", "no-such-role"),
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(folder / "aws.jwt"),
    }

    outcome = _init(tmp_path, untagged, settings, standins, moto_endpoint)

    assert outcome.returncode != 0
    assert "AccessDenied" in outcome.output, outcome.output
