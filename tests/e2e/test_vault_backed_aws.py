"""Vault-backed AWS credentials: the job's token logs in to a real OpenBao, and a stand-in of
Vault's AWS secrets engine in front of it (OpenBao ships none) issues an IAM user's key made in
moto; boto3, fed only what `injector run` exported, is that user. Every way out revokes the
lease and the Vault token; a refusal exports nothing."""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from injector.clouds import vault, vault_backed_aws
from tests.conftest import KeyFiles, run_injector
from tests.standins import vault_aws_engine
from tests.standins.vault_aws_engine import Engine
from tests.support import openbao
from tests.support.openbao import OpenBao

if TYPE_CHECKING:
    from tests.standins.fixtures import StandIns

pytest_plugins = ["tests.standins.fixtures"]

# The job's client: boto3 with nothing but the environment `injector run` gives it.
CLIENT = """
import json, os, sys, boto3
path = os.environ["AWS_SHARED_CREDENTIALS_FILE"]
sts = boto3.client("sts", endpoint_url=sys.argv[1], region_name="us-east-1")
print(json.dumps({"arn": sts.get_caller_identity()["Arn"], "mode": os.stat(path).st_mode,
                  "file": path,
                  "keys_in_env": sorted(k for k in os.environ if k.startswith("AWS_ACCESS"))}))
"""


@pytest.fixture(scope="module")
def bao(
    tmp_path_factory: pytest.TempPathFactory, standins: StandIns, key_files: KeyFiles
) -> Iterator[OpenBao]:
    with openbao.serving(
        tmp_path_factory.mktemp("openbao"),
        standins.issuer.url,
        standins.tls.ca.cert_pem.bytes().decode(),
        key_files.public.read_text(),
    ) as server:
        yield server


@pytest.fixture
def engine(bao: OpenBao, moto_endpoint: str) -> Iterator[Engine]:
    with vault_aws_engine.running(bao, moto_endpoint) as running:
        yield running


def _workspace(workspace: dict[str, str], standins: StandIns, address: str) -> dict[str, str]:
    """Only Vault-backed AWS, with HCP Terraform's names, its Vault login on `address`."""
    env = {
        name: value
        for name, value in workspace.items()
        if not name.startswith(("ENABLE_DYNAMIC_CREDENTIALS_", "WORKLOAD_IDENTITY", "VAULT_"))
    }
    return {
        **env,
        "DynamicCredentialHostname": standins.issuer.url,
        "TFC_VAULT_BACKED_AWS_AUTH": "true",
        "TFC_VAULT_BACKED_AWS_AUTH_TYPE": "iam_user",
        "TFC_VAULT_BACKED_AWS_RUN_VAULT_ROLE": vault_aws_engine.ROLE,
        "TFC_VAULT_ADDR": address,
        "TFC_VAULT_RUN_ROLE": openbao.ROLE,
    }


def _run(env: dict[str, str], folder: Path, moto: str) -> tuple[int, str, str]:
    result = run_injector(
        "run", "--dir", str(folder), "--", sys.executable, "-c", CLIENT, moto, env=env
    )
    return result.returncode, result.stdout, result.stderr


def test_boto3_is_the_user_vault_issued_and_every_lease_ends_with_run(
    workspace: dict[str, str],
    standins: StandIns,
    engine: Engine,
    bao: OpenBao,
    moto_endpoint: str,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "creds"
    code, out, err = _run(_workspace(workspace, standins, engine.address), folder, moto_endpoint)
    assert code == 0, err
    seen = json.loads(out)
    user = seen["arn"].rsplit("/", 1)[-1]
    assert user.startswith(f"vault-{vault_aws_engine.ROLE}-")
    assert stat.S_IMODE(seen["mode"]) == 0o600
    assert Path(seen["file"]).name == "vault_backed_aws-credentials"
    assert seen["keys_in_env"] == []  # the keys are in the file only
    # run's way out: the lease revoked (the key deleted) and the Vault token too.
    assert len(engine.revoked) == 1 and not engine.leases
    assert engine.accessors and not openbao.accessor_exists(bao, engine.accessors[0])
    assert not folder.exists() or not any(folder.iterdir())
    assert "aws_secret_access_key" not in err


def test_vault_refusing_the_role_is_exit_1_and_revokes_the_token(
    workspace: dict[str, str],
    standins: StandIns,
    engine: Engine,
    bao: OpenBao,
    moto_endpoint: str,
    tmp_path: Path,
) -> None:
    env = {
        **_workspace(workspace, standins, engine.address),
        "TFC_VAULT_BACKED_AWS_RUN_VAULT_ROLE": "not-a-role",
    }
    folder = tmp_path / "creds"
    code, out, err = _run(env, folder, moto_endpoint)
    assert code == 1
    assert "unknown role: not-a-role" in err
    assert out == ""
    assert engine.accessors and not openbao.accessor_exists(bao, engine.accessors[0])
    assert not engine.leases
    assert not (folder / "vault_backed_aws-credentials").exists()


def test_the_engine_down_is_exit_1_and_exports_nothing(
    workspace: dict[str, str],
    standins: StandIns,
    bao: OpenBao,
    moto_endpoint: str,
    tmp_path: Path,
) -> None:
    # Vault answers the login but the engine's mount is not there: OpenBao's own 404/403.
    env = _workspace(workspace, standins, bao.address)
    env["VAULT_CACERT"] = str(bao.ca_file)
    before = bao.ok("LIST", "auth/token/accessors").get("data", {}).get("keys", [])
    folder = tmp_path / "creds"
    code, out, err = _run(env, folder, moto_endpoint)
    assert code == 1, err
    assert "aws/creds/deploy" in err
    assert out == ""
    after = bao.ok("LIST", "auth/token/accessors").get("data", {}).get("keys", [])
    assert set(after) <= set(before)  # the job's Vault token did not outlive it
    assert not (folder / "vault_backed_aws-credentials").exists()


def test_hcp_variable_names_the_shared_credentials_file(
    workspace: dict[str, str], standins: StandIns, tmp_path: Path
) -> None:
    # The dry run: HCP's shape, without a login.
    env = _workspace(workspace, standins, "https://vault.example.com")
    env[vault_backed_aws.ENABLE] = "true"
    env.pop("TFC_VAULT_BACKED_AWS_AUTH")
    from injector.job import pipeline

    prepared = pipeline.prepare(env)
    assert prepared is not None
    plan = pipeline.mint(prepared, tmp_path)
    value = json.loads(plan.exports["TF_VAR_tfc_vault_backed_aws_dynamic_credentials"])
    assert value == {
        "default": {"shared_credentials_file": str(tmp_path / "vault_backed_aws-credentials")},
        "aliases": {},
    }
    assert vault.TOKEN not in plan.exports
