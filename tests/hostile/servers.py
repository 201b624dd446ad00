"""A hostile server on 127.0.0.1 (TLS from the test CA, or plain): each connection is read up to
the end of its request (headers and a Content-Length body, kept in `requests`), then answered
by a handler that may trickle, flood, redirect or echo."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.standins.fixtures import TestTls

Handler = Callable[[socket.socket, "Hostile"], None]


class Hostile:
    """A TLS (or plain) server on 127.0.0.1 whose every connection `handler` answers. Counts
    the connections and the body bytes it managed to send."""

    def __init__(self, handler: Handler, context: ssl.SSLContext | None) -> None:
        self.handler, self.context = handler, context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.sent = 0
        self.requests: list[bytes] = []  # each request: its head and body
        self.stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        return f"{'https' if self.context else 'http'}://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                raw, _ = self.listener.accept()
            except OSError:  # the accept timeout, or the listener closed by stop()
                continue
            self.connections += 1
            threading.Thread(target=self._answer, args=(raw,), daemon=True).start()

    def _answer(self, raw: socket.socket) -> None:
        try:
            connection = self.context.wrap_socket(raw, server_side=True) if self.context else raw
            with connection:
                self.requests.append(_read_request(connection))
                self.handler(connection, self)
        except OSError:
            pass  # the client gave up: what the tests want

    def stop(self) -> None:
        self.stopped.set()
        self._thread.join(5)
        self.listener.close()


def drip(connection: socket.socket, server: Hostile) -> None:
    """A handler: a JSON answer begun, then one byte a second, never ending."""
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    connection.sendall(b"Content-Length: 1000\r\n\r\n{")
    while not server.stopped.is_set():
        time.sleep(1)  # every read is quick; the answer never ends
        connection.sendall(b" ")


def _read_request(connection: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(4096)
        if not chunk:
            return data
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0]
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(data) - len(head) - 4 < length:
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture
def hostile(test_tls: TestTls) -> Iterator[Callable[..., Hostile]]:
    started: list[Hostile] = []

    def start(handler: Handler, *, tls: bool = True) -> Hostile:
        server = Hostile(handler, test_tls.server_context() if tls else None)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
