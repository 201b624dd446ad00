"""The AWS account the strict STS stand-in reads, set up in moto's IAM as the Terrakube
documentation sets up a real account: an OIDC provider for the issuer, and a role whose trust
policy names the workspace's `sub` and the audience."""

from __future__ import annotations

import json

import boto3
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tests.standins.accounts import AWS_AUDIENCE, ROLE_NAME, SUBJECT
from tests.standins.aws_sts import TEST_CREDENTIALS


def trust_policy(
    provider_arn: str,
    provider_url: str,
    subject: str | list[str] = SUBJECT,
    audience: str = AWS_AUDIENCE,
) -> dict[str, object]:
    """The role trust policy of the Terrakube documentation (AWS dynamic credentials): this
    provider's tokens with this `aud` and `sub` (or one of these) may assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{provider_url}:aud": audience,
                        f"{provider_url}:sub": subject,
                    }
                },
            }
        ],
    }


def trust_issuer(moto_endpoint: str, issuer_url: str, ca_pem: bytes) -> str:
    """Register `issuer_url` as an OIDC provider and create the role trusting the example
    workspace; returns the provider's ARN."""
    iam = boto3.client(
        "iam", endpoint_url=moto_endpoint, region_name="us-east-1", **TEST_CREDENTIALS
    )
    provider_arn: str = iam.create_open_id_connect_provider(
        Url=issuer_url,
        ClientIDList=[AWS_AUDIENCE],
        # The CA's SHA-1 thumbprint, what IAM keeps for an issuer whose CA it does not already
        # trust: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc_verify-thumbprint.html
        # (the stand-in trusts the CA directly).
        ThumbprintList=[
            x509.load_pem_x509_certificate(ca_pem)
            .fingerprint(hashes.SHA1())  # noqa: S303 (IAM's thumbprint is SHA-1)
            .hex()
        ],
    )["OpenIDConnectProviderArn"]
    iam.create_role(
        RoleName=ROLE_NAME,
        AssumeRolePolicyDocument=json.dumps(
            trust_policy(provider_arn, issuer_url.removeprefix("https://"))
        ),
    )
    return provider_arn
