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

import boto3
import pytest
from botocore.exceptions import ClientError

from injector.clouds import vault, vault_backed_aws
from tests.conftest import KeyFiles, run_injector
from tests.standins import moto, vault_aws_engine
from tests.standins.aws_sts import TEST_CREDENTIALS
from tests.standins.vault_aws_engine import Engine
from tests.support import openbao, terraform
from tests.support.openbao import OpenBao
from tests.support.terraform import Workdir

if TYPE_CHECKING:
    from tests.standins.fixtures import StandIns

pytest_plugins = ["tests.standins.fixtures"]

BUCKET = "injector-vault-backed-tfstate"

# The job's client: boto3 with nothing but the environment `injector run` gives it.
CLIENT = """
import json, os, sys, time, boto3
path = os.environ["AWS_SHARED_CREDENTIALS_FILE"]
sts = boto3.client("sts", endpoint_url=sys.argv[1], region_name="us-east-1")
arn = sts.get_caller_identity()["Arn"]
if len(sys.argv) > 2:
    time.sleep(float(sys.argv[2]))
    assert sts.get_caller_identity()["Arn"] == arn
print(json.dumps({"arn": arn, "mode": os.stat(path).st_mode,
                  "file": path,
                  "keys_in_env": sorted(k for k in os.environ if k.startswith("AWS_ACCESS"))}))
"""


@pytest.fixture(scope="module")
def bao(
    tmp_path_factory: pytest.TempPathFactory, standins: StandIns, key_files: KeyFiles
) -> Iterator[OpenBao]:
    with openbao.trusting_the_issuer(
        tmp_path_factory.mktemp("openbao"), standins, key_files
    ) as server:
        yield server


@pytest.fixture
def engine(bao: OpenBao, moto_endpoint: str) -> Iterator[Engine]:
    with vault_aws_engine.running(bao, moto_endpoint) as running:
        yield running


@pytest.fixture(scope="module")
def enforcing_moto() -> Iterator[tuple[str, tuple[str, str]]]:
    """A moto of its own that checks signatures and IAM policies after the three unsigned
    actions that make the engine's root user, and that user's key."""
    with moto.running(free_actions=3) as endpoint:
        iam = boto3.client(
            "iam", endpoint_url=endpoint, region_name="us-east-1", **TEST_CREDENTIALS
        )
        iam.create_user(UserName="vault-engine")
        allow_iam = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}],
        }
        iam.put_user_policy(
            UserName="vault-engine", PolicyName="engine", PolicyDocument=json.dumps(allow_iam)
        )
        key = iam.create_access_key(UserName="vault-engine")["AccessKey"]
        yield endpoint, (key["AccessKeyId"], key["SecretAccessKey"])


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


