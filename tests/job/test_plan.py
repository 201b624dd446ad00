"""The pure core: settings and a key in; tokens, files and exports out; nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest

from injector.config import signing_keys
from injector.job import plan, settings
from injector.job.key_minter import KeyFileMinter
from tests.conftest import KeyFiles

NOW = 1_700_000_000
AUDIENCES = {
    "aws": "aws.workload.identity",
    "azure": "api://AzureADTokenExchange",
    "gcp": "https://iam.googleapis.com/projects/123456789012/locations/global/"
    "workloadIdentityPools/terrakube/providers/terrakube",
}


def _plan(env: dict[str, str], folder: Path) -> plan.Plan:
    loaded = settings.load(env)
    assert loaded is not None
    assert loaded.issuer is not None
    return plan.build(
        loaded, KeyFileMinter(signing_keys.load(loaded.issuer), loaded.issuer), folder, NOW
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "creds"


def test_one_token_per_cloud(workspace: dict[str, str], folder: Path) -> None:
    built = _plan(workspace, folder)
    assert built.folder == folder
    assert [c.config.name for c in built.clouds] == ["aws", "azure", "gcp"]
    for cloud in built.clouds:
        assert cloud.token_file == folder / f"{cloud.config.name}.jwt"
        assert cloud.token.claims["aud"] == AUDIENCES[cloud.config.name]
        assert cloud.token.claims["aud"] == cloud.config.audience


def test_distinct_jti_and_aud(workspace: dict[str, str], folder: Path) -> None:
    built = _plan(workspace, folder)
    assert len({c.token.claims["jti"] for c in built.clouds}) == 3
    assert len({c.token.claims["aud"] for c in built.clouds}) == 3
    assert len({c.token.compact for c in built.clouds}) == 3


def test_tokens_verify_with_shared_claims(
    workspace: dict[str, str], folder: Path, key_files: KeyFiles
) -> None:
    public_key = key_files.public.read_bytes()  # pyjwt loads PEM itself
    for cloud in _plan({**workspace, "DynamicCredentialTtl": "45"}, folder).clouds:
        claims = jwt.decode(
            cloud.token.compact,
            public_key,
            algorithms=["RS256"],
            audience=AUDIENCES[cloud.config.name],
            issuer="https://terrakube-api.example.com",
            options={"verify_exp": False, "verify_iat": False},
        )
        assert claims == cloud.token.claims
        assert claims["sub"] == "organization:simple:workspace:simple-cli"
        assert claims["iat"] == NOW
        assert claims["exp"] == NOW + 45 * 60


def test_files_in_folder_and_token_bytes_exact(workspace: dict[str, str], folder: Path) -> None:
    built = _plan(workspace, folder)
    files = built.files
    assert sorted(p.name for p in files) == [
        "aws.jwt",
        "azure.jwt",
        "gcp-credentials.json",
        "gcp.jwt",
    ]
    assert all(path.parent == folder for path in files)
    for cloud in built.clouds:
        data = files[cloud.token_file]
        assert data == cloud.token.compact.encode("ascii")
        assert not data.endswith(b"\n")
        assert data == data.strip()
        assert data.count(b".") == 2


def test_gcp_credentials_point_at_the_gcp_token(workspace: dict[str, str], folder: Path) -> None:
    document = json.loads(_plan(workspace, folder).files[folder / "gcp-credentials.json"])
    assert document["credential_source"]["file"] == str(folder / "gcp.jwt")


def test_exports_merged(workspace: dict[str, str], folder: Path) -> None:
    built = _plan(workspace, folder)
    merged: dict[str, str] = {}
    for cloud in built.clouds:
        assert not set(cloud.outputs.exports) & set(merged)  # no cloud overwrites another
        merged.update(cloud.outputs.exports)
    assert built.exports == merged
    assert built.exports["AWS_WEB_IDENTITY_TOKEN_FILE"] == str(folder / "aws.jwt")
    assert built.exports["AZURE_FEDERATED_TOKEN_FILE"] == str(folder / "azure.jwt")
    assert built.exports["ARM_OIDC_TOKEN_FILE_PATH"] == str(folder / "azure.jwt")
    assert built.exports["GOOGLE_APPLICATION_CREDENTIALS"] == str(folder / "gcp-credentials.json")


def test_only_enabled_clouds(workspace: dict[str, str], folder: Path) -> None:
    env = {
        **workspace,
        "ENABLE_DYNAMIC_CREDENTIALS_AWS": "no",
        "ENABLE_DYNAMIC_CREDENTIALS_GCP": "0",
    }
    built = _plan(env, folder)
    assert [c.config.name for c in built.clouds] == ["azure"]
    assert list(built.files) == [folder / "azure.jwt"]
    assert not any(name.startswith(("AWS_", "GOOGLE_")) for name in built.exports)


def test_building_writes_nothing(workspace: dict[str, str], folder: Path) -> None:
    _plan(workspace, folder)
    assert not folder.exists()
