"""A workspace moved from HCP Terraform with a Vault behind a CA of its own: only HCP's names and
`TFC_VAULT_ENCODED_CACERT` (base64 of PEM). The Vault is a real OpenBao over TLS whose CA no
system trusts (`bao server -dev-tls` makes one): the login, and the real `bao` CLI fed only
the exports, succeed only through the certificates injector decodes into the job's folder.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import trustme

from tests.conftest import KeyFiles, run_injector
from tests.support import openbao
from tests.support.openbao import OpenBao

if TYPE_CHECKING:
    from tests.standins.fixtures import StandIns

pytest_plugins = ["tests.standins.fixtures"]

# The job's command: the real `bao` CLI, fed only VAULT_* of what `injector run` exported
# (the untagged configuration) and then HCP's object for the tag PROD. It prints what each
# read, and the CA files it was pointed at.
CLIENT = """
import json, os, subprocess, sys
bao, path, home = sys.argv[1:4]
def read(env):
    answer = subprocess.run([bao, "read", "-format=json", path], env=env,
                            capture_output=True, text=True, check=False)
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout)["data"]["data"]
exports = {k: v for k, v in os.environ.items() if k.startswith("VAULT_")}
prod = json.loads(os.environ["TF_VAR_tfc_vault_dynamic_credentials"])["aliases"]["PROD"]
with open(prod["token_filename"]) as file:
    prod_token = file.read()
