"""Class 8: `injector env` whose stdout cannot be written (closed, a pipe nobody reads, a full
disk) exits 1 and removes what it wrote: nobody received the exports, so nobody would use the
files or clean them up."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_injector


def _env_with_stdout(
    folder: Path, workspace: dict[str, str], stdout: int, preexec: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "injector", "env", "--dir", str(folder)],
        env={"PATH": os.environ["PATH"], **workspace},
        stdout=stdout,
        stderr=subprocess.PIPE,
        preexec_fn=preexec,
        text=True,
        timeout=60,
        check=False,
    )


def _close_stdout() -> None:
    os.close(1)


@pytest.mark.parametrize("how", ["closed", "broken pipe", "full"])
def test_env_that_cannot_write_its_exports_exits_1_and_removes_its_folder(
    workspace: dict[str, str], tmp_path: Path, how: str
) -> None:
    folder = tmp_path / "d"
    if how == "closed":
        result = _env_with_stdout(folder, workspace, subprocess.DEVNULL, _close_stdout)
    elif how == "broken pipe":
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            result = _env_with_stdout(folder, workspace, write_end)
        finally:
            os.close(write_end)
    else:
        with Path("/dev/full").open("wb") as full:
            result = _env_with_stdout(folder, workspace, full.fileno())
    assert result.returncode == 1, result.stderr
    assert "injector: error: cannot write the exports to stdout" in result.stderr
    assert "internal error" not in result.stderr and "Exception ignored" not in result.stderr
    assert not folder.exists()


def test_an_existing_folder_is_kept_but_emptied_of_our_files(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    folder.chmod(0o700)
    (folder / "mine.txt").write_text("kept")
    with Path("/dev/full").open("wb") as full:
        result = _env_with_stdout(folder, workspace, full.fileno())
    assert result.returncode == 1
    assert sorted(p.name for p in folder.iterdir()) == ["mine.txt"]


def test_env_to_a_working_stdout_still_works(workspace: dict[str, str], tmp_path: Path) -> None:
    result = run_injector("env", "--dir", str(tmp_path / "d"), env=workspace)
    assert result.returncode == 0 and "AWS_WEB_IDENTITY_TOKEN_FILE" in result.stdout
