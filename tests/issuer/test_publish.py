"""`injector publish DIR`: the documents as files, served by a real nginx exactly as `serve`
serves them."""

from __future__ import annotations

import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from injector.config import issuer_settings
from injector.issuer import discovery
from injector.job.example import EXAMPLE_ENV
from tests.conftest import run_injector
from tests.support import issuers
from tests.support.jobs import minted_for, refusing, switched_off

HOST = issuers.ISSUER_HOST
ISSUER = f"https://{HOST}"
PATHS = (discovery.DISCOVERY_PATH, discovery.JWKS_PATH)
AUDIENCES = {
    "aws.jwt": "aws.workload.identity",
    "azure.jwt": "api://AzureADTokenExchange",
    "gcp.jwt": "https:" + EXAMPLE_ENV["WORKLOAD_IDENTITY_AUDIENCE_GCP"],
    "kubernetes.jwt": EXAMPLE_ENV["WORKLOAD_IDENTITY_AUDIENCE_KUBERNETES"],
}
# name -> (kid, key folder, algorithm): the signing key and two published beside it.
SIGNERS = {
    "RS256": ("rsa-256", "rsa", "RS256"),
    "ES256": ("ec-256", "ec", "ES256"),
    "RS512": ("rsa-512", "rsa512", "RS512"),
}


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return issuers.make_issuer_keys(tmp_path_factory.mktemp("publish-keys"))


@pytest.fixture(scope="module")
def issuer_env(keys_dir: Path) -> dict[str, str]:
    return issuers.issuer_environment(keys_dir)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, issuer_env: dict[str, str]) -> Path:
    folder = tmp_path_factory.mktemp("site")
    result = run_injector("publish", str(folder), env=issuer_env)
    assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture(scope="module")
def nginx(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[issuers.Server]:
    with issuers.nginx(site, tmp_path_factory.mktemp("nginx"), max_age=300) as running:
        yield running


@pytest.fixture(scope="module")
def serve(issuer_env: dict[str, str]) -> Iterator[issuers.Server]:
    with issuers.injector_serve(issuer_env) as running:
        yield running


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# the files


def test_publish_writes_the_two_documents(
    site: Path, issuer_env: dict[str, str], tmp_path: Path
) -> None:
    well_known = site / ".well-known"
    assert sorted(p.name for p in well_known.iterdir()) == ["jwks", "openid-configuration"]
    assert _mode(well_known) == 0o755
    for command, name in (("jwks", "jwks"), ("discovery", "openid-configuration")):
        assert _mode(well_known / name) == 0o644
        printed = run_injector(command, env=issuer_env)
        assert (well_known / name).read_bytes() == printed.stdout.encode()


def test_publish_says_what_it_wrote(issuer_env: dict[str, str], tmp_path: Path) -> None:
    result = run_injector("publish", str(tmp_path / "new" / "site"), env=issuer_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"wrote {tmp_path}/new/site/.well-known/openid-configuration",
        f"wrote {tmp_path}/new/site/.well-known/jwks",
    ]


def test_republishing_replaces_in_place(
    issuer_env: dict[str, str], keys_dir: Path, tmp_path: Path
) -> None:
    env = {
        key: value for key, value in issuer_env.items() if key != issuer_settings.ADDITIONAL_KEYS
    }
    assert run_injector("publish", str(tmp_path), env=env).returncode == 0
    before = (tmp_path / ".well-known/jwks").read_bytes()
    assert run_injector("publish", str(tmp_path), env=issuer_env).returncode == 0
    after = (tmp_path / ".well-known/jwks").read_bytes()
    assert before.count(b'"kid"') == 1
    assert after.count(b'"kid"') == 3
    # No temporary file left beside the documents.
    assert sorted(p.name for p in (tmp_path / ".well-known").iterdir()) == [
        "jwks",
        "openid-configuration",
    ]


def test_publish_into_a_file_fails_with_exit_1(issuer_env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    result = run_injector("publish", str(target), env=issuer_env)
    assert result.returncode == 1
    assert "injector: error: cannot publish into" in result.stderr


def test_publish_needs_a_folder_and_the_configuration(tmp_path: Path) -> None:
    usage = run_injector("publish", env={})
    assert usage.returncode == 2
    result = run_injector("publish", str(tmp_path / "site"), env={issuer_settings.HOSTNAME: HOST})
    assert result.returncode == 2
    assert f"error: {issuer_settings.PUBLIC_KEY_PATH}: is required" in result.stderr
    assert not (tmp_path / "site").exists()


# nginx serving the published folder


@pytest.mark.parametrize("path", PATHS)
def test_nginx_serves_the_documents_as_json(nginx: issuers.Server, site: Path, path: str) -> None:
    status, headers, body = issuers.fetch(nginx.base + path)
    assert status == 200
    assert body == (site / path.lstrip("/")).read_bytes()
    assert headers["content-type"] == "application/json"
    assert headers["cache-control"] == "public, max-age=300"


@pytest.mark.parametrize("path", PATHS)
def test_nginx_and_serve_give_identical_documents(
    nginx: issuers.Server, serve: issuers.Server, path: str
) -> None:
    from_nginx = issuers.fetch(nginx.base + path)
    from_serve = issuers.fetch(serve.base + path)
    assert from_nginx[0] == from_serve[0] == 200
    assert from_nginx[2] == from_serve[2]
    assert from_nginx[1]["content-type"] == from_serve[1]["content-type"]


@pytest.mark.parametrize("algorithm", list(SIGNERS))
def test_every_token_verifies_against_both_servers(
    nginx: issuers.Server, serve: issuers.Server, keys_dir: Path, tmp_path: Path, algorithm: str
) -> None:
    kid, key, _ = SIGNERS[algorithm]
    env = {
        **EXAMPLE_ENV,
        "ENABLE_DYNAMIC_CREDENTIALS_VAULT": "false",  # its login needs a Vault server
        **switched_off("vault_backed_aws"),  # the same login
        issuer_settings.KEY_ID: kid,
        issuer_settings.PRIVATE_KEY_PATH: str(keys_dir / key / "private.pem"),
        issuer_settings.ALGORITHM: algorithm,
        **refusing(algorithm),
    }
    folder = tmp_path / "creds"
    result = run_injector("env", "--dir", str(folder), "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    tokens = {path.name: path.read_text() for path in folder.glob("*.jwt")}
    assert sorted(tokens) == minted_for(algorithm, AUDIENCES)
    for base in (nginx.base, serve.base):
        config = issuers.fetch_json(base + discovery.DISCOVERY_PATH)
        assert config["jwks_uri"] == ISSUER + discovery.JWKS_PATH
        assert algorithm in config["id_token_signing_alg_values_supported"]
        jwks = issuers.fetch_json(base + discovery.JWKS_PATH)
        for name, token in tokens.items():
            claims = issuers.verify(token, jwks, audience=AUDIENCES[name], issuer=ISSUER)
            assert claims["iss"] == ISSUER


def test_nginx_missing_is_a_clear_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """No skip when nginx is absent: the fixture fails saying how to install it."""
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    with pytest.raises(RuntimeError, match="apt-get install -y --no-install-recommends nginx"):
        issuers.nginx_binary()
