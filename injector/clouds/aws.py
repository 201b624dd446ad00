"""AWS: `AssumeRoleWithWebIdentity` through the variables botocore and the Terraform AWS
provider read (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_SESSION_NAME)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from injector import values
from injector.clouds.base import CloudOutputs, refuse_static_credentials
from injector.errors import Problems
from injector.job import JobContext

ENABLE = "ENABLE_DYNAMIC_CREDENTIALS_AWS"
ROLE = "WORKLOAD_IDENTITY_ROLE_AWS"
AUDIENCE = "WORKLOAD_IDENTITY_AUDIENCE_AWS"
REGION = "AWS_REGION"
DEFAULT_REGION = "AWS_DEFAULT_REGION"
SESSION_NAME = "AWS_ROLE_SESSION_NAME"

DEFAULT_AUDIENCE = "aws.workload.identity"
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


@dataclass(frozen=True)
class AwsConfig:
    name: ClassVar[str] = "aws"
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


def from_env(env: Mapping[str, str]) -> AwsConfig | None:
    """The AWS configuration, or None when ENABLE_DYNAMIC_CREDENTIALS_AWS is unset or false.

    Raises ConfigError if it is enabled and a value is malformed, the role is missing, or static
    AWS keys in the environment would take precedence over web identity.
    """
    if not values.boolean(env, ENABLE):
        return None
    problems = Problems()
    problems.check(
        lambda: refuse_static_credentials(env, STATIC_CREDENTIALS, ENABLE, "boto3 and Terraform"),
        None,
    )
    config = AwsConfig(
        role_arn=problems.check(
            lambda: values.matching(
                ROLE, values.required(env, ROLE, _ROLE_FORM), _ROLE_ARN, _ROLE_FORM
            ),
            "",
        ),
        audience=problems.check(
            lambda: values.text(
                AUDIENCE,
                values.optional(env, AUDIENCE) or DEFAULT_AUDIENCE,
                "an audience listed in the IAM OIDC provider's client IDs",
            ),
            "",
        ),
        region=problems.check(
            lambda: values.either(env, REGION, DEFAULT_REGION, _REGION, _REGION_FORM), None
        ),
        session_name=problems.check(
            lambda: values.optional_matching(
                env, SESSION_NAME, _SESSION_NAME, "2 to 64 of letters, digits and +=,.@_-"
            ),
            None,
        ),
    )
    problems.raise_if_any()
    return config
