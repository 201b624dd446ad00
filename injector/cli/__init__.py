"""Command line: parse arguments, run one command, and turn errors into exit codes (here only).

Exit status: 0 done; 2 bad configuration or usage; 1 any other failure (126 and 127 when
`run` cannot start its command): see exit_status. Machine output goes to stdout, messages to
stderr; a token is never printed. Each side's commands live in their own module and load their
side only when run.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from injector import __version__, clouds
from injector.cli import (
    completion,
    diagnostic_commands,
    exit_status,
    issuer_commands,
    job_commands,
    options,
    signer_commands,
)
from injector.config import values
from injector.errors import CommandError, ConfigError, InjectorError

__all__ = ["build_parser", "main"]

log = logging.getLogger("injector")


# Every subcommand, as the modules below add them: `build_parser` builds only the one a command
# line names (tests/cli checks that this list is the parser's).
COMMANDS = (
    *job_commands.COMMANDS,
    *issuer_commands.COMMANDS,
    *diagnostic_commands.COMMANDS,
    *signer_commands.COMMANDS,
    completion.COMMAND,
)


def named_command(argv: Sequence[str]) -> str | None:
    """The subcommand `argv` runs, when one word of it alone is a command's name (else None:
    a value that is also a command's name could hide the real one)."""
    named = [word for word in argv if word in COMMANDS]
    return named[0] if len(set(named)) == 1 else None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; only the subcommand `argv` names, when it names one."""
    logging_options = options.logging_options()
    common = options.job_options(logging_options)
    labels = list(clouds.labels())
    parser = options.Parser(
        prog="injector",
        description="Mint short-lived OIDC tokens for a Terraform job and export what "
        f"{options.listing(labels)} need to log in with them. Without a command: a dry run on "
        "the current environment, which writes nothing.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"injector {__version__}")
    job_commands.add_to_main(parser)
    commands = parser.add_subparsers(
        title="commands", metavar="COMMAND", parser_class=options.Parser, action=options.Commands
    )
    assert isinstance(commands, options.Commands)  # noqa: S101
    commands.only = None if argv is None else named_command(argv)
    job_commands.add_commands(commands, common)
    issuer_commands.add_commands(commands, logging_options)
    diagnostic_commands.add_commands(commands, common, logging_options)
    signer_commands.add_commands(commands, logging_options)
    completion.add_command(commands, logging_options, build_parser)
    return parser


class _Formatter(logging.Formatter):
    """`injector: warning: ...`, in the same shape as the error lines."""

    def format(self, record: logging.LogRecord) -> str:
        return f"injector: {record.levelname.lower()}: {record.getMessage()}" + (
            "\n" + self.formatException(record.exc_info) if record.exc_info else ""
        )


def _configure_logging(level: str | None) -> None:
    """Messages on stderr at `--log-level`, else $INJECTOR_LOG_LEVEL, else warning. Raises
    ConfigError for a level $INJECTOR_LOG_LEVEL names that does not exist (argparse checks
    `--log-level` itself)."""
    given = level or os.environ.get(options.LOG_LEVEL) or "warning"
    chosen = given.lower()
    if chosen not in options.LOG_LEVELS:
        levels = ", ".join(options.LOG_LEVELS)
        raise ConfigError.of(
            options.LOG_LEVEL, f"expected one of {levels} (any case), got {values.shown(given)}"
        )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    log.handlers[:] = [handler]
    log.setLevel(getattr(logging, chosen.upper()))
    log.propagate = False


# The longest error line printed: a message that embeds a path or a value someone else chose (a
# 120 KB path) is cut in the middle, so it stays one readable line.
MAX_MESSAGE = 1000


def _error(message: str) -> None:
    print(f"injector: error: {values.clipped(message, MAX_MESSAGE)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        given = sys.argv[1:] if argv is None else argv
        args = build_parser(given).parse_args(given)
        _configure_logging(getattr(args, "log_level", None))
        return int(args.handler(args))
    except ConfigError as error:
        for problem in error.problems:
            _error(str(problem))
        return exit_status.BAD_INPUT
    except CommandError as error:
        _error(str(error))
        return error.status
    except InjectorError as error:
        _error(str(error))
        return exit_status.FAILED
    except KeyboardInterrupt:
        return exit_status.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`injector env | head`); nothing more to say to it.
        sys.stderr.close()
        return exit_status.FAILED
    except Exception as error:
        log.debug("internal error", exc_info=True)
        print(
            f"injector: internal error: {type(error).__name__}: {error} "
            f"(rerun with --log-level debug for the traceback)",
            file=sys.stderr,
        )
        return exit_status.FAILED
