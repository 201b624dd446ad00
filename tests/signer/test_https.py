"""`injector signer --listen`'s server against a hostile caller on the network: a real signer
process, the stand-in GitHub over TLS, connections opened from another loopback address
(127.0.0.2) standing in for another host."""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import pytest

from injector.signer import addresses, https
from tests.signer.conftest import Custody, attested_endpoint
from tests.standins.platforms import AUDIENCE, Platforms

if TYPE_CHECKING:
    from tests.standins.fixtures import TestTls

pytest_plugins = ["tests.standins.fixtures", "tests.standins.platform_fixtures"]

ANOTHER_HOST = "127.0.0.2"
FORM_TYPES = {
    "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
    "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
    "audience": "aws.workload.identity",
}
ALLOW = '[[allow]]\nattestation = "github"\nsubjects = ["organization:acme:workspace:*"]\n'


@pytest.fixture
def endpoint(custody: Custody, platforms: Platforms, test_tls: TestTls) -> Iterator[str]:
    with attested_endpoint(custody, platforms.github.url, test_tls, ALLOW) as (_, url):
        yield url


@contextlib.contextmanager
def held_connections(
    url: str, count: int, host: str = ANOTHER_HOST
) -> Iterator[list[socket.socket]]:
    """`count` TCP connections to `url` from `host` that never start their handshake."""
    parts = urlsplit(url)
    held: list[socket.socket] = []
    try:
        for _ in range(count):
            connection = socket.socket()
            held.append(connection)
            connection.bind((host, 0))
            connection.connect((parts.hostname, parts.port))
        yield held
    finally:
        for connection in held:
            connection.close()


def test_one_host_holding_connections_leaves_another_served(
    endpoint: str, platforms: Platforms, test_tls: TestTls
) -> None:
    form = {**FORM_TYPES, "subject_token": platforms.github.github(AUDIENCE)}
    # More than the server's every slot: without a share per address, this one host holds
    # them all (for IDLE_SECONDS each, and again on reconnecting) and nobody else is served.
    with held_connections(endpoint, addresses.MAX_CONNECTIONS + 8) as held:
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
    assert addresses.share_of(address) == share


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


def _closed(connection: socket.socket) -> bool:
    """Whether the endpoint has closed `connection` (end of stream, or reset), not waiting."""
    connection.setblocking(False)
    try:
        return not connection.recv(1)
    except (ssl.SSLWantReadError, BlockingIOError):
        return False  # nothing to read (a TLS session ticket, if anything): still open
    except OSError:
        return True
    finally:
        connection.setblocking(True)


def _sent(connection: socket.socket, byte: bytes) -> bool:
    try:
        connection.send(byte)
    except OSError:
        return False
    return True


def _trickle(connections: list[socket.socket], byte: bytes, seconds: float) -> int:
    """Send each connection `byte` once a second (each well inside the endpoint's read timeout)
    until the endpoint has closed them all or `seconds` pass; how many are still open."""
    still = list(connections)
    deadline = time.monotonic() + seconds
    while still and time.monotonic() < deadline:
        time.sleep(1)
        still = [one for one in still if not _closed(one) and _sent(one, byte)]
    return len(still)


def test_a_client_trickling_its_handshake_or_request_is_closed_and_its_slot_freed(
    custody: Custody, platforms: Platforms, test_tls: TestTls
) -> None:
    """ANOTHER_HOST fills its share with connections sending one byte a second: half in their
    TLS handshake, half in a request's headers. Each is closed at its deadline, and the host's
    next client is served."""
    half = addresses.MAX_CONNECTIONS_PER_ADDRESS // 2
    context = test_tls.client_context()
    with (
        attested_endpoint(custody, platforms.github.url, test_tls, ALLOW) as (signer, url),
        held_connections(url, half) as handshaking,
        held_connections(url, half) as requesting,
    ):
        parts = urlsplit(url)
        for number, plain in enumerate(requesting):
            plain.settimeout(30)
            requesting[number] = context.wrap_socket(plain, server_hostname=parts.hostname)
        for connection in requesting:
            connection.sendall(b"POST /token HTTP/1.1\r\nHost: signer\r\nX-Slow: ")
        for connection in handshaking:  # a ClientHello record of 16 KiB, never completed
            connection.sendall(b"\x16\x03\x01\x40\x00")
        with held_connections(url, 1) as (over,):  # the share is full: refused, audited
            over.settimeout(30)
            assert over.recv(1) == b""
        limit = https.HANDSHAKE_SECONDS + https.REQUEST_SECONDS + 60
        assert _trickle(handshaking, b"\x01", limit) == 0, "handshakes still open"
        assert _trickle(requesting, b"a", limit) == 0, "requests still open"
        form = {**FORM_TYPES, "subject_token": platforms.github.github(AUDIENCE)}
        transport = httpx.HTTPTransport(local_address=ANOTHER_HOST, verify=context)
        with httpx.Client(transport=transport) as client:
            answer = client.post(url + "/token", data=form)
        assert answer.status_code == 200, answer.text
    audit = signer.audit()
    (refused,) = [line for line in audit if "refused" in line]
    assert refused["remote"] == ANOTHER_HOST and refused["refused"] == 1
    assert [line["decision"] for line in audit if "refused" not in line] == ["allow"]


