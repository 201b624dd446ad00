"""Fixtures for the signer's tests: a folder every uid can enter, holding a 0600 key owned by
the signer's uid (root), and the JWKS the issuer would publish for it."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from injector.config import job_context
from injector.job.example import EXAMPLE_ENV
from injector.signer import protocol
from tests.support import signer as support
from tests.support.jobs import switched_off

if TYPE_CHECKING:
    from tests.standins.fixtures import TestTls

NOBODY = support.NOBODY
# A uid no policy names and no account has: the flooder, the impostor.
STRANGER = 4242
POLICY = f"""
[[allow]]
uid = {NOBODY}
subjects = ["organization:simple:workspace:*"]
caller_names_context = true

[[allow]]
uid = 0
subjects = ["*"]
caller_names_context = true
"""


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
    env.update(switched_off("vault_backed_aws"))
    # Kubernetes' tests point it at a cluster of theirs (tests/support/kubernetes.py).
    env["ENABLE_DYNAMIC_CREDENTIALS_KUBERNETES"] = "false"
    return {**env, "DynamicCredentialSigner": f"unix:{socket}", **changes}


@pytest.fixture
def scratch(custody: Custody) -> Path:
    """A per-test folder under the shared one; `job/` in it belongs to nobody."""
    folder = Path(tempfile.mkdtemp(dir=custody.folder))
    folder.chmod(0o755)
    support.owned_by(folder / "job", NOBODY)
    return folder


@contextmanager
def attested_endpoint(
    custody: Custody, github_url: str, test_tls: TestTls, allow: str
) -> Iterator[tuple[support.Signer, str]]:
    """A signer trusting the stand-in GitHub at `github_url` (`[[attestation]]` "github") with
    the `[[allow]]` entries `allow`, its token endpoint over TLS of the test CA; the signer and
    its URL."""
    from tests.standins.platforms import github_table

    folder = Path(tempfile.mkdtemp(dir=custody.folder))
    (folder / "policy.toml").write_text(github_table(github_url, test_tls.ca_file) + allow)
    signer, url = support.start_https_signer(
        support.signer_env(custody.key), folder, test_tls.certfile, test_tls.keyfile
    )
    try:
        yield signer, url
    finally:
        signer.stop()


def write_policy(folder: Path, text: str = POLICY, name: str = "policy.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def start(
    custody: Custody,
    scratch: Path,
    policy: str = POLICY,
    *args: str,
    prefix: Sequence[str] = (),
) -> support.Signer:
    """The signer on `scratch`/signer.sock, mode 0666 (any uid may connect; the policy
    decides); `prefix`: a command it runs under (`unshare ...`: namespaces of its own)."""
    return support.start_signer(
        custody.env,
        scratch / "signer.sock",
        "--policy",
        str(write_policy(scratch, policy)),
        "--socket-mode",
        "0666",
        *args,
        prefix=prefix,
    )


def aws_request(**changes: object) -> bytes:
    """The example job's request for one AWS token, with `changes` to the document."""
    request = protocol.TokenRequest(
        job=job_context.from_env(EXAMPLE_ENV), audiences=("aws.workload.identity",)
    )
    document = {**protocol.decode(request.encoded()), **changes}
    return protocol.encode(document)


_SENDER = """
import json, socket, sys
path = sys.argv[1]
for payload in json.load(sys.stdin):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(30)
        connection.connect(path)
        connection.sendall(payload.encode("latin-1"))
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    print(answer.decode().strip() or "null", flush=True)
"""


def send_as(
    uid: int, socket: Path, payloads: list[bytes], groups: Sequence[int] = ()
) -> list[dict[str, object] | None]:
    """Each payload on a connection of its own, sent by a process of `uid` (and `groups`) with
    the raw wire format; the answers (None: closed without one)."""
    import json
    import subprocess

    result = subprocess.run(
        [support.SYSTEM_PYTHON, "-c", _SENDER, str(socket)],
        input=json.dumps([payload.decode("latin-1") for payload in payloads]),
        preexec_fn=lambda: support.as_user(uid, groups),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [json.loads(line) for line in result.stdout.splitlines()]
