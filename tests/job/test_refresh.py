"""The refresher: its schedule, and what it does when a refresh fails."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import jwt
import pytest

from injector.clouds import azure
from injector.job import pipeline, refresh
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


def test_refresh_once_mints_at_the_clock_and_keeps_other_files(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    prepared = _prepared(workspace)
    written = jobs.written(prepared, tmp_path / "d")
    credentials = (tmp_path / "d" / "gcp-credentials.json").read_bytes()
    fake_now = 2_000_000_000
    refresher = refresh.Refresher(prepared, written.folder, 60, clock=lambda: fake_now)
    refresher.refresh_once()
    for cloud in ("aws", "azure", "gcp"):
        claims = jwt.decode(
            (tmp_path / "d" / f"{cloud}.jwt").read_text(), options={"verify_signature": False}
        )
        assert claims["iat"] == fake_now
        assert claims["exp"] == fake_now + 30 * 60
    assert (tmp_path / "d" / "gcp-credentials.json").read_bytes() == credentials
    assert refresher.refreshes == 1


def test_a_failed_refresh_is_reported_retried_and_leaves_no_partial_file(
    workspace: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    prepared = _prepared(workspace)
    folder = tmp_path / "d"
    written = jobs.written(prepared, folder)
    saved = {path: path.read_bytes() for path in written.files}
    # Take the folder away: every write now fails for real.
    for path in saved:
        path.unlink()
    folder.rmdir()
    refresher = refresh.Refresher(prepared, folder, interval=0.05, retry=0.05)
    with caplog.at_level(logging.WARNING, logger="injector"):
        refresher.start()
        deadline = time.monotonic() + 10
        while refresher.failures < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert refresher.failures >= 2
        # Put it back: the next retry succeeds.
        folder.mkdir(mode=0o700)
        while refresher.refreshes < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        refresher.stop()
    assert refresher.refreshes >= 1
    assert "token refresh failed" in caplog.text and "retrying" in caplog.text
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["aws.jwt", "azure.jwt", "gcp.jwt"]  # no temporary file left behind


def test_stop_ends_the_thread_promptly(workspace: dict[str, str], tmp_path: Path) -> None:
    prepared = _prepared(workspace)
    written = jobs.written(prepared, tmp_path / "d")
    refresher = refresh.Refresher(prepared, written.folder, interval=3600)
    refresher.start()
    started = time.monotonic()
    refresher.stop()
    assert time.monotonic() - started < 5
    assert refresher.refreshes == 0
