"""`doctor --login` against a hostile server: the Kubernetes API server named by KUBE_HOST
(TLS from the test CA) answers the SelfSubjectReview with a redirect to another host over
plain HTTP. The job's bearer token goes only to KUBE_HOST, never where it redirects."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.conftest import run_injector
from tests.hostile.servers import Hostile
from tests.support import terraform
from tests.support.kubernetes import AUDIENCE, SWITCH

if TYPE_CHECKING:
    from tests.standins.fixtures import TestTls

pytest_plugins = ["tests.standins.fixtures"]


def _answer(connection: socket.socket, status: str, *headers: str) -> None:
    head = [f"HTTP/1.1 {status}", *headers, "Content-Length: 0", "Connection: close"]
    connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode())


def test_a_cluster_redirecting_the_review_elsewhere_does_not_get_the_token_sent_there(
    hostile: Callable[..., Hostile], workspace: dict[str, str], test_tls: TestTls
) -> None:
    elsewhere = hostile(lambda c, _s: _answer(c, "200 OK"), tls=False)
    where = f"{elsewhere.base}/apis/authentication.k8s.io/v1/selfsubjectreviews"
    cluster = hostile(lambda c, _s: _answer(c, "302 Found", f"Location: {where}"))
    env = {
        **terraform.only(SWITCH, workspace),
        "WORKLOAD_IDENTITY_AUDIENCE_KUBERNETES": AUDIENCE,
        "KUBE_HOST": cluster.base,
        "KUBE_CLUSTER_CA_CERT_DATA": test_tls.ca.cert_pem.bytes().decode(),
    }
    result = run_injector("doctor", "--login", env=env)
    assert cluster.connections == 1
    assert b"authorization: bearer" in cluster.requests[0].lower()
    assert elsewhere.connections == 0, elsewhere.requests
    [line] = [line for line in result.stdout.splitlines() if "kubernetes.login" in line]
    assert "302" in line, result.stdout
    assert "Traceback" not in result.stderr + result.stdout
