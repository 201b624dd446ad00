"""`injector run --token-endpoint` with the real `terraform`: which source azurerm reads when it
has both a token file and a request URL (measured, not assumed), and the azurerm and gcs
backends pulling their tokens from the endpoint."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from injector.job import pipeline, token_endpoint
from injector.job.session import JobSession
from tests.support import terraform
from tests.support.terraform import Workdir
from tests.terraform.test_azurerm import SWITCH as AZURE
from tests.terraform.test_azurerm import azure  # noqa: F401 (a fixture)
from tests.terraform.test_azurerm import backend_config as azurerm_config
from tests.terraform.test_azurerm import overrides as azurerm_overrides
from tests.terraform.test_gcs import SWITCH as GCP
from tests.terraform.test_gcs import backend_config as gcs_config
from tests.terraform.test_gcs import gcs  # noqa: F401 (a fixture)
from tests.terraform.test_gcs import overrides as gcs_overrides

if TYPE_CHECKING:
    from tests.standins.azure_storage import AzureStorageStandIn
    from tests.standins.entra import EntraStandIn
    from tests.standins.fixtures import StandIns
    from tests.standins.gcs import GcsStandIn

pytest_plugins = ["tests.standins.fixtures"]

INJECTOR_RUN = [sys.executable, "-m", "injector", "run", "--token-endpoint", "--"]


def test_azurerm_reads_the_token_file_when_a_request_url_is_set_too(
    strict_workspace: dict[str, str],
    standins: StandIns,
    azure: tuple[EntraStandIn, AzureStorageStandIn],  # noqa: F811
    tmp_path: Path,
) -> None:
    _, storage = azure
    env = terraform.only(AZURE, strict_workspace)
    prepared = pipeline.prepare(env)
    assert prepared is not None
    with JobSession(prepared, tmp_path / "creds") as written:
        endpoint = token_endpoint.serve(prepared, written.plan, written.folder)
        try:
            both = {**written.plan.exports, **endpoint.exports}
            assert "ARM_OIDC_TOKEN_FILE_PATH" in both
            assert "ARM_OIDC_REQUEST_URL" in both
            outcome = Workdir(tmp_path / "tf", "azurerm").run(
                azurerm_config(storage, "both.tfstate"),
                {**both, **azurerm_overrides(storage, standins.tls)},
            )
        finally:
            endpoint.stop()

    assert outcome.returncode == 0, outcome.output
    # The measurement behind azure.py's served outputs: the file won, the URL was never asked.
    assert endpoint.requests == []


def test_azurerm_pulls_its_assertions_from_the_endpoint_under_injector_run(
    strict_workspace: dict[str, str],
    standins: StandIns,
    azure: tuple[EntraStandIn, AzureStorageStandIn],  # noqa: F811
    tmp_path: Path,
) -> None:
    entra, storage = azure
    workdir = Workdir(tmp_path / "tf", "azurerm", marker="pulled")
    script = workdir.script(
        azurerm_config(storage, "pulled.tfstate"),
        tmp_path / "job.sh",
        # The file that would win is gone; the URL and its bearer are there.
        checks=[
            'test -z "${ARM_OIDC_TOKEN_FILE_PATH:-}"',
            'test -n "$ARM_OIDC_REQUEST_URL" && test -n "$ARM_OIDC_REQUEST_TOKEN"',
        ],
    )
    served = len(entra.seen)
    env = workdir.environment(
        {**terraform.only(AZURE, strict_workspace), **azurerm_overrides(storage, standins.tls)}
    )

    outcome = terraform.run_wrapped(INJECTOR_RUN, script, env)

    assert outcome.returncode == 0, outcome.output
    assert '"pulled"' in storage.blobs["pulled.tfstate"].data.decode()
    assert any(line.endswith("/oauth2/v2.0/token") for line in entra.seen[served:])
    # Neither the endpoint nor its bearer shows in what the job printed.
    assert "127.0.0.1:" not in outcome.stderr
    assert "Bearer" not in outcome.output


def test_gcs_pulls_its_subject_token_from_the_endpoint_under_injector_run(
    strict_workspace: dict[str, str],
    standins: StandIns,
    gcs: GcsStandIn,  # noqa: F811
    tmp_path: Path,
) -> None:
    workdir = Workdir(tmp_path / "tf", "gcs", marker="pulled")
    script = workdir.script(
        gcs_config(gcs, "pulled"),
        tmp_path / "job.sh",
        checks=['grep -q \'"url": "http://127.0.0.1:\' "$GOOGLE_APPLICATION_CREDENTIALS"'],
    )
    env = workdir.environment({**terraform.only(GCP, strict_workspace), **gcs_overrides(standins)})

    outcome = terraform.run_wrapped(INJECTOR_RUN, script, env)

    assert outcome.returncode == 0, outcome.output
    assert '"pulled"' in gcs.objects["pulled/default.tfstate"].data.decode()
