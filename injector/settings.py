"""Everything the environment says, validated once: job context, issuer, enabled clouds."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from injector import issuer as issuer_settings
from injector import job as job_context
from injector import phases, values
from injector.clouds import CLOUDS, Cloud, CloudConfig
from injector.errors import ConfigError, Problems
from injector.issuer import IssuerSettings
from injector.job import JobContext


@dataclass(frozen=True)
class Settings:
    job: JobContext
    issuer: IssuerSettings
    clouds: tuple[CloudConfig, ...]
    extra_claims: dict[str, object] = field(default_factory=dict)


def load(
    env: Mapping[str, str], *, require_key: bool = True, phase: str | None = None
) -> Settings | None:
    """The validated settings, or None when no cloud has dynamic credentials enabled (then the
    job and issuer settings are not needed and not checked).

    With a phase, `<VARIABLE>_PLAN` / `_APPLY` override the phased variables (injector.phases).
    Raises ConfigError listing every problem found, across all sections.
    """
    resolved, origins = phases.resolve(env, phase)
    try:
        return _load(resolved, require_key=require_key, phase=phase)
    except ConfigError as error:
        raise phases.renamed(error, origins) from None


def _load(env: Mapping[str, str], *, require_key: bool, phase: str | None) -> Settings | None:
    problems = Problems()
    enabled = []
    for cloud in CLOUDS:
        config = problems.check(_reader(cloud, env), None)
        if config is not None:
            enabled.append(config)
    if not enabled and not problems:
        return None
    job = problems.check(lambda: job_context.from_env(env), None)
    issuer = problems.check(lambda: issuer_settings.from_env(env, require_key=require_key), None)
    no_claims: dict[str, object] = {}
    extra_claims = problems.check(lambda: phases.claim(env, phase), no_claims)
    problems.raise_if_any()
    assert job is not None and issuer is not None  # noqa: S101 (raise_if_any raised otherwise)
    return Settings(job=job, issuer=issuer, clouds=tuple(enabled), extra_claims=extra_claims)


def _reader(cloud: Cloud, env: Mapping[str, str]) -> Callable[[], CloudConfig | None]:
    return lambda: cloud.from_env(env)


def static_credentials(env: Mapping[str, str]) -> list[str]:
    """The static credential variables set for the clouds whose switch is on: `injector run`
    removes these from its child's environment, where they would win over web identity."""
    found = []
    for cloud in CLOUDS:
        try:
            enabled = values.boolean(env, cloud.ENABLE)
        except ConfigError:
            continue  # reported by load()
        if enabled:
            found += [name for name in cloud.STATIC_CREDENTIALS if env.get(name)]
    return found
