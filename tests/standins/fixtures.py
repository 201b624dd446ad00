"""Fixtures: a test CA, the issuer, and the three clouds' stand-ins configured the way the
Terrakube documentation configures the real clouds for the example workspace.

Load them in a test module with `pytest_plugins = ["tests.standins.fixtures"]`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import pytest

from injector.job.example import EXAMPLE_ENV
from tests.conftest import KeyFiles
from tests.standins import aws_account, tls
from tests.standins.accounts import (
    AZURE_AUDIENCE,
    GCP_PROJECT,
    GCP_PROVIDER,
    ROLE_ARN,
    SERVICE_ACCOUNT,
    SUBJECT,
)
from tests.standins.aws_sts import AwsStsStandIn
from tests.standins.entra import EntraStandIn, FederatedCredential, Tenant
from tests.standins.google import GoogleStandIn, Provider, ServiceAccount
from tests.standins.issuer import ServedIssuer
from tests.standins.tls import TestTls

__all__ = ["Issuer", "StandIns", "TestTls"]


class Issuer(Protocol):
    url: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class StandIns:
    tls: TestTls
    issuer: Issuer
    aws: AwsStsStandIn
    entra: EntraStandIn
    google: GoogleStandIn

    def of(self, cloud: str) -> AwsStsStandIn | EntraStandIn | GoogleStandIn:
        """The stand-in of `cloud` (aws, azure or gcp)."""
        if cloud == "aws":
            return self.aws
        if cloud == "azure":
            return self.entra
        if cloud == "gcp":
            return self.google
        raise ValueError(f"no stand-in for {cloud!r}")

    @contextmanager
    def issuer_down(self) -> Iterator[None]:
        """The issuer stops listening (connections are refused) for the duration."""
        self.issuer.stop()
        try:
            yield
        finally:
            self.issuer.start()


@pytest.fixture(scope="session")
def test_tls(tmp_path_factory: pytest.TempPathFactory) -> TestTls:
    return tls.make(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def issuer(key_files: KeyFiles, test_tls: TestTls) -> Iterator[Issuer]:
    """The OIDC issuer the clouds trust: `injector serve` over HTTPS, publishing the operator's
    key (the `workspace` fixture's) under the default kid."""
    served = ServedIssuer(
        {
            "DynamicCredentialPrivateKeyPath": str(key_files.private_pkcs8),
            "DynamicCredentialPublicKeyPath": str(key_files.public),
        },
        test_tls.certfile,
        test_tls.keyfile,
        test_tls.client_context(),
    )
    served.start()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="session")
def aws_sts(moto_endpoint: str, issuer: Issuer, test_tls: TestTls) -> Iterator[AwsStsStandIn]:
    aws_account.trust_issuer(moto_endpoint, issuer.url, test_tls.ca.cert_pem.bytes())
    standin = AwsStsStandIn(moto_endpoint, test_tls.client_context())
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()


@pytest.fixture(scope="session")
def entra(issuer: Issuer, test_tls: TestTls) -> Iterator[EntraStandIn]:
    tenant = Tenant(
        tenant_id=EXAMPLE_ENV["ARM_TENANT_ID"],
        apps={
            EXAMPLE_ENV["ARM_CLIENT_ID"]: [
                FederatedCredential(issuer=issuer.url, subject=SUBJECT, audiences=(AZURE_AUDIENCE,))
            ]
        },
        subscriptions=(EXAMPLE_ENV["ARM_SUBSCRIPTION_ID"],),
    )
    standin = EntraStandIn(tenant, test_tls.server_context(), test_tls.client_context())
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()


@pytest.fixture(scope="session")
def google_sts(issuer: Issuer, test_tls: TestTls) -> Iterator[GoogleStandIn]:
    provider = Provider(resource=GCP_PROVIDER, issuer=issuer.url, allowed_subjects=(SUBJECT,))
    standin = GoogleStandIn(
        providers=(provider,),
        service_accounts=(
            ServiceAccount(SERVICE_ACCOUNT, workload_identity_users=(provider.principal(SUBJECT),)),
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


@pytest.fixture(scope="session")
def standins(
    test_tls: TestTls,
    issuer: Issuer,
    aws_sts: AwsStsStandIn,
    entra: EntraStandIn,
    google_sts: GoogleStandIn,
) -> StandIns:
    return StandIns(tls=test_tls, issuer=issuer, aws=aws_sts, entra=entra, google=google_sts)


@pytest.fixture
def strict_workspace(workspace: dict[str, str], standins: StandIns) -> dict[str, str]:
    """The example workspace, with the issuer and every cloud endpoint on the stand-ins."""
    return {
        **workspace,
        "DynamicCredentialHostname": standins.issuer.url,
        "WORKLOAD_IDENTITY_ROLE_AWS": ROLE_ARN,
        "AZURE_AUTHORITY_HOST": standins.entra.url + "/",
        "WORKLOAD_IDENTITY_STS_URL_GCP": standins.google.sts_url,
        "WORKLOAD_IDENTITY_IAM_URL_GCP": standins.google.url,
    }
