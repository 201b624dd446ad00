"""The exports, in the forms other programs read them. Each function is pure."""

from __future__ import annotations

import json
import secrets
import shlex
from collections.abc import Callable, Mapping

from injector.errors import ConfigError, Problems


def shell(exports: Mapping[str, str]) -> str:
    """`export NAME='value'` lines, safe to `eval` whatever a value holds."""
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in exports.items())


def dotenv(exports: Mapping[str, str]) -> str:
    """`NAME='value'` lines. Single quotes, because python-dotenv and docker compose expand
    `${...}` inside double quotes; `\\` and `'` are escaped as python-dotenv reads them."""
    lines = []
    for name, value in exports.items():
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        lines.append(f"{name}='{escaped}'\n")
    return "".join(lines)


def as_json(exports: Mapping[str, str]) -> str:
    return json.dumps(dict(exports), indent=2) + "\n"


def terrakube(exports: Mapping[str, str]) -> str:
    """`NAME=value` lines as Terrakube's executor loads them from its env file.

    It splits each line on `=` and keeps the first two parts, so a value holding `=` or a line
    break would arrive cut short: such values are refused, not written.
    """
    problems = Problems()
    for name, value in exports.items():
        bad = [
            label
            for char, label in (("=", "'='"), ("\n", "a line break"), ("\r", "a carriage return"))
            if char in value
        ]
        if bad:
            problems.add(
                name,
                f"its value contains {' and '.join(bad)}, which Terrakube's env file cannot carry",
            )
    problems.raise_if_any()
    return "".join(f"{name}={value}\n" for name, value in exports.items())


def github(exports: Mapping[str, str]) -> str:
    """Lines for `$GITHUB_ENV`: `NAME=value`, or a heredoc with a random delimiter for a value
    that spans lines (GitHub's documented multiline syntax)."""
    lines = []
    for name, value in exports.items():
        if "\n" in value or "\r" in value:
            delimiter = f"INJECTOR_EOF_{secrets.token_hex(8)}"
            lines.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            lines.append(f"{name}={value}\n")
    return "".join(lines)


FORMATS: dict[str, Callable[[Mapping[str, str]], str]] = {
    "shell": shell,
    "dotenv": dotenv,
    "json": as_json,
    "terrakube": terrakube,
    "github": github,
}


def render(exports: Mapping[str, str], form: str) -> str:
    if form not in FORMATS:
        raise ConfigError.of("--format", f"expected one of {', '.join(FORMATS)}, got {form!r}")
    return FORMATS[form](exports)
