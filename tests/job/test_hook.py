"""`injector hook` as Terrakube runs it, and the env file as Terrakube's executor reads it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from injector.job.hook import merged_env_file
from tests.conftest import run_injector
from tests.support.aws import ROLE_ARN, ROLE_NAME, boto3_login, create_role


def terrakube_split(text: str) -> dict[str, str]:
    """The executor's older loader: `line.split("=")`, keeping parts 0 and 1. Java's split drops
    trailing empty strings, and a line with no part 1 throws, so this does too."""
    loaded = {}
    for line in text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"):
        parts = line.split("=")
        while parts and parts[-1] == "":
            parts.pop()
        loaded[parts[0]] = parts[1]  # IndexError where Java throws ArrayIndexOutOfBounds
    return loaded


def terrakube_first_equals(text: str) -> dict[str, str]:
    """The executor's newer loader: split at the first '=', skip lines without a key."""
    loaded = {}
    for line in text.splitlines():
        index = line.find("=")
        if index > 0:
            loaded[line[:index]] = line[index + 1 :]
    return loaded


@pytest.fixture
def job(workspace: dict[str, str], tmp_path: Path) -> dict[str, str]:
    working = tmp_path / "job"
    working.mkdir()
    return {**workspace, "workingDirectory": str(working)}


def test_hook_writes_under_dot_terraform_and_adds_the_exports(job: dict[str, str]) -> None:
    working = Path(job["workingDirectory"])
    env_file = working / ".terrakube_temp_env"
    env_file.write_text("TF_LOG=INFO\nMY_VAR=kept")  # no final newline: must not be glued on
    result = run_injector("hook", env=job)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""

    folder = working / ".terraform" / "injector"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == [
        "aws.jwt",
        "azure.jwt",
        "gcp-credentials.json",
        "gcp.jwt",
    ]
    text = env_file.read_text()
    for loader in (terrakube_split, terrakube_first_equals):
        loaded = loader(text)
        assert loaded["TF_LOG"] == "INFO"
        assert loaded["MY_VAR"] == "kept"
        assert loaded["AWS_WEB_IDENTITY_TOKEN_FILE"] == str(folder / "aws.jwt")
        assert loaded["GOOGLE_APPLICATION_CREDENTIALS"] == str(folder / "gcp-credentials.json")
        assert loaded["ARM_USE_OIDC"] == "true"
    tokens = [(folder / f"{c}.jwt").read_text() for c in ("aws", "azure", "gcp")]
    assert not any(token in text or token.split(".")[2] in text for token in tokens)


def test_running_the_hook_again_replaces_its_own_lines(job: dict[str, str]) -> None:
    env_file = Path(job["workingDirectory"]) / ".terrakube_temp_env"
    env_file.write_text("KEEP=1\n")
    assert run_injector("hook", "--phase", "plan", env=job).returncode == 0
    first_token = (Path(job["workingDirectory"]) / ".terraform/injector/aws.jwt").read_text()
    assert run_injector("hook", "--phase", "apply", env=job).returncode == 0
    lines = env_file.read_text().splitlines()
    assert lines[0] == "KEEP=1"
    assert sum(line.startswith("AWS_ROLE_ARN=") for line in lines) == 1
    second_token = (Path(job["workingDirectory"]) / ".terraform/injector/aws.jwt").read_text()
    assert first_token != second_token


def test_terrakube_env_variable_names_the_file(job: dict[str, str], tmp_path: Path) -> None:
    job["terrakubeEnv"] = str(tmp_path / "elsewhere.env")
    assert run_injector("hook", env=job).returncode == 0
    assert "AWS_ROLE_ARN=" in (tmp_path / "elsewhere.env").read_text()
    assert not (Path(job["workingDirectory"]) / ".terrakube_temp_env").exists()


def test_a_value_terrakube_would_cut_is_refused_and_nothing_written(job: dict[str, str]) -> None:
    working = Path(job["workingDirectory"])
    (working / ".terrakube_temp_env").write_text("KEEP=1\n")
    job["WORKLOAD_IDENTITY_ROLE_AWS"] = "arn:aws:iam::123456789012:role/team=infra"
    result = run_injector("hook", env=job)
    assert result.returncode == 2
    assert "AWS_ROLE_ARN: its value contains '='" in result.stderr
    assert (working / ".terrakube_temp_env").read_text() == "KEEP=1\n"
    assert not (working / ".terraform" / "injector").exists()


def test_hook_needs_the_working_directory(workspace: dict[str, str]) -> None:
    result = run_injector("hook", env=workspace)
    assert result.returncode == 2
    assert "workingDirectory: is required" in result.stderr


def test_hook_with_nothing_enabled_changes_nothing(tmp_path: Path) -> None:
    result = run_injector("hook", env={"workingDirectory": str(tmp_path)})
    assert result.returncode == 0
    assert list(tmp_path.iterdir()) == []


def test_merged_env_file_keeps_foreign_lines_and_replaces_ours() -> None:
    existing = b"A=1\nAWS_ROLE_ARN=old\n\nB=x=y\n"
    merged = merged_env_file(existing, b"AWS_ROLE_ARN=new\n")
    assert merged == b"A=1\n\nB=x=y\nAWS_ROLE_ARN=new\n"
    assert merged_env_file(b"", b"K=v\n") == b"K=v\n"
    assert merged_env_file(b"A=1", b"K=v\n") == b"A=1\nK=v\n"


@pytest.mark.parametrize("loader", [terrakube_split, terrakube_first_equals])
def test_terrakube_env_file_logs_boto3_in_through_moto(
    job: dict[str, str], moto_endpoint: str, tmp_path: Path, loader: object
) -> None:
    """The hook's env file, loaded as the executor loads it, is all boto3 gets."""
    create_role(moto_endpoint)
    job.update(
        {
            "WORKLOAD_IDENTITY_ROLE_AWS": ROLE_ARN,
            "ENABLE_DYNAMIC_CREDENTIALS_AZURE": "false",
            "ENABLE_DYNAMIC_CREDENTIALS_GCP": "false",
        }
    )
    assert run_injector("hook", "--phase", "plan", env=job).returncode == 0
    env_file = Path(job["workingDirectory"]) / ".terrakube_temp_env"
    assert callable(loader)
    loaded = loader(env_file.read_text())
    login = boto3_login(loaded, moto_endpoint, tmp_path)
    assert login["method"] == "assume-role-with-web-identity"
    assert login["arn"].startswith(f"arn:aws:sts::123456789012:assumed-role/{ROLE_NAME}/")


def test_hook_says_what_it_minted_and_quiet_silences_it(job: dict[str, str]) -> None:
    result = run_injector("hook", "--phase", "apply", env=job)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "; sub " in line]
    assert len(lines) == 3
    assert lines[0].startswith(f"injector: aws: role {job['WORKLOAD_IDENTITY_ROLE_AWS']}; sub ")
    assert "; aud aws.workload.identity; expires " in lines[0]
    assert lines[2].startswith("injector: gcp: ")
    folder = Path(job["workingDirectory"], ".terraform", "injector")
    token = (folder / "aws.jwt").read_text()
    assert token not in result.stderr and token.split(".")[1] not in result.stderr

    quiet = run_injector("hook", "--quiet", env=job)
    assert quiet.returncode == 0, quiet.stderr
    assert "; sub " not in quiet.stderr
    by_variable = run_injector("hook", env={**job, "INJECTOR_QUIET": "1"})
    assert by_variable.returncode == 0, by_variable.stderr
    assert "; sub " not in by_variable.stderr
