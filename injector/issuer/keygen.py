"""`injector keygen`: a new key pair in place of the three openssl commands of Terrakube's docs.

`private.pem` is PKCS#8 (`BEGIN PRIVATE KEY`, what those commands make), mode 0600; `public.pem`
is SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`), mode 0644. Existing files are never overwritten:
a replaced signing key would break every token still in use, so rotation is a separate,
deliberate step (docs/operations.md, "Rotating the signing key").
"""

from __future__ import annotations

import shlex
import uuid
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from injector import files
from injector.config import signing_keys
from injector.config.issuer_settings import ALGORITHM, KEY_ID, PRIVATE_KEY_PATH, PUBLIC_KEY_PATH
from injector.errors import ConfigError, InjectorError

DEFAULT_RSA_BITS = 2048
MAX_RSA_BITS = 8192
PRIVATE_NAME = "private.pem"
PUBLIC_NAME = "public.pem"


def generate(kind: str, bits: int | None) -> signing_keys.PrivateKey:
    """A fresh key: RSA of `bits` (default 2048), or EC P-256 (`bits` must then be None).
    Raises ConfigError naming the option for a size out of range."""
    if kind == "ec":
        if bits is not None:
            raise ConfigError.of("--bits", "applies to RSA keys only: EC keys are P-256")
        return ec.generate_private_key(ec.SECP256R1())
    size = DEFAULT_RSA_BITS if bits is None else bits
    if not signing_keys.MIN_RSA_BITS <= size <= MAX_RSA_BITS or size % 8:
        raise ConfigError.of(
            "--bits",
            f"expected a multiple of 8 from {signing_keys.MIN_RSA_BITS} to {MAX_RSA_BITS}, "
            f"got {size}",
        )
    return rsa.generate_private_key(public_exponent=65537, key_size=size)


def write(out: Path, key: signing_keys.PrivateKey) -> tuple[Path, Path]:
    """Write `private.pem` and `public.pem` into `out` and return their real paths. `out` is
    made 0700 if new; an existing one must be the caller's, closed to others, and reached only
    through folders nobody else can change (files.make_folder). Raises ConfigError (naming
    --out) for such a folder, InjectorError, writing nothing, if either file exists or cannot
    be written."""
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with files.make_folder(out, "--out") as folder:
        return _write(folder, private_pem, public_pem)


def _write(folder: files.Folder, private_pem: bytes, public_pem: bytes) -> tuple[Path, Path]:
    private_path, public_path = folder.path / PRIVATE_NAME, folder.path / PUBLIC_NAME
    try:
        for path in (private_path, public_path):
            if path.exists() or path.is_symlink():
                raise InjectorError(
                    f"{path} exists: refusing to overwrite a key (choose a new --out)"
                )
        folder.create(private_path, private_pem, 0o600)
        try:
            folder.create(public_path, public_pem, 0o644)
        except BaseException:
            folder.unlink([private_path])
            raise
    except FileExistsError as error:
        folder.remove_made()
        raise InjectorError(
            f"{error.filename} exists: refusing to overwrite a key (choose a new --out)"
        ) from None
    except OSError as error:
        folder.remove_made()
        raise InjectorError(f"cannot write into {folder.path}: {error.strerror}") from None
    except BaseException:
        folder.remove_made()
        raise
    return private_path, public_path


def command(out: Path, kind: str, bits: int | None) -> tuple[str, str]:
    """Generate and write a key pair; return what to tell the operator (for stderr) and the
    settings to use (for stdout: only `export` lines, so `eval "$(injector keygen ...)"` runs
    them). Neither holds key material."""
    key = generate(kind, bits)
    private_path, public_path = write(out, key)
    # Quoted by the shell's rules, so that a path with a blank or a quote pastes as it is.
    settings = [
        f"{PRIVATE_KEY_PATH}={shlex.quote(str(private_path))}",
        f"{PUBLIC_KEY_PATH}={shlex.quote(str(public_path))}",
        # A kid of this key's own: Terrakube's default kid is the same in every installation,
        # and a rotation needs the new key under a new kid.
        f"{KEY_ID}={uuid.uuid4()}",
    ]
    if kind == "ec":
        settings.append(f"{ALGORITHM}=ES256")
    told = (
        f"wrote {private_path} ({signing_keys.kind(key)} private key, PKCS#8, mode 0600)\n"
        f"wrote {public_path} (public key, mode 0644)\n"
        "settings for the issuer on stdout (run them in a shell, or set them where tokens are "
        "minted)\n"
    )
    return told, "".join(f"export {line}\n" for line in settings)
