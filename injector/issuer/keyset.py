"""The keys the issuer publishes in its JWKS: the signing key's public half, then the rotation
keys (DynamicCredentialAdditionalPublicKeys) in the order given.

Only public keys are needed: the machine that publishes the documents need not hold the private
key. When the private key is configured too, the published public key is checked against it.
With the Transit settings, the signing key is the Transit key's latest version, read from
OpenBao/Vault (httpx, imported only then): what `injector signer` signs with.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from injector.config import signing_keys
from injector.config.issuer_settings import (
    ADDITIONAL_KEYS,
    PRIVATE_KEY_PATH,
    PUBLIC_KEY_PATH,
    AdditionalKey,
    IssuerSettings,
)
from injector.errors import ConfigError, InjectorError, Problems, require_modules
from injector.jose import algorithms
from injector.transit import settings as transit_settings
from injector.transit.settings import TransitSettings


@dataclass(frozen=True)
class PublishedKey:
    key_id: str
    algorithm: str
    public_key: signing_keys.PublicKey


def _signing_key(issuer: IssuerSettings) -> PublishedKey:
    if issuer.public_key_path is not None:
        public = signing_keys.read_public_key(PUBLIC_KEY_PATH, issuer.public_key_path)
        signing_keys.check_type(PUBLIC_KEY_PATH, issuer.public_key_path, public, issuer.algorithm)
        if issuer.private_key_path is not None:
            private = signing_keys.load_private_key(issuer.private_key_path, issuer.algorithm)
            public = signing_keys.check_public_key(issuer.public_key_path, private)
    elif issuer.private_key_path is not None:
        public = signing_keys.load_private_key(
            issuer.private_key_path, issuer.algorithm
        ).public_key()
    else:
        raise ConfigError.of(
            PUBLIC_KEY_PATH,
            f"is required to publish the signing key (or {PRIVATE_KEY_PATH}): "
            "expected the path of a PEM public key",
        )
    assert isinstance(public, signing_keys.PublicKey)  # noqa: S101 (check_type refused anything else)
    return PublishedKey(issuer.key_id, issuer.algorithm, public)


def _algorithm(entry: AdditionalKey, key: object, signing_algorithm: str) -> str:
    """The entry's algorithm; else the signing algorithm for a key of the signing key's type
    (so a rotation that keeps the algorithm needs no `:ALG`); else the key type's default."""
    if entry.algorithm is not None:
        return entry.algorithm
    default = signing_keys.default_algorithm(key)
    same_family = (default in algorithms.RSA_ALGORITHMS) == (
        signing_algorithm in algorithms.RSA_ALGORITHMS
    )
    return signing_algorithm if same_family else default


def _additional_key(entry: AdditionalKey, signing_algorithm: str) -> PublishedKey:
    public = signing_keys.read_public_key(ADDITIONAL_KEYS, entry.path)
    algorithm = _algorithm(entry, public, signing_algorithm)
    try:
        signing_keys.check_type(ADDITIONAL_KEYS, entry.path, public, algorithm)
    except ConfigError as error:
        raise ConfigError.of(
            ADDITIONAL_KEYS, f"kid {entry.key_id}: {error.problems[0].message}"
        ) from None
    assert isinstance(public, signing_keys.PublicKey)  # noqa: S101 (check_type refused anything else)
    return PublishedKey(entry.key_id, algorithm, public)


def _transit_key(issuer: IssuerSettings, transit: TransitSettings) -> PublishedKey:
    require_modules("jwks/discovery/publish/serve with Transit", "vault", ("httpx",))
    from injector.transit.client import TransitError
    from injector.transit.public_key import read_public_key

    try:
        _key, public = read_public_key(transit, issuer.algorithm)
    except TransitError as error:
        raise InjectorError(f"{transit_settings.PREFIX}*: cannot read the key: {error}") from None
    return PublishedKey(issuer.key_id, issuer.algorithm, public)


def load(
    issuer: IssuerSettings, transit: TransitSettings | None = None
) -> tuple[PublishedKey, ...]:
    """Every published key, the signing key first (from Transit when `transit` is given).
    Raises ConfigError listing every key that cannot be read, has the wrong type for its
    algorithm, or is published twice; InjectorError when OpenBao cannot be asked."""
    problems = Problems()
    signing = _signing_key if transit is None else partial(_transit_key, transit=transit)
    loaded = [problems.run(signing, issuer)]
    loaded += [
        problems.run(_additional_key, entry, issuer.algorithm) for entry in issuer.additional_keys
    ]
    problems.raise_if_any()
    published = [key for key in loaded if key is not None]
    seen: dict[bytes, str] = {}
    for key in published:
        der = signing_keys.public_der(key.public_key)
        if der in seen:
            problems.add(
                ADDITIONAL_KEYS,
                f"kid {key.key_id} is the same key as kid {seen[der]}: "
                "expected each key once, under one kid",
            )
        seen.setdefault(der, key.key_id)
    problems.raise_if_any()
    return tuple(published)
