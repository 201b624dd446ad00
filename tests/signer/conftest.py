"""Fixtures for the signer's tests: a folder every uid can enter, holding a 0600 key owned by
the signer's uid (root), and the JWKS the issuer would publish for it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from injector.job.example import EXAMPLE_ENV
from tests.support import signer as support


@dataclass(frozen=True)
class Custody:
    folder: Path  # 0755: the job's uid can reach the socket
    key: Path  # 0600, root's
    jwks: dict[str, object]

    @property
    def env(self) -> dict[str, str]:
        return support.signer_env(self.key)


@pytest.fixture(scope="module")
def custody() -> Iterator[Custody]:
    folder = support.shared_folder()
    try:
        key = support.make_key(folder)
        yield Custody(folder=folder, key=key, jwks=support.jwks(key))
    finally:
        support.remove(folder)


def job_env(socket: Path, **changes: str) -> dict[str, str]:
    """The example workspace (three clouds), minting through the signer at `socket`."""
    env = {
        name: value
        for name, value in EXAMPLE_ENV.items()
        if not name.startswith("DynamicCredential") and name != "TerrakubeHostname"
    }
    # Vault's login needs a Vault server (and httpx): tests/e2e/test_vault_login.py has one.
    env["ENABLE_DYNAMIC_CREDENTIALS_VAULT"] = "false"
    env["ENABLE_DYNAMIC_CREDENTIALS_VAULT_BACKED_AWS"] = "false"
    # Kubernetes' tests point it at a cluster of theirs (tests/support/kubernetes.py).
    env["ENABLE_DYNAMIC_CREDENTIALS_KUBERNETES"] = "false"
    return {**env, "DynamicCredentialSigner": f"unix:{socket}", **changes}
