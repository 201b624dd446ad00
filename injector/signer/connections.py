"""The signer's connections: one thread and one event loop (epoll through `selectors`) for all.

Measured (`make bench`, py-spy on the signer): with a thread per connection, starting the
thread and handing the GIL back and forth cost more than signing itself, and signing holds the
GIL anyway. So every connection is a non-blocking socket in one loop, and a request is answered
inline as soon as its last byte is in: identify the caller at accept (SO_PEERCRED and the
pid's start time), read, decide, sign, check the pid again, audit, send. A client has usually
sent its request by the time it is accepted, so most are answered without ever being
registered with the selector.

A backend that signs over the network (`blocking`: Transit) would stop every other caller while
it waits, so then the decision and signing run in a pool of threads (`workers`), which hand
the answers back to the loop; the loop alone touches the sockets. Tokens a worker signs after
the connection's deadline are dropped (and audited).

Each connection has accepted.REQUEST_TIMEOUT_SECONDS from its accept to its answer's last byte
(a caller that connects and trickles bytes, or sends nothing, cannot hold a slot for long), and
a uid holds at most `fairness.MAX_CONNECTIONS_PER_UID` at once. On stop, the listening socket is
closed first and the loop runs until the connections already accepted are answered or expired.

Whatever goes wrong with one connection (reading, parsing, deciding, answering) is that
connection's: it is audited and closed, and the loop goes on serving the others.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import selectors
import socket
import time
from collections.abc import Callable

from injector.signer import accepted, peer, protocol
from injector.signer.accepted import Connection
from injector.signer.accepting import Acceptor
from injector.signer.fairness import Fairness
from injector.signer.service import Service
from injector.signer.workers import Workers

log = logging.getLogger("injector")

_RECEIVE_BYTES = 65536
_WORKERS_DONE = object()  # the selector's data for the workers' wake-up socket


class Loop:
    """Accepts on `listener` and answers with `service` until `stop()` and drained."""

    def __init__(self, listener: socket.socket, service: Service) -> None:
        self._service = service
        self._selector = selectors.DefaultSelector()
        self._acceptor = Acceptor(listener, self._selector)
        self._open: collections.deque[Connection] = collections.deque()  # in deadline order
        self._stopping = False
        self._fairness = Fairness(service.refused_connections)
        self._on_wake: Callable[[], None] | None = None
        self._workers: Workers[Connection] | None = None
        self._pool()

    def wake_on(self, reader: socket.socket, then: Callable[[], None] | None = None) -> None:
        """Wake the loop when `reader` becomes readable (a signal's wake-up byte), and call
        `then` in the loop's thread once it is drained."""
        reader.setblocking(False)
        self._on_wake = then
        self._selector.register(reader, selectors.EVENT_READ, reader)

    def stop(self) -> None:
        """Accept no more; the loop ends once the open connections are answered or expired."""
        self._stopping = True

    def run(self) -> None:
        try:
            while True:
                if self._stopping and self._acceptor.listening:
                    self._acceptor.close()
                self._acceptor.resume_when_due(time.monotonic())
                now = time.monotonic()
                self._expire(now)
                self._fairness.flush(now)
                if self._stopping and not self._open:
                    return
                for key, events in self._selector.select(self._timeout()):
                    self._on_event(key.data, events)
        finally:
            for connection in self._open:
                self._close(connection)
            self._fairness.flush(time.monotonic(), everything=True)
            self._acceptor.close()
            self._selector.close()
            if self._workers is not None:
                self._workers.close()

    def _timeout(self) -> float:
        now = time.monotonic()
        waits = [0.5]
        if self._open:
            waits.append(self._open[0].deadline - now)
        paused = self._acceptor.pause_left(now)
        if paused is not None:
            waits.append(paused)
        flush = self._fairness.next_flush()
        if flush is not None:
            waits.append(flush - now)
        return max(0.0, min(waits))

    def _on_event(self, data: object, events: int) -> None:
        if data is None:
            self._accept()
        elif data is _WORKERS_DONE:
            self._collect()
        elif isinstance(data, Connection):
            try:
                if events & selectors.EVENT_READ:
                    self._receive(data)
                if events & selectors.EVENT_WRITE and not data.closed:
                    self._send(data)
            except Exception as error:  # one connection's, never the signer's
                self._fail(data, error)
        elif isinstance(data, socket.socket):  # the wake-up socket: drain it
            with contextlib.suppress(OSError):
                while data.recv(4096):
                    pass
            if self._on_wake is not None:
                self._on_wake()

    def _accept(self) -> None:
        for sock in self._acceptor.accept():
            connection = accepted.admit(sock, self._service, self._fairness)
            if connection is None:
                continue
            self._open.append(connection)
            try:
                self._receive(connection)  # the request is usually there already
            except Exception as error:  # one connection's, never the signer's
                self._fail(connection, error)

    def _fail(self, connection: Connection, error: Exception) -> None:
        """An unexpected error while serving `connection`: audited, and the connection closed
        (an answer half sent cannot be mended)."""
        log.debug("error on a connection", exc_info=True)
        with contextlib.suppress(Exception):
            self._service.failure(connection.caller, f"{type(error).__name__}: {error}")
        with contextlib.suppress(Exception):
            self._close(connection)

    def _receive(self, connection: Connection) -> None:
        while True:
            try:
                chunk = connection.sock.recv(_RECEIVE_BYTES)
            except BlockingIOError:
                self._watch(connection, selectors.EVENT_READ)
                return
            except OSError as error:
                self._service.failure(
                    connection.caller, f"reading the request: {error.strerror or error}"
                )
                self._close(connection)
                return
            if chunk:
                connection.received.append(chunk)
                connection.size += len(chunk)
            if connection.size > protocol.MAX_REQUEST_BYTES:
                self._answer(connection, None)
                return
            if not chunk or b"\n" in chunk:
                break
        data = b"".join(connection.received)
        connection.received.clear()
        try:
            document: dict[str, object] | None = protocol.decode(data)
        except protocol.NoMessage:
            self._close(connection)  # a probe of whether the signer listens: no decision
            return
        except protocol.ProtocolError:
            document = None
        self._answer(connection, document)

    def _pool(self) -> Workers[Connection] | None:
        """The worker threads, started when first needed: a backend that signs over the network,
        or a policy with an `[[attestation]]` (an attested request may wait seconds on a
        platform's JWKS), at start or added by a reload. None: answered in the loop."""
        service = self._service
        if self._workers is None and (service.backend.blocking or service.policy.attestations):
            self._workers = Workers()
            self._selector.register(self._workers.reader, selectors.EVENT_READ, _WORKERS_DONE)
        return self._workers

    def _answer(self, connection: Connection, document: dict[str, object] | None) -> None:
        workers = self._pool()
        if workers is not None:
            connection.working = True
            workers.submit(
                connection,
                lambda: accepted.answer(
                    self._service, connection.caller, document, connection.deadline
                ),
            )
            return
        self._reply(connection, accepted.answer(self._service, connection.caller, document, None))

    def _collect(self) -> None:
        assert self._workers is not None  # noqa: S101 (its wake-up socket woke the loop)
        for connection, answer in self._workers.finished():
            connection.working = False
            if connection.closed:
                peer.release(connection.caller)  # the worker is done with its pidfd
                continue
            try:
                self._reply(connection, answer)
            except Exception as error:  # one connection's, never the signer's
                self._fail(connection, error)

    def _reply(self, connection: Connection, answer: bytes) -> None:
        connection.outgoing = memoryview(answer)
        self._send(connection)

    def _send(self, connection: Connection) -> None:
        assert connection.outgoing is not None  # noqa: S101
        try:
            while connection.outgoing:
                sent = connection.sock.send(connection.outgoing)
                connection.outgoing = connection.outgoing[sent:]
        except BlockingIOError:
            self._watch(connection, selectors.EVENT_WRITE)
            return
        except OSError:
            pass  # the caller left: nothing to tell it (the decision is audited)
        self._close(connection)

    def _watch(self, connection: Connection, event: int) -> None:
        # Known rather than tried: the selector's KeyError formats the socket's repr, which
        # costs two system calls (getsockname, getpeername).
        if connection.watched:
            self._selector.modify(connection.sock, event, connection)
        else:
            self._selector.register(connection.sock, event, connection)
            connection.watched = True

    def _close(self, connection: Connection) -> None:
        if connection.closed:
            return
        connection.closed = True
        self._fairness.release(connection.caller.uid)
        if not connection.working:  # else the worker may still use the pidfd: _collect
            peer.release(connection.caller)
        if connection.watched:
            self._selector.unregister(connection.sock)
        connection.sock.close()

    def _expire(self, now: float) -> None:
        """Drop the answered connections from the front, and close those out of time."""
        while self._open and (self._open[0].closed or self._open[0].deadline <= now):
            connection = self._open.popleft()
            if not connection.closed:
                # A worker that has the request audits it itself (its tokens are dropped).
                if connection.outgoing is None and not connection.working:
                    self._service.failure(connection.caller, "reading the request: timed out")
                self._close(connection)
