"""No token or key material on stdout, stderr or in logs, whatever the command and log level;
files private whatever the caller's umask."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import KeyFiles


def _secret_fragments(key_files: KeyFiles) -> list[str]:
    """Pieces of the private key as they could leak: PEM body lines, the DER in base64, and the
    private exponent in decimal and hex."""
    pem = key_files.private_pkcs8.read_text()
    body = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    numbers = key.private_numbers()
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return [
        *body[1:-1],  # full 64-character lines from the middle of the key
        base64.b64encode(der[100:160]).decode(),
        str(numbers.d)[:40],
        format(numbers.d, "x")[:40],
        format(numbers.p, "x")[:40],
    ]


def _token_fragments(folder: Path) -> list[str]:
    fragments = []
    for token_file in folder.glob("*.jwt"):
        token = token_file.read_text()
        _header, payload, signature = token.split(".")
        fragments += [token, signature[:40], f"{payload[-30:]}.{signature[:10]}"]
    return fragments


def _run(
    args: list[str], env: dict[str, str], umask: int = 0o022
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "injector", *args, "--log-level", "debug"],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=lambda: os.umask(umask),
    )


@pytest.mark.parametrize("form", ["shell", "dotenv", "json", "terrakube", "github"])
def test_env_leaks_nothing(
    workspace: dict[str, str], key_files: KeyFiles, tmp_path: Path, form: str
) -> None:
    folder = tmp_path / "d"
    result = _run(["env", "--dir", str(folder), "--format", form], workspace)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    for fragment in _secret_fragments(key_files) + _token_fragments(folder):
        assert fragment not in output


def test_dry_run_leaks_nothing(workspace: dict[str, str], key_files: KeyFiles) -> None:
    result = _run([], workspace)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    for fragment in _secret_fragments(key_files):
        assert fragment not in output
    assert ".eyJ" not in output  # no compact JWT (every claims segment starts so)


def test_run_and_hook_leak_nothing(
    workspace: dict[str, str], key_files: KeyFiles, tmp_path: Path
) -> None:
    # The command copies its token files aside, so they can be searched for afterwards.
    keep = tmp_path / "kept"
    keep.mkdir()
    result = _run(
        ["run", "--", "sh", "-c", f'cp "$(dirname "$AWS_WEB_IDENTITY_TOKEN_FILE")"/*.jwt {keep}'],
        workspace,
    )
    assert result.returncode == 0, result.stderr
    working = tmp_path / "job"
    working.mkdir()
    hooked = _run(["hook"], {**workspace, "workingDirectory": str(working)})
    assert hooked.returncode == 0, hooked.stderr
    output = result.stdout + result.stderr + hooked.stdout + hooked.stderr
    env_file = (working / ".terrakube_temp_env").read_text()
    fragments = (
        _secret_fragments(key_files)
        + _token_fragments(keep)
        + _token_fragments(working / ".terraform" / "injector")
    )
    for fragment in fragments:
        assert fragment not in output
        assert fragment not in env_file


def test_errors_leak_nothing(
    workspace: dict[str, str], key_files: KeyFiles, tmp_path: Path
) -> None:
    workspace["ARM_CLIENT_SECRET"] = "client-secret-value-xyz"
    workspace["DynamicCredentialTtl"] = "nope"
    result = _run(["env", "--dir", str(tmp_path / "d")], workspace)
    assert result.returncode == 2
    assert "client-secret-value-xyz" not in result.stderr
    for fragment in _secret_fragments(key_files):
        assert fragment not in result.stderr


@pytest.mark.parametrize("umask", [0o000, 0o077, 0o002])
def test_files_are_private_whatever_the_umask(
    workspace: dict[str, str], tmp_path: Path, umask: int
) -> None:
    folder = tmp_path / "nested" / "d"
    result = _run(["env", "--dir", str(folder)], workspace, umask=umask)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_private_key_open_to_others_is_warned_about(
    workspace: dict[str, str], key_files: KeyFiles, tmp_path: Path
) -> None:
    exposed = tmp_path / "exposed.pem"
    exposed.write_bytes(key_files.private_pkcs8.read_bytes())
    exposed.chmod(0o644)
    workspace["DynamicCredentialPrivateKeyPath"] = str(exposed)
    result = _run(["env", "--dir", str(tmp_path / "d")], workspace)
    assert result.returncode == 0, result.stderr
    assert "readable by group or others (mode 0644)" in result.stderr
    exposed.chmod(0o600)
    quiet = _run(["env", "--dir", str(tmp_path / "e")], workspace)
    assert "readable by group or others" not in quiet.stderr


def test_issuer_commands_leak_nothing(
    workspace: dict[str, str], key_files: KeyFiles, tmp_path: Path
) -> None:
    """keygen prints where the keys went, never the key; jwks, discovery, publish and serve
    publish only public numbers."""
    from tests.support import issuers

    made = _run(["keygen", "--out", str(tmp_path / "keys")], {})
    assert made.returncode == 0, made.stderr
    new_key = (tmp_path / "keys" / "private.pem").read_text()
    new_body = [line for line in new_key.splitlines() if not line.startswith("-----")]
    assert not any(line in made.stdout + made.stderr for line in new_body[1:-1])

    outputs = []
    for args in (["jwks"], ["discovery"], ["publish", str(tmp_path / "site")]):
        result = _run(args, workspace)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout + result.stderr)
    log = tmp_path / "serve.log"
    with (
        log.open("wb") as stderr,
        issuers.injector_serve(
            workspace, "--log-level", "debug", "--access-log", stderr=stderr
        ) as running,
    ):
        issuers.fetch(running.base + "/.well-known/jwks")
    outputs.append(log.read_text())
    for output in outputs:
        for fragment in _secret_fragments(key_files):
            assert fragment not in output


def test_verify_and_doctor_never_print_the_token(
    workspace: dict[str, str], key_files: KeyFiles, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    assert _run(["env", "--dir", str(folder)], workspace).returncode == 0
    token_file = folder / "aws.jwt"
    # The issuer (terrakube-api.example.com) is out of reach here: both commands still check
    # what they can and report the rest, which is what matters for what they print.
    checked = _run(["verify", "--file", str(token_file), "--cloud", "aws"], workspace)
    doctor = _run(["doctor"], workspace)
    assert "discovery" in checked.stdout
    assert "settings" in doctor.stdout or "ok" in doctor.stdout
    output = checked.stdout + checked.stderr + doctor.stdout + doctor.stderr
    for fragment in _secret_fragments(key_files) + _token_fragments(folder):
        assert fragment not in output
