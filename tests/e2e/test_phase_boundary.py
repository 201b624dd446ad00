"""Plan and apply as a security boundary, proven with the real SDKs through the strict stand-ins:
with {phase} in DynamicCredentialSubjectTemplate, and each identity trusting the sub that the
trust examples' subject.tf renders for its phase (evaluated by `terraform console`), a plan
token cannot assume the apply identity (AWS role, Entra app, GCP service account) and the apply
token can; without {phase} the two tokens are interchangeable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest

from injector.job.example import EXAMPLE_ENV
from tests.e2e.test_login_strict import _login, _only
from tests.standins import aws_account
from tests.standins.accounts import AZURE_AUDIENCE, GCP_PROJECT, GCP_PROVIDER
from tests.standins.aws_sts import TEST_CREDENTIALS
from tests.standins.entra import EntraStandIn, FederatedCredential, Tenant
from tests.standins.google import GoogleStandIn, Provider, ServiceAccount
from tests.support import terraform

if TYPE_CHECKING:
    from tests.standins.fixtures import StandIns

pytest_plugins = ["tests.standins.fixtures"]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PHASES = ("plan", "apply")
TEMPLATES = {"phased": terraform.PHASED_TEMPLATE, "plain": None}
APP = {
    "plan": "1b0e4a3e-5d7c-4a63-9a8e-2f4b1c6d7e01",
    "apply": "1b0e4a3e-5d7c-4a63-9a8e-2f4b1c6d7e02",
}


@dataclass(frozen=True)
class Identities:
    """Per template kind and phase: the AWS role ARN, Entra client id and GCP service account."""

    standins: StandIns
    role: dict[tuple[str, str], str]
    app: dict[tuple[str, str], str]
    account: dict[tuple[str, str], str]


def _subjects(cloud: str, kind: str) -> dict[str, str]:
    return terraform.trust_subjects(
        EXAMPLES / cloud / "trust",
        EXAMPLE_ENV["organizationName"],
        EXAMPLE_ENV["workspaceName"],
        TEMPLATES[kind],
    )


def _trust(provider_arn: str, provider_url: str, sub: str) -> str:
    # What examples/aws/trust renders for one role (without sts:TagSession, not needed here).
    return json.dumps(aws_account.trust_policy(provider_arn, provider_url, sub))


@pytest.fixture(scope="module")
def identities(moto_endpoint: str, standins: StandIns) -> Iterator[Identities]:
    from tests.standins.fixtures import StandIns

    iam = boto3.client(
        "iam", endpoint_url=moto_endpoint, region_name="us-east-1", **TEST_CREDENTIALS
    )
    issuer = standins.issuer.url
    provider_url = issuer.removeprefix("https://")
    (provider,) = [
        p["Arn"]
        for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
        if p["Arn"].endswith(provider_url)
    ]
    role, app, account, credentials, users, subjects = {}, {}, {}, {}, {}, set()
    for number, kind in enumerate(TEMPLATES):
        aws, azure, gcp = (_subjects(cloud, kind) for cloud in ("aws", "azure", "gcp"))
        for phase in PHASES:
            name = f"phase-{kind}-{phase}"
            role[kind, phase] = iam.create_role(
                RoleName=name, AssumeRolePolicyDocument=_trust(provider, provider_url, aws[phase])
            )["Role"]["Arn"]
            client = APP[phase][:-3] + f"{number}{APP[phase][-2:]}"
            app[kind, phase] = client
            credentials[client] = [
                FederatedCredential(
                    issuer=issuer, subject=azure[phase], audiences=(AZURE_AUDIENCE,)
                )
            ]
            email = f"{name}@{GCP_PROJECT}.iam.gserviceaccount.com"
            account[kind, phase] = email
            users[email] = gcp[phase]
            subjects.add(gcp[phase])
    entra = EntraStandIn(
        Tenant(
            tenant_id=EXAMPLE_ENV["ARM_TENANT_ID"],
            apps=credentials,
            subscriptions=(EXAMPLE_ENV["ARM_SUBSCRIPTION_ID"],),
        ),
        standins.tls.server_context(),
        standins.tls.client_context(),
    )
    pool = Provider(resource=GCP_PROVIDER, issuer=issuer, allowed_subjects=tuple(sorted(subjects)))
    google = GoogleStandIn(
        providers=(pool,),
        service_accounts=tuple(
            ServiceAccount(email, workload_identity_users=(pool.principal(sub),))
            for email, sub in users.items()
        ),
        project=GCP_PROJECT,
        tls=standins.tls.server_context(),
        issuer_trust=standins.tls.client_context(),
    )
    entra.start()
    google.start()
    try:
        yield Identities(
            StandIns(
                tls=standins.tls,
                issuer=standins.issuer,
                aws=standins.aws,
                entra=entra,
                google=google,
            ),
            role,
            app,
            account,
        )
    finally:
        entra.stop()
        google.stop()


def _workspace(strict_workspace: dict[str, str], ids: Identities, kind: str) -> dict[str, str]:
    """Plan and apply identities as a workspace sets them: the _PLAN/_APPLY variables."""
    env = {
        **strict_workspace,
        "AZURE_AUTHORITY_HOST": ids.standins.entra.url + "/",
        "WORKLOAD_IDENTITY_STS_URL_GCP": ids.standins.google.sts_url,
        "WORKLOAD_IDENTITY_IAM_URL_GCP": ids.standins.google.url,
    }
    template = TEMPLATES[kind]
    if template is not None:
        env["DynamicCredentialSubjectTemplate"] = template
    for phase in PHASES:
        suffix = phase.upper()
        env[f"WORKLOAD_IDENTITY_ROLE_AWS_{suffix}"] = ids.role[kind, phase]
        env[f"ARM_CLIENT_ID_{suffix}"] = ids.app[kind, phase]
        env[f"WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL_{suffix}"] = ids.account[kind, phase]
    return env


def _pointed_at(env: dict[str, str], cloud: str, ids: Identities, kind: str, target: str) -> None:
    """A plan job whose workspace points its plan identity at `target`'s (what a workspace
    owner, or code in the plan, can do)."""
    if cloud == "aws":
        env["WORKLOAD_IDENTITY_ROLE_AWS_PLAN"] = ids.role[kind, target]
    elif cloud == "azure":
        env["ARM_CLIENT_ID_PLAN"] = ids.app[kind, target]
    else:
        env["WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL_PLAN"] = ids.account[kind, target]


def _logged_in(cloud: str, env: dict[str, str], phase: str, ids: Identities, tmp: Path) -> bool:
    result = _exports_for(_only(cloud, env), phase, tmp / "creds")
    outcome = _login(cloud, result, ids.standins, tmp / "home")
    if outcome["ok"] is True and cloud != "aws":
        assert outcome["status"] == 200, outcome
    if outcome["ok"] is not True and cloud == "aws":
        assert outcome["code"] == "AccessDenied", outcome  # the role's trust, nothing else
    return outcome["ok"] is True


def _exports_for(env: dict[str, str], phase: str, folder: Path) -> dict[str, str]:
    from tests.conftest import run_injector

    result = run_injector(
        "env", "--phase", phase, "--dir", str(folder), "--format", "json", env=env
    )
    assert result.returncode == 0, result.stderr
    exports: dict[str, str] = json.loads(result.stdout)
    return exports


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
@pytest.mark.parametrize("kind", list(TEMPLATES))
def test_with_phase_a_plan_token_cannot_assume_the_apply_identity(
    cloud: str, kind: str, strict_workspace: dict[str, str], identities: Identities, tmp_path: Path
) -> None:
    env = _workspace(strict_workspace, identities, kind)
    # Each phase logs in to its own identity.
    assert _logged_in(cloud, env, "plan", identities, tmp_path / "plan")
    assert _logged_in(cloud, env, "apply", identities, tmp_path / "apply")
    # A plan token presented to the apply identity: refused with {phase}, accepted without.
    _pointed_at(env, cloud, identities, kind, "apply")
    crossed = _logged_in(cloud, env, "plan", identities, tmp_path / "crossed")
    assert crossed is (kind == "plain")
