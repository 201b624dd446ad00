"""`injector keygen`: the key pair the Terrakube docs make with openssl, in one command."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from injector.config import issuer_settings
from injector.job.example import EXAMPLE_ENV
from tests.conftest import run_injector
from tests.support import issuers
from tests.support.jobs import refusing, switched_off


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _keygen(*args: str) -> tuple[int, str, str]:
    result = run_injector("keygen", *args, env={})
    return result.returncode, result.stdout, result.stderr


def test_rsa_by_default(tmp_path: Path) -> None:
    out = tmp_path / "keys"
    code, stdout, stderr = _keygen("--out", str(out))
    assert code == 0, stderr
    private, public = out / "private.pem", out / "public.pem"
    assert stderr.splitlines()[:2] == [
        f"wrote {private} (RSA-2048 private key, PKCS#8, mode 0600)",
        f"wrote {public} (public key, mode 0644)",
    ]
    assert _mode(out) == 0o700
    assert _mode(private) == 0o600
    assert _mode(public) == 0o644
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----\n")  # PKCS#8
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----\n")
    key = serialization.load_pem_private_key(private.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    assert key.public_key().public_numbers().e == 65537
    loaded = serialization.load_pem_public_key(public.read_bytes())
    assert isinstance(loaded, rsa.RSAPublicKey)
    assert loaded.public_numbers() == key.public_key().public_numbers()
    # What to set next, and never the key itself.
    assert f"{issuer_settings.PRIVATE_KEY_PATH}={private}" in stdout
    assert f"{issuer_settings.PUBLIC_KEY_PATH}={public}" in stdout
    assert "BEGIN" not in stdout + stderr


def test_rsa_bits(tmp_path: Path) -> None:
    code, _, stderr = _keygen("--out", str(tmp_path / "k"), "--bits", "3072")
    assert code == 0, stderr
    key = serialization.load_pem_private_key((tmp_path / "k/private.pem").read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 3072


def test_ec_p256(tmp_path: Path) -> None:
    code, stdout, _ = _keygen("--out", str(tmp_path / "k"), "--type", "ec")
    assert code == 0
    key = serialization.load_pem_private_key((tmp_path / "k/private.pem").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert isinstance(key.curve, ec.SECP256R1)
    assert f"{issuer_settings.ALGORITHM}=ES256" in stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--bits", "1024"], "--bits: expected a multiple of 8 from 2048 to 8192, got 1024"),
        (["--bits", "2050"], "--bits: expected a multiple of 8"),
        (["--bits", "lots"], "invalid int value"),
        (["--type", "ec", "--bits", "2048"], "--bits: applies to RSA keys only"),
        (["--type", "dsa"], "invalid choice"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    code, stdout, stderr = _keygen("--out", str(tmp_path / "k"), *args)
    assert (code, stdout) == (2, "")
    assert expected in stderr
    assert not (tmp_path / "k").exists()


def test_out_is_required() -> None:
    code, _, stderr = _keygen()
    assert code == 2
    assert "--out" in stderr


@pytest.mark.parametrize("existing", ["private.pem", "public.pem"])
def test_never_overwrites(tmp_path: Path, existing: str) -> None:
    (tmp_path / existing).write_text("precious")
    code, stdout, stderr = _keygen("--out", str(tmp_path))
    assert (code, stdout) == (1, "")
    assert f"{tmp_path / existing} exists: refusing to overwrite" in stderr
    assert (tmp_path / existing).read_text() == "precious"
    # Neither file is written when one of them exists.
    assert sorted(p.name for p in tmp_path.iterdir()) == [existing]


def test_generated_keys_sign_tokens_that_verify(tmp_path: Path) -> None:
    """keygen's output works as is with `injector env`, for RSA (RS256) and EC (ES256)."""
    for kind, algorithm in (("rsa", "RS256"), ("ec", "ES256")):
        out = tmp_path / kind
        assert _keygen("--out", str(out), "--type", kind)[0] == 0
        env = {
            **EXAMPLE_ENV,
            "ENABLE_DYNAMIC_CREDENTIALS_VAULT": "false",  # its login needs a Vault server
            **switched_off("vault_backed_aws"),  # the same login
            issuer_settings.PRIVATE_KEY_PATH: str(out / "private.pem"),
            issuer_settings.PUBLIC_KEY_PATH: str(out / "public.pem"),
            issuer_settings.ALGORITHM: algorithm,
            **refusing(algorithm),
        }
        result = run_injector(
            "env", "--dir", str(tmp_path / f"{kind}-d"), "--format", "json", env=env
        )
        assert result.returncode == 0, result.stderr
        token = Path(json.loads(result.stdout)["AWS_WEB_IDENTITY_TOKEN_FILE"]).read_text()
        public = issuers.public_key((out / "public.pem").read_bytes())
        claims = jwt.decode(
            token,
            public,
            algorithms=[algorithm],
            audience="aws.workload.identity",
            issuer="https://terrakube-api.example.com",
        )
        assert claims["sub"] == "organization:simple:workspace:simple-cli"
        assert jwt.get_unverified_header(token)["alg"] == algorithm


def test_keygen_prints_export_lines_a_shell_runs(tmp_path: Path) -> None:
    """keygen's stdout is only the settings, so `eval "$(injector keygen ...)"` sets them: even
    for a folder whose name has a blank, a quote and a dollar. What it wrote goes to stderr."""
    out = tmp_path / "it's my keys $HOME"
    result = run_injector("keygen", "--out", str(out), env={})
    assert result.returncode == 0, result.stderr
    assert "wrote" not in result.stdout and "wrote" in result.stderr
    shown = 'printf "%s|%s" "$DynamicCredentialPrivateKeyPath" "$DynamicCredentialId"'
    shell = subprocess.run(
        ["sh", "-c", f'eval "$1"; {shown}', "sh", result.stdout],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    private, kid = shell.stdout.split("|")
    assert private == str(out / "private.pem")
    assert len(kid) == 36 and kid in result.stdout
