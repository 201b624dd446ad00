"""Two configurations of one cloud in one job, each logging in to its own identity through the
real SDKs and the strict stand-ins: boto3 with a profile per tag (and HCP's per-alias file),
azure-identity and google-auth with the files HCP's variables name.

Each SDK runs in a child whose environment is only the exports, the stand-in endpoints and
CAs, PATH and a HOME of its own. The children print what they obtained, never a token.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import pytest

from injector.job.example import EXAMPLE_ENV
from tests.conftest import KeyFiles, run_injector
from tests.standins.accounts import (
    ACCOUNT,
    AZURE_AUDIENCE,
    GCP_PROJECT,
    ROLE_ARN,
    ROLE_NAME,
    SUBJECT,
)
from tests.standins.entra import EntraStandIn, FederatedCredential, Tenant
from tests.standins.google import GoogleStandIn, Provider, ServiceAccount
from tests.support import tagged
from tests.support.tagged import PROD_AUDIENCE, PROD_ROLE_NAME

if TYPE_CHECKING:
    from tests.standins.fixtures import Issuer, StandIns, TestTls

pytest_plugins = ["tests.standins.fixtures"]

SWITCHES = ("AWS", "AZURE", "GCP", "VAULT")
PROD_CLIENT = "7f0c1e9a-2b3d-4e5f-8a9b-0c1d2e3f4a5b"
UNKNOWN_CLIENT = "11111111-2222-4333-8444-555555555555"
PROD_PROVIDER = (
    "//iam.googleapis.com/projects/210987654321/locations/global/"
    "workloadIdentityPools/terrakube-prod/providers/terrakube-prod"
)
PROD_ACCOUNT = "terraform-prod@prod-project.iam.gserviceaccount.com"

AWS_LOGINS = """
import json, os, boto3
from botocore.exceptions import ClientError
def who(**session):
    try:
        identity = boto3.Session(**session).client("sts").get_caller_identity()
    except ClientError as error:
        return {"ok": False, "code": error.response["Error"]["Code"]}
    return {"ok": True, "arn": identity["Arn"]}
out = {"default": who(), "PROD": who(profile_name="PROD")}
# HCP's provider blocks: `shared_config_files = [aliases["PROD"].shared_config_file]`, no profile.
hcp = json.loads(os.environ["TF_VAR_tfc_aws_dynamic_credentials"])
os.environ["AWS_CONFIG_FILE"] = hcp["aliases"]["PROD"]["shared_config_file"]
out["hcp PROD"] = who()
print(json.dumps(out))
"""

AZURE_LOGINS = """
import json, os
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import WorkloadIdentityCredential
hcp = json.loads(os.environ["TF_VAR_tfc_azure_dynamic_credentials"])
out = {}
for alias, files in [("default", hcp["default"]), *hcp["aliases"].items()]:
    with open(files["client_id_file_path"]) as f:
        client_id = f.read()
    credential = WorkloadIdentityCredential(
        tenant_id=os.environ["AZURE_TENANT_ID"], client_id=client_id,
        token_file_path=files["oidc_token_file_path"])
    try:
        credential.get_token("https://management.azure.com/.default")
    except ClientAuthenticationError as error:
        out[alias] = {"ok": False, "client_id": client_id, "message": error.message}
    else:
        out[alias] = {"ok": True, "client_id": client_id}
print(json.dumps(out))
"""

GCP_LOGINS = """
import json, os, sys
import google.auth
from google.auth.exceptions import GoogleAuthError
from google.auth.transport.requests import AuthorizedSession
hcp = json.loads(os.environ["TF_VAR_tfc_gcp_dynamic_credentials"])
out = {}
for alias, entry in [("default", hcp["default"]), *hcp["aliases"].items()]:
    try:
        # As the google provider's `credentials = <file>`; the project is the exported one.
        os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = entry["credentials"]
        credentials, _ = google.auth.default(
            scopes=["https://www.googleapis.com/auth/cloud-platform"])
        answer = AuthorizedSession(credentials).get(
            sys.argv[1], params={"project": os.environ["GOOGLE_PROJECT"]}, timeout=10)
    except GoogleAuthError as error:
        out[alias] = {"ok": False, "message": str(error)}
    else:
        out[alias] = {"ok": answer.status_code == 200, "status": answer.status_code}
