"""`injector env`'s output: the exports on stdout, in the form asked for.

Rendered in full before a byte is written; once written and flushed, the files and leases are
the job's (`keep`). If stdout refuses them, nobody received the exports, so nobody will use or
clean up the files: the session takes them away.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
from pathlib import Path

from injector.errors import InjectorError
from injector.job import exchange, render
from injector.job.pipeline import Prepared
from injector.job.session import JobSession

log = logging.getLogger("injector")


def env(prepared: Prepared | None, folder: Path | None, form: str) -> int:
    if prepared is None:
        log.warning("no cloud has dynamic credentials enabled: nothing minted, nothing exported")
        sys.stdout.write(render.render({}, form))
        return 0
    with JobSession(prepared, folder) as session:
        secrets = exchange.printable(session.secrets, sys.stdout, session.exchanged)
        output = session.render(render.FORMATS[form], {**session.exports, **secrets})
        try:
            _emit(output)
        except OSError as error:
            raise InjectorError(
                f"cannot write the exports to stdout ({error.strerror or error}): "
                "removed the files written"
            ) from None
        session.keep()
    return 0


def _emit(text: str) -> None:
    """Write `text` to stdout and flush it, so a closed or full stdout fails here. Raises
    OSError; stdout is then pointed at /dev/null, so the flush at exit cannot fail again."""
    if sys.stdout is None:  # fd 1 was closed when Python started
        raise OSError(errno.EBADF, "stdout is closed")
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
        raise
