"""Identities the job would inherit: each cloud lists the variables by which its SDKs find an
identity (`Cloud.identity`), which injector's usual outputs set. Some modes do not set them all
(AWS's tagged configurations live in profiles, which boto3 reads only after AWS_ROLE_ARN and
AWS_WEB_IDENTITY_TOKEN_FILE; the token endpoint points azurerm at a URL, which it asks only
without ARM_OIDC_TOKEN_FILE_PATH): a value inherited from the runner (an EKS pod's IRSA, a CI
agent's identity) would then be used instead of the web identity. `env` and `hook` refuse such
a variable; `run` keeps it from its command. Only names are ever shown, never a value."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from injector import clouds
from injector.clouds.base import CloudConfig
from injector.errors import ConfigError, Problem


def leftovers(
    configs: Iterable[CloudConfig], env: Mapping[str, str], exports: Mapping[str, str]
) -> list[str]:
    """The identity variables of the enabled clouds set in `env` that `exports` do not set."""
    names = {config.name for config in configs}
    return [
        name
        for cloud in clouds.registered()
        if cloud.name in names
        for name in cloud.identity
        if env.get(name) and name not in exports
    ]


def refuse(
    configs: Iterable[CloudConfig], env: Mapping[str, str], exports: Mapping[str, str]
) -> None:
    """Raises ConfigError naming each identity variable the job would inherit."""
    configs = tuple(configs)
    found = leftovers(configs, env, exports)
    if not found:
        return
    problems = []
    for name in found:
        cloud = next(c for c in clouds.registered() if name in c.identity)
        problems.append(
            Problem(
                name,
                f"is set in the job's environment and this job's outputs do not replace it: "
                f"{cloud.preferred_by} would use it instead of the web identity that "
                f"{cloud.switch} asks for; remove it from the job's environment",
            )
        )
    raise ConfigError(problems)
