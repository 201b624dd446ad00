"""Vault as a hostile server: a stand-in on 127.0.0.1 over TLS (the test CA, as VAULT_CACERT)
that drips its login answer, floods it, redirects it elsewhere, hands over a token no header can
carry, or echoes the JWT and the Vault token in its errors. Each case runs the real `injector
env` or `run`; the JWT and the token never reach stdout or stderr, and the job ends in time."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from injector.clouds import vault
from injector.net import redact
from tests.conftest import run_injector
from tests.hostile.servers import Hostile, drip

if TYPE_CHECKING:
    from tests.standins.fixtures import TestTls

pytest_plugins = ["tests.standins.fixtures"]

TOKEN = "hvs.CAESIhostileTokenThatMustNeverShow0123456789"  # a fake
Start = Callable[..., Hostile]


def _answer(connection: socket.socket, status: str, body: bytes, *extra: str) -> None:
    head = [f"HTTP/1.1 {status}", "Content-Type: application/json", *extra]
    head.append(f"Content-Length: {len(body)}")
    connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)


def _login_body(token: str = TOKEN, ttl: int = 3600) -> bytes:
    auth = {"client_token": token, "accessor": "acc", "lease_duration": ttl, "renewable": True}
    return json.dumps({"auth": {**auth, "policies": ["default"]}}).encode()


def _jwt_of(server: Hostile) -> str:
    """The JWT the stand-in received in a login's body."""
    for request in server.requests:
        head, _, body = request.partition(b"\r\n\r\n")
        if b"/login " in head.split(b"\r\n")[0] and body:
            jwt: str = json.loads(body)["jwt"]
            return jwt
    raise AssertionError("no login reached the stand-in")


def _paths(server: Hostile) -> list[str]:
    return [request.split(b" ", 2)[1].decode() for request in server.requests if request]


@pytest.fixture
def job(workspace: dict[str, str], test_tls: TestTls) -> Callable[[Hostile], dict[str, str]]:
    def environment(server: Hostile) -> dict[str, str]:
        return {
            **workspace,
            "ENABLE_DYNAMIC_CREDENTIALS_AWS": "false",
            "ENABLE_DYNAMIC_CREDENTIALS_AZURE": "false",
            "ENABLE_DYNAMIC_CREDENTIALS_GCP": "false",
            vault.ENABLE: "true",
            vault.ADDRESS: server.base,
            vault.CA_CERT: str(test_tls.ca_file),
            vault.ROLE: "terrakube",
        }

    return environment


def _failed(result_stderr: str, returncode: int, *secrets: str) -> None:
    assert returncode == 1, result_stderr
    assert "Traceback" not in result_stderr
    for secret in secrets:
        assert secret not in result_stderr


@pytest.mark.parametrize("command", ["env", "doctor"])
def test_a_dripping_vault_cannot_hold_the_job(
    hostile: Start, job: Callable[[Hostile], dict[str, str]], tmp_path: Path, command: str
) -> None:
    """One deadline per request: `run_injector`'s 60 s guard fires if it is per read."""
    server = hostile(drip)
    args = ("env", "--dir", str(tmp_path / "creds")) if command == "env" else ("doctor",)
    result = run_injector(*args, env=job(server))
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stderr
    shown = result.stderr + result.stdout
    assert "no complete answer within 10 s" in shown
    assert not (tmp_path / "creds").exists()


