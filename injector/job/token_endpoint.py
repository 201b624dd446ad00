"""`injector run --token-endpoint`: fresh tokens over loopback HTTP while the command runs.

Some SDKs read a token file once and present what they read for the rest of the run (azurerm);
others can be told to ask a URL each time they need one (GCP's `credential_source.url`). For
the clouds whose module describes a `ServedToken`, this serves `GET /<cloud>` on 127.0.0.1,
on a port the kernel picks, to callers that present a bearer made for this run only, and
points the SDKs at it. A token is minted on request and served again until half its life has
passed. The endpoint lives exactly as long as the command: `stop` closes it.

Only the standard library: the hot path must not pull in an HTTP framework, and this module is
imported only when the option is given.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from injector.clouds import tags
from injector.files import Folder
from injector.job import pipeline
from injector.job.pipeline import Prepared
from injector.job.plan import Plan

log = logging.getLogger("injector")

LOOPBACK = "127.0.0.1"


@dataclass
class _Minted:
    compact: str
    issued: float
    expires: float


@dataclass
class TokenEndpoint:
    """A running endpoint. `exports` point the command's SDKs at it (they hold the bearer, so
    they never show in a repr); `unset` are usual exports that would win over it; `requests`
    the clouds asked for by callers that presented the bearer."""

    exports: dict[str, str] = field(repr=False)
    unset: tuple[str, ...]
    stop: Callable[[], None] = field(repr=False)
    requests: list[str] = field(default_factory=list, repr=False)

    def apply(self, exports: dict[str, str]) -> dict[str, str]:
        """The command's exports once the endpoint is up."""
        kept = {name: value for name, value in exports.items() if name not in self.unset}
        return {**kept, **self.exports}


class _Tokens:
    """Mints every cloud's token on request; serves one again until half its life is gone."""

    def __init__(self, prepared: Prepared, folder: Path, clock: Callable[[], float]) -> None:
        self._prepared = prepared
        self._folder = folder
        self._clock = clock
        self._lock = threading.Lock()
        self._minted: dict[str, _Minted] = {}

    def get(self, cloud: str) -> str:
        with self._lock:
            now = self._clock()
            held = self._minted.get(cloud)
            if held is None or now >= held.issued + (held.expires - held.issued) / 2:
                plan = pipeline.mint(self._prepared, self._folder, int(now))
                for minted in plan.clouds:
                    expires = minted.token.claims.get("exp")
                    self._minted[tags.configuration_id(minted.config)] = _Minted(
                        minted.token.compact,
                        now,
                        float(expires) if isinstance(expires, int) else now,
                    )
                held = self._minted[cloud]
            return held.compact


def _handler(
    bearer: str, served: dict[str, Callable[[str], bytes]], tokens: _Tokens, seen: list[str]
) -> type[BaseHTTPRequestHandler]:
    expected = f"Bearer {bearer}".encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            cloud = urlsplit(self.path).path.strip("/")
            given = self.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                # Kept nowhere: any local user can reach loopback, and each request it sends
                # would otherwise grow the job's memory by up to 64 KiB.
                self._answer(401, b'{"message":"a bearer token is required"}', "application/json")
                return
            seen.append(cloud)
            body = served.get(cloud)
            if body is None:
                self._answer(404, b'{"message":"no such token"}', "application/json")
                return
            try:
                token = tokens.get(cloud)
            except Exception as error:  # the command's SDK gets a 500; the log says why
                log.warning("token endpoint: minting failed (%s)", type(error).__name__)
                self._answer(500, b'{"message":"minting failed"}', "application/json")
                return
            self._answer(200, body(token), "application/json")

        def log_message(self, format: str, *args: object) -> None:
            pass  # the request line carries nothing secret, but the log needs none of it

    return Handler


def serve(
    prepared: Prepared, plan: Plan, folder: Folder, *, clock: Callable[[], float] = time.time
) -> TokenEndpoint:
    """Start the endpoint for the clouds of `plan` that describe a `ServedToken`, rewrite their
    files (in the job's held `folder`) to point at it, and return the exports that do. Clouds
    without one are untouched."""
    bearer = secrets.token_urlsafe(32)
    # Untagged configurations only: a tagged one's SDK is pointed at its files by Terraform
    # code (HCP's variables), not by the environment the served outputs change.
    serving = {
        cloud.config.name: (cloud, served)
        for cloud in plan.clouds
        if (served := cloud.config.cloud.served_token) is not None and cloud.config.tag is None
    }
    seen: list[str] = []
    tokens = _Tokens(prepared, plan.folder, clock)
    bodies = {name: served.body for name, (_, served) in serving.items()}
    server = ThreadingHTTPServer((LOOPBACK, 0), _handler(bearer, bodies, tokens, seen))
    server.daemon_threads = True
    port = server.server_address[1]
    exports: dict[str, str] = {}
    unset: list[str] = []
    for name, (cloud, _served) in serving.items():
        url = f"http://{LOOPBACK}:{port}/{name}"
        outputs = cloud.config.served_outputs(cloud.outputs, cloud.token_file, url, bearer)
        for path, data in outputs.extra_files.items():
            folder.write(path, data)
        # Names the cloud dropped from its usual exports must not reach the command either.
        unset += [key for key in cloud.outputs.exports if key not in outputs.exports]
        exports.update(outputs.exports)
    thread = threading.Thread(target=server.serve_forever, name="injector-tokens", daemon=True)
    thread.start()
    log.info("serving fresh tokens for %s on a loopback endpoint", ", ".join(serving) or "none")

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return TokenEndpoint(exports=exports, unset=tuple(unset), stop=stop, requests=seen)
