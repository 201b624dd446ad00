"""Class 6: credentials the SDKs would take instead of the web identity injector minted. boto3
in a child process shows that each profile refused here would have won; then `env` and `hook`
refuse it (exit 2, naming the variable, never showing a value) and `run` drops the variable that
leads there. Also: `run` warns when Terraform's debug log would print the tokens."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_injector
from tests.hostile.neighbour import injector_as_nobody

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"  # a fake, that must never show
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
# A credential process that works (so boto3 can show it would win), with a secret in its line.
PROCESS = (
    """/bin/echo '{"Version": 1, "AccessKeyId": "AKIAPROCESS", "SecretAccessKey": "hunter2"}'"""
)

# boto3 in a child, fed only the given environment: which kind of credentials it would use.
_BOTO3_METHOD = (
    "import boto3; c = boto3.Session().get_credentials(); print(c.method if c else None)"
)
# The same, as the many tools that pass AWS_PROFILE on as their session's profile do (and as
# Terraform's provider does with `profile = ...`): then the profile wins whatever it holds.
_BOTO3_PROFILE_METHOD = (
    "import os, boto3; c = boto3.Session(profile_name=os.environ['AWS_PROFILE'])"
    ".get_credentials(); print(c.method if c else None)"
)


def boto3_method(env: dict[str, str], *, explicit: bool = False) -> str:
    result = subprocess.run(
        [sys.executable, "-c", _BOTO3_PROFILE_METHOD if explicit else _BOTO3_METHOD],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _exports(env: dict[str, str], folder: Path) -> dict[str, str]:
    result = run_injector("env", "--format", "json", "--dir", str(folder), env=env)
    assert result.returncode == 0, result.stderr
    exports: dict[str, str] = json.loads(result.stdout)
    return exports


def _refused(result: subprocess.CompletedProcess[str], variable: str) -> str:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert f"injector: error: {variable}: " in result.stderr
    for secret in (SECRET, ACCESS_KEY, "hunter2"):
        assert secret not in result.stderr
    return result.stderr


PROFILES = {
    "assume-role": (
        "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/admin\n"
        "source_profile = base\n[profile base]\nregion = us-east-1\n",
        f"[base]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET}\n",
    ),
    "custom-process": (f"[profile admin]\ncredential_process = {PROCESS}\n", ""),
    "shared-credentials-file": (
        "[profile admin]\nregion = us-east-1\n",
        f"[admin]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET}\n",
    ),
}


@pytest.mark.parametrize(
    ("kind", "explicit"),
    [("assume-role", False), ("custom-process", True), ("shared-credentials-file", True)],
)
def test_boto3_would_take_the_profile_over_the_web_identity(
    aws_only: dict[str, str], tmp_path: Path, kind: str, explicit: bool
) -> None:
    """The fact the refusal rests on: injector's exports plus AWS_PROFILE, and boto3 takes the
    profile's credentials instead of the token (a role profile even when AWS_PROFILE is only in
    the environment; any profile once a tool passes it on as its profile)."""
    config, credentials = PROFILES[kind]
    files = {
        "AWS_CONFIG_FILE": str(_write(tmp_path / "aws/config", config)),
        "AWS_SHARED_CREDENTIALS_FILE": str(_write(tmp_path / "aws/credentials", credentials)),
    }
    exports = _exports(aws_only, tmp_path / "out")
    assert boto3_method({**exports, **files}) == "assume-role-with-web-identity"
    chosen = {**exports, **files, "AWS_PROFILE": "admin"}
    assert boto3_method(chosen, explicit=explicit) == kind


def test_boto3_takes_a_default_role_profile_over_the_web_identity(
    aws_only: dict[str, str], tmp_path: Path
) -> None:
    """No AWS_PROFILE at all: a role in [default] still comes first (and here, with nothing to
    assume it from, breaks the job). injector refuses it."""
    config = "[default]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = base\n"
    config += (
        f"[profile base]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET}\n"
    )
    files = {"AWS_CONFIG_FILE": str(_write(tmp_path / "aws/config", config))}
    exports = _exports({**aws_only, "AWS_CONFIG_FILE": str(tmp_path / "none")}, tmp_path / "o")
    assert boto3_method({**exports, **files}) == "assume-role"
    _refused(run_injector("env", env={**aws_only, **files}), "AWS_CONFIG_FILE")


@pytest.mark.parametrize("kind", list(PROFILES))
def test_env_refuses_a_profile_that_brings_credentials(
    aws_only: dict[str, str], tmp_path: Path, kind: str
) -> None:
    config, credentials = PROFILES[kind]
    env = {
        **aws_only,
        "AWS_PROFILE": "admin",
        "AWS_CONFIG_FILE": str(_write(tmp_path / "aws/config", config)),
        "AWS_SHARED_CREDENTIALS_FILE": str(_write(tmp_path / "aws/credentials", credentials)),
    }
    message = _refused(run_injector("env", "--dir", str(tmp_path / "o"), env=env), "AWS_PROFILE")
    assert "'admin'" in message
    assert "ENABLE_DYNAMIC_CREDENTIALS_AWS" in message
    assert not (tmp_path / "o").exists()


def test_a_profile_with_settings_only_is_fine(aws_only: dict[str, str], tmp_path: Path) -> None:
    env = {
        **aws_only,
        "AWS_PROFILE": "plain",
        "AWS_CONFIG_FILE": str(_write(tmp_path / "c", "[profile plain]\nregion = eu-west-1\n")),
    }
    exports = _exports(env, tmp_path / "o")
    assert boto3_method(
        {**exports, "AWS_PROFILE": "plain", "AWS_CONFIG_FILE": env["AWS_CONFIG_FILE"]}
    ) == ("assume-role-with-web-identity")


def test_config_file_variable_with_a_default_role(aws_only: dict[str, str], tmp_path: Path) -> None:
    config = "[default]\nrole_arn = arn:aws:iam::1:role/x\ncredential_source = Environment\n"
    env = {**aws_only, "AWS_CONFIG_FILE": str(_write(tmp_path / "cfg", config))}
    message = _refused(run_injector("env", env=env), "AWS_CONFIG_FILE")
    assert "role_arn, credential_source" in message


def test_default_credentials_file_in_home(aws_only: dict[str, str]) -> None:
    """No variable at all: ~/.aws/credentials with keys in [default]."""
    home = Path(aws_only["HOME"])
    _write(home / ".aws/credentials", f"[default]\naws_access_key_id = {ACCESS_KEY}\n")
    message = _refused(run_injector("env", env=aws_only), "AWS_SHARED_CREDENTIALS_FILE")
    assert str(home / ".aws/credentials") in message


def test_hook_refuses_and_writes_nothing(aws_only: dict[str, str], tmp_path: Path) -> None:
    working = tmp_path / "job"
    working.mkdir()
    config, _ = PROFILES["custom-process"]
    env = {
        **aws_only,
        "workingDirectory": str(working),
        "AWS_PROFILE": "admin",
        "AWS_CONFIG_FILE": str(_write(tmp_path / "aws/config", config)),
    }
    _refused(run_injector("hook", env=env), "AWS_PROFILE")
    assert list(working.iterdir()) == []


def test_run_drops_the_profile_and_boto3_uses_the_token(
    aws_only: dict[str, str], tmp_path: Path
) -> None:
    config, credentials = PROFILES["assume-role"]
    env = {
        **aws_only,
        "AWS_PROFILE": "admin",
        "AWS_CONFIG_FILE": str(_write(tmp_path / "aws/config", config)),
        "AWS_SHARED_CREDENTIALS_FILE": str(_write(tmp_path / "aws/credentials", credentials)),
    }
    result = run_injector("run", "--", sys.executable, "-c", _BOTO3_METHOD, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "assume-role-with-web-identity"
    assert "AWS_PROFILE" in result.stderr  # the warning says what was not passed on
    for secret in (SECRET, ACCESS_KEY):
        assert secret not in result.stderr


def test_run_refuses_what_it_cannot_drop(aws_only: dict[str, str], tmp_path: Path) -> None:
    """Dropping AWS_PROFILE and AWS_CONFIG_FILE leaves the default profile of ~/.aws, which has
    keys: nothing more to drop, so `run` refuses."""
    home = Path(aws_only["HOME"])
    _write(home / ".aws/credentials", f"[default]\naws_access_key_id = {ACCESS_KEY}\n")
    config, _ = PROFILES["custom-process"]
    env = {
        **aws_only,
        "AWS_PROFILE": "admin",
        "AWS_CONFIG_FILE": str(_write(tmp_path / "aws/config", config)),
    }
    _refused(run_injector("run", "--", "true", env=env), "AWS_SHARED_CREDENTIALS_FILE")


def test_azure_client_secret_file_refused(workspace: dict[str, str], tmp_path: Path) -> None:
    env = {**workspace, "ARM_CLIENT_SECRET_FILE_PATH": str(_write(tmp_path / "s", SECRET))}
    _refused(run_injector("env", env=env), "ARM_CLIENT_SECRET_FILE_PATH")


@pytest.mark.parametrize(
    ("variable", "level"),
    [
        ("TF_LOG", "TRACE"),
        ("TF_LOG", "debug"),
        ("TF_LOG_PROVIDER", "DEBUG"),
        ("TF_LOG_CORE", "json"),
    ],
)
def test_run_warns_of_a_terraform_debug_log(
    aws_only: dict[str, str], variable: str, level: str
) -> None:
    result = run_injector("run", "--", "true", env={**aws_only, variable: level})
    assert result.returncode == 0, result.stderr
    assert f"injector: warning: {variable}={level}: " in result.stderr
    assert "tokens" in result.stderr


def test_run_is_quiet_at_terraform_info(aws_only: dict[str, str]) -> None:
    result = run_injector("run", "--", "true", env={**aws_only, "TF_LOG": "INFO"})
    assert result.returncode == 0, result.stderr
    assert "TF_LOG" not in result.stderr


# A uid with no entry in /etc/passwd, as a container runs under an arbitrary uid (OpenShift).
NO_ACCOUNT = 4242


@pytest.mark.parametrize("config_file", [None, "~/.aws/config"], ids=["default", "tilde"])
def test_a_uid_without_an_account_or_a_home_gets_its_job(
    aws_only: dict[str, str], config_file: str | None
) -> None:
    """No HOME and no account: there is no ~/.aws whose profiles could win (botocore finds none
    either), so nothing to refuse and nothing to fail on."""
    env = {
        name: value
        for name, value in aws_only.items()
        if name != "HOME" and not name.startswith("DynamicCredential")  # the dry run's key
    }
    if config_file is not None:
        env["AWS_CONFIG_FILE"] = config_file
    env["DynamicCredentialHostname"] = aws_only["DynamicCredentialHostname"]
    result = injector_as_nobody(env=env, uid=NO_ACCOUNT)
    assert result.returncode == 0, result.stderr
    assert "== aws: token" in result.stdout
    assert "error" not in result.stderr
