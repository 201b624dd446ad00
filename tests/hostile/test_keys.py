"""Class 5: a key that cannot give a real signature is refused. With public exponent 1 an RSA
"signature" is the padded message itself, which anyone can write; tiny and even exponents are
refused too, wherever a key is read (signing key, published key, rotation keys)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from injector.config import signing_keys
from injector.errors import ConfigError
from tests.conftest import run_injector


def _der_length(length: int) -> bytes:
    if length < 128:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _der_integer(value: int) -> bytes:
    raw = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return b"\x02" + _der_length(len(raw)) + raw


def _pem(label: str, der: bytes) -> str:
    body = base64.b64encode(der).decode("ascii")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def weak_private_key(exponent: int) -> bytes:
    """A PKCS#1 RSA-2048 private key with public exponent `exponent`, encoded by hand:
    cryptography refuses to build one, OpenSSL loads it."""
    real = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_numbers()
    p, q = real.p, real.q
    phi = (p - 1) * (q - 1)
    try:
        d = pow(exponent, -1, phi)
    except ValueError:  # even: no inverse; any d shows the key is refused before signing
        d = 1
    fields = (0, p * q, exponent, d, p, q, d % (p - 1), d % (q - 1), pow(q, -1, p))
    body = b"".join(_der_integer(value) for value in fields)
    return _pem("RSA PRIVATE KEY", b"\x30" + _der_length(len(body)) + body).encode("ascii")


def _public_of(private_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(
        private_pem, password=None, unsafe_skip_rsa_key_validation=True
    )
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize("exponent", [1, 3, 4, 65536])
def test_a_signing_key_with_a_weak_exponent_exits_2(
    workspace: dict[str, str], tmp_path: Path, exponent: int
) -> None:
    path = tmp_path / "weak.pem"
    path.write_bytes(weak_private_key(exponent))
    path.chmod(0o600)
    env = {**workspace, "DynamicCredentialPrivateKeyPath": str(path)}
    env.pop("DynamicCredentialPublicKeyPath")
    result = run_injector("env", "--dir", str(tmp_path / "d"), env=env)
    assert result.returncode == 2, result.stderr
    expected = f"DynamicCredentialPrivateKeyPath: {path} is an RSA key with public exponent"
    assert f"{expected} {exponent}:" in result.stderr
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("exponent", [3, 257])  # OpenSSL itself refuses e=1 and even ones
def test_a_published_or_rotation_key_with_a_weak_exponent_exits_2(
    workspace: dict[str, str], tmp_path: Path, exponent: int
) -> None:
    public = tmp_path / "weak_public.pem"
    public.write_bytes(_public_of(weak_private_key(exponent)))
    env = {**workspace, "DynamicCredentialAdditionalPublicKeys": f"old={public}"}
    result = run_injector("jwks", env=env)
    assert result.returncode == 2
    assert "DynamicCredentialAdditionalPublicKeys: kid old: " in result.stderr
    assert f"public exponent {exponent}:" in result.stderr
    env = {"DynamicCredentialHostname": "issuer.example.com"}
    result = run_injector("jwks", env={**env, "DynamicCredentialPublicKeyPath": str(public)})
    assert result.returncode == 2
    assert "DynamicCredentialPublicKeyPath: " in result.stderr


def test_a_probe_signature_equal_to_the_padded_message_is_refused(tmp_path: Path) -> None:
    """The probe's own check, under the exponent check: the key as OpenSSL loads it signs by
    returning the padded message, and `_probe` says so."""
    key = serialization.load_pem_private_key(
        weak_private_key(1), password=None, unsafe_skip_rsa_key_validation=True
    )
    with pytest.raises(ConfigError) as error:
        signing_keys._probe("DynamicCredentialPrivateKeyPath", tmp_path / "weak.pem", key)
    assert "padded message" in str(error.value)


def test_an_ordinary_key_still_loads(workspace: dict[str, str]) -> None:
    key = signing_keys.load_private_key(Path(workspace["DynamicCredentialPrivateKeyPath"]))
    assert isinstance(key, rsa.RSAPrivateKey)
