"""A small threaded HTTP(S) server on 127.0.0.1 that a stand-in runs in the test process."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


class Request:
    """One request as a stand-in sees it: method, path, query, headers and body."""

    def __init__(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        self.method = method
        self.target = handler.path  # path and query, as sent
        self.path = parts.path
        self.query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        self.headers = handler.headers
        if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.body = _read_chunked(handler)  # Go streams uploads of unknown length
        else:
            length = int(handler.headers.get("Content-Length") or 0)
            self.body = handler.rfile.read(length) if length else b""

    def form(self) -> dict[str, str]:
        """The body as an `application/x-www-form-urlencoded` form (last value wins)."""
        fields = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {name: values[-1] for name, values in fields.items()}

    def json(self) -> object:
        """The body as JSON; raises ValueError if it is not."""
        return json.loads(self.body or b"null")

    def bearer(self) -> str | None:
        value = self.headers.get("Authorization", "")
        scheme, _, credentials = value.partition(" ")
        return credentials.strip() if scheme.lower() == "bearer" and credentials else None


def _read_chunked(handler: BaseHTTPRequestHandler) -> bytes:
    """A `Transfer-Encoding: chunked` body (RFC 9112 §7.1), trailers dropped."""
    body = bytearray()
    while True:
        size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return bytes(body)
        body += handler.rfile.read(size)
        handler.rfile.readline()  # the CRLF after each chunk


class Response:
    def __init__(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}

    @classmethod
    def json(cls, status: int, document: object) -> Response:
        return cls(status, json.dumps(document).encode(), "application/json; charset=utf-8")


Handle = Callable[[Request], Response]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    tls: ssl.SSLContext | None = None

    def get_request(self) -> tuple[socket.socket, object]:
        connection, address = super().get_request()
        if self.tls is None:
            return connection, address
        # The handshake happens in the handler's thread (first read), not in the accept loop,
        # so one slow client cannot hold up the others.
        wrapped = self.tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return wrapped, address

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up or fails the TLS handshake is its own test's business


class StandInServer:
    """Serves `handle` on 127.0.0.1 (HTTPS when given a TLS context) in a daemon thread.

    Every request's method and path (never its body or headers: they carry tokens) is kept in
    `seen`, so tests can tell what an SDK asked for.
    """

    def __init__(self, handle: Handle, tls: ssl.SSLContext | None = None) -> None:
        self._handle = handle
        self._tls = tls
        self.port = free_port()
        self.seen: list[str] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        """Listen on the port chosen at construction; returns nothing."""
        handler = _handler_class(self._handle, self.seen)
        server = _Server((LOOPBACK, self.port), handler)
        server.tls = self._tls
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening: connections to the port are refused until `start` again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def _handler_class(handle: Handle, seen: list[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            if isinstance(self.request, ssl.SSLSocket):
                self.request.do_handshake()
            super().setup()

        def _serve(self, method: str) -> None:
            request = Request(self, method)
            seen.append(f"{method} {request.path}")
            try:
                response = handle(request)
            except Exception as error:  # a stand-in bug: say so, as a 500, not a hang
                response = Response.json(500, {"error": f"stand-in failure: {error!r}"})
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if method != "HEAD":  # HEAD: the headers of a GET, and no body
                self.wfile.write(response.body)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def do_HEAD(self) -> None:
            self._serve("HEAD")

        def log_message(self, format: str, *args: object) -> None:
            pass  # `seen` keeps what matters; stderr stays free of noise

    return Handler
