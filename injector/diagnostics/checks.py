"""The checklist `injector verify` and `doctor` print: one line per rule, `ok`, `FAIL` or `warn`,
with the error code a cloud would answer where a rule fails.

A FAIL line means a login would be refused; a warning means it may work now and fail later (a
token an SDK may hold past its expiry, a world-readable key). Only FAIL lines make the command
exit 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "FAIL", "warn"]


@dataclass(frozen=True)
class Line:
    status: Status
    rule: str
    detail: str
    code: str | None = None  # what the cloud answers when this rule fails (FAIL or warn lines)

    def __str__(self) -> str:
        code = f"  [{self.code}]" if self.code and self.status != "ok" else ""
        return f"{self.status:<4}  {self.rule:<20}  {self.detail}{code}"


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
