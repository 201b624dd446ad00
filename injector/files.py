"""The private folder and the files in it: 0700 folder, 0600 files, atomic writes, clean-up."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from injector.errors import ConfigError, InjectorError

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def check_folder(path: Path, option: str = "--dir") -> None:
    """A folder the user names must be theirs and private, or not exist yet (it is then made).

    A folder others can read or enter would expose the tokens, and fixing its mode behind the
    user's back could break whatever else lives in it, so both are refused.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    except OSError as error:
        raise ConfigError.of(option, f"cannot use {path}: {error.strerror}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise ConfigError.of(option, f"{path} exists and is not a folder")
    if info.st_uid != os.geteuid():
        raise ConfigError.of(option, f"{path} belongs to another user: expected a folder of yours")
    if info.st_mode & 0o077:
        raise ConfigError.of(
            option,
            f"{path} is open to group or others (mode {stat.S_IMODE(info.st_mode):04o}): "
            "expected a new path or a folder with mode 0700",
        )


def make_folder(path: Path | None) -> tuple[Path, bool]:
    """The folder to write into, made private if new; and whether it was made here.

    Without a path, a new folder under the system's temporary folder.
    """
    if path is None:
        import tempfile  # here: it loads shutil, random and more, which the hot path never needs

        return Path(tempfile.mkdtemp(prefix="injector-")), True
    check_folder(path)
    path = path.absolute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=FOLDER_MODE)
    except FileExistsError:
        check_folder(path)  # made by someone else since the check above: check it again
        return path, False
    except OSError as error:
        raise InjectorError(f"cannot create {path}: {error.strerror}") from None
    # mkdir's mode passes through the umask; set it exactly.
    path.chmod(FOLDER_MODE)
    return path, True


# As tempfile.mkstemp opens its files (new, never through a symlink, owner-only), without
# importing tempfile: on the hot path that import cost more than the writes (`make bench`).
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _create_beside(path: Path) -> tuple[int, Path]:
    """A new file `.<name>.<random>.tmp` in `path`'s folder, open for writing, 0600."""
    for _ in range(100):
        temporary = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(temporary, _NEW_FILE, FILE_MODE), temporary
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def write_atomically(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Write a temporary file beside `path`, then rename it over `path`: a reader sees the old
    content or the new, never a half-written file. `mode` (0600 unless said) whatever the umask.

    No fsync: rename alone gives readers that guarantee, and a token file is worthless after a
    crash of the machine anyway (the job dies with it), so durability would only cost time.
    """
    fd, temporary = _create_beside(path)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_all(files: Mapping[Path, bytes]) -> None:
    """Write every file, or (on failure) none: the ones already written are removed."""
    written: list[Path] = []
    for path, data in files.items():
        try:
            write_atomically(path, data)
        except OSError as error:
            for done in written:
                done.unlink(missing_ok=True)
            raise InjectorError(f"cannot write {path}: {error.strerror}") from None
        written.append(path)


def remove_folder(path: Path) -> None:
    import shutil  # here, not at the top: it loads bz2 and lzma, and the hot path rarely needs it

    shutil.rmtree(path, ignore_errors=True)
