"""The real `terraform` with `backend "s3"` in a job with an AWS tag, on a runner that hands
down another identity (an EKS pod's IRSA: another role, another token file). Without injector
between them the backend takes the inherited pair over the shared config file's [default]
profile; `injector run` keeps the pair from the command, so the backend logs in through
injector's profile, and `injector env` refuses the pair."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from injector.clouds import aws
from tests.conftest import run_injector
from tests.standins.accounts import ROLE_ARN
from tests.support import terraform
from tests.support.terraform import Workdir
from tests.terraform.test_s3 import backend_config, bucket, endpoints

if TYPE_CHECKING:
    from tests.standins.fixtures import StandIns

pytest_plugins = ["tests.standins.fixtures"]
__all__ = ["bucket"]  # the s3 tests' bucket fixture, used here too

# A role the stand-in's account does not hold: a login that names it is refused (AccessDenied),
# so a refusal shows which role the backend asked for.
INHERITED_ROLE = ROLE_ARN.replace("terrakube-strict", "inherited-from-the-pod")


@pytest.fixture
def tagged_job(strict_workspace: dict[str, str]) -> dict[str, str]:
    """AWS with a PROD tag beside the untagged configuration, whose role (in the [default]
    profile) the workspace's token may assume."""
    return terraform.only(
        "ENABLE_DYNAMIC_CREDENTIALS_AWS",
        {
            **strict_workspace,
            "WORKLOAD_IDENTITY_ROLE_AWS": ROLE_ARN,
            "ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD": "true",
            "WORKLOAD_IDENTITY_ROLE_AWS_PROD": ROLE_ARN.replace("terrakube-strict", "prod"),
        },
    )


@pytest.fixture
def irsa(tagged_job: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The pod's pair. Its token file holds a token the stand-in accepts (minted for the
    workspace), so only the role it names decides the login."""
    pod = tmp_path / "pod"
    exports = terraform.injector_exports(
        {**tagged_job, "ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD": "false"}, pod
    )
    token = Path(exports["AWS_WEB_IDENTITY_TOKEN_FILE"])
    return {"AWS_ROLE_ARN": INHERITED_ROLE, "AWS_WEB_IDENTITY_TOKEN_FILE": str(token)}


@pytest.mark.usefixtures("bucket")
def test_without_injector_between_them_the_s3_backend_logs_in_as_the_inherited_role(
    tagged_job: dict[str, str],
    irsa: dict[str, str],
    standins: StandIns,
    moto_endpoint: str,
    tmp_path: Path,
) -> None:
    """Why the pair is kept from the command: injector's exports (the [default] profile) and
    the pod's variables side by side, as a job that passed its environment through would have
    them. The same exports alone log in; with the pod's pair the backend asks for the pod's
    role, which the account refuses."""
    exports = terraform.injector_exports(tagged_job, tmp_path / "creds")
    assert "AWS_ROLE_ARN" not in exports and "AWS_CONFIG_FILE" in exports
    overrides = endpoints(standins.aws.url, moto_endpoint)

    alone = Workdir(tmp_path / "alone", "s3").run(
        backend_config("inherited/alone.tfstate"), {**exports, **overrides}
    )
    beside = Workdir(tmp_path / "beside", "s3").run(
        backend_config("inherited/beside.tfstate"), {**exports, **irsa, **overrides}
    )

    assert alone.returncode == 0, alone.output
    assert beside.returncode != 0
    assert "AccessDenied" in beside.output, beside.output
    assert "Apply complete" not in beside.output


@pytest.mark.usefixtures("bucket")
def test_under_injector_run_the_s3_backend_logs_in_through_injectors_profile(
    tagged_job: dict[str, str],
    irsa: dict[str, str],
    standins: StandIns,
    moto_endpoint: str,
    tmp_path: Path,
) -> None:
    workdir = Workdir(tmp_path / "tf", "s3", marker="through-injector-run")
    wrapper = [sys.executable, "-m", "injector", "run", "--dir", str(tmp_path / "creds"), "--"]
    served = len(standins.aws.seen)

    outcome = workdir.run(
        backend_config("inherited/run.tfstate"),
        {**tagged_job, **irsa, **endpoints(standins.aws.url, moto_endpoint)},
        wrapper=wrapper,
    )

    assert outcome.returncode == 0, outcome.output
    assert 'proof = "through-injector-run"' in outcome.stdout
    assert "not passing AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE to the command" in outcome.stderr
    assert "inherited-from-the-pod" not in outcome.output
    # The login went through the strict stand-in, which checked the token for the role.
    assert len(standins.aws.seen) > served


def test_env_refuses_the_inherited_pair_naming_both_variables(
    tagged_job: dict[str, str], irsa: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "creds"
    result = run_injector("env", "--dir", str(folder), env={**tagged_job, **irsa})

    assert result.returncode == 2, result.stderr
    assert set(aws.CLOUD.rivals.identity) == {"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"}
    for name in aws.CLOUD.rivals.identity:
        assert f"injector: error: {name}: is set in the job's environment" in result.stderr
    assert INHERITED_ROLE not in result.stderr
    assert result.stdout == ""
    assert not folder.exists()
