"""AWS session tags through the strict STS stand-in, with boto3 fed only the exports: one role
serves every workspace of an organization, told apart by `aws:PrincipalTag`, as Terrakube's
`ENABLE_AWS_SESSION_TAGS` makes possible (terrakube#3283)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest

from tests.conftest import run_injector
from tests.standins.accounts import ACCOUNT, AWS_AUDIENCE
from tests.standins.aws_sts import TEST_CREDENTIALS

if TYPE_CHECKING:
    from tests.standins.fixtures import StandIns

pytest_plugins = ["tests.standins.fixtures"]

ORG_ROLE = "terrakube-org-simple"
UNTAGGED_ROLE = "terrakube-org-simple-no-tagsession"

WHO_AM_I = """
import json, boto3
from botocore.exceptions import ClientError
session = boto3.Session()
try:
    identity = session.client("sts").get_caller_identity()
except ClientError as error:
    print(json.dumps({"ok": False, "code": error.response["Error"]["Code"],
                      "message": error.response["Error"]["Message"]}))
else:
    print(json.dumps({"ok": True, "arn": identity["Arn"],
                      "key": session.get_credentials().access_key}))
"""


def _organization_trust(provider_arn: str, provider_url: str, actions: list[str]) -> str:
    # examples/aws/trust's organization role: any workspace of `simple`, and the token must tag
    # the session with that organization.
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": actions,
                    "Condition": {
                        "StringEquals": {
                            f"{provider_url}:aud": AWS_AUDIENCE,
                            "aws:RequestTag/terrakube:org": "simple",
                        },
                        "StringLike": {f"{provider_url}:sub": "organization:simple:workspace:*"},
                    },
                }
            ],
        }
    )


@pytest.fixture(scope="module")
def organization_roles(moto_endpoint: str, standins: StandIns) -> None:
    iam = boto3.client(
        "iam", endpoint_url=moto_endpoint, region_name="us-east-1", **TEST_CREDENTIALS
    )
    provider_url = standins.issuer.url.removeprefix("https://")
    provider_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{provider_url}"
    both = ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"]
    iam.create_role(
        RoleName=ORG_ROLE,
        AssumeRolePolicyDocument=_organization_trust(provider_arn, provider_url, both),
    )
    iam.create_role(
        RoleName=UNTAGGED_ROLE,
        AssumeRolePolicyDocument=_organization_trust(
            provider_arn, provider_url, ["sts:AssumeRoleWithWebIdentity"]
        ),
    )


def _login(env: dict[str, str], standins: StandIns, tmp_path: Path, name: str) -> dict[str, object]:
    result = run_injector("env", "--dir", str(tmp_path / name), "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    exports = json.loads(result.stdout)
    home = tmp_path / f"{name}-home"
    home.mkdir()
    child = subprocess.run(
        [sys.executable, "-c", WHO_AM_I],
        env={
            **exports,
            "AWS_ENDPOINT_URL_STS": standins.aws.url,
            "AWS_MAX_ATTEMPTS": "1",
            "PATH": os.environ["PATH"],
            "HOME": str(home),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    outcome: dict[str, object] = json.loads(child.stdout)
    return outcome


def _aws_only(strict_workspace: dict[str, str], role: str, **extra: str) -> dict[str, str]:
    return {
        **strict_workspace,
        "ENABLE_DYNAMIC_CREDENTIALS_AZURE": "false",
        "ENABLE_DYNAMIC_CREDENTIALS_GCP": "false",
        "WORKLOAD_IDENTITY_ROLE_AWS": f"arn:aws:iam::{ACCOUNT}:role/{role}",
        **extra,
    }


@pytest.mark.usefixtures("organization_roles")
@pytest.mark.parametrize(
    ("workspace_name", "project", "tags"),
    [
        ("simple-cli", None, {"terrakube:org": "simple", "terrakube:workspace": "simple-cli"}),
        (
            "payments prod",
            "fin/ops",
            {
                "terrakube:org": "simple",
                "terrakube:workspace": "payments prod",
                "terrakube:project": "fin/ops",
            },
        ),
        ("naïve", None, {"terrakube:org": "simple", "terrakube:workspace": "na_ve"}),
    ],
)
def test_one_role_serves_each_workspace_of_the_organization(
    strict_workspace: dict[str, str],
    standins: StandIns,
    tmp_path: Path,
    workspace_name: str,
    project: str | None,
    tags: dict[str, str],
) -> None:
    env = _aws_only(
        strict_workspace,
        ORG_ROLE,
        ENABLE_AWS_SESSION_TAGS="true",
        workspaceName=workspace_name,
        **({"projectName": project} if project else {}),
    )
    outcome = _login(env, standins, tmp_path, "tagged")
    assert outcome["ok"] is True, outcome
    assert str(outcome["arn"]).startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/{ORG_ROLE}/")
    # The session's aws:PrincipalTag values, which the role's permissions policy reads.
    assert standins.aws.principal_tags[str(outcome["key"])] == tags


@pytest.mark.usefixtures("organization_roles")
def test_without_session_tags_the_organization_role_refuses(
    strict_workspace: dict[str, str], standins: StandIns, tmp_path: Path
) -> None:
    outcome = _login(_aws_only(strict_workspace, ORG_ROLE), standins, tmp_path, "untagged")
    assert outcome["ok"] is False
    assert outcome["code"] == "AccessDenied"


@pytest.mark.usefixtures("organization_roles")
def test_another_organization_is_refused(
    strict_workspace: dict[str, str], standins: StandIns, tmp_path: Path
) -> None:
    env = _aws_only(
        strict_workspace, ORG_ROLE, ENABLE_AWS_SESSION_TAGS="true", organizationName="other"
    )
    outcome = _login(env, standins, tmp_path, "other")
    assert outcome["ok"] is False
    assert outcome["code"] == "AccessDenied"


@pytest.mark.usefixtures("organization_roles")
def test_a_trust_without_sts_tag_session_refuses_tagged_tokens(
    strict_workspace: dict[str, str], standins: StandIns, tmp_path: Path
) -> None:
    env = _aws_only(strict_workspace, UNTAGGED_ROLE, ENABLE_AWS_SESSION_TAGS="true")
    outcome = _login(env, standins, tmp_path, "no-tag-session")
    assert outcome == {
        "ok": False,
        "code": "AccessDenied",
        "message": "Not authorized to perform sts:TagSession",
    }
