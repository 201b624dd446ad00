"""The Transit key's public part, checked as any published key is: what the signer pins and
what `jwks`/`discovery`/`publish`/`serve` publish under DynamicCredentialId."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization

from injector.config import signing_keys
from injector.config.issuer_settings import ALGORITHM
from injector.errors import ConfigError
from injector.transit.client import TransitClient, TransitKey, key_types
from injector.transit.settings import KEY, TransitSettings


def public_key(key: TransitKey, algorithm: str) -> signing_keys.PublicKey:
    """The Transit key's public part, checked as a published key is (type, size, exponent).
    Raises ConfigError naming DynamicCredentialTransitKey."""
    if key.type not in key_types(algorithm):
        raise ConfigError.of(
            KEY,
            f"{key.name} is a Transit key of type {key.type}: expected "
            f"{' or '.join(key_types(algorithm))} for {algorithm} (set {ALGORITHM} to match)",
        )
    try:
        public = serialization.load_pem_public_key(key.public_pem)
    except (ValueError, TypeError):
        raise ConfigError.of(KEY, f"{key.name}: OpenBao's public key cannot be parsed") from None
    signing_keys.check_type(KEY, f"{key.name} version {key.version}", public, algorithm)
    assert isinstance(public, signing_keys.PublicKey)  # noqa: S101 (check_type refused anything else)
    return public


def read_public_key(
    transit: TransitSettings, algorithm: str
) -> tuple[TransitKey, signing_keys.PublicKey]:
    """The key's latest version and public part, for the signer and the issuer's JWKS.
    ConfigError for a key of the wrong type; TransitError when OpenBao refuses or is down."""
    client = TransitClient(transit)
    try:
        key = client.read_key()
    finally:
        client.close()
    return key, public_key(key, algorithm)
