"""Vault-backed AWS credentials (HCP Terraform's `TFC_VAULT_BACKED_AWS_*`): the minted token
logs in to Vault as a Vault configuration does (the untagged one, or the one
`WORKLOAD_IDENTITY_VAULT_BACKED_AWS_VAULT_CONFIG` names), and Vault's AWS secrets engine issues
the AWS credentials. Only Vault must reach the issuer, never AWS.

The credentials go into a 0600 shared credentials file (profile `default`), exported as
`AWS_SHARED_CREDENTIALS_FILE` and named by `TF_VAR_tfc_vault_backed_aws_dynamic_credentials`
(`shared_credentials_file`, HCP's shape); never into the environment. The lease and the Vault
token are renewed under `run` and revoked on every way out (vault_aws_engine).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from injector.clouds import tags, vault, vault_aws_engine, vault_login
from injector.clouds.base import CloudConfig, CloudOf, CloudOutputs
from injector.clouds.exchange_facet import Exchange, Finding
from injector.clouds.facets import Exchanged, Hcp, HcpName, Rivals, TerraformShape
from injector.clouds.hcp import boolean_form
from injector.config import values
from injector.config.job_context import JobContext
from injector.errors import ConfigError, Problems

NAME = "vault_backed_aws"
ENABLE = "ENABLE_DYNAMIC_CREDENTIALS_VAULT_BACKED_AWS"
_PREFIX = "WORKLOAD_IDENTITY_VAULT_BACKED_AWS_"
AUTH_TYPE = f"{_PREFIX}AUTH_TYPE"
VAULT_ROLE = f"{_PREFIX}VAULT_ROLE"
MOUNT_PATH = f"{_PREFIX}MOUNT_PATH"
ROLE_ARN = f"{_PREFIX}ROLE_ARN"
SLEEP_SECONDS = f"{_PREFIX}SLEEP_SECONDS"
VAULT_CONFIG = f"{_PREFIX}VAULT_CONFIG"
CREDENTIALS_FILE = "AWS_SHARED_CREDENTIALS_FILE"

IAM_USER = "iam_user"
ASSUMED_ROLE = "assumed_role"
FEDERATION_TOKEN = "federation_token"  # noqa: S105 (a credential type's name)
AUTH_TYPES = (IAM_USER, ASSUMED_ROLE, FEDERATION_TOKEN)
DEFAULT_MOUNT = "aws"
# HCP Terraform's limit on the wait for IAM's eventual consistency.
MAX_SLEEP_SECONDS = 1500

# Credentials the AWS SDKs and the AWS provider take before a shared credentials file.
STATIC_CREDENTIALS: tuple[str, ...] = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)

_AUTH_TYPE_FORM = " or ".join(AUTH_TYPES)
_ROLE = re.compile(r"[A-Za-z0-9_.@+=,-]+")
_ROLE_FORM = "a role name of Vault's AWS secrets engine (letters, digits and _.@+=,-)"
_MOUNT = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")
_MOUNT_FORM = "the AWS secrets engine's mount path, such as aws or teams/aws"
_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+", re.ASCII)
_ARN_FORM = "arn:aws:iam::<12-digit account>:role/<name>"
_SLEEP_FORM = f"whole seconds from 0 to {MAX_SLEEP_SECONDS}"


@dataclass(frozen=True, kw_only=True)
class VaultBackedAwsConfig(CloudConfig):
    vault: vault.VaultConfig  # whose login it repeats
    auth_type: str
    vault_role: str
    mount_path: str
    role_arn: str | None
    sleep_seconds: int

    @property
    def identity(self) -> str:
        arn = f" ({self.role_arn})" if self.role_arn else ""
        return (
            f"{self.vault.identity}, then {self.auth_type} role {self.vault_role}{arn} "
            f"of {self.mount_path}"
        )

    @property
    def audience(self) -> str:
        return self.vault.audience

    def credentials_file(self, folder: Path) -> Path:
        """`vault_backed_aws-credentials`; `vault_backed_aws_<TAG>-credentials` for a tag."""
        return folder / f"{tags.configuration_id(self)}-credentials"

    def outputs(self, token_file: Path, job: JobContext) -> CloudOutputs:
        return CloudOutputs(exports={})  # the exchange writes and exports the credentials file

    def terraform_value(self, token_file: Path, job: JobContext) -> TerraformShape:
        return TerraformShape(
            value={"shared_credentials_file": str(self.credentials_file(token_file.parent))}
        )

    def exchange(self, token: str, folder: Path) -> Exchanged:
        return vault_aws_engine.exchange(self, token, folder)

    def preflight(self) -> list[Finding]:
        return vault_login.preflight(self.vault)


def read(env: Mapping[str, str]) -> VaultBackedAwsConfig:
    """The configuration of a workspace that switched Vault-backed AWS on. Raises ConfigError
    listing every problem, those of the Vault configuration it logs in with included."""
    problems = Problems()
    auth_type = problems.get(IAM_USER, _auth_type, env)
    role_arn = problems.get(None, _role_arn, env, auth_type)
    vault_role = problems.get("", _required, env, VAULT_ROLE, _ROLE, _ROLE_FORM)
    mount = values.optional(env, MOUNT_PATH) or DEFAULT_MOUNT
    mount_path = problems.get("", values.matching, MOUNT_PATH, mount, _MOUNT, _MOUNT_FORM)
    sleep_seconds = problems.get(0, _sleep_seconds, env)
    login = problems.run(_vault, env)
    problems.raise_if_any()
    assert login is not None  # noqa: S101 (raise_if_any raised otherwise)
    return VaultBackedAwsConfig(
        vault=login,
        auth_type=auth_type,
        vault_role=vault_role,
        mount_path=mount_path,
        role_arn=role_arn,
        sleep_seconds=sleep_seconds,
    )


def _required(env: Mapping[str, str], name: str, pattern: re.Pattern[str], form: str) -> str:
    return values.matching(name, values.required(env, name, form), pattern, form)


def _auth_type(env: Mapping[str, str]) -> str:
    value = values.required(env, AUTH_TYPE, _AUTH_TYPE_FORM).strip().lower()
    if value not in AUTH_TYPES:
        raise ConfigError.of(AUTH_TYPE, f"expected {_AUTH_TYPE_FORM}, got {values.shown(value)}")
    return value


def _role_arn(env: Mapping[str, str], auth_type: str) -> str | None:
    arn = values.optional_matching(env, ROLE_ARN, _ARN, _ARN_FORM)
    if auth_type == ASSUMED_ROLE and arn is None:
        raise ConfigError.of(ROLE_ARN, f"is required with {AUTH_TYPE}={ASSUMED_ROLE}: {_ARN_FORM}")
    if auth_type != ASSUMED_ROLE and arn is not None:
        # Vault's engine takes a role ARN for assumed_role only: refuse rather than ignore it.
        raise ConfigError.of(
            ROLE_ARN, f"is set, but only {AUTH_TYPE}={ASSUMED_ROLE} assumes a role: remove it"
        )
    return arn


def _sleep_seconds(env: Mapping[str, str]) -> int:
    value = values.optional(env, SLEEP_SECONDS)
    if value is None:
        return 0
    if not value.strip().isdigit() or int(value) > MAX_SLEEP_SECONDS:
        raise ConfigError.of(SLEEP_SECONDS, f"expected {_SLEEP_FORM}, got {values.shown(value)}")
    return int(value)


def _vault(env: Mapping[str, str]) -> vault.VaultConfig:
    """The Vault configuration whose login is repeated: the untagged one, or the one tagged as
    VAULT_CONFIG says; its problems name the variables the user set."""
    tag = values.optional(env, VAULT_CONFIG)
    if tag is None:
        return vault.read(env)
    if not tags.valid(tag):
        raise ConfigError.of(VAULT_CONFIG, f"expected a Vault configuration's tag: {tags.TAG_FORM}")
    view = tags.view(vault.CLOUD, env, tag)
    try:
        return vault.read(view)
    except ConfigError as error:
        raise view.blame(error) from None


CLOUD = CloudOf(
    name=NAME,
    label="Vault-backed AWS",
    switch=ENABLE,
    read=read,
    # The token goes to Vault: Vault's rules are the ones it must pass.
    rules=replace(vault.RULES, name=NAME),
    rivals=Rivals(
        "the AWS SDKs and the AWS provider",
        STATIC_CREDENTIALS,
        # AWS's web identity (or its default profile's) comes before the credentials file.
        yields_to=("aws",),
    ),
    phased=(VAULT_ROLE, ROLE_ARN),
    tagged=(AUTH_TYPE, MOUNT_PATH, SLEEP_SECONDS, VAULT_CONFIG),
    hcp=Hcp(
        names=(
            HcpName(ENABLE, "AUTH", canonical=boolean_form),
            HcpName(AUTH_TYPE, "AUTH_TYPE", canonical=str.lower),
            HcpName(VAULT_ROLE, "RUN_VAULT_ROLE"),
            HcpName(MOUNT_PATH, "MOUNT_PATH"),
            HcpName(ROLE_ARN, "RUN_ROLE_ARN"),
            HcpName(SLEEP_SECONDS, "SLEEP_SECONDS"),
            HcpName(VAULT_CONFIG, "VAULT_CONFIG"),
        )
    ),
    variables=(
        AUTH_TYPE,
        MOUNT_PATH,
        SLEEP_SECONDS,
        VAULT_CONFIG,
        *STATIC_CREDENTIALS,
    ),
    # Its Vault login is the example Vault's.
    example={
        **{name: value for name, value in vault.EXAMPLE.items() if name != vault.ENABLE},
        ENABLE: "true",
        AUTH_TYPE: IAM_USER,
        VAULT_ROLE: "terrakube-deploy",
    },
    exchange=Exchange("httpx (Vault's login and AWS secrets engine)"),
)
VaultBackedAwsConfig.cloud = CLOUD
