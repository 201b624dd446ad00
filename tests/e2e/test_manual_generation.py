"""HCP Terraform's manual generation (`TFC_WORKLOAD_IDENTITY_AUDIENCE[_<TAG>]`): a token with
the given audience for a provider injector does not know, in a 0600 file whose path alone is
exported. The token itself is never in the environment (HCP's `TFC_WORKLOAD_IDENTITY_TOKEN`)
nor on any output.
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import jwt
import pytest

from injector.clouds import manual
from tests.conftest import KeyFiles, run_injector

PROD = f"{manual.AUDIENCE}_PROD"

# The job's command: stdlib only; reports what it was given, never the token.
CLIENT = """
import base64, json, os
def aud(path):
    with open(path) as file:
        token = file.read()
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims["aud"], any(token in value for value in os.environ.values())
names = sorted(k for k in os.environ if k.startswith(("TFC_WORKLOAD", "INJECTOR_WORKLOAD")))
seen = {name: aud(os.environ[name]) for name in names if name.startswith("INJECTOR_")}
print(json.dumps({"names": names, "seen": seen}))
"""


@pytest.fixture
def manual_workspace(workspace: dict[str, str]) -> dict[str, str]:
    """No cloud switched on: manual generation only, untagged and PROD."""
    return {
        **workspace,
        "ENABLE_DYNAMIC_CREDENTIALS_AWS": "false",
        "ENABLE_DYNAMIC_CREDENTIALS_AZURE": "false",
        "ENABLE_DYNAMIC_CREDENTIALS_GCP": "false",
        manual.AUDIENCE: "my.provider.example",
        PROD: "prod.provider.example",
    }


def _exports(stdout: str) -> dict[str, str]:
    pairs = (line.removeprefix("export ").partition("=") for line in stdout.splitlines())
    return {name: value for name, _, value in pairs}


def test_env_writes_one_token_file_per_audience_and_exports_only_the_paths(
    manual_workspace: dict[str, str], key_files: KeyFiles, tmp_path: Path
) -> None:
    folder = tmp_path / "job"
    result = run_injector("env", "--dir", str(folder), env=manual_workspace)

    assert result.returncode == 0, result.stderr
    exports = _exports(result.stdout)
    assert exports == {
        manual.TOKEN_FILE_EXPORT: str(folder / "workload.jwt"),
        f"{manual.TOKEN_FILE_EXPORT}_PROD": str(folder / "workload_PROD.jwt"),
    }
    public = key_files.public.read_text()
    for name, audience in (
        (manual.TOKEN_FILE_EXPORT, "my.provider.example"),
        (f"{manual.TOKEN_FILE_EXPORT}_PROD", "prod.provider.example"),
    ):
        path = Path(exports[name])
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        token = path.read_text()
        claims = jwt.decode(token, public, algorithms=["RS256"], audience=audience)
        assert claims["aud"] == audience
        assert token not in result.stdout + result.stderr
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert manual.HCP_TOKEN not in result.stdout


def test_run_gives_the_command_the_paths_and_never_the_token(
    manual_workspace: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "job"
    result = run_injector(
        "run", "--dir", str(folder), "--", sys.executable, "-c", CLIENT, env=manual_workspace
    )

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["names"] == [
        manual.TOKEN_FILE_EXPORT,
        f"{manual.TOKEN_FILE_EXPORT}_PROD",
        manual.AUDIENCE,
        PROD,
    ]
    assert seen["seen"] == {
        manual.TOKEN_FILE_EXPORT: ["my.provider.example", False],
        f"{manual.TOKEN_FILE_EXPORT}_PROD": ["prod.provider.example", False],
    }
    assert not folder.exists()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (f"{manual.AUDIENCE}_PLAN", "x", "expected TFC_WORKLOAD_IDENTITY_AUDIENCE_<TAG>"),
        (f"{manual.AUDIENCE}_DEV", " padded ", "has leading or trailing blanks"),
    ],
)
def test_a_bad_value_is_exit_2_naming_it_and_writes_nothing(
    manual_workspace: dict[str, str], tmp_path: Path, name: str, value: str, message: str
) -> None:
    folder = tmp_path / "job"
    result = run_injector("env", "--dir", str(folder), env={**manual_workspace, name: value})

    assert result.returncode == 2, result.stderr
    assert f"{name}: " in result.stderr and message in result.stderr
    assert result.stdout == ""
    assert not folder.exists()
