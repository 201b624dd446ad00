"""The signer's own OpenBao/Vault Transit settings: where the signing key lives when it never
exists as a file.

Named DynamicCredentialTransit* so that they cannot be mixed up with a workspace's own login
variables (clouds.vault): the signer's token is the operator's, read from a file
that only the signer's user can read, never from an environment value.
"""

from __future__ import annotations

import re
import ssl
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from injector import files
from injector.config import urls, values
from injector.config.issuer_settings import PRIVATE_KEY_PATH, PUBLIC_KEY_PATH
from injector.errors import ConfigError, Problems

PREFIX = "DynamicCredentialTransit"
ADDRESS = "DynamicCredentialTransitAddress"
KEY = "DynamicCredentialTransitKey"
MOUNT = "DynamicCredentialTransitMount"
TOKEN_FILE = "DynamicCredentialTransitTokenFile"  # noqa: S105 (a variable name)
CA_CERT = "DynamicCredentialTransitCaCert"
VARIABLES = (ADDRESS, KEY, MOUNT, TOKEN_FILE, CA_CERT)

DEFAULT_MOUNT = "transit"
MAX_TOKEN_FILE_BYTES = 4096  # a Vault token is under 200 bytes; a batch token under 1 KB
MAX_CA_FILE_BYTES = 1 << 20

_ADDRESS_FORM = "an https:// URL of the OpenBao/Vault server (http:// only to a loopback address)"
# Transit key names and mount paths as Vault takes them in a URL path: no '..', no escapes.
_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
_KEY_FORM = "a Transit key name of 1 to 128 letters, digits and ._- (not starting with '.')"
_MOUNT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")
_MOUNT_FORM = "the Transit engine's mount path, such as transit or team/transit (no '/' at ends)"
# The characters a Vault token is made of (hvs./s./b. prefixes, base62 and '.', '_', '-').
_TOKEN = re.compile(r"[A-Za-z0-9._-]{1,2048}")


@dataclass(frozen=True)
class TransitSettings:
    address: str
    key: str
    mount: str
    token_file: Path
    ca_cert: Path | None
    token: str = field(repr=False)  # the signer's Vault token: a secret
    trust: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    @property
    def where(self) -> str:
        """For logs and messages: the key and its server, never the token."""
        return f"Transit key {self.key} at {self.address}/v1/{self.mount}"


def configured(env: Mapping[str, str]) -> bool:
    """Whether any Transit setting is set: then the signing key is the Transit key."""
    return any(values.optional(env, name) is not None for name in VARIABLES)


def read_token(path: Path) -> str:
    """The Vault token in `path`, which only its owner may read (0600 or 0400). ConfigError
    naming DynamicCredentialTransitTokenFile; the message never holds the file's content."""
    data = files.read_file(
        path, TOKEN_FILE, "a file holding a Vault token", limit=MAX_TOKEN_FILE_BYTES
    )
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError.of(
            TOKEN_FILE,
            f"{path} has mode {mode:04o}: expected 0600 or 0400 (anyone else who can read the "
            "signer's Vault token can sign as the issuer)",
        )
    try:
        token = data.decode("ascii").strip()
    except UnicodeDecodeError:
        token = ""
    if not _TOKEN.fullmatch(token):
        raise ConfigError.of(
            TOKEN_FILE, f"{path} does not hold one Vault token (letters, digits and ._-)"
        )
    return token


def _trust(path: Path) -> ssl.SSLContext:
    pem = files.read_file(path, CA_CERT, "a PEM CA certificate", limit=MAX_CA_FILE_BYTES)
    try:
        return ssl.create_default_context(cadata=pem.decode("ascii"))
    except (UnicodeDecodeError, ssl.SSLError, ValueError):
        raise ConfigError.of(
            CA_CERT, f"{path} holds no PEM CA certificate: expected BEGIN CERTIFICATE blocks"
        ) from None


def _path(env: Mapping[str, str], name: str, what: str) -> Path | None:
    value = values.optional(env, name)
    return None if value is None else Path(values.text(name, value, what, look_alikes=False))


def _required(env: Mapping[str, str], name: str, form: str) -> str:
    value = values.optional(env, name)
    if value is None:
        raise ConfigError.of(
            name, f"is required with the other {PREFIX}* settings: expected {form}"
        )
    return value


def from_env(env: Mapping[str, str]) -> TransitSettings | None:
    """The Transit settings, or None when none is set. Raises ConfigError listing every
    problem, including a PEM key path set beside them (one signing key, in one place)."""
    if not configured(env):
        return None
    problems = Problems()
    for name in (PRIVATE_KEY_PATH, PUBLIC_KEY_PATH):
        if values.optional(env, name) is not None:
            problems.add(
                name,
                f"is set with the Transit settings ({ADDRESS}, ...): the signing key is the "
                f"Transit key, which never leaves OpenBao; unset {name}",
            )
    address = problems.get(
        "",
        lambda: urls.endpoint_url(
            ADDRESS, _required(env, ADDRESS, _ADDRESS_FORM), _ADDRESS_FORM
        ).rstrip("/"),
    )
    key = problems.get(
        "", lambda: values.matching(KEY, _required(env, KEY, _KEY_FORM), _KEY, _KEY_FORM)
    )
    mount = problems.get(
        DEFAULT_MOUNT,
        lambda: values.matching(
            MOUNT, values.optional(env, MOUNT) or DEFAULT_MOUNT, _MOUNT, _MOUNT_FORM
        ),
    )
    token_form = "the path of a 0600 file holding the signer's own Vault token"  # noqa: S105
    token_file = problems.get(
        None,
        lambda: Path(
            values.text(
                TOKEN_FILE, _required(env, TOKEN_FILE, token_form), token_form, look_alikes=False
            )
        ),
    )
    token = problems.get("", read_token, token_file) if token_file is not None else ""
    ca_cert = problems.get(None, _path, env, CA_CERT, "the path of a PEM CA certificate")
    trust = problems.get(None, _trust, ca_cert) if ca_cert is not None else None
    problems.raise_if_any()
    assert token_file is not None  # noqa: S101 (a problem was raised otherwise)
    return TransitSettings(
        address=address,
        key=key,
        mount=mount,
        token_file=token_file,
        ca_cert=ca_cert,
        token=token,
        trust=trust,
    )
