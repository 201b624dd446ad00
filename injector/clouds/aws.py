"""AWS: `AssumeRoleWithWebIdentity` through the variables botocore and the Terraform AWS
provider read (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_SESSION_NAME)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from injector.clouds import aws_login, aws_profiles, aws_roles, tags
from injector.clouds.aws_rules import DEFAULT_AUDIENCE, RULES
from injector.clouds.aws_session_tags import TAGS_CLAIM, session_tags_for
from injector.clouds.base import CloudConfig, CloudOf, CloudOutputs
from injector.clouds.facets import Hcp, HcpName, Rivals, SdkLogin, TerraformShape
from injector.clouds.hcp import boolean_form
from injector.config import values
from injector.config.job_context import JobContext
from injector.errors import Problems

NAME = RULES.name
ENABLE = "ENABLE_DYNAMIC_CREDENTIALS_AWS"
ROLE = "WORKLOAD_IDENTITY_ROLE_AWS"
AUDIENCE = "WORKLOAD_IDENTITY_AUDIENCE_AWS"
REGION = "AWS_REGION"
DEFAULT_REGION = "AWS_DEFAULT_REGION"
SESSION_NAME = "AWS_ROLE_SESSION_NAME"
SESSION_TAGS = "ENABLE_AWS_SESSION_TAGS"
# The shared config file with a profile per configuration, once there are tagged ones.
PROFILES_FILE = "aws-profiles.config"
STATIC_CREDENTIALS: tuple[str, ...] = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)

# IAM OIDC provider client IDs (the audiences it accepts): 1 to 255 characters.
MAX_AUDIENCE = 255
_REGION = re.compile(r"[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}")
_REGION_FORM = "a region code such as us-east-1"
# STS RoleSessionName: 2 to 64 of [\w+=,.@-].
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
_SESSION_UNSAFE = re.compile(r"[^\w+=,.@-]", re.ASCII)

EXAMPLE = {
    ENABLE: "true",
    ROLE: "arn:aws:iam::123456789012:role/terrakube-role",
    AUDIENCE: DEFAULT_AUDIENCE,
    REGION: "us-east-1",
}


@dataclass(frozen=True)
class AwsConfig(CloudConfig):
    role_arn: str
    audience: str
    region: str | None
    session_name: str | None
    session_tags: bool = False
    # With tagged configurations: every identity lives in profiles of one config file rather
    # than in AWS_ROLE_ARN & co., which boto3 would prefer over a profile's (`gather`).
    in_profiles: bool = False
    # On the first configuration only: all of them, for the shared file's profiles.
    profiles: tuple[AwsConfig, ...] = ()

    @property
    def identity(self) -> str:
        return f"role {self.role_arn}"

    def alone(self) -> AwsConfig:
        """This identity in the environment, untagged, with no profiles (`doctor --login`)."""
        return replace(self, tag=None, in_profiles=False, profiles=())

    def claims(self, job: JobContext) -> dict[str, object]:
        """With ENABLE_AWS_SESSION_TAGS, the session tags claim; else nothing."""
        return {TAGS_CLAIM: session_tags_for(job)} if self.session_tags else {}

    def outputs(self, token_file: Path, job: JobContext) -> CloudOutputs:
        # The region stays in the environment: Terraform's S3 backend reads it from there (or
        # its own setting) before any profile ("Missing region value"); a tag's own region is
        # its profile's, used where the environment has none.
        region = (
            {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region}
            if self.region and self.tag is None
            else {}
        )
        if self.in_profiles:
            if not self.profiles:
                return CloudOutputs(exports=region)
            shared = token_file.parent / PROFILES_FILE
            members = [
                (member.tag, member, tags.token_file(token_file.parent, member))
                for member in self.profiles
            ]
            return CloudOutputs(
                exports={aws_profiles.CONFIG_FILE: str(shared), **region},
                extra_files={shared: profiles_file(members, job)},
            )
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

    def profile(self, token_file: Path, job: JobContext) -> dict[str, str]:
        """The keys of this identity's profile in a shared config file."""
        keys = {
            "role_arn": self.role_arn,
            "web_identity_token_file": str(token_file),
            "role_session_name": self.session_name or session_name_for(job),
        }
        if self.region:
            keys["region"] = self.region
        return keys

    def terraform_value(self, token_file: Path, job: JobContext) -> TerraformShape:
        """HCP's `shared_config_file`: a file of its own with this identity as `[default]`,
        which HCP's provider blocks read through `shared_config_files` without naming a
        profile."""
        path = own_config_file(token_file)
        return TerraformShape(
            value={"shared_config_file": str(path)},
            files={path: profiles_file([(None, self, token_file)], job)},
        )

    def advice(self) -> list[str]:
        """What the job will hit although the configuration is valid."""
        if self.region is None:
            return [
                f"neither {REGION} nor {DEFAULT_REGION} is set: Terraform's S3 backend and "
                f'AWS provider refuse to start without a region ("Missing region value"); set '
                f"{REGION} in the workspace"
            ]
        return []


