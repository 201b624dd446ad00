"""Helpers for the issuer tests and `make bench`: real `injector serve` and nginx processes on
127.0.0.1, and token verification with two independent JOSE libraries (pyjwt, joserfc).

No pytest here: bench/ uses the process helpers too. A missing nginx raises with the command
that installs it; tests fail on it rather than skip.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet

from tests.support import processes

if TYPE_CHECKING:
    # Only annotations use them: no import at run time, whatever the pinned release names.
    from joserfc.jwk import KeySetSerialization
    from jwt.types import Options

NGINX_MISSING = (
    "nginx is not installed: the issuer tests serve the published documents with it. "
    "Install it with `bash scripts/system-packages` (as root) or "
    "`apt-get install -y --no-install-recommends nginx`."
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def fetch(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    context: ssl.SSLContext | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status, _lower(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers.items()), error.read()


def _lower(items: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


def fetch_json(url: str, context: ssl.SSLContext | None = None) -> dict[str, Any]:
    status, _, body = fetch(url, context=context)
    if status != 200:
        raise AssertionError(f"GET {url}: status {status}")
    document: dict[str, Any] = json.loads(body)
    return document


def _wait_until_up(
    url: str,
    process: subprocess.Popen[bytes],
    what: str,
    context: ssl.SSLContext | None = None,
    *,
    any_status: bool = False,
) -> None:
    """Poll `url` until it answers 200 (any status with `any_status`); raise RuntimeError if
    the process exits first or 30 s pass."""
    deadline = time.monotonic() + 30
    while True:
        try:
            status = fetch(url, context=context)[0]
            if any_status or status == 200:
                return
        except OSError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode} before serving")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not answer {url} within 30 s")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    """Send `sig`, wait for the exit and return its status (killed after 20 s)."""
    return processes.stop(process, sig)


def injector_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "injector", *args]


def clean_env(env: Mapping[str, str]) -> dict[str, str]:
    """Only `env`, plus what Python needs: as tests/conftest.py's run_injector does."""
    return {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", **env}


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[bytes]
    base: str  # scheme://127.0.0.1:port
    port: int


@contextmanager
def injector_serve(
    env: Mapping[str, str],
    *args: str,
    context: ssl.SSLContext | None = None,
    stderr: Any = subprocess.DEVNULL,
) -> Iterator[Server]:
    """A real `injector serve` process on a port chosen now; stopped with SIGTERM."""
    port = free_port()
    scheme = "https" if context is not None else "http"
    process = processes.spawn(
        injector_command("serve", "--port", str(port), *args),
        env=clean_env(env),
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    server = Server(process, f"{scheme}://127.0.0.1:{port}", port)
    try:
        _wait_until_up(f"{server.base}/healthz", process, "injector serve", context)
        yield server
    finally:
        stop(process)


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise RuntimeError(NGINX_MISSING)
    return found


def nginx_config(root: Path, folder: Path, port: int, *, workers: int, max_age: int) -> str:
    """nginx serving `root` as the published folder: everything under /.well-known/ as
    application/json (the files have no extension) with Cache-Control, the README's way."""
    # Running as root, nginx would switch its workers to `nobody`, who cannot read pytest's
    # private temporary folders: keep the current user instead.
    user = ""
    if os.geteuid() == 0:
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};"
    return f"""
daemon off;
worker_processes {workers};
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
{user}
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location /.well-known/ {{
            default_type application/json;
            add_header Cache-Control "public, max-age={max_age}" always;
        }}
    }}
}}
"""


@contextmanager
def nginx(root: Path, folder: Path, *, workers: int = 1, max_age: int = 300) -> Iterator[Server]:
    """A real nginx (master and workers) serving `root`; its config, pid, logs and temporary
    files in `folder`; stopped with SIGQUIT (graceful)."""
    binary = nginx_binary()
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = folder / "nginx.conf"
    config.write_text(nginx_config(root, folder, port, workers=workers, max_age=max_age))
    process = processes.spawn(
        [binary, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = Server(process, f"http://127.0.0.1:{port}", port)
    try:
        try:
            # The folder may still be empty: any answer means nginx is up.
            _wait_until_up(f"{server.base}/", process, "nginx", any_status=True)
        except RuntimeError as error:
            log = folder / "error.log"
            details = log.read_text() if log.exists() else ""
            raise RuntimeError(f"{error}\n{details}") from None
        yield server
    finally:
        stop(process, signal.SIGQUIT)


# verification


def public_key(pem: bytes) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    """A PEM public key of the two kinds injector signs with, the only ones pyjwt and
    `jwk.public_jwk` take; TypeError for any other kind."""
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise TypeError(f"not an RSA or EC public key: {type(key).__name__}")
    return key


def verify(
    token: str, jwks: Mapping[str, Any], *, audience: str, issuer: str, now: int | None = None
) -> dict[str, Any]:
    """Verify `token` against `jwks` with pyjwt and, independently, joserfc, each picking the
    key by `kid`; return the claims. `now` (default: the clock) is when joserfc checks `exp`,
    `iat` and `nbf`; pyjwt then checks only the signature, `aud` and `iss`.

    Raises whatever the libraries raise for a token they refuse.
    """
    kid = jwt.get_unverified_header(token)["kid"]
    pyjwk = jwt.PyJWKSet.from_dict(dict(jwks))[kid]
    timeless: Options = {"verify_exp": False, "verify_iat": False, "verify_nbf": False}
    options: Options = {} if now is None else timeless
    claims: dict[str, Any] = jwt.decode(
        token,
        pyjwk.key,
        algorithms=[pyjwk.algorithm_name],
        audience=audience,
        issuer=issuer,
        options=options,
    )
    key_set_document: KeySetSerialization = {"keys": jwks["keys"]}
    key_set = KeySet.import_key_set(key_set_document)
    decoded = jose_jwt.decode(token, key_set, algorithms=[pyjwk.algorithm_name])
    registry = jose_jwt.JWTClaimsRegistry(
        now=now,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
    )
    registry.validate(decoded.claims)
    if decoded.claims != claims:
        raise AssertionError("pyjwt and joserfc disagree on the claims")
    if decoded.header["alg"] != pyjwk.algorithm_name:
        raise AssertionError("the token's alg is not its key's")
    return claims


ISSUER_HOST = "terrakube-api.example.com"


def make_issuer_keys(folder: Path) -> Path:
    """Three key pairs under `folder`: `rsa/` (signing), `ec/` and `rsa512/` (published too)."""
    from injector.issuer import keygen

    for name, kind in (("rsa", "rsa"), ("ec", "ec"), ("rsa512", "rsa")):
        keygen.write(folder / name, keygen.generate(kind, None))
    return folder


def issuer_environment(keys_dir: Path) -> dict[str, str]:
    """The issuer: an RS256 signing key, plus an ES256 and an RS512 key published beside it."""
    from injector.config import issuer_settings

    return {
        issuer_settings.HOSTNAME: ISSUER_HOST,
        issuer_settings.KEY_ID: "rsa-256",
        issuer_settings.PRIVATE_KEY_PATH: str(keys_dir / "rsa/private.pem"),
        issuer_settings.ADDITIONAL_KEYS: (
            f"ec-256={keys_dir / 'ec/public.pem'},rsa-512:RS512={keys_dir / 'rsa512/public.pem'}"
        ),
    }
