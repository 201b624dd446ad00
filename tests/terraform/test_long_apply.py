"""The long-apply guarantee, with the real `terraform`: an apply that outlives its token
(DynamicCredentialTtl=1, a `local-exec` that sleeps 70 s) writes its state at the end on every
backend when it runs under `injector run` (`--token-endpoint` for azurerm), and fails the way
the cloud would when the token was minted once (`injector env` alone).

The stand-ins here issue cloud access tokens and credentials that live 5 seconds, so each
backend must log in again when it writes the state; Entra allows no clock skew (its real five
minutes would hide the expiry). The six applies run at once: they mostly sleep.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest

from injector.job.example import EXAMPLE_ENV
from tests.conftest import KeyFiles
from tests.standins.accounts import GCP_PROJECT, ROLE_ARN, SERVICE_ACCOUNT, SUBJECT
from tests.standins.aws_sts import TEST_CREDENTIALS, AwsStsStandIn
from tests.standins.azure_storage import AzureStorageStandIn
from tests.standins.entra import EntraStandIn
from tests.standins.gcs import GcsStandIn
from tests.standins.google import GoogleStandIn, Provider, ServiceAccount
from tests.support import terraform
from tests.support.terraform import Outcome, Workdir
from tests.terraform import test_azurerm, test_gcs, test_s3

if TYPE_CHECKING:
    from tests.standins.fixtures import StandIns

pytest_plugins = ["tests.standins.fixtures"]

SHORT_SECONDS = 5  # the life of every cloud access token or credential here
SLEEP_SECONDS = 70  # longer than the 60 s token
BACKENDS = ("s3", "gcs", "azurerm")
SWITCHES = {"s3": test_s3.SWITCH, "gcs": test_gcs.SWITCH, "azurerm": test_azurerm.SWITCH}
ERRORS = {"s3": "ExpiredTokenException", "gcs": "The ID Token expired", "azurerm": "AADSTS700024"}


@dataclass(frozen=True)
class LongApply:
    outcome: Outcome
    state: str  # what the backend holds at the key afterwards ("" when nothing)


@dataclass(frozen=True)
class ShortLived:
    aws: AwsStsStandIn
    google: GoogleStandIn
    gcs: GcsStandIn
    azure: tuple[EntraStandIn, AzureStorageStandIn]


@pytest.fixture(scope="module")
def short_lived(standins: StandIns, moto_endpoint: str) -> Iterator[ShortLived]:
    tls, issuer = standins.tls, standins.issuer
    aws = AwsStsStandIn(moto_endpoint, tls.client_context(), credential_seconds=SHORT_SECONDS)
    provider = Provider(
        resource=EXAMPLE_ENV["WORKLOAD_IDENTITY_AUDIENCE_GCP"],
        issuer=issuer.url,
        allowed_subjects=(SUBJECT,),
    )
    google = GoogleStandIn(
        providers=(provider,),
        service_accounts=(
            ServiceAccount(SERVICE_ACCOUNT, workload_identity_users=(provider.principal(SUBJECT),)),
        ),
        project=GCP_PROJECT,
        tls=tls.server_context(),
        issuer_trust=tls.client_context(),
        access_token_seconds=SHORT_SECONDS,
    )
    gcs = GcsStandIn(google, test_gcs.BUCKET, tls.server_context())
    entra, storage = test_azurerm.azure_cloud(
        issuer, tls, clock_skew_seconds=0, access_token_seconds=SHORT_SECONDS
    )
    servers = (aws, google, gcs, entra, storage)
    for server in servers:
        server.start()
    try:
        yield ShortLived(aws=aws, google=google, gcs=gcs, azure=(entra, storage))
    finally:
        for server in servers:
            server.stop()


def _workspace(key_files: KeyFiles, standins: StandIns, short: ShortLived) -> dict[str, str]:
    entra, _ = short.azure
    return {
        **EXAMPLE_ENV,
        "DynamicCredentialPrivateKeyPath": str(key_files.private_pkcs8),
        "DynamicCredentialHostname": standins.issuer.url,
        "DynamicCredentialTtl": "1",
        "WORKLOAD_IDENTITY_ROLE_AWS": ROLE_ARN,
        "AZURE_AUTHORITY_HOST": entra.url + "/",
        "WORKLOAD_IDENTITY_STS_URL_GCP": short.google.sts_url,
        "WORKLOAD_IDENTITY_IAM_URL_GCP": short.google.url,
    }


def _backend(
    backend: str, key: str, short: ShortLived, standins: StandIns, moto: str
) -> tuple[dict[str, str], dict[str, str]]:
    """The backend settings and the endpoint/CA overrides of `backend`."""
    if backend == "s3":
        return test_s3.backend_config(key), test_s3.endpoints(short.aws.url, moto)
    if backend == "gcs":
        return test_gcs.backend_config(short.gcs, key), test_gcs.overrides(standins)
    _, storage = short.azure
    return test_azurerm.backend_config(storage, key), test_azurerm.overrides(storage, standins.tls)


def _state(backend: str, key: str, short: ShortLived, moto: str) -> str:
    if backend == "s3":
        s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1", **TEST_CREDENTIALS)
        try:
            body: bytes = s3.get_object(Bucket=test_s3.BUCKET, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return ""
        return body.decode()
    if backend == "gcs":
        stored = short.gcs.objects.get(f"{key}/default.tfstate")
        return stored.data.decode() if stored else ""
    _, storage = short.azure
    blob = storage.blobs.get(key)
    return blob.data.decode() if blob else ""


def _one(
    backend: str,
    how: str,
    root: Path,
    workspace: dict[str, str],
    short: ShortLived,
    standins: StandIns,
    moto: str,
) -> LongApply:
    key = f"long-{how}" if backend == "gcs" else f"long-{how}.tfstate"
    config, overrides = _backend(backend, key, short, standins, moto)
    env = terraform.only(SWITCHES[backend], workspace)
    workdir = Workdir(root / f"{backend}-{how}", backend, marker=how, sleep_seconds=SLEEP_SECONDS)
    script = workdir.script(config, workdir.root / "job.sh")
    if how == "injector-run":
        wrapper = [sys.executable, "-m", "injector", "run"]
        if backend == "azurerm":
            wrapper.append("--token-endpoint")
        outcome = terraform.run_wrapped(
            [*wrapper, "--"], script, workdir.environment({**env, **overrides})
        )
    else:
        exports = terraform.injector_exports(env, workdir.root / "creds")
        outcome = terraform.run_wrapped([], script, workdir.environment({**exports, **overrides}))
    return LongApply(outcome, _state(backend, key, short, moto))


@pytest.fixture(scope="module")
def long_applies(
    key_files: KeyFiles,
    standins: StandIns,
    short_lived: ShortLived,
    moto_endpoint: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[tuple[str, str], LongApply]:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1", **TEST_CREDENTIALS)
    s3.create_bucket(Bucket=test_s3.BUCKET)  # idempotent in us-east-1
    root = tmp_path_factory.mktemp("long-applies")
    workspace = _workspace(key_files, standins, short_lived)
    runs = [(backend, how) for backend in BACKENDS for how in ("injector-run", "env-once")]
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        futures = {
            run: pool.submit(_one, *run, root, workspace, short_lived, standins, moto_endpoint)
            for run in runs
        }
        return {run: future.result() for run, future in futures.items()}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_long_apply_under_injector_run_writes_its_state(
    backend: str, long_applies: dict[tuple[str, str], LongApply]
) -> None:
    result = long_applies[(backend, "injector-run")]

    assert result.outcome.returncode == 0, result.outcome.output
    assert "Apply complete! Resources: 1 added" in result.outcome.stdout
    assert '"injector-run"' in result.state


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_long_apply_with_a_token_minted_once_fails_as_the_cloud_would(
    backend: str, long_applies: dict[tuple[str, str], LongApply]
) -> None:
    result = long_applies[(backend, "env-once")]

    assert result.outcome.returncode != 0
    assert ERRORS[backend] in result.outcome.output, result.outcome.output
    assert '"env-once"' not in result.state
