"""Vault-backed AWS's configuration: HCP Terraform's names, the auth types and what each needs,
the wait's limit, and the Vault configuration whose login it repeats."""

from __future__ import annotations

import pytest

from injector.clouds import hcp, registered, vault, vault_backed_aws
from injector.clouds.vault_backed_aws import VaultBackedAwsConfig
from injector.errors import ConfigError

VAULT = {vault.ADDRESS: "https://vault.example.com", vault.ROLE: "jwt-role"}
ENABLED = {
    **VAULT,
    vault_backed_aws.ENABLE: "true",
    vault_backed_aws.AUTH_TYPE: "iam_user",
    vault_backed_aws.VAULT_ROLE: "deploy",
}
ARN = "arn:aws:iam::123456789012:role/deploy"


def _config(env: dict[str, str]) -> VaultBackedAwsConfig:
    config = vault_backed_aws.CLOUD.configure(env)
    assert config is not None
    return config


def _problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        vault_backed_aws.CLOUD.configure(env)
    return [problem.variable for problem in error.value.problems]


def test_the_defaults_and_the_vault_login_it_repeats() -> None:
    config = _config(ENABLED)
    assert (config.mount_path, config.sleep_seconds, config.role_arn) == ("aws", 0, None)
    assert config.vault.role == "jwt-role"
    assert config.audience == vault.DEFAULT_AUDIENCE


def test_hcp_names_read_as_injectors() -> None:
    env = {
        "TFC_VAULT_ADDR": "https://vault.example.com",
        "TFC_VAULT_RUN_ROLE": "jwt-role",
        "TFC_VAULT_BACKED_AWS_AUTH": "true",
        "TFC_VAULT_BACKED_AWS_AUTH_TYPE": "assumed_role",
        "TFC_VAULT_BACKED_AWS_RUN_VAULT_ROLE": "deploy",
        "TFC_VAULT_BACKED_AWS_RUN_ROLE_ARN": ARN,
        "TFC_VAULT_BACKED_AWS_MOUNT_PATH": "teams/aws",
        "TFC_VAULT_BACKED_AWS_SLEEP_SECONDS": "30",
    }
    variables, problems = hcp.translate(env, registered())
    assert problems == ()
    config = _config(dict(variables.items()))
    assert (config.auth_type, config.role_arn, config.mount_path) == (
        "assumed_role",
        ARN,
        "teams/aws",
    )
    assert config.sleep_seconds == 30
    # HCP's `_AUTH_TYPE` is a setting, not the switch `_AUTH` of a configuration tagged TYPE.
    assert vault_backed_aws.AUTH_TYPE + "_TYPE" not in dict(variables.items())
    assert f"{vault_backed_aws.ENABLE}_TYPE" not in dict(variables.items())


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({vault_backed_aws.AUTH_TYPE: "root"}, vault_backed_aws.AUTH_TYPE),
        ({vault_backed_aws.AUTH_TYPE: "assumed_role"}, vault_backed_aws.ROLE_ARN),
        ({vault_backed_aws.ROLE_ARN: ARN}, vault_backed_aws.ROLE_ARN),
        ({vault_backed_aws.ROLE_ARN: "deploy"}, vault_backed_aws.ROLE_ARN),
        ({vault_backed_aws.SLEEP_SECONDS: "1501"}, vault_backed_aws.SLEEP_SECONDS),
        ({vault_backed_aws.SLEEP_SECONDS: "-1"}, vault_backed_aws.SLEEP_SECONDS),
        ({vault_backed_aws.VAULT_ROLE: "a/b"}, vault_backed_aws.VAULT_ROLE),
        ({vault_backed_aws.VAULT_CONFIG: "prod_PLAN"}, vault_backed_aws.VAULT_CONFIG),
        ({"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"}, "AWS_ACCESS_KEY_ID"),
    ],
)
def test_bad_values_name_the_variable(changes: dict[str, str], named: str) -> None:
    assert named in _problems({**ENABLED, **changes})


def test_the_sleep_is_capped_at_hcps_limit() -> None:
    limit = str(vault_backed_aws.MAX_SLEEP_SECONDS)
    assert _config({**ENABLED, vault_backed_aws.SLEEP_SECONDS: limit}).sleep_seconds == 1500


def test_vault_config_names_the_tagged_vault_login() -> None:
    env = {
        **ENABLED,
        vault_backed_aws.VAULT_CONFIG: "DEVOPS",
        f"{vault.ADDRESS}_DEVOPS": "https://devops-vault.example.com",
        f"{vault.ROLE}_DEVOPS": "devops-role",
    }
    config = _config(env)
    assert (config.vault.address, config.vault.role) == (
        "https://devops-vault.example.com",
        "devops-role",
    )


def test_a_missing_tagged_vault_login_names_the_tagged_variable() -> None:
    # The address is shared with the untagged Vault; the role is each configuration's own.
    env = {**ENABLED, vault_backed_aws.VAULT_CONFIG: "DEVOPS"}
    assert _problems(env) == [f"{vault.ROLE}_DEVOPS"]
