"""Class 2: the files injector reads (keys, additional public keys, `verify --file`, the hook's
env file) must be regular files of a sane size: a FIFO must not block, /dev/zero must not fill
memory, and the exit is 2 with the variable named."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_injector


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    yield path


def _huge(tmp_path: Path) -> Path:
    path = tmp_path / "huge.pem"
    with path.open("wb") as file:
        file.truncate(2 << 20)  # 2 MiB of zeros, sparse: cheap to make, costly to slurp
    return path


def _odd_files(tmp_path: Path, fifo: Path) -> dict[str, Path]:
    return {"fifo": fifo, "device": Path("/dev/zero"), "huge": _huge(tmp_path)}


@pytest.mark.parametrize("kind", ["fifo", "device", "huge"])
def test_private_key_that_is_not_a_regular_file_exits_2(
    workspace: dict[str, str], tmp_path: Path, fifo: Path, kind: str
) -> None:
    path = _odd_files(tmp_path, fifo)[kind]
    env = {**workspace, "DynamicCredentialPrivateKeyPath": str(path)}
    result = run_injector("env", "--dir", str(tmp_path / "d"), env=env)
    assert result.returncode == 2, result.stderr
    assert f"injector: error: DynamicCredentialPrivateKeyPath: {path}" in result.stderr
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("kind", ["fifo", "device", "huge"])
def test_public_and_additional_keys_that_are_not_regular_files_exit_2(
    workspace: dict[str, str], tmp_path: Path, fifo: Path, kind: str
) -> None:
    path = _odd_files(tmp_path, fifo)[kind]
    public = run_injector("jwks", env={**workspace, "DynamicCredentialPublicKeyPath": str(path)})
    assert public.returncode == 2, public.stderr
    assert f"DynamicCredentialPublicKeyPath: {path}" in public.stderr
    env = {**workspace, "DynamicCredentialAdditionalPublicKeys": f"old={path}"}
    additional = run_injector("jwks", env=env)
    assert additional.returncode == 2, additional.stderr
    assert f"DynamicCredentialAdditionalPublicKeys: {path}" in additional.stderr


@pytest.mark.parametrize("kind", ["fifo", "device", "huge"])
def test_verify_file_that_is_not_a_regular_file_exits_2(
    tmp_path: Path, fifo: Path, kind: str
) -> None:
    path = _odd_files(tmp_path, fifo)[kind]
    result = run_injector("verify", "--file", str(path), env={})
    assert result.returncode == 2, result.stderr
    assert "--file: cannot read the token file" in result.stderr


@pytest.mark.parametrize("kind", ["fifo", "device", "huge"])
def test_hook_env_file_that_is_not_a_regular_file_exits_2_before_any_token(
    workspace: dict[str, str], tmp_path: Path, fifo: Path, kind: str
) -> None:
    path = _odd_files(tmp_path, fifo)[kind]
    working = tmp_path / "job"
    working.mkdir()
    env = {**workspace, "workingDirectory": str(working), "terrakubeEnv": str(path)}
    result = run_injector("hook", env=env)
    assert result.returncode == 2, result.stderr
    assert "terrakubeEnv: " in result.stderr
    assert list(working.iterdir()) == []  # no token folder: the env file was checked first


def test_a_key_behind_a_link_is_still_read(workspace: dict[str, str], tmp_path: Path) -> None:
    """A Kubernetes secret is mounted as links (`..data/...`): following them stays allowed."""
    link = tmp_path / "private.pem"
    link.symlink_to(workspace["DynamicCredentialPrivateKeyPath"])
    env = {**workspace, "DynamicCredentialPrivateKeyPath": str(link)}
    assert run_injector("env", "--dir", str(tmp_path / "d"), env=env).returncode == 0


@pytest.mark.parametrize("kind", ["fifo", "device", "huge"])
def test_a_platform_token_file_that_is_not_a_regular_file_exits_2(
    workspace: dict[str, str], tmp_path: Path, fifo: Path, kind: str
) -> None:
    """A keyless job's INJECTOR_SUBJECT_TOKEN_FILE: before, a FIFO held the job until killed
    and /dev/zero was read until memory ran out. It is read before anything is sent (the
    signer's address here has nobody listening)."""
    path = _odd_files(tmp_path, fifo)[kind]
    env = {name: value for name, value in workspace.items() if not name.startswith("DynamicCred")}
    env.update(DynamicCredentialSigner="https://127.0.0.1:1", INJECTOR_SUBJECT_TOKEN_FILE=str(path))
    result = run_injector("env", "--dir", str(tmp_path / "d"), env=env)
    assert result.returncode == 2, result.stderr
    assert f"injector: error: INJECTOR_SUBJECT_TOKEN_FILE: {path}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "d").exists()
