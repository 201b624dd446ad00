"""The real `terraform` with `backend "azurerm"`: `init` and `apply` log in with nothing but
injector's exports (plus the metadata host and the test CA), through the strict Entra stand-in,
a metadata host, Resource Manager's storage account lookup and a fake Blob service, and fail
where Entra would refuse the assertion."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from injector.job.example import EXAMPLE_ENV
from tests.standins.accounts import AZURE_AUDIENCE, SUBJECT
from tests.standins.azure_storage import STORAGE, AzureStorageStandIn
from tests.standins.entra import (
    ACCESS_TOKEN_SECONDS,
    CLOCK_SKEW_SECONDS,
    MANAGEMENT,
    EntraStandIn,
    FederatedCredential,
    Tenant,
)
from tests.support import terraform
from tests.support.terraform import Workdir

if TYPE_CHECKING:
    from tests.standins.fixtures import Issuer, StandIns, TestTls

pytest_plugins = ["tests.standins.fixtures"]

SWITCH = "ENABLE_DYNAMIC_CREDENTIALS_AZURE"
CONTAINER = "tfstate"


def azure_cloud(
    issuer: Issuer,
    tls: TestTls,
    *,
    clock_skew_seconds: int = CLOCK_SKEW_SECONDS,
    access_token_seconds: int = ACCESS_TOKEN_SECONDS,
) -> tuple[EntraStandIn, AzureStorageStandIn]:
    """Entra, the metadata host, ARM and a storage account, set up for the example workspace."""
    tenant = Tenant(
        tenant_id=EXAMPLE_ENV["ARM_TENANT_ID"],
        apps={
            EXAMPLE_ENV["ARM_CLIENT_ID"]: [
                FederatedCredential(issuer=issuer.url, subject=SUBJECT, audiences=(AZURE_AUDIENCE,))
            ]
        },
        subscriptions=(EXAMPLE_ENV["ARM_SUBSCRIPTION_ID"],),
    )
    entra = EntraStandIn(
        tenant,
        tls.server_context(),
        tls.client_context(),
        clock_skew_seconds=clock_skew_seconds,
        access_token_seconds=access_token_seconds,
    )
    storage = AzureStorageStandIn(
        entra,
        tls.server_context(),
        subscription=EXAMPLE_ENV["ARM_SUBSCRIPTION_ID"],
        resource_group="terraform",
        account="injectorstate",
        container=CONTAINER,
    )
    entra.resources = (MANAGEMENT, storage.url, STORAGE)
    return entra, storage


@pytest.fixture(scope="module")
def azure(standins: StandIns) -> Iterator[tuple[EntraStandIn, AzureStorageStandIn]]:
    entra, storage = azure_cloud(standins.issuer, standins.tls)
    entra.start()
    storage.start()
    try:
        yield entra, storage
    finally:
        storage.stop()
        entra.stop()


def backend_config(storage: AzureStorageStandIn, key: str) -> dict[str, str]:
    return {
        "storage_account_name": storage.account,
        "container_name": CONTAINER,
        "key": key,
        "resource_group_name": storage.resource_group,
        "use_azuread_auth": "true",
        # Ask ARM for the blob endpoint instead of making up <account>.blob.<suffix> (DNS).
        "lookup_blob_endpoint": "true",
    }


def overrides(storage: AzureStorageStandIn, tls: TestTls) -> dict[str, str]:
    return {"ARM_METADATA_HOSTNAME": storage.metadata_host, "SSL_CERT_FILE": str(tls.ca_file)}


@pytest.fixture
def strict_azure(strict_workspace: dict[str, str]) -> dict[str, str]:
    return terraform.only(SWITCH, strict_workspace)


def test_azurerm_backend_through_the_strict_standin(
    strict_azure: dict[str, str],
    standins: StandIns,
    azure: tuple[EntraStandIn, AzureStorageStandIn],
    tmp_path: Path,
) -> None:
    entra, storage = azure
    exports = terraform.injector_exports(strict_azure, tmp_path / "creds")
    workdir = Workdir(tmp_path / "tf", "azurerm", marker="through-entra")

    outcome = workdir.run(
        backend_config(storage, "strict.tfstate"), {**exports, **overrides(storage, standins.tls)}
    )

    assert outcome.returncode == 0, (outcome.output, entra.seen, storage.seen, storage.blob_seen)
    state = json.loads(storage.blobs["strict.tfstate"].data)
    assert state["outputs"]["proof"]["value"] == "through-entra"
    assert storage.blobs["strict.tfstate"].lease is None  # the lock was released


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ("other-workspace-sub", "AADSTS70021"),
        ("expired", "AADSTS700024"),
        ("tampered", "AADSTS700027"),
    ],
)
def test_azurerm_backend_fails_on_a_refused_token(
    row: str,
    error: str,
    strict_azure: dict[str, str],
    standins: StandIns,
    azure: tuple[EntraStandIn, AzureStorageStandIn],
    tmp_path: Path,
) -> None:
    _, storage = azure
    exports = terraform.spoiled_exports(row, strict_azure, "azure", tmp_path / "creds")
    workdir = Workdir(tmp_path / "tf", "azurerm")

    outcome = workdir.run(
        backend_config(storage, f"refused-{row}.tfstate"),
        {**exports, **overrides(storage, standins.tls)},
    )

    assert outcome.returncode != 0
    assert error in outcome.output, outcome.output
    assert f"refused-{row}.tfstate" not in storage.blobs
