"""Plan and apply phases: a workspace may use a read-only identity for plan and a write one for
apply. `<VARIABLE>_PLAN` / `<VARIABLE>_APPLY` override `<VARIABLE>` for that phase."""

from __future__ import annotations

from collections.abc import Mapping

from injector import clouds
from injector.claims import PHASE_CLAIM_NAME as CLAIM_NAME
from injector.claims import PHASES
from injector.config import values
from injector.config.variables import Variables
from injector.errors import ConfigError

PHASE_CLAIM = "DynamicCredentialPhaseClaim"


def phased(env: Mapping[str, str]) -> tuple[str, ...]:
    """The identity each cloud `env` may switch on assumes; audiences and the rest stay shared
    by both phases."""
    return tuple(variable for cloud in clouds.switched(env) for variable in cloud.phased)


def resolve(env: Mapping[str, str], phase: str | None) -> Variables:
    """The environment as the phase sees it: a layer whose overridden variables have their
    `<VARIABLE>_APPLY` as origin (so an error names it, where the typo is)."""
    variables = Variables.of(env)
    if phase is None:
        return variables
    if phase not in PHASES:
        raise ConfigError.of("--phase", f"expected plan or apply, got {values.shown(phase)}")
    resolved, origins = dict(env), {}
    for variable in phased(env):
        specific = f"{variable}_{phase.upper()}"
        if values.optional(env, specific) is not None:
            resolved[variable] = env[specific]
            origins[variable] = specific
        elif values.optional(env, variable) is None and any(
            values.optional(env, f"{variable}_{other.upper()}") is not None for other in PHASES
        ):
            # Only the other phase's identity is set: what this phase lacks is its own.
            origins[variable] = specific
    return variables.over(resolved, origins)


def claim(env: Mapping[str, str], phase: str | None) -> dict[str, object]:
    """The extra claim, when the operator opts in with DynamicCredentialPhaseClaim; else none.

    Off by default so tokens keep exactly the Terrakube claim set that trust policies expect.
    """
    if phase is None or not values.boolean(env, PHASE_CLAIM):
        return {}
    return {CLAIM_NAME: phase}
