"""Typed errors. The CLI turns them into exit codes in one place (injector.cli)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")


class InjectorError(Exception):
    """A failure the user can act on (exit 1): a file not writable, a command not found."""


# `injector run`'s statuses when its command cannot be started: a shell's (POSIX sh, "Command
# Search and Execution"), so that a CI step or a script wrapping `injector run -- cmd` reads
# them as it would for `cmd` run alone.
COMMAND_NOT_FOUND = 127
COMMAND_CANNOT_RUN = 126  # found, but not executable (permission, not a program)


class CommandError(InjectorError):
    """A failure with an exit status of its own: `injector run`'s command could not be started
    (COMMAND_NOT_FOUND, COMMAND_CANNOT_RUN)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Problem:
    """One bad setting: the variable (or option) it came from and what form was expected."""

    variable: str
    message: str

    def __str__(self) -> str:
        return f"{self.variable}: {self.message}"


class ConfigError(InjectorError):
    """Bad configuration or usage (exit 2). Raised before anything is written or exported.

    Carries every problem found, so an operator can fix them all in one go.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    @classmethod
    def of(cls, variable: str, message: str) -> ConfigError:
        return cls([Problem(variable, message)])


def require_modules(command: str, extra: str, modules: tuple[str, ...]) -> None:
    """Raises ConfigError (exit 2) naming `command` and the install command when one of
    `modules`, which its `extra` brings, is not installed."""
    from injector import install_command

    missing = [name for name in modules if not _importable(name)]
    if missing:
        raise ConfigError.of(
            command,
            f"needs {' and '.join(missing)}, which the {extra} extra brings: "
            f"{install_command(extra)}",
        )


def _importable(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent package missing, or an import blocked
        return False


class Problems:
    """Collects the problems of several independent checks, so all are reported at once."""

    def __init__(self) -> None:
        self._found: list[Problem] = []

    def add(self, variable: str, message: str) -> None:
        self._found.append(Problem(variable, message))

    def get(self, fallback: T, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`read(*args, **kwargs)`; if it raised ConfigError, its problems are kept and
        `fallback` stands in (never used: `raise_if_any` follows)."""
        try:
            return read(*args, **kwargs)
        except ConfigError as error:
            self._found.extend(error.problems)
            return fallback

    def run(self, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        """`read(*args, **kwargs)`, or None with its problems kept if it raised ConfigError."""
        try:
            return read(*args, **kwargs)
        except ConfigError as error:
            self._found.extend(error.problems)
            return None

    def raise_if_any(self) -> None:
        if self._found:
            raise ConfigError(self._found)

    def __bool__(self) -> bool:
        return bool(self._found)
