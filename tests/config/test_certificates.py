"""CA certificates given as a value: base64 of PEM decoded strictly, certificates only kept,
a private key refused without ever being quoted."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import trustme
from cryptography import x509

from injector.config import certificates
from injector.errors import ConfigError
from tests.conftest import KeyFiles

NAME = "SOME_ENCODED_CACERT"
FORM = "the CA in base64"


def _problem(value: str) -> str:
    with pytest.raises(ConfigError) as error:
        certificates.decoded(NAME, value, FORM)
    [problem] = error.value.problems
    assert problem.variable == NAME
    assert value.strip() not in problem.message  # never quoted: it may hold a key
    return problem.message


def test_one_certificate_as_hcp_takes_it() -> None:
    pem = trustme.CA().cert_pem.bytes()
    assert certificates.decoded(NAME, base64.b64encode(pem).decode(), FORM) == pem


def test_a_wrapped_chain_keeps_its_certificates_and_nothing_else() -> None:
    """`base64 ca.pem` wraps every 76 characters; text around the blocks is not kept."""
    first, second = trustme.CA().cert_pem.bytes(), trustme.CA().cert_pem.bytes()
    bundle = b"# the company's roots\n" + first + b"comment\n" + second
    wrapped = base64.encodebytes(bundle).decode()
    assert "\n" in wrapped.strip()

    assert certificates.decoded(NAME, wrapped, FORM) == first + second
    assert len(x509.load_pem_x509_certificates(first + second)) == 2


@pytest.mark.parametrize(
    "value",
    [
        "-----BEGIN CERTIFICATE-----",  # PEM itself, not encoded
        "bm90IHBhZGRlZA",  # padding missing
        "aGVsbG8=!",
        "aGVs_G8=",  # the URL-safe alphabet
        "é",
    ],
)
def test_what_is_not_base64_is_refused(value: str) -> None:
    assert _problem(value) == f"is not base64: expected {FORM}"


@pytest.mark.parametrize("pem", [b"hello", b"-----BEGIN CERTIFICATE-----\nAAAA\n"])
def test_base64_without_a_certificate_is_refused(pem: bytes) -> None:
    message = _problem(base64.b64encode(pem).decode())
    assert message == f"expected {FORM}: no certificate could be read"


@pytest.mark.parametrize(
    "key", ["private_pkcs8", "private_pkcs1", "ec_private", "encrypted_private"]
)
def test_a_private_key_beside_the_certificate_is_refused(key_files: KeyFiles, key: str) -> None:
    private: Path = getattr(key_files, key)
    bundle = trustme.CA().cert_pem.bytes() + private.read_bytes()
    message = _problem(base64.b64encode(bundle).decode())
    assert message.startswith("holds a private key: expected")
    assert "PRIVATE" not in message


def test_parsed_names_the_variable_when_nothing_is_a_certificate() -> None:
    with pytest.raises(ConfigError) as error:
        certificates.parsed(NAME, b"not pem", FORM)
    assert str(error.value.problems[0]) == f"{NAME}: expected {FORM}: no certificate could be read"
