"""Class 7: `injector run`. The refresh interval is a real one (finite, at least a second,
below the token lifetime); a file that is not a program exits 126 with a short message; and a
second run given the same --dir is refused (the folder is locked), so it cannot delete the
first run's files when it ends."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_injector

WAIT_FOR_MARKER = "import os, sys, time\nwhile not os.path.exists(sys.argv[1]): time.sleep(0.05)\n"


@pytest.mark.parametrize("interval", ["nan", "inf", "-inf", "0", "0.5", "1800", "1e9"])
def test_a_refresh_interval_that_is_not_a_real_one_exits_2(
    workspace: dict[str, str], tmp_path: Path, interval: str
) -> None:
    # DynamicCredentialTtl is 30 minutes: 1800 s would let every token expire first.
    result = run_injector(
        "run",
        "--dir",
        str(tmp_path / "d"),
        f"--refresh-interval={interval}",  # `=`: argparse would take -inf for an option
        "--",
        "true",
        env=workspace,
    )
    assert result.returncode == 2, result.stderr
    assert "injector: error: --refresh-interval: " in result.stderr
    assert not (tmp_path / "d").exists()


def test_a_refresh_interval_is_reported_with_the_other_problems(
    workspace: dict[str, str],
) -> None:
    env = {**workspace, "organizationName": ""}
    result = run_injector("run", "--refresh-interval", "nan", "--", "true", env=env)
    assert result.returncode == 2
    assert "organizationName: " in result.stderr and "--refresh-interval: " in result.stderr


def test_the_shortest_interval_below_the_lifetime_runs(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    result = run_injector("run", "--refresh-interval", "1799", "--", "true", env=workspace)
    assert result.returncode == 0, result.stderr


def test_a_data_file_with_the_exec_bit_exits_126(workspace: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"\x00\x01\x02 not a program")
    data.chmod(0o755)
    # --quiet: the error is then all that stderr holds.
    command = ("run", "--quiet", "--dir", str(tmp_path / "d"), "--", str(data))
    result = run_injector(*command, env=workspace)
    assert result.returncode == 126, result.stderr
    assert result.stderr == f"injector: error: cannot run {data}: not a program\n"
    assert not (tmp_path / "d").exists()


def test_a_second_run_on_the_same_folder_is_refused_and_the_first_keeps_its_files(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    folder, marker = tmp_path / "d", tmp_path / "done"
    first = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "injector",
            "run",
            "--dir",
            str(folder),
            "--",
            sys.executable,
            "-c",
            WAIT_FOR_MARKER,
            str(marker),
        ],
        env={"PATH": os.environ["PATH"], **workspace},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (folder / "gcp.jwt").exists():
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        tokens = {path.name: path.read_bytes() for path in folder.iterdir()}
        second = run_injector("run", "--dir", str(folder), "--", "true", env=workspace)
        assert second.returncode == 2
        assert f"--dir: {folder} is in use by another injector process" in second.stderr
        also_env = run_injector("env", "--dir", str(folder), env=workspace)
        assert also_env.returncode == 2
        assert {path.name: path.read_bytes() for path in folder.iterdir()} == tokens
    finally:
        marker.touch()
        _, stderr = first.communicate(timeout=30)
    assert first.returncode == 0, stderr
    assert not folder.exists()  # the first run made it, and removed it
    # Once the first run is over, the folder can be used again.
    assert run_injector("run", "--dir", str(folder), "--", "true", env=workspace).returncode == 0
