"""Servers and long-lived children the tests start, and the guarantee that none outlives the
session, whether its test passed or failed.

`spawn` puts each server in a process group of its own, so `stop` reaches what it started too
(`injector run`'s command, nginx's and `serve`'s workers, a shell's children). At the end of the
session `leftovers` kills whatever is still alive among those groups and among the test
process's own group (children that were started with plain `subprocess`, and their orphans,
keep that group even when the parent is gone).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_spawned: set[int] = set()  # process groups made by spawn: killed at the end if still alive


def spawn(command: Sequence[str], **options: Any) -> subprocess.Popen[Any]:
    """`subprocess.Popen(command, **options)` as the leader of a new process group."""
    process: subprocess.Popen[Any] = subprocess.Popen(command, start_new_session=True, **options)
    _spawned.add(process.pid)
    return process


def _signal_group(process: subprocess.Popen[Any], sig: int) -> None:
    """`sig` to the group `spawn` made (its members may outlive the leader), or else to the
    process alone, if still running."""
    if process.pid in _spawned:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    elif process.poll() is None:
        process.send_signal(sig)


def stop(process: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout: float = 20) -> int:
    """Send `sig` to the process (its whole group if `spawn` made it), wait for its exit
    (SIGKILL after `timeout` seconds), then SIGKILL whatever of its group remains; return its
    exit status."""
    if process.poll() is None:
        _signal_group(process, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
    if process.pid in _spawned:
        _signal_group(process, signal.SIGKILL)
        _spawned.discard(process.pid)
    return process.returncode


def _stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, parent pid, process group, start time) of `pid`, None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[2]), int(fields[19])


def _command(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:120]


def _chain(pid: int) -> list[int]:
    """`pid`'s parents, nearest first, up to pid 1."""
    found = []
    while pid > 1:
        info = _stat(pid)
        if info is None:
            break
        pid = info[1]
        found.append(pid)
    return found


def _ours(pid: int, info: tuple[str, int, int, int], started: int, above: set[int]) -> bool:
    """Whether `pid` was started by this session: in a group `spawn` made; or in this process's
    group, started after it, and below it (or orphaned), not below one of its own parents (a
    sibling such as `make -j`'s other recipes, or a service a CI started earlier)."""
    state, _, group, start = info
    if state == "Z":
        return False
    if group in _spawned:
        return True
    if group != os.getpgid(0) or start < started:
        return False
    for parent in _chain(pid):
        if parent == os.getpid():
            return True
        if parent in above:
            return False
    return True  # orphaned: reparented to init or a subreaper


def leftovers() -> list[str]:
    """SIGKILL every live process this session started that is still alive (see `_ours`) and
    return a description of each."""
    me = os.getpid()
    above = set(_chain(me)) - {1}  # init adopts orphans: below it is not "a sibling's"
    mine = _stat(me)
    assert mine is not None
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in {me, *above}:
            continue
        pid = int(entry.name)
        info = _stat(pid)
        if info is None or not _ours(pid, info, mine[3], above):
            continue
        description = f"{pid} {_command(pid)}"
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        killed.append(description)
    _spawned.clear()
    return killed
