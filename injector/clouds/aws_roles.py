"""AWS role ARNs as STS takes them: a real partition and IAM's length limits."""

from __future__ import annotations

import re
from collections.abc import Mapping

from injector.config import values
from injector.errors import ConfigError

# The partitions AWS has: commercial, China, GovCloud, the isolated regions and the European
# Sovereign Cloud. Anything else cannot be a role STS knows.
PARTITIONS = (
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
)
# IAM names: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
# (role name 64, path 512 characters; RoleArn of AssumeRoleWithWebIdentity 20 to 2048).
MAX_ROLE_NAME = 64
MAX_ROLE_PATH = 512
MAX_ROLE_ARN = 2048
_ROLE_ARN = re.compile(
    r"arn:(?P<partition>[a-z-]+):iam::[0-9]{12}:role(?P<path>/([\w+=,.@-]+/)*)"
    r"(?P<role>[\w+=,.@-]+)",
    re.ASCII,
)
_ROLE_FORM = (
    f"arn:<partition>:iam::<12-digit account>:role/<optional path/><name> "
    f"(partition one of {', '.join(PARTITIONS)}; name up to {MAX_ROLE_NAME} characters, "
    f"path up to {MAX_ROLE_PATH})"
)


def role_arn(env: Mapping[str, str], variable: str) -> str:
    """The role ARN `variable` holds. Raises ConfigError naming it for a partition AWS does
    not have, IAM's length limits, or another form."""
    value = values.required(env, variable, _ROLE_FORM)
    match = _ROLE_ARN.fullmatch(value) if len(value) <= MAX_ROLE_ARN else None
    if (
        match is None
        or match["partition"] not in PARTITIONS
        or len(match["role"]) > MAX_ROLE_NAME
        or len(match["path"]) > MAX_ROLE_PATH
    ):
        raise ConfigError.of(variable, f"expected {_ROLE_FORM}, got {values.shown(value)}")
    return value
