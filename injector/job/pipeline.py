"""The pipeline every command shares: environment -> settings -> key -> plan -> files."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from injector import clouds, files
from injector.config import keys
from injector.config.keys import SigningKey
from injector.job import plan, settings
from injector.job.plan import Plan
from injector.job.settings import Settings

log = logging.getLogger("injector")


@dataclass(frozen=True)
class Prepared:
    settings: Settings
    key: SigningKey


def prepare(
    env: Mapping[str, str], *, dry_run: bool = False, phase: str | None = None
) -> Prepared | None:
    """Validated settings and the signing key; None when no cloud is enabled.

    In a dry run a missing private key is replaced by a throw-away one.
    """
    loaded = settings.load(env, require_key=not dry_run, phase=phase)
    if loaded is None:
        return None
    for config in loaded.clouds:
        advise = clouds.named(config.name).advice
        for line in advise(config) if advise is not None else ():
            log.warning("%s", line)
    if dry_run and loaded.issuer.private_key_path is None:
        key = keys.throwaway(loaded.issuer.key_id, loaded.issuer.algorithm)
    else:
        key = keys.load(loaded.issuer)
    return Prepared(settings=loaded, key=key)


def mint(prepared: Prepared, folder: Path, now: int | None = None) -> Plan:
    return plan.build(
        prepared.settings, prepared.key, folder, int(time.time()) if now is None else now
    )


@dataclass(frozen=True)
class Written:
    """Files on disk for one job, and how to take them away again."""

    plan: Plan
    output: str
    created_folder: bool

    def remove(self) -> None:
        """Remove the folder if it was made for this job, else just the files written."""
        if self.created_folder:
            files.remove_folder(self.plan.folder)
        else:
            for path in self.plan.files:
                path.unlink(missing_ok=True)


def write(
    prepared: Prepared, folder: Path | None, render: Callable[[Plan], str] | None = None
) -> Written:
    """Mint into `folder` (a new private temporary one if None), `render` the result, then write
    the files. `render` runs first so that output it refuses leaves nothing written.

    If anything fails, nothing is left behind: files written are removed, and so is a folder
    made here.
    """
    target, created = files.make_folder(folder)
    try:
        minted = mint(prepared, target)
        output = render(minted) if render is not None else ""
        files.write_all(minted.files)
    except BaseException:
        if created:
            files.remove_folder(target)
        raise
    log.info("wrote %s to %s", ", ".join(path.name for path in minted.files), target)
    return Written(plan=minted, output=output, created_folder=created)
