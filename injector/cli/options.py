"""Options several commands share: `--log-level`, the job context, `--dir`, `--phase`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from injector.claims import PHASES
from injector.clouds.base import REQUIRE
from injector.config import ci, values
from injector.config.job_context import OPTIONS as JOB_OPTIONS
from injector.errors import ConfigError

LOG_LEVEL = "INJECTOR_LOG_LEVEL"
LOG_LEVELS = ("debug", "info", "warning", "error")
_JOB_DESTS = {variable: option[2:].replace("-", "_") for variable, option in JOB_OPTIONS.items()}


def _terminal_columns() -> int:
    """shutil.get_terminal_size().columns ($COLUMNS, else the terminal's, else 80), without
    shutil: argparse imports it to size its help, and it loads bz2 and lzma, which cost every
    `injector env` more time than its signing (`make bench`)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _HelpFormatter(argparse.HelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_terminal_columns() - 2)  # the 2 argparse takes off


class Parser(argparse.ArgumentParser):
    def __init__(
        self, *args: Any, describe: Callable[[], str] | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        # A description that needs every cloud loaded is written only when read (help, the
        # reference pages), so that building the parser loads no cloud.
        self._describe = describe
        super().__init__(*args, **kwargs)

    @property
    def description(self) -> str | None:
        return self._describe() if self._describe is not None else self._description

    @description.setter
    def description(self, value: str | None) -> None:
        self._description = value

    def error(self, message: str) -> None:  # type: ignore[override]
        # Usage errors are configuration errors: same exit code, same place for the message.
        raise ConfigError.of("usage", f"{message} (see injector --help)")


class Commands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """The subcommands. When the command line names one of them, only that one is built:
    each parser costs about a millisecond (argparse looks up its translations for every
    string), which every `injector env` would pay for the commands it does not run."""

    only: str | None = None

    def wanted(self, name: str) -> bool:
        return self.only is None or name == self.only

    if TYPE_CHECKING:

        def add_parser(self, name: str, **kwargs: Any) -> Parser: ...


def logging_options() -> Parser:
    """`--log-level`, which every command takes."""
    # SUPPRESS defaults, so a value given before the subcommand is not reset by the subparser.
    options = Parser(add_help=False, argument_default=argparse.SUPPRESS)
    options.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        help=f"messages on stderr (default: ${LOG_LEVEL} or warning)",
    )
    return options


def job_options(logging: Parser) -> Parser:
    """The job context options and `--log-level`: for the commands that mint."""
    common = Parser(add_help=False, argument_default=argparse.SUPPRESS, parents=[logging])
    job = common.add_argument_group("job context (override the executor's variables)")
    for variable, option in JOB_OPTIONS.items():
        job.add_argument(option, metavar="VALUE", help=f"instead of ${variable}")
    common.add_argument(
        "--require",
        metavar="CLOUD,...",
        help=f"exit 2 unless each of these clouds is enabled (default: ${REQUIRE})",
    )
    common.add_argument(
        "--ci",
        choices=ci.NAMES,
        help=f"take the job context the environment lacks from this CI's variables "
        f"(default: ${ci.CI})",
    )
    return common


def folder_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--dir", type=Path, metavar="D", help=help_text)


def phase_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--phase",
        choices=PHASES,
        help="use the <VARIABLE>_PLAN or _APPLY identities (role, client id, service account)",
    )


QUIET = "INJECTOR_QUIET"


def quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help=f"no line on stderr about what was minted (default: ${QUIET}, else the line: the "
        "identity, sub, aud and expiry of each configuration)",
    )


def quiet(args: argparse.Namespace, env: Mapping[str, str]) -> bool:
    """`--quiet`, else $INJECTOR_QUIET (a boolean). Raises ConfigError for another value."""
    return bool(getattr(args, "quiet", False)) or values.boolean(env, QUIET)


def ca_bundle_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ca-bundle",
        type=Path,
        metavar="F",
        help="trust the CAs in F for the issuer (default: $SSL_CERT_FILE, else public CAs)",
    )


def environment(args: argparse.Namespace, base: Mapping[str, str]) -> dict[str, str]:
    """`base` with the job context options given on the command line laid over it."""
    env = dict(base)
    for variable, dest in _JOB_DESTS.items():
        value = getattr(args, dest, None)
        if value is not None:
            env[variable] = value
    if getattr(args, "ci", None) is not None:
        env[ci.CI] = args.ci
    return env


def listing(items: list[str], last: str = "and") -> str:
    """`a, b and c`: for help texts built from the registry."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"
