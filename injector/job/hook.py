"""`injector hook`: the Terrakube executor step that runs before terraform init, plan and apply.

Terrakube runs template scripts with the job's environment (`workingDirectory`, `terrakubeEnv`,
the job ids, the workspace variables) and loads `KEY=VALUE` lines from the file `terrakubeEnv`
names into the Terraform process. The hook writes the tokens inside the working directory, which
Terrakube deletes after the job, and puts the exports in that file.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from injector import clouds, files
from injector.clouds import tags
from injector.clouds.base import ALIAS_PREFIX
from injector.config import values
from injector.errors import ConfigError, InjectorError, Problem
from injector.job import pipeline, render, report
from injector.job.pipeline import Prepared
from injector.job.session import JobSession

log = logging.getLogger("injector")

WORKING_DIRECTORY = "workingDirectory"
ENV_FILE = "terrakubeEnv"
DEFAULT_ENV_FILE = ".terrakube_temp_env"
# Under `.terraform/`: Terrakube's artifact upload skips any path with a `.terraform` part, so no
# artifact pattern can ever pick up a token.
DEFAULT_FOLDER = Path(".terraform", "injector")


# Terrakube's loaders read the file line by line as Java does: a line ends at \n, \r or \r\n,
# and nothing else (not \x1c, \x85 or U+2028, which Python's splitlines would also cut at).
_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_ENV_FILE_WHAT = "Terrakube's env file (KEY=VALUE lines)"


def env_file_lines(data: bytes) -> list[bytes]:
    """The lines of `data`, each with its own line ending, split as Terrakube splits them."""
    return _LINE.findall(data)


def merged_env_file(existing: bytes, lines: bytes) -> bytes:
    """`existing` with `lines` (KEY=VALUE) added: earlier lines for the same keys (a previous
    hook run) are dropped, every other byte is kept exactly as it was."""
    keys = {line.rstrip(b"\r\n").split(b"=", 1)[0] for line in env_file_lines(lines)}
    kept = [
        line
        for line in env_file_lines(existing)
        if line.rstrip(b"\r\n").split(b"=", 1)[0] not in keys
    ]
    data = b"".join(kept)
    if data and not data.endswith((b"\n", b"\r")):
        data += b"\n"
    return data + lines


def _refuse_static_credentials_in(
    env_file: Path, existing: bytes, prepared: Prepared, *, replaced: Iterable[str]
) -> None:
    """Terrakube loads the env file into Terraform's environment: static credentials an earlier
    step (or a committed file) left there would win over the web identity just as they would in
    the job's own environment, where they are refused. Only names are shown, never a value."""
    assigned = {
        name.decode("utf-8", "replace"): value.decode("utf-8", "replace")
        for name, _, value in (
            line.rstrip(b"\r\n").partition(b"=") for line in env_file_lines(existing)
        )
        if value
    }
    for name in replaced:
        assigned.pop(name, None)
    problems = [
        Problem(
            ENV_FILE,
            f"{env_file} sets {name}, which {config.cloud.rivals.preferred_by} would use instead "
            f"of the web identity {config.cloud.switch} asks for: remove that line",
        )
        for config in prepared.settings.clouds
        for name in config.cloud.rivals.static_set(assigned)
    ]
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))


def _working_directory(env: Mapping[str, str]) -> Path:
    value = values.required(env, WORKING_DIRECTORY, "the job's working directory")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError.of(
            WORKING_DIRECTORY,
            f"{os.fsencode(value)!r} is not valid UTF-8: Terrakube's env file could not name the "
            "files under it; expected a path that is text",
        ) from None
    path = Path(value)
    if not path.is_dir():
        raise ConfigError.of(WORKING_DIRECTORY, f"{path} is not a folder")
    return path


def _refuse_uncarried(option: str, folder: Path) -> None:
    """The exports name files in `folder`: a path Terrakube's env file would cut is refused."""
    bad = render.terrakube_unsafe(str(folder))
    if bad:
        raise ConfigError.of(
            option,
            f"{folder} contains {' and '.join(bad)}, which Terrakube's env file cannot carry in "
            "the paths of the token files",
        )


def hook(
    env: Mapping[str, str],
    *,
    phase: str | None = None,
    folder: Path | None = None,
    require: str | None = None,
    quiet: bool = False,
) -> int:
    """Mint, write the files, and merge the exports into Terrakube's env file; unless `quiet`,
    say on stderr what was minted, one line per configuration.

    Every check on the env file (not a link, a regular file of the caller's, in a folder nobody
    else can change, small enough) passes before any token is written; if a later step fails,
    what this run wrote is removed."""
    working = _working_directory(env)
    env_file = Path(values.optional(env, ENV_FILE) or working / DEFAULT_ENV_FILE)
    _warn_about_terrakubes_own_switches(env)
    prepared = pipeline.prepare(env, phase=phase, require=require)
    if prepared is None:
        log.warning(
            "no cloud has dynamic credentials enabled (%s, or %s<CLOUD>): %s left as it is",
            clouds.switches(),
            ALIAS_PREFIX,
            env_file,
        )
        return 0
    env_target = files.check_file_path(env_file, ENV_FILE)
    existing = files.read_file(env_target, ENV_FILE, _ENV_FILE_WHAT, follow=False, missing=b"")
    if folder is None:
        option, target = WORKING_DIRECTORY, files.real_path(working / DEFAULT_FOLDER, working)
    else:
        option, target = "--dir", files.real_path(folder)
    _refuse_uncarried(option, target)
    follow_up_to = target.parent.parent if folder is None else None
    with JobSession(prepared, target, option=option, follow_up_to=follow_up_to) as session:
        # Terrakube loads the env file into terraform's environment: the secret exports go in
        # it (the file is 0600, inside the working directory Terrakube deletes).
        exports = {**session.exports, **session.secrets}
        # What the exports name replaces the earlier lines (a previous phase's VAULT_TOKEN).
        _refuse_static_credentials_in(env_target, existing, prepared, replaced=exports.keys())
        lines = session.render(render.terrakube, exports)
        try:
            files.write_atomically(env_target, merged_env_file(existing, lines.encode()))
        except OSError as error:
            raise InjectorError(
                f"cannot update {env_target} ({ENV_FILE}): {error.strerror}"
            ) from None
        session.keep()
    if not quiet:
        sys.stderr.write(report.minted(session.plan))
    names = ", ".join(tags.configuration_id(cloud.config) for cloud in session.plan.clouds)
    log.info("exports for %s added to %s", names, env_target)
    return 0


def _warn_about_terrakubes_own_switches(env: Mapping[str, str]) -> None:
    """Terrakube 2.21 and later turn their own dynamic credentials on when a workspace has a
    variable of a switch's name (whatever its value), and those replace the hook's files and
    exports after the env file is loaded: the alias switches injector alone."""
    for cloud in clouds.REGISTRY:
        if env.get(cloud.switch) is not None:
            log.warning(
                "%s also turns on Terrakube's own credentials, which replace the hook's on "
                "Terrakube 2.21 and later: set %s instead",
                cloud.switch,
                cloud.alias,
            )
