"""`injector serve`: the two documents over HTTP(S), from Granian with a minimal ASGI app.

Every response is rendered once at start-up (bodies, headers, ETag), so a request costs a dict
look-up and two `send` calls. GET and HEAD only; `If-None-Match` answers 304; `/healthz` for
load balancers and orchestrators. SIGTERM drains open requests and exits 0.

Granian is imported here only, never on the minting path.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import logging
import os
import re
import socket
import ssl
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from injector.errors import ConfigError, InjectorError
from injector.issuer.discovery import Documents

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

HEALTH_PATH = "/healthz"
DEFAULT_MAX_AGE = 300
# How long SIGTERM waits for requests in flight before closing their connections.
GRACEFUL_SECONDS = 10
# Hands the pre-rendered documents to the worker processes Granian starts.
_STATE = "INJECTOR_SERVE_STATE"
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


def worker_app() -> DocumentApp:
    """The app in a worker process (`--workers N`): the parent rendered the documents."""
    state = json.loads(os.environ[_STATE])
    bodies = {path: body.encode("ascii") for path, body in state["bodies"].items()}
    if state["access_log"]:
        handler = logging.StreamHandler(sys.stdout)
        access_log.handlers[:] = [handler]
        access_log.setLevel(logging.INFO)
        access_log.propagate = False
    return DocumentApp(bodies, max_age=state["max_age"], log_access=state["access_log"])


@dataclass(frozen=True)
class Options:
    host: str = "127.0.0.1"
    port: int = 8080
    certfile: Path | None = None
    keyfile: Path | None = None
    workers: int = 1
    max_age: int = DEFAULT_MAX_AGE
    access_log: bool = False


def check(options: Options) -> None:
    """Refuse bad options before binding anything. Returns nothing; raises ConfigError naming
    the option."""
    if (options.certfile is None) != (options.keyfile is None):
        raise ConfigError.of("--certfile", "and --keyfile go together: give both or neither")
    if options.certfile is not None and options.keyfile is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        asked: list[bool] = []

        def no_passphrase() -> bytes:
            # Without a callback, OpenSSL prompts on the terminal for an encrypted key and
            # `serve` would hang there; Granian would do the same.
            asked.append(True)
            return b""

        encrypted = ConfigError.of(
            "--keyfile",
            f"{options.keyfile} is encrypted and needs a passphrase: expected an unencrypted "
            "private key (openssl pkey -in KEY -out PLAIN.key, kept 0600)",
        )
        try:
            context.load_cert_chain(options.certfile, options.keyfile, password=no_passphrase)
        except (OSError, ssl.SSLError) as error:
            if asked:
                raise encrypted from None
            raise ConfigError.of(
                "--certfile",
                f"cannot load {options.certfile} with key {options.keyfile}: "
                f"{getattr(error, 'strerror', None) or error}: expected a PEM certificate chain "
                "and its unencrypted private key",
            ) from None
        if asked:  # encrypted with an empty passphrase: Granian would still ask for one
            raise encrypted
    if not 0 <= options.port <= 65535:
        raise ConfigError.of("--port", f"expected 0 to 65535, got {options.port}")
    if not 1 <= options.workers <= 64:
        raise ConfigError.of("--workers", f"expected 1 to 64, got {options.workers}")
    if options.max_age < 0:
        raise ConfigError.of("--max-age", f"expected seconds >= 0, got {options.max_age}")


def _refuse_taken_port(host: str, port: int) -> None:
    """Granian binds with SO_REUSEPORT on Linux, so a second server on a taken port would start
    and silently share its traffic, perhaps with other documents. A plain bind (SO_REUSEADDR
    only, so a restart is not blocked by connections in TIME_WAIT) fails on a taken port."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise InjectorError(
                f"the server could not start on {host}:{port}: {error.strerror}"
            ) from None


def serve(documents: Documents, options: Options) -> int:
    """Serve until SIGTERM or SIGINT; return 0 after a clean shutdown. Raises ConfigError for bad
    options, InjectorError when the server cannot start (the port is taken...)."""
    check(options)
    _refuse_taken_port(options.host, options.port)
    # Granian rather than uvicorn: its HTTP layer is in Rust, and `make bench` measured 1.4 times
    # uvicorn's throughput (with uvloop and httptools) for the same app on one core.
    from granian import Granian
    from granian.constants import Interfaces, Loops, SSLProtocols

    # uvloop when installed (the `server` extra): 1.3 times asyncio's throughput in `make bench`,
    # and Granian's `auto` did not pick it there.
    loop = Loops.uvloop if importlib.util.find_spec("uvloop") else Loops.asyncio

    # Workers are processes of their own: they read the rendered documents from the environment.
    bodies = routes(documents)
    state = {
        "bodies": {path: body.decode("ascii") for path, body in bodies.items()},
        "max_age": options.max_age,
        "access_log": options.access_log,
    }
    os.environ[_STATE] = json.dumps(state)
    server = Granian(
        f"{__name__}:worker_app",
        factory=True,
        address=options.host,
        port=options.port,
        interface=Interfaces.ASGI,
        loop=loop,
        workers=options.workers,
        websockets=False,
        # The app logs each request itself, escaped (DocumentApp).
        log_access=False,
        ssl_cert=options.certfile,
        ssl_key=options.keyfile,
        # Clouds fetching the JWKS do not all speak TLS 1.3 yet; Granian's default minimum is 1.3.
        ssl_protocol_min=SSLProtocols.tls12,
        workers_kill_timeout=GRACEFUL_SECONDS,
    )
    try:
        server.serve()
    except OSError as error:
        raise InjectorError(
            f"the server could not start on {options.host}:{options.port}: {error.strerror}"
        ) from None
    except SystemExit as exit_:
        if exit_.code not in (0, None):
            raise InjectorError(
                f"the server stopped with status {exit_.code} on {options.host}:{options.port}"
            ) from None
    return 0
