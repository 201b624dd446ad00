"""The real `terraform` with `backend "gcs"`: `init` and `apply` log in with nothing but
injector's exports (plus the storage endpoint and the test CA), through the strict Google
stand-in (STS token exchange, service account impersonation) and a fake of the Cloud Storage
JSON API, and fail where Google would refuse the token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.standins.gcs import GcsStandIn
from tests.support import terraform
from tests.support.terraform import Workdir

if TYPE_CHECKING:
    from tests.standins.fixtures import StandIns

pytest_plugins = ["tests.standins.fixtures"]

SWITCH = "ENABLE_DYNAMIC_CREDENTIALS_GCP"
BUCKET = "my-project-tfstate"


@pytest.fixture(scope="module")
def gcs(standins: StandIns) -> Iterator[GcsStandIn]:
    standin = GcsStandIn(standins.google, BUCKET, standins.tls.server_context())
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()


def backend_config(gcs: GcsStandIn, prefix: str) -> dict[str, str]:
    return {"bucket": BUCKET, "prefix": prefix, "storage_custom_endpoint": gcs.api_url}


def overrides(standins: StandIns) -> dict[str, str]:
    return {"SSL_CERT_FILE": str(standins.tls.ca_file)}  # Go's TLS trusts the test CA


@pytest.fixture
def strict_gcp(strict_workspace: dict[str, str]) -> dict[str, str]:
    return terraform.only(SWITCH, strict_workspace)


def test_gcs_backend_through_the_strict_standin(
    strict_gcp: dict[str, str], standins: StandIns, gcs: GcsStandIn, tmp_path: Path
) -> None:
    exports = terraform.injector_exports(strict_gcp, tmp_path / "creds")
    workdir = Workdir(tmp_path / "tf", "gcs", marker="through-google-sts")
    served = len(standins.google.seen)

    outcome = workdir.run(backend_config(gcs, "strict"), {**exports, **overrides(standins)})

    assert outcome.returncode == 0, outcome.output
    state = json.loads(gcs.objects["strict/default.tfstate"].data)
    assert state["outputs"]["proof"]["value"] == "through-google-sts"
    # The lock file was written and removed again.
    assert "strict/default.tflock" not in gcs.objects
    account = strict_gcp["WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL"]
    assert (
        f"POST /v1/projects/-/serviceAccounts/{account}:generateAccessToken"
        in (standins.google.seen[served:])
    )


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ("other-workspace-sub", "rejected by the attribute condition"),
        ("expired", "The ID Token expired"),
        ("tampered", "Invalid ID Token signature"),
    ],
)
def test_gcs_backend_fails_on_a_refused_token(
    row: str,
    error: str,
    strict_gcp: dict[str, str],
    standins: StandIns,
    gcs: GcsStandIn,
    tmp_path: Path,
) -> None:
    exports = terraform.spoiled_exports(row, strict_gcp, "gcp", tmp_path / "creds")
    workdir = Workdir(tmp_path / "tf", "gcs")

    outcome = workdir.run(backend_config(gcs, f"refused-{row}"), {**exports, **overrides(standins)})

    assert outcome.returncode != 0
    assert "invalid_grant" in outcome.output, outcome.output
    assert error in outcome.output, outcome.output
    assert not any(name.startswith(f"refused-{row}/") for name in gcs.objects)
