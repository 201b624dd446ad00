"""Plan and apply phases: a workspace may use a read-only identity for plan and a write one for
apply. `<VARIABLE>_PLAN` / `<VARIABLE>_APPLY` override `<VARIABLE>` for that phase."""

from __future__ import annotations

import re
from collections.abc import Mapping

from injector import clouds
from injector.config import values
from injector.errors import ConfigError, Problem

PHASES = ("plan", "apply")
PHASE_CLAIM = "DynamicCredentialPhaseClaim"
CLAIM_NAME = "terrakube_run_phase"


def phased() -> tuple[str, ...]:
    """The identity each cloud assumes; audiences and the rest stay shared by both phases."""
    return tuple(variable for cloud in clouds.registered() for variable in cloud.phased)


def resolve(env: Mapping[str, str], phase: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """The environment as the phase sees it, and for each overridden variable the name its value
    came from (so an error names `<VARIABLE>_APPLY`, where the typo is)."""
    if phase is None:
        return dict(env), {}
    if phase not in PHASES:
        raise ConfigError.of("--phase", f"expected plan or apply, got {values.shown(phase)}")
    resolved, origins = dict(env), {}
    for variable in phased():
        specific = f"{variable}_{phase.upper()}"
        if values.optional(env, specific) is not None:
            resolved[variable] = env[specific]
            origins[variable] = specific
    return resolved, origins


def renamed(error: ConfigError, origins: Mapping[str, str]) -> ConfigError:
    """`error` with each variable the user set under another name called by that name: the
    problem's variable, and, when that was renamed, every name its message mentions (`... but
    INJECTOR_ENABLE_AWS_PROD is ...`), in one pass so that no name is renamed twice."""
    names = sorted((n for n in origins if origins[n] != n), key=len, reverse=True)
    if not names:
        return error
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    return ConfigError(
        Problem(
            origins.get(p.variable, p.variable),
            # A problem about a renamed variable speaks in its names; one about a shared
            # variable (static credentials) stays the same for every configuration.
            pattern.sub(lambda m: origins[m[1]], p.message) if p.variable in names else p.message,
        )
        for p in error.problems
    )


def claim(env: Mapping[str, str], phase: str | None) -> dict[str, object]:
    """The extra claim, when the operator opts in with DynamicCredentialPhaseClaim; else none.

    Off by default so tokens keep exactly the Terrakube claim set that trust policies expect.
    """
    if phase is None or not values.boolean(env, PHASE_CLAIM):
        return {}
    return {CLAIM_NAME: phase}