print(json.dumps(out))
"""


class Login(TypedDict, total=False):
    """One login's outcome as a child script above prints it: `ok`, and what it saw."""

    ok: bool
    arn: str
    code: str
    client_id: str
    message: str
    status: int


def _only(cloud: str, env: Mapping[str, str]) -> dict[str, str]:
    return {
        **env,
        **{f"ENABLE_DYNAMIC_CREDENTIALS_{name}": str(name == cloud).lower() for name in SWITCHES},
    }


def _exports(env: Mapping[str, str], folder: Path) -> dict[str, str]:
    result = run_injector("env", "--dir", str(folder), "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    exports: dict[str, str] = json.loads(result.stdout)
    return exports


def _child(script: str, env: Mapping[str, str], home: Path, *args: str) -> dict[str, Login]:
    home.mkdir(exist_ok=True)
    child = subprocess.run(
        [sys.executable, "-c", script, *args],
        env={**env, "PATH": os.environ["PATH"], "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    outcome: dict[str, Login] = json.loads(child.stdout)
    return outcome


# --- AWS -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prod_role(standins: StandIns, moto_endpoint: str) -> str:
    return tagged.prod_role(moto_endpoint, standins.issuer.url)


def _aws_env(strict_workspace: dict[str, str], role: str) -> dict[str, str]:
    return {
        **_only("AWS", strict_workspace),
        "ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD": "true",
        "WORKLOAD_IDENTITY_ROLE_AWS_PROD": role,
        "WORKLOAD_IDENTITY_AUDIENCE_AWS_PROD": PROD_AUDIENCE,
    }


def _aws_logins(env: dict[str, str], standins: StandIns, tmp_path: Path) -> dict[str, Login]:
    exports = _exports(env, tmp_path / "creds")
    overrides = {"AWS_ENDPOINT_URL_STS": standins.aws.url, "AWS_MAX_ATTEMPTS": "1"}
    return _child(AWS_LOGINS, {**exports, **overrides}, tmp_path / "home")


def test_boto3_logs_in_to_two_roles_with_a_profile_per_tag(
    strict_workspace: dict[str, str], standins: StandIns, prod_role: str, tmp_path: Path
) -> None:
    served = len(standins.aws.seen)
    logins = _aws_logins(_aws_env(strict_workspace, prod_role), standins, tmp_path)

    session = "terrakube-simple-simple-cli-1"
    assert logins["default"] == {
        "ok": True,
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE_NAME}/{session}",
    }
    prod = {"ok": True, "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{PROD_ROLE_NAME}/{session}"}
    assert logins["PROD"] == prod
    assert logins["hcp PROD"] == prod
    # Each login went through the stand-in's check (assume, then moto's GetCallerIdentity).
    assert len(standins.aws.seen) - served == 6


def test_a_tag_cannot_borrow_another_roles_trust(
    strict_workspace: dict[str, str], standins: StandIns, prod_role: str, tmp_path: Path
) -> None:
    """The PROD token (aud PROD_AUDIENCE) pointed at the default role, which trusts only the
    default audience: refused, while the default configuration still logs in."""
    logins = _aws_logins(_aws_env(strict_workspace, ROLE_ARN), standins, tmp_path)

    assert logins["default"]["ok"] is True
    assert logins["PROD"] == {"ok": False, "code": "AccessDenied"}


# --- Azure -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_apps(issuer: Issuer, test_tls: TestTls) -> Iterator[EntraStandIn]:
    """Entra with the example's app and a PROD app, each trusting the workspace's sub."""
    trust = [FederatedCredential(issuer=issuer.url, subject=SUBJECT, audiences=(AZURE_AUDIENCE,))]
    tenant = Tenant(
        tenant_id=EXAMPLE_ENV["ARM_TENANT_ID"],
        apps={EXAMPLE_ENV["ARM_CLIENT_ID"]: trust, PROD_CLIENT: trust},
        subscriptions=(EXAMPLE_ENV["ARM_SUBSCRIPTION_ID"],),
    )
    standin = EntraStandIn(tenant, test_tls.server_context(), test_tls.client_context())
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()


def _azure_logins(
    strict_workspace: dict[str, str],
    entra: EntraStandIn,
    standins: StandIns,
    tmp_path: Path,
    client: str,
) -> dict[str, Login]:
    env = {
        **_only("AZURE", strict_workspace),
        "AZURE_AUTHORITY_HOST": entra.url + "/",
        "ENABLE_DYNAMIC_CREDENTIALS_AZURE_PROD": "true",
        "ARM_CLIENT_ID_PROD": client,
    }
    exports = _exports(env, tmp_path / "creds")
    ca = str(standins.tls.ca_file)
    return _child(
        AZURE_LOGINS, {**exports, "REQUESTS_CA_BUNDLE": ca, "SSL_CERT_FILE": ca}, tmp_path / "h"
    )


def test_azure_identity_logs_in_as_two_apps(
    strict_workspace: dict[str, str], two_apps: EntraStandIn, standins: StandIns, tmp_path: Path
) -> None:
    logins = _azure_logins(strict_workspace, two_apps, standins, tmp_path, PROD_CLIENT)

    assert logins == {
        "default": {"ok": True, "client_id": EXAMPLE_ENV["ARM_CLIENT_ID"]},
        "PROD": {"ok": True, "client_id": PROD_CLIENT},
    }


def test_azure_refuses_a_tagged_app_without_a_federated_credential(
    strict_workspace: dict[str, str], two_apps: EntraStandIn, standins: StandIns, tmp_path: Path
) -> None:
    logins = _azure_logins(strict_workspace, two_apps, standins, tmp_path, UNKNOWN_CLIENT)

    assert logins["default"]["ok"] is True
    assert logins["PROD"]["ok"] is False
    assert logins["PROD"]["client_id"] == UNKNOWN_CLIENT


# --- GCP -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_pools(issuer: Issuer, test_tls: TestTls) -> Iterator[GoogleStandIn]:
    """Google with the example's provider and service account, and a PROD provider whose
    principal alone may impersonate the PROD service account."""
    default = Provider(
        resource=EXAMPLE_ENV["WORKLOAD_IDENTITY_AUDIENCE_GCP"],
        issuer=issuer.url,
        allowed_subjects=(SUBJECT,),
    )
    prod = Provider(resource=PROD_PROVIDER, issuer=issuer.url, allowed_subjects=(SUBJECT,))
    standin = GoogleStandIn(
        providers=(default, prod),
        service_accounts=(
            ServiceAccount(
                EXAMPLE_ENV["WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL"],
                workload_identity_users=(default.principal(SUBJECT),),
            ),
            ServiceAccount(PROD_ACCOUNT, workload_identity_users=(prod.principal(SUBJECT),)),
        ),
        project=GCP_PROJECT,
        tls=test_tls.server_context(),
        issuer_trust=test_tls.client_context(),
    )
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()


def _gcp_logins(
    strict_workspace: dict[str, str],
    google: GoogleStandIn,
    standins: StandIns,
    tmp_path: Path,
    account: str,
) -> dict[str, Login]:
    env = {
        **_only("GCP", strict_workspace),
        "WORKLOAD_IDENTITY_STS_URL_GCP": google.sts_url,
        "WORKLOAD_IDENTITY_IAM_URL_GCP": google.url,
        "ENABLE_DYNAMIC_CREDENTIALS_GCP_PROD": "true",
        "WORKLOAD_IDENTITY_AUDIENCE_GCP_PROD": PROD_PROVIDER,
        "WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL_PROD": account,
    }
    exports = _exports(env, tmp_path / "creds")
    ca = str(standins.tls.ca_file)
    return _child(
        GCP_LOGINS,
        {**exports, "REQUESTS_CA_BUNDLE": ca, "SSL_CERT_FILE": ca},
        tmp_path / "h",
        google.url + "/storage/v1/b",
    )


def test_google_auth_impersonates_two_service_accounts(
    strict_workspace: dict[str, str], two_pools: GoogleStandIn, standins: StandIns, tmp_path: Path
) -> None:
    logins = _gcp_logins(strict_workspace, two_pools, standins, tmp_path, PROD_ACCOUNT)

    assert logins == {"default": {"ok": True, "status": 200}, "PROD": {"ok": True, "status": 200}}
    prefix = "POST /v1/projects/-/serviceAccounts/"
    impersonated = [seen for seen in two_pools.seen if seen.startswith(prefix)]
    assert impersonated[-2:] == [
        f"{prefix}{EXAMPLE_ENV['WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL']}:generateAccessToken",
        f"{prefix}{PROD_ACCOUNT}:generateAccessToken",
    ]


def test_google_refuses_the_prod_pool_the_default_service_account(
    strict_workspace: dict[str, str], two_pools: GoogleStandIn, standins: StandIns, tmp_path: Path
) -> None:
    account = EXAMPLE_ENV["WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL"]
    logins = _gcp_logins(strict_workspace, two_pools, standins, tmp_path, account)

    assert logins["default"] == {"ok": True, "status": 200}
    assert logins["PROD"]["ok"] is False
    assert "getAccessToken" in logins["PROD"]["message"]


# --- doctor and the dry run show every configuration ------------------------------------------


def test_doctor_checks_and_logs_in_every_configuration(
    strict_workspace: dict[str, str],
    standins: StandIns,
    prod_role: str,
    key_files: KeyFiles,
    tmp_path: Path,
) -> None:
    ca = str(standins.tls.ca_file)
    key = tmp_path / "private.pem"
    key.write_bytes(key_files.private_pkcs8.read_bytes())
    key.chmod(0o600)
    env = {
        **_aws_env(strict_workspace, prod_role),
        "DynamicCredentialPrivateKeyPath": str(key),
        "SSL_CERT_FILE": ca,
        "REQUESTS_CA_BUNDLE": ca,
        "AWS_ENDPOINT_URL_STS": standins.aws.url,
        "AWS_MAX_ATTEMPTS": "1",
    }
    result = run_injector("doctor", "--login", env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = {line.split()[1]: line for line in result.stdout.splitlines()}
    assert "aws, aws_PROD enabled" in lines["settings"]
    assert f"assumed-role/{PROD_ROLE_NAME}/" in lines["aws_PROD.login"]
    assert "assumed-role/terrakube-strict/" in lines["aws.login"]
    assert any(rule.startswith("aws_PROD.") and rule != "aws_PROD.login" for rule in lines)
    assert "eyJ" not in result.stdout + result.stderr


def test_the_dry_run_shows_every_configuration(strict_workspace: dict[str, str]) -> None:
    env = {**_aws_env(strict_workspace, tagged.PROD_ROLE_ARN)}
    env.pop("DynamicCredentialPrivateKeyPath")
    result = run_injector(env=env)

    assert result.returncode == 0, result.stderr
    assert "== aws: token for audience aws.workload.identity" in result.stdout
    assert f"== aws_PROD: token for audience {PROD_AUDIENCE}" in result.stdout
    assert "[profile PROD]" in result.stdout
    assert "== HCP Terraform's variables" in result.stdout
    assert "TF_VAR_tfc_aws_dynamic_credentials=" in result.stdout
