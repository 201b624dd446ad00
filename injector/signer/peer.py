"""Who is on the other end of a connection, as the kernel says, and a guard against a pid that
was reused while the signer was deciding.

The uid and gid (SO_PEERCRED) and the supplementary groups (SO_PEERGROUPS) are what the kernel
recorded when the caller connected, so they cannot be forged, and nothing is read about the
caller under /proc to learn them. The pid is only a number: if its process ended and another
took the number, anything read under /proc describes the newcomer. Where the kernel has
SO_PEERPIDFD (Linux 6.5), the signer holds a pidfd of the very process that connected, which no
newcomer can take over: the process is still the caller while signalling it (signal 0) does not
say it is gone. Elsewhere, as SPIRE does, the process's start time (field 22 of
/proc/<pid>/stat, in clock ticks since boot) is read when the caller is identified and again
before the answer leaves; if the process is gone or the start time changed, the answer is
refused. A caller in a pid namespace the signer cannot see (pid 0: a pod's other container
without a shared process namespace) has no pid to guard: it is its uid, gid and groups, and
nothing is read about it.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid
# Not in Python's socket module before 3.13 (SO_PEERGROUPS) or at all (SO_PEERPIDFD): Linux's
# numbers, which are the same on every architecture the signer runs on.
SO_PEERGROUPS = getattr(socket, "SO_PEERGROUPS", 59)
SO_PEERPIDFD = getattr(socket, "SO_PEERPIDFD", 77)
_GROUPS_FIRST_TRY = 256  # gids; a caller with more makes the kernel say ERANGE, then all
_NGROUPS_MAX = 65536

StartTimeReader = Callable[[int], "int | None"]


@dataclass(frozen=True)
class Peer:
    pid: int
    uid: int
    gid: int
    start_time: int | None  # None: the process could not be seen (gone, or another namespace)
    groups: frozenset[int] = frozenset()  # supplementary, when asked for (SO_PEERGROUPS)
    pidfd: int | None = None  # the connecting process itself, where the kernel gives one

    @property
    def visible(self) -> bool:
        """Whether the signer sees the caller's pid (0: another pid namespace)."""
        return self.pid > 0


class PeerChanged(Exception):
    """The caller's pid no longer names the process that connected."""


def start_time(pid: int, proc: Path = Path("/proc")) -> int | None:
    """The start time of process `pid`, or None if there is no such process to be seen."""
    # os.open/os.read rather than Path.read_text: this runs twice per request, and the text
    # layer (codec lookup, buffering) cost more than the read itself.
    try:
        descriptor = os.open(f"{proc}/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        stat = os.read(descriptor, 4096)  # the command name is at most 16 bytes: one read
    except OSError:
        return None
    finally:
        os.close(descriptor)
    # The command name (field 2) is in parentheses and may hold blanks or ')': split after the
    # last ')'. What follows starts at field 3, so the start time (field 22) is index 19.
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def credentials(connection: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the peer, as the kernel recorded them at connect()."""
    data = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, gid = _UCRED.unpack(data)
    return pid, uid, gid


def peer_groups(connection: socket.socket) -> frozenset[int]:
    """The peer's supplementary groups as the kernel recorded them at connect()."""
    try:
        data = connection.getsockopt(socket.SOL_SOCKET, SO_PEERGROUPS, 4 * _GROUPS_FIRST_TRY)
    except OSError as error:
        if error.errno != errno.ERANGE:
            raise
        data = connection.getsockopt(socket.SOL_SOCKET, SO_PEERGROUPS, 4 * _NGROUPS_MAX)
    return frozenset(struct.unpack(f"{len(data) // 4}I", data))


def _pidfd(connection: socket.socket) -> int | None:
    global _HAS_PIDFD  # learnt once: the kernel does not change under us)
    if not _HAS_PIDFD:
        return None
    try:
        return connection.getsockopt(socket.SOL_SOCKET, SO_PEERPIDFD)
    except OSError as error:
        if error.errno in (errno.ENOPROTOOPT, errno.EINVAL):
            _HAS_PIDFD = False
            return None
        raise


_HAS_PIDFD = hasattr(signal, "pidfd_send_signal")


def identify(
    connection: socket.socket,
    read_start: StartTimeReader = start_time,
    with_groups: bool = False,
    creds: tuple[int, int, int] | None = None,
) -> Peer:
    """The caller; `creds`: its credentials() if already read; `with_groups`: read its
    supplementary groups too (only a policy that names a group needs them)."""
    pid, uid, gid = creds or credentials(connection)
    groups = peer_groups(connection) if with_groups else frozenset()
    # pid 0: the caller is in a pid namespace the signer cannot see; the kernel would give a
    # pidfd even so, but with no pid read about, there is nothing for it to guard.
    if pid <= 0:
        return Peer(pid=pid, uid=uid, gid=gid, start_time=None, groups=groups)
    pidfd = _pidfd(connection)
    # With a pidfd the start time is not needed: the descriptor is the process.
    started = 0 if pidfd is not None else read_start(pid)
    return Peer(pid=pid, uid=uid, gid=gid, start_time=started, groups=groups, pidfd=pidfd)


def release(caller: Peer) -> None:
    """Close what identifying `caller` opened (its pidfd)."""
    if caller.pidfd is not None:
        os.close(caller.pidfd)


def check_unchanged(peer: Peer, read_start: StartTimeReader = start_time) -> None:
    """Raise PeerChanged unless `peer.pid` still names the process first seen (a caller
    without a visible pid passes: nothing was read about it)."""
    if not peer.visible:
        return
    if peer.start_time is None:
        raise PeerChanged(f"process {peer.pid} cannot be seen under /proc")
    if peer.pidfd is not None:
        try:
            signal.pidfd_send_signal(peer.pidfd, 0)
        except ProcessLookupError:
            raise PeerChanged(f"process {peer.pid} ended before its answer") from None
        except PermissionError:
            pass  # another uid's process, alive: signal 0 checks permission after existence
        return
    now = read_start(peer.pid)
    if now is None:
        raise PeerChanged(f"process {peer.pid} ended before its answer")
    if now != peer.start_time:
        raise PeerChanged(f"pid {peer.pid} was reused by another process")
