"""The signing key: loaded from the operator's PEM files, checked, or made up for a dry run.

RSA keys sign with RS256 (the default), RS384 or RS512; an EC P-256 key signs with ES256, which
must be chosen explicitly (DynamicCredentialAlgorithm), so a key of the wrong type given by
mistake is refused rather than silently changing the algorithm the clouds see.
"""

from __future__ import annotations

import logging
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from injector import files
from injector.config.issuer_settings import (
    ALGORITHM,
    DEFAULT_ALGORITHM,
    PRIVATE_KEY_PATH,
    PUBLIC_KEY_PATH,
    IssuerSettings,
)
from injector.errors import ConfigError
from injector.jose import algorithms

MIN_RSA_BITS = 2048
# FIPS 186-4's bounds on the public exponent: a tiny one (1 makes the "signature" the padded
# message itself, which anyone can write) or an even one gives no real signature.
MIN_RSA_EXPONENT = 2**16 + 1
MAX_RSA_EXPONENT = 2**256
MAX_KEY_FILE_BYTES = 64 * 1024  # an RSA-8192 PEM is under 7 KB

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

log = logging.getLogger("injector")


@dataclass(frozen=True)
class SigningKey:
    private_key: PrivateKey
    key_id: str
    algorithm: str = DEFAULT_ALGORITHM
    throwaway: bool = False

    @property
    def description(self) -> str:
        return f"{kind(self.private_key)} ({self.algorithm}, kid {self.key_id})"


def kind(key: object) -> str:
    """`RSA-2048`, `EC P-256`, or the class name of a key of another type."""
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return f"RSA-{key.key_size}"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        curve = "P-256" if isinstance(key.curve, ec.SECP256R1) else key.curve.name
        return f"EC {curve}"
    return type(key).__name__


def default_algorithm(key: object) -> str:
    """RS256 for an RSA key, ES256 for an EC key."""
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return algorithms.EC_ALGORITHMS[0]
    return DEFAULT_ALGORITHM


def check_type(variable: str, path: Path | str, key: object, algorithm: str) -> None:
    """Refuse a key that cannot sign with `algorithm`: RS* needs RSA of at least 2048 bits,
    ES256 an EC P-256 key. Returns nothing; raises ConfigError naming `variable`."""
    if algorithm in algorithms.RSA_ALGORITHMS:
        if not isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
            hint = (
                f", or set {ALGORITHM}=ES256 to use this key"
                if _is_p256(key) and algorithm == DEFAULT_ALGORITHM and variable == PRIVATE_KEY_PATH
                else ""
            )
            raise ConfigError.of(
                variable,
                f"{path} holds a key of type {kind(key)}: "
                f"expected an RSA key for {algorithm}{hint}",
            )
        if key.key_size < MIN_RSA_BITS:
            raise ConfigError.of(
                variable,
                f"{path} is an RSA-{key.key_size} key: expected at least {MIN_RSA_BITS} bits",
            )
        public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
        exponent = public.public_numbers().e
        if exponent % 2 == 0 or not MIN_RSA_EXPONENT <= exponent < MAX_RSA_EXPONENT:
            shown = exponent if exponent < MAX_RSA_EXPONENT else "a number of 256 bits or more"
            raise ConfigError.of(
                variable,
                f"{path} is an RSA key with public exponent {shown}: expected an odd exponent "
                f"from {MIN_RSA_EXPONENT} below 2^256, as every tool makes (with 1 the signature "
                "is the padded message itself, which anyone can forge)",
            )
    elif not _is_p256(key):
        raise ConfigError.of(
            variable,
            f"{path} holds a key of type {kind(key)}: expected an EC P-256 key for {algorithm}",
        )


def _is_p256(key: object) -> bool:
    return isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)) and isinstance(
        key.curve, ec.SECP256R1
    )


def _read(variable: str, path: Path) -> bytes:
    # A link is followed (a Kubernetes secret is mounted as one); a pipe, a device or a huge
    # file is refused without blocking or filling memory.
    return files.read_file(path, variable, "a PEM file", limit=MAX_KEY_FILE_BYTES)


def _pem_label(data: bytes) -> str | None:
    """The label of the first PEM block (`PRIVATE KEY`, `PUBLIC KEY`, ...), if any."""
    start = data.find(b"-----BEGIN ")
    if start < 0:
        return None
    end = data.find(b"-----", start + 11)
    return None if end < 0 else data[start + 11 : end].decode("ascii", "replace")


