"""One total deadline per fetch, down to each socket read.

httpx's timeouts bound each read, not the whole exchange: a server that sends one byte every
2 s would hold `verify` for ever. httpcore asks its network backend for every connect, TLS
handshake, read and write with a timeout; this backend cuts each one to what is left of the
fetch's deadline, so no server can hold a fetch past it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import httpcore
from httpcore import NetworkBackend, NetworkStream, SyncBackend


class Deadline:
    """When the current fetch must be over (monotonic seconds); `start` sets it anew."""

    def __init__(self) -> None:
        self._at: float | None = None

    def start(self, seconds: float) -> None:
        self._at = time.monotonic() + seconds

    def left(self, asked: float | None) -> float:
        """The timeout for one operation: `asked`, cut to what is left. Raises httpcore's
        ReadTimeout once the deadline has passed."""
        if self._at is None:
            return asked if asked is not None else 0.0
        remaining = self._at - time.monotonic()
        if remaining <= 0:
            raise httpcore.ReadTimeout("the deadline of the fetch has passed")
        return remaining if asked is None else min(asked, remaining)


class _Stream(NetworkStream):
    def __init__(self, stream: NetworkStream, deadline: Deadline) -> None:
        self._stream, self._deadline = stream, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.left(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> NetworkStream:
        upgraded = self._stream.start_tls(
            ssl_context, server_hostname, self._deadline.left(timeout)
        )
        return _Stream(upgraded, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class Backend(NetworkBackend):
    """httpcore's own sync backend, with every timeout cut to `deadline`."""

    def __init__(self, deadline: Deadline) -> None:
        self._backend, self._deadline = SyncBackend(), deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, self._deadline.left(timeout), local_address, socket_options
        )
        return _Stream(stream, self._deadline)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> NetworkStream:
        stream = self._backend.connect_unix_socket(
            path, self._deadline.left(timeout), socket_options
        )
        return _Stream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)
