"""The issuer's certificate chain as a TLS client meets it: the certificates the server sent and
the path the trust store verified, with the SHA-1 thumbprints a cloud that pins certificates
keeps. `doctor` prints them (diagnostics.tls_checks).
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from injector.diagnostics.fetch import TIMEOUT_SECONDS, FetchError, Trust

_DER = 2  # _ssl.ENCODING_DER


@dataclass(frozen=True)
class Chain:
    """A server's certificates: as it sent them (leaf first), and as the trust store verified
    them (leaf first, ending with the trusted root)."""

    host: str
    served: tuple[x509.Certificate, ...]
    verified: tuple[x509.Certificate, ...]

    @property
    def leaf(self) -> x509.Certificate:
        return self.verified[0]

    @property
    def root(self) -> x509.Certificate:
        return self.verified[-1]

    @property
    def top_intermediate(self) -> x509.Certificate:
        """The highest CA below the root, or the root when the root signed the leaf itself.

        This is the certificate whose thumbprint IAM asks for ("the top intermediate CA that
        signed the certificate used by the external IdP") and the last one a server normally
        sends: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc_verify-thumbprint.html
        """
        return self.verified[-2] if len(self.verified) > 2 else self.verified[-1]


def thumbprint(certificate: x509.Certificate) -> str:
    """The SHA-1 fingerprint as IAM writes it: 40 hex digits."""
    return certificate.fingerprint(hashes.SHA1()).hex()  # noqa: S303 (IAM's thumbprint is SHA-1)


def subject(certificate: x509.Certificate) -> str:
    return certificate.subject.rfc4514_string() or "(empty subject)"


def chain(url: str, trusted: Trust, timeout: float = TIMEOUT_SECONDS) -> Chain:
    """Connect to the host of `url` and return its verified certificate chain. Raises FetchError
    (kind tls or unreachable) when the handshake or the connection fails."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            _cut_at(raw, timeout),
            trusted.context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            served, verified = _chains(tls)
    except ssl.SSLCertVerificationError as error:
        raise FetchError(
            "tls", url, f"the certificate chain does not verify: {error.verify_message}"
        ) from None
    except ssl.SSLError as error:
        raise FetchError("tls", url, f"the TLS handshake failed: {error.reason or error}") from None
    except OSError as error:
        reason = "connection refused" if isinstance(error, ConnectionRefusedError) else str(error)
        raise FetchError("unreachable", url, reason) from None
    return Chain(host=f"{host}:{port}", served=served, verified=verified)


@contextmanager
def _cut_at(connection: socket.socket, seconds: float) -> Iterator[None]:
    """Shut `connection` down after `seconds`, however slowly the server trickles its
    handshake: the socket's own timeout bounds each read, not the whole."""
    timer = threading.Timer(seconds, _shut, (connection,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _shut(connection: socket.socket) -> None:
    with suppress(OSError):  # already closed
        connection.shutdown(socket.SHUT_RDWR)


def _chains(
    tls: ssl.SSLSocket,
) -> tuple[tuple[x509.Certificate, ...], tuple[x509.Certificate, ...]]:
    # Public on SSLSocket from Python 3.13; the same methods exist on the private SSL object
    # from 3.10 on.
    raw: Any = tls
    source: Any = raw if hasattr(raw, "get_verified_chain") else raw._sslobj
    served = tuple(_load(item) for item in source.get_unverified_chain() or ())
    verified = tuple(_load(item) for item in source.get_verified_chain() or ())
    if not verified:
        raise ssl.SSLError("the server sent no certificate")
    return served, verified


def _load(item: Any) -> x509.Certificate:
    return x509.load_der_x509_certificate(item.public_bytes(_DER))
