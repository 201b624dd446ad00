"""Load for bench_signer: many signer connections in flight from one thread.

Python threads calling `client.request` in a loop cost more per request than the signer itself
(each takes the GIL in turn), so on a two-core machine they, not the signer, set the rate. One
thread keeping IN_FLIGHT non-blocking connections open (a new one as soon as one is answered)
keeps the signer's core busy with a fraction of a core. The signer's own CPU time over the run
(from /proc/<pid>/stat) says whether its core was saturated.
"""

from __future__ import annotations

import os
import selectors
import socket
import time
from pathlib import Path

IN_FLIGHT = 16
ANSWER_START = b'{"ok":true,"tokens":["'


def cpu_seconds(pid: int) -> float:
    """utime + stime of process `pid`, in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hammer(path: Path, request: bytes, seconds: float) -> tuple[int, float]:
    """(answers, elapsed seconds) of asking `request` over and over for about `seconds`.
    Raises RuntimeError on any answer but tokens."""
    selector = selectors.DefaultSelector()
    answers: dict[socket.socket, list[bytes]] = {}

    def open_one() -> None:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(str(path))
        connection.sendall(request)
        connection.setblocking(False)
        answers[connection] = []
        selector.register(connection, selectors.EVENT_READ)

    started = time.perf_counter()
    deadline = started + seconds
    done = 0
    for _ in range(IN_FLIGHT):
        open_one()
    while answers:
        events = selector.select(5)
        if not events:
            raise RuntimeError("the signer answered nothing for 5 s")
        for key, _ in events:
            connection = key.fileobj
            assert isinstance(connection, socket.socket)  # noqa: S101
            chunk = connection.recv(65536)
            if chunk:
                answers[connection].append(chunk)
                continue
            selector.unregister(connection)
            connection.close()
            if not b"".join(answers.pop(connection)).startswith(ANSWER_START):
                raise RuntimeError("the signer answered without tokens")
            done += 1
            if time.perf_counter() < deadline:
                open_one()
    selector.close()
    return done, time.perf_counter() - started
