"""Ending the processes the stand-ins start (issuer, moto, a stand-in run as a program)."""

from __future__ import annotations

import subprocess
from typing import Any

GRACE_SECONDS = 20


def end(process: subprocess.Popen[Any], grace_seconds: float = GRACE_SECONDS) -> None:
    """SIGTERM (a graceful stop) and wait; SIGKILL if it has not exited after the grace."""
    process.terminate()
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
