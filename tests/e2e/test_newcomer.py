"""The newcomer's path (issue 15): what a first run meets. The clouds' certain refusals stop
`env`, `run`, `hook` and the dry run before anything is minted; a misspelt or missing switch is
said, not silent; `--require` makes a missing cloud an error; the alias switch
`INJECTOR_ENABLE_<CLOUD>`; commands without their extra name the install command; keygen gives
a kid of its own; `make run` installs the package alone."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from injector import DISTRIBUTION, install_command
from tests.conftest import ROOT, KeyFiles, run_injector


def _only(workspace: dict[str, str], *names: str) -> dict[str, str]:
    """The workspace with only the named clouds switched on."""
    env = dict(workspace)
    for cloud in ("AWS", "AZURE", "GCP"):
        if cloud.lower() not in names:
            env[f"ENABLE_DYNAMIC_CREDENTIALS_{cloud}"] = "false"
    return env


# -- the clouds' certain refusals, before anything is minted -------------------------------------


@pytest.mark.parametrize("command", [["env"], ["run", "--", "true"], [], ["hook"]])
def test_es256_with_azure_is_refused_before_minting(
    workspace: dict[str, str], key_files: KeyFiles, tmp_path: Path, command: list[str]
) -> None:
    env = {
        **workspace,
        "DynamicCredentialPrivateKeyPath": str(key_files.ec_private),
        "DynamicCredentialAlgorithm": "ES256",
        "workingDirectory": str(tmp_path),
    }
    env.pop("DynamicCredentialPublicKeyPath")
    if command[:1] == ["env"]:
        command = [*command, "--dir", str(tmp_path / "out")]
    result = run_injector(*command, env=env)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert (
        "DynamicCredentialAlgorithm: ES256 is refused by Entra ID, which "
        "ENABLE_DYNAMIC_CREDENTIALS_AZURE needs: expected one of RS256" in result.stderr
    )
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / ".terraform").exists()


def test_es256_without_azure_is_minted(
    workspace: dict[str, str], key_files: KeyFiles, tmp_path: Path
) -> None:
    env = {
        **_only(workspace, "aws", "gcp"),
        "DynamicCredentialPrivateKeyPath": str(key_files.ec_private),
        "DynamicCredentialAlgorithm": "ES256",
    }
    env.pop("DynamicCredentialPublicKeyPath")
    result = run_injector("env", "--dir", str(tmp_path / "out"), env=env)
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in (tmp_path / "out").glob("*.jwt")) == ["aws.jwt", "gcp.jwt"]


def test_a_subject_longer_than_google_keeps_is_refused(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    env = {**workspace, "workspaceName": "w" * 120}
    result = run_injector("env", "--dir", str(tmp_path / "out"), env=env)
    assert result.returncode == 2
    assert "workspaceName: with organizationName makes a sub of 150 bytes" in result.stderr
    assert "GCP keeps at most 127 in google.subject" in result.stderr
    assert not (tmp_path / "out").exists()
    # Without GCP the same names are fine.
    result = run_injector("env", "--dir", str(tmp_path / "out"), env=_only(env, "aws", "azure"))
    assert result.returncode == 0, result.stderr


def test_likely_failures_are_warnings(workspace: dict[str, str], tmp_path: Path) -> None:
    short = run_injector(
        "env", "--dir", str(tmp_path / "a"), env={**workspace, "DynamicCredentialTtl": "5"}
    )
    assert short.returncode == 0, short.stderr
    assert (
        "injector: warning: DynamicCredentialTtl: 5 minutes: azure-identity keeps the token "
        "file's content up to 10 min, so it can present this token after it expired; use at "
        "least 12 minutes for Azure" in short.stderr
    )
    long = run_injector(
        "env", "--dir", str(tmp_path / "b"), env={**workspace, "DynamicCredentialTtl": "420"}
    )
    assert long.returncode == 0, long.stderr
    assert "DynamicCredentialTtl: 420 minutes: Google recommends at most 360 minutes (GCP)" in (
        long.stderr
    )


# -- no silent run without credentials ------------------------------------------------------------


def test_a_misspelt_switch_is_named(workspace: dict[str, str], tmp_path: Path) -> None:
    env = {key: value for key, value in workspace.items() if not key.startswith("ENABLE_")}
    env["ENABLE_DYNAMIC_CREDENTIAL_AWS"] = "true"
    env["enable_dynamic_credentials_gcp"] = "true"
    env["ENABLE_DYNAMIC_CREDENTIALS_AMAZON"] = "true"
    result = run_injector("run", "--", "true", env=env)
    assert result.returncode == 0
    err = result.stderr
    assert (
        "ENABLE_DYNAMIC_CREDENTIAL_AWS is not a variable injector reads: did you mean "
        "ENABLE_DYNAMIC_CREDENTIALS_AWS?" in err
    )
    assert "did you mean ENABLE_DYNAMIC_CREDENTIALS_GCP?" in err
    assert "ENABLE_DYNAMIC_CREDENTIALS_AMAZON switches nothing on" in err
    assert "no cloud has dynamic credentials enabled" in err
    assert "running true without credentials" in err


def test_hook_says_when_nothing_is_enabled(tmp_path: Path) -> None:
    result = run_injector("hook", env={"workingDirectory": str(tmp_path)})
    assert result.returncode == 0
    assert "injector: warning: no cloud has dynamic credentials enabled" in result.stderr
    assert not (tmp_path / ".terrakube_temp_env").exists()


def test_require_makes_a_missing_cloud_an_error(workspace: dict[str, str], tmp_path: Path) -> None:
    env = _only(workspace, "aws")
    result = run_injector("env", "--require", "aws,azure", "--dir", str(tmp_path / "o"), env=env)
    assert result.returncode == 2
    assert (
        "--require: azure is required, but neither ENABLE_DYNAMIC_CREDENTIALS_AZURE nor "
        "INJECTOR_ENABLE_AZURE is on" in result.stderr
    )
    assert not (tmp_path / "o").exists()
    from_env = run_injector("run", "--", "true", env={**env, "INJECTOR_REQUIRE": "gcp"})
    assert from_env.returncode == 2
    assert "INJECTOR_REQUIRE: gcp is required" in from_env.stderr
    unknown = run_injector("env", "--require", "aws,amazon", env=env)
    assert unknown.returncode == 2
    assert "--require: no cloud is called 'amazon': expected a comma-separated list of" in (
        unknown.stderr
    )
    nothing = run_injector("hook", "--require", "aws", env={"workingDirectory": str(tmp_path)})
    assert nothing.returncode == 2
    assert "--require: aws is required" in nothing.stderr


def test_the_alias_switch_turns_a_cloud_on(workspace: dict[str, str], tmp_path: Path) -> None:
    env = _only(workspace)
    for cloud in ("AWS", "AZURE", "GCP"):
        env.pop(f"ENABLE_DYNAMIC_CREDENTIALS_{cloud}")
    env["INJECTOR_ENABLE_AZURE"] = "yes"
    result = run_injector("env", "--dir", str(tmp_path / "o"), "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "o").glob("*.jwt")) == ["azure.jwt"]
    both = {**env, "ENABLE_DYNAMIC_CREDENTIALS_AZURE": "false"}
    refused = run_injector("env", env=both)
    assert refused.returncode == 2
    assert (
        "ENABLE_DYNAMIC_CREDENTIALS_AZURE: is 'false' but INJECTOR_ENABLE_AZURE is 'yes': "
        "set one, or both to the same value" in refused.stderr
    )
    same = run_injector(
        "env", "--dir", str(tmp_path / "p"), env={**env, "ENABLE_DYNAMIC_CREDENTIALS_AZURE": "1"}
    )
    assert same.returncode == 0, same.stderr


# -- extras, keygen, make run ----------------------------------------------------------------------

BLOCKED = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None  # what an interpreter without the extra has: no such module
from injector.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize(
    ("command", "modules", "extra"),
    [
        (["serve"], "granian", "server"),
        (["verify", "x.y.z"], "httpx", "diagnostics"),
        (["doctor"], "jwt", "diagnostics"),
    ],
)
def test_a_command_without_its_extra_names_the_install_command(
    command: list[str], modules: str, extra: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCKED, modules, *command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"injector: error: {command[0]}: needs {modules}, which the {extra} extra brings: "
        f"{install_command(extra)}\n"
    )
    assert DISTRIBUTION in result.stderr


def test_keygen_gives_a_kid_of_its_own(tmp_path: Path) -> None:
    kids = set()
    for name in ("a", "b"):
        result = run_injector("keygen", "--out", str(tmp_path / name), env={})
        assert result.returncode == 0, result.stderr
        [line] = [line for line in result.stdout.splitlines() if "DynamicCredentialId=" in line]
        kids.add(line.split("=", 1)[1])
    assert len(kids) == 2
    assert "03446895-220d-47e1-9564-4eeaa3691b42" not in kids  # Terrakube's shared default


def test_make_run_installs_the_package_alone(tmp_path: Path) -> None:
    """On a fresh checkout, the commands `make run` would run: a venv, the package without
    extras, the dry run; no system package, no dev or test tool."""
    clone = tmp_path / "clone"
    (clone / "scripts").mkdir(parents=True)
    for name in ("Makefile", "pyproject.toml", "scripts/system-packages"):
        shutil.copy(ROOT / name, clone / name)
    planned = subprocess.run(
        ["make", "-n", "-C", str(clone), "run"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "-m venv .venv" in planned
    assert "pip install --quiet --disable-pip-version-check -e .\n" in planned
    assert ".venv/bin/injector --example" in planned
    for heavy in ("system-packages", "[dev]", "[test]", "apt-get", "--upgrade pip"):
        assert heavy not in planned