def test_refusals_by_either_cap_are_audited_once_a_second_with_a_count(
    custody: Custody, platforms: Platforms, test_tls: TestTls
) -> None:
    """ANOTHER_HOST opens 200 connections over its share; three more hosts fill the rest of the
    endpoint's slots, and a fifth is refused by the total cap. Each refusal is counted; the
    audit has a line per host and second, not per connection."""
    per_host, over = addresses.MAX_CONNECTIONS_PER_ADDRESS, 200
    hosts = ["127.0.0.3", "127.0.0.4", "127.0.0.5"]
    assert per_host * (1 + len(hosts)) == addresses.MAX_CONNECTIONS
    with (
        attested_endpoint(custody, platforms.github.url, test_tls, ALLOW) as (signer, url),
        contextlib.ExitStack() as held,
    ):
        flood = held.enter_context(held_connections(url, per_host + over))
        for host in hosts:
            held.enter_context(held_connections(url, per_host, host))
        late = held.enter_context(held_connections(url, 8, "127.0.0.6"))
        for refused in (flood[-1], late[-1]):  # closed at once, unread: counted
            refused.settimeout(30)
            assert refused.recv(1) == b""
    lines = [line for line in signer.audit() if "refused" in line]
    by_host = {line["remote"] for line in lines if "endpoint" not in line["reason"]}
    assert by_host == {ANOTHER_HOST}
    assert sum(line["refused"] for line in lines if line["remote"] == ANOTHER_HOST) == over
    total = [line for line in lines if line["remote"] == "127.0.0.6"]
    assert sum(line["refused"] for line in total) == 8
    for line in total:
        assert line["decision"] == "refuse"
        assert line["reason"].startswith(
            f"the endpoint already has {addresses.MAX_CONNECTIONS} connections open: "
        )
    assert len(lines) < over / 10


def test_requests_waiting_for_a_platforms_keys_hold_no_other_platforms_request(
    custody: Custody, platforms: Platforms, test_tls: TestTls
) -> None:
    """Requests with GitHub tokens wait on a stalled first fetch of GitHub's keys (each in its
    connection's thread); a GitLab token sent after them is exchanged before that fetch ends."""
    github, gitlab = platforms.github, platforms.gitlab
    tables = (
        f'[[attestation]]\nname = "gitlab"\nkind = "gitlab"\nissuer = "{gitlab.url}"\n'
        f'ca_bundle = "{platforms.ca_file}"\naudience = "{AUDIENCE}"\n\n{ALLOW}\n'
        '[[allow]]\nattestation = "gitlab"\nsubjects = ["organization:acme:workspace:*"]\n'
    )
    context = test_tls.client_context()
    github.released.clear()
    github.set_mode("stall")
    try:
        with (
            attested_endpoint(custody, platforms.github.url, test_tls, tables) as (signer, url),
            httpx.Client(verify=context) as client,
            ThreadPoolExecutor(8) as pool,
        ):
            seen = len(github.server.seen)
            form = {**FORM_TYPES, "subject_token": github.github(AUDIENCE)}
            waiting = [pool.submit(client.post, url + "/token", data=form) for _ in range(8)]
            deadline = time.monotonic() + 30
            while len(github.server.seen) == seen and time.monotonic() < deadline:
                time.sleep(0.01)  # until the fetch reaches the platform, where it stalls
            other = {**FORM_TYPES, "subject_token": gitlab.gitlab(AUDIENCE)}
            answer = client.post(url + "/token", data=other)
            github.released.set()
            late = [future.result(timeout=60) for future in waiting]
    finally:
        github.released.set()
        github.set_mode("ok")
    assert answer.status_code == 200, answer.text
    assert all(one.status_code in (200, 503) for one in late), [one.text for one in late]
    attestations = [line.get("attestation") for line in signer.audit()]
    assert attestations[0] == "gitlab", attestations
    assert len(attestations) == 9
