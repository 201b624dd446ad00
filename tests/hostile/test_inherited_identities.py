"""Identities the runner hands down (an EKS pod's IRSA, an AKS pod's federated token file, a CI
agent's ADC file) that a mode of injector does not replace: AWS once a tag puts every identity
into profiles, azurerm under `run --token-endpoint`, a cloud with tagged configurations only.
The real SDKs show they would win; `env` and `hook` refuse them (exit 2, naming the variable),
`run` keeps them from its command. The lists are each cloud's `identity`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from injector.clouds import aws, azure, gcp
from tests.conftest import run_injector

PROD_ROLE = "arn:aws:iam::123456789012:role/prod"
CLIENT = "00000000-0000-0000-0000-000000000001"
ACCOUNT = "prod@p.iam.gserviceaccount.com"
GCP_ACCOUNT_PROD = "TFC_GCP_RUN_SERVICE_ACCOUNT_EMAIL_PROD"
INHERITED_ROLE = "arn:aws:iam::123456789012:role/inherited-from-the-pod"

# boto3's default session, as a script in the job uses it: the untagged identity, which the
# shared config file's [default] profile holds once a tag is set.
_CALLER = """
import json, boto3
print(json.dumps(boto3.Session().client("sts").get_caller_identity()["Arn"]))
"""


@pytest.fixture
def aws_tagged(aws_only: dict[str, str]) -> dict[str, str]:
    return {
        **aws_only,
        "ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD": "true",
        "WORKLOAD_IDENTITY_ROLE_AWS_PROD": PROD_ROLE,
    }


@pytest.fixture
def irsa(tmp_path: Path) -> dict[str, str]:
    """What EKS puts into a pod with IRSA."""
    token = tmp_path / "irsa-token"
    token.write_text("eyJpod.token.from-eks")
    return {"AWS_ROLE_ARN": INHERITED_ROLE, "AWS_WEB_IDENTITY_TOKEN_FILE": str(token)}


def _caller(env: dict[str, str], moto_endpoint: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", _CALLER],
        env={"PATH": os.environ["PATH"], "AWS_ENDPOINT_URL": moto_endpoint, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    arn: str = json.loads(result.stdout)
    return arn


def test_boto3_prefers_an_inherited_role_over_the_profile(
    aws_tagged: dict[str, str], irsa: dict[str, str], tmp_path: Path, moto_endpoint: str
) -> None:
    """Why the variables are listed: with injector's profiles and the pod's variables side by
    side, boto3 assumes the pod's role instead of the [default] profile's."""
    folder = tmp_path / "creds"
    result = run_injector("env", "--format", "json", "--dir", str(folder), env=aws_tagged)
    assert result.returncode == 0, result.stderr
    exports = json.loads(result.stdout)
    assert "/terrakube-role/" in _caller({**aws_tagged, **exports}, moto_endpoint)
    assert "/inherited-from-the-pod/" in _caller({**aws_tagged, **exports, **irsa}, moto_endpoint)


def test_env_refuses_an_inherited_role_once_a_tag_is_set(
    aws_tagged: dict[str, str], irsa: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "creds"
    result = run_injector("env", "--dir", str(folder), env={**aws_tagged, **irsa})
    assert result.returncode == 2, result.stderr
    for name in aws.CLOUD.rivals.identity:
        assert f"injector: error: {name}: is set in the job's environment" in result.stderr
    assert INHERITED_ROLE not in result.stderr
    assert result.stdout == ""
    assert not folder.exists()


def test_run_keeps_an_inherited_role_from_its_command(
    aws_tagged: dict[str, str], irsa: dict[str, str], tmp_path: Path, moto_endpoint: str
) -> None:
    env = {**aws_tagged, **irsa, "AWS_ENDPOINT_URL": moto_endpoint}
    result = run_injector(
        "run", "--dir", str(tmp_path / "creds"), "--", sys.executable, "-c", _CALLER, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "/terrakube-role/" in json.loads(result.stdout)
    assert "not passing AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE to the command" in result.stderr


def test_the_untagged_mode_replaces_them_and_needs_no_refusal(
    workspace: dict[str, str], irsa: dict[str, str], tmp_path: Path
) -> None:
    env = {**workspace, **irsa}
    result = run_injector("env", "--format", "json", "--dir", str(tmp_path / "c"), env=env)
    assert result.returncode == 0, result.stderr
    exports = json.loads(result.stdout)
    assert exports["AWS_ROLE_ARN"] == workspace["WORKLOAD_IDENTITY_ROLE_AWS"]
    assert exports["AWS_WEB_IDENTITY_TOKEN_FILE"] == str(tmp_path / "c" / "aws.jwt")


_SHOW_ENV = "import json, os; print(json.dumps(dict(os.environ)))"


def test_run_with_the_token_endpoint_keeps_an_inherited_token_file_from_azurerm(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    """azurerm reads ARM_OIDC_TOKEN_FILE_PATH before it asks ARM_OIDC_REQUEST_URL: the
    endpoint's URL would never be asked."""
    other = tmp_path / "aks-token"
    other.write_text("eyJaks.token")
    env = {**workspace, azure.TOKEN_FILE_PATH: str(other), "AZURE_FEDERATED_TOKEN_FILE": ""}
    result = run_injector(
        "run", "--token-endpoint", "--dir", str(tmp_path / "creds"), "--",
        sys.executable, "-c", _SHOW_ENV, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert azure.TOKEN_FILE_PATH not in seen
    assert seen[azure.REQUEST_URL].startswith("http://127.0.0.1:")


@pytest.mark.parametrize(
    ("cloud", "tagged", "variable"),
    [
        ("AZURE", {"ARM_CLIENT_ID_PROD": CLIENT}, "ARM_OIDC_TOKEN_FILE_PATH"),
        ("AZURE", {"ARM_CLIENT_ID_PROD": CLIENT}, "AZURE_FEDERATED_TOKEN_FILE"),
        ("GCP", {GCP_ACCOUNT_PROD: ACCOUNT}, "GOOGLE_APPLICATION_CREDENTIALS"),
    ],
)
def test_a_cloud_with_tagged_configurations_only_refuses_an_inherited_identity(
    workspace: dict[str, str], tmp_path: Path, cloud: str, tagged: dict[str, str], variable: str
) -> None:
    other = tmp_path / "inherited"
    other.write_text("{}")
    env = {
        name: value
        for name, value in workspace.items()
        if not name.startswith(("ARM_", "WORKLOAD_IDENTITY_", "GOOGLE_", "TFC_"))
    }
    env.update(
        {
            **{f"ENABLE_DYNAMIC_CREDENTIALS_{c}": "false" for c in ("AWS", "AZURE", "GCP")},
            f"ENABLE_DYNAMIC_CREDENTIALS_{cloud}_PROD": "true",
            **tagged,
            variable: str(other),
        }
    )
    if cloud == "AZURE":
        env["ARM_TENANT_ID"] = workspace["ARM_TENANT_ID"]
    else:
        env["WORKLOAD_IDENTITY_AUDIENCE_GCP_PROD"] = workspace[gcp.AUDIENCE]
    folder = tmp_path / "creds"
    result = run_injector("env", "--dir", str(folder), env=env)
    assert result.returncode == 2, result.stderr
    assert f"injector: error: {variable}: is set in the job's environment" in result.stderr
    assert not folder.exists()


# What each SDK's default chain would read, given only the inherited variable (and what it
# needs besides): the inherited file, so a job that does not replace it runs as its identity.
_AZURE_IDENTITY = """
from azure.identity import DefaultAzureCredential
chain = DefaultAzureCredential().credentials
print(next(c._token_file_path for c in chain if type(c).__name__ == "WorkloadIdentityCredential"))
"""
_GOOGLE_AUTH = """
import google.auth
credentials, _ = google.auth.default()
print(credentials.info["credential_source"]["file"])
"""


@pytest.mark.parametrize(
    ("program", "variable", "content"),
    [
        (_AZURE_IDENTITY, "AZURE_FEDERATED_TOKEN_FILE", "eyJaks.token"),
        (
            _GOOGLE_AUTH,
            "GOOGLE_APPLICATION_CREDENTIALS",
            json.dumps(
                {
                    "type": "external_account",
                    "audience": "//iam.googleapis.com/projects/1/locations/global/x",
                    "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
                    "token_url": "https://sts.googleapis.com/v1/token",
                    "credential_source": {"file": "INHERITED"},
                }
            ),
        ),
    ],
)
def test_the_sdks_default_chains_take_the_inherited_identity(
    tmp_path: Path, program: str, variable: str, content: str
) -> None:
    inherited = tmp_path / "inherited"
    inherited.write_text(content)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        variable: str(inherited),
        "AZURE_CLIENT_ID": CLIENT,
        "AZURE_TENANT_ID": CLIENT,
    }
    result = subprocess.run(
        [sys.executable, "-c", program],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in (str(inherited), "INHERITED")
    assert variable in {*azure.CLOUD.rivals.identity, *gcp.CLOUD.rivals.identity}
