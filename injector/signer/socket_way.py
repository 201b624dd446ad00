"""The job's way to the signer's socket: pinned before the job connects, judged once the kernel
has said who listens.

Without DynamicCredentialSignerUser the job knows the signer only as "a uid other than mine",
which every neighbour is too. What it can still know is who could have put a listener at the
path: if every folder on the way belongs to root or to the listener's own uid, and none is open
to others' writes (unless sticky with a next entry of root's, or on a read-only mount), then
nobody but root and that uid could have laid the path out, so no neighbour was first to bind
there. A path through /tmp or an emptyDir the job's side may write does not say that, and is
refused rather than trusted.

What is judged is what is connected to: the path is resolved once, walked from `/` with
O_NOFOLLOW, and the connection is made through the walked folder's descriptor
(/proc/self/fd/N/name), so a name changed between the check and connect() changes nothing.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

_FOLDER_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_OPEN_TO_OTHERS = stat.S_IWGRP | stat.S_IWOTH
_SUN_PATH_BYTES = 108  # struct sockaddr_un's sun_path on Linux, its final NUL included


@dataclass(frozen=True)
class _Step:
    path: Path
    info: os.stat_result
    read_only: bool  # a read-only mount: nobody writes there, whatever the mode says


class Way:
    """The socket's folder held open (O_PATH), with what the walk to it saw. Raises OSError
    (as connect() would) when a folder on the way is missing, a link or not a folder."""

    def __init__(self, path: Path) -> None:
        real = Path(os.path.realpath(path))
        self.name = real.name
        self._steps: list[_Step] = []
        fd = os.open("/", _FOLDER_FLAGS)
        try:
            self._keep(Path("/"), fd)
            for name in real.parent.parts[1:]:
                child = os.open(name, _FOLDER_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
                self._keep(self._steps[-1].path / name, fd)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def _keep(self, path: Path, fd: int) -> None:
        read_only = bool(os.fstatvfs(fd).f_flag & os.ST_RDONLY)
        self._steps.append(_Step(path, os.fstat(fd), read_only))

    @property
    def address(self) -> str:
        """What to connect() to: the name inside the held folder, where /proc shows it and a
        socket address can hold it; else the real path, as the check saw it."""
        pinned = f"/proc/self/fd/{self._fd}/{self.name}"
        fits = len(os.fsencode(pinned)) < _SUN_PATH_BYTES
        return pinned if fits and Path(f"/proc/self/fd/{self._fd}").is_dir() else self._socket_path

    @property
    def _socket_path(self) -> str:
        return str(self._steps[-1].path / self.name)

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> Way:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def doubt(self, listener: int) -> str | None:
        """Why someone other than root or uid `listener` could have been first to listen here,
        or None when nobody else could have."""
        try:
            socket_info = os.lstat(self.name, dir_fd=self._fd)
        except OSError as error:
            return f"{self._socket_path} cannot be examined ({error.strerror})"
        trusted = (0, listener)
        # Each folder with the entry after it on the way (the last one's is the socket).
        after = [(step.path, step.info.st_uid) for step in self._steps[1:]]
        after.append((Path(self._socket_path), socket_info.st_uid))
        for step, (next_path, next_owner) in zip(self._steps, after, strict=True):
            if step.info.st_uid not in trusted:
                return f"{step.path} belongs to uid {step.info.st_uid}"
            if step.info.st_mode & _OPEN_TO_OTHERS and not step.read_only:
                mode = stat.S_IMODE(step.info.st_mode)
                open_to = f"{step.path} is writable by others (mode {mode:04o})"
                if not step.info.st_mode & stat.S_ISVTX:
                    return f"{open_to} and not sticky"
                if next_owner != 0:
                    return f"{open_to} and {next_path} in it belongs to uid {next_owner}"
        if not stat.S_ISSOCK(socket_info.st_mode):
            return f"{self._socket_path} is not a socket"
        if socket_info.st_uid != listener:
            return f"{self._socket_path} belongs to uid {socket_info.st_uid}, not the listener's"
        return None