def load_private_key(path: Path, algorithm: str = DEFAULT_ALGORITHM) -> PrivateKey:
    """An unencrypted private key that can sign with `algorithm` (see `check_type`), PKCS#8
    (`BEGIN PRIVATE KEY`, what the Terrakube docs' `openssl pkcs8` makes) or PKCS#1 (`BEGIN
    RSA PRIVATE KEY`, `genrsa`) or SEC1 (`BEGIN EC PRIVATE KEY`). Raises ConfigError."""
    variable = PRIVATE_KEY_PATH
    data = _read(variable, path)
    form = "an unencrypted PEM private key (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)"
    label = _pem_label(data)
    if label is None:
        raise ConfigError.of(variable, f"{path} is not PEM: expected {form}")
    if "PUBLIC KEY" in label or "CERTIFICATE" in label:
        raise ConfigError.of(
            variable, f"{path} holds a {label.lower()}, not a private key: expected {form}"
        )
    if "ENCRYPTED" in label or b"Proc-Type: 4,ENCRYPTED" in data:
        raise ConfigError.of(variable, f"{path} is encrypted with a passphrase: expected {form}")
    try:
        # cryptography's full RSA consistency check costs about 60 ms, more than everything else
        # a hook does; the operator's own key file is trusted input, and _probe below refuses a
        # key whose private and public halves disagree, for under a millisecond.
        key = serialization.load_pem_private_key(
            data, password=None, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigError.of(variable, f"{path} cannot be parsed: expected {form}") from None
    check_type(variable, path, key, algorithm)
    _probe(variable, path, key)
    assert isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey))  # noqa: S101
    return key


def _probe(variable: str, path: Path, key: object) -> None:
    """Sign a probe and verify it with the key's own public half: a damaged RSA key (a wrong
    exponent or modulus) fails here instead of in every cloud. OpenSSL checks its own CRT
    results before releasing a signature, so a damaged CRT parameter cannot leak through one."""
    if not isinstance(key, rsa.RSAPrivateKey):
        return  # EC keys are checked on the curve when they are loaded
    probe = b"injector key probe"
    signature = key.sign(probe, padding.PKCS1v15(), hashes.SHA256())
    try:
        key.public_key().verify(signature, probe, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise ConfigError.of(
            variable, f"{path} is damaged: its private and public parts do not match"
        ) from None
    if signature == _padded(probe, key.key_size):
        raise ConfigError.of(
            variable, f"{path} signs by returning the padded message unchanged: no real signature"
        )


# EMSA-PKCS1-v1_5 (RFC 8017, 9.2): 00 01 FF..FF 00, the DigestInfo prefix of SHA-256, the hash.
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def _padded(message: bytes, key_size: int) -> bytes:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(message)
    body = _SHA256_DIGEST_INFO + digest.finalize()
    length = (key_size + 7) // 8
    return b"\x00\x01" + b"\xff" * (length - len(body) - 3) + b"\x00" + body


def read_public_key(variable: str, path: Path) -> object:
    """Any PEM public key (`BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY`), its type unchecked:
    callers check it with `check_type`. Raises ConfigError naming `variable`."""
    data = _read(variable, path)
    try:
        return serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigError.of(
            variable, f"{path} cannot be parsed: expected a PEM public key (BEGIN PUBLIC KEY)"
        ) from None


def public_der(key: object) -> bytes:
    """The SubjectPublicKeyInfo bytes of a public or private key: equal means the same key."""
    if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        key = key.public_key()
    assert isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey))  # noqa: S101
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def check_public_key(path: Path, private_key: PrivateKey) -> PublicKey:
    """The published public key must be the private key's: else every token fails to verify.
    Returns it; raises ConfigError naming DynamicCredentialPublicKeyPath."""
    public_key = read_public_key(PUBLIC_KEY_PATH, path)
    if not isinstance(public_key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)) or public_der(
        public_key
    ) != public_der(private_key):
        raise ConfigError.of(
            PUBLIC_KEY_PATH, f"{path} does not match the private key in {PRIVATE_KEY_PATH}"
        )
    return public_key


# Who may read a signing key besides its owner, by the mode bits that let them: the one rule
# the key loader's warning and `doctor` share.
_READERS = (("its group", stat.S_IRGRP), ("every user", stat.S_IROTH))


def readers(mode: int) -> list[str]:
    """Who else can read a file of `mode` (its group, every user), for a signing key."""
    return [who for who, bit in _READERS if mode & bit]


def warn_if_exposed(path: Path) -> None:
    """A signing key readable by group or others lets them mint tokens for every workspace.
    A warning, not an error: a key mounted from a Kubernetes secret is often 0644 by default,
    and refusing it would stop every job at once."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return  # it was just read: a race with its removal is not this check's business
    if readers(mode):
        log.warning(
            "%s: %s is readable by group or others (mode %04o): anyone who can read it can mint "
            "tokens for every workspace; make it 0600 (or 0400)",
            PRIVATE_KEY_PATH,
            path,
            mode,
        )


def load(issuer: IssuerSettings) -> SigningKey:
    if issuer.private_key_path is None:
        raise ConfigError.of(
            PRIVATE_KEY_PATH, "is required: expected the path of a PEM private key"
        )
    private_key = load_private_key(issuer.private_key_path, issuer.algorithm)
    warn_if_exposed(issuer.private_key_path)
    if issuer.public_key_path is not None:
        check_public_key(issuer.public_key_path, private_key)
    return SigningKey(private_key=private_key, key_id=issuer.key_id, algorithm=issuer.algorithm)


def throwaway(key_id: str, algorithm: str = DEFAULT_ALGORITHM) -> SigningKey:
    """A fresh key that nobody trusts, so a dry run can show real, decodable tokens."""
    key: PrivateKey
    if algorithm in algorithms.EC_ALGORITHMS:
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=MIN_RSA_BITS)
    return SigningKey(private_key=key, key_id=key_id, algorithm=algorithm, throwaway=True)
