"""A throwaway CA and the certificate it signs for 127.0.0.1: the issuer serves its documents
over HTTPS with it, and the stand-ins trust it as the clouds trust public CAs."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

from tests.standins.server import LOOPBACK


@dataclass(frozen=True)
class TestTls:
    """A CA made for this run, and the certificate of 127.0.0.1 it signed."""

    ca: trustme.CA
    server: trustme.LeafCert
    ca_file: Path  # for REQUESTS_CA_BUNDLE / SSL_CERT_FILE in the SDKs' processes
    certfile: Path  # the server's certificate chain, for `injector serve --certfile`
    keyfile: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server.configure_cert(context)
        return context

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context


def make(folder: Path) -> TestTls:
    """A fresh CA and server certificate, written as PEM files into `folder`."""
    ca = trustme.CA()
    server = ca.issue_cert(LOOPBACK, "localhost")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    certfile, keyfile = folder / "server.pem", folder / "server.key"
    certfile.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    server.private_key_pem.write_to_path(str(keyfile))
    return TestTls(
        ca=ca, server=server, ca_file=folder / "ca.pem", certfile=certfile, keyfile=keyfile
    )


def trusting(ca_file: Path) -> ssl.SSLContext:
    """A client context that trusts the CA in `ca_file` (a stand-in run as a program)."""
    return ssl.create_default_context(cafile=str(ca_file))
