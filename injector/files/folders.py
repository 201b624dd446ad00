"""The folders injector writes into, safe against a hostile neighbour.

Why what is written lands where it was checked:
- A folder is reached by opening each component of its real path with O_NOFOLLOW relative to
  the one before, so what is checked is the folder actually used, not whatever a name points at
  a moment later. The walk opens with O_PATH: it needs to look up names, not list them, so a
  parent the caller may enter but not read (0711, common for shared homes) is fine.
- Every folder on the way belongs to the caller or root, and one that others may write into is
  sticky with the next component the caller's (or root's) own: otherwise its other writers
  could rename the folder away and put theirs in its place. The folder itself belongs to the
  caller and is closed to group and others (a public folder: not writable by them).
- The walk ends holding the folder it checked (`held.Folder`), and every file is written,
  created and removed relative to that descriptor (see held.py): so even if a name on the way
  were changed after the check, the files go into the folder that was checked, not to where
  that name now leads.
- The lock is a second descriptor on the same folder (opened from the first, so the same inode):
  flock needs one opened for reading, which O_PATH is not.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from pathlib import Path

from injector.errors import ConfigError, InjectorError
from injector.files.held import READ_FLAGS, Folder

FOLDER_MODE = 0o700
PUBLIC_FOLDER_MODE = 0o755

_FOLDER_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_TRUSTED_OWNERS = (0,)  # root can do anything anyway: a folder of root's adds no risk


def _refuse(option: str, message: str) -> ConfigError:
    return ConfigError.of(option, message)


# C0 and C1 controls, DEL, and the separators some parsers end a line at.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _check_utf8(option: str, path: Path) -> None:
    """The path goes into files other programs parse line by line (exports, env files, AWS
    config, Terraform variables): text, without a control character or line break."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise _refuse(
            option,
            f"{os.fsencode(path)!r} is not valid UTF-8: the exports could not name it; "
            "expected a path that is text",
        ) from None
    if _CONTROL.search(str(path)):
        shown = ascii(str(path))
        raise _refuse(
            option,
            f"{shown if len(shown) <= 120 else shown[:117] + '...'} has a control character or "
            "line break, which would end a line of the files that name it; expected a path "
            "without one",
        )


def real_path(path: Path, follow_up_to: Path | None = None) -> Path:
    """`path` absolute, with the links in `follow_up_to` (default: its parent) resolved; the
    components after it are kept as they are, to be opened without following links."""
    absolute = path if path.is_absolute() else Path.cwd() / path
    if absolute.name in ("", ".", ".."):
        return Path(os.path.realpath(absolute))
    anchor = follow_up_to if follow_up_to is not None else absolute.parent
    anchor = anchor if anchor.is_absolute() else Path.cwd() / anchor
    return Path(os.path.realpath(anchor), absolute.relative_to(anchor))


def _why_not_a_folder(option: str, parent_fd: int, path: Path, target: Path) -> ConfigError:
    way = "" if path == target else f" (on the way to {target})"
    try:
        info = os.lstat(path.name, dir_fd=parent_fd)
    except OSError as error:
        return _refuse(option, f"cannot use {path}{way}: {error.strerror}")
    if stat.S_ISLNK(info.st_mode):
        return _refuse(
            option, f"{path}{way} is a symbolic link: expected a real folder, not a link"
        )
    return _refuse(option, f"{path}{way} exists and is not a folder")


def _check_step(option: str, parent: Path, above: os.stat_result, child: Path, owner: int) -> None:
    """`parent` (stat `above`) must not let anyone but the caller and root replace `child`
    (owned by `owner`)."""
    caller = os.geteuid()
    if above.st_uid not in (caller, *_TRUSTED_OWNERS):
        raise _refuse(
            option,
            f"{parent} belongs to another user (uid {above.st_uid}), who could replace what is "
            "under it: expected a path through folders of yours or root's",
        )
    if above.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        mode = f"{parent} is writable by others (mode {stat.S_IMODE(above.st_mode):04o})"
        if not above.st_mode & stat.S_ISVTX:
            raise _refuse(option, f"{mode} and not sticky: they could replace what is under it")
        if owner not in (caller, *_TRUSTED_OWNERS):
            raise _refuse(
                option,
                f"{mode} and {child} in it belongs to another user (uid {owner}): expected a "
                "folder of yours there",
            )


def _check_target(option: str, path: Path, info: os.stat_result, public: bool) -> None:
    if info.st_uid != os.geteuid():
        raise _refuse(option, f"{path} belongs to another user: expected a folder of yours")
    if info.st_mode & (0o022 if public else 0o077):
        expected = "not writable by group or others" if public else "with mode 0700"
        raise _refuse(
            option,
            f"{path} is open to group or others (mode {stat.S_IMODE(info.st_mode):04o}): "
            f"expected a new path or a folder {expected}",
        )


def _set_mode(fd: int, mode: int) -> None:
    """fchmod the folder open as `fd` (O_PATH, which fchmod refuses: reopened for reading)."""
    readable = os.open(".", READ_FLAGS, dir_fd=fd)
    try:
        os.fchmod(readable, mode)
    finally:
        os.close(readable)


