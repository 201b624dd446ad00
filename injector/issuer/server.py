"""`injector serve`: the two documents over HTTP(S), Granian running the app of issuer.app
(`/healthz` for load balancers and orchestrators). SIGTERM drains open requests and exits 0.

Granian is imported here only, never on the minting path.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import socket
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path

from injector.errors import ConfigError, InjectorError
from injector.issuer.app import DEFAULT_MAX_AGE, DocumentApp, access_log, routes
from injector.issuer.discovery import Documents

# How long SIGTERM waits for requests in flight before closing their connections.
GRACEFUL_SECONDS = 10
# Hands the pre-rendered documents to the worker processes Granian starts.
_STATE = "INJECTOR_SERVE_STATE"


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