def own_config_file(token_file: Path) -> Path:
    return token_file.with_suffix(".config")


def profiles_file(members: list[tuple[str | None, AwsConfig, Path]], job: JobContext) -> bytes:
    return aws_profiles.render(
        [(tag, config.profile(token_file, job)) for tag, config, token_file in members]
    )


def gather(configs: tuple[AwsConfig, ...]) -> tuple[AwsConfig, ...]:
    """With a tagged configuration, every identity goes into profiles (the first
    configuration writes the shared file); without one, nothing changes."""
    if all(config.tag is None for config in configs):
        return configs
    first, *rest = configs
    return (
        replace(first, in_profiles=True, profiles=configs),
        *(replace(config, in_profiles=True) for config in rest),
    )


def session_name_for(job: JobContext) -> str:
    """A session name that shows in CloudTrail which Terrakube job assumed the role."""
    raw = f"terrakube-{job.organization}-{job.workspace}-{job.job_id}"
    return _SESSION_UNSAFE.sub("-", raw)[:64]


def read(env: Mapping[str, str]) -> AwsConfig:
    """The AWS configuration of a workspace that switched AWS on. Raises ConfigError if the
    role is missing or a value is malformed."""
    problems = Problems()
    config = AwsConfig(
        role_arn=problems.get("", aws_roles.role_arn, env, ROLE),
        audience=problems.get(
            "",
            values.claim,
            AUDIENCE,
            values.optional(env, AUDIENCE) or DEFAULT_AUDIENCE,
            "an audience listed in the IAM OIDC provider's client IDs",
            max_length=MAX_AUDIENCE,
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
        session_tags=problems.get(False, values.boolean, env, SESSION_TAGS),
    )
    problems.raise_if_any()
    return config


CLOUD = CloudOf(
    name=NAME,
    label="AWS",
    switch=ENABLE,
    read=read,
    rules=RULES,
    rivals=Rivals(
        "boto3 and Terraform",
        STATIC_CREDENTIALS,
        aws_profiles.conflicts,
        # boto3 takes these over a profile's role_arn and web_identity_token_file.
        identity=("AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"),
    ),
    phased=(ROLE,),
    tagged=(AUDIENCE, REGION, DEFAULT_REGION, SESSION_NAME, SESSION_TAGS),
    hcp=Hcp(
        names=(
            HcpName(ENABLE, "PROVIDER_AUTH", canonical=boolean_form),
            HcpName(ROLE, "RUN_ROLE_ARN"),
            HcpName(AUDIENCE, "WORKLOAD_IDENTITY_AUDIENCE"),
        )
    ),
    gather=gather,
    example=EXAMPLE,
    login=SdkLogin(
        "boto3",
        aws_login.login,
        # How to reach STS: endpoint overrides (tests, private endpoints), retries, its CA.
        passed_on=(
            "AWS_CA_BUNDLE",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_STS",
            "AWS_STS_REGIONAL_ENDPOINTS",
            "AWS_USE_FIPS_ENDPOINT",
            "AWS_MAX_ATTEMPTS",
            "AWS_RETRY_MODE",
        ),
    ),
    variables=(AUDIENCE, REGION, DEFAULT_REGION, SESSION_NAME, SESSION_TAGS, *STATIC_CREDENTIALS),
)
AwsConfig.cloud = CLOUD
