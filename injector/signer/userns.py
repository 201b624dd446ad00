"""The uid and gid that stand for "no mapping here" in the signer's user namespace.

The kernel names a caller by its uid and gid as seen from the signer's user namespace. One the
namespace does not map arrives as the overflow id (/proc/sys/kernel/overflowuid and
overflowgid, 65534 unless changed), the same number as a real `nobody`: it could be anyone's.
That can only happen where the namespace leaves some id unmapped; the initial user namespace
maps every id, so there 65534 is `nobody` and nothing else. Read once, at start: a process's
user namespace and its map do not change under it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from injector.signer.policy import Policy

_EVERY_ID = 4294967295  # ids 0 .. 2**32 - 2: (uid_t)-1 is no id
_KERNEL_DEFAULT = 65534


@dataclass(frozen=True)
class Overflow:
    """The id an unmapped uid (gid) arrives as; None: every uid (gid) is mapped here."""

    uid: int | None
    gid: int | None

    def reason(self, uid: int, gid: int) -> str | None:
        """Why a caller the kernel names `uid`, `gid` cannot be told apart, or None."""
        for kind, given, overflow in (("uid", uid, self.uid), ("gid", gid, self.gid)):
            if given == overflow:
                return (
                    f"{kind} {given} is the overflow {kind}: the caller's {kind} has no mapping "
                    "in the signer's user namespace (it could be anyone's)"
                )
        return None

    def known_groups(self, groups: frozenset[int]) -> frozenset[int]:
        """`groups` without the overflow gid, which names no group the caller is sure to have."""
        return groups - {self.gid} if self.gid in groups else groups

    def refused(self) -> str:
        """For the `ready` line: which ids are refused here, or ""."""
        ids = (("uid", self.uid), ("gid", self.gid))
        named = [f"{kind} {value}" for kind, value in ids if value is not None]
        if not named:
            return ""
        return f"; {' and '.join(named)} refused (ids this user namespace does not map)"

    def warn_entries(self, chosen: Policy, log: logging.Logger) -> None:
        """Say at start (and reload) which entries name an id that is refused here."""
        for entry in chosen.entries:
            for kind, value, overflow in (
                ("uid", entry.uid, self.uid),
                ("gid", entry.gid, self.gid),
            ):
                if value is not None and value == overflow:
                    log.warning(
                        "%s [[allow]] #%d: %s %d is the overflow id, which a caller of any id "
                        "this user namespace does not map arrives as: it is refused, so this "
                        "entry allows no one",
                        chosen.source,
                        entry.number,
                        kind,
                        value,
                    )


def _maps_every_id(map_file: Path) -> bool:
    try:
        lines = map_file.read_text().splitlines()
    except OSError:
        return False  # cannot tell: the overflow id may be an unmapped one
    return sum(int(line.split()[2]) for line in lines if line.strip()) >= _EVERY_ID


def _overflow_id(sysctl: Path) -> int:
    try:
        return int(sysctl.read_text())
    except (OSError, ValueError):
        return _KERNEL_DEFAULT


def of_this_process(proc: Path = Path("/proc")) -> Overflow:
    """The overflow ids that may stand for an unmapped caller in this process's namespace."""
    return Overflow(
        uid=None
        if _maps_every_id(proc / "self" / "uid_map")
        else _overflow_id(proc / "sys" / "kernel" / "overflowuid"),
        gid=None
        if _maps_every_id(proc / "self" / "gid_map")
        else _overflow_id(proc / "sys" / "kernel" / "overflowgid"),
    )
