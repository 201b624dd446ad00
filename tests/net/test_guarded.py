"""The guarded client's own rules, on a plain-HTTP stand-in on 127.0.0.1 (the TLS cases, with
Vault and `doctor` in front, are in tests/hostile/test_vault_server.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from injector.net import guarded
from tests.hostile.servers import Hostile


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("hvs.abc", True),
        ("Bearer a b", True),
        ("a\r\nX-Injected: 1", False),
        ("a\n", False),
        ("a\x00", False),
        ("é", False),
        (" a", False),
        ("", False),
    ],
)
def test_header_safe(value: str, safe: bool) -> None:
    assert guarded.header_safe(value) is safe


def _redirect_with_userinfo(connection: socket.socket, _server: Hostile) -> None:
    connection.sendall(
        b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://user:pw@localhost:1/x\r\n"
        b"Content-Length: 0\r\n\r\n"
    )


@pytest.fixture
def server() -> Iterator[Hostile]:
    started = Hostile(_redirect_with_userinfo, None)
    yield started
    started.stop()


def test_a_redirect_elsewhere_names_its_origin_only(server: Hostile) -> None:
    client = guarded.GuardedClient(server.base, verify=None, timeout=5, max_bytes=1024)
    try:
        with pytest.raises(guarded.HttpError) as raised:
            client.call("POST", "v1/x", body={"jwt": "the-jwt"}, headers={"X-T": "tok"})
    finally:
        client.close()
    message = str(raised.value)
    assert "redirected to http://localhost:1, another origin: not followed" in message
    assert "pw" not in message
    assert raised.value.status == 307


def test_a_client_that_follows_no_redirect_refuses_any(server: Hostile) -> None:
    client = guarded.GuardedClient(
        server.base, verify=None, timeout=5, max_bytes=1024, follow_redirects=False
    )
    try:
        with pytest.raises(guarded.HttpError) as raised:
            client.call("POST", "v1/x", body={"jwt": "the-jwt"})
    finally:
        client.close()
    assert str(raised.value) == "answered a redirect (HTTP 307): not followed"
    assert server.connections == 1  # the one call, and no hop after it


def test_a_header_value_that_would_split_is_not_sent(server: Hostile) -> None:
    client = guarded.GuardedClient(server.base, verify=None, timeout=5, max_bytes=1024)
    try:
        with pytest.raises(guarded.HttpError, match="X-T header's value") as raised:
            client.call("GET", "v1/x", headers={"X-T": "tok\r\nX-Injected: 1"})
    finally:
        client.close()
    assert "tok" not in str(raised.value)
    assert server.connections == 0
