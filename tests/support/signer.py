"""Helpers for the signer's tests and `make bench`: a real `injector signer` process, a folder
another uid can reach, and the job side run as that uid with Debian's stdlib-only Python.

The signer runs as the test process's uid (root, which owns the 0600 key); the job runs as
`nobody` (65534) through /usr/bin/python3 with PYTHONPATH at a copy of the package that uid can
read (`reachable`), which works only because the job's path through the signer needs nothing
outside the standard library.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from tests.support import processes, reachable

if TYPE_CHECKING:
    from injector.signer.protocol import TokenRequest

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534
SYSTEM_PYTHON = "/usr/bin/python3"
ISSUER_HOST = "terrakube-api.example.com"
ISSUER = f"https://{ISSUER_HOST}"


def shared_folder() -> Path:
    """A fresh folder under /tmp that every uid may enter (pytest's tmp_path is root-only)."""
    folder = Path(tempfile.mkdtemp(prefix="injector-signer-"))
    folder.chmod(0o755)
    return folder


def owned_by(path: Path, uid: int, mode: int = 0o700) -> Path:
    path.mkdir(exist_ok=True)
    os.chown(path, uid, uid)
    path.chmod(mode)
    return path


def make_key(folder: Path) -> Path:
    """An RSA-2048 signing key, 0600, owned by the signer's uid."""
    key = folder / "signing-key.pem"
    subprocess.run(
        [
            "openssl",
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            str(key),
        ],
        check=True,
        capture_output=True,
    )
    key.chmod(0o600)
    return key


def signer_env(key: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "LANG": "C.UTF-8",
        "DynamicCredentialPrivateKeyPath": str(key),
        "DynamicCredentialHostname": ISSUER_HOST,
        "DynamicCredentialId": "signer-kid",
        **extra,
    }


def connects(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
        return True


class AuditLine(TypedDict, total=False):
    """One audit line as injector/signer/service.py writes it; which keys a line has depends on
    how far the request got."""

    time: str
    remote: str
    uid: int
    gid: int
    pid: int
    pid_visible: bool
    groups: list[int]
    sub: str
    aud: list[str]
    attestation: str
    platform_iss: str
    platform_sub: str
    caller_named: bool
    decision: str
    reason: str
    refused: int
    jti: list[str]
    exp: int
    ttl_minutes: int
    clipped: bool


@dataclass
class Signer:
    process: subprocess.Popen[str]
    socket: Path
    stderr_path: Path
    args: list[str] = field(default_factory=list)

    def audit(self) -> list[AuditLine]:
        """The JSON audit lines written so far (other lines, logs, are skipped)."""
        lines = self.stderr_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def stop(self) -> int:
        return processes.stop(self.process)

    def wait_for_log(self, text: str, seconds: float = 30) -> str:
        """The signer's stderr once it holds `text` (a reload is done in the signer's loop, after
        the signal); AssertionError with what it said if it exits or `seconds` pass first."""
        deadline = time.monotonic() + seconds
        while text not in (said := self.stderr_path.read_text()):
            assert self.process.poll() is None, f"signer exited {self.process.returncode}: {said}"
            assert time.monotonic() < deadline, f"no {text!r} within {seconds} s: {said}"
            time.sleep(0.02)
        return said


def start_signer(
    env: Mapping[str, str],
    socket_path: Path,
    *args: str,
    stderr_path: Path | None = None,
    prefix: Sequence[str] = (),
) -> Signer:
    """`injector signer --socket PATH ARGS` until it accepts connections (RuntimeError if it
    exits first or takes over 30 s); `prefix`: a command it runs under (`unshare ...`)."""
    stderr_path = stderr_path or socket_path.with_suffix(".stderr")
    command = [
        *prefix,
        sys.executable,
        "-m",
        "injector",
        "signer",
        "--socket",
        str(socket_path),
        *args,
    ]
    with stderr_path.open("a") as stderr:
        process = processes.spawn(command, env=dict(env), stderr=stderr, text=True, cwd=ROOT)
    deadline = time.monotonic() + 30
    while not connects(socket_path):
        if process.poll() is not None:
            processes.stop(process)
            raise RuntimeError(f"signer exited {process.returncode}: {stderr_path.read_text()}")
        if time.monotonic() > deadline:
            processes.stop(process, signal.SIGKILL)
            raise RuntimeError("signer did not listen within 30 s")
        time.sleep(0.02)
    return Signer(process, socket_path, stderr_path, command)


def start_https_signer(
    env: Mapping[str, str], folder: Path, certfile: Path, keyfile: Path, *args: str
) -> tuple[Signer, str]:
    """`injector signer ARGS` with `folder/policy.toml`, its socket in `folder`, and the token
    exchange endpoint on a free port of 127.0.0.1 over TLS; the signer and the endpoint's URL."""
    from tests.conftest import free_port

    port = free_port()
    signer = start_signer(
        env,
        folder / "signer.sock",
        "--policy",
        str(folder / "policy.toml"),
        "--listen",
        f"127.0.0.1:{port}",
        "--certfile",
        str(certfile),
        "--keyfile",
        str(keyfile),
        *args,
    )
    return signer, f"https://127.0.0.1:{port}"


@contextmanager
def keyless_endpoint(
    key: Path, issuer_url: str, policy: str, *, ca_file: Path, certfile: Path, keyfile: Path
) -> Iterator[tuple[Signer, str, Path]]:
    """A signer minting as the issuer at `issuer_url` (`key` under the default kid, which the
    clouds' stand-ins trust) with the `policy` text, its token exchange over TLS (`certfile`,
    `keyfile` of the CA in `ca_file`): the signer, the endpoint's URL, and a folder every uid
    may enter, holding that CA as `ca.pem` for the jobs. Stopped and removed on the way out."""
    from injector.config.issuer_settings import DEFAULT_KEY_ID

    folder = shared_folder()
    try:
        shutil.copy(ca_file, folder / "ca.pem")
        (folder / "ca.pem").chmod(0o644)
        (folder / "policy.toml").write_text(policy)
        env = signer_env(
            key, DynamicCredentialHostname=issuer_url, DynamicCredentialId=DEFAULT_KEY_ID
        )
        signer, url = start_https_signer(env, folder, certfile, keyfile)
        try:
            yield signer, url, folder
        finally:
            signer.stop()
    finally:
        remove(folder)


@contextmanager
def running_signer(env: Mapping[str, str], socket_path: Path, *args: str) -> Iterator[Signer]:
    signer = start_signer(env, socket_path, *args)
    try:
        yield signer
    finally:
        signer.stop()


def ask(signer: Signer, request: TokenRequest) -> dict[str, object]:
    """The signer's answer to `request`, sent on its socket by this process (root)."""
    from injector.signer import protocol

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(30)
        connection.connect(str(signer.socket))
        connection.sendall(request.encoded())
        return protocol.read_message(connection, protocol.MAX_ANSWER_BYTES)


def as_user(uid: int, groups: Sequence[int] = ()) -> None:
    """preexec_fn: become `uid` (its own gid too), with only `groups` as supplementary groups."""
    os.setgroups(list(groups))
    os.setgid(uid)
    os.setuid(uid)


def job_as(
    uid: int,
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    cwd: Path | None = None,
    python: str = SYSTEM_PYTHON,
    timeout: float = 60,
    groups: Sequence[int] = (),
) -> subprocess.CompletedProcess[str]:
    """`python -m injector ARGS` as `uid`, with Debian's Python (no venv, no cryptography)."""
    return subprocess.run(
        [python, "-m", "injector", *args],
        env={
            "PATH": os.environ["PATH"],
            "LANG": "C.UTF-8",
            "PYTHONPATH": reachable.python_path(),
            **env,
        },
        cwd=cwd or "/",
        preexec_fn=(lambda: as_user(uid, groups)) if uid != os.getuid() else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def jwks(key: Path) -> dict[str, object]:
    """The JWKS the issuer would publish for `key` (`injector jwks`)."""
    result = subprocess.run(
        [sys.executable, "-m", "injector", "jwks"],
        env=signer_env(key),
        capture_output=True,
        text=True,
        check=True,
    )
    document: dict[str, object] = json.loads(result.stdout)
    return document


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
