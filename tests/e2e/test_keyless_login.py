"""End to end without a key in the job: a GitHub-shaped platform token, the signer's HTTPS
exchange, `injector env` as uid nobody, then each cloud's real SDK logging in through its
strict stand-in with nothing but the exports (as tests/e2e/test_login_strict.py does with a
key file)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from injector.job.example import EXAMPLE_ENV
from tests.conftest import KeyFiles
from tests.e2e.test_login_strict import CLOUDS, _login, _only
from tests.standins.platforms import AUDIENCE, Platforms, github_table
from tests.support import signer as support

if TYPE_CHECKING:
    from tests.standins.fixtures import StandIns

pytest_plugins = ["tests.standins.fixtures", "tests.standins.platform_fixtures"]

CONTEXT = ("organizationName", "workspaceName", "organizationId", "workspaceId", "jobId")


@pytest.fixture
def endpoint(
    key_files: KeyFiles, standins: StandIns, platforms: Platforms
) -> Iterator[tuple[str, Path]]:
    """The signer (the operator's key, the issuer the clouds trust) and a folder for the job."""
    policy = (
        github_table(platforms.github.url, platforms.ca_file)
        + '[[allow]]\nattestation = "github"\n'
        + 'subjects = ["organization:simple:workspace:simple-cli"]\n'
    )
    tls = standins.tls
    with support.keyless_endpoint(
        key_files.private_pkcs8,
        standins.issuer.url,
        policy,
        ca_file=tls.ca_file,
        certfile=tls.certfile,
        keyfile=tls.keyfile,
    ) as (_, url, folder):
        support.owned_by(folder / "job", support.NOBODY)
        yield url, folder


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_keyless_job_logs_in_with_each_sdk(
    cloud: str,
    endpoint: tuple[str, Path],
    strict_workspace: dict[str, str],
    standins: StandIns,
    platforms: Platforms,
    tmp_path: Path,
) -> None:
    url, folder = endpoint
    token = platforms.github.github(
        AUDIENCE,
        repository="simple/simple-cli",
        repository_owner="simple",
        repository_owner_id=EXAMPLE_ENV["organizationId"],
        repository_id=EXAMPLE_ENV["workspaceId"],
        run_id=EXAMPLE_ENV["jobId"],
    )
    token_file = folder / "job" / "platform.jwt"
    token_file.write_text(token)
    shutil.chown(token_file, support.NOBODY, support.NOBODY)
    job_env = {
        name: value
        for name, value in _only(cloud, strict_workspace).items()
        if not name.startswith("DynamicCredential") and name not in CONTEXT
    }
    job_env |= {
        "DynamicCredentialSigner": url,
        "DynamicCredentialSignerCA": str(folder / "ca.pem"),
        "INJECTOR_SUBJECT_TOKEN_FILE": str(token_file),
    }
    job = support.job_as(
        support.NOBODY,
        ["env", "--dir", str(folder / "job" / "creds"), "--format", "json"],
        job_env,
    )
    assert job.returncode == 0, job.stderr
    outcome = _login(cloud, json.loads(job.stdout), standins, tmp_path / "home")
    assert outcome["ok"] is True, outcome
    if cloud == "aws":
        assert str(outcome["arn"]).endswith("/terrakube-simple-simple-cli-1")