def _flood(connection: socket.socket, server: Hostile) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
    piece = b'{"a": "' + b"x" * 65536
    for _ in range((2 << 30) // len(piece)):  # 2 GiB, no Content-Length
        connection.sendall(piece)
        server.sent += len(piece)


def test_a_flooding_vault_is_cut_off_at_the_cap(
    hostile: Start, job: Callable[[Hostile], dict[str, str]], tmp_path: Path
) -> None:
    server = hostile(_flood)
    result = run_injector("env", "--dir", str(tmp_path / "creds"), env=job(server))
    _failed(result.stderr, result.returncode)
    assert "over 65536 bytes" in result.stderr
    assert server.sent < 32 << 20, server.sent  # what was in flight when the client stopped
    assert result.stdout == ""


def test_a_redirect_to_another_host_is_not_followed(
    hostile: Start, job: Callable[[Hostile], dict[str, str]], tmp_path: Path
) -> None:
    """`localhost` is another origin than `127.0.0.1`: the JWT must not follow."""
    elsewhere = hostile(lambda c, _s: _answer(c, "200 OK", _login_body()))

    def redirect(connection: socket.socket, _server: Hostile) -> None:
        location = f"https://localhost:{elsewhere.port}/v1/auth/jwt/login"
        _answer(connection, "307 Temporary Redirect", b"", f"Location: {location}")

    server = hostile(redirect)
    result = run_injector("env", "--dir", str(tmp_path / "creds"), env=job(server))
    _failed(result.stderr, result.returncode, _jwt_of(server))
    assert f"redirected to https://localhost:{elsewhere.port}, another origin" in result.stderr
    assert elsewhere.connections == 0


def test_a_redirect_within_vault_is_followed_with_its_body(
    hostile: Start, job: Callable[[Hostile], dict[str, str]], tmp_path: Path
) -> None:
    """A standby node's 307 to the active one (same origin here): followed, body kept."""

    def standby_then_active(connection: socket.socket, server: Hostile) -> None:
        if len(server.requests) == 1:
            _answer(connection, "307 Temporary Redirect", b"", "Location: /v1/auth/jwt/login?a")
        else:
            _answer(connection, "200 OK", _login_body())

    server = hostile(standby_then_active)
    folder = tmp_path / "creds"
    result = run_injector("env", "--format", "json", "--dir", str(folder), env=job(server))
    assert result.returncode == 0, result.stderr
    assert (folder / vault.TOKEN_FILE).read_text() == TOKEN
    assert _paths(server) == ["/v1/auth/jwt/login", "/v1/auth/jwt/login?a"]
    assert _jwt_of(server) == json.loads(server.requests[1].partition(b"\r\n\r\n")[2])["jwt"]


@pytest.mark.parametrize(
    "token", [f"{TOKEN}\r\nX-Injected: 1", f"{TOKEN}\n", f"{TOKEN}\x00", f"{TOKEN}é"]
)
def test_a_token_no_header_can_carry_is_refused_before_use(
    hostile: Start, job: Callable[[Hostile], dict[str, str]], tmp_path: Path, token: str
) -> None:
    server = hostile(lambda c, _s: _answer(c, "200 OK", _login_body(token)))
    folder = tmp_path / "creds"
    result = run_injector("env", "--dir", str(folder), env=job(server))
    _failed(result.stderr, result.returncode, TOKEN, _jwt_of(server))
    assert "client_token has characters an HTTP header cannot carry" in result.stderr
    assert result.stdout == ""
    assert not folder.exists()
    assert _paths(server) == ["/v1/auth/jwt/login"]  # never sent back (no revoke with it)


def test_errors_echoing_the_jwt_are_blanked(
    hostile: Start, job: Callable[[Hostile], dict[str, str]], tmp_path: Path
) -> None:
    def echo(connection: socket.socket, server: Hostile) -> None:
        said = f"invalid JWT {_jwt_of(server)} for role"
        _answer(connection, "400 Bad Request", json.dumps({"errors": [said]}).encode())

    server = hostile(echo)
    result = run_injector("env", "--dir", str(tmp_path / "creds"), env=job(server))
    _failed(result.stderr, result.returncode, _jwt_of(server))
    assert f"invalid JWT {redact.REDACTED} for role" in result.stderr


def test_renewal_and_revocation_errors_echoing_the_token_are_blanked(
    hostile: Start, job: Callable[[Hostile], dict[str, str]], tmp_path: Path
) -> None:
    """`run` renews at half the TTL (2 s here) and revokes at the end: both refused with the
    token in the error; the warnings and the error say the rest, never the token."""

    def vault_server(connection: socket.socket, server: Hostile) -> None:
        request = server.requests[-1]
        if b"/login " in request.split(b"\r\n")[0]:
            _answer(connection, "200 OK", _login_body(ttl=2))
        else:
            said = json.dumps({"errors": [f"permission denied for token {TOKEN}"]}).encode()
            _answer(connection, "403 Forbidden", said)

    server = hostile(vault_server)
    command = [sys.executable, "-c", "import time; time.sleep(3)"]
    result = run_injector("run", "--dir", str(tmp_path / "creds"), "--", *command, env=job(server))
    assert "Traceback" not in result.stderr
    assert TOKEN not in result.stderr + result.stdout
    paths = _paths(server)
    assert "/v1/auth/token/renew-self" in paths, (paths, result.stderr)
    assert "/v1/auth/token/revoke-self" in paths
    assert f"permission denied for token {redact.REDACTED}" in result.stderr


@pytest.mark.parametrize("path", ["../../../x", "jwt/..", "/jwt", "jwt/", "jw%74", "a//b", "."])
def test_the_auth_path_is_a_plain_mount_name(
    hostile: Start, job: Callable[[Hostile], dict[str, str]], tmp_path: Path, path: str
) -> None:
    server = hostile(lambda c, _s: _answer(c, "200 OK", _login_body()))
    env = {**job(server), vault.AUTH_PATH: path}
    result = run_injector("env", "--dir", str(tmp_path / "creds"), env=env)
    assert result.returncode == 2, result.stderr
    assert f"injector: error: {vault.AUTH_PATH}: " in result.stderr
    assert "no . or .. segment" in result.stderr
    assert server.connections == 0
    assert result.stdout == ""


@pytest.mark.parametrize("ttl", [10**30, -5], ids=["beyond-any-clock", "negative"])
def test_a_lease_duration_no_clock_can_wait_on_is_capped(
    hostile: Start, job: Callable[[Hostile], dict[str, str]], tmp_path: Path, ttl: int
) -> None:
    """A login answer's lease_duration of 10**30 s: before, `run`'s renewal thread died on it
    with a traceback (no wait can be that long), and no lease was ever renewed. A negative one
    counts as none."""

    def vault_server(connection: socket.socket, server: Hostile) -> None:
        if b"/login " in server.requests[-1].split(b"\r\n")[0]:
            _answer(connection, "200 OK", _login_body(ttl=ttl))
        else:
            _answer(connection, "204 No Content", b"")

    server = hostile(vault_server)
    command = [sys.executable, "-c", "import time; time.sleep(1)"]
    result = run_injector("run", "--dir", str(tmp_path / "creds"), "--", *command, env=job(server))
    assert "Traceback" not in result.stderr
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stderr + result.stdout
    assert "/v1/auth/token/revoke-self" in _paths(server)
