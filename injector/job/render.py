"""The exports, in the forms other programs read them. Each function is pure."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable, Mapping

from injector.errors import ConfigError, Problems

_TERRAKUBE_UNSAFE = (("=", "'='"), ("\n", "a line break"), ("\r", "a carriage return"))


def shell(exports: Mapping[str, str]) -> str:
    """`export NAME='value'` lines, safe to `eval` whatever a value holds."""
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in exports.items())


def dotenv(exports: Mapping[str, str]) -> str:
    """`NAME='value'` lines, `\\` and `'` escaped as python-dotenv reads them.

    python-dotenv expands `${...}` even inside single quotes and has no escape for it, so a value
    holding `${` is refused rather than changed on the way.
    """
    problems = Problems()
    for name, value in exports.items():
        if "${" in value:
            problems.add(name, "its value contains '${', which dotenv readers would expand")
    problems.raise_if_any()
    lines = []
    for name, value in exports.items():
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        lines.append(f"{name}='{escaped}'\n")
    return "".join(lines)


def as_json(exports: Mapping[str, str]) -> str:
    return json.dumps(dict(exports), indent=2) + "\n"


def terrakube_unsafe(value: str) -> list[str]:
    """What in `value` Terrakube's env file cannot carry ('=', line breaks), as labels."""
    return [label for char, label in _TERRAKUBE_UNSAFE if char in value]


def terrakube(exports: Mapping[str, str]) -> str:
    """`NAME=value` lines as Terrakube's executor loads them from its env file.

    Older executors split each line on every `=` and keep the first two parts (and fail on a
    line without a second part); all of them read line by line. So a value holding `=` or a
    line break would arrive cut short, and an empty one would break the job: such values are
    refused, not written.
    """
    problems = Problems()
    for name, value in exports.items():
        bad = terrakube_unsafe(value)
        if not value:
            bad.append("nothing (an empty value)")
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
            # os.urandom is what secrets.token_hex reads; `secrets` itself loads hashlib and hmac.
            delimiter = f"INJECTOR_EOF_{os.urandom(8).hex()}"
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
