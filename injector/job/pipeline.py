"""The pipeline every command shares: environment -> settings -> minter -> plan -> files."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from injector import files
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


@dataclass(frozen=True)
class Written:
    """Files on disk for one job, and how to take them away again."""

    plan: Plan
    output: str
    folder: files.Folder

    @property
    def created_folder(self) -> bool:
        return self.folder.created

    def remove(self) -> None:
        """Remove the folder if it was made for this job (and the empty parents made for it),
        else just the files written; then drop the folder's lock, if held."""
        try:
            if self.folder.created:
                self.folder.remove_made()
            else:
                for path in self.plan.files:
                    path.unlink(missing_ok=True)
        finally:
            self.folder.release()


def _render(prepared: Prepared, minted: Plan, render: Callable[[Mapping[str, str]], str]) -> str:
    try:
        return render(minted.exports)
    except ConfigError as error:
        from injector.job import provenance  # only when a value was refused

        raise provenance.traced(
            error, minted.exports, prepared.env, prepared.phase, minted.folder, render
        ) from None


def write(
    prepared: Prepared,
    folder: Path | None,
    render: Callable[[Mapping[str, str]], str] | None = None,
    *,
    option: str = "--dir",
    follow_up_to: Path | None = None,
    hold: bool = False,
) -> Written:
    """Mint into `folder` (a new private temporary one if None), `render` the exports, then write
    the files. `render` runs first so that output it refuses leaves nothing written.

    The folder is locked while the files are written, so two jobs given one folder cannot
    replace or delete each other's files; with `hold` the lock is kept until `remove`.
    If anything fails, nothing is left behind: files written are removed, and so are folders
    made here. `option` names the setting the folder came from in messages.
    """
    target = files.make_folder(folder, option, follow_up_to=follow_up_to, lock=True)
    try:
        minted = mint(prepared, target.path)
        output = _render(prepared, minted, render) if render is not None else ""
        files.write_all(minted.files)
    except BaseException:
        target.remove_made()  # still holding the lock, so no other job is using it meanwhile
        target.release()
        raise
    if not hold:
        target.release()
    log.info("wrote %s to %s", ", ".join(path.name for path in minted.files), target.path)
    return Written(plan=minted, output=output, folder=target)
