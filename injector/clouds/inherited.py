"""Identities the job would inherit: each cloud lists the variables by which its SDKs find an
identity (`Rivals.identity`), which injector's usual outputs set. Some modes do not set them all
(AWS's tagged configurations live in profiles, which boto3 reads only after AWS_ROLE_ARN and
AWS_WEB_IDENTITY_TOKEN_FILE; the token endpoint points azurerm at a URL, which it asks only
without ARM_OIDC_TOKEN_FILE_PATH): a value inherited from the runner (an EKS pod's IRSA, a CI
agent's identity) would then be used instead of the web identity. `env` and `hook` refuse such
a variable; `run` keeps it from its command. Only names are ever shown, never a value."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from injector.clouds.base import Cloud, CloudConfig
from injector.errors import ConfigError, Problem


def _inherited(
    configs: Iterable[CloudConfig], env: Mapping[str, str], exports: Mapping[str, str]
) -> dict[str, Cloud]:
    """Each identity variable of the enabled clouds set in `env` that `exports` do not set,
    with its cloud. Only the enabled clouds' own modules are read: the job has loaded them."""
    enabled = {config.name: config.cloud for config in configs}
    return {
        name: cloud
        for cloud in enabled.values()
        for name in cloud.rivals.identity
        if env.get(name) and name not in exports
    }


def leftovers(
    configs: Iterable[CloudConfig], env: Mapping[str, str], exports: Mapping[str, str]
) -> list[str]:
    """The identity variables of the enabled clouds set in `env` that `exports` do not set."""
    return list(_inherited(configs, env, exports))


def refuse(
    configs: Iterable[CloudConfig], env: Mapping[str, str], exports: Mapping[str, str]
) -> None:
    """Raises ConfigError naming each identity variable the job would inherit."""
    found = _inherited(configs, env, exports)
    if not found:
        return
    raise ConfigError(
        [
            Problem(
                name,
                f"is set in the job's environment and this job's outputs do not replace it: "
                f"{cloud.rivals.preferred_by} would use it instead of the web identity that "
                f"{cloud.switch} asks for; remove it from the job's environment",
            )
            for name, cloud in found.items()
        ]
    )
