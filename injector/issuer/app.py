"""The ASGI app `injector serve` runs: the two documents and `/healthz`, each response rendered
once at start-up (bodies, headers, ETag), so a request costs a dict look-up and two `send`
calls. GET and HEAD only; `If-None-Match` answers 304. The access log escapes what a client sent.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from injector.issuer.discovery import Documents

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

HEALTH_PATH = "/healthz"
DEFAULT_MAX_AGE = 300
_ALLOWED = b"GET, HEAD"


@dataclass(frozen=True)
class _Response:
    status: int
    headers: Headers
    body: bytes


def _etag(body: bytes) -> bytes:
    digest = hashlib.sha256(body).digest()[:18]
    return b'"' + base64.urlsafe_b64encode(digest) + b'"'


def _plain(status: int, text: str, *extra: tuple[bytes, bytes]) -> _Response:
    body = text.encode("ascii")
    return _Response(
        status,
        [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            *extra,
        ],
        body,
    )


@dataclass(frozen=True)
class _Document:
    ok: _Response
    not_modified: _Response
    etag: bytes

    @classmethod
    def of(cls, body: bytes, max_age: int) -> _Document:
        etag = _etag(body)
        cache = f"public, max-age={max_age}".encode()
        return cls(
            ok=_Response(
                200,
                [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", cache),
                    (b"etag", etag),
                ],
                body,
            ),
            not_modified=_Response(304, [(b"cache-control", cache), (b"etag", etag)], b""),
            etag=etag,
        )

    def matches(self, if_none_match: bytes) -> bool:
        """RFC 9110 section 13.1.2: weak comparison, a list of tags, or `*`."""
        for tag in if_none_match.split(b","):
            tag = tag.strip()
            if tag == b"*" or tag.removeprefix(b"W/") == self.etag:
                return True
        return False


_NOT_FOUND = _plain(404, "not found\n")
_NOT_ALLOWED = _plain(405, "method not allowed\n", (b"allow", _ALLOWED))
_HEALTHY = _plain(200, "ok\n")


# Bytes of a request that an access log line shows as \xNN: anything but printable ASCII, and
# the quote and backslash that delimit the fields. A client cannot end or rewrite a line.
_UNSAFE_IN_LOG = re.compile(rb'[^\x21-\x7e]|["\\]')
access_log = logging.getLogger("injector.access")


def _logged(raw: bytes) -> str:
    return _UNSAFE_IN_LOG.sub(lambda found: b"\\x%02x" % found.group()[0], raw).decode("ascii")


def access_line(scope: Scope, status: int) -> str:
    """One access log line for a request: the request target as the client sent it (raw path
    and query), every byte outside printable ASCII escaped."""
    client = scope.get("client") or ("-", 0)
    target: bytes = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
    if scope.get("query_string"):
        target += b"?" + scope["query_string"]
    method = _logged(scope["method"].encode("latin-1", "replace"))
    when = time.strftime("%Y-%m-%d %H:%M:%S %z")
    return (
        f'[{when}] {_logged(str(client[0]).encode())} - "{method} {_logged(target)} '
        f'HTTP/{_logged(str(scope.get("http_version", "1.1")).encode())}" {status}'
    )


class DocumentApp:
    """ASGI app serving `bodies` (URL path -> JSON bytes) and the health path; with
    `log_access`, one escaped line per request on `injector.access` (Granian's own access log
    prints the decoded path as it is: a `%0D%0A` in it would start a forged line)."""

    def __init__(
        self,
        bodies: Mapping[str, bytes],
        *,
        max_age: int = DEFAULT_MAX_AGE,
        log_access: bool = False,
    ) -> None:
        self._documents = {path: _Document.of(body, max_age) for path, body in bodies.items()}
        self._log_access = log_access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # websockets are switched off: the server closes such a connection
        path: str = scope["path"]
        method: str = scope["method"]
        document = self._documents.get(path)
        if document is None and path != HEALTH_PATH:
            response = _NOT_FOUND
        elif method not in ("GET", "HEAD"):
            response = _NOT_ALLOWED
        elif document is None:
            response = _HEALTHY
        else:
            response = document.ok
            for name, value in scope["headers"]:
                if name == b"if-none-match" and document.matches(value):
                    response = document.not_modified
                    break
        await send(
            {"type": "http.response.start", "status": response.status, "headers": response.headers}
        )
        await send(
            {"type": "http.response.body", "body": b"" if method == "HEAD" else response.body}
        )
        if self._log_access:
            access_log.info("%s", access_line(scope, response.status))


async def _lifespan(receive: Receive, send: Send) -> None:
    """Nothing to start or stop: say so, so that servers that run lifespan do not wait."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def routes(documents: Documents) -> dict[str, bytes]:
    """URL paths as clouds request them: under the issuer URL's own path, if it has one
    (`https://host/prefix` -> `/prefix/.well-known/jwks`)."""
    prefix = urlsplit(documents.issuer).path.rstrip("/")
    return {prefix + path: body for path, body in documents.bodies.items()}
