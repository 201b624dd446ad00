"""Who is on the other end of a connection, as the kernel says (SO_PEERCRED), and a guard
against a pid that was reused while the signer was deciding.

The uid and gid come from the kernel as they were when the caller connected, so they cannot be
forged. The pid is only a number: if its process ended and another took the number, anything
read about it under /proc describes the newcomer. As SPIRE does, the process's start time
(field 22 of /proc/<pid>/stat, in clock ticks since boot) is read when the caller is identified
and again before the answer leaves; if the process is gone or the start time changed, the
answer is refused.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid

StartTimeReader = Callable[[int], "int | None"]
GroupsReader = Callable[[int], "frozenset[int]"]


@dataclass(frozen=True)
class Peer:
    pid: int
    uid: int
    gid: int
    start_time: int | None  # None: the process could not be seen (gone, or another namespace)


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


def groups(pid: int, proc: Path = Path("/proc")) -> frozenset[int]:
    """The supplementary groups of process `pid` (the `Groups:` line of /proc/<pid>/status);
    empty if the process cannot be seen. SO_PEERCRED gives only the effective gid, so these are
    read from /proc, and so only between the two start-time reads of the pid-reuse guard: if the
    pid changed hands meanwhile, the answer is refused whatever the groups said."""
    try:
        descriptor = os.open(f"{proc}/{pid}/status", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return frozenset()
    try:
        status = b""
        while chunk := os.read(descriptor, 65536):  # a status is a few kB; Groups: can be long
            status += chunk
    except OSError:
        return frozenset()
    finally:
        os.close(descriptor)
    for line in status.splitlines():
        if line.startswith(b"Groups:"):
            try:
                return frozenset(int(group) for group in line[7:].split())
            except ValueError:
                return frozenset()
    return frozenset()


def credentials(connection: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the peer, as the kernel recorded them at connect()."""
    data = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, gid = _UCRED.unpack(data)
    return pid, uid, gid


def identify(connection: socket.socket, read_start: StartTimeReader = start_time) -> Peer:
    pid, uid, gid = credentials(connection)
    # pid 0: the caller is in a pid namespace the signer cannot see.
    return Peer(pid=pid, uid=uid, gid=gid, start_time=read_start(pid) if pid > 0 else None)


def check_unchanged(peer: Peer, read_start: StartTimeReader = start_time) -> None:
    """Raise PeerChanged unless `peer.pid` still names the process first seen."""
    if peer.start_time is None:
        raise PeerChanged(f"process {peer.pid} cannot be seen under /proc")
    now = read_start(peer.pid)
    if now is None:
        raise PeerChanged(f"process {peer.pid} ended before its answer")
    if now != peer.start_time:
        raise PeerChanged(f"pid {peer.pid} was reused by another process")
