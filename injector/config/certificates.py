"""CA certificates given in a variable's value, as PEM or as base64 of PEM (HCP Terraform's
`..._ENCODED_CACERT`). Parsed with `cryptography.x509`, imported inside the functions: only a
job that gives such a value loads it (the hot path of the others never does).

A value is never quoted in a message: it may hold a private key pasted by mistake.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING

from injector.errors import ConfigError

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

# Any PEM private key block: PKCS#8 (plain or encrypted), PKCS#1, SEC1, OpenSSH.
_PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
# `base64` wraps its output every 76 characters; Go's decoder, HCP's, skips the line breaks.
_BLANKS = re.compile(rb"\s+")


def parsed(name: str, pem: bytes, form: str) -> list[Certificate]:
    """The certificates of `pem`. Raises ConfigError naming `name` when there is none, or when
    a private key is in it."""
    if _PRIVATE_KEY.search(pem):
        # A key must not be written where a CA file goes, nor trusted as one.
        raise ConfigError.of(
            name, f"holds a private key: expected {form}, certificates only (remove the key)"
        )
    from cryptography import x509

    try:
        found = x509.load_pem_x509_certificates(pem)
    except ValueError:
        found = []
    if not found:
        raise ConfigError.of(name, f"expected {form}: no certificate could be read")
    return found


def decoded(name: str, value: str, form: str) -> bytes:
    """The certificates of `value` (base64 of PEM) alone, in PEM, as a file of them holds them.
    Raises ConfigError naming `name`: not base64, no certificate, or a private key in it."""
    try:
        pem = base64.b64decode(_BLANKS.sub(b"", value.encode()), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ConfigError.of(name, f"is not base64: expected {form}") from None
    from cryptography.hazmat.primitives.serialization import Encoding

    return b"".join(cert.public_bytes(Encoding.PEM) for cert in parsed(name, pem, form))
