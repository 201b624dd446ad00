"""The signer's listening socket, made so that no other uid can change what it is or where its
name points.

The socket is bound in a private folder (0700, the signer's, made beside the final name so a
rename can move it), born with the mode asked through the umask and with the group asked
through that folder's set-group-id bit (set on the folder's descriptor), made to listen, and
only then renamed onto its name, which replaces a stale socket in one step. Nothing is ever
chmod'ed or chown'ed by path: there is no moment when a name another uid could swap for a
symlink (to the key, say) is given a mode or a group. The folder the name is in is checked
before (`custody.folder_problem`): writable by the signer alone, or sticky.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from injector.errors import InjectorError

_STAGED = "signer.sock"


@dataclass(frozen=True)
class Bound:
    socket: socket.socket
    path: Path
    identity: tuple[int, int]  # (st_dev, st_ino) of the socket file, to remove only our own

    def remove(self) -> None:
        """Remove the socket's name if it still is this socket (not a newer signer's)."""
        with contextlib.suppress(OSError):
            info = os.lstat(self.path)
            if (info.st_dev, info.st_ino) == self.identity:
                self.path.unlink()


def _refuse_a_live_one(path: Path) -> None:
    """Refuse to take the name of a socket that still answers (another signer)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise InjectorError(f"--socket: {path} exists and is not a socket")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return  # stale: the rename below replaces it
    raise InjectorError(f"--socket: another process listens on {path}")


def _stage(folder: Path, mode: int, gid: int | None) -> tuple[socket.socket, Path]:
    """A listening socket bound in `folder` (private, the signer's) with `mode` and `gid`."""
    if gid is not None:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fchown(descriptor, -1, gid)
            os.fchmod(descriptor, 0o2700)  # set-group-id: what is made in it gets `gid`
        finally:
            os.close(descriptor)
    staged = folder / _STAGED
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # bind() gives the socket 0777 less the umask: exactly `mode`, from its first moment.
        previous = os.umask(0o777 & ~mode)
        try:
            listener.bind(str(staged))
        finally:
            os.umask(previous)
        listener.listen(socket.SOMAXCONN)
    except OSError:
        listener.close()
        raise
    return listener, staged


def listen(path: Path, mode: int, gid: int | None) -> Bound:
    """Listen on `path` with `mode` and group `gid`; InjectorError naming --socket."""
    _refuse_a_live_one(path)
    try:
        private = Path(tempfile.mkdtemp(prefix=".injector-signer-", dir=path.parent))
    except OSError as error:
        raise InjectorError(
            f"--socket: cannot make a private folder in {path.parent}: {error.strerror}"
        ) from None
    listener: socket.socket | None = None
    try:
        listener, staged = _stage(private, mode, gid)
        staged.rename(path)
        info = os.lstat(path)
    except OSError as error:
        if listener is not None:
            listener.close()
        raise InjectorError(f"--socket: cannot listen on {path}: {error.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            (private / _STAGED).unlink()
        with contextlib.suppress(OSError):
            private.rmdir()
    return Bound(listener, path, (info.st_dev, info.st_ino))
