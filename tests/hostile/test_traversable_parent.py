"""A parent folder the user may enter but not list (0711, as shared home folders often are):
`keygen`, `env`, `run` and `hook` work under it, as uid 65534 for whom it is not readable (root
reads every folder, so only another uid shows the difference)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from injector.job.example import EXAMPLE_ENV
from tests.hostile.neighbour import NOBODY, injector_as_nobody
from tests.support.jobs import switched_off


@pytest.fixture
def home() -> Iterator[Path]:
    """`/tmp/X/home`: X is root's and 0711, home is 65534's own and 0700."""
    parent = Path(tempfile.mkdtemp(prefix="injector-0711-", dir="/tmp"))
    parent.chmod(0o711)
    home = parent / "home"
    home.mkdir(mode=0o700)
    os.chown(home, NOBODY, NOBODY)
    try:
        yield home
    finally:
        shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
def job(home: Path) -> dict[str, str]:
    """The example workspace (Vault off: its login needs a server; Kubernetes off, as in the
    `workspace` fixture), signing with a key that
    uid 65534 made with `keygen` under the 0711 parent."""
    result = injector_as_nobody("keygen", "--out", str(home / "keys"), env={})
    assert result.returncode == 0, result.stderr
    assert (home / "keys" / "private.pem").stat().st_uid == NOBODY
    return {
        **EXAMPLE_ENV,
        "ENABLE_DYNAMIC_CREDENTIALS_VAULT": "false",
        "ENABLE_DYNAMIC_CREDENTIALS_KUBERNETES": "false",
        **switched_off("vault_backed_aws"),
        "DynamicCredentialPrivateKeyPath": str(home / "keys" / "private.pem"),
        "DynamicCredentialPublicKeyPath": str(home / "keys" / "public.pem"),
        "HOME": str(home),
    }


def _owned_tokens(folder: Path) -> list[str]:
    names = sorted(path.name for path in folder.iterdir())
    assert all((folder / name).stat().st_uid == NOBODY for name in names)
    return names


def test_env_writes_under_a_parent_it_cannot_list(home: Path, job: dict[str, str]) -> None:
    result = injector_as_nobody("env", "--dir", str(home / "creds"), env=job)
    assert result.returncode == 0, result.stderr
    assert f"{home / 'creds' / 'aws.jwt'}" in result.stdout
    assert _owned_tokens(home / "creds") == [
        "aws.jwt",
        "azure.jwt",
        "gcp-credentials.json",
        "gcp.jwt",
    ]


def test_run_writes_and_removes_under_a_parent_it_cannot_list(
    home: Path, job: dict[str, str]
) -> None:
    folder = home / "run"
    command = ["/bin/sh", "-c", 'cat "$AWS_WEB_IDENTITY_TOKEN_FILE" >/dev/null && echo read']
    result = injector_as_nobody("run", "--dir", str(folder), "--", *command, env=job)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "read\n"
    assert not folder.exists()  # made for the job, so removed with it


def test_hook_writes_under_a_parent_it_cannot_list(home: Path, job: dict[str, str]) -> None:
    working = home / "workspace"
    working.mkdir()
    os.chown(working, NOBODY, NOBODY)
    result = injector_as_nobody("hook", env={**job, "workingDirectory": str(working)}, cwd=working)
    assert result.returncode == 0, result.stderr
    assert "AWS_WEB_IDENTITY_TOKEN_FILE=" in (working / ".terrakube_temp_env").read_text()
    assert "aws.jwt" in _owned_tokens(working / ".terraform" / "injector")
