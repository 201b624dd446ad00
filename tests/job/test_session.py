"""The job session's guarantee: on every way out (an exception, a signal, a failed command, an
output nobody received) the token files go and each Vault lease is revoked exactly once; an
output that was committed (`keep`) leaves both to the job."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from injector.job import pipeline
from injector.job.session import JobSession, Upkeep
from tests.e2e.test_vault_login import bao, vault_workspace  # noqa: F401 (fixtures)
from tests.support.openbao import OpenBao

if TYPE_CHECKING:
    from collections.abc import Iterator

pytest_plugins = ["tests.standins.fixtures"]

REVOKED = "revoked the "
FILES = ["aws.jwt", "azure.jwt", "gcp-credentials.json", "gcp.jwt"]


def _prepared(env: dict[str, str]) -> pipeline.Prepared:
    prepared = pipeline.prepare(env)
    assert prepared is not None
    return prepared


class _Failure(Exception):
    pass


@pytest.mark.parametrize("failure", [_Failure, KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize("kept", [False, True], ids=["", "after-keep"])
def test_a_failure_inside_the_session_removes_the_folder_it_made(
    workspace: dict[str, str], tmp_path: Path, failure: type[BaseException], kept: bool
) -> None:
    folder = tmp_path / "made" / "creds"
    with pytest.raises(failure), JobSession(_prepared(workspace), folder) as session:
        assert sorted(p.name for p in folder.iterdir()) == FILES
        if kept:
            session.keep()
        raise failure()
    assert not (tmp_path / "made").exists()  # the parent made for it too


def test_a_kept_session_leaves_its_files_and_drops_its_lock(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "creds"
    with JobSession(_prepared(workspace), folder) as session:
        session.keep()
    assert sorted(p.name for p in folder.iterdir()) == FILES
    with JobSession(_prepared(workspace), folder):  # a second job may now use the folder
        pass
    assert list(folder.iterdir()) == []


def test_in_a_folder_of_the_users_only_the_sessions_files_go(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "creds"
    folder.mkdir(mode=0o700)
    (folder / "mine.txt").write_text("kept")
    with pytest.raises(_Failure), JobSession(_prepared(workspace), folder):
        raise _Failure
    assert [p.name for p in folder.iterdir()] == ["mine.txt"]


def test_the_upkeep_threads_end_with_the_session(workspace: dict[str, str], tmp_path: Path) -> None:
    import threading

    before = set(threading.enumerate())
    upkeep = Upkeep(refresh_interval=3600, token_endpoint=True)
    with pytest.raises(_Failure), JobSession(_prepared(workspace), None, upkeep=upkeep) as session:
        folder = session.plan.folder
        assert "ARM_OIDC_REQUEST_URL" in session.exports  # the endpoint is up
        raise _Failure
    assert set(threading.enumerate()) <= before
    assert not folder.exists()


# --- Vault leases, against a real OpenBao --------------------------------------------------------


def _accessors(server: OpenBao) -> set[str]:
    answer = server.api("LIST", "auth/token/accessors")
    assert answer.is_success, answer.text
    return set(answer.json()["data"]["keys"])


@pytest.fixture
def leases(bao: OpenBao) -> Iterator[set[str]]:  # noqa: F811
    """The token accessors before the test; after it, no lease may remain beyond them."""
    before = _accessors(bao)
    yield before
    assert _accessors(bao) <= before


def test_an_exception_in_process_revokes_the_lease_once(
    vault_workspace: dict[str, str],  # noqa: F811
    leases: set[str],
    bao: OpenBao,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        caplog.at_level(logging.INFO, logger="injector"),
        pytest.raises(_Failure),
        JobSession(_prepared(vault_workspace), tmp_path / "job") as session,
    ):
        assert "VAULT_TOKEN" in session.secrets
        assert _accessors(bao) - leases  # the login is real
        raise _Failure
    assert caplog.text.count(REVOKED) == 1
    assert not (tmp_path / "job").exists()


def _injector(
    *args: str, env: dict[str, str], stdout: int | None = None, start_new_session: bool = False
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "injector", *args],
        env={"PATH": os.environ["PATH"], "INJECTOR_LOG_LEVEL": "info", **env},
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=start_new_session,
    )


def test_env_whose_stdout_is_broken_revokes_the_lease_once(
    vault_workspace: dict[str, str],  # noqa: F811
    leases: set[str],
    tmp_path: Path,
) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        process = _injector(
            "env", "--dir", str(tmp_path / "job"), env=vault_workspace, stdout=write_end
        )
    finally:
        os.close(write_end)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    assert "cannot write the exports to stdout" in stderr
    assert stderr.count(REVOKED) == 1
    assert not (tmp_path / "job").exists()


def test_a_failed_command_revokes_the_lease_once(
    vault_workspace: dict[str, str],  # noqa: F811
    leases: set[str],
    tmp_path: Path,
) -> None:
    process = _injector(
        "run", "--dir", str(tmp_path / "job"), "--", "sh", "-c", "exit 3", env=vault_workspace
    )
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 3, stderr
    assert stderr.count(REVOKED) == 1
    assert not (tmp_path / "job").exists()


def test_a_signal_to_run_revokes_the_lease_once(
    vault_workspace: dict[str, str],  # noqa: F811
    leases: set[str],
    tmp_path: Path,
) -> None:
    folder = tmp_path / "job"
    started = tmp_path / "started"
    script = f"touch {started} && exec sleep 60"
    process = _injector(
        "run",
        "--dir",
        str(folder),
        "--",
        "sh",
        "-c",
        script,
        env=vault_workspace,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), process.stderr.read() if process.stderr else ""
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:  # the command too: it is in injector's process group
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert stderr.count(REVOKED) == 1
    assert not folder.exists()
