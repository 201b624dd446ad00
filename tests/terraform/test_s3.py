"""The real `terraform` with `backend "s3"`: `init` and `apply` log in with nothing but
injector's exports (plus endpoint overrides), through moto and through the strict AWS stand-in,
and fail where AWS would refuse the token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest

from tests.conftest import run_injector
from tests.standins.accounts import ROLE_ARN
from tests.standins.aws_sts import TEST_CREDENTIALS
from tests.support import terraform
from tests.support.terraform import NEGATIVE_ROWS, Workdir

if TYPE_CHECKING:
    from tests.standins.fixtures import StandIns

pytest_plugins = ["tests.standins.fixtures"]

SWITCH = "ENABLE_DYNAMIC_CREDENTIALS_AWS"
BUCKET = "injector-tfstate"


@pytest.fixture(scope="module")
def bucket(moto_endpoint: str) -> Iterator[str]:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1", **TEST_CREDENTIALS)
    s3.create_bucket(Bucket=BUCKET)
    yield BUCKET


def backend_config(key: str) -> dict[str, str]:
    # moto serves buckets by path, not by virtual host (no DNS).
    return {"bucket": BUCKET, "key": key, "use_path_style": "true"}


def endpoints(sts: str, s3: str) -> dict[str, str]:
    # One attempt: the SDK retries refused web-identity calls with back-off otherwise.
    return {"AWS_ENDPOINT_URL_STS": sts, "AWS_ENDPOINT_URL_S3": s3, "AWS_MAX_ATTEMPTS": "1"}


def stored_state(moto_endpoint: str, key: str) -> str:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1", **TEST_CREDENTIALS)
    body: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return body.decode()


def test_s3_backend_through_moto(
    workspace: dict[str, str], moto_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    exports = terraform.injector_exports(terraform.only(SWITCH, workspace), tmp_path / "creds")
    workdir = Workdir(tmp_path / "tf", "s3", marker="through-moto")

    outcome = workdir.run(
        backend_config("moto/terraform.tfstate"),
        {**exports, **endpoints(moto_endpoint, moto_endpoint)},
    )

    assert outcome.returncode == 0, outcome.output
    assert 'proof = "through-moto"' in outcome.stdout
    assert '"through-moto"' in stored_state(moto_endpoint, "moto/terraform.tfstate")


@pytest.fixture
def strict_aws(strict_workspace: dict[str, str]) -> dict[str, str]:
    return terraform.only(SWITCH, {**strict_workspace, "WORKLOAD_IDENTITY_ROLE_AWS": ROLE_ARN})


def test_s3_backend_through_the_strict_standin(
    strict_aws: dict[str, str],
    standins: StandIns,
    moto_endpoint: str,
    bucket: str,
    tmp_path: Path,
) -> None:
    exports = terraform.injector_exports(strict_aws, tmp_path / "creds")
    workdir = Workdir(tmp_path / "tf", "s3", marker="through-strict-sts")
    served = len(standins.aws.seen)

    outcome = workdir.run(
        backend_config("strict/terraform.tfstate"),
        {**exports, **endpoints(standins.aws.url, moto_endpoint)},
    )

    assert outcome.returncode == 0, outcome.output
    assert '"through-strict-sts"' in stored_state(moto_endpoint, "strict/terraform.tfstate")
    # The stand-in checked the web identity token before moto issued the credentials.
    assert len(standins.aws.seen) > served


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ("other-workspace-sub", "AccessDenied"),
        ("expired", "ExpiredTokenException"),
        ("tampered", "InvalidIdentityToken"),
    ],
)
def test_s3_backend_fails_on_a_refused_token(
    row: str,
    error: str,
    strict_aws: dict[str, str],
    standins: StandIns,
    moto_endpoint: str,
    bucket: str,
    tmp_path: Path,
) -> None:
    assert row in NEGATIVE_ROWS
    exports = terraform.spoiled_exports(row, strict_aws, "aws", tmp_path / "creds")
    workdir = Workdir(tmp_path / "tf", "s3")

    outcome = workdir.run(
        backend_config(f"refused/{row}.tfstate"),
        {**exports, **endpoints(standins.aws.url, moto_endpoint)},
    )

    assert outcome.returncode != 0
    assert error in outcome.output, outcome.output
    assert "Apply complete" not in outcome.output


def test_without_a_region_injector_warns_and_the_s3_backend_refuses_to_start(
    workspace: dict[str, str], moto_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    env = terraform.only(SWITCH, workspace)
    del env["AWS_REGION"]
    warned = run_injector("env", "--dir", str(tmp_path / "creds"), "--format", "json", env=env)
    exports = json.loads(warned.stdout)

    outcome = Workdir(tmp_path / "tf", "s3").run(
        backend_config("no-region.tfstate"),
        {**exports, **endpoints(moto_endpoint, moto_endpoint)},
    )

    assert warned.returncode == 0
    assert "Missing region value" in warned.stderr
    assert "AWS_REGION" in warned.stderr
    assert outcome.returncode != 0
    assert "Missing region value" in outcome.output
