"""The hot path (dry run, `env`, `run`, `hook`) loads no HTTP client, cloud SDK, JOSE library or
server: they cost start-up time on every job and widen what runs next to the signing key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FORBIDDEN = (
    "boto3",
    "botocore",
    "azure",
    "msal",
    "google",
    "httpx",
    "requests",
    "urllib3",
    "urllib.request",
    "http.client",
    "http.server",
    # `run --token-endpoint` only: a loopback HTTP server.
    "injector.job.token_endpoint",
    "ssl",
    "jwt",
    "joserfc",
    "uvicorn",
    "granian",
    "uvloop",
    "starlette",
    "asyncio",
    # The issuer side and the diagnostics load only for their own commands.
    "injector.issuer.server",
    "injector.issuer.discovery",
    "injector.issuer.keygen",
    "injector.issuer.publish",
    "injector.issuer.keyset",
    "injector.jose.jwk",
    "injector.diagnostics.verify",
    "injector.diagnostics.doctor",
    "injector.diagnostics.login",
    "injector.diagnostics.fetch",
)

# Runs injector's main() in-process, then writes the names of every module it loaded.
PROBE = """
import atexit, json, sys
atexit.register(lambda: open(sys.argv[1], "w").write(json.dumps(sorted(sys.modules))))
from injector.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["env", "--format", "json"],
        ["run", "--", "true"],
        ["hook"],
    ],
    ids=["dry-run", "env", "run", "hook"],
)
def test_hot_path_imports(workspace: dict[str, str], tmp_path: Path, args: list[str]) -> None:
    working = tmp_path / "job"
    working.mkdir()
    if args[:1] == ["env"]:
        args = [*args, "--dir", str(tmp_path / "d")]
    listing = tmp_path / "modules.json"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(listing), *args],
        env={"PATH": os.environ["PATH"], **workspace, "workingDirectory": str(working)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(listing.read_text())
    assert "cryptography.hazmat.primitives.asymmetric.rsa" in loaded  # the listing is real
    offending = [m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert offending == []
