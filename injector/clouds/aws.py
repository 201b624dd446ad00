"""AWS: `AssumeRoleWithWebIdentity` through the variables botocore and the Terraform AWS
provider read (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_SESSION_NAME)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from injector.clouds import rules
from injector.clouds.base import Cloud, CloudConfig, CloudOutputs, LoginOutcome
from injector.config import values
from injector.config.job_context import JobContext
from injector.errors import Problems

NAME = "aws"
ENABLE = "ENABLE_DYNAMIC_CREDENTIALS_AWS"
ROLE = "WORKLOAD_IDENTITY_ROLE_AWS"
AUDIENCE = "WORKLOAD_IDENTITY_AUDIENCE_AWS"
REGION = "AWS_REGION"
DEFAULT_REGION = "AWS_DEFAULT_REGION"
SESSION_NAME = "AWS_ROLE_SESSION_NAME"

DEFAULT_AUDIENCE = "aws.workload.identity"
# What AWS's own examples use as the audience (EKS, GitHub's documentation).
STS_AUDIENCE = "sts.amazonaws.com"
STATIC_CREDENTIALS: tuple[str, ...] = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)

# IAM names: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
_ROLE_ARN = re.compile(
    r"arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}", re.ASCII
)
_ROLE_FORM = "arn:<partition>:iam::<12-digit account>:role/<optional path/><name>"
_REGION = re.compile(r"[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}")
_REGION_FORM = "a region code such as us-east-1"
# STS RoleSessionName: 2 to 64 of [\w+=,.@-].
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
_SESSION_UNSAFE = re.compile(r"[^\w+=,.@-]", re.ASCII)

# Sources: AssumeRoleWithWebIdentity, its WebIdentityToken parameter and its errors.
RULES = rules.CloudRules(
    name=NAME,
    label="AWS STS",
    # WebIdentityToken: "signed using either RSA keys (RS256, RS384, or RS512) or ECDSA keys
    # (ES256, ES384, or ES512)" (AssumeRoleWithWebIdentity API reference).
    algorithms=("RS256", "RS384", "RS512", "ES256", "ES384", "ES512"),
    require_kid=False,
    codes={
        rules.MALFORMED: "InvalidIdentityToken",
        rules.ISSUER_FORM: "InvalidIdentityToken",
        rules.ISSUER: "IDPCommunicationError",
        rules.KEY: "InvalidIdentityToken",
        rules.ALGORITHM: "InvalidIdentityToken",
        rules.SIGNATURE: "InvalidIdentityToken",
        rules.EXPIRED: "ExpiredTokenException",
        rules.NOT_YET_VALID: "InvalidIdentityToken",
        rules.AUDIENCE: "InvalidIdentityToken",
        rules.SUBJECT: "AccessDenied",
    },
    default_audience=DEFAULT_AUDIENCE,
    trusts="a private CA only through the IAM provider's thumbprint",
    issuer_port=(
        "IAM OIDC provider URLs should not contain one (CreateOpenIDConnectProvider); "
        "serve the issuer on 443"
    ),
    thumbprint=(
        "the top intermediate CA, what an IAM OIDC provider's ThumbprintList holds (AWS uses it "
        "only when it does not already trust the root CA)"
    ),
    recognizes=lambda audience: audience in (DEFAULT_AUDIENCE, STS_AUDIENCE),
)

EXAMPLE = {
    ENABLE: "true",
    ROLE: "arn:aws:iam::123456789012:role/terrakube-role",
    AUDIENCE: DEFAULT_AUDIENCE,
    REGION: "us-east-1",
}


@dataclass(frozen=True)
class AwsConfig:
    name: ClassVar[str] = NAME
    role_arn: str
    audience: str
    region: str | None
    session_name: str | None

    def outputs(self, token_file: Path, job: JobContext) -> CloudOutputs:
        exports = {
            "AWS_ROLE_ARN": self.role_arn,
            "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file),
            "AWS_ROLE_SESSION_NAME": self.session_name or session_name_for(job),
        }
        if self.region:
            # botocore reads only AWS_DEFAULT_REGION; Terraform reads either.
            exports["AWS_REGION"] = self.region
            exports["AWS_DEFAULT_REGION"] = self.region
        return CloudOutputs(exports=exports)


def session_name_for(job: JobContext) -> str:
    """A session name that shows in CloudTrail which Terrakube job assumed the role."""
    raw = f"terrakube-{job.organization}-{job.workspace}-{job.job_id}"
    return _SESSION_UNSAFE.sub("-", raw)[:64]


def read(env: Mapping[str, str]) -> AwsConfig:
    """The AWS configuration of a workspace that switched AWS on. Raises ConfigError if the
    role is missing or a value is malformed."""
    problems = Problems()
    config = AwsConfig(
        role_arn=problems.get("", _role, env),
        audience=problems.get(
            "",
            values.text,
            AUDIENCE,
            values.optional(env, AUDIENCE) or DEFAULT_AUDIENCE,
            "an audience listed in the IAM OIDC provider's client IDs",
        ),
        region=problems.get(
            None, values.either, env, REGION, DEFAULT_REGION, _REGION, _REGION_FORM
        ),
        session_name=problems.get(
            None,
            values.optional_matching,
            env,
            SESSION_NAME,
            _SESSION_NAME,
            "2 to 64 of letters, digits and +=,.@_-",
        ),
    )
    problems.raise_if_any()
    return config


def _role(env: Mapping[str, str]) -> str:
    return values.matching(ROLE, values.required(env, ROLE, _ROLE_FORM), _ROLE_ARN, _ROLE_FORM)


def advice(config: CloudConfig) -> list[str]:
    """What the job will hit although the configuration is valid."""
    assert isinstance(config, AwsConfig)  # noqa: S101 (the registry pairs them)
    if config.region is None:
        return [
            f"neither {REGION} nor {DEFAULT_REGION} is set: Terraform's S3 backend and AWS "
            f'provider refuse to start without a region ("Missing region value"); set {REGION} '
            "in the workspace"
        ]
    return []


def login() -> LoginOutcome:
    """Assume the role through boto3, as Terraform's AWS provider would, and ask STS who we
    are. Runs in a child process that has only the exports."""
    import os

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.Session()
    try:
        credentials = session.get_credentials()
        method = credentials.method if credentials is not None else None
        if method != "assume-role-with-web-identity":
            return {
                "ok": False,
                "code": "wrong credentials",
                "message": f"boto3 found credentials of kind {method!r}, "
                "not assume-role-with-web-identity",
            }
        region = os.environ.get(DEFAULT_REGION) or "us-east-1"
        identity = session.client("sts", region_name=region).get_caller_identity()
    except ClientError as error:
        details = error.response.get("Error", {})
        return {
            "ok": False,
            "code": details.get("Code"),
            "message": f"{type(error).__name__}: {details.get('Message')}",
        }
    except BotoCoreError as error:
        return {"ok": False, "code": type(error).__name__, "message": str(error)}
    return {
        "ok": True,
        "detail": f"boto3: AssumeRoleWithWebIdentity, then GetCallerIdentity as {identity['Arn']}",
    }


CLOUD = Cloud(
    name=NAME,
    label="AWS",
    switch=ENABLE,
    read=read,
    rules=RULES,
    static_credentials=STATIC_CREDENTIALS,
    preferred_by="boto3 and Terraform",
    phased=(ROLE,),
    example=EXAMPLE,
    sdk="boto3",
    login=login,
    advice=advice,
    # How to reach STS: endpoint overrides (tests, private endpoints), retries, its CA bundle.
    login_passed_on=(
        "AWS_CA_BUNDLE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_STS",
        "AWS_STS_REGIONAL_ENDPOINTS",
        "AWS_USE_FIPS_ENDPOINT",
        "AWS_MAX_ATTEMPTS",
        "AWS_RETRY_MODE",
    ),
)
