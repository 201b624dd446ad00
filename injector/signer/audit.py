"""The signer's audit lines: one JSON object per line on stderr, each kept under LINE_BYTES.

A caller chooses the audiences and the job context that an audit line repeats (in `aud`, `sub`
and the refusal's reason): one 60 KB audience would make a line over journald's 48 KiB limit,
which journald splits or drops. So a line over LINE_BYTES is written again with every string
and list clipped, shorter and shorter until it fits, each clipped value ending in a marker that
says how much was left out, and `"clipped": true` on the line. The usual line is far under the
limit and costs one length check.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from injector.signer.peer import Peer

LINE_BYTES = 4096
# (characters of a string, items of a list) kept, tried in turn until the line fits.
_CLIPS = ((512, 8), (128, 4), (32, 2), (8, 1))


def utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def caller_record(caller: Peer, now: float) -> dict[str, object]:
    """An audit line's start: when, and who as the kernel named them."""
    record: dict[str, object] = {
        "time": utc(now),
        "uid": caller.uid,
        "gid": caller.gid,
        "pid": caller.pid,
    }
    if not caller.visible:
        record["pid_visible"] = False  # another pid namespace: no pid was guarded
    return record


def _clip(value: object, chars: int, items: int) -> object:
    if isinstance(value, str) and len(value) > chars:
        return f"{value[:chars]}...[{len(value) - chars} more characters]"
    if isinstance(value, list):
        kept: list[object] = [_clip(item, chars, items) for item in value[:items]]
        if len(value) > items:
            kept.append(f"...[{len(value) - items} more items]")
        return kept
    return value


def line(record: dict[str, object]) -> str:
    """`record` as one JSON line (without its newline), clipped to fit in LINE_BYTES."""
    # ensure_ascii (json's default): the length in characters is the length in bytes.
    text = json.dumps(record, separators=(",", ":"))
    for chars, items in _CLIPS:
        if len(text) <= LINE_BYTES:
            break
        clipped = {name: _clip(value, chars, items) for name, value in record.items()}
        clipped["clipped"] = True
        text = json.dumps(clipped, separators=(",", ":"))
    return text


@dataclass
class Audit:
    """One JSON line per decision, written whole under a lock so lines never interleave."""

    stream: TextIO = field(default_factory=lambda: sys.stderr)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self, record: dict[str, object]) -> None:
        text = line(record) + "\n"
        with self._lock:
            self.stream.write(text)
            self.stream.flush()
