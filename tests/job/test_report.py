"""The dry run's report: what would be minted, written and exported; never a token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from injector import clouds
from injector.config import signing_keys
from injector.job import plan, report, settings
from injector.job.example import EXAMPLE_ENV
from injector.job.key_minter import KeyFileMinter

NOW = 1_700_000_000
FOLDER = Path("/tmp/injector-dry-run")


def _report(
    env: dict[str, str], key: signing_keys.SigningKey | None = None
) -> tuple[str, plan.Plan]:
    loaded = settings.load(env, require_key=False)
    assert loaded is not None
    assert loaded.issuer is not None
    if key is None:
        key = signing_keys.load(loaded.issuer)
    minter = KeyFileMinter(key, loaded.issuer)
    built = plan.build(loaded, minter, FOLDER, NOW)
    return report.dry_run(loaded, minter.description, built, NOW), built


@pytest.fixture(scope="module")
def throwaway() -> signing_keys.SigningKey:
    return signing_keys.throwaway("03446895-220d-47e1-9564-4eeaa3691b42")


def test_header_lines(throwaway: signing_keys.SigningKey) -> None:
    text, _ = _report(dict(EXAMPLE_ENV), throwaway)
    assert "nothing is written" in text
    assert "https://terrakube-api.example.com" in text
    assert "organization:simple:workspace:simple-cli" in text
    assert "30 minutes" in text
    assert "2023-11-14 22:13:20 UTC" in text  # NOW
    assert "2023-11-14 22:43:20 UTC" in text  # NOW + 30 minutes
    assert str(FOLDER) in text


def test_throwaway_key_is_announced(throwaway: signing_keys.SigningKey) -> None:
    text, _ = _report(dict(EXAMPLE_ENV), throwaway)
    assert "throw-away" in text
    assert "DynamicCredentialPrivateKeyPath" in text


def test_configured_key_is_named(workspace: dict[str, str]) -> None:
    text, _ = _report(workspace)
    assert "throw-away" not in text
    assert workspace["DynamicCredentialPrivateKeyPath"] in text
    assert "RSA-2048" in text


def test_every_cloud_shows_header_claims_files_and_exports(
    throwaway: signing_keys.SigningKey,
) -> None:
    text, built = _report(dict(EXAMPLE_ENV), throwaway)
    assert len(built.clouds) == len(clouds.registered())
    for cloud in built.clouds:
        assert cloud.config.name in text
        assert json.dumps(cloud.token.header) in text
        for name, value in cloud.token.claims.items():
            assert f'"{name}": {json.dumps(value)}' in text
        for path in cloud.files:
            assert str(path) in text
        for name, value in cloud.outputs.exports.items():
            assert f"{name}={value}" in text


def test_gcp_credentials_document_is_shown(throwaway: signing_keys.SigningKey) -> None:
    text, built = _report(dict(EXAMPLE_ENV), throwaway)
    credentials = json.loads(built.files[FOLDER / "gcp-credentials.json"])
    assert credentials["service_account_impersonation_url"] in text
    assert '"type": "external_account"' in text


def test_files_beside_the_token_are_not_called_credentials(
    throwaway: signing_keys.SigningKey,
) -> None:
    """A CA, a kubeconfig or a credential configuration holds no secret: the report says who
    reads it, not "credentials"."""
    text, built = _report(dict(EXAMPLE_ENV), throwaway)
    beside = [path for cloud in built.clouds for path in cloud.files if path != cloud.token_file]
    assert beside
    for path in beside:
        assert f"{path}  (read by the cloud's tools, " in text


def test_only_enabled_clouds_are_shown(throwaway: signing_keys.SigningKey) -> None:
    env = {**EXAMPLE_ENV, "ENABLE_DYNAMIC_CREDENTIALS_AZURE": "false"}
    env["ENABLE_DYNAMIC_CREDENTIALS_GCP"] = "false"
    text, _ = _report(env, throwaway)
    assert "AWS_ROLE_ARN=" in text
    assert "ARM_CLIENT_ID" not in text
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in text


@pytest.mark.parametrize("kind", ["throwaway", "configured"])
def test_never_contains_a_token(
    workspace: dict[str, str], throwaway: signing_keys.SigningKey, kind: str
) -> None:
    if kind == "throwaway":
        text, built = _report(dict(EXAMPLE_ENV), throwaway)
    else:
        text, built = _report(workspace)
    for cloud in built.clouds:
        compact = cloud.token.compact
        header, payload, signature = compact.split(".")
        assert compact not in text
        assert f"{header}.{payload}" not in text
        assert payload not in text
        assert signature not in text
        assert signature[:32] not in text
