"""moto's server as a process of its own: the AWS account (IAM, S3, STS) behind the strict STS
stand-in, for the tests and for `make demo`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from tests.standins.server import LOOPBACK, free_port
from tests.support import processes

START_SECONDS = 30


@contextmanager
def running(free_actions: int | None = None) -> Iterator[str]:
    """Start moto's server with this Python on a free port, yield its endpoint once it
    answers, and stop it on the way out whatever happened. With `free_actions`, moto serves
    that many AWS actions unsigned (to set up a principal) and then checks every request's
    signature and IAM policies, as AWS does."""
    port = free_port()
    env = dict(os.environ)
    if free_actions is not None:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(free_actions)
    server = processes.spawn(
        [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    endpoint = f"http://{LOOPBACK}:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        processes.stop(server, timeout=10)
