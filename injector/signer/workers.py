"""Signing workers for a backend that waits on the network (Transit), or requests that may wait
on a platform's keys: a pool of threads, each answer handed back to the event loop through a
queue and a wake-up byte on a socket the loop watches, so that the loop alone ever touches the
connections' sockets. A request waiting for keys another request is fetching gives its worker
back and is queued again once the fetch ends (`attestation.pending`)."""

from __future__ import annotations

import contextlib
import queue
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from injector.signer.attestation.pending import Pending

# Requests signed at once by a blocking backend: each holds one HTTP connection while it waits.
SIGNING_WORKERS = 8

T = TypeVar("T")


class Workers(Generic[T]):
    def __init__(self, count: int = SIGNING_WORKERS) -> None:
        self._pool = ThreadPoolExecutor(count, thread_name_prefix="signing")
        self._done: queue.SimpleQueue[tuple[T, bytes]] = queue.SimpleQueue()
        self.reader, self._writer = socket.socketpair()
        self.reader.setblocking(False)
        self._writer.setblocking(False)

    def submit(self, item: T, work: Callable[[], bytes]) -> None:
        """Run `work` in a worker; its answer comes back with `item` from `finished()`."""
        self._pool.submit(self._run, item, work)

    def _run(self, item: T, work: Callable[[], bytes]) -> None:
        try:
            answer = work()
        except Pending as pending:
            pending.then(lambda: self._again(item, work))
            return
        self._done.put((item, answer))
        with contextlib.suppress(BlockingIOError):  # a wake-up byte is already waiting
            self._writer.send(b"\0")

    def _again(self, item: T, work: Callable[[], bytes]) -> None:
        with contextlib.suppress(RuntimeError):  # closed: the signer stops, nobody waits for it
            self.submit(item, work)

    def finished(self) -> list[tuple[T, bytes]]:
        """The answers ready so far (the loop calls this when `reader` is readable)."""
        with contextlib.suppress(OSError):
            while self.reader.recv(4096):
                pass
        ready = []
        while True:
            try:
                ready.append(self._done.get_nowait())
            except queue.Empty:
                return ready

    def close(self) -> None:
        # A worker still waiting on the network ends within the client's timeouts; its answer
        # has nobody to go to.
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.reader.close()
        self._writer.close()
