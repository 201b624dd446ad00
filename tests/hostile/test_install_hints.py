"""Every `pip install` the README, docs/ and the examples tell a user to run names this
project's distribution, `terrakube-injector` (a wheel file spells it `terrakube_injector`):
PyPI's `injector` is an unrelated package, which `pip install 'injector[vault]'` would fetch."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT

# The rest of one command: it ends at a backtick, a comment, `&&`, `;` or a blank line.
_COMMAND = re.compile(r"\bpip3?\s+install\b((?:(?!`|\s#|&&|;|\n\s*\n).){0,200})", re.DOTALL)
_OURS = re.compile(r"terrakube[-_]injector\b")


def _documents() -> list[Path]:
    found = [ROOT / "README.md"]
    for folder in ("docs", "examples"):
        found += [path for path in sorted((ROOT / folder).rglob("*")) if path.is_file()]
    return [path for path in found if path.suffix not in {".png", ".svg", ".ico"}]


def test_every_pip_install_names_terrakube_injector() -> None:
    commands = []
    for path in _documents():
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in _COMMAND.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            command = " ".join(match[1].split())
            if command:  # else the words `pip install` are only mentioned
                commands.append((f"{path.relative_to(ROOT)}:{line}", command))
    assert len(commands) >= 5  # the README's install section alone has several
    wrong = [(where, command) for where, command in commands if not _OURS.search(command)]
    assert wrong == []


def test_the_pattern_catches_the_old_hint() -> None:
    old = "httpx is needed (`pip install 'injector[vault]'`); it is imported only then."
    match = _COMMAND.search(old)
    assert match is not None
    assert not _OURS.search(match[1])
