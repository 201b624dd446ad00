"""HTTPS as a cloud does it when it checks a token: fetch the issuer's JSON documents with a
verified certificate chain, and look at that chain (doctor prints the thumbprint AWS keeps).

Only `injector verify` and `doctor` import this module (it loads httpx and ssl): never the hot
path.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpcore
import httpx

from injector.errors import ConfigError
from injector.net.deadline import Backend, Deadline
from injector.net.guarded import tls_problem

# The whole of one fetch: connection, TLS, every redirect, headers and body.
TIMEOUT_SECONDS = 10
# Discovery documents and key sets are a few kilobytes; anything far larger is not one. The
# body is read in pieces and the fetch stops at this many bytes (after decompression).
MAX_BYTES = 1 << 20
MAX_REDIRECTS = 5
_DER = 2  # _ssl.ENCODING_DER

FailureKind = Literal["unreachable", "tls", "http", "json"]


class FetchError(Exception):
    """A document could not be had: `kind` says which step failed, `reason` says how."""

    def __init__(self, kind: FailureKind, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.kind, self.url, self.reason = kind, url, reason


@dataclass(frozen=True)
class Trust:
    """The CAs a fetch trusts, and where they came from (for the checklist)."""

    context: ssl.SSLContext
    source: str


def trust(ca_bundle: Path | None, env: Mapping[str, str]) -> Trust:
    """`--ca-bundle`, else $SSL_CERT_FILE, else $SSL_CERT_DIR, else certifi's public CAs (what
    the clouds trust is close to that list). Raises ConfigError naming the option or variable
    whose file cannot be loaded."""
    if ca_bundle is not None:
        return Trust(_context("--ca-bundle", cafile=str(ca_bundle)), f"--ca-bundle {ca_bundle}")
    if env.get("SSL_CERT_FILE"):
        path = env["SSL_CERT_FILE"]
        return Trust(_context("SSL_CERT_FILE", cafile=path), f"SSL_CERT_FILE {path}")
    if env.get("SSL_CERT_DIR"):
        path = env["SSL_CERT_DIR"]
        return Trust(_context("SSL_CERT_DIR", capath=path), f"SSL_CERT_DIR {path}")
    import certifi

    return Trust(_context("certifi", cafile=certifi.where()), "the public CAs of certifi")


def _context(name: str, *, cafile: str | None = None, capath: str | None = None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError.of(
            name, f"cannot load CA certificates from {cafile or capath}: {error}"
        ) from None


@dataclass(frozen=True)
class Document:
    url: str
    final_url: str  # differs from `url` after a redirect
    body: dict[str, Any]
    content_type: str


class Fetcher:
    """Fetches JSON documents over HTTPS, each URL once (doctor checks several tokens against
    the same issuer). Close it when done."""

    def __init__(self, trusted: Trust, timeout: float = TIMEOUT_SECONDS) -> None:
        self.trust = trusted
        self._timeout = timeout
        self._deadline = Deadline()
        transport = httpx.HTTPTransport(verify=trusted.context)
        # httpx takes no network backend; its pool does. Same pool, every timeout cut to the
        # fetch's deadline (injector.net.deadline).
        transport._pool = httpcore.ConnectionPool(
            ssl_context=trusted.context, network_backend=Backend(self._deadline)
        )
        # Redirects are followed here, one hop at a time, so each hop is checked for https.
        self._client = httpx.Client(transport=transport, timeout=timeout, follow_redirects=False)
        self._seen: dict[str, Document | FetchError] = {}

    def close(self) -> None:
        """Close the connections; returns nothing."""
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def json(self, url: str) -> Document:
        """The JSON object at `url`. Raises FetchError when the URL is not https, the host
        cannot be reached, its certificate chain does not verify, a redirect leads off https,
        the whole exchange takes longer than the timeout, the answer is not 200, or the body is
        over MAX_BYTES or not a JSON object."""
        if url not in self._seen:
            self._deadline.start(self._timeout)
            try:
                self._seen[url] = self._get(url)
            except FetchError as error:
                self._seen[url] = error
        found = self._seen[url]
        if isinstance(found, FetchError):
            raise found
        return found

    def _get(self, url: str) -> Document:
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            if urlsplit(current).scheme != "https":
                reason = (
                    "not an https:// URL: clouds fetch over HTTPS only"
                    if current == url
                    else f"redirected to {current}, which is not https"
                )
                raise FetchError("unreachable", url, reason)
            with self._exchange(url, current) as response:
                if response.is_redirect:
                    current = str(response.url.join(response.headers.get("location", "")))
                    continue
                if response.status_code != 200:
                    raise FetchError(
                        "http", url, f"answered HTTP {response.status_code}, expected 200"
                    )
                content = self._body(url, response)
                content_type = response.headers.get("content-type", "")
            return Document(url, current, _object(url, content), content_type)
        raise FetchError("http", url, "too many redirects")

    @contextmanager
    def _exchange(self, url: str, current: str) -> Iterator[httpx.Response]:
        """The response of one hop, its body not read yet; closed afterwards."""
        try:
            with self._client.stream(
                "GET", current, headers={"Accept": "application/json"}
            ) as response:
                yield response
        except httpx.TimeoutException:
            raise FetchError(
                "unreachable", url, f"no complete answer within {self._timeout:g} s"
            ) from None
        except httpx.HTTPError as error:
            tls = tls_problem(error)
            if tls is not None:
                raise FetchError("tls", url, tls) from None
            raise FetchError("unreachable", url, _reason(error)) from None

    def _body(self, url: str, response: httpx.Response) -> bytes:
        """The body, read in pieces: a server announcing or sending more than MAX_BYTES is cut
        off there, never read whole into memory."""
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BYTES:
            raise FetchError("json", url, f"the body is over {MAX_BYTES} bytes")
        pieces: list[bytes] = []
        size = 0
        for piece in response.iter_bytes():
            size += len(piece)
            if size > MAX_BYTES:
                raise FetchError("json", url, f"the body is over {MAX_BYTES} bytes")
            pieces.append(piece)
        return b"".join(pieces)


def _object(url: str, content: bytes) -> dict[str, Any]:
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise FetchError("json", url, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise FetchError("json", url, "the body is JSON but not an object")
    return body


def _reason(error: httpx.HTTPError) -> str:
    text = str(error) or type(error).__name__
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    return text
