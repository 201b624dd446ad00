"""Class 3: the hook's env file. Foreign lines keep their exact bytes, split only where
Terrakube's loaders split (\\n, \\r); a link committed by a repository is refused, never read or
written through; tokens are written only after the env file passed every check, and whatever the
run wrote is removed when a later step fails; a message names the variable the user set."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from injector.job.hook import env_file_lines, merged_env_file
from tests.conftest import run_injector
from tests.hostile.neighbour import NOBODY, as_nobody, shared

__all__ = ["shared"]

FOREIGN = (
    b"LATIN=caf\xe9\n"  # a Latin-1 byte: not UTF-8
    b"SEP=a\x1cAWS_ROLE_ARN=not-a-line-of-ours\n"  # \x1c ends a line for Python, not for Java
    b"NEL=a\xc2\x85b\n"  # U+0085
    b"LS=a\xe2\x80\xa8AWS_REGION=kept\r\n"  # U+2028, then a CRLF ending
    b"CR=old-mac\r"
    b"AWS_ROLE_ARN=from-a-previous-run\n"
    b"LAST=no-newline"
)
KEPT = FOREIGN.replace(b"AWS_ROLE_ARN=from-a-previous-run\n", b"")


@pytest.fixture
def job(workspace: dict[str, str], tmp_path: Path) -> dict[str, str]:
    working = tmp_path / "job"
    working.mkdir()
    return {**workspace, "workingDirectory": str(working)}


def test_lines_split_only_at_cr_and_lf() -> None:
    assert env_file_lines(b"A=1\x1cB=2\x85\r\nC=3\rD=4\nE") == [
        b"A=1\x1cB=2\x85\r\n",
        b"C=3\r",
        b"D=4\n",
        b"E",
    ]
    merged = merged_env_file(FOREIGN, b"AWS_ROLE_ARN=new\n")
    assert merged == KEPT + b"\nAWS_ROLE_ARN=new\n"


def test_the_hook_keeps_every_foreign_byte(job: dict[str, str]) -> None:
    env_file = Path(job["workingDirectory"]) / ".terrakube_temp_env"
    env_file.write_bytes(FOREIGN)
    result = run_injector("hook", env=job)
    assert result.returncode == 0, result.stderr
    data = env_file.read_bytes()
    assert data.startswith(KEPT + b"\n")
    ours = data[len(KEPT) + 1 :].decode("ascii")
    assert ours.count("AWS_ROLE_ARN=") == 1 and "from-a-previous-run" not in ours


def test_a_working_directory_whose_name_is_not_utf8_is_refused(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    working = Path(os.fsdecode(bytes(tmp_path) + b"/job-\xff"))
    working.mkdir()
    result = run_injector("hook", env={**workspace, "workingDirectory": str(working)})
    assert result.returncode == 2, result.stderr
    assert (
        "injector: error: workingDirectory: " in result.stderr
        and "not valid UTF-8" in result.stderr
    )
    assert list(working.iterdir()) == []


def test_a_committed_env_file_link_to_the_signing_key_is_refused(job: dict[str, str]) -> None:
    working = Path(job["workingDirectory"])
    key = Path(job["DynamicCredentialPrivateKeyPath"])
    before = key.read_bytes()
    (working / ".terrakube_temp_env").symlink_to(key)
    result = run_injector("hook", env=job)
    assert result.returncode == 2, result.stderr
    assert "terrakubeEnv: " in result.stderr and "is a symbolic link" in result.stderr
    assert (working / ".terrakube_temp_env").is_symlink()
    assert key.read_bytes() == before
    assert sorted(p.name for p in working.iterdir()) == [".terrakube_temp_env"]  # no token


def test_an_env_file_of_another_user_or_in_an_open_folder_is_refused(
    job: dict[str, str], shared: Path
) -> None:
    as_nobody("import sys; open(sys.argv[1], 'w').write('X=1\\n')", str(shared / "theirs.env"))
    assert (shared / "theirs.env").stat().st_uid == NOBODY
    result = run_injector("hook", env={**job, "terrakubeEnv": str(shared / "theirs.env")})
    assert result.returncode == 2
    assert "belongs to another user" in result.stderr
    open_folder = shared / "open"
    open_folder.mkdir()
    open_folder.chmod(0o777)
    result = run_injector("hook", env={**job, "terrakubeEnv": str(open_folder / "env")})
    assert result.returncode == 2
    assert "not sticky" in result.stderr
    assert list(open_folder.iterdir()) == []
    assert list(Path(job["workingDirectory"]).iterdir()) == []


def test_when_the_env_file_cannot_be_written_the_tokens_are_removed(job: dict[str, str]) -> None:
    """An immutable env file (chattr +i: even root cannot replace it) fails the last step."""
    working = Path(job["workingDirectory"])
    env_file = working / ".terrakube_temp_env"
    env_file.write_bytes(b"KEEP=1\n")
    subprocess.run(["chattr", "+i", str(env_file)], check=True)
    try:
        result = run_injector("hook", env=job)
    finally:
        subprocess.run(["chattr", "-i", str(env_file)], check=True)
    assert result.returncode == 1, result.stderr
    assert "cannot update" in result.stderr and "terrakubeEnv" in result.stderr
    assert env_file.read_bytes() == b"KEEP=1\n"
    # Neither the token folder nor the `.terraform` made for it is left.
    assert sorted(p.name for p in working.iterdir()) == [".terrakube_temp_env"]


def test_a_refused_export_names_the_variable_the_user_set(job: dict[str, str]) -> None:
    result = run_injector("hook", env={**job, "organizationName": "a=b"})
    assert result.returncode == 2
    assert "injector: error: organizationName: goes into AWS_ROLE_SESSION_NAME:" in result.stderr
    assert list(Path(job["workingDirectory"]).iterdir()) == []


def test_a_working_directory_terrakube_could_not_carry_is_named(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    working = tmp_path / "job=1"
    working.mkdir()
    result = run_injector("hook", env={**workspace, "workingDirectory": str(working)})
    assert result.returncode == 2
    assert "injector: error: workingDirectory: " in result.stderr and "'='" in result.stderr
    assert list(working.iterdir()) == []


def test_an_env_file_open_to_others_is_replaced_by_one_only_its_owner_reads(
    job: dict[str, str],
) -> None:
    """The hook puts secret exports (a Vault token) into the env file: one Terrakube or an
    earlier step left readable by all (0644) is replaced by a 0600 file, never written in
    place."""
    env_file = Path(job["workingDirectory"]) / ".terrakube_temp_env"
    env_file.write_bytes(b"EARLIER=step\n")
    env_file.chmod(0o644)
    before = env_file.stat().st_ino
    result = run_injector("hook", env=job)
    assert result.returncode == 0, result.stderr
    after = env_file.stat()
    assert after.st_mode & 0o777 == 0o600
    assert after.st_ino != before
    assert env_file.read_bytes().startswith(b"EARLIER=step\n")


def test_static_credentials_left_in_the_env_file_are_refused_before_anything_is_written(
    job: dict[str, str],
) -> None:
    """Terrakube loads the env file into Terraform's environment: AWS keys an earlier step (or
    a committed `.terrakube_temp_env`) left there would win over the web identity, as they
    would in the job's own environment, where they are refused. Before, the hook added its
    exports beside them and Terraform quietly ran as the keys' owner."""
    working = Path(job["workingDirectory"])
    env_file = working / ".terrakube_temp_env"
    lines = b"EARLIER=step\nAWS_ACCESS_KEY_ID=AKIAEXAMPLEKEY\nAWS_SECRET_ACCESS_KEY=s3cr3t\n"
    env_file.write_bytes(lines)
    result = run_injector("hook", env=job)
    assert result.returncode == 2, result.stderr
    assert f"terrakubeEnv: {env_file} sets AWS_ACCESS_KEY_ID, which" in result.stderr
    assert "AWS_SECRET_ACCESS_KEY" in result.stderr
    assert "AKIAEXAMPLEKEY" not in result.stderr and "s3cr3t" not in result.stderr
    assert env_file.read_bytes() == lines
    assert not (working / ".terraform").exists()
