"""Loading the operator's signing key: the forms that work, and every way it can be wrong."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from injector.config import issuer_settings, signing_keys
from injector.errors import ConfigError
from tests.conftest import KeyFiles

PRIVATE = issuer_settings.PRIVATE_KEY_PATH
PUBLIC = issuer_settings.PUBLIC_KEY_PATH


def _load(private: Path, public: Path | None = None, kid: str = "") -> signing_keys.SigningKey:
    env = {issuer_settings.HOSTNAME: "terrakube-api.example.com", PRIVATE: str(private)}
    if public is not None:
        env[PUBLIC] = str(public)
    if kid:
        env[issuer_settings.KEY_ID] = kid
    return signing_keys.load(issuer_settings.from_env(env))


def _refused(private: Path, public: Path | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as error:
        _load(private, public)
    return error.value


def _public_numbers(path: Path) -> rsa.RSAPublicNumbers:
    public_key = serialization.load_pem_public_key(path.read_bytes())
    assert isinstance(public_key, rsa.RSAPublicKey)
    return public_key.public_numbers()


def _private_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


# the forms that work


@pytest.mark.parametrize("form", ["pkcs8", "pkcs1"])
def test_loads_pkcs8_and_pkcs1(key_files: KeyFiles, form: str) -> None:
    path = key_files.private_pkcs8 if form == "pkcs8" else key_files.private_pkcs1
    marker = b"BEGIN PRIVATE KEY" if form == "pkcs8" else b"BEGIN RSA PRIVATE KEY"
    assert marker in path.read_bytes()
    key = _load(path, key_files.public, kid="my-kid")
    assert key.private_key.public_key().public_numbers() == _public_numbers(key_files.public)
    assert key.key_id == "my-kid"
    assert key.algorithm == "RS256"
    assert key.throwaway is False
    assert "RSA-2048" in key.description
    assert "my-kid" in key.description


def test_public_key_is_optional(key_files: KeyFiles) -> None:
    key = _load(key_files.private_pkcs8)
    assert key.private_key.key_size == 2048
    assert key.key_id == issuer_settings.DEFAULT_KEY_ID


def test_public_key_in_pkcs1_form_accepted(key_files: KeyFiles, tmp_path: Path) -> None:
    # `openssl rsa -RSAPublicKey_out` writes `BEGIN RSA PUBLIC KEY`.
    public = tmp_path / "rsa_public.pem"
    public.write_bytes(
        _private_key(key_files.private_pkcs8)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    )
    assert b"BEGIN RSA PUBLIC KEY" in public.read_bytes()
    assert _load(key_files.private_pkcs8, public).throwaway is False


def test_missing_private_key_path() -> None:
    settings = issuer_settings.from_env(
        {issuer_settings.HOSTNAME: "h.example.com"}, require_key=False
    )
    with pytest.raises(ConfigError) as error:
        signing_keys.load(settings)
    assert [p.variable for p in error.value.problems] == [PRIVATE]


# private keys that are refused


def _assert_names_private(error: ConfigError) -> None:
    assert [p.variable for p in error.problems] == [PRIVATE]


def test_public_key_given_as_private_key(key_files: KeyFiles) -> None:
    error = _refused(key_files.public)
    _assert_names_private(error)
    assert "public key" in str(error)


def test_certificate_given_as_private_key(key_files: KeyFiles, tmp_path: Path) -> None:
    key = _private_key(key_files.private_pkcs8)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "terrakube")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "cert.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    error = _refused(path)
    _assert_names_private(error)
    assert "certificate" in str(error)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a key at all\n",
        os.urandom(512),
        b"-----BEGIN PRIVATE KEY-----\nZ2FyYmFnZQ==\n-----END PRIVATE KEY-----\n",
        b"-----BEGIN RSA PRIVATE KEY-----\n!!!!\n-----END RSA PRIVATE KEY-----\n",
        b"-----BEGIN PRIVATE KEY-----\n",
    ],
)
def test_garbage(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage.pem"
    path.write_bytes(content)
    error = _refused(path)
    _assert_names_private(error)
    assert str(path) in str(error)


def test_truncated_real_key(key_files: KeyFiles, tmp_path: Path) -> None:
    data = key_files.private_pkcs8.read_bytes()
    path = tmp_path / "truncated.pem"
    path.write_bytes(data[: len(data) // 2] + b"\n-----END PRIVATE KEY-----\n")
    _assert_names_private(_refused(path))


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.pem"
    error = _refused(path)
    _assert_names_private(error)
    assert str(path) in str(error)


def test_folder(tmp_path: Path) -> None:
    error = _refused(tmp_path)
    _assert_names_private(error)
    assert "folder" in str(error)


def test_unreadable_path_through_a_file(key_files: KeyFiles) -> None:
    # A path that goes through a regular file fails with ENOTDIR: a real read failure that
    # root cannot bypass (unlike a mode of 000).
    path = key_files.private_pkcs8 / "private.pem"
    error = _refused(path)
    _assert_names_private(error)
    assert str(path) in str(error)


def test_encrypted_pkcs8(key_files: KeyFiles) -> None:
    assert b"BEGIN ENCRYPTED PRIVATE KEY" in key_files.encrypted_private.read_bytes()
    error = _refused(key_files.encrypted_private)
    _assert_names_private(error)
    assert "passphrase" in str(error)


def test_encrypted_pkcs1(key_files: KeyFiles, tmp_path: Path) -> None:
    # `openssl genrsa -aes256 -traditional`: a Proc-Type header inside BEGIN RSA PRIVATE KEY.
    path = tmp_path / "encrypted_pkcs1.pem"
    path.write_bytes(
        _private_key(key_files.private_pkcs8).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    assert b"Proc-Type: 4,ENCRYPTED" in path.read_bytes()
    error = _refused(path)
    _assert_names_private(error)
    assert "passphrase" in str(error)


def test_rsa_1024_refused(key_files: KeyFiles) -> None:
    error = _refused(key_files.small_private)
    _assert_names_private(error)
    assert "1024" in str(error)
    assert "2048" in str(error)


def test_ec_key_refused(key_files: KeyFiles) -> None:
    # EC support is being added elsewhere: only the variable is part of this contract.
    _assert_names_private(_refused(key_files.ec_private))


def test_error_never_shows_key_material(key_files: KeyFiles, tmp_path: Path) -> None:
    # A private key given as the *public* key: the message must not quote it back.
    error = _refused(key_files.private_pkcs8, key_files.private_pkcs1)
    body = key_files.private_pkcs1.read_text().splitlines()[1]
    assert body not in str(error)


# the public key


def test_public_key_mismatch(key_files: KeyFiles) -> None:
    error = _refused(key_files.private_pkcs8, key_files.other_public)
    assert [p.variable for p in error.problems] == [PUBLIC]
    assert PRIVATE in str(error)


def test_public_key_of_another_type_is_a_mismatch(key_files: KeyFiles, tmp_path: Path) -> None:
    ec_key = serialization.load_pem_private_key(key_files.ec_private.read_bytes(), None)
    path = tmp_path / "ec_public.pem"
    path.write_bytes(
        ec_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    error = _refused(key_files.private_pkcs8, path)
    assert [p.variable for p in error.problems] == [PUBLIC]


@pytest.mark.parametrize("case", ["missing", "folder", "garbage", "private key"])
def test_public_key_unusable(key_files: KeyFiles, tmp_path: Path, case: str) -> None:
    if case == "missing":
        path = tmp_path / "nope.pem"
    elif case == "folder":
        path = tmp_path
    elif case == "garbage":
        path = tmp_path / "garbage.pem"
        path.write_bytes(b"garbage")
    else:
        path = key_files.private_pkcs1
    error = _refused(key_files.private_pkcs8, path)
    assert [p.variable for p in error.problems] == [PUBLIC]


# the dry run's key


def test_throwaway_key() -> None:
    first = signing_keys.throwaway("kid-1")
    second = signing_keys.throwaway("kid-1")
    assert first.throwaway is True
    assert first.key_id == "kid-1"
    assert first.algorithm == "RS256"
    assert first.private_key.key_size >= 2048
    assert (
        first.private_key.public_key().public_numbers()
        != second.private_key.public_key().public_numbers()
    )


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    length = bytes([size]) if size < 128 else bytes([0x80 | ((size.bit_length() + 7) // 8)])
    if size >= 128:
        length += size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + body


def _der_int(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def test_a_damaged_rsa_key_is_refused(tmp_path: Path) -> None:
    """Loading skips cryptography's slow consistency check; the probe signature catches a key
    whose parts do not belong together: here the private parts of one key beside the modulus of
    another (PKCS#1 written by hand: cryptography refuses to build such a key), so every token it
    signed would fail to verify."""
    import base64

    from cryptography.hazmat.primitives.asymmetric import rsa

    good = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_numbers()
    other_n = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    fields: tuple[int, ...] = (0, other_n.public_numbers().n, 65537, good.d, good.p, good.q)
    fields += (good.dmp1, good.dmq1, good.iqmp)
    der = _der(0x30, b"".join(_der_int(value) for value in fields))
    body = base64.encodebytes(der).decode().replace("\n", "")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    path = tmp_path / "damaged.pem"
    path.write_text(
        "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END RSA PRIVATE KEY-----\n"
    )
    with pytest.raises(ConfigError) as caught:
        signing_keys.load_private_key(path)
    assert caught.value.problems[0].variable == "DynamicCredentialPrivateKeyPath"
    assert "damaged" in caught.value.problems[0].message
