"""The exit statuses of every command, and what each means: the CLI returns these, and the
reference page (scripts/gen_reference.py) is generated from `MEANINGS`."""

from __future__ import annotations

from injector import errors

DONE = 0
FAILED = 1
BAD_INPUT = 2
CANNOT_RUN = errors.COMMAND_CANNOT_RUN
NOT_FOUND = errors.COMMAND_NOT_FOUND
INTERRUPTED = 130

MEANINGS: dict[int, str] = {
    DONE: "done (`verify`: no rule failed). `run` exits with its command's own status, "
    "128+N if the command died of signal N or `run` got signal N first",
    FAILED: "a failure that is not the input's: an issuer or a signer that cannot be reached, "
    "a refused login, a rule `verify` or `doctor` found failing, an internal error",
    BAD_INPUT: "bad configuration or usage: the message names the variable or option and the "
    "form expected; nothing was written or exported, and `run` started nothing",
    CANNOT_RUN: "`run`: the command exists but cannot be started (permission denied, "
    "not executable)",
    NOT_FOUND: "`run`: the command was not found",
    INTERRUPTED: "interrupted (SIGINT, 128+2) before the work was done",
}
