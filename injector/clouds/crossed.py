"""Configurations that cross: two untagged configurations of different clouds that give the
same SDKs a default identity, where the SDKs take one before the other (AWS's web identity in
the environment comes before the Vault-backed AWS credentials file in every AWS SDK and in
Terraform's AWS provider). Both would be on, and the job would quietly run as one of them:
refused before anything is minted, naming both switches. Tagged configurations are reached
through their Terraform variables, each naming its own credentials, so they never cross."""

from __future__ import annotations

from collections.abc import Sequence

from injector.clouds.base import CloudConfig
from injector.errors import ConfigError, Problem


def refuse(configs: Sequence[CloudConfig]) -> None:
    """Raises ConfigError for each untagged configuration whose cloud yields to another enabled
    untagged one (`Rivals.yields_to`)."""
    untagged = [config for config in configs if config.tag is None]
    problems = [
        Problem(
            config.cloud.switch,
            f"is on, and so is {winner.cloud.switch}, whose identity "
            f"{config.cloud.rivals.preferred_by} would use before the credentials "
            f"{config.cloud.switch} asks for: switch one of them off, or give one a tag "
            f"({config.cloud.switch}_<TAG>, reached through its Terraform variable)",
        )
        for config in untagged
        for winner in untagged
        if winner.name in config.cloud.rivals.yields_to
    ]
    if problems:
        raise ConfigError(problems)
