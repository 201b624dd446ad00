"""A JSON-over-HTTP client bound to one origin, for servers the job does not control (Vault's
login and renewals, OpenBao's Transit): whatever the server does, a call ends within its
deadline, reads at most `max_bytes`, stays on the origin, and fails with a message that holds
no header value and none of the secrets the call carried, even when the server echoes them.

httpx alone bounds each read, not the exchange (a server dripping a byte a second holds a call
for ever), reads any body whole, follows redirects to any host with the same headers, and puts
an illegal header value (a token with a line break) into its exception message.
"""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
import httpx

from injector.errors import InjectorError
from injector.net.deadline import Backend, Deadline
from injector.net.redact import clean

MAX_REDIRECTS = 3
# A header value as every HTTP/1.1 stack carries it: visible ASCII, inner spaces only.
_HEADER_VALUE = re.compile(r"[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*", re.ASCII)


class HttpError(InjectorError):
    """The call failed; `status` is the HTTP status when there was an answer."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    body: bytes
    content_type: str = ""  # as the server sent it: a caller may require a media type

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def document(self) -> object:
        """The body as JSON, or None when it is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


def header_safe(value: str) -> bool:
    """Whether `value` can go into an HTTP header as it is (no line break, no control
    character, nothing outside ASCII, no space at either end)."""
    return _HEADER_VALUE.fullmatch(value) is not None


def tls_problem(error: BaseException) -> str | None:
    """The certificate or handshake problem behind an httpx error, if that is what it is."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"the certificate chain does not verify: {seen.verify_message}"
        if isinstance(seen, ssl.SSLError):
            return f"the TLS handshake failed: {seen.reason or seen}"
        seen = seen.__cause__ or seen.__context__
    text = str(error)
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
        return f"the TLS handshake failed: {text}"
    return None


def _reason(error: httpx.HTTPError) -> str:
    """What went wrong, from the error's kind and the operating system's words only: httpx's
    own messages may quote a header value."""
    tls = tls_problem(error)
    if tls is not None:
        return tls
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return f"cannot connect: {seen.strerror.lower()}"
        seen = seen.__cause__ or seen.__context__
    if isinstance(error, httpx.ConnectError):
        return "cannot connect"
    if isinstance(error, httpx.RemoteProtocolError):
        return "the server broke the HTTP protocol"
    return f"the request failed ({type(error).__name__})"


def _origin(url: httpx.URL | str) -> tuple[str, str, int | None]:
    parts = urlsplit(str(url))
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def _shown_origin(url: httpx.URL) -> str:
    """Scheme, host and port: never the userinfo a Location may carry."""
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}"


class GuardedClient:
    """Calls to one origin (`scheme://host[:port]`). Close it when done."""

    def __init__(
        self,
        origin: str,
        *,
        verify: ssl.SSLContext | None,
        timeout: float,
        max_bytes: int,
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = True,
    ) -> None:
        self.origin = origin.rstrip("/")
        self.follow_redirects = follow_redirects
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._headers = dict(headers or {})
        _check_headers(self._headers)
        self._deadline = Deadline()
        context = verify if verify is not None else httpx.create_ssl_context()
        transport = httpx.HTTPTransport(verify=context)
        # httpx takes no network backend; its pool does: the same pool, every connect,
        # handshake and read cut to what is left of the call's deadline.
        transport._pool = httpcore.ConnectionPool(
            ssl_context=context, network_backend=Backend(self._deadline)
        )
        # No proxy or CA from the environment: a proxy's connections would escape the deadline.
        self._http = httpx.Client(
            transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
        )

    def close(self) -> None:
        self._http.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, object] | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
    ) -> Answer:
        """`method` on `<origin>/<path>`, redirects within the origin followed (method and body
        kept, as 307 and 308 ask; none with `follow_redirects` False). Raises HttpError, whose
        message says what went wrong (for the caller to put after the URL) and never holds a
        header value or one of `secrets`: the call did not end in time, the server could not
        be reached, the body is over `max_bytes`, or a redirect leads elsewhere (or at all)."""
        extra = dict(headers or {})
        _check_headers(extra)
        # The call's own headers carry its secrets (a token); the client's are settings.
        hidden = (*secrets, *extra.values())
        current = f"{self.origin}/{path}"
        self._deadline.start(self.timeout)
        for _hop in range(MAX_REDIRECTS + 1):
            with self._exchange(method, current, body, params, extra, hidden) as response:
                if response.is_redirect:
                    target = response.url.join(response.headers.get("location", ""))
                    if not self.follow_redirects:
                        raise HttpError(
                            f"answered a redirect (HTTP {response.status_code}): not followed",
                            response.status_code,
                        )
                    if _origin(target) != _origin(self.origin):
                        raise HttpError(
                            "redirected to "
                            f"{clean(_shown_origin(target), hidden, 80)}"
                            ", another origin: not followed",
                            response.status_code,
                        )
                    current, params = str(target), None
                    continue
                return Answer(
                    response.status_code,
                    clean(response.reason_phrase, hidden, 80),
                    self._body(response),
                    response.headers.get("content-type", ""),
                )
        raise HttpError(f"more than {MAX_REDIRECTS} redirects")

    @contextmanager
    def _exchange(
        self,
        method: str,
        current: str,
        body: Mapping[str, object] | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
        hidden: Sequence[str],
    ) -> Iterator[httpx.Response]:
        try:
            with self._http.stream(
                method,
                current,
                json=body,
                params=params,
                headers={**self._headers, **headers},
            ) as response:
                yield response
        except httpx.TimeoutException:
            raise HttpError(f"no complete answer within {self.timeout:g} s") from None
        except httpx.HTTPError as error:
            raise HttpError(clean(_reason(error), hidden)) from None

    def _body(self, response: httpx.Response) -> bytes:
        """The body, read in pieces and cut off past `max_bytes`: never read whole first."""
        too_big = HttpError(f"the answer is over {self.max_bytes} bytes", response.status_code)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise too_big
        pieces: list[bytes] = []
        size = 0
        for piece in response.iter_bytes():
            size += len(piece)
            if size > self.max_bytes:
                raise too_big
            pieces.append(piece)
        return b"".join(pieces)


def _check_headers(headers: Mapping[str, str]) -> None:
    for name, value in headers.items():
        if not header_safe(value):
            raise HttpError(
                f"the {name} header's value has characters an HTTP header cannot carry "
                "(a line break, a control character or non-ASCII): not sent"
            )
