"""Fair shares of the signer between callers: a cap on the connections one uid holds open, and
the audit of what a cap refused, once per second per uid (or, on `--listen`, per address) with
a count.

Without a cap, a uid that connects and sends nothing holds every descriptor the signer has (and
then the listen backlog), and the next job's `connect()` fails. With it, a uid's connections
over the cap are accepted, counted and closed at once, unread: the flood costs the flooder its
own descriptors, and another uid's connection is still accepted and answered in turn. The
signer's own uid is not capped: it can read the key anyway.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from injector.signer.peer import Peer

MAX_CONNECTIONS_PER_UID = 64
AUDIT_EVERY_SECONDS = 1.0

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class _Counted(Generic[V]):
    first: V  # what the audit line says of who was refused (the first one of its second)
    since: float
    count: int = 0


class Refusals(Generic[K, V]):
    """Refused connections counted per key (a uid, an address) and audited once per
    AUDIT_EVERY_SECONDS per key with their count: a flood of any size costs one line a second.
    Not thread-safe: one thread (the loop that refuses) calls it."""

    def __init__(self, audit: Callable[[V, int], None]) -> None:
        self._audit = audit  # (the first refused of the key, how many were refused)
        self._counted: dict[K, _Counted[V]] = {}

    def refuse(self, key: K, first: V, now: float) -> None:
        counted = self._counted.get(key)
        if counted is None:
            counted = self._counted[key] = _Counted(first, now)
        counted.count += 1

    def flush(self, now: float, everything: bool = False) -> None:
        """Audit each key whose second of refusals is over (every key: `everything`)."""
        if not self._counted:
            return
        for key, counted in list(self._counted.items()):
            if everything or now - counted.since >= AUDIT_EVERY_SECONDS:
                del self._counted[key]
                self._audit(counted.first, counted.count)

    def next_flush(self) -> float | None:
        """When the earliest pending audit line is due (time.monotonic), if any."""
        if not self._counted:
            return None
        return min(counted.since for counted in self._counted.values()) + AUDIT_EVERY_SECONDS


class Fairness:
    """Counts each uid's open connections; `admit` says whether one more may be served."""

    def __init__(
        self,
        audit: Callable[[Peer, int, int], None],
        cap: int = MAX_CONNECTIONS_PER_UID,
        exempt_uid: int | None = None,
    ) -> None:
        # (a caller of the uid, connections refused, the cap)
        self._refusals: Refusals[int, Peer] = Refusals(lambda first, n: audit(first, n, cap))
        self._cap = cap
        self._exempt = os.getuid() if exempt_uid is None else exempt_uid
        self._open: dict[int, int] = {}

    def admit(self, uid: int) -> bool:
        held = self._open.get(uid, 0)
        if held >= self._cap and uid != self._exempt:
            return False
        self._open[uid] = held + 1
        return True

    def release(self, uid: int) -> None:
        held = self._open[uid] - 1
        if held:
            self._open[uid] = held
        else:
            del self._open[uid]

    def refuse(self, caller: Peer, now: float) -> None:
        self._refusals.refuse(caller.uid, caller, now)

    def flush(self, now: float, everything: bool = False) -> None:
        self._refusals.flush(now, everything)

    def next_flush(self) -> float | None:
        return self._refusals.next_flush()
