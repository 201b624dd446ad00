"""The issuer the clouds fetch discovery and JWKS from: the real `injector serve` process, over
HTTPS with a certificate of the test CA."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from tests.standins.server import LOOPBACK, free_port
from tests.support import processes


class ServedIssuer:
    """A real `injector serve` process over HTTPS, with the issuer settings of `env`, on a port
    chosen at construction and kept across `stop`/`start` (the clouds know the issuer URL)."""

    def __init__(
        self, env: Mapping[str, str], certfile: Path, keyfile: Path, trust: ssl.SSLContext
    ) -> None:
        self.port = free_port()
        self.url = f"https://{LOOPBACK}:{self.port}"
        self._env = {
            "PATH": os.environ["PATH"],
            "LANG": "C.UTF-8",
            **env,
            "DynamicCredentialHostname": self.url,
        }
        self._command = [
            sys.executable,
            "-m",
            "injector",
            "serve",
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
            "--certfile",
            str(certfile),
            "--keyfile",
            str(keyfile),
        ]
        self._trust = trust
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process and wait until it serves /healthz over HTTPS; raises RuntimeError
        if it does not within 30 s."""
        process = processes.spawn(
            self._command, env=self._env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._process = process
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1, context=self._trust):
                    return
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("injector serve did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM (a graceful stop) and wait; killed if it has not exited after 20 s."""
        process, self._process = self._process, None
        if process is None:
            return
        processes.stop(process)
