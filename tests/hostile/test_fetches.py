"""Class 9: `verify` and `doctor` fetch from whatever `iss` a token names, so the server may be
hostile. A real HTTPS server of the test CA on 127.0.0.1 trickles bytes, sends 200 MB, or
redirects through plain http; tokens carry newlines and terminal escapes in `kid` and `sub`,
or are longer than a cloud takes. Each case runs the real `injector verify`."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import jwt
import pytest

from injector.clouds import aws_rules
from tests.conftest import KeyFiles, run_injector
from tests.hostile.servers import Handler, Hostile

if TYPE_CHECKING:
    from tests.standins.fixtures import TestTls

pytest_plugins = ["tests.standins.fixtures"]

STATUS_WORDS = ("ok", "FAIL", "warn")


def _token(key_files: KeyFiles, issuer: str, **overrides: object) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": issuer,
        "sub": "organization:acme:workspace:prod",
        "aud": aws_rules.DEFAULT_AUDIENCE,
        "iat": now,
        "exp": now + 1800,
    }
    headers = {"kid": "k1"}
    for name, value in overrides.items():
        if name == "kid":
            headers["kid"] = str(value)
        else:
            claims[name] = value
    return jwt.encode(claims, key_files.private_pkcs8.read_bytes(), "RS256", headers=headers)


def _verify(token: str, test_tls: TestTls, tmp_path: Path) -> tuple[int, str]:
    path = tmp_path / "token.jwt"
    path.write_text(token)
    result = run_injector(
        "verify", "--file", str(path), "--ca-bundle", str(test_tls.ca_file), env={}
    )
    assert "internal error" not in result.stderr, result.stderr
    return result.returncode, result.stdout


def _lines(stdout: str) -> dict[str, tuple[str, str]]:
    found = {}
    for line in stdout.splitlines():
        status, rule, detail = line.split(maxsplit=2)
        assert status in STATUS_WORDS, line
        found[rule] = (status, detail)
    return found


def _trickle_body(connection: socket.socket, server: Hostile) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    connection.sendall(b"Content-Length: 100000\r\n\r\n{")
    while not server.stopped.is_set():
        time.sleep(1)  # one byte a second: each read is quick, the whole never ends
        connection.sendall(b" ")


def _trickle_headers(connection: socket.socket, server: Hostile) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\n")
    while not server.stopped.is_set():
        time.sleep(1)
        connection.sendall(b"X")


@pytest.mark.parametrize("handler", [_trickle_body, _trickle_headers])
def test_a_trickling_server_cannot_hold_verify(
    hostile: Callable[..., Hostile],
    key_files: KeyFiles,
    test_tls: TestTls,
    tmp_path: Path,
    handler: Handler,
) -> None:
    """One deadline for the whole fetch: `run_injector`'s 60 s guard would fire on the old
    10-s-per-read timeout, which a byte a second never reaches."""
    server = hostile(handler)
    status, stdout = _verify(_token(key_files, server.base), test_tls, tmp_path)
    assert status == 1
    discovery = _lines(stdout)["discovery"]
    assert discovery[0] == "FAIL"
    assert "no complete answer within 10 s" in discovery[1]


def _huge_body(connection: socket.socket, server: Hostile) -> None:
    # No Content-Length: the body ends when the connection does, so only reading tells its size.
    connection.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
    )
    piece = b"[" + b"0," * 32767 + b"0"
    for _ in range(200 * (1 << 20) // len(piece)):
        connection.sendall(piece)
        server.sent += len(piece)


def test_a_200_mb_body_is_cut_off_at_the_cap(
    hostile: Callable[..., Hostile], key_files: KeyFiles, test_tls: TestTls, tmp_path: Path
) -> None:
    server = hostile(_huge_body)
    status, stdout = _verify(_token(key_files, server.base), test_tls, tmp_path)
    assert status == 1
    discovery = _lines(stdout)["discovery"]
    assert discovery[0] == "FAIL"
    assert "over 1048576 bytes" in discovery[1]
    # The client stopped reading near the cap: what is left in flight is socket buffers.
    assert server.sent < 32 * (1 << 20), server.sent


def _redirect_to(location: str) -> Handler:
    def handler(connection: socket.socket, _server: Hostile) -> None:
        connection.sendall(
            f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n".encode()
        )

    return handler


def test_no_redirect_through_plain_http(
    hostile: Callable[..., Hostile], key_files: KeyFiles, test_tls: TestTls, tmp_path: Path
) -> None:
    """https -> http -> https: the final URL is https, but the middle hop went in the clear,
    where anyone on the path could have answered. The http hop is never even asked."""
    final = hostile(_redirect_to("https://127.0.0.1:1/never"))
    plain = hostile(_redirect_to(f"{final.base}/.well-known/openid-configuration"), tls=False)
    first = hostile(_redirect_to(f"{plain.base}/.well-known/openid-configuration"))
    status, stdout = _verify(_token(key_files, first.base), test_tls, tmp_path)
    assert status == 1
    discovery = _lines(stdout)["discovery"]
    assert discovery[0] == "FAIL"
    assert f"redirected to {plain.base}" in discovery[1]
    assert "not https" in discovery[1]
    assert plain.connections == 0
    assert final.connections == 0


FORGED = "k1\nok    signature             forged\x1b[2K\x1b[1A\r"


def test_kid_and_sub_cannot_forge_or_erase_lines(
    hostile: Callable[..., Hostile], key_files: KeyFiles, test_tls: TestTls, tmp_path: Path
) -> None:
    server = hostile(_redirect_to("https://127.0.0.1:1/nowhere"))
    token = _token(
        key_files, server.base, kid=FORGED, sub="organization:a\u202e:workspace:\x1b]0;t\x07"
    )
    _status, stdout = _verify(token, test_tls, tmp_path)
    assert "\x1b" not in stdout
    assert "\r" not in stdout
    assert "\u202e" not in stdout
    lines = _lines(stdout)  # every line is a real checklist line: status, rule, detail
    assert "signature" not in lines or "forged" not in lines["signature"][1]
    assert "\\x0a" in lines["token"][1]  # the newline, shown as data
    assert "\\x1b" in stdout


def test_a_token_over_the_clouds_size_limit_fails_its_rule(
    hostile: Callable[..., Hostile], key_files: KeyFiles, test_tls: TestTls, tmp_path: Path
) -> None:
    server = hostile(_redirect_to("https://127.0.0.1:1/nowhere"))
    token = _token(key_files, server.base, padding="p" * aws_rules.MAX_TOKEN_BYTES)
    status, stdout = _verify(token, test_tls, tmp_path)
    assert status == 1
    size = _lines(stdout)["size"]
    assert size[0] == "FAIL"
    assert f"at most {aws_rules.MAX_TOKEN_BYTES}" in size[1]
    assert "[ValidationError]" in size[1]


def test_a_token_within_the_limit_passes_the_size_rule(
    hostile: Callable[..., Hostile], key_files: KeyFiles, test_tls: TestTls, tmp_path: Path
) -> None:
    server = hostile(_redirect_to("https://127.0.0.1:1/nowhere"))
    _status, stdout = _verify(_token(key_files, server.base), test_tls, tmp_path)
    assert _lines(stdout)["size"][0] == "ok"
