"""The `platforms` fixture: GitHub, GitLab, Kubernetes (EC key) and Jenkins stand-ins over HTTPS
of the test CA; `reviewer`: the Kubernetes stand-in's TokenReview API. Load with
`pytest_plugins = ["tests.standins.fixtures", "tests.standins.platform_fixtures"]`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.standins.kube_token_review import CREDENTIAL, TokenReviewer
from tests.standins.platforms import PlatformIssuer, Platforms

if TYPE_CHECKING:
    from tests.standins.fixtures import TestTls


@pytest.fixture(scope="module")
def platforms(test_tls: TestTls) -> Iterator[Platforms]:
    from injector.diagnostics import fetch
    from injector.signer.attestation import fetching

    fetching.use(fetch)  # what `injector signer` does at start
    github = PlatformIssuer(test_tls.server_context())
    gitlab = PlatformIssuer(test_tls.server_context())
    kubernetes = PlatformIssuer(test_tls.server_context(), curve=True)
    jenkins = PlatformIssuer(test_tls.server_context(), path="/oidc")
    started = [github, gitlab, kubernetes, jenkins]
    try:
        yield Platforms(github, gitlab, kubernetes, jenkins, ca_file=str(test_tls.ca_file))
    finally:
        for platform in started:
            platform.stop()


@pytest.fixture(scope="module")
def reviewer(test_tls: TestTls) -> Iterator[TokenReviewer]:
    """The cluster's TokenReview API, answering callers that present CREDENTIAL."""
    started = TokenReviewer(test_tls.server_context(), CREDENTIAL)
    yield started
    started.stop()
