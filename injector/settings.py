"""Everything the environment says, validated once: job context, issuer, enabled clouds."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from injector import issuer as issuer_settings
from injector import job as job_context
from injector.clouds import LOADERS, CloudConfig
from injector.errors import Problems
from injector.issuer import IssuerSettings
from injector.job import JobContext


@dataclass(frozen=True)
class Settings:
    job: JobContext
    issuer: IssuerSettings
    clouds: tuple[CloudConfig, ...]


def load(env: Mapping[str, str], *, require_key: bool = True) -> Settings | None:
    """The validated settings, or None when no cloud has dynamic credentials enabled (then the
    job and issuer settings are not needed and not checked).

    Raises ConfigError listing every problem found, across all sections.
    """
    problems = Problems()
    enabled = []
    for loader in LOADERS:
        config = problems.check(_bind(loader, env), None)
        if config is not None:
            enabled.append(config)
    if not enabled and not problems:
        return None
    job = problems.check(lambda: job_context.from_env(env), None)
    issuer = problems.check(lambda: issuer_settings.from_env(env, require_key=require_key), None)
    problems.raise_if_any()
    assert job is not None and issuer is not None  # noqa: S101 (raise_if_any raised otherwise)
    return Settings(job=job, issuer=issuer, clouds=tuple(enabled))


def _bind(
    loader: Callable[[Mapping[str, str]], CloudConfig | None], env: Mapping[str, str]
) -> Callable[[], CloudConfig | None]:
    return lambda: loader(env)
