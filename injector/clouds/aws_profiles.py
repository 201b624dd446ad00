"""The AWS shared config and credentials files, read as botocore and the AWS SDK for Go read
them, for one question: would the profile the job uses win over the web identity?

botocore's chain tries, in order: the environment's keys, then a profile's `role_arn` (with
`source_profile` or `credential_source`), and only then AWS_WEB_IDENTITY_TOKEN_FILE; the
Terraform AWS provider (AWS SDK for Go v2) takes a profile named by AWS_PROFILE first, whatever
it holds (keys, `credential_process`, SSO). So any of these keys in the profile in use means the
job would not run with the token injector minted. Only key names are ever reported: a value
(a secret key, a command line) never leaves this module.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from injector.clouds.facets import Conflict
from injector.config import values
from injector.errors import ConfigError

if TYPE_CHECKING:
    import configparser

PROFILE = "AWS_PROFILE"
DEFAULT_PROFILE = "AWS_DEFAULT_PROFILE"  # botocore's older name, still read
CONFIG_FILE = "AWS_CONFIG_FILE"
CREDENTIALS_FILE = "AWS_SHARED_CREDENTIALS_FILE"

# Keys by which a profile brings credentials of its own.
WINNING_KEYS = (
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "role_arn",
    "source_profile",
    "credential_source",
    "credential_process",
    "sso_session",
    "sso_start_url",
    "sso_account_id",
    "sso_role_name",
    "login_session",
)
# The first line of the config files injector writes itself: their profiles are the web
# identities injector minted for, never credentials that would win over them.
MARK = "# Written by injector for this job's web identities; removed when the job ends."
# A profile's name in the files injector writes (tags: letters, digits and _).
PROFILE_NAME = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)
# What would end a value's line (Python's universal newlines, and the separators str.splitlines
# knows), or any other control character.
_UNSAFE_VALUE = re.compile("[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]")
# The files are small; anything larger is not an AWS config file and is not parsed.
_MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class WinningProfile:
    """A profile that would supply credentials: where, which keys, and the variables that lead
    there (dropped by `injector run`; empty when only the default files and profile do)."""

    profile: str
    file: Path
    file_variable: (
        str  # the variable that would name `file`: AWS_CONFIG_FILE or ..._CREDENTIALS_...
    )
    keys: tuple[str, ...]
    variables: tuple[str, ...]


def _profile(env: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    for name in (PROFILE, DEFAULT_PROFILE):
        if env.get(name):
            return env[name], (name,)
    return "default", ()


def _sections_of(profile: str, *, config: bool) -> tuple[str, ...]:
    """The sections that hold `profile`: `[profile NAME]` in the config file (`[default]` or
    `[profile default]` for the default one), `[NAME]` in the credentials file."""
    if not config:
        return (profile,)
    return ("default", "profile default") if profile == "default" else (f"profile {profile}",)


def _files(env: Mapping[str, str]) -> list[tuple[Path, str, tuple[str, ...]]]:
    """(file, its variable, the variables naming it) for the config and credentials files."""
    home = Path(env.get("HOME") or _expanded("~"))
    found: list[tuple[Path, str, tuple[str, ...]]] = []
    for variable, default in (
        (CONFIG_FILE, home / ".aws" / "config"),
        (CREDENTIALS_FILE, home / ".aws" / "credentials"),
    ):
        value = env.get(variable)
        path = Path(_expanded(value)) if value else default
        found.append((path, variable, (variable,) if value else ()))
    return found


def _expanded(path: str) -> str:
    """`~` as botocore expands it. Path.expanduser raises for a uid with no HOME and no account
    (a container's arbitrary uid); os.path.expanduser leaves the `~` as written, and botocore
    then finds no ~/.aws either."""
    return os.path.expanduser(path)  # noqa: PTH111


def _sections(path: Path) -> configparser.RawConfigParser | None:
    """The file's sections, or None when it is missing, unreadable, not a regular file or not
    an ini file (then no SDK takes credentials from it either)."""
    try:
        if not path.is_file() or path.stat().st_size > _MAX_BYTES:
            return None
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if text.startswith(MARK):
        return None
    # Here, not at the top: most jobs have no such file, and every AWS job's start would pay
    # for the module.
    import configparser

    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error:
        return None
    return parser


def render(profiles: list[tuple[str | None, dict[str, str]]]) -> bytes:
    """A config file of injector's own: `[default]` for None, `[profile <NAME>]` for the
    others. Starts with MARK, which keeps `winning` off it. Rendered by the INI rules botocore
    and the AWS SDK for Go read with: a name from PROFILE_NAME and not `default` (which would
    be read as the default profile), each value on its one line as it is. Raises ConfigError,
    naming the profile's key, for anything else: what made it was checked before, by the
    variable the user set, so this is the last line of defence."""
    lines = [MARK]
    for name, keys in profiles:
        if name is not None and (PROFILE_NAME.fullmatch(name) is None or name.lower() == "default"):
            raise ConfigError.of(
                f"{name!r}", "expected a profile name of letters, digits, _ and -, not default"
            )
        lines.append("[default]" if name is None else f"[profile {name}]")
        for key, value in keys.items():
            if _UNSAFE_VALUE.search(value) or value != value.strip():
                raise ConfigError.of(
                    key,
                    f"{ascii(value)[:80]}: a line break, a control character or a space at an "
                    "end cannot stand in an AWS config file's value",
                )
            lines.append(f"{key} = {value}")
        lines.append("")
    return "\n".join(lines).encode()


def winning(env: Mapping[str, str]) -> list[WinningProfile]:
    """The profile the job's environment selects, in each file where it brings credentials."""
    profile, via = _profile(env)
    found = []
    for path, file_variable, variables in _files(env):
        parser = _sections(path)
        if parser is None:
            continue
        for section in _sections_of(profile, config=file_variable == CONFIG_FILE):
            if parser.has_section(section):
                keys = tuple(key for key in WINNING_KEYS if parser.has_option(section, key))
                if keys:
                    found.append(
                        WinningProfile(profile, path, file_variable, keys, via + variables)
                    )
    return found


def conflicts(env: Mapping[str, str]) -> list[Conflict]:
    """The profile the environment selects, where it brings credentials of its own (keys, a
    role to assume, a credential process, SSO): named with its file and key names only."""
    found = []
    for profile in winning(env):
        via = profile.variables or (profile.file_variable,)
        found.append(
            Conflict(
                variable=via[0],
                detail=(
                    f"selects profile {values.shown(profile.profile)} in "
                    f"{values.clipped(str(profile.file), values.PATH_LIMIT)}, which has "
                    f"{', '.join(profile.keys)}"
                ),
                fix=(
                    f"unset {' and '.join(profile.variables)}, or remove those keys"
                    if profile.variables
                    else "remove those keys from the profile, or point AWS_CONFIG_FILE and "
                    "AWS_SHARED_CREDENTIALS_FILE at files without them"
                ),
                dropped=profile.variables,
            )
        )
    return found
