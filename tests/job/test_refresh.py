"""The refresher: its schedule, and what it does when a refresh fails."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import jwt
import pytest

from injector import files
from injector.clouds import azure
from injector.job import pipeline, refresh
from injector.job.session import JobSession
from tests.support import jobs


def test_interval_is_half_the_lifetime() -> None:
    assert refresh.interval_for(1800, ()) == 900


def test_azure_readers_keep_a_copy_for_ten_minutes_so_refresh_comes_sooner() -> None:
    # A 20-minute token: half-life 600 s, but a copy read just before a refresh at 600 s would
    # be used until 1200 s, the very moment it expires. 540 s leaves a minute to spare.
    assert refresh.interval_for(1200, (azure.TOKEN_FILE_CACHE,)) == 540
    # A 30-minute token: half-life (900 s) is already early enough (1800 - 900 - 600 = 300).
    assert refresh.interval_for(1800, (azure.TOKEN_FILE_CACHE,)) == 900


def test_a_lifetime_too_short_for_azure_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="injector"):
        assert refresh.interval_for(600, (azure.TOKEN_FILE_CACHE,)) == 300
    assert "too short for azure-identity" in caplog.text


def _prepared(workspace: dict[str, str]) -> pipeline.Prepared:
    prepared = pipeline.prepare(workspace)
    assert prepared is not None
    return prepared


def _claims(path: Path) -> dict[str, object]:
    return dict(jwt.decode(path.read_text(), options={"verify_signature": False}))


def test_refresh_once_mints_at_the_clock_and_keeps_other_files(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    prepared = _prepared(workspace)
    fake_now = 2_000_000_000
    with JobSession(prepared, tmp_path / "d") as session:
        credentials = (tmp_path / "d" / "gcp-credentials.json").read_bytes()
        refresher = refresh.Refresher(prepared, session.folder, 60, clock=lambda: fake_now)
        refresher.refresh_once()
        for cloud in ("aws", "azure", "gcp"):
            claims = _claims(tmp_path / "d" / f"{cloud}.jwt")
            assert claims["iat"] == fake_now
            assert claims["exp"] == fake_now + 30 * 60
        assert (tmp_path / "d" / "gcp-credentials.json").read_bytes() == credentials
    assert refresher.refreshes == 1


@pytest.mark.parametrize("how", jobs.SWAPS)
def test_a_refresh_lands_in_the_held_folder_whatever_its_name_now_leads_to(
    workspace: dict[str, str], tmp_path: Path, how: str
) -> None:
    prepared = _prepared(workspace)
    fake_now = 2_000_000_000
    with JobSession(prepared, tmp_path / "d") as session:
        inode = (tmp_path / "d").stat().st_ino
        held, impostor = jobs.swap_away(tmp_path / "d", how)
        refresh.Refresher(prepared, session.folder, 60, clock=lambda: fake_now).refresh_once()
        assert held.stat().st_ino == inode
        for cloud in ("aws", "azure", "gcp"):
            assert _claims(held / f"{cloud}.jwt")["iat"] == fake_now
        assert list(impostor.iterdir()) == []


def test_a_refresh_after_the_job_ended_is_refused_and_writes_nothing(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    """A tick racing the end of the job: the folder is let go, and the name is not tried."""
    prepared = _prepared(workspace)
    with JobSession(prepared, tmp_path / "d") as session:
        session.keep()  # the files stay, as `env` leaves them, so a write would show
    before = {path.name: path.read_bytes() for path in (tmp_path / "d").iterdir()}
    refresher = refresh.Refresher(prepared, session.folder, 60, clock=lambda: 2_000_000_000)
    with pytest.raises(files.FolderReleased):
        refresher.refresh_once()
    assert {path.name: path.read_bytes() for path in (tmp_path / "d").iterdir()} == before
    assert refresher.refreshes == 0


def test_a_failed_refresh_is_reported_retried_and_leaves_no_partial_file(
    workspace: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    prepared = _prepared(workspace)
    folder = tmp_path / "d"
    with JobSession(prepared, folder) as session:
        # A folder where a token file was: rename cannot replace it, a real failure.
        (folder / "aws.jwt").unlink()
        (folder / "aws.jwt").mkdir()
        refresher = refresh.Refresher(prepared, session.folder, interval=0.05, retry=0.05)
        with caplog.at_level(logging.WARNING, logger="injector"):
            refresher.start()
            deadline = time.monotonic() + 10
            while refresher.failures < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert refresher.failures >= 2
            # Take it away: the next retry succeeds.
            (folder / "aws.jwt").rmdir()
            while refresher.refreshes < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            refresher.stop()
        assert refresher.refreshes >= 1
        assert "token refresh failed" in caplog.text and "retrying" in caplog.text
        names = sorted(p.name for p in folder.iterdir())
        assert names == ["aws.jwt", "azure.jwt", "gcp-credentials.json", "gcp.jwt"]  # no .tmp


def test_stop_ends_the_thread_promptly(workspace: dict[str, str], tmp_path: Path) -> None:
    prepared = _prepared(workspace)
    with JobSession(prepared, tmp_path / "d") as session:
        refresher = refresh.Refresher(prepared, session.folder, interval=3600)
        refresher.start()
        started = time.monotonic()
        refresher.stop()
        assert time.monotonic() - started < 5
    assert refresher.refreshes == 0
