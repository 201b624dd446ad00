"""A second AWS role for the tagged configurations' tests: it trusts the workspace's `sub` with
its own audience only, so that a token meant for one role cannot assume the other."""

from __future__ import annotations

import json

import boto3

from tests.standins import aws_account
from tests.standins.accounts import ACCOUNT
from tests.standins.aws_sts import TEST_CREDENTIALS

PROD_ROLE_NAME = "terrakube-strict-prod"
PROD_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{PROD_ROLE_NAME}"
PROD_AUDIENCE = "prod.aws.workload.identity"


def prod_role(moto_endpoint: str, issuer_url: str) -> str:
    """PROD_ROLE_ARN in moto's IAM (made once), and PROD_AUDIENCE among the client IDs of the
    issuer's IAM OIDC provider."""
    iam = boto3.client(
        "iam", endpoint_url=moto_endpoint, region_name="us-east-1", **TEST_CREDENTIALS
    )
    provider_url = issuer_url.removeprefix("https://")
    provider_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{provider_url}"
    # moto answers AddClientIDToOpenIDConnectProvider with a 500: the provider is made again
    # with both client IDs (same URL, so the same ARN the default role trusts).
    provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider_arn)
    if PROD_AUDIENCE not in provider["ClientIDList"]:
        iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=provider_arn)
        iam.create_open_id_connect_provider(
            Url=issuer_url,
            ClientIDList=[*provider["ClientIDList"], PROD_AUDIENCE],
            ThumbprintList=provider["ThumbprintList"],
        )
    trust = aws_account.trust_policy(provider_arn, provider_url, audience=PROD_AUDIENCE)
    try:
        iam.get_role(RoleName=PROD_ROLE_NAME)
    except iam.exceptions.NoSuchEntityException:
        iam.create_role(RoleName=PROD_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))
    return PROD_ROLE_ARN
