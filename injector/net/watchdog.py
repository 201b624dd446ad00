"""One total deadline for an exchange over the standard library's urllib (a keyless job's, which
loads no httpx): urllib's timeout bounds each read, so a server sending a byte at a time holds
the exchange for ever. A timer shuts the exchange's sockets down when its time is up, which ends
whatever read is waiting; `fired` then tells the caller why the answer broke off."""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import urllib.request
from typing import Any


class Watchdog:
    """A context manager: the deadline runs from `__enter__` to `__exit__`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _shut(sock)

    def _watch(self, sock: socket.socket) -> None:
        # A duplicate descriptor of the same socket: TLS detaches the one it wraps, and a
        # shutdown through either ends the connection for both.
        duplicate = sock.dup()
        with self._lock:
            self._sockets.append(duplicate)
            if self.fired:
                _shut(duplicate)

    def handlers(self, context: ssl.SSLContext | None) -> list[urllib.request.BaseHandler]:
        """urllib handlers for http and https whose connections this watchdog can cut."""
        watch = self._watch

        def watched(base: type[http.client.HTTPConnection]) -> type[http.client.HTTPConnection]:
            class Watched(base):  # type: ignore[valid-type,misc]
                def __init__(self, *args: Any, **kwargs: Any) -> None:
                    super().__init__(*args, **kwargs)
                    create = self._create_connection  # type: ignore[has-type]

                    def created(*args: Any, **kwargs: Any) -> socket.socket:
                        sock: socket.socket = create(*args, **kwargs)
                        watch(sock)  # before TLS: a handshake may drip too
                        return sock

                    self._create_connection = created

            return Watched

        https, plain = watched(http.client.HTTPSConnection), watched(http.client.HTTPConnection)

        class Https(urllib.request.HTTPSHandler):
            def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
                return self.do_open(https, req, context=context)

        class Http(urllib.request.HTTPHandler):
            def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
                return self.do_open(plain, req)

        return [Https(context=context), Http()]


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed already: nothing waits on it
        sock.shutdown(socket.SHUT_RDWR)
