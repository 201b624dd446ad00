"""What the signer trusts on disk, checked before it listens: its policy, its key (or Transit
token) and its socket's folder.

A file is only as safe as the folders on its way: whoever can write one of them can put
another file, or a symlink, in its place. So the policy and the key (the path as given and,
after symlinks, the file it names) must each be owned by the signer's uid or root, and so must
every folder on the way; none may be writable by anyone else, except a sticky folder (such as
/tmp) whose entry on the way is the signer's or root's, which nobody else may rename or remove.
A secret (the key) must in addition be readable by no one but the signer's user (its own
group may read it: a Kubernetes secret mounted for a non-root user is group-readable).
A failure is exit 2 naming the file and the reason; nothing is listened on.

The socket's folder is held to the same rule, since whoever can write it can put their own
listener on the socket's name: an impostor signer for every job.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from injector.errors import ConfigError


def _trusted() -> frozenset[int]:
    return frozenset({0, os.getuid()})


def _mode(info: os.stat_result) -> str:
    return f"{stat.S_IMODE(info.st_mode):04o}"


def _writers(info: os.stat_result, path: Path) -> str | None:
    """Who besides the owner may write `path`, in words; None: nobody."""
    if not info.st_mode & (stat.S_IWOTH | stat.S_IWGRP):
        return None
    if os.statvfs(path).f_flag & os.ST_RDONLY:
        return None  # a read-only mount (a pod's volume mounted readOnly): nobody writes here
    if info.st_mode & stat.S_IWOTH:
        return "anyone"
    if info.st_mode & stat.S_IWGRP:
        return f"group {info.st_gid}"
    return None


def folder_problem(folder: Path, entry: str | None) -> str | None:
    """Why `folder` cannot be trusted to keep its `entry` (a name in it) as the signer left it,
    or None. `entry` None: the folder itself is what matters (nothing in it is the signer's)."""
    info = folder.stat()
    if info.st_uid not in _trusted():
        return f"folder {folder} belongs to uid {info.st_uid}, not to the signer's user or root"
    writers = _writers(info, folder)
    if writers is None:
        return None
    if info.st_mode & stat.S_ISVTX and entry is not None:
        try:
            owner = os.lstat(folder / entry).st_uid
        except FileNotFoundError:
            return None  # the signer makes the name itself; nobody else may then replace it
        if owner in _trusted():
            return None
        return (
            f"{folder / entry} belongs to uid {owner} in the sticky folder {folder}, "
            "which that uid may replace"
        )
    return f"folder {folder} (mode {_mode(info)}) is writable by {writers}"


def _on_the_way(path: Path) -> list[tuple[Path, str]]:
    """(folder, entry) for each folder from / to the one holding `path` (absolute)."""
    parts = path.parts
    return [(Path(*parts[:index]), parts[index]) for index in range(1, len(parts))]


def _file_problem(path: Path, secret: bool) -> str | None:
    info = path.stat()
    if info.st_uid not in _trusted():
        return f"{path} belongs to uid {info.st_uid}, not to the signer's user or root"
    writers = _writers(info, path)
    if writers is not None:
        return f"{path} (mode {_mode(info)}) is writable by {writers}"
    if secret:
        if info.st_mode & stat.S_IROTH:
            return f"{path} (mode {_mode(info)}) is readable by anyone"
        if info.st_mode & stat.S_IRGRP and info.st_gid != os.getgid():
            return (
                f"{path} (mode {_mode(info)}) is readable by group {info.st_gid}, which is not "
                "the signer's own group"
            )
    return None


def check_file(variable: str, path: Path, secret: bool = False) -> Path:
    """`path`; raises ConfigError naming `variable` and the reason unless `path`, the folders on
    its way and, through symlinks, the file it names are safe from other uids (see the
    module)."""
    given = Path(os.path.abspath(path))  # noqa: PTH100 (lexical: resolve() follows symlinks)
    try:
        real = Path(os.path.realpath(given, strict=True))
    except (OSError, RuntimeError):
        return path  # no such file, or a symlink loop: reading it says so, naming the variable
    through = f" (through the symlink {given})" if real != given else ""
    try:
        for target in dict.fromkeys((given, real)):
            for folder, entry in _on_the_way(target):
                problem = folder_problem(folder, entry)
                if problem is not None:
                    break
            else:
                problem = _file_problem(target, secret)
            if problem is not None:
                what = "a secret" if secret else "a file"
                raise ConfigError.of(
                    variable,
                    f"{problem}{through if target == real else ''}: refused, as {what} the "
                    "signer trusts must be safe from every other uid",
                )
    except OSError as error:
        raise ConfigError.of(variable, f"cannot check {path}: {error.strerror}") from None
    return path
