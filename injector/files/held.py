"""A folder once checked (folders.py), held open: what it writes, creates and removes goes
through its descriptor, never through its path.

The descriptor is O_PATH (the walk needs to look names up, not list them). Every file is a name
relative to it (`dir_fd=`): a new temporary file is created O_EXCL|O_NOFOLLOW inside it and
renamed within it, and removal is an unlink inside it. Nothing here resolves the folder's path
again, so a link or a folder swapped in under that path after the check receives nothing. At the
job's end `remove_made` empties the folder through its descriptor and removes its name only
while that name still leads to it.

A job holds its folder (job/session.py) from the check to its end, and every write of the job,
its first files and those of the threads that run beside its command (the refresher, the lease
keeper, the token endpoint), goes through it. Once released, the folder refuses writes
(`FolderReleased`) instead of falling back to the path: a thread racing the end of the job
writes nothing. A lock makes release wait for a write under way, so a descriptor number is
never used after it was closed (and perhaps reused for another file).
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from injector.errors import InjectorError
from injector.files.content import FILE_MODE, NEW_FILE, unlink_at, write_at

# A folder opened for reading: fchmod and flock refuse an O_PATH descriptor.
READ_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class FolderReleased(OSError):
    """A write asked of a folder its job has let go: refused, nothing written. An OSError, as
    any failed write, so the callers' handling of one (a retry, an InjectorError) applies."""

    def __init__(self, path: Path) -> None:
        super().__init__(errno.EBADF, "the job has ended and released its folder", str(path))


@dataclass
class Folder:
    """A checked folder: its real path (what exports name), the folders this run made in order
    to reach it (outermost first), and, while held, the O_PATH fd files are written through and,
    if locked, a second fd holding an exclusive lock. A context manager that releases both."""

    path: Path
    made: tuple[Path, ...] = ()
    _fd: int | None = None
    _lock_fd: int | None = None
    _writing: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def created(self) -> bool:
        return bool(self.made) and self.made[-1] == self.path

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def lock(self) -> bool:
        """Take an exclusive lock on the folder (a second descriptor, opened from the first so
        that it is the same inode); False if another process holds it."""
        if self._fd is None:
            raise ValueError(f"cannot lock {self.path}: the folder is not held")
        self._lock_fd = os.open(".", READ_FLAGS, dir_fd=self._fd)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.unlock()
            return False
        return True

    def still_at_its_path(self) -> bool:
        """Whether the folder's path still names the folder held (not removed or replaced)."""
        try:
            named = self.path.lstat()
        except OSError:
            return False
        held = os.fstat(self._fd) if self._fd is not None else None
        return held is not None and (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)

    def unlock(self) -> None:
        """Drop the lock, keeping the folder open for writes. Idempotent."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def release(self) -> None:
        """Drop the lock and close the folder, once no write is under way: writes through it
        are then refused (FolderReleased). Idempotent."""
        self.unlock()
        with self._writing:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    @contextmanager
    def _held(self, path: Path) -> Iterator[tuple[int, str]]:
        """The folder's fd and the name of `path` in it, the fd kept open meanwhile;
        ValueError (a caller's mistake) for a path elsewhere, FolderReleased once released."""
        if path.parent != self.path:
            raise ValueError(f"{path} is not a file of the held folder {self.path}")
        with self._writing:
            if self._fd is None:
                raise FolderReleased(path)
            yield self._fd, path.name

    def write(self, path: Path, data: bytes, mode: int = FILE_MODE) -> None:
        """Replace the file `path` (directly in this folder) atomically, through the folder's fd.
        Raises OSError (FolderReleased once released)."""
        with self._held(path) as (folder_fd, name):
            write_at(folder_fd, name, data, mode)

    def create(self, path: Path, data: bytes, mode: int) -> None:
        """Write the new file `path` (directly in this folder) with `mode` whatever the umask,
        durably (fsync: a key, not a token). Raises FileExistsError if it exists, a link
        included: O_EXCL makes the check and the creation one step."""
        with self._held(path) as (folder_fd, name):
            fd = os.open(name, NEW_FILE, mode, dir_fd=folder_fd)
            try:
                os.fchmod(fd, mode)
                with os.fdopen(fd, "wb") as file:
                    file.write(data)
                    file.flush()
                    os.fsync(file.fileno())
            except BaseException:
                os.unlink(name, dir_fd=folder_fd)
                raise

    def write_all(self, written: Mapping[Path, bytes]) -> None:
        """Write every file (all directly in this folder), or, on failure, none (InjectorError)."""
        done: list[Path] = []
        for path, data in written.items():
            try:
                self.write(path, data)
            except OSError as error:
                self.unlink(done)
                raise InjectorError(f"cannot write {path}: {error.strerror}") from None
            done.append(path)

    def unlink(self, paths: Iterable[Path]) -> None:
        """Remove these files of the folder, through its fd; a missing one is no error."""
        for path in paths:
            with self._held(path) as (folder_fd, name):
                unlink_at(folder_fd, name)

    def remove_made(self) -> None:
        """Remove the folder if this run made it, and the empty parents it made on the way.
        While held, its files go through the descriptor (wherever the folder is now), and its
        name is removed only while it still names the folder held: a folder someone put under
        that name since is not the job's to delete. Never held or let go (a failed check), it
        holds nothing of the job's: it goes with rmdir, by name, only while empty, so a folder
        someone filled, or swapped in under that name, keeps all it holds."""
        if self.created:
            if self._fd is None:
                with suppress(OSError):
                    self.path.rmdir()
            else:
                self._empty()
                if self.still_at_its_path():
                    with suppress(OSError):
                        self.path.rmdir()
        for parent in reversed(self.made[:-1] if self.created else self.made):
            try:
                parent.rmdir()  # rmdir, not rmtree: a parent someone has filled since is kept
            except OSError:
                break

    def _empty(self) -> None:
        """Remove everything in the held folder, through its descriptor."""
        with self._writing:
            if self._fd is None:
                return
            listing = os.open(".", READ_FLAGS, dir_fd=self._fd)
            try:
                with os.scandir(listing) as entries:
                    for entry in entries:
                        if entry.is_dir(follow_symlinks=False):
                            import shutil  # here: slow to load, and a job's folder is flat

                            # dir_fd is Python 3.11's; the stubs mypy ships lack it.
                            shutil.rmtree(  # type: ignore[call-arg]
                                entry.name, dir_fd=listing, ignore_errors=True
                            )
                        else:
                            with suppress(FileNotFoundError):
                                os.unlink(entry.name, dir_fd=listing)
            finally:
                os.close(listing)
