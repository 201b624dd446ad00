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
    "injector.issuer.app",
    "injector.issuer.discovery",
    "injector.issuer.keygen",
    "injector.issuer.publish",
    "injector.issuer.keyset",
    "injector.jose.jwk",
    "injector.diagnostics.verify",
    "injector.diagnostics.doctor",
    "injector.diagnostics.login",
    "injector.diagnostics.fetch",
    # Only for a CA given as a value (Vault's encoded CA, Kubernetes' CA data).
    "cryptography.x509",
)

# Runs injector's main() in-process, then writes the names of every module it loaded.
PROBE = """
import atexit, json, sys
atexit.register(lambda: open(sys.argv[1], "w").write(json.dumps(sorted(sys.modules))))
from injector.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _loaded(args: list[str], env: dict[str, str], tmp_path: Path) -> list[str]:
    """The modules `injector ARGS` loaded, run in a fresh interpreter with `env`."""
    listing = tmp_path / "modules.json"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(listing), *args],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(listing.read_text())
    return loaded


def _in_a_job(args: list[str], tmp_path: Path) -> tuple[list[str], Path]:
    """`args` with a folder of its own for `env`, and the job's working directory."""
    working = tmp_path / "job"
    working.mkdir()
    if args[:1] == ["env"]:
        args = [*args, "--dir", str(tmp_path / "d")]
    return args, working


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
    args, working = _in_a_job(args, tmp_path)
    loaded = _loaded(args, {**workspace, "workingDirectory": str(working)}, tmp_path)
    assert "cryptography.hazmat.primitives.asymmetric.rsa" in loaded  # the listing is real
    offending = [m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert offending == []


# Standard library modules that cost `injector env` milliseconds each (shutil pulls in bz2 and
# lzma; uuid pulls in platform; secrets pulls in hashlib and hmac; configparser only for an AWS
# profile file that exists).
SLOW_STDLIB = (
    "tempfile",
    "shutil",
    "secrets",
    "uuid",
    "bz2",
    "lzma",
    "platform",
    "hmac",
    "configparser",
)

# The minting pipeline, for the commands that do not mint.
MINTING = (
    "injector.job.pipeline",
    "injector.job.plan",
    "injector.job.settings",
    "injector.jose.jws",
)


@pytest.mark.parametrize(
    "args",
    [["--help"], ["keygen", "--out", "KEYS"], ["serve", "--help"], ["jwks", "--help"]],
    ids=["help", "keygen", "serve-help", "jwks-help"],
)
def test_commands_that_do_not_mint_load_no_minting_pipeline(
    tmp_path: Path, args: list[str]
) -> None:
    args = [str(tmp_path / "keys") if arg == "KEYS" else arg for arg in args]
    loaded = _loaded(args, {}, tmp_path)
    assert "injector.cli" in loaded  # the listing is real
    assert [m for m in loaded if m in MINTING] == []


@pytest.mark.parametrize(
    "args",
    [[], ["env", "--format", "json"], ["run", "--", "true"], ["hook"]],
    ids=["dry-run", "env", "run", "hook"],
)
def test_through_the_signer_the_job_loads_no_cryptography(
    workspace: dict[str, str], tmp_path: Path, args: list[str]
) -> None:
    from tests.support import signer as support

    args, working = _in_a_job(args, tmp_path)
    socket_path = tmp_path / "signer.sock"
    job = {k: v for k, v in workspace.items() if not k.startswith("DynamicCredential")}
    listing = tmp_path / "modules.json"
    signer_env = support.signer_env(Path(workspace["DynamicCredentialPrivateKeyPath"]))
    with support.running_signer(signer_env, socket_path):
        result = subprocess.run(
            [sys.executable, "-c", PROBE, str(listing), *args],
            env={
                "PATH": os.environ["PATH"],
                **job,
                "DynamicCredentialSigner": f"unix:{socket_path}",
                # The signer and the job both run as root here: say root is the signer's user.
                "DynamicCredentialSignerUser": str(os.getuid()),
                "workingDirectory": str(working),
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(listing.read_text())
    assert "injector.signer.client" in loaded  # the listing is real: it went to the signer
    signing = (
        "cryptography",
        "injector.jose.jws",
        "injector.config.signing_keys",
        "injector.signer.server",
    )
    offending = [
        m for m in loaded if any(m == f or m.startswith(f + ".") for f in (*FORBIDDEN, *signing))
    ]
    assert offending == []
    # Measured slow to load (`make bench`) and not needed to mint through the signer.
    assert [m for m in SLOW_STDLIB if m in loaded and args[:1] == ["env"]] == []


@pytest.mark.parametrize("args", [["env", "--format", "json"], ["hook"]], ids=["env", "hook"])
def test_a_job_loads_only_the_clouds_it_switches_on(
    workspace: dict[str, str], tmp_path: Path, args: list[str]
) -> None:
    from injector import clouds

    args, working = _in_a_job(args, tmp_path)
    aws_only = {
        name: value
        for name, value in workspace.items()
        if not any(line.switch in name for line in clouds.REGISTRY if line.name != "aws")
    }
    loaded = _loaded(args, {**aws_only, "workingDirectory": str(working)}, tmp_path)
    modules = {line.name: line.module for line in clouds.REGISTRY}
    assert modules["aws"] in loaded  # the listing is real
    assert [module for module in modules.values() if module in loaded] == [modules["aws"]]
    # Another cloud switched off by name, in every spelling of off, is not loaded either;
    # any other value is that cloud's to judge (a bad one is refused by it).
    words = ("false", "0", "OFF", "No")
    offs = {line.switch: words[i % len(words)] for i, line in enumerate(clouds.REGISTRY[1:])}
    loaded = _loaded(args, {**aws_only, **offs, "workingDirectory": str(working)}, tmp_path)
    assert [module for module in modules.values() if module in loaded] == [modules["aws"]]
    example = _loaded(["--example"], aws_only, tmp_path)
    assert set(modules.values()) <= set(example)  # the example workspace has every cloud
