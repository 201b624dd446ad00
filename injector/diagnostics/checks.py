"""The checklist `injector verify` and `doctor` print: one line per rule, `ok`, `FAIL` or `warn`,
with the error code a cloud would answer where a rule fails.

A FAIL line means a login would be refused; a warning means it may work now and fail later (a
token an SDK may hold past its expiry, a world-readable key). Only FAIL lines make the command
exit 1.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "FAIL", "warn"]

# Characters that would move the cursor, end a line, hide text or turn it around on a terminal:
# control, format (bidi overrides, zero-width), separators, private use, unassigned.
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cn", "Cs"})


def shown(text: str) -> str:
    """`text` with each character that could forge, erase or hide checklist lines escaped as
    `\\xNN` or `\\uNNNN`. Applied to every line when rendered: a `kid`, `sub` or error
    message taken from a token or a server is printed as data, never as terminal input."""
    if text.isprintable():
        return text
    return "".join(_escaped(character) for character in text)


def _escaped(character: str) -> str:
    category = unicodedata.category(character)
    if category in _HIDDEN or (category == "Zs" and character != " "):
        code = ord(character)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return character


@dataclass(frozen=True)
class Line:
    status: Status
    rule: str
    detail: str
    code: str | None = None  # what the cloud answers when this rule fails (FAIL or warn lines)

    def __str__(self) -> str:
        code = f"  [{shown(self.code)}]" if self.code and self.status != "ok" else ""
        return f"{self.status:<4}  {shown(self.rule):<20}  {shown(self.detail)}{code}"


def ok(rule: str, detail: str) -> Line:
    return Line("ok", rule, detail)


def fail(rule: str, detail: str, code: str | None = None) -> Line:
    return Line("FAIL", rule, detail, code)


def warn(rule: str, detail: str, code: str | None = None) -> Line:
    return Line("warn", rule, detail, code)


def prefixed(prefix: str, lines: Iterable[Line]) -> list[Line]:
    """The same lines with `prefix.` before each rule (doctor's per-cloud sections)."""
    return [Line(line.status, f"{prefix}.{line.rule}", line.detail, line.code) for line in lines]


def render(lines: Iterable[Line]) -> str:
    """The checklist as printed on stdout, one line per rule, ending with a newline."""
    return "".join(f"{line}\n" for line in lines)


def exit_status(lines: Iterable[Line]) -> int:
    """0 when no line failed (warnings do not count), else 1."""
    return 1 if any(line.status == "FAIL" for line in lines) else 0
