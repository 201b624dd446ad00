"""`injector signer --listen`'s server against a hostile caller on the network: a real signer
process, the stand-in GitHub over TLS, connections opened from another loopback address
(127.0.0.2) standing in for another host."""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import pytest

from injector.signer import https
from tests.signer.conftest import Custody, attested_endpoint
from tests.standins.platforms import AUDIENCE, Platforms

if TYPE_CHECKING:
    from tests.standins.fixtures import TestTls

pytest_plugins = ["tests.standins.fixtures", "tests.standins.platform_fixtures"]

ANOTHER_HOST = "127.0.0.2"


@pytest.fixture
def endpoint(custody: Custody, platforms: Platforms, test_tls: TestTls) -> Iterator[str]:
    allow = '[[allow]]\nattestation = "github"\nsubjects = ["organization:acme:workspace:*"]\n'
    with attested_endpoint(custody, platforms.github.url, test_tls, allow) as (_, url):
        yield url


@contextlib.contextmanager
def held_connections(url: str, count: int) -> Iterator[list[socket.socket]]:
    """`count` TCP connections to `url` from ANOTHER_HOST that never start their handshake."""
    parts = urlsplit(url)
    held: list[socket.socket] = []
    try:
        for _ in range(count):
            connection = socket.socket()
            held.append(connection)
            connection.bind((ANOTHER_HOST, 0))
            connection.connect((parts.hostname, parts.port))
        yield held
    finally:
        for connection in held:
            connection.close()


def test_one_host_holding_connections_leaves_another_served(
    endpoint: str, platforms: Platforms, test_tls: TestTls
) -> None:
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": platforms.github.github(AUDIENCE),
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "audience": "aws.workload.identity",
    }
    # More than the server's every slot: without a share per address, this one host holds
    # them all (for IDLE_SECONDS each, and again on reconnecting) and nobody else is served.
    with held_connections(endpoint, https.MAX_CONNECTIONS + 8) as held:
        answer = httpx.post(endpoint + "/token", data=form, verify=test_tls.client_context())
        # The flooder's connections over its share were closed at once, unread.
        over = held[-1]
        over.settimeout(30)
        assert over.recv(1) == b""
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("address", "share"),
    [
        (("192.0.2.7", 40000), "192.0.2.7"),
        (("::ffff:192.0.2.7", 40000, 0, 0), "192.0.2.7"),
        (("2001:db8:1:2::1", 40000, 0, 0), "2001:db8:1:2::/64"),
        (("2001:db8:1:2:ffff:ffff:ffff:ffff", 40000, 0, 0), "2001:db8:1:2::/64"),
        (("fe80::1%eth0", 40000, 0, 2), "fe80::/64"),
    ],
)
def test_a_host_cannot_widen_its_share_by_picking_addresses_in_its_ipv6_64(
    address: tuple[object, ...], share: str
) -> None:
    assert https.share_of(address) == share


def _raw_exchange(url: str, test_tls: TestTls, request: bytes) -> bytes:
    """Everything the endpoint sends back on one TLS connection for the raw `request`, until
    it closes the connection (or 30 s pass)."""
    parts = urlsplit(url)
    context = test_tls.client_context()
    assert parts.port is not None
    with (
        socket.create_connection((parts.hostname, parts.port), timeout=30) as plain,
        context.wrap_socket(plain, server_hostname=parts.hostname) as connection,
    ):
        connection.sendall(request)
        received = b""
        with contextlib.suppress(TimeoutError, ssl.SSLError, ConnectionError):
            while chunk := connection.recv(65536):
                received += chunk
        return received


@pytest.mark.parametrize(
    "framing",
    [
        "Transfer-Encoding: chunked\r\nContent-Length: {length}",
        "Content-Length: {length}\r\nContent-Length: 5",
    ],
    ids=["chunked-and-length", "two-lengths"],
)
def test_a_body_framed_two_ways_is_refused_and_the_connection_closed(
    endpoint: str, platforms: Platforms, test_tls: TestTls, framing: str
) -> None:
    # A proxy in front that reads the other framing would see a second request where the
    # signer sees a body (request smuggling): neither is read.
    body = "grant_type=x&audience=aws.workload.identity"
    smuggled = "POST /token HTTP/1.1\r\nHost: signer\r\nContent-Length: 0\r\n\r\n"
    head = framing.format(length=len(body))
    request = (
        f"POST /token HTTP/1.1\r\nHost: signer\r\n{head}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\n\r\n{body}{smuggled}"
    )
    received = _raw_exchange(endpoint, test_tls, request.encode())
    assert received.startswith(b"HTTP/1.1 400 "), received[:200]
    assert received.count(b"HTTP/1.1 ") == 1  # one answer: nothing after the body was read


@pytest.mark.parametrize(
    ("length", "status"), [("\u00b2", 411), ("9" * 5000, 413)], ids=["superscript", "5000-digits"]
)
def test_a_length_int_cannot_read_is_answered_not_dropped(
    endpoint: str, test_tls: TestTls, length: str, status: int
) -> None:
    request = (
        f"POST /token HTTP/1.1\r\nHost: signer\r\nContent-Length: {length}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
    )
    received = _raw_exchange(endpoint, test_tls, request.encode("latin-1"))
    assert received.startswith(f"HTTP/1.1 {status} ".encode()), received[:200]