def _open_child(
    option: str, fd: int, child: Path, target: Path, *, create: bool, mode: int, made: list[Path]
) -> int | None:
    """An fd of `child` (a name in the folder open as `fd`), opened without following a link;
    made first if missing and `create`; None if missing and not `create`."""
    try:
        try:
            return os.open(child.name, _FOLDER_FLAGS, dir_fd=fd)
        except FileNotFoundError:
            if not create:
                return None
        try:
            os.mkdir(child.name, mode, dir_fd=fd)
            made.append(child)
        except FileExistsError:
            pass  # made by someone else since: the checks that follow decide
        child_fd = os.open(child.name, _FOLDER_FLAGS, dir_fd=fd)
        if made and made[-1] == child:
            _set_mode(child_fd, mode)  # mkdir's mode passes through the umask; set it exactly
        return child_fd
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR, errno.EEXIST):
            raise _why_not_a_folder(option, fd, child, target) from None
        raise InjectorError(f"cannot create {child}: {error.strerror}") from None


def _open(
    path: Path,
    option: str,
    *,
    create: bool,
    public: bool,
    keep_open: bool = False,
    target: bool = True,
) -> Folder:
    """Walk `path` (absolute, resolved as far as links may be followed) from `/`, one O_NOFOLLOW
    open relative to the folder before, checking each step; make what is missing if `create`.
    Without `create`, a missing component ends the walk: the rest would be made by the caller.
    With `target`, `path` itself must be the caller's and closed to others (`_check_target`)."""
    _check_utf8(option, path)
    made: list[Path] = []
    fd = os.open("/", _FOLDER_FLAGS)
    try:
        current, above = Path("/"), os.fstat(fd)
        for name in path.parts[1:]:
            child = current / name
            # Public: every folder made is 0755, so the web server can reach the files.
            mode = PUBLIC_FOLDER_MODE if public else FOLDER_MODE
            child_fd = _open_child(option, fd, child, path, create=create, mode=mode, made=made)
            if child_fd is None:
                return Folder(path)
            os.close(fd)
            fd = child_fd
            info = os.fstat(fd)
            _check_step(option, current, above, child, info.st_uid)
            current, above = child, info
        if target:
            _check_target(option, path, above, public)
        folder = Folder(path, tuple(made))
        if keep_open:
            folder._fd, fd = fd, -1
        return folder
    except BaseException:
        Folder(path, tuple(made)).remove_made()
        raise
    finally:
        if fd >= 0:
            os.close(fd)


def check_folder(path: Path, option: str = "--dir", *, public: bool = False) -> None:
    """A folder the user names must be theirs and private (public: not writable by others),
    reached only through folders nobody else can change; or not exist yet (it is then made).

    A folder others can read or enter would expose the tokens, and fixing its mode behind the
    user's back could break whatever else lives in it, so both are refused.
    """
    _open(real_path(path), option, create=False, public=public)


def _lock(folder: Folder, option: str) -> None:
    """An exclusive lock on the folder, so a second `run` given it cannot delete our files."""
    if not folder.lock():
        raise _refuse(
            option,
            f"{folder.path} is in use by another injector process: give each job its own folder",
        )
    if not folder.still_at_its_path():
        # Its previous holder removed it after we opened it: the name is no longer ours.
        raise _refuse(option, f"{folder.path} was removed by another injector process: retry")


def make_folder(
    path: Path | None,
    option: str = "--dir",
    *,
    public: bool = False,
    follow_up_to: Path | None = None,
    lock: bool = False,
) -> Folder:
    """The folder to write into, checked (see `check_folder`) and made if new (0700, public
    0755), with any missing parents (the same modes). Without a path, a new folder under the
    system's temporary folder. The folder is held open until released (a `with` block, or
    `release`), for its files to be written through it; with `lock`, with an exclusive lock too.
    Links are followed only in `follow_up_to` (default: the parent of `path`)."""
    if path is None:
        import tempfile  # here: it loads shutil, random and more, which the hot path never needs

        made = Path(tempfile.mkdtemp(prefix="injector-"))
        try:
            folder = _open(real_path(made), "TMPDIR", create=False, public=False, keep_open=True)
        except BaseException:
            # Fresh and refused, it holds nothing of the job's: rmdir, never rmtree by path.
            with contextlib.suppress(OSError):
                made.rmdir()
            raise
        folder.made = (folder.path,)
    else:
        folder = _open(
            real_path(path, follow_up_to), option, create=True, public=public, keep_open=True
        )
    if lock:
        try:
            _lock(folder, option)
        except BaseException:
            folder.release()
            folder.remove_made()
            raise
    return folder


def check_file_path(path: Path, option: str) -> Path:
    """For a file injector replaces (an env file): its real path, after checking the folders
    above it as `check_folder` does, and that it is not a link or another user's file."""
    target = real_path(path)
    parent = _open(target.parent, option, create=False, public=True, keep_open=True, target=False)
    if parent._fd is None:
        raise _refuse(option, f"{target.parent} does not exist: expected an existing folder")
    try:
        above = os.fstat(parent._fd)
        info = os.lstat(target.name, dir_fd=parent._fd)
    except FileNotFoundError:
        _check_step(
            option, target.parent, above, target, os.geteuid()
        )  # the file made will be ours
        return target
    except OSError as error:
        raise _refuse(option, f"cannot use {target}: {error.strerror}") from None
    finally:
        parent.release()
    if stat.S_ISLNK(info.st_mode):
        raise _refuse(option, f"{target} is a symbolic link: refusing to read or write through it")
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(option, f"{target} is not a regular file")
    if info.st_uid != os.geteuid():
        raise _refuse(option, f"{target} belongs to another user: expected a file of yours")
    _check_step(option, target.parent, above, target, info.st_uid)
    return target
