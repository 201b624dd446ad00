"""Vault dynamic credentials against a real OpenBao server (`bao server -dev -dev-tls`): the
JWT auth method fetches the issuer's keys from `injector serve` over TLS (or holds the public
PEM), and a client fed only what injector exports reads a secret only the role may read.

Each failure row checks Vault's own message, exit 1, and that nothing is left behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from injector.clouds import vault
from injector.job import pipeline
from tests.conftest import KeyFiles, run_injector
from tests.support import openbao
from tests.support.openbao import OpenBao

if TYPE_CHECKING:
    from tests.standins.fixtures import StandIns

pytest_plugins = ["tests.standins.fixtures"]

# The job's client: only the standard library and what `injector run` exported. It reads the
# secret with VAULT_TOKEN, optionally again after a pause, and with the token file's token.
CLIENT = """
import json, os, ssl, sys, time, urllib.request, urllib.error
context = ssl.create_default_context(cafile=os.environ["VAULT_CACERT"])
def call(path, token):
    request = urllib.request.Request(os.environ["VAULT_ADDR"] + "/v1/" + path,
                                     headers={"X-Vault-Token": token})
    try:
        with urllib.request.urlopen(request, context=context) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as error:
        return {"errors": json.load(error)["errors"], "status": error.code}
token = os.environ["VAULT_TOKEN"]
seen = {"first": call(sys.argv[1], token)["data"]["data"],
        "self": call("auth/token/lookup-self", token)["data"]}
if len(sys.argv) > 2:
    time.sleep(float(sys.argv[2]))
    seen["later"] = call(sys.argv[1], token)
    with open(os.environ["INJECTOR_VAULT_TOKEN_FILE"]) as file:
        seen["from_file"] = call(sys.argv[1], file.read())
print(json.dumps({"secret": seen["first"], "accessor": seen["self"]["accessor"],
                  "ttl": seen["self"]["ttl"], "later": seen.get("later"),
                  "from_file": seen.get("from_file"),
                  "env_has": sorted(k for k in os.environ if k.startswith("VAULT"))}))
