"""The real `terraform` with `backend "kubernetes"` (the state in a Secret, the lock in a Lease)
against the strict API server stand-in over TLS: `init` and `apply` authenticate with nothing
but injector's exports (a kubeconfig whose user reads the token file) and the cluster's
address and CA, as the workspace's RBAC user; a refused token fails them as a cluster would;
and an apply that outlives its one-minute token writes its state under `injector run`."""

from __future__ import annotations

import base64
import gzip
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from injector.job.example import JOB_EXAMPLE
from tests.conftest import KeyFiles
from tests.standins.accounts import SUBJECT
from tests.standins.kube_apiserver import KubeApiServer
from tests.support import terraform
from tests.support.kubernetes import NAMESPACE, PREFIX, cluster, kubernetes_env
from tests.support.terraform import NEGATIVE_ROWS, Outcome, Workdir

if TYPE_CHECKING:
    from tests.standins.fixtures import StandIns

pytest_plugins = ["tests.standins.fixtures", "tests.support.kubernetes_fixtures"]

SUFFIX = "state"
SLEEP_SECONDS = 70  # longer than the one-minute token


def backend_config() -> dict[str, str]:
    return {"secret_suffix": SUFFIX, "namespace": NAMESPACE}


def stored_state(server: KubeApiServer, suffix: str = SUFFIX) -> str:
    """The state the backend wrote for the default workspace: its Secret's `tfstate`, base64
    of gzip."""
    secret = server.objects.get((NAMESPACE, "secrets", f"tfstate-default-{suffix}"))
    if secret is None:
        return ""
    return gzip.decompress(base64.b64decode(secret["data"]["tfstate"])).decode()


def test_the_kubernetes_backend_keeps_state_as_the_workspaces_user(
    k8s_workspace: dict[str, str], apiserver: KubeApiServer, tmp_path: Path
) -> None:
    exports = terraform.injector_exports(k8s_workspace, tmp_path / "creds")
    workdir = Workdir(tmp_path / "tf", "kubernetes", marker="through-the-apiserver")
    # The cluster's address and CA are the workspace's own; the token reaches the backend
    # only through the kubeconfig injector wrote.
    cluster_env = {name: k8s_workspace[name] for name in ("KUBE_HOST", "KUBE_CLUSTER_CA_CERT_DATA")}

    outcome = workdir.run(backend_config(), {**exports, **cluster_env})

    assert outcome.returncode == 0, outcome.output
    assert '"through-the-apiserver"' in stored_state(apiserver)
    assert set(exports) >= {"KUBE_CONFIG_PATH", "KUBECONFIG"}
    assert "KUBE_TOKEN" not in exports
    lease = apiserver.objects[(NAMESPACE, "leases", f"lock-tfstate-default-{SUFFIX}")]
    assert lease["spec"].get("holderIdentity") is None  # taken, then given back
    users = {user for user, _ in apiserver.authenticated}
    assert users == {PREFIX + SUBJECT}


def test_the_kubernetes_backend_reads_kube_config_path_not_kubeconfig(
    k8s_workspace: dict[str, str], apiserver: KubeApiServer, tmp_path: Path
) -> None:
    exports = terraform.injector_exports(k8s_workspace, tmp_path / "creds")
    del exports["KUBE_CONFIG_PATH"]  # KUBECONFIG alone, which kubectl reads
    config = {**backend_config(), "secret_suffix": "kubeconfig-alone"}
    cluster_env = {name: k8s_workspace[name] for name in ("KUBE_HOST", "KUBE_CLUSTER_CA_CERT_DATA")}

    outcome = Workdir(tmp_path / "tf", "kubernetes").run(config, {**exports, **cluster_env})

    # Not even KUBE_HOST gets it going: with no kubeconfig path the backend has no
    # configuration to put the host into.
    assert outcome.returncode != 0
    assert "no configuration has been provided" in outcome.output, outcome.output
    assert stored_state(apiserver, "kubeconfig-alone") == ""


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ("other-workspace-sub", "is forbidden: User"),
        ("expired", "Unauthorized"),
        ("tampered", "Unauthorized"),
    ],
)
def test_the_kubernetes_backend_fails_on_a_refused_token(
    row: str,
    error: str,
    k8s_workspace: dict[str, str],
    apiserver: KubeApiServer,
    tmp_path: Path,
) -> None:
    assert row in NEGATIVE_ROWS
    exports = terraform.spoiled_exports(row, k8s_workspace, "kubernetes", tmp_path / "creds")
    workdir = Workdir(tmp_path / "tf", "kubernetes")
    config = {**backend_config(), "secret_suffix": f"refused-{row}"}

    outcome = workdir.run(config, exports)

    assert outcome.returncode != 0
    assert error in outcome.output, outcome.output
    assert "Apply complete" not in outcome.output
    assert stored_state(apiserver, f"refused-{row}") == ""


def _long_apply(how: str, root: Path, env: dict[str, str]) -> Outcome:
    workdir = Workdir(root / how, "kubernetes", marker=how, sleep_seconds=SLEEP_SECONDS)
    script = workdir.script({**backend_config(), "secret_suffix": how}, workdir.root / "job.sh")
    if how == "injector-run":
        wrapper = [sys.executable, "-m", "injector", "run", "--"]
        return terraform.run_wrapped(wrapper, script, workdir.environment(env))
    exports = terraform.injector_exports(env, workdir.root / "creds")
    cluster_env = {name: env[name] for name in ("KUBE_HOST", "KUBE_CLUSTER_CA_CERT_DATA")}
    return terraform.run_wrapped([], script, workdir.environment({**exports, **cluster_env}))


@pytest.fixture(scope="module")
def long_applies(
    key_files: KeyFiles, standins: StandIns, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, tuple[Outcome, str]]]:
    """An apply sleeping 70 s with a one-minute token, under `injector run` and with the
    token minted once: each one's outcome and the state it left."""
    server = cluster(standins.issuer.url, standins.tls)
    server.start()
    try:
        job = {
            **JOB_EXAMPLE,
            "DynamicCredentialPrivateKeyPath": str(key_files.private_pkcs8),
            "DynamicCredentialHostname": standins.issuer.url,
            "DynamicCredentialTtl": "1",
        }
        env = kubernetes_env(job, server, standins.tls)
        root = tmp_path_factory.mktemp("kubernetes-long")
        hows = ("injector-run", "env-once")
        with ThreadPoolExecutor(max_workers=len(hows)) as pool:
            futures = {how: pool.submit(_long_apply, how, root, env) for how in hows}
            outcomes = {how: future.result() for how, future in futures.items()}
        yield {how: (outcome, stored_state(server, how)) for how, outcome in outcomes.items()}
    finally:
        server.stop()


def test_an_apply_outliving_its_token_writes_its_state_under_injector_run(
    long_applies: dict[str, tuple[Outcome, str]],
) -> None:
    outcome, state = long_applies["injector-run"]

    assert outcome.returncode == 0, outcome.output
    assert "Apply complete! Resources: 1 added" in outcome.stdout
    assert '"injector-run"' in state
    # One minute is shorter than client-go keeps a token file's content: run says so.
    assert "too short for client-go" in outcome.stderr


def test_an_apply_outliving_a_token_minted_once_is_refused_by_the_cluster(
    long_applies: dict[str, tuple[Outcome, str]],
) -> None:
    outcome, state = long_applies["env-once"]

    assert outcome.returncode != 0
    assert "Unauthorized" in outcome.output, outcome.output
    assert '"env-once"' not in state
