"""Configurations that cross: two untagged configurations of different clouds that give the
same SDKs a default identity, where the SDKs take one before the other (AWS's web identity in
the environment comes before the Vault-backed AWS credentials file in every AWS SDK and in
Terraform's AWS provider). Both would be on, and the job would quietly run as one of them:
refused before anything is minted, naming both switches as the user set them. Tagged
configurations are reached through their Terraform variables, each naming its own credentials,
so they never cross."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from injector.clouds.base import CloudConfig
from injector.config.variables import Variables
from injector.errors import ConfigError, Problem


def refuse(configs: Sequence[CloudConfig], env: Mapping[str, str]) -> None:
    """Raises ConfigError for each untagged configuration whose cloud yields to another enabled
    untagged one (`Rivals.yields_to`), naming both switches by the variables the user set in
    `env` (HCP's name, the alias or injector's)."""
    variables = Variables.of(env)
    untagged = [config for config in configs if config.tag is None]
    problems = []
    for config in untagged:
        for winner in untagged:
            if winner.name not in config.cloud.rivals.yields_to:
                continue
            mine, theirs = _set(config, variables), _set(winner, variables)
            # A tag goes right after the switch in each family (`<switch>_<TAG>`): suggest it
            # in the names the user wrote, on whichever side takes tags.
            tagged = [
                f"{names[0]}_<TAG>"
                for names, side in ((mine, config), (theirs, winner))
                if side.cloud.tagged
            ]
            tag = (
                f", or give one a tag ({' or '.join(tagged)}, reached through its Terraform "
                "variable)"
                if tagged
                else ""
            )
            problems.append(
                Problem(
                    mine[0],
                    f"is on, and so is {_said(theirs)}, whose identity "
                    f"{config.cloud.rivals.preferred_by} would use before the credentials "
                    f"{_said(mine)} asks for: switch one of them off{tag}",
                )
            )
    if problems:
        raise ConfigError(problems)


def _set(config: CloudConfig, variables: Variables) -> tuple[str, ...]:
    """The variables the user set that switch `config`'s cloud on, the first at least."""
    given = config.cloud.switches_given(variables) or (config.cloud.switch,)
    return tuple(dict.fromkeys(variables.origin(name) for name in given))


def _said(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else f"{names[0]} (and {', '.join(names[1:])})"
