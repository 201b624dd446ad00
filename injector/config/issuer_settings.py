"""Issuer settings: where the signing key lives, the `kid`, the token lifetime and `iss`.

Same variable names and defaults as Terrakube, so an existing Terrakube deployment works as is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from injector.config import subject, urls, values
from injector.errors import ConfigError, Problems
from injector.jose import algorithms

PRIVATE_KEY_PATH = "DynamicCredentialPrivateKeyPath"
PUBLIC_KEY_PATH = "DynamicCredentialPublicKeyPath"
KEY_ID = "DynamicCredentialId"
TTL = "DynamicCredentialTtl"
HOSTNAME = "DynamicCredentialHostname"
TERRAKUBE_HOSTNAME = "TerrakubeHostname"
ALGORITHM = "DynamicCredentialAlgorithm"
ADDITIONAL_KEYS = "DynamicCredentialAdditionalPublicKeys"
# The job side's one issuer setting in signer mode: where `injector signer` listens.
SIGNER = "DynamicCredentialSigner"
# The only user the job accepts as the signer (SO_PEERCRED of its socket), if set.
SIGNER_USER = "DynamicCredentialSignerUser"
SUBJECT_TEMPLATE = subject.SETTING
# With any of these beside DynamicCredentialSigner=unix:PATH the socket job is keyless too: it
# sends its platform's token, and the signer derives the context (injector.job.keyless).
SUBJECT_TOKEN_FILE = "INJECTOR_SUBJECT_TOKEN_FILE"  # noqa: S105 (a variable name)
ID_TOKEN = "INJECTOR_ID_TOKEN"  # noqa: S105 (a variable name)
SIGNER_AUDIENCE = "DynamicCredentialSignerAudience"
SUBJECT_SOURCES = (SUBJECT_TOKEN_FILE, ID_TOKEN, SIGNER_AUDIENCE)
# Values that are credentials injector consumes (the platform's token, which the signer would
# exchange for this job's cloud tokens): `run` does not hand them to its command.
CONSUMED_SECRETS = (ID_TOKEN,)
VARIABLES = (
    PRIVATE_KEY_PATH,
    PUBLIC_KEY_PATH,
    KEY_ID,
    TTL,
    HOSTNAME,
    TERRAKUBE_HOSTNAME,
    ALGORITHM,
    ADDITIONAL_KEYS,
    SIGNER,
    SIGNER_USER,
    SUBJECT_TEMPLATE,
)

DEFAULT_KEY_ID = "03446895-220d-47e1-9564-4eeaa3691b42"
DEFAULT_TTL_MINUTES = 30
DEFAULT_ALGORITHM = algorithms.DEFAULT
# No cloud takes a federated token that lives longer than a day; nothing needs more.
MAX_TTL_MINUTES = 24 * 60

# Letters, digits and ._~- only: `serve` then answers at the very bytes discovery names (a
# %-escape would be decoded before routing), and no proxy rewrites a segment.
_ISSUER_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)*")
# A URL of any length is no issuer; this keeps a token of the longest values within every cloud's
# size limit (AWS's IAM takes provider URLs of up to 255 characters, Entra's up to 600).
MAX_ISSUER_LENGTH = 2048
_HOST_FORM = (
    "a host name such as terrakube-api.example.com (or an https:// URL; http:// only to a "
    "loopback address), no trailing '/'"
)
_KEY_ID = re.compile(r"[\x21-\x7e]{1,128}")
_KEY_ID_FORM = "1 to 128 printable ASCII characters without blanks"
_SIGNER_FORM = "unix:/absolute/path/of/the/signer.sock (or https://host of a keyless signer)"
# sun_path holds 108 bytes with the terminating NUL on Linux.
MAX_SOCKET_PATH_BYTES = 107
_ADDITIONAL_FORM = (
    "comma-separated KID=PATH entries (KID:ALG=PATH to name the algorithm, one of "
    + "/".join(algorithms.ALGORITHMS)
    + ")"
)


@dataclass(frozen=True)
class AdditionalKey:
    """A public key published in the JWKS beside the signing key, for rotation: announced
    before it signs, or kept after it stopped signing. `algorithm` None: chosen by key type."""

    key_id: str
    algorithm: str | None
    path: Path


@dataclass(frozen=True)
class IssuerSettings:
    issuer: str
    key_id: str
    ttl_minutes: int
    private_key_path: Path | None
    public_key_path: Path | None
    algorithm: str = DEFAULT_ALGORITHM
    additional_keys: tuple[AdditionalKey, ...] = ()
    subject_template: subject.SubjectTemplate = subject.DEFAULT_TEMPLATE


def issuer_url(name: str, value: str) -> str:
    """`iss` from the configured host: `https://<host>`, or the value itself if it has a scheme.

    Clouds compare `iss` byte for byte with the registered provider URL and append
    `/.well-known/...` to it, so a trailing slash, query or blank is refused rather than fixed.
    """
    url = value if "://" in value else f"https://{value}"
    if len(url) > MAX_ISSUER_LENGTH:
        raise ConfigError.of(
            name, f"is {len(url)} characters long: expected at most {MAX_ISSUER_LENGTH}"
        )
    problem = urls.url_problem(url, loopback_http=True, escapes=False, trailing_slash=False)
    if problem is None and not _ISSUER_PATH.fullmatch(urlsplit(url).path):
        problem = "has a path with characters other than letters, digits and ._~-"
    if problem is not None:
        raise ConfigError.of(name, f"{problem}: expected {_HOST_FORM}, got {values.shown(value)}")
    return url


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
    return Path(values.text(name, value, "a file path", look_alikes=False))


def _algorithm(env: Mapping[str, str]) -> str:
    value = values.optional(env, ALGORITHM)
    if value is None:
        return DEFAULT_ALGORITHM
    if value.upper() not in algorithms.ALGORITHMS:
        raise ConfigError.of(
            ALGORITHM,
            f"expected one of {', '.join(algorithms.ALGORITHMS)}, got {values.shown(value)}",
        )
    return value.upper()


def _additional_key(entry: str) -> AdditionalKey:
    """One `KID=PATH` or `KID:ALG=PATH` entry. A kid may hold ':' as long as what follows its
    last ':' is not an algorithm name."""
    name, equals, path = entry.partition("=")
    name, path = name.strip(), path.strip()
    if not equals or not name or not path:
        raise ConfigError.of(
            ADDITIONAL_KEYS, f"entry {values.shown(entry)}: expected {_ADDITIONAL_FORM}"
        )
    algorithm = None
    head, colon, tail = name.rpartition(":")
    if colon and tail.upper() in algorithms.ALGORITHMS:
        name, algorithm = head, tail.upper()
    if not _KEY_ID.fullmatch(name):
        raise ConfigError.of(
            ADDITIONAL_KEYS,
            f"entry {values.shown(entry)}: expected a kid of {_KEY_ID_FORM} before '='",
        )
    return AdditionalKey(
        key_id=name,
        algorithm=algorithm,
        path=Path(values.text(ADDITIONAL_KEYS, path, "a file path after '='", look_alikes=False)),
    )


def _additional_keys(env: Mapping[str, str], signing_key_id: str) -> tuple[AdditionalKey, ...]:
    value = values.optional(env, ADDITIONAL_KEYS)
    if value is None:
        return ()
    keys = [_additional_key(entry) for entry in re.split(r"[,\n]", value) if entry.strip()]
    seen = {signing_key_id}
    for key in keys:
        if key.key_id in seen:
            whose = (
                " (the signing key's, DynamicCredentialId)" if key.key_id == signing_key_id else ""
            )
            raise ConfigError.of(
                ADDITIONAL_KEYS,
                f"kid {values.shown(key.key_id)} is listed twice{whose}: expected one kid per key",
            )
        seen.add(key.key_id)
    return tuple(keys)


def signer_socket(env: Mapping[str, str]) -> Path | None:
    """The signer's socket from DynamicCredentialSigner=unix:PATH, or None when unset.

    A job that mints through the signer must not hold the key as well: setting both is refused,
    since the point of the signer is that the job cannot read the key.
    """
    value = values.optional(env, SIGNER)
    if value is None or value.startswith(("https://", "http://")):
        return None  # none, or the keyless HTTPS endpoint (injector.job.keyless)
    scheme, colon, rest = value.partition(":")
    if scheme != "unix" or not colon:
        raise ConfigError.of(SIGNER, f"expected {_SIGNER_FORM}, got {values.shown(value)}")
    path = Path(values.text(SIGNER, rest, _SIGNER_FORM))
    if not path.is_absolute():
        raise ConfigError.of(SIGNER, f"expected an absolute path: {_SIGNER_FORM}")
    if len(rest.encode()) > MAX_SOCKET_PATH_BYTES:
        raise ConfigError.of(
            SIGNER, f"the path is longer than a Unix socket allows ({MAX_SOCKET_PATH_BYTES} bytes)"
        )
    if values.optional(env, PRIVATE_KEY_PATH) is not None:
        raise ConfigError.of(
            SIGNER,
            f"and {PRIVATE_KEY_PATH} are both set: a job that mints through the signer must not "
            f"hold the key; unset {PRIVATE_KEY_PATH} (the signer has it)",
        )
    if values.optional(env, SUBJECT_TEMPLATE) is not None:
        # The sub is what trust policies and the signer's policy match on: the job must not
        # choose its shape.
        raise ConfigError.of(
            SIGNER,
            f"and {SUBJECT_TEMPLATE} are both set: through the signer, the signer's own "
            f"{SUBJECT_TEMPLATE} shapes sub; unset it in the job",
        )
    return path


def signer_user(env: Mapping[str, str]) -> int | None:
    """The uid DynamicCredentialSignerUser names (a uid, or a user name known here), or None."""
    value = values.optional(env, SIGNER_USER)
    if value is None:
        return None
    form = "a uid or a user name known on this machine (the user `injector signer` runs as)"
    if values.optional(env, SIGNER) is None:
        raise ConfigError.of(SIGNER_USER, f"is set without {SIGNER}: expected both or neither")
    if value.isdigit() and value.isascii():
        return int(value)
    import pwd  # here: only a job that names its signer by name needs it

    try:
        return pwd.getpwnam(value).pw_uid
    except (KeyError, ValueError):
        raise ConfigError.of(SIGNER_USER, f"expected {form}, got {values.shown(value)}") from None


def from_env(env: Mapping[str, str], *, require_key: bool = True) -> IssuerSettings:
    """Read the issuer settings. The private key path may be absent only when `require_key` is
    false (the dry run, which then signs with a throw-away key)."""
    problems = Problems()
    issuer = problems.get("", _issuer, env)
    key_id = problems.get(
        "",
        values.matching,
        KEY_ID,
        values.optional(env, KEY_ID) or DEFAULT_KEY_ID,
        _KEY_ID,
        _KEY_ID_FORM,
    )
    settings = IssuerSettings(
        issuer=issuer,
        key_id=key_id,
        ttl_minutes=problems.get(0, _ttl, env),
        private_key_path=problems.get(None, _path, env, PRIVATE_KEY_PATH, required=require_key),
        public_key_path=problems.get(None, _path, env, PUBLIC_KEY_PATH),
        algorithm=problems.get(DEFAULT_ALGORITHM, _algorithm, env),
        additional_keys=problems.get((), _additional_keys, env, key_id),
        subject_template=problems.get(subject.DEFAULT_TEMPLATE, subject.from_env, env),
    )
    problems.raise_if_any()
    return settings
