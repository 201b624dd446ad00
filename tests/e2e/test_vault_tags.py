"""Tagged Vault configurations against a real OpenBao server: two more roles, each bound to an
audience of its own, and one `injector run` that logs in three times (the untagged
configuration and the tags PROD and DEV), each into its own token file, each token revoked
when the command ends. The command sees VAULT_TOKEN for the untagged login only; the tagged
tokens are reached through HCP's `TF_VAR_tfc_vault_dynamic_credentials` `aliases[TAG]`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from injector.clouds import vault
from tests.conftest import KeyFiles, run_injector
from tests.standins.accounts import SUBJECT
from tests.support import openbao
from tests.support.openbao import OpenBao

if TYPE_CHECKING:
    from tests.standins.fixtures import StandIns

pytest_plugins = ["tests.standins.fixtures"]

# role -> the audience it is bound to (and nothing else)
TAGGED_ROLES = {"terrakube-prod": "vault.prod", "terrakube-dev": "vault.dev"}

# The job's client: the standard library and what `injector run` exported. For the untagged
# login and each alias, it looks its token up (accessor and role) and reads the secret.
CLIENT = """
import json, os, ssl, sys, urllib.request
context = ssl.create_default_context(cafile=os.environ["VAULT_CACERT"])
def call(path, token):
    request = urllib.request.Request(os.environ["VAULT_ADDR"] + "/v1/" + path,
                                     headers={"X-Vault-Token": token})
    with urllib.request.urlopen(request, context=context) as answer:
        return json.load(answer)
def seen(token):
    me = call("auth/token/lookup-self", token)["data"]
    return {"accessor": me["accessor"], "role": me["meta"]["role"],
            "secret": call(sys.argv[1], token)["data"]["data"]}
hcp = json.loads(os.environ["TF_VAR_tfc_vault_dynamic_credentials"])
logins = {"default": seen(os.environ["VAULT_TOKEN"])}
for tag, alias in hcp["aliases"].items():
    with open(alias["token_filename"]) as file:
        logins[tag] = seen(file.read())
    logins[tag]["mode"] = oct(os.stat(alias["token_filename"]).st_mode & 0o777)
with open(os.environ["INJECTOR_VAULT_TOKEN_FILE"]) as file:
    logins["default"]["file_matches"] = file.read() == os.environ["VAULT_TOKEN"]
names = sorted(k for k in os.environ if k.startswith(("VAULT", "INJECTOR_VAULT")))
print(json.dumps({"logins": logins, "default": hcp["default"], "env_has": names}))
"""


@pytest.fixture(scope="module")
def bao(
    tmp_path_factory: pytest.TempPathFactory, standins: StandIns, key_files: KeyFiles
) -> Iterator[OpenBao]:
    server = openbao.start(tmp_path_factory.mktemp("openbao-tags"))
    try:
        openbao.configure(
            server,
            standins.issuer.url,
            standins.tls.ca.cert_pem.bytes().decode(),
            key_files.public.read_text(),
        )
        for role, audience in TAGGED_ROLES.items():
            server.ok(
                "POST",
                f"auth/{openbao.JWKS_MOUNT}/role/{role}",
                {
                    "role_type": "jwt",
                    "bound_audiences": [audience],
                    "bound_subject": SUBJECT,
                    "user_claim": openbao.USER_CLAIM,
                    "token_policies": [openbao.POLICY],
                    "token_ttl": "20m",
                    "token_no_default_policy": True,
                },
            )
        yield server
    finally:
        server.stop()


@pytest.fixture
def tagged_workspace(workspace: dict[str, str], standins: StandIns, bao: OpenBao) -> dict[str, str]:
    """Vault only: the untagged configuration and PROD, DEV with their own roles and aud."""
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
        f"{vault.ENABLE}_PROD": "true",
        f"{vault.ROLE}_PROD": "terrakube-prod",
        f"{vault.AUDIENCE}_PROD": "vault.prod",
        # HCP's names for the second tag
        "TFC_VAULT_PROVIDER_AUTH_DEV": "true",
        "TFC_VAULT_RUN_ROLE_DEV": "terrakube-dev",
        "TFC_VAULT_WORKLOAD_IDENTITY_AUDIENCE_DEV": "vault.dev",
    }


def _run(env: dict[str, str], folder: Path) -> subprocess.CompletedProcess[str]:
    return run_injector(
        "run",
        "--dir",
        str(folder),
        "--",
        sys.executable,
        "-c",
        CLIENT,
        openbao.SECRET_PATH,
        env=env,
    )


def test_each_tagged_configuration_logs_in_on_its_own_and_is_revoked(
    tagged_workspace: dict[str, str], bao: OpenBao, tmp_path: Path
) -> None:
    result = _run({**tagged_workspace, "INJECTOR_LOG_LEVEL": "info"}, tmp_path / "job")

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    logins = seen["logins"]
    assert {tag: login["role"] for tag, login in logins.items()} == {
        "default": openbao.ROLE,
        "PROD": "terrakube-prod",
        "DEV": "terrakube-dev",
    }
    assert all(login["secret"] == openbao.SECRET for login in logins.values())
    assert len({login["accessor"] for login in logins.values()}) == 3
    assert logins["PROD"]["mode"] == logins["DEV"]["mode"] == "0o600"
    assert logins["default"]["file_matches"] is True
    assert seen["default"]["token_filename"] == str(tmp_path / "job" / "vault-token")
    # Only the untagged login is in the environment.
    assert seen["env_has"] == [
        "INJECTOR_VAULT_TOKEN_FILE",
        "VAULT_ADDR",
        "VAULT_CACERT",
        "VAULT_TOKEN",
    ]
    for login in logins.values():
        assert not openbao.accessor_exists(bao, login["accessor"])
    assert "revoked the Vault token (configuration PROD)" in result.stderr
    assert "revoked the Vault token (configuration DEV)" in result.stderr
    assert not (tmp_path / "job").exists()


def test_a_tag_with_another_roles_audience_fails_closed(
    tagged_workspace: dict[str, str], bao: OpenBao, tmp_path: Path
) -> None:
    # PROD's token carries DEV's aud: terrakube-prod refuses it, and the logins already made
    # (the untagged one) are revoked before the job fails; nothing is left behind.
    env = {**tagged_workspace, f"{vault.AUDIENCE}_PROD": "vault.dev", "INJECTOR_LOG_LEVEL": "info"}
    result = _run(env, tmp_path / "job")

    assert result.returncode == 1, result.stderr
    assert "invalid audience (aud) claim" in result.stderr
    assert "revoked the Vault token" in result.stderr
    assert not (tmp_path / "job").exists()