def _run(env: dict[str, str], folder: Path, moto: str, *more: str) -> tuple[int, str, str]:
    result = run_injector(
        "run", "--dir", str(folder), "--", sys.executable, "-c", CLIENT, moto, *more, env=env
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


def test_terraforms_s3_backend_logs_in_with_the_shared_credentials_file(
    workspace: dict[str, str],
    standins: StandIns,
    engine: Engine,
    moto_endpoint: str,
    tmp_path: Path,
) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1", **TEST_CREDENTIALS)
    s3.create_bucket(Bucket=BUCKET)
    workdir = Workdir(tmp_path / "tf", "s3", marker="vault-backed")
    script = workdir.script(
        {"bucket": BUCKET, "key": "vb/terraform.tfstate", "use_path_style": "true"},
        tmp_path / "job.sh",
        # The keys are in the file AWS_SHARED_CREDENTIALS_FILE names, not in the environment.
        checks=['test -n "$AWS_SHARED_CREDENTIALS_FILE"', 'test -z "$AWS_ACCESS_KEY_ID"'],
    )
    env = {
        **workdir.environment({}),
        **_workspace(workspace, standins, engine.address),
        "AWS_ENDPOINT_URL_S3": moto_endpoint,
        "AWS_ENDPOINT_URL_STS": moto_endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
    }
    wrapper = [sys.executable, "-m", "injector", "run", "--dir", str(tmp_path / "creds"), "--"]

    outcome = terraform.run_wrapped(wrapper, script, env)

    assert outcome.returncode == 0, outcome.output
    assert 'proof = "vault-backed"' in outcome.stdout
    state = s3.get_object(Bucket=BUCKET, Key="vb/terraform.tfstate")["Body"].read().decode()
    assert '"vault-backed"' in state
    assert len(engine.revoked) == 1 and not engine.leases


def test_run_renews_a_short_lease_while_the_command_runs(
    workspace: dict[str, str],
    standins: StandIns,
    engine: Engine,
    moto_endpoint: str,
    tmp_path: Path,
) -> None:
    # A 4 s lease: run's keeper renews it (and the Vault token) at half its TTL, and the
    # command's second call 6 s later is still the same user.
    engine.lease_seconds = 4
    env = _workspace(workspace, standins, engine.address)
    code, out, err = _run(env, tmp_path / "creds", moto_endpoint, "6")
    assert code == 0, err
    assert engine.renewed
    assert json.loads(out)["arn"].rsplit("/", 1)[-1].startswith(f"vault-{vault_aws_engine.ROLE}-")
    assert len(engine.revoked) == 1 and not engine.leases


def test_assumed_role_asks_the_sts_endpoint_for_the_role_arn(
    workspace: dict[str, str],
    standins: StandIns,
    engine: Engine,
    moto_endpoint: str,
    tmp_path: Path,
) -> None:
    arn = "arn:aws:iam::123456789012:role/terraform-deploy"
    env = {
        **_workspace(workspace, standins, engine.address),
        "TFC_VAULT_BACKED_AWS_AUTH_TYPE": "assumed_role",
        "TFC_VAULT_BACKED_AWS_RUN_ROLE_ARN": arn,
    }
    code, out, err = _run(env, tmp_path / "creds", moto_endpoint)
    assert code == 0, err
    assert (f"{vault_aws_engine.MOUNT}/sts/{vault_aws_engine.ROLE}", {"role_arn": arn}) in (
        engine.asked
    )
    assert json.loads(out)["keys_in_env"] == []
    assert len(engine.revoked) == 1 and not engine.leases


def test_an_aws_that_checks_keys_refuses_a_made_up_one_and_takes_the_issued_one(
    workspace: dict[str, str],
    standins: StandIns,
    bao: OpenBao,
    enforcing_moto: tuple[str, tuple[str, str]],
    tmp_path: Path,
) -> None:
    endpoint, root_key = enforcing_moto
    made_up = boto3.client(
        "sts",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    )
    with pytest.raises(ClientError) as refused:
        made_up.get_caller_identity()
    assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"

    with vault_aws_engine.running(bao, endpoint, root_key) as engine:
        env = _workspace(workspace, standins, engine.address)
        code, out, err = _run(env, tmp_path / "creds", endpoint)
    assert code == 0, err
    user = json.loads(out)["arn"].rsplit("/", 1)[-1]
    assert user.startswith(f"vault-{vault_aws_engine.ROLE}-")
    assert len(engine.revoked) == 1 and not engine.leases


@pytest.mark.parametrize("field", ["access_key", "secret_key", "security_token"])
def test_an_engine_answer_that_would_add_lines_to_the_credentials_file_is_refused(
    workspace: dict[str, str],
    standins: StandIns,
    engine: Engine,
    bao: OpenBao,
    moto_endpoint: str,
    tmp_path: Path,
    field: str,
) -> None:
    """A hostile (or compromised) Vault answers a key holding carriage returns: configparser
    writes them as they are, and botocore reads each as a line break, so the answer adds lines
    to the job's credentials file: a role for [default] whose source profile has a
    `credential_process`, a command boto3 runs in the job (the role is assumed before the
    file's keys are looked at). Before, the command below ran it. Now nothing is written, the
    value is never shown, and the lease and the Vault token are revoked."""
    marker = tmp_path / "ran"
    injected = (
        "x\rrole_arn = arn:aws:iam::123456789012:role/r\rsource_profile = elsewhere\r"
        f"[elsewhere]\rcredential_process = touch {marker}\r[rest]"
    )
    engine.tampered = {field: injected}
    folder = tmp_path / "creds"
    code, out, err = _run(_workspace(workspace, standins, engine.address), folder, moto_endpoint)
    assert not marker.exists(), out
    assert code == 1, out + err
    assert out == ""
    assert f"the AWS secrets engine's {field}" in err
    assert "credential_process" not in err and "Traceback" not in err
    assert not engine.leases
    assert engine.accessors and not openbao.accessor_exists(bao, engine.accessors[0])
    assert not folder.exists() or not any(folder.iterdir())
