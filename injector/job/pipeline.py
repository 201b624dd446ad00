"""The pipeline every command shares: environment -> settings -> minter -> plan (the files are
written, and taken away again, by the job's session: `session.py`)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from injector.claims import PHASES
from injector.config import issuer_settings
from injector.errors import ConfigError
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
        env, keyless, phase = _attested(env, phase=phase, require=require)
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
    """Whether the job is keyless: DynamicCredentialSigner names an HTTPS endpoint, or a
    socket with a platform token source set beside it (issuer_settings.SUBJECT_SOURCES).
    Decided here, so that other jobs never import injector.job.keyless (it loads urllib)."""
    signer = (env.get(issuer_settings.SIGNER) or "").strip()
    if signer.startswith(("https://", "http://")):
        return True
    return signer.startswith("unix:") and any(
        (env.get(name) or "").strip() for name in issuer_settings.SUBJECT_SOURCES
    )


def _attested(
    env: Mapping[str, str], *, phase: str | None, require: str | None
) -> tuple[Mapping[str, str], Minter | None, str | None]:
    """A keyless job: the environment with the job context the platform attests, the minter
    that exchanges the platform token (imported only here: key-file jobs never load it), and
    the phase: the one asked, else the attested one, which picks `<VARIABLE>_PLAN`/`_APPLY`
    as `--phase` would. The clouds' settings are read first, with the context left to the
    platform, to learn one audience to ask for."""
    from injector.job import keyless

    unnamed = {name: env.get(name) or "attested" for name in keyless.CLAIMS}
    probe = _probe({**env, **unnamed}, phase, require)
    if probe is None:
        return env, None, phase
    audience = probe.clouds[0].audience
    if keyless.over_socket(env):
        from injector.job.signer_minter import SignerMinter

        socket = issuer_settings.signer_socket(env)
        assert socket is not None  # noqa: S101 (unix:, checked by over_socket)
        through = SignerMinter(
            socket, issuer_settings.signer_user(env), lambda: keyless.subject_token(env)
        )
        first = through.attested(audience)
        resolved, _ = keyless.resolve(env, first, phase)
        attested_phase = keyless.attested(first)[1]
        return resolved, replace(through, attested_phase=attested_phase), phase or attested_phase
    endpoint = keyless.endpoint(env)
    first = keyless.exchange(endpoint, audience)
    resolved, attested = keyless.resolve(env, first, phase)
    return resolved, keyless.KeylessMinter(endpoint, attested), phase or keyless.attested(first)[1]


def _probe(env: Mapping[str, str], phase: str | None, require: str | None) -> Settings | None:
    """The settings before the platform names the phase. With none asked, a job that sets only
    `<VARIABLE>_PLAN`/`_APPLY` reads as the first phase it has all of: its audiences are the
    same in both (job.phases). The first error is the one told."""
    try:
        return settings.load(env, require_key=False, phase=phase, require=require)
    except ConfigError:
        if phase is not None:
            raise
        for each in PHASES:
            with contextlib.suppress(ConfigError):
                return settings.load(env, require_key=False, phase=each, require=require)
        raise


def mint(prepared: Prepared, folder: Path, now: int | None = None) -> Plan:
    return plan.build(
        prepared.settings, prepared.minter, folder, int(time.time()) if now is None else now
    )
