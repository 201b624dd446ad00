"""`injector run -- CMD`: run a command with the exports, keep its tokens fresh, clean up after.

Signals: SIGTERM, SIGHUP and SIGINT sent to injector are passed on to the command, and its exit
status becomes injector's (128+N if it died of signal N). One exception: a Ctrl-C typed at a
terminal already reaches every process of the foreground group, the command included, so it is
not sent a second time (Terraform treats a second interrupt as "stop now, skip clean-up").
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

from injector import clouds
from injector.clouds import inherited
from injector.config import issuer_settings, values
from injector.errors import COMMAND_CANNOT_RUN, COMMAND_NOT_FOUND, CommandError
from injector.job import report
from injector.job.leaks import warn_about_leaks
from injector.job.pipeline import Prepared
from injector.job.session import JobSession, Upkeep

log = logging.getLogger("injector")

FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class _Interrupted(Exception):
    """A signal arrived before the command was started: stop, clean up, exit 128+N."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminal_delivers_to_group() -> bool:
    """Whether we are the foreground process group of a terminal (which then signals us all)."""
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        try:
            if stream is not None and stream.isatty():
                return os.tcgetpgrp(stream.fileno()) == os.getpgrp()
        except (OSError, ValueError):
            continue
    return False


class _SignalRelay:
    """Signal handlers for the lifetime of the command.

    Before the command starts, a signal aborts (raises _Interrupted). While it is being started,
    signals are queued, so none is lost between fork and knowing the child's pid. Afterwards,
    each is sent on to the command.
    """

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self._starting = False
        self._queued: list[int] = []
        self._forward_interrupt = not _terminal_delivers_to_group()
        self._previous = {signum: signal.signal(signum, self._handle) for signum in FORWARDED}

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.child is not None:
            self._forward(self.child, signum)
        elif self._starting:
            self._queued.append(signum)
        else:
            raise _Interrupted(signum)

    def _forward(self, child: subprocess.Popen[bytes], signum: int) -> None:
        if signum == signal.SIGINT and not self._forward_interrupt:
            return
        log.info("passing signal %d on to the command", signum)
        child.send_signal(signum)

    def start(self, command: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        self._starting = True
        try:
            child = subprocess.Popen(list(command), env=dict(env))
        finally:
            self._starting = False
        self.child = child
        for signum in self._queued:
            self._forward(child, signum)
        return child

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def exit_status(returncode: int) -> int:
    """A shell's convention: a command killed by signal N exits 128+N."""
    return 128 - returncode if returncode < 0 else returncode


def _named(program: str) -> str:
    """The command's name as a message shows any value: one line, clipped."""
    text = program if program.isprintable() else program.encode("unicode_escape").decode()
    return values.clipped(text, values.PATH_LIMIT)


def child_environment(
    base: Mapping[str, str], exports: Mapping[str, str], dropped: Sequence[str]
) -> dict[str, str]:
    env = {
        name: value
        for name, value in base.items()
        if name not in dropped and name not in issuer_settings.CONSUMED_SECRETS
    }
    env.update(exports)
    return env


def run(
    command: Sequence[str],
    prepared: Prepared | None,
    base_env: Mapping[str, str],
    *,
    folder: Path | None = None,
    dropped: Sequence[str] = (),
    refresh_interval: float | None = None,
    token_endpoint: bool = False,
    quiet: bool = False,
) -> int:
    """Run `command` and return its exit status. Files written for it are removed on every way
    out: normal exit, a crash of the command, a signal to injector, or an error here. Unless
    `quiet`, one line per configuration minted goes to stderr first."""
    warn_about_leaks(base_env)
    if prepared is None:
        log.warning(
            "no cloud has dynamic credentials enabled (%s): running %s without credentials",
            clouds.switches(),
            _named(command[0]),
        )
    relay = _SignalRelay()
    upkeep = Upkeep(refresh_interval, token_endpoint)
    try:
        with JobSession(prepared, folder, upkeep=upkeep, refuse_inherited=False) as session:
            if prepared is not None:
                kept_out = inherited.leftovers(prepared.settings.clouds, base_env, session.exports)
                dropped = [*dropped, *(name for name in kept_out if name not in dropped)]
                if not quiet:
                    sys.stderr.write(report.minted(session.plan))
            if dropped:
                log.warning(
                    "not passing %s to the command: they would win over the web identity "
                    "enabled for their cloud",
                    ", ".join(dropped),
                )
            exports = {**session.exports, **session.secrets}
            child = _start(relay, command, child_environment(base_env, exports, dropped))
            return exit_status(child.wait())
    except _Interrupted as interrupted:
        return 128 + interrupted.signum
    finally:
        relay.restore()


def _start(
    relay: _SignalRelay, command: Sequence[str], env: Mapping[str, str]
) -> subprocess.Popen[bytes]:
    try:
        return relay.start(command, env)
    except FileNotFoundError:
        raise CommandError(f"command not found: {_named(command[0])}", COMMAND_NOT_FOUND) from None
    except PermissionError:
        raise CommandError(f"permission denied: {_named(command[0])}", COMMAND_CANNOT_RUN) from None
    except OSError as error:
        # ENOEXEC (a data file with the exec bit, a binary for another machine) and the like:
        # found but not runnable, which a shell reports as 126 too.
        reason = "not a program" if error.errno == errno.ENOEXEC else error.strerror
        raise CommandError(
            f"cannot run {_named(command[0])}: {reason}", COMMAND_CANNOT_RUN
        ) from None
