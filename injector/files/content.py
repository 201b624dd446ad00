"""The files themselves: read only when regular and small, written atomically, removed."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from injector.errors import ConfigError

FILE_MODE = 0o600
MAX_READ_BYTES = 1 << 20  # far more than any key, token or env file; stops /dev/zero-like input


def _refuse(option: str, message: str) -> ConfigError:
    return ConfigError.of(option, message)


def read_file(
    path: Path,
    variable: str,
    what: str = "a file",
    *,
    follow: bool = True,
    limit: int = MAX_READ_BYTES,
    missing: bytes | None = None,
) -> bytes:
    """The bytes of a regular file of at most `limit` bytes. A FIFO or device is refused without
    blocking (opened O_NONBLOCK, then checked with fstat); `follow=False` refuses a link. A
    missing file gives `missing` if given. Raises ConfigError naming `variable`."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        if missing is not None:
            return missing
        raise _refuse(variable, f"no such file: {path}") from None
    except OSError as error:
        if error.errno == errno.ELOOP and not follow:
            raise _refuse(
                variable, f"{path} is a symbolic link: refusing to read through it"
            ) from None
        raise _refuse(variable, f"cannot read {path}: {error.strerror}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise _refuse(variable, f"is a folder, expected {what}: {path}")
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(
                variable, f"{path} is not a regular file (a pipe or device?): expected {what}"
            )
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise _refuse(variable, f"{path} is larger than {limit} bytes: expected {what}")
        return b"".join(chunks)
    except OSError as error:
        raise _refuse(variable, f"cannot read {path}: {error.strerror}") from None
    finally:
        os.close(fd)


# As tempfile.mkstemp opens its files (new, never through a symlink, owner-only), without
# importing tempfile: on the hot path that import cost more than the writes (`make bench`).
NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _create_in(folder_fd: int, name: str) -> tuple[int, str]:
    """A new file `.<name>.<random>.tmp` in the folder open as `folder_fd`, for writing, 0600."""
    for _ in range(100):
        temporary = f".{name}.{os.urandom(6).hex()}.tmp"
        try:
            return os.open(temporary, NEW_FILE, FILE_MODE, dir_fd=folder_fd), temporary
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {name}")


def unlink_at(folder_fd: int, name: str) -> None:
    """Remove `name` from the folder open as `folder_fd`; a missing one is no error."""
    try:
        os.unlink(name, dir_fd=folder_fd)
    except FileNotFoundError:
        return


def write_at(folder_fd: int, name: str, data: bytes, mode: int = FILE_MODE) -> None:
    """Write a temporary file in the folder open as `folder_fd`, then rename it over `name` in
    that same folder: a reader sees the old content or the new, never a half-written file.
    `mode` (0600 unless said) whatever the umask. O_EXCL makes the temporary file new (never a
    link's target) and rename replaces a link at `name` rather than writing through it.

    No fsync: rename alone gives readers that guarantee, and a token file is worthless after a
    crash of the machine anyway (the job dies with it), so durability would only cost time.
    """
    fd, temporary = _create_in(folder_fd, name)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temporary, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    except BaseException:
        unlink_at(folder_fd, temporary)
        raise


def write_atomically(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """`write_at` in `path`'s folder, opened by name: only for a file outside the folder a job
    holds (Terrakube's env file, which `hook` merges into). A job's own files go through its
    held `Folder`, which never looks the folder's name up again."""
    folder_fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        write_at(folder_fd, path.name, data, mode)
    finally:
        os.close(folder_fd)
