"""The signing key: loaded from the operator's PEM files, checked, or made up for a dry run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from injector.errors import ConfigError
from injector.issuer import PRIVATE_KEY_PATH, PUBLIC_KEY_PATH, IssuerSettings

MIN_RSA_BITS = 2048
DEFAULT_ALGORITHM = "RS256"


@dataclass(frozen=True)
class SigningKey:
    private_key: rsa.RSAPrivateKey
    key_id: str
    algorithm: str = DEFAULT_ALGORITHM
    throwaway: bool = False

    @property
    def description(self) -> str:
        return f"RSA-{self.private_key.key_size} ({self.algorithm}, kid {self.key_id})"


def _read(variable: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError.of(variable, f"no such file: {path}") from None
    except IsADirectoryError:
        raise ConfigError.of(variable, f"is a folder, expected a PEM file: {path}") from None
    except OSError as error:
        raise ConfigError.of(variable, f"cannot read {path}: {error.strerror}") from None


def _pem_kind(data: bytes) -> str | None:
    """The label of the first PEM block (`PRIVATE KEY`, `PUBLIC KEY`, ...), if any."""
    start = data.find(b"-----BEGIN ")
    if start < 0:
        return None
    end = data.find(b"-----", start + 11)
    return None if end < 0 else data[start + 11 : end].decode("ascii", "replace")


def load_private_key(path: Path) -> rsa.RSAPrivateKey:
    """An unencrypted RSA private key of at least 2048 bits, PKCS#8 (`BEGIN PRIVATE KEY`, what
    the Terrakube docs' `openssl pkcs8` makes) or PKCS#1 (`BEGIN RSA PRIVATE KEY`, `genrsa`)."""
    variable = PRIVATE_KEY_PATH
    data = _read(variable, path)
    form = "an unencrypted PEM private key (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)"
    kind = _pem_kind(data)
    if kind is None:
        raise ConfigError.of(variable, f"{path} is not PEM: expected {form}")
    if "PUBLIC KEY" in kind or "CERTIFICATE" in kind:
        raise ConfigError.of(
            variable, f"{path} holds a {kind.lower()}, not a private key: expected {form}"
        )
    if "ENCRYPTED" in kind or b"Proc-Type: 4,ENCRYPTED" in data:
        raise ConfigError.of(variable, f"{path} is encrypted with a passphrase: expected {form}")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigError.of(variable, f"{path} cannot be parsed: expected {form}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError.of(
            variable, f"{path} holds a {type(key).__name__} key: expected an RSA key"
        )
    if key.key_size < MIN_RSA_BITS:
        raise ConfigError.of(
            variable,
            f"{path} is an RSA-{key.key_size} key: expected at least {MIN_RSA_BITS} bits",
        )
    return key


def check_public_key(path: Path, private_key: rsa.RSAPrivateKey) -> None:
    """The published public key must be the private key's: else every token fails to verify."""
    variable = PUBLIC_KEY_PATH
    data = _read(variable, path)
    try:
        public_key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigError.of(
            variable, f"{path} cannot be parsed: expected a PEM public key (BEGIN PUBLIC KEY)"
        ) from None
    if (
        not isinstance(public_key, rsa.RSAPublicKey)
        or public_key.public_numbers() != private_key.public_key().public_numbers()
    ):
        raise ConfigError.of(
            variable, f"{path} does not match the private key in {PRIVATE_KEY_PATH}"
        )


def load(issuer: IssuerSettings) -> SigningKey:
    if issuer.private_key_path is None:
        raise ConfigError.of(
            PRIVATE_KEY_PATH, "is required: expected the path of a PEM private key"
        )
    private_key = load_private_key(issuer.private_key_path)
    if issuer.public_key_path is not None:
        check_public_key(issuer.public_key_path, private_key)
    return SigningKey(private_key=private_key, key_id=issuer.key_id)


def throwaway(key_id: str) -> SigningKey:
    """A fresh key that nobody trusts, so a dry run can show real, decodable tokens."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=MIN_RSA_BITS)
    return SigningKey(private_key=key, key_id=key_id, throwaway=True)
