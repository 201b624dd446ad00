"""Issuer settings: where the signing key lives, the `kid`, the token lifetime and `iss`.

Same variable names and defaults as Terrakube, so an existing Terrakube deployment works as is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from injector import values
from injector.errors import ConfigError, Problems

PRIVATE_KEY_PATH = "DynamicCredentialPrivateKeyPath"
PUBLIC_KEY_PATH = "DynamicCredentialPublicKeyPath"
KEY_ID = "DynamicCredentialId"
TTL = "DynamicCredentialTtl"
HOSTNAME = "DynamicCredentialHostname"
TERRAKUBE_HOSTNAME = "TerrakubeHostname"

DEFAULT_KEY_ID = "03446895-220d-47e1-9564-4eeaa3691b42"
DEFAULT_TTL_MINUTES = 30
# Google refuses federated tokens that live longer than a day; nothing needs more.
MAX_TTL_MINUTES = 24 * 60

_HOST = r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~%-]+)*"
_BARE_HOST = re.compile(_HOST)
_URL = re.compile(r"https?://" + _HOST)
_HOST_FORM = "a host name such as terrakube-api.example.com (or an https:// URL), no trailing '/'"
_KEY_ID = re.compile(r"[\x21-\x7e]{1,128}")


@dataclass(frozen=True)
class IssuerSettings:
    issuer: str
    key_id: str
    ttl_minutes: int
    private_key_path: Path | None
    public_key_path: Path | None


def issuer_url(name: str, value: str) -> str:
    """`iss` from the configured host: `https://<host>`, or the value itself if it has a scheme.

    Clouds compare `iss` byte for byte with the registered provider URL and append
    `/.well-known/...` to it, so a trailing slash, query or blank is refused rather than fixed.
    """
    if "://" in value:
        return values.matching(name, value, _URL, _HOST_FORM)
    values.matching(name, value, _BARE_HOST, _HOST_FORM)
    return f"https://{value}"


def _issuer(env: Mapping[str, str]) -> str:
    for name in (HOSTNAME, TERRAKUBE_HOSTNAME):
        value = values.optional(env, name)
        if value is not None:
            return issuer_url(name, value)
    raise ConfigError.of(HOSTNAME, f"is required (or {TERRAKUBE_HOSTNAME}): expected {_HOST_FORM}")


def _ttl(env: Mapping[str, str]) -> int:
    value = values.optional(env, TTL)
    if value is None:
        return DEFAULT_TTL_MINUTES
    return values.positive_int(TTL, value, maximum=MAX_TTL_MINUTES, unit="minutes")


def _path(env: Mapping[str, str], name: str, *, required: bool = False) -> Path | None:
    value = values.optional(env, name)
    if value is None:
        if required:
            raise ConfigError.of(name, "is required: expected the path of a PEM private key")
        return None
    return Path(values.text(name, value, "a file path"))


def from_env(env: Mapping[str, str], *, require_key: bool = True) -> IssuerSettings:
    """Read the issuer settings. The private key path may be absent only when `require_key` is
    false (the dry run, which then signs with a throw-away key)."""
    problems = Problems()
    settings = IssuerSettings(
        issuer=problems.check(lambda: _issuer(env), ""),
        key_id=problems.check(
            lambda: values.matching(
                KEY_ID,
                values.optional(env, KEY_ID) or DEFAULT_KEY_ID,
                _KEY_ID,
                "1 to 128 printable ASCII characters without blanks",
            ),
            "",
        ),
        ttl_minutes=problems.check(lambda: _ttl(env), 0),
        private_key_path=problems.check(
            lambda: _path(env, PRIVATE_KEY_PATH, required=require_key), None
        ),
        public_key_path=problems.check(lambda: _path(env, PUBLIC_KEY_PATH), None),
    )
    problems.raise_if_any()
    return settings
