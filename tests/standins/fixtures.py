"""Fixtures: a test CA, the issuer, and the three clouds' stand-ins configured the way the
Terrakube documentation configures the real clouds for the example workspace.

Load them in a test module with `pytest_plugins = ["tests.standins.fixtures"]`.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import boto3
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from injector.job.example import EXAMPLE_ENV
from tests.conftest import KeyFiles
from tests.standins.accounts import (
    AWS_AUDIENCE,
    AZURE_AUDIENCE,
    GCP_PROJECT,
    GCP_PROVIDER,
    ROLE_ARN,
    ROLE_NAME,
    SERVICE_ACCOUNT,
    SUBJECT,
)
from tests.standins.aws_sts import TEST_CREDENTIALS, AwsStsStandIn
from tests.standins.entra import EntraStandIn, FederatedCredential, Tenant
from tests.standins.google import GoogleStandIn, Provider, ServiceAccount
from tests.standins.issuer import ServedIssuer
from tests.standins.server import LOOPBACK


class Issuer(Protocol):
    url: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class TestTls:
    """A CA made for this test session, and the certificate of 127.0.0.1 it signed."""

    ca: trustme.CA
    server: trustme.LeafCert
    ca_file: Path  # for REQUESTS_CA_BUNDLE / SSL_CERT_FILE in the SDKs' processes
    certfile: Path  # the server's certificate chain, for `injector serve --certfile`
    keyfile: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server.configure_cert(context)
        return context

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context


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
    ca = trustme.CA()
    server = ca.issue_cert(LOOPBACK, "localhost")
    folder = tmp_path_factory.mktemp("tls")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    certfile, keyfile = folder / "server.pem", folder / "server.key"
    certfile.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    server.private_key_pem.write_to_path(str(keyfile))
    return TestTls(
        ca=ca, server=server, ca_file=folder / "ca.pem", certfile=certfile, keyfile=keyfile
    )


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


def _trust_policy(provider_arn: str, provider_url: str) -> dict[str, object]:
    # The role trust policy of the Terrakube documentation (AWS dynamic credentials).
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{provider_url}:aud": AWS_AUDIENCE,
                        f"{provider_url}:sub": SUBJECT,
                    }
                },
            }
        ],
    }


@pytest.fixture(scope="session")
def aws_sts(moto_endpoint: str, issuer: Issuer, test_tls: TestTls) -> Iterator[AwsStsStandIn]:
    iam = boto3.client(
        "iam", endpoint_url=moto_endpoint, region_name="us-east-1", **TEST_CREDENTIALS
    )
    provider_url = issuer.url.removeprefix("https://")
    provider_arn = iam.create_open_id_connect_provider(
        Url=issuer.url,
        ClientIDList=[AWS_AUDIENCE],
        # The CA's SHA-1 thumbprint, what IAM keeps for an issuer whose CA it does not already
        # trust: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc_verify-thumbprint.html
        # (the stand-in trusts the test CA directly).
        ThumbprintList=[
            x509.load_pem_x509_certificate(test_tls.ca.cert_pem.bytes())
            .fingerprint(hashes.SHA1())  # noqa: S303 (IAM's thumbprint is SHA-1)
            .hex()
        ],
    )["OpenIDConnectProviderArn"]
    iam.create_role(
        RoleName=ROLE_NAME,
        AssumeRolePolicyDocument=json.dumps(_trust_policy(provider_arn, provider_url)),
    )
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
