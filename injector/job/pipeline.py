"""The pipeline every command shares: environment -> settings -> minter -> plan (the files are
written, and taken away again, by the job's session: `session.py`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from injector.job import minter, plan, preflight, settings, spelling
from injector.job.minter import Minter
from injector.job.plan import Plan
from injector.job.settings import Settings

log = logging.getLogger("injector")


@dataclass(frozen=True)
class Prepared:
    settings: Settings
    minter: Minter
    # What the settings were read from, so a refused export can be traced to its input.
    env: Mapping[str, str] = field(default_factory=dict)
    phase: str | None = None


def prepare(
    env: Mapping[str, str],
    *,
    dry_run: bool = False,
    phase: str | None = None,
    require: str | None = None,
) -> Prepared | None:
    """Validated settings and who signs (the key, or the signer's client); None when no cloud
    is enabled. Warns about variables that look misspelt; refuses what an enabled cloud would
    certainly refuse. Nothing is minted yet: a signer is first asked in `mint`.

    In a dry run a missing private key is replaced by a throw-away one.
    """
    spelling.warn(env)
    keyless = None
    if not dry_run and _keyless(env):
        env, keyless = _attested(env, phase=phase, require=require)
    loaded = settings.load(env, require_key=not dry_run, phase=phase, require=require)
    if loaded is None:
        return None
    preflight.check(loaded)
    return Prepared(
        settings=loaded,
        minter=minter.for_settings(loaded, dry_run=dry_run, keyless=keyless),
        env=dict(env),
        phase=phase,
    )


def _keyless(env: Mapping[str, str]) -> bool:
    """keyless.configured, without importing it (it loads urllib) for every other job."""
    signer = (env.get("DynamicCredentialSigner") or "").strip()
    return signer.startswith(("https://", "http://"))


def _attested(
    env: Mapping[str, str], *, phase: str | None, require: str | None
) -> tuple[Mapping[str, str], Minter | None]:
    """A keyless job: the environment with the job context the platform attests, and the
    minter that exchanges the platform token (imported only here: key-file jobs never load it).
    The clouds' settings are read first, with the context left to the platform, to learn one
    audience to ask for."""
    from injector.job import keyless

    unnamed = {name: env.get(name) or "attested" for name in keyless.CLAIMS}
    probe = settings.load({**env, **unnamed}, require_key=False, phase=phase, require=require)
    if probe is None:
        return env, None
    resolved, attested = keyless.resolve(env, probe.clouds[0].audience, phase)
    return resolved, keyless.KeylessMinter(keyless.endpoint(env), attested)


def mint(prepared: Prepared, folder: Path, now: int | None = None) -> Plan:
    return plan.build(
        prepared.settings, prepared.minter, folder, int(time.time()) if now is None else now
    )
