"""The signer's listening socket in the loop: connections taken off the backlog a batch at a
wake-up, accepting paused for a moment when the process is out of descriptors (instead of
spinning on the error), and the socket closed first on stop."""

from __future__ import annotations

import errno
import logging
import selectors
import socket
import time
from collections.abc import Iterator

log = logging.getLogger("injector")

# Connections taken off the backlog per wake-up, so that answering stays interleaved with
# accepting under a burst.
ACCEPT_BATCH = 64
# When the process is out of file descriptors: pause accepting this long, instead of spinning.
ACCEPT_PAUSE_SECONDS = 0.1


class Acceptor:
    """`listener`, registered with `selector` (its data None) while it accepts."""

    def __init__(self, listener: socket.socket, selector: selectors.BaseSelector) -> None:
        listener.setblocking(False)
        self._listener: socket.socket | None = listener
        self._selector = selector
        self._selector.register(listener, selectors.EVENT_READ, None)
        self._paused_until = 0.0  # while out of descriptors: not listening for connections

    @property
    def listening(self) -> bool:
        return self._listener is not None

    def resume_when_due(self, now: float) -> None:
        if self._paused_until and self._paused_until <= now:
            self._paused_until = 0.0
            if self._listener is not None:
                self._selector.register(self._listener, selectors.EVENT_READ, None)

    def pause_left(self, now: float) -> float | None:
        """How long accepting stays paused, or None when it is not."""
        return self._paused_until - now if self._paused_until > now else None

    def close(self) -> None:
        if self._listener is None:
            return
        if not self._paused_until:
            self._selector.unregister(self._listener)
        self._listener.close()
        self._listener = None

    def accept(self) -> Iterator[socket.socket]:
        """The sockets waiting on the backlog, at most ACCEPT_BATCH of them."""
        if self._listener is None:
            return
        for _ in range(ACCEPT_BATCH):
            try:
                sock, _address = self._listener.accept()
            except BlockingIOError:
                return
            except OSError as error:
                if error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.warning("cannot accept a connection: %s; pausing", error.strerror)
                    self._selector.unregister(self._listener)
                    self._paused_until = time.monotonic() + ACCEPT_PAUSE_SECONDS
                    return
                if error.errno != errno.ECONNABORTED:
                    log.warning("cannot accept a connection: %s", error.strerror or error)
                continue
            yield sock
