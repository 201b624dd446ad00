"""examples/kubernetes-trust/ as a cluster would read it: the test API server is built from its
AuthenticationConfiguration and RBAC manifests (the issuer URL swapped for the test issuer),
and the real kubectl, with each phase's token from `injector env --phase`, gets exactly what
that phase's RoleBindings give."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from injector.job.example import EXAMPLE_ENV
from tests.conftest import ROOT, run_injector
from tests.standins.kube_apiserver import JwtAuthenticator, KubeApiServer
from tests.support import terraform
from tests.support.kubernetes import kubectl

if TYPE_CHECKING:
    from tests.standins.fixtures import StandIns

pytest_plugins = ["tests.standins.fixtures"]

TRUST = ROOT / "examples" / "kubernetes-trust"
EXAMPLE_ISSUER = "https://terrakube-api.example.com"
PHASED = "organization:{organization}:workspace:{workspace}:run_phase:{phase}"
# The verbs of the built-in ClusterRoles the example binds, on the resources the stand-in
# serves: `view` shows no Secrets, `edit` changes them (Kubernetes' default RBAC policy).
CLUSTER_ROLES = {
    "view": {},
    "edit": {("", "secrets"): {"get", "list", "watch", "create", "update", "patch", "delete"}},
}
PLURAL_GROUPS = {"": "secrets", "coordination.k8s.io": "leases"}


def _documents(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((TRUST / name).read_text()) if doc]


def authenticator(issuer: str) -> JwtAuthenticator:
    [jwt] = _documents("authentication-config.yaml")[0]["jwt"]
    assert jwt["issuer"]["url"] == EXAMPLE_ISSUER
    assert jwt["claimMappings"]["username"]["claim"] == "sub"
    return JwtAuthenticator(
        issuer=issuer,
        audiences=tuple(jwt["issuer"]["audiences"]),
        username_prefix=jwt["claimMappings"]["username"]["prefix"],
        algorithms=("RS256", "ES256"),
    )


def rbac() -> dict[str, dict[tuple[str, str], frozenset[str]]]:
    """Each bound user's verbs per (namespace, resource), from the Roles, RoleBindings and the
    built-in ClusterRoles above."""
    documents = _documents("rbac.yaml")
    roles: dict[tuple[str, str], dict[str, set[str]]] = {}
    for role in (doc for doc in documents if doc["kind"] == "Role"):
        granted: dict[str, set[str]] = {}
        for rule in role["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    assert PLURAL_GROUPS[group] == resource
                    granted.setdefault(resource, set()).update(rule["verbs"])
        roles[(role["metadata"]["namespace"], role["metadata"]["name"])] = granted
    table: dict[str, dict[tuple[str, str], frozenset[str]]] = {}
    for binding in (doc for doc in documents if doc["kind"] == "RoleBinding"):
        namespace, ref = binding["metadata"]["namespace"], binding["roleRef"]
        if ref["kind"] == "Role":
            granted = roles[(namespace, ref["name"])]
        else:
            granted = {res: set(verbs) for (_, res), verbs in CLUSTER_ROLES[ref["name"]].items()}
        for subject in binding["subjects"]:
            assert subject["kind"] == "User"
            user = table.setdefault(subject["name"], {})
            for resource, verbs in granted.items():
                key = (namespace, resource)
                user[key] = frozenset(user.get(key, frozenset()) | verbs)
    return table


@pytest.fixture(scope="module")
def trusting(standins: StandIns) -> Iterator[KubeApiServer]:
    server = KubeApiServer(
        authenticator(standins.issuer.url),
        rbac(),
        tls=standins.tls.server_context(),
        issuer_trust=standins.tls.client_context(),
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _phase_exports(
    env: dict[str, str], server: KubeApiServer, standins: StandIns, phase: str, folder: Path
) -> dict[str, str]:
    [jwt] = _documents("authentication-config.yaml")[0]["jwt"]
    workspace = {
        **terraform.only("ENABLE_DYNAMIC_CREDENTIALS_KUBERNETES", env),
        "DynamicCredentialSubjectTemplate": PHASED,
        "WORKLOAD_IDENTITY_AUDIENCE_KUBERNETES": jwt["issuer"]["audiences"][0],
        "KUBE_HOST": server.url,
        "KUBE_CLUSTER_CA_CERT_DATA": standins.tls.ca.cert_pem.bytes().decode(),
    }
    result = run_injector(
        "env", "--phase", phase, "--dir", str(folder), "--format", "json", env=workspace
    )
    assert result.returncode == 0, result.stderr
    exports: dict[str, str] = json.loads(result.stdout)
    return exports


@pytest.mark.parametrize(
    ("phase", "app_secrets"), [("plan", "Forbidden"), ("apply", "secret/")], ids=["plan", "apply"]
)
def test_each_phase_gets_what_its_bindings_give(
    phase: str,
    app_secrets: str,
    strict_workspace: dict[str, str],
    trusting: KubeApiServer,
    standins: StandIns,
    tmp_path: Path,
) -> None:
    trusting.objects[("simple-cli", "secrets", "app")] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "app", "namespace": "simple-cli", "resourceVersion": "1"},
    }
    exports = _phase_exports(strict_workspace, trusting, standins, phase, tmp_path / "creds")
    home = tmp_path / "home"

    whoami = kubectl(exports, home, "auth", "whoami", "-o", "json")
    state = kubectl(exports, home, "get", "secrets", "-n", "terraform-state", "-o", "name")
    app = kubectl(exports, home, "get", "secrets", "-n", "simple-cli", "-o", "name")

    expected = (
        f"terrakube:organization:{EXAMPLE_ENV['organizationName']}:"
        f"workspace:{EXAMPLE_ENV['workspaceName']}:run_phase:{phase}"
    )
    assert json.loads(whoami.stdout)["status"]["userInfo"]["username"] == expected
    assert state.returncode == 0, state.stderr
    assert app_secrets in app.stdout + app.stderr
