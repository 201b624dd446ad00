"""`injector hook`: the Terrakube executor step that runs before terraform init, plan and apply.

Terrakube runs template scripts with the job's environment (`workingDirectory`, `terrakubeEnv`,
the job ids, the workspace variables) and loads `KEY=VALUE` lines from the file `terrakubeEnv`
names into the Terraform process. The hook writes the tokens inside the working directory, which
Terrakube deletes after the job, and puts the exports in that file.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from injector import clouds, files
from injector.clouds.base import ALIAS_PREFIX
from injector.config import values
from injector.errors import ConfigError, InjectorError
from injector.job import exchange, pipeline, render

log = logging.getLogger("injector")

WORKING_DIRECTORY = "workingDirectory"
ENV_FILE = "terrakubeEnv"
DEFAULT_ENV_FILE = ".terrakube_temp_env"
# Under `.terraform/`: Terrakube's artifact upload skips any path with a `.terraform` part, so no
# artifact pattern can ever pick up a token.
DEFAULT_FOLDER = Path(".terraform", "injector")


def merged_env_file(existing: str, lines: str) -> str:
    """`existing` with `lines` (KEY=VALUE) added: earlier lines for the same keys (a previous
    hook run) are dropped, everything else is kept as it was."""
    keys = {line.split("=", 1)[0] for line in lines.splitlines()}
    kept = [
        line for line in existing.splitlines(keepends=True) if line.split("=", 1)[0] not in keys
    ]
    text = "".join(kept)
    if text and not text.endswith("\n"):
        text += "\n"
    return text + lines


def _working_directory(env: Mapping[str, str]) -> Path:
    value = values.required(env, WORKING_DIRECTORY, "the job's working directory")
    path = Path(value)
    if not path.is_dir():
        raise ConfigError.of(WORKING_DIRECTORY, f"{path} is not a folder")
    return path


def hook(
    env: Mapping[str, str],
    *,
    phase: str | None = None,
    folder: Path | None = None,
    require: str | None = None,
) -> int:
    """Mint, write the files, and merge the exports into Terrakube's env file."""
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
    target = folder if folder is not None else working / DEFAULT_FOLDER
    written = pipeline.write(prepared, target, lambda plan: render.terrakube(plan.exports))
    exchanges = None
    try:
        lines = written.output
        if exchange.needed(written):
            # Terrakube loads the env file into terraform's environment: VAULT_TOKEN goes in
            # it (the file is 0600, inside the working directory Terrakube deletes).
            exchanges = exchange.perform(written)
            lines = render.terrakube({**written.plan.exports, **exchange.environment(exchanges)})
        existing = env_file.read_text() if env_file.exists() else ""
        files.write_atomically(env_file, merged_env_file(existing, lines).encode())
    except OSError as error:
        exchange.undoing(written, exchanges)
        raise InjectorError(f"cannot update {env_file} ({ENV_FILE}): {error.strerror}") from None
    except BaseException:
        exchange.undoing(written, exchanges)
        raise
    names = ", ".join(cloud.config.name for cloud in written.plan.clouds)
    log.info("exports for %s added to %s", names, env_file)
    return 0


def _warn_about_terrakubes_own_switches(env: Mapping[str, str]) -> None:
    """Terrakube 2.21 and later turn their own dynamic credentials on when a workspace has a
    variable of a switch's name (whatever its value), and those replace the hook's files and
    exports after the env file is loaded: the alias switches injector alone."""
    for cloud in clouds.registered():
        if env.get(cloud.switch) is not None:
            log.warning(
                "%s also turns on Terrakube's own credentials, which replace the hook's on "
                "Terrakube 2.21 and later: set %s instead",
                cloud.switch,
                cloud.alias,
            )
