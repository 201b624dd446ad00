"""Waiting for a platform's keys without holding a thread others need.

A request needing a key set that another request is fetching raises Pending instead of blocking
its thread, and whoever runs the request runs it again once that fetch ends: the Unix socket's
signing workers hand it back to their pool then (`workers`), so a handful of requests waiting
on one slow platform never hold every worker while requests for a key already held, another
platform or no platform at all queue behind them; `--listen`, a thread per connection, waits
in the connection's own thread (`waited`). Standard library only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Fetch:
    """One key set's fetch in progress, if any, and what to run when it ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = False
        self._then: list[Callable[[], None]] = []

    def begin(self) -> bool:
        """Start the fetch: False when one is already running (one at a time)."""
        with self._lock:
            if self._running:
                return False
            self._running = True
            return True

    def end(self) -> None:
        with self._lock:
            self._running = False
            then, self._then = self._then, []
        for callback in then:
            callback()

    def then(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the fetch in progress ends (now, if it already has)."""
        with self._lock:
            if self._running:
                self._then.append(callback)
                return
        callback()


class Pending(Exception):
    """The keys the request needs are being fetched for another request: run it again then."""

    def __init__(self, fetch: Fetch, issuer: str) -> None:
        super().__init__(f"the keys of {issuer} are being fetched")
        self.then = fetch.then


def waited(work: Callable[[], T]) -> T:
    """`work()`, waiting in this thread for each fetch it is Pending on, then running it again."""
    while True:
        try:
            return work()
        except Pending as pending:
            done = threading.Event()
            pending.then(done.set)
            done.wait()
