"""Fixtures `apiserver` (the stand-in API server, for a module) and `k8s_workspace` (the
strict workspace with only Kubernetes enabled, pointed at it).

Load with `pytest_plugins = ["tests.standins.fixtures", "tests.support.kubernetes_fixtures"]`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.standins.kube_apiserver import KubeApiServer
from tests.support.kubernetes import cluster, kubernetes_env

if TYPE_CHECKING:
    from tests.standins.fixtures import StandIns


@pytest.fixture(scope="module")
def apiserver(standins: StandIns) -> Iterator[KubeApiServer]:
    server = cluster(standins.issuer.url, standins.tls)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def k8s_workspace(
    strict_workspace: dict[str, str], apiserver: KubeApiServer, standins: StandIns
) -> dict[str, str]:
    return kubernetes_env(strict_workspace, apiserver, standins.tls)
