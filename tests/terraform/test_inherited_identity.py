"""The real `terraform`'s backends on a runner that hands down another identity, in the modes
where injector does not replace it. `backend "s3"` in a job with an AWS tag, with an EKS pod's
IRSA pair (another role, another token file): without injector between them the backend takes
the pair over the shared config file's [default] profile; `injector run` keeps the pair from the
command, so the backend logs in through injector's profile, and `injector env` refuses the pair.
`backend "azurerm"` under `run --token-endpoint`, with an AKS pod's ARM_OIDC_TOKEN_FILE_PATH:
azurerm reads that file and never asks the endpoint, unless `run` keeps it from the command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from injector.clouds import aws
from injector.clouds import azure as azure_cloud
from injector.job import pipeline, token_endpoint
from injector.job.session import JobSession
from tests.conftest import run_injector
from tests.standins.accounts import ROLE_ARN
from tests.support import terraform
from tests.support.terraform import Workdir
from tests.terraform.test_azurerm import SWITCH as AZURE
from tests.terraform.test_azurerm import azure  # noqa: F401 (a fixture)
from tests.terraform.test_azurerm import backend_config as azurerm_config
from tests.terraform.test_azurerm import overrides as azurerm_overrides
from tests.terraform.test_s3 import backend_config, bucket, endpoints

if TYPE_CHECKING:
    from tests.standins.azure_storage import AzureStorageStandIn
    from tests.standins.entra import EntraStandIn
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


# --- azurerm under the token endpoint ------------------------------------------------------------


@pytest.fixture
def aks_token(tmp_path: Path) -> dict[str, str]:
    """What AKS workload identity puts into a pod: a token file of another identity's, which
    Entra does not accept for the workspace's app."""
    token = tmp_path / "aks-token"
    token.write_text("eyJaks.token.from-the-pod")
    return {azure_cloud.TOKEN_FILE_PATH: str(token)}


def test_without_injector_between_them_azurerm_reads_the_inherited_file_not_the_endpoint(
    strict_workspace: dict[str, str],
    standins: StandIns,
    azure: tuple[EntraStandIn, AzureStorageStandIn],  # noqa: F811
    aks_token: dict[str, str],
    tmp_path: Path,
) -> None:
    """The endpoint's exports (what `run --token-endpoint` gives, without the token file) next
    to the pod's file, as a job that passed its environment through would have them."""
    _, storage = azure
    prepared = pipeline.prepare(terraform.only(AZURE, strict_workspace))
    assert prepared is not None
    with JobSession(prepared, tmp_path / "creds") as written:
        endpoint = token_endpoint.serve(prepared, written.plan, written.folder)
        try:
            served = {**written.plan.exports, **endpoint.exports}
            del served[azure_cloud.TOKEN_FILE_PATH]
            outcome = Workdir(tmp_path / "tf", "azurerm").run(
                azurerm_config(storage, "inherited-file.tfstate"),
                {**served, **aks_token, **azurerm_overrides(storage, standins.tls)},
            )
        finally:
            endpoint.stop()

    assert outcome.returncode != 0
    assert "Apply complete" not in outcome.output
    # azurerm sent the pod's file to Entra (which found it malformed) and never asked the
    # endpoint.
    assert "AADSTS50027" in outcome.output, outcome.output
    assert endpoint.requests == []


def test_under_injector_run_azurerm_pulls_from_the_endpoint_despite_an_inherited_file(
    strict_workspace: dict[str, str],
    standins: StandIns,
    azure: tuple[EntraStandIn, AzureStorageStandIn],  # noqa: F811
    aks_token: dict[str, str],
    tmp_path: Path,
) -> None:
    entra, storage = azure
    workdir = Workdir(tmp_path / "tf", "azurerm", marker="despite-the-pod")
    script = workdir.script(
        azurerm_config(storage, "despite-the-pod.tfstate"),
        tmp_path / "job.sh",
        checks=[f'test -z "${{{azure_cloud.TOKEN_FILE_PATH}:-}}"'],
    )
    served = len(entra.seen)
    env = workdir.environment(
        {
            **terraform.only(AZURE, strict_workspace),
            **aks_token,
            **azurerm_overrides(storage, standins.tls),
        }
    )
    wrapper = [sys.executable, "-m", "injector", "run", "--token-endpoint"]
    wrapper += ["--dir", str(tmp_path / "creds"), "--"]

    outcome = terraform.run_wrapped(wrapper, script, env)

    assert outcome.returncode == 0, outcome.output
    assert f"not passing {azure_cloud.TOKEN_FILE_PATH} to the command" in outcome.stderr
    assert '"despite-the-pod"' in storage.blobs["despite-the-pod.tfstate"].data.decode()
    assert any(line.endswith("/oauth2/v2.0/token") for line in entra.seen[served:])
