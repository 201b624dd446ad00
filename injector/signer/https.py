"""`injector signer --listen HOST:PORT --certfile F --keyfile K`: the token exchange endpoint
(signer.token_exchange) over HTTPS, beside the Unix socket.

Stateless: every request carries the platform token that names its job, so replicas behind a
load balancer answer alike (each with the key file mounted, or the same Transit key). Plain
HTTP only on a loopback address (a sidecar, or TLS ended by a proxy on the same host). One
thread per connection up to MAX_CONNECTIONS, at most MAX_CONNECTIONS_PER_ADDRESS of them from
one address (`addresses`: so one host that opens connections and sends nothing cannot hold
every slot; what either cap refuses is audited), keep-alive, each connection closed after
IDLE_SECONDS without a request; the TLS handshake happens in the connection's thread, so a
slow client never holds the others.

A slot is held for a bounded time whatever the client does: its handshake must end within
HANDSHAKE_SECONDS of the accept, and each request must be read whole within REQUEST_SECONDS of
its first byte (a client trickling one byte just inside every read's timeout is closed then).
"""

from __future__ import annotations

import io
import ipaddress
import json
import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

from injector.errors import ConfigError
from injector.signer import addresses, token_exchange
from injector.signer.addresses import share_of
from injector.signer.attestation.pending import waited
from injector.signer.service import Service
from injector.signer.token_exchange import FORM_TYPE

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

log = logging.getLogger("injector")

OPTION = "--listen"
IDLE_SECONDS = 30.0
# A handshake is two round trips and a few kilobytes; over any working link it ends within a
# second or two. Ten leave room for a congested one and bound a silent or trickling client's
# hold on a slot from its accept (CPython bounds the whole handshake by the socket timeout).
HANDSHAKE_SECONDS = 10.0
# A request is at most 64 KiB of form and a few headers, sent in one flight or a few: twice the
# Unix socket's whole-request deadline (accepted.REQUEST_TIMEOUT_SECONDS, 5 s, where the caller
# is on the same host) leaves room for a slow network, and bounds how long a client sending one
# byte just inside each read's timeout holds its slot.
REQUEST_SECONDS = 10.0


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    tls: ssl.SSLContext | None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint(listen: str, certfile: Path | None, keyfile: Path | None) -> Endpoint:
    """`--listen HOST:PORT` with its certificate; ConfigError naming the option at fault."""
    host, colon, port_text = listen.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError.of(OPTION, f"expected HOST:PORT such as 0.0.0.0:8443, got {listen!r}")
    if (certfile is None) != (keyfile is None):
        raise ConfigError.of("--certfile", "--certfile and --keyfile go together")
    if certfile is None or keyfile is None:
        if not _loopback(host):
            raise ConfigError.of(
                OPTION,
                f"{host} is not a loopback address: plain HTTP would carry tokens over the "
                "network; give --certfile and --keyfile",
            )
        return Endpoint(host, int(port_text), None)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(certfile), str(keyfile))
    except (OSError, ssl.SSLError) as error:
        raise ConfigError.of(
            "--certfile", f"cannot load {certfile} with {keyfile}: {error}"
        ) from None
    return Endpoint(host, int(port_text), context)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, where: Endpoint, service: Service) -> None:
        self.address_family = socket.AF_INET6 if ":" in where.host else socket.AF_INET
        self.service, self.tls = service, where.tls
        self.shares = addresses.Shares(service.audit, service.clock)
        super().__init__((where.host, where.port), _Handler)

    def process_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: object
    ) -> None:
        if not self.shares.admit(share_of(client_address)):
            self.shutdown_request(request)  # full: this client retries, the others go on
            return
        super().process_request(request, client_address)

    def process_request_thread(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: object
    ) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.shares.release(share_of(client_address))

    def service_actions(self) -> None:
        self.shares.flush()  # serve_forever calls this at least every half second

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up or fails its handshake is its own business


