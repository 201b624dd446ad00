"""Fair shares of the signer between callers: a cap on the connections one uid holds open, and
the audit of what the cap refused, once per second per uid with a count.

Without a cap, a uid that connects and sends nothing holds every descriptor the signer has (and
then the listen backlog), and the next job's `connect()` fails. With it, a uid's connections
over the cap are accepted, counted and closed at once, unread: the flood costs the flooder its
own descriptors, and another uid's connection is still accepted and answered in turn. The
signer's own uid is not capped: it can read the key anyway.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from injector.signer.peer import Peer

MAX_CONNECTIONS_PER_UID = 64
AUDIT_EVERY_SECONDS = 1.0


@dataclass
class _Refusals:
    first: Peer  # for the audit line's gid and pid
    since: float
    count: int = 0


class Fairness:
    """Counts each uid's open connections; `admit` says whether one more may be served."""

    def __init__(
        self,
        audit: Callable[[Peer, int, int], None],
        cap: int = MAX_CONNECTIONS_PER_UID,
        exempt_uid: int | None = None,
    ) -> None:
        self._audit = audit  # (a caller of the uid, connections refused, the cap)
        self._cap = cap
        self._exempt = os.getuid() if exempt_uid is None else exempt_uid
        self._open: dict[int, int] = {}
        self._refused: dict[int, _Refusals] = {}

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
        refusals = self._refused.get(caller.uid)
        if refusals is None:
            refusals = self._refused[caller.uid] = _Refusals(caller, now)
        refusals.count += 1

    def flush(self, now: float, everything: bool = False) -> None:
        """Audit each uid whose second of refusals is over (every uid: `everything`)."""
        if not self._refused:
            return
        for uid, refusals in list(self._refused.items()):
            if everything or now - refusals.since >= AUDIT_EVERY_SECONDS:
                del self._refused[uid]
                self._audit(refusals.first, refusals.count, self._cap)

    def next_flush(self) -> float | None:
        """When the earliest pending audit line is due (time.monotonic), if any."""
        if not self._refused:
            return None
        return min(refusals.since for refusals in self._refused.values()) + AUDIT_EVERY_SECONDS
