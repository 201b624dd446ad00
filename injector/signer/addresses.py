"""`--listen`'s fair shares between hosts: at most MAX_CONNECTIONS open connections, at most
MAX_CONNECTIONS_PER_ADDRESS of them from one address (an IPv6 /64 counting as one), and the
audit of what either cap refused, as the Unix socket audits its per-uid cap (`fairness`): one
line per address and second with a count, and one a second for the total cap, so a flood of
any size or spread writes a few lines a second.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import Counter
from collections.abc import Callable

from injector.signer.audit import Audit, utc
from injector.signer.fairness import Refusals

MAX_CONNECTIONS = 512
# A quarter of the slots: a proxy or load balancer in front keeps a pool of connections well
# within it, and one host alone leaves three quarters to everyone else.
MAX_CONNECTIONS_PER_ADDRESS = MAX_CONNECTIONS // 4
_TOTAL = ""  # the refusals' key of the total cap (an address's share is never empty)


def share_of(client_address: object) -> str:
    """What one host cannot vary at will: its IPv4 address, or the /64 of its IPv6 address
    (a host is commonly given a whole /64 and may pick any address in it)."""
    text = str(client_address[0]) if isinstance(client_address, tuple) else str(client_address)
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return text
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class Shares:
    """The open connections per share; `admit` takes a slot or counts a refusal. Thread-safe:
    the accepting thread admits and flushes, each connection's thread releases."""

    def __init__(self, audit: Audit, clock: Callable[[], float] = time.time) -> None:
        self._audit, self._clock = audit, clock
        self._held: Counter[str] = Counter()
        self._total = 0
        self._lock = threading.Lock()
        self._refusals: Refusals[str, tuple[str, str]] = Refusals(self._write)

    def admit(self, share: str) -> bool:
        with self._lock:
            if self._held[share] >= MAX_CONNECTIONS_PER_ADDRESS:
                self._refusals.refuse(share, (share, share), time.monotonic())
                return False
            if self._total >= MAX_CONNECTIONS:
                self._refusals.refuse(_TOTAL, (_TOTAL, share), time.monotonic())
                return False
            self._held[share] += 1
            self._total += 1
            return True

    def release(self, share: str) -> None:
        with self._lock:
            self._total -= 1
            self._held[share] -= 1
            if not self._held[share]:
                del self._held[share]

    def flush(self, everything: bool = False) -> None:
        """Audit the refusals whose second is over (all of them: `everything`)."""
        with self._lock:
            self._refusals.flush(time.monotonic(), everything)

    def _write(self, refused: tuple[str, str], count: int) -> None:
        key, share = refused
        if key == _TOTAL:
            reason = f"the endpoint already has {MAX_CONNECTIONS} connections open"
        else:
            reason = f"{share} already has {MAX_CONNECTIONS_PER_ADDRESS} connections open"
        self._audit.write(
            {
                "time": utc(self._clock()),
                "remote": share,  # for the total cap: the first refused of this second
                "decision": "refuse",
                "reason": f"{reason}: {count} more refused unread",
                "refused": count,
            }
        )
