"""The lease keeper's fresh login (job/exchange.py), against a real OpenBao: what it writes goes
to the job's held folder whatever its name now leads to, and once the job has ended it writes
nothing and leaves no lease behind."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from injector.job import exchange, pipeline
from injector.job.session import JobSession
from tests.e2e.test_vault_login import bao, vault_workspace  # noqa: F401 (fixtures)
from tests.job.test_session import leases  # noqa: F401 (fixture: no lease outlives a test)
from tests.support import jobs
from tests.support.openbao import OpenBao

pytest_plugins = ["tests.standins.fixtures"]

TOKEN_FILE = "vault-token"


def _prepared(env: dict[str, str]) -> pipeline.Prepared:
    prepared = pipeline.prepare(env)
    assert prepared is not None
    return prepared


def _revoke_behind_the_jobs_back(server: OpenBao, token: str) -> None:
    """So that the keeper's renewal fails for real and it logs in afresh."""
    answer = server.api("POST", "auth/token/revoke-self", token=token)
    assert answer.is_success, answer.text


@pytest.mark.parametrize("how", jobs.SWAPS)
def test_a_fresh_login_lands_in_the_held_folder_whatever_its_name_now_leads_to(
    vault_workspace: dict[str, str],  # noqa: F811
    leases: set[str],  # noqa: F811
    bao: OpenBao,  # noqa: F811
    tmp_path: Path,
    how: str,
) -> None:
    prepared = _prepared(vault_workspace)
    with JobSession(prepared, tmp_path / "creds", exchanging=False) as session:
        exchanges = exchange.Exchanges()
        try:
            exchange.obtain(exchanges, session.plan, session.folder)
            first = (tmp_path / "creds" / TOKEN_FILE).read_text()
            inode = (tmp_path / "creds").stat().st_ino
            held, impostor = jobs.swap_away(tmp_path / "creds", how)
            _revoke_behind_the_jobs_back(bao, first)
            keeper = exchange.Keeper(exchanges, prepared, session.folder)
            keeper.renew_once(0)
            assert keeper.logins == 1
            assert held.stat().st_ino == inode
            fresh = (held / TOKEN_FILE).read_text()
            assert fresh != first
            assert bao.api("GET", "auth/token/lookup-self", token=fresh).is_success
            assert list(impostor.iterdir()) == []
        finally:
            exchanges.undo(session.folder)


def test_a_fresh_login_after_the_job_ended_writes_nothing_and_is_revoked(
    vault_workspace: dict[str, str],  # noqa: F811
    leases: set[str],  # noqa: F811
    bao: OpenBao,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A renewal racing the end of the job: the folder is let go, so the new credential cannot
    reach anyone; it is refused, not written by name, and its lease ends at once."""
    prepared = _prepared(vault_workspace)
    exchanges = exchange.Exchanges()
    with JobSession(prepared, tmp_path / "creds", exchanging=False) as session:
        session.keep()  # the files stay, so a write would show
        exchange.obtain(exchanges, session.plan, session.folder)
        keeper = exchange.Keeper(exchanges, prepared, session.folder)
    first = (tmp_path / "creds" / TOKEN_FILE).read_text()
    before = {path.name: path.read_bytes() for path in (tmp_path / "creds").iterdir()}
    _revoke_behind_the_jobs_back(bao, first)
    with caplog.at_level(logging.INFO, logger="injector"):
        keeper.renew_once(0)
    assert keeper.logins == 0
    assert "cannot write the fresh login's files (the job has ended and released its folder)" in (
        caplog.text
    )
    assert caplog.text.count("revoked the ") == 1  # the fresh login's; `leases` checks it
    assert {path.name: path.read_bytes() for path in (tmp_path / "creds").iterdir()} == before
