"""`injector signer --listen HOST:PORT --certfile F --keyfile K`: the token exchange endpoint
(signer.token_exchange) over HTTPS, beside the Unix socket.

Stateless: every request carries the platform token that names its job, so replicas behind a
load balancer answer alike (each with the key file mounted, or the same Transit key). Plain
HTTP only on a loopback address (a sidecar, or TLS ended by a proxy on the same host). One
thread per connection up to MAX_CONNECTIONS, at most MAX_CONNECTIONS_PER_ADDRESS of them from
one address (so one host that opens connections and sends nothing cannot hold every slot),
keep-alive, each connection closed after IDLE_SECONDS without a request; the TLS handshake
happens in the connection's thread, so a slow client never holds the others.
"""

from __future__ import annotations

import collections
import ipaddress
import json
import logging
import socket
import ssl
import threading
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from injector.errors import ConfigError
from injector.signer import token_exchange
from injector.signer.service import Service
from injector.signer.token_exchange import FORM_TYPE

log = logging.getLogger("injector")

OPTION = "--listen"
MAX_CONNECTIONS = 512
# A quarter of the slots: a proxy or load balancer in front keeps a pool of connections well
# within it, and one host alone leaves three quarters to everyone else.
MAX_CONNECTIONS_PER_ADDRESS = MAX_CONNECTIONS // 4
IDLE_SECONDS = 30.0


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


def share_of(client_address: object) -> str:
    """What one host cannot vary at will: its IPv4 address, or the /64 of its IPv6 address
    (a host is commonly given a whole /64 and may pick any address in it)."""
    text = str(client_address[0]) if isinstance(client_address, tuple) else str(client_address)
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return text
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, where: Endpoint, service: Service) -> None:
        self.address_family = socket.AF_INET6 if ":" in where.host else socket.AF_INET
        self.service, self.tls = service, where.tls
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._held: collections.Counter[str] = collections.Counter()  # open, per address
        self._held_lock = threading.Lock()
        super().__init__((where.host, where.port), _Handler)

    def _admit(self, address: str) -> bool:
        with self._held_lock:
            if self._held[address] >= MAX_CONNECTIONS_PER_ADDRESS:
                return False
            if not self.slots.acquire(blocking=False):
                return False
            self._held[address] += 1
            return True

    def process_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: object
    ) -> None:
        if not self._admit(share_of(client_address)):
            self.shutdown_request(request)  # full: this client retries, the others go on
            return
        super().process_request(request, client_address)

    def process_request_thread(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: object
    ) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            address = share_of(client_address)
            with self._held_lock:
                self._held[address] -= 1
                if not self._held[address]:
                    del self._held[address]
            self.slots.release()

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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = IDLE_SECONDS
    # Headers and body leave in two writes: without TCP_NODELAY the second waits for the
    # client's delayed ACK (40 ms on Linux) on every keep-alive request.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        if self.server.tls is not None:
            self.request.settimeout(IDLE_SECONDS)  # the handshake too
            self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
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
            answer = token_exchange.answer(self.server.service, body, remote)
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