"""


@pytest.fixture(scope="module")
def bao(
    tmp_path_factory: pytest.TempPathFactory, standins: StandIns, key_files: KeyFiles
) -> Iterator[OpenBao]:
    server = openbao.start(tmp_path_factory.mktemp("openbao"))
    try:
        openbao.configure(
            server,
            standins.issuer.url,
            standins.tls.ca.cert_pem.bytes().decode(),
            key_files.public.read_text(),
        )
        yield server
    finally:
        server.stop()


@pytest.fixture
def vault_workspace(workspace: dict[str, str], standins: StandIns, bao: OpenBao) -> dict[str, str]:
    """The example workspace with only Vault enabled, on the OpenBao server."""
    return {
        **workspace,
        "DynamicCredentialHostname": standins.issuer.url,
        "ENABLE_DYNAMIC_CREDENTIALS_AWS": "false",
        "ENABLE_DYNAMIC_CREDENTIALS_AZURE": "false",
        "ENABLE_DYNAMIC_CREDENTIALS_GCP": "false",
        vault.ENABLE: "true",
        vault.ADDRESS: bao.address,
        vault.CA_CERT: str(bao.ca_file),
        vault.ROLE: openbao.ROLE,
    }


def _run(env: dict[str, str], folder: Path, *client_args: str) -> subprocess.CompletedProcess[str]:
    return run_injector(
        "run",
        "--dir",
        str(folder),
        "--",
        sys.executable,
        "-c",
        CLIENT,
        openbao.SECRET_PATH,
        *client_args,
        env=env,
    )


@pytest.mark.parametrize("mount", [openbao.JWKS_MOUNT, openbao.PEM_MOUNT])
def test_run_gives_the_command_a_token_that_reads_the_secret_then_revokes_it(
    vault_workspace: dict[str, str], bao: OpenBao, tmp_path: Path, mount: str
) -> None:
    env = {**vault_workspace, vault.AUTH_PATH: mount}
    result = _run(env, tmp_path / "job")
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["secret"] == openbao.SECRET
    assert seen["env_has"] == ["VAULT_ADDR", "VAULT_CACERT", "VAULT_TOKEN"]
    # Revoked when the command ended, and the folder is gone.
    assert not openbao.accessor_exists(bao, seen["accessor"])
    assert not (tmp_path / "job").exists()


def test_renewal_keeps_the_token_alive_past_its_ttl(
    vault_workspace: dict[str, str], bao: OpenBao, tmp_path: Path
) -> None:
    # token_ttl 4 s, token_max_ttl 7 s: renewed at 2 s and 4 s, then capped, so the keeper
    # logs in afresh into the token file; the command's VAULT_TOKEN ends at 7 s.
    env = {**vault_workspace, vault.ROLE: openbao.SHORT_ROLE, "INJECTOR_LOG_LEVEL": "info"}
    result = _run(env, tmp_path / "job", "5")
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["ttl"] <= 4
    # At 5 s the first token, 4 s TTL, still reads: it was renewed.
    assert seen["later"]["data"]["data"] == openbao.SECRET
    assert "renewed the Vault token" in result.stderr
    assert not openbao.accessor_exists(bao, seen["accessor"])


def test_near_max_ttl_a_fresh_login_reaches_the_token_file_only(
    vault_workspace: dict[str, str], bao: OpenBao, tmp_path: Path
) -> None:
    env = {**vault_workspace, vault.ROLE: openbao.SHORT_ROLE, "INJECTOR_LOG_LEVEL": "info"}
    result = _run(env, tmp_path / "job", "9")
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    # Past token_max_ttl (7 s) the environment's token is dead; the file's is a new one.
    assert seen["later"]["status"] == 403
    assert seen["later"]["errors"] == ["permission denied"]
    assert seen["from_file"]["data"]["data"] == openbao.SECRET
    assert "reached its maximum TTL" in result.stderr


def test_hook_writes_the_token_into_terrakubes_env_file_and_a_token_file(
    vault_workspace: dict[str, str], bao: OpenBao, tmp_path: Path
) -> None:
    working = tmp_path / "work"
    working.mkdir()
    env = {**vault_workspace, "workingDirectory": str(working)}
    result = run_injector("hook", env=env)
    assert result.returncode == 0, result.stderr
    env_file = working / ".terrakube_temp_env"
    assert env_file.stat().st_mode & 0o777 == 0o600
    loaded = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    token_file = working / ".terraform" / "injector" / "vault-token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert loaded["VAULT_TOKEN"] == token_file.read_text()
    assert loaded["INJECTOR_VAULT_TOKEN_FILE"] == str(token_file)
    assert loaded["VAULT_ADDR"] == bao.address
    assert loaded["VAULT_TOKEN"] not in result.stdout + result.stderr
    answer = bao.api("GET", openbao.SECRET_PATH, token=loaded["VAULT_TOKEN"])
    assert answer.json()["data"]["data"] == openbao.SECRET
    # The next phase's hook: its VAULT_TOKEN replaces this one, not a static token it refuses.
    again = run_injector("hook", env=env)
    assert again.returncode == 0, again.stderr
    lines = env_file.read_text().splitlines()
    assert [line.split("=", 1)[0] for line in lines].count("VAULT_TOKEN") == 1
    assert f"VAULT_TOKEN={token_file.read_text()}" in lines


def test_env_prints_the_token_into_a_file_but_not_into_a_pipe(
    vault_workspace: dict[str, str], tmp_path: Path
) -> None:
    piped = run_injector(
        "env", "--dir", str(tmp_path / "a"), "--format", "json", env=vault_workspace
    )
    assert piped.returncode == 0, piped.stderr
    exports = json.loads(piped.stdout)
    assert "VAULT_TOKEN" not in exports
    token = Path(exports["INJECTOR_VAULT_TOKEN_FILE"]).read_text()
    assert token and token not in piped.stderr
    assert "not printing VAULT_TOKEN" in piped.stderr

    out = tmp_path / "job.env"
    with out.open("w") as stream:
        written = subprocess.run(
            [sys.executable, "-m", "injector", "env", "--dir", str(tmp_path / "b")],
            env={"PATH": os.environ["PATH"], **vault_workspace},
            stdout=stream,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    assert written.returncode == 0, written.stderr
    token_b = (tmp_path / "b" / "vault-token").read_text()
    assert f"export VAULT_TOKEN={token_b}\n" in out.read_text()
    assert token_b not in written.stderr


# --- refusals: Vault's own message, exit 1, nothing exported, nothing left ----------------------

REFUSALS = {
    "wrong audience": (
        {vault.AUDIENCE: "sts.amazonaws.com"},
        "invalid audience (aud) claim",
    ),
    "wrong workspace": (
        {"workspaceName": "other-workspace"},
        "error validating token: invalid subject (sub) claim",  # bound_subject's refusal
    ),
    "unknown role": ({vault.ROLE: "no-such-role"}, 'role "no-such-role" could not be found'),
    "unknown mount": ({vault.AUTH_PATH: "no-such-mount"}, "403: permission denied"),
    "vault down": (
        {vault.ADDRESS: "https://127.0.0.1:9"},
        "cannot reach Vault at https://127.0.0.1:9",
    ),
}


@pytest.mark.parametrize("command", ["env", "run", "hook"])
@pytest.mark.parametrize("row", list(REFUSALS))
def test_a_refused_login_fails_closed(
    vault_workspace: dict[str, str], tmp_path: Path, row: str, command: str
) -> None:
    changes, message = REFUSALS[row]
    working = tmp_path / "work"
    working.mkdir()
    env = {**vault_workspace, **changes, "workingDirectory": str(working)}
    folder = tmp_path / "job"
    if command == "env":
        result = run_injector("env", "--dir", str(folder), env=env)
    elif command == "run":
        result = run_injector("run", "--dir", str(folder), "--", "true", env=env)
    else:
        result = run_injector("hook", "--dir", str(folder), env=env)
    assert result.returncode == 1, result.stderr
    assert message in result.stderr
    assert result.stdout == ""
    assert not folder.exists() or list(folder.iterdir()) == []
    assert list(working.iterdir()) == []  # no env file, no token


def test_an_expired_token_is_refused_with_vaults_message(
    vault_workspace: dict[str, str], tmp_path: Path
) -> None:
    prepared = pipeline.prepare(vault_workspace)
    assert prepared is not None
    an_hour_ago = int(time.time()) - 3600
    plan = pipeline.mint(prepared, tmp_path, now=an_hour_ago)
    (cloud,) = plan.clouds
    from injector.clouds.vault_http import VaultError

    with pytest.raises(VaultError) as error:
        cloud.config.exchange(cloud.token.compact, tmp_path)
    assert "token is expired" in str(error.value)
    assert list(tmp_path.iterdir()) == []
    assert prepared.minter.description.startswith("RSA-2048")


def test_doctor_checks_the_address_mount_and_login(
    vault_workspace: dict[str, str], standins: StandIns, bao: OpenBao
) -> None:
    env = {**vault_workspace, "SSL_CERT_FILE": str(standins.tls.ca_file)}
    result = run_injector("doctor", "--login", env=env)
    lines = result.stdout.splitlines()
    assert any(line.startswith("ok") and "vault.address" in line for line in lines), result.stdout
    assert any(line.startswith("ok") and "vault.mount" in line for line in lines), result.stdout
    login = next(line for line in lines if "vault.login" in line)
    assert login.startswith("ok") and "revoked again" in login, result.stdout
    assert f"policies {openbao.POLICY}" in login
    assert result.returncode == 0, result.stdout

    refused = run_injector("doctor", "--login", env={**env, vault.ROLE: "no-such-role"})
    assert refused.returncode == 1
    assert 'role "no-such-role" could not be found' in refused.stdout


# HCP Terraform's Vault provider block: `token` read from `token_filename`, its address,
# namespace and CA from the same object.
HCP_CLIENT = """
import json, os, ssl, sys, urllib.request
hcp = json.loads(os.environ["TF_VAR_tfc_vault_dynamic_credentials"])["default"]
with open(hcp["token_filename"]) as file:
    token = file.read()
context = ssl.create_default_context(cafile=hcp["ca_cert_file"])
request = urllib.request.Request(hcp["address"] + "/v1/" + sys.argv[1],
                                 headers={"X-Vault-Token": token})
with urllib.request.urlopen(request, context=context) as answer:
    print(json.dumps({"secret": json.load(answer)["data"]["data"],
                      "namespace": hcp["namespace"]}))
"""


def test_a_workspace_with_hcps_vault_names_reads_the_secret_through_hcps_variable(
    vault_workspace: dict[str, str], bao: OpenBao, tmp_path: Path
) -> None:
    env = {
        name: value
        for name, value in vault_workspace.items()
        if name not in (vault.ENABLE, vault.ADDRESS, vault.ROLE)
    }
    env.update(
        {
            "TFC_VAULT_PROVIDER_AUTH": "true",
            "TFC_VAULT_ADDR": bao.address,
            "TFC_VAULT_RUN_ROLE": openbao.ROLE,
        }
    )
    result = run_injector(
        "run",
        "--dir",
        str(tmp_path / "job"),
        "--",
        sys.executable,
        "-c",
        HCP_CLIENT,
        openbao.SECRET_PATH,
        env=env,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"secret": openbao.SECRET, "namespace": ""}