def _unread(lengths: list[str], headers: Message) -> tuple[int, str] | None:
    """Why a request's body is not to be read (its status and description), or None."""
    if len(lengths) > 1 or (lengths and "Transfer-Encoding" in headers):
        # A proxy in front reading the other framing would see a second request where this
        # server sees a body (request smuggling): read neither.
        return 400, "a body framed two ways: give one Content-Length and no Transfer-Encoding"
    if headers.get("Content-Type", "").partition(";")[0].strip().lower() != FORM_TYPE:
        # RFC 6749 §3.2: the request is a form; the same bytes labelled otherwise are not.
        return 415, f"expected Content-Type {FORM_TYPE}"
    # ASCII digits only: str.isdigit() takes "²", which int() then refuses.
    if not lengths or not lengths[0].isascii() or not lengths[0].isdigit():
        return 411, "a body of at most 64 KiB with Content-Length"
    if len(lengths[0]) > 9 or int(lengths[0]) > token_exchange.MAX_FORM_BYTES:
        return 413, "a body of at most 64 KiB with Content-Length"
    return None


class _Reads(io.RawIOBase):
    """The connection's bytes, each request's read within REQUEST_SECONDS of its first byte;
    TimeoutError past it (BaseHTTPRequestHandler then closes the connection unanswered)."""

    def __init__(self, connection: socket.socket) -> None:
        super().__init__()
        self._connection = connection
        self.deadline: float | None = None  # None: between requests, idle

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        if self.deadline is None:
            self._connection.settimeout(IDLE_SECONDS)
        else:
            # Each read waits only what is left: a byte a second never extends the deadline.
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"a request not read whole within {REQUEST_SECONDS:g} s")
            self._connection.settimeout(left)
        count = self._connection.recv_into(buffer)
        if count and self.deadline is None:
            self.deadline = time.monotonic() + REQUEST_SECONDS
        return count


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = IDLE_SECONDS
    # Headers and body leave in two writes: without TCP_NODELAY the second waits for the
    # client's delayed ACK (40 ms on Linux) on every keep-alive request.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        if self.server.tls is not None:
            self.request.settimeout(HANDSHAKE_SECONDS)  # the handshake's whole time
            self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        super().setup()
        self.rfile.close()  # the plain reader setup made: reads go through the deadline
        self._reads = _Reads(self.connection)
        self.rfile = io.BufferedReader(self._reads)

    def handle_one_request(self) -> None:
        self._reads.deadline = None  # the next request's starts with its first byte
        super().handle_one_request()

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.connection.settimeout(IDLE_SECONDS)  # the answer is not held to the read's rest
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        if self.path.partition("?")[0] != token_exchange.PATH:
            self._send(404, b'{"error":"not_found"}', {})
            return
        lengths = self.headers.get_all("Content-Length") or []
        refused = _unread(lengths, self.headers)
        if refused is not None:
            self.close_connection = True  # the body is not read: the connection ends here
            status, description = refused
            document = {"error": "invalid_request", "error_description": description}
            self._send(status, json.dumps(document).encode(), token_exchange.NO_STORE)
            return
        length = lengths[0]
        body = self.rfile.read(int(length))
        remote = f"{self.client_address[0]}:{self.client_address[1]}"
        try:
            # A thread per connection: waiting here for keys being fetched holds nobody else.
            answer = waited(lambda: token_exchange.answer(self.server.service, body, remote))
        except Exception:  # one request's failure is that request's, never the server's
            log.exception("token exchange failed")
            self._send(500, b'{"error":"server_error"}', token_exchange.NO_STORE)
            return
        self._send(answer.status, answer.body, token_exchange.NO_STORE)

    def do_GET(self) -> None:
        self._send(405, b'{"error":"invalid_request"}', {"Allow": "POST"})

    def log_message(self, format: str, *args: object) -> None:
        pass  # the audit line says what matters; the request line could hold nothing useful


class Listener:
    """The endpoint's server, serving in a daemon thread until `stop`."""

    def __init__(self, where: Endpoint, service: Service) -> None:
        self.where = where
        self._server = _Server(where, service)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("signer listening on %s%s", self.where.url, token_exchange.PATH)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self._server.shares.flush(everything=True)
