"""Stand-in platforms (GitHub, GitLab, Kubernetes with an EC key) over HTTPS of the test CA, and
attestations of the signer that trust them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from injector.signer.attestation import settings
from injector.signer.attestation.verify import Attestation
from tests.standins.platforms import PlatformIssuer

if TYPE_CHECKING:
    from tests.standins.fixtures import TestTls

AUDIENCE = "https://signer.example.com"


@dataclass(frozen=True)
class Platforms:
    github: PlatformIssuer
    gitlab: PlatformIssuer
    kubernetes: PlatformIssuer
    ca_file: str

    def attestation(self, kind: str, **table: Any) -> Attestation:
        """An attestation as the policy's `[[attestation]]` table would make it."""
        issuer = getattr(self, kind if kind != "oidc" else "github")
        (made,) = settings.load(
            "policy.toml",
            [
                {
                    "name": kind,
                    "kind": kind,
                    "issuer": issuer.url,
                    "audience": AUDIENCE,
                    "ca_bundle": self.ca_file,
                    **table,
                }
            ],
        )
        return made


@pytest.fixture(scope="module")
def platforms(test_tls: TestTls) -> Iterator[Platforms]:
    started = [
        PlatformIssuer(test_tls.server_context()),
        PlatformIssuer(test_tls.server_context()),
        PlatformIssuer(test_tls.server_context(), curve=True),
    ]
    try:
        yield Platforms(*started, ca_file=str(test_tls.ca_file))
    finally:
        for platform in started:
            platform.stop()
