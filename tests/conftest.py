"""Shared fixtures: keys made the way operators make them, and an example workspace; the
suite's guard (it needs root) and its last word on processes left running."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from injector.job.example import EXAMPLE_ENV
from tests.standins import moto
from tests.standins.server import free_port as free_port
from tests.support import processes
from tests.support.jobs import switched_off

ROOT = Path(__file__).resolve().parent.parent

# One message for `make test` (the Makefile prints this file) and for pytest run directly.
NEEDS_ROOT = (ROOT / "tests" / "needs-root.txt").read_text().strip()


def pytest_configure(config: pytest.Config) -> None:
    if os.geteuid() != 0:
        pytest.exit(NEEDS_ROOT, returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Whatever a test started and did not stop (a failure between start and stop, a child of
    a child) is killed here, and the run fails naming it: the standard is that fixtures stop
    what they start."""
    left = processes.leftovers()
    if left:
        print("\ntests left processes running (killed now):\n  " + "\n  ".join(left))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@dataclass(frozen=True)
class KeyFiles:
    private_pkcs8: Path  # the Terrakube docs' three openssl commands
    private_pkcs1: Path  # `BEGIN RSA PRIVATE KEY`, as `openssl genrsa -traditional` makes it
    public: Path
    other_public: Path  # a valid public key of another key pair
    small_private: Path  # RSA-1024
    ec_private: Path
    encrypted_private: Path


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


@pytest.fixture(scope="session")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> KeyFiles:
    folder = tmp_path_factory.mktemp("keys")
    temp = folder / "private_temp.pem"
    _openssl("genrsa", "-out", temp, "2048")
    _openssl("rsa", "-in", temp, "-outform", "PEM", "-pubout", "-out", folder / "public.pem")
    _openssl(
        "pkcs8",
        "-topk8",
        "-inform",
        "PEM",
        "-outform",
        "PEM",
        "-nocrypt",
        "-in",
        temp,
        "-out",
        folder / "private.pem",
    )
    _openssl("rsa", "-in", temp, "-traditional", "-out", folder / "pkcs1.pem")
    _openssl("genrsa", "-out", folder / "other.pem", "2048")
    _openssl("rsa", "-in", folder / "other.pem", "-pubout", "-out", folder / "other_public.pem")
    _openssl("genrsa", "-out", folder / "small.pem", "1024")
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", folder / "ec.pem")
    _openssl(
        "pkcs8", "-topk8", "-in", temp, "-passout", "pass:secret", "-out", folder / "encrypted.pem"
    )
    for private in ("private.pem", "pkcs1.pem", "small.pem", "ec.pem", "encrypted.pem"):
        (folder / private).chmod(0o600)  # as an operator keeps a signing key
    return KeyFiles(
        private_pkcs8=folder / "private.pem",
        private_pkcs1=folder / "pkcs1.pem",
        public=folder / "public.pem",
        other_public=folder / "other_public.pem",
        small_private=folder / "small.pem",
        ec_private=folder / "ec.pem",
        encrypted_private=folder / "encrypted.pem",
    )


@pytest.fixture
def workspace(key_files: KeyFiles) -> dict[str, str]:
    """A workspace environment with AWS, Azure and GCP enabled and real keys. Vault, which the
    example enables too, is switched off: its login needs a server (tests/clouds/test_vault.py
    starts one), and so Vault-backed AWS. So is Kubernetes, whose tests point it at a cluster of
    theirs."""
    return {
        **EXAMPLE_ENV,
        "ENABLE_DYNAMIC_CREDENTIALS_VAULT": "false",
        "ENABLE_DYNAMIC_CREDENTIALS_KUBERNETES": "false",
        **switched_off("vault_backed_aws"),
        "DynamicCredentialPrivateKeyPath": str(key_files.private_pkcs8),
        "DynamicCredentialPublicKeyPath": str(key_files.public),
    }


def run_injector(
    *args: str, env: Mapping[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m injector ARGS` in a clean environment: only `env`, plus what Python needs."""
    base = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
    return subprocess.run(
        [sys.executable, "-m", "injector", *args],
        env={**base, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real moto server process on 127.0.0.1, on a port chosen now."""
    with moto.running() as endpoint:
        yield endpoint