seen = {
    "exported": sorted(exports),
    "default": read({"PATH": "/usr/bin:/bin", "HOME": home, **exports}),
    "prod": read({"PATH": "/usr/bin:/bin", "HOME": home, "VAULT_ADDR": prod["address"],
                  "VAULT_CACERT": prod["ca_cert_file"], "VAULT_TOKEN": prod_token}),
    "files": {name: [open(name).read(), oct(os.stat(name).st_mode & 0o777)]
              for name in (exports["VAULT_CACERT"], prod["ca_cert_file"])},
}
print(json.dumps(seen))
"""


@pytest.fixture(scope="module")
def bao(
    tmp_path_factory: pytest.TempPathFactory, standins: StandIns, key_files: KeyFiles
) -> Iterator[OpenBao]:
    with openbao.trusting_the_issuer(
        tmp_path_factory.mktemp("openbao-ca"), standins, key_files
    ) as server:
        yield server


def _hcp_workspace(
    workspace: dict[str, str], issuer: str, address: str, ca_pem: bytes
) -> dict[str, str]:
    """The job context and key, and Vault under HCP's names only: untagged and PROD, each
    with the CA encoded (PROD's wrapped, as `base64 ca.pem` writes it)."""
    job = {
        name: value
        for name, value in workspace.items()
        if not name.startswith(
            ("ENABLE_", "WORKLOAD_", "VAULT_", "ARM_", "AZURE_", "GOOGLE_", "AWS_")
        )
    }
    return {
        **job,
        "DynamicCredentialHostname": issuer,
        "TFC_VAULT_PROVIDER_AUTH": "true",
        "TFC_VAULT_ADDR": address,
        "TFC_VAULT_RUN_ROLE": openbao.ROLE,
        "TFC_VAULT_ENCODED_CACERT": base64.b64encode(ca_pem).decode(),
        "TFC_VAULT_PROVIDER_AUTH_PROD": "true",
        "TFC_VAULT_ADDR_PROD": address,
        "TFC_VAULT_RUN_ROLE_PROD": openbao.ROLE,
        "TFC_VAULT_ENCODED_CACERT_PROD": base64.encodebytes(ca_pem).decode(),
    }


@pytest.fixture
def hcp_workspace(workspace: dict[str, str], standins: StandIns, bao: OpenBao) -> dict[str, str]:
    return _hcp_workspace(workspace, standins.issuer.url, bao.address, bao.ca_file.read_bytes())


@pytest.mark.parametrize("folder_exists", [False, True], ids=["made", "given"])
def test_the_bao_cli_fed_only_the_exports_reads_the_secret_then_the_ca_files_are_gone(
    hcp_workspace: dict[str, str], tmp_path: Path, folder_exists: bool
) -> None:
    folder = tmp_path / "job"
    if folder_exists:
        folder.mkdir(mode=0o700)
    home = tmp_path / "home"
    home.mkdir()
    command = [sys.executable, "-c", CLIENT, openbao.bao_binary(), openbao.SECRET_PATH, str(home)]
    result = run_injector("run", "--dir", str(folder), "--", *command, env=hcp_workspace)

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["exported"] == ["VAULT_ADDR", "VAULT_CACERT", "VAULT_TOKEN"]
    assert seen["default"] == seen["prod"] == openbao.SECRET
    ca = base64.b64decode(hcp_workspace["TFC_VAULT_ENCODED_CACERT"]).decode()
    assert seen["files"] == {
        str(folder / "vault-ca.pem"): [ca, "0o600"],
        str(folder / "vault_PROD-ca.pem"): [ca, "0o600"],
    }
    # Removed with the job's other files: the folder too when run made it.
    assert folder.exists() == folder_exists
    assert not folder.exists() or list(folder.iterdir()) == []


def test_without_the_ca_the_same_workspace_fails_its_tls_handshake(
    hcp_workspace: dict[str, str], tmp_path: Path
) -> None:
    """The control: nothing but the encoded CA makes this Vault trusted."""
    env = {name: value for name, value in hcp_workspace.items() if "ENCODED_CACERT" not in name}
    result = run_injector("run", "--dir", str(tmp_path / "job"), "--", "true", env=env)
    assert result.returncode == 1, result.stderr
    assert "certificate" in result.stderr
    assert not (tmp_path / "job").exists()


def test_vault_backed_aws_logs_in_through_the_encoded_ca(
    hcp_workspace: dict[str, str], tmp_path: Path
) -> None:
    """Vault-backed AWS repeats the Vault configuration's login, CA included: the login
    succeeds over TLS, and Vault itself answers the engine's path (no AWS engine here)."""
    env = {
        name: value
        for name, value in hcp_workspace.items()
        if not name.startswith("TFC_VAULT_PROVIDER_AUTH") and not name.endswith("_PROD")
    }
    env.update(
        {
            "TFC_VAULT_BACKED_AWS_AUTH": "true",
            "TFC_VAULT_BACKED_AWS_AUTH_TYPE": "iam_user",
            "TFC_VAULT_BACKED_AWS_RUN_VAULT_ROLE": "deploy",
        }
    )
    result = run_injector("run", "--dir", str(tmp_path / "job"), "--", "true", env=env)
    assert result.returncode == 1, result.stderr
    assert "permission denied" in result.stderr
    assert "certificate" not in result.stderr


def test_the_dry_run_shows_the_ca_file_and_its_exports(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    pem = trustme.CA().cert_pem.bytes()
    env = _hcp_workspace(workspace, "https://terrakube-api.example.com", "https://v.test", pem)
    result = run_injector(env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "/vault-ca.pem  (" in result.stdout
    assert "/vault_PROD-ca.pem  (" in result.stdout
    assert "  VAULT_CACERT=/" in result.stdout and "vault-ca.pem\n" in result.stdout
    assert pem.decode().splitlines()[1] in result.stdout
    assert list(tmp_path.iterdir()) == []  # nothing written


# --- refusals: exit 2 naming the variable the user set, nothing written or exported ---------

REFUSALS = {
    "not base64": ("TFC_VAULT_ENCODED_CACERT", "not base64!", "is not base64: expected"),
    "PEM not encoded": (
        "TFC_VAULT_ENCODED_CACERT_PROD",
        "-----BEGIN CERTIFICATE-----",
        "is not base64: expected",
    ),
    "no certificate": (
        "TFC_VAULT_ENCODED_CACERT",
        base64.b64encode(b"hello").decode(),
        "no certificate could be read",
    ),
    "injector's name": (
        "WORKLOAD_IDENTITY_VAULT_ENCODED_CACERT",
        base64.b64encode(b"hello").decode(),
        "no certificate could be read",
    ),
}


@pytest.mark.parametrize("command", ["env", "run", "hook"])
@pytest.mark.parametrize("row", [*REFUSALS, "private key", "both forms"])
def test_a_bad_encoded_ca_is_exit_2_and_nothing_is_written(
    workspace: dict[str, str], key_files: KeyFiles, tmp_path: Path, row: str, command: str
) -> None:
    pem = trustme.CA().cert_pem.bytes()
    env = _hcp_workspace(workspace, "https://terrakube-api.example.com", "https://v.test", pem)
    if row == "private key":
        key = key_files.private_pkcs8.read_bytes()
        name, value, message = "TFC_VAULT_ENCODED_CACERT", pem + key, "holds a private key"
        env[name] = base64.b64encode(value).decode()
    elif row == "both forms":
        ca_file = tmp_path / "ca.pem"
        ca_file.write_bytes(pem)
        env["VAULT_CACERT"] = str(ca_file)
        name, message = "TFC_VAULT_ENCODED_CACERT", "is set and so is VAULT_CACERT"
    else:
        name, value_text, message = REFUSALS[row]
        env.pop("TFC_VAULT_ENCODED_CACERT")
        env[name] = value_text
    working = tmp_path / "work"
    working.mkdir()
    env["workingDirectory"] = str(working)
    folder = tmp_path / "job"
    tail = ["--", "true"] if command == "run" else []
    result = run_injector(command, "--dir", str(folder), *tail, env=env)

    assert result.returncode == 2, result.stderr
    assert f"injector: error: {name}: " in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "PRIVATE KEY" not in result.stderr and env[name] not in result.stderr
    assert result.stdout == ""
    assert not folder.exists()
    assert list(working.iterdir()) == []


def test_doctor_reaches_vault_and_logs_in_through_the_encoded_ca(
    hcp_workspace: dict[str, str], standins: StandIns
) -> None:
    env = {**hcp_workspace, "SSL_CERT_FILE": str(standins.tls.ca_file)}  # the issuer's CA
    result = run_injector("doctor", "--login", env=env)
    lines = result.stdout.splitlines()
    for check in ("vault.address", "vault_PROD.address"):
        assert any(line.startswith("ok") and check in line for line in lines), result.stdout
    logins = [line for line in lines if "vault.login" in line]
    assert len(logins) == 2 and all(line.startswith("ok") for line in logins), result.stdout
    assert "(configuration PROD)" in logins[1]
    assert result.returncode == 0, result.stdout
