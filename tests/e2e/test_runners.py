"""The CI recipes in examples/runners/: each one's settings, with the variables its CI gives a
job, run through the one shell script they all call, as a CI would run it (bash, a scratch
folder under TMPDIR, a command that reads the credentials). Plus `INJECTOR_CI` / `--ci` on its
own: the job context from a CI's variables, never guessed, the runner's values first."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml

from injector.config import ci
from tests.conftest import ROOT, run_injector

RUNNERS = ROOT / "examples" / "runners"
SCRIPT = RUNNERS / "injector-terraform.sh"
CALL = "ci/injector-terraform.sh"

# What each CI itself gives a job (the documented names, sample values).
CI_VARIABLES = {
    "github": {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/network",
        "GITHUB_REPOSITORY_OWNER_ID": "5150",
        "GITHUB_REPOSITORY_ID": "808080",
        "GITHUB_RUN_ID": "424242",
    },
    "gitlab": {
        "GITLAB_CI": "true",
        "CI_PROJECT_NAMESPACE": "acme/platform",
        "CI_PROJECT_NAME": "network",
        "CI_PROJECT_NAMESPACE_ID": "61",
        "CI_PROJECT_ID": "278",
        "CI_JOB_ID": "99117",
    },
    "jenkins": {
        "JENKINS_URL": "https://jenkins.example.com/",
        "JOB_NAME": "infra/network",
        "BUILD_NUMBER": "57",
    },
}
EXPECTED_CLAIMS = {
    "github": ("acme", "network", "5150", "808080", "424242"),
    "gitlab": ("acme/platform", "network", "61", "278", "99117"),
    "jenkins": ("platform", "infra/network", "jenkins.example.com", "infra/network", "57"),
}


def _github() -> tuple[dict[str, str], list[str]]:
    workflow = yaml.safe_load((RUNNERS / "github-actions-key-file.yml").read_text())
    job = workflow["jobs"]["plan"]
    runs = [step["run"] for step in job["steps"] if "run" in step]
    return dict(job["env"]), runs


def _gitlab() -> tuple[dict[str, str], list[str]]:
    pipeline = yaml.safe_load((RUNNERS / "gitlab-ci-key-file.yml").read_text())
    return dict(pipeline["plan"]["variables"]), list(pipeline["plan"]["script"])


def _jenkins() -> tuple[dict[str, str], list[str]]:
    text = (RUNNERS / "Jenkinsfile-key-file").read_text()
    block = re.search(r"environment \{(.*?)\n    \}", text, re.S)
    assert block is not None
    env = dict(re.findall(r"^\s*(\w+) = '([^']*)'$", block.group(1), re.M))
    return env, re.findall(r"^\s*sh '([^']*)'$", text, re.M)


RECIPES = {"github": _github, "gitlab": _gitlab, "jenkins": _jenkins}


def _script_calls(runs: list[str]) -> list[list[str]]:
    return [run.split()[1:] for run in runs if run.startswith(CALL + " ")]


def _run_script(
    env: dict[str, str], tmp_path: Path, *command: str
) -> subprocess.CompletedProcess[str]:
    scratch = tmp_path / "job-tmp"
    scratch.mkdir(exist_ok=True)
    base = {
        # The venv's injector first, as `pipx install` puts it on a runner's PATH.
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "LANG": "C.UTF-8",
        "TMPDIR": str(scratch),
        "HOME": str(tmp_path),
    }
    return subprocess.run(
        ["bash", str(SCRIPT), *command],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# Reads the credentials as Terraform's AWS provider would, and keeps a copy for the test.
_READER = (
    'test -s "$AWS_WEB_IDENTITY_TOKEN_FILE" && cp "$AWS_WEB_IDENTITY_TOKEN_FILE" "$OUT/token" '
    '&& printf "%s\\n%s\\n" "$AWS_WEB_IDENTITY_TOKEN_FILE" "$AWS_ROLE_ARN" > "$OUT/seen" '
    '&& env > "$OUT/env"'
)


@pytest.mark.parametrize("name", list(RECIPES))
def test_recipe_runs_the_script_and_the_command_gets_credentials(
    name: str, key_files: Any, tmp_path: Path
) -> None:
    settings, runs = RECIPES[name]()
    assert settings["INJECTOR_CI"] == name
    calls = _script_calls(runs)
    assert [call[0] for call in calls] == ["terraform", "terraform"], runs
    env = {**settings, **CI_VARIABLES[name], "OUT": str(tmp_path)}
    # The key as each recipe hands it over: GitHub a secret's content, the others a file.
    if name == "github":
        env["INJECTOR_SIGNING_KEY_PEM"] = key_files.private_pkcs8.read_text()
    else:
        env["DynamicCredentialPrivateKeyPath"] = str(key_files.private_pkcs8)
    result = _run_script(env, tmp_path, "sh", "-c", _READER)
    assert result.returncode == 0, result.stderr
    token_path, role = (tmp_path / "seen").read_text().splitlines()
    assert role == settings["WORKLOAD_IDENTITY_ROLE_AWS"]
    assert token_path.startswith(str(tmp_path / "job-tmp" / "injector."))
    claims = jwt.decode(
        (tmp_path / "token").read_text(),
        key_files.public.read_text(),
        algorithms=["RS256"],
        audience="aws.workload.identity",
        issuer=f"https://{settings['DynamicCredentialHostname']}",
    )
    organization, workspace, organization_id, workspace_id, job_id = EXPECTED_CLAIMS[name]
    assert claims["sub"] == f"organization:{organization}:workspace:{workspace}"
    assert claims["terrakube_organization_id"] == organization_id
    assert claims["terrakube_workspace_id"] == workspace_id
    assert claims["terrakube_job_id"] == job_id
    # Clean-up: the job's scratch space is empty again, and the key never reached the command.
    assert list((tmp_path / "job-tmp").iterdir()) == []
    assert "BEGIN PRIVATE KEY" not in (tmp_path / "env").read_text()
    assert "BEGIN" not in result.stderr


def test_script_stops_when_injector_fails_and_cleans_up(key_files: Any, tmp_path: Path) -> None:
    settings, _ = _github()
    env = {**settings, **CI_VARIABLES["github"], "OUT": str(tmp_path)}
    env["INJECTOR_SIGNING_KEY_PEM"] = key_files.private_pkcs8.read_text()
    env["WORKLOAD_IDENTITY_ROLE_AWS"] = "not-a-role"
    result = _run_script(env, tmp_path, "sh", "-c", 'touch "$OUT/ran"')
    assert result.returncode == 2
    assert "WORKLOAD_IDENTITY_ROLE_AWS" in result.stderr
    assert not (tmp_path / "ran").exists()
    assert list((tmp_path / "job-tmp").iterdir()) == []


def test_script_passes_the_command_status_on_and_cleans_up(key_files: Any, tmp_path: Path) -> None:
    settings, _ = _gitlab()
    env = {**settings, **CI_VARIABLES["gitlab"]}
    env["DynamicCredentialPrivateKeyPath"] = str(key_files.private_pkcs8)
    result = _run_script(env, tmp_path, "sh", "-c", "exit 7")
    assert result.returncode == 7, result.stderr
    assert list((tmp_path / "job-tmp").iterdir()) == []


def test_script_cleans_up_when_the_job_is_cancelled(key_files: Any, tmp_path: Path) -> None:
    """A CI cancels a job with SIGTERM to the script: the command ends, the folder goes."""
    settings, _ = _gitlab()
    env = {**settings, **CI_VARIABLES["gitlab"], "OUT": str(tmp_path)}
    env["DynamicCredentialPrivateKeyPath"] = str(key_files.private_pkcs8)
    scratch = tmp_path / "job-tmp"
    scratch.mkdir()
    process = subprocess.Popen(
        ["bash", str(SCRIPT), "sh", "-c", 'touch "$OUT/started"; sleep 30'],
        env={
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "TMPDIR": str(scratch),
            **env,
        },
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "started").exists() and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()[1]
            time.sleep(0.05)
        assert (tmp_path / "started").exists()
        assert len(list(scratch.iterdir())) == 1
        process.terminate()
        status = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert status == 128 + 15  # the command died of SIGTERM, as `injector run` reports it
    assert list(scratch.iterdir()) == []


# -- INJECTOR_CI on its own ----------------------------------------------------------------------


def _aws_only(workspace: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in workspace.items() if k not in ci_job_context()}
    for cloud in ("AZURE", "GCP"):
        env[f"ENABLE_DYNAMIC_CREDENTIALS_{cloud}"] = "false"
    return env


def ci_job_context() -> set[str]:
    return {"organizationName", "workspaceName", "organizationId", "workspaceId", "jobId"}


def _claims(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    exports = json.loads(result.stdout)
    token = Path(exports["AWS_WEB_IDENTITY_TOKEN_FILE"]).read_text()
    return dict(jwt.decode(token, options={"verify_signature": False}))


@pytest.mark.parametrize("how", ["variable", "option"])
def test_ci_fills_the_job_context_from_the_ci_variables(
    workspace: dict[str, str], tmp_path: Path, how: str
) -> None:
    env = {**_aws_only(workspace), **CI_VARIABLES["gitlab"]}
    args = ["env", "--format", "json", "--dir", str(tmp_path / "out")]
    if how == "variable":
        env["INJECTOR_CI"] = "gitlab"
    else:
        args.append("--ci=gitlab")
    result = run_injector(*args, env=env)
    assert result.returncode == 0, result.stderr
    claims = _claims(result)
    assert claims["sub"] == "organization:acme/platform:workspace:network"
    assert claims["terrakube_job_id"] == "99117"


def test_the_runner_values_win_over_the_ci_defaults(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **_aws_only(workspace),
        **CI_VARIABLES["github"],
        "INJECTOR_CI": "github",
        "workspaceName": "network-prod",
    }
    result = run_injector("env", "--format", "json", "--dir", str(tmp_path / "out"), env=env)
    assert result.returncode == 0, result.stderr
    claims = _claims(result)
    assert claims["sub"] == "organization:acme:workspace:network-prod"
    assert claims["terrakube_workspace_id"] == "808080"


def test_without_the_opt_in_nothing_is_guessed(workspace: dict[str, str], tmp_path: Path) -> None:
    env = {**_aws_only(workspace), **CI_VARIABLES["github"]}
    result = run_injector("env", "--dir", str(tmp_path / "out"), env=env)
    assert result.returncode == 2
    assert (
        "workspaceName: is required (or pass --workspace; GITHUB_ACTIONS is set: with "
        "INJECTOR_CI=github (or --ci github) it comes from name of GITHUB_REPOSITORY)\n"
    ) in result.stderr
    assert "without control" not in result.stderr  # no form for a value that is missing
    assert not (tmp_path / "out").exists()


def test_jenkins_leaves_the_organization_to_the_runner(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    env = {**_aws_only(workspace), **CI_VARIABLES["jenkins"], "INJECTOR_CI": "jenkins"}
    result = run_injector("env", "--dir", str(tmp_path / "out"), env=env)
    assert result.returncode == 2
    assert "organizationName: is required (or pass --organization)" in result.stderr
    assert "organizationId: is required (or pass --organization-id)" in result.stderr
    assert "workspaceName" not in result.stderr and "jobId" not in result.stderr


def test_a_missing_ci_variable_is_named(workspace: dict[str, str], tmp_path: Path) -> None:
    env = {**_aws_only(workspace), **CI_VARIABLES["github"], "INJECTOR_CI": "github"}
    del env["GITHUB_RUN_ID"]
    env["GITHUB_REPOSITORY"] = "no-slash"
    result = run_injector("env", "--dir", str(tmp_path / "out"), env=env)
    assert result.returncode == 2
    assert (
        "jobId: is required (or pass --job-id; INJECTOR_CI=github takes it from GITHUB_RUN_ID, "
        "which is not set)" in result.stderr
    )
    assert "INJECTOR_CI=github takes it from name of GITHUB_REPOSITORY" in result.stderr


def test_an_unknown_ci_is_exit_2(workspace: dict[str, str], tmp_path: Path) -> None:
    env = {**_aws_only(workspace), "INJECTOR_CI": "circleci"}
    result = run_injector("env", "--dir", str(tmp_path / "out"), env=env)
    assert result.returncode == 2
    assert "INJECTOR_CI: is 'circleci': expected one of github, gitlab, jenkins" in result.stderr
    option = run_injector("env", "--ci", "circleci", env=env)
    assert option.returncode == 2 and "--ci" in option.stderr


def test_every_ci_named_in_the_runners_guide() -> None:
    section = (ROOT / "docs" / "guides" / "runners.md").read_text()
    for name, sources in ci.SOURCES.items():
        assert f"`INJECTOR_CI={name}`" in section
        for variable, (source, _) in sources.items():
            assert f"`{variable}`" in section and source.split()[-1] in section
    # The guide shows the script the recipes call, as it is.
    assert SCRIPT.read_text().strip() in section


def _tags() -> list[str]:
    """The release tags this repository has (none yet)."""
    return subprocess.run(
        ["git", "-C", str(ROOT), "tag", "--list"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.split()


def test_the_recipes_pin_no_tag_that_does_not_exist() -> None:
    """No release is tagged: a recipe pins the commit its user reviewed (a variable they set),
    or a tag the repository has."""
    tags = _tags()
    for name in (
        "github-actions-key-file.yml",
        "gitlab-ci-key-file.yml",
        "Jenkinsfile-key-file",
        "gitlab-ci.yml",
        "Jenkinsfile",
    ):
        text = (RUNNERS / name).read_text()
        refs = re.findall(r"injector\.git@([^\"'\s]+)", text)
        assert refs, name
        for ref in refs:
            assert ref == "${PIN_INJECTOR}" or ref in tags, f"{name} pins {ref}"
        assert "PIN_INJECTOR" in text.split("injector.git@", 1)[0], name


def test_the_keyless_workflow_uses_the_action_at_a_commit_its_user_reviewed() -> None:
    """`uses:` takes no variable: the workflow names the placeholder of a reviewed commit, or a
    tag the repository has, never a release that does not exist."""
    tags = _tags()
    text = (RUNNERS / "github-actions.yml").read_text()
    refs = re.findall(r"uses: platform/injector@(\S+)", text)
    assert len(refs) == 2
    for ref in refs:
        assert ref == "CHANGE-ME-the-injector-commit-you-reviewed" or ref in tags, ref


def test_every_recipe_that_holds_a_key_says_for_whom_and_the_risk() -> None:
    """The default recipe of each CI is keyless; the key-in-CI one says it is for a laptop or a
    trusted single-tenant runner, and why."""
    # injector-terraform.sh is the key-file recipes' helper (it writes the secret to a file).
    for recipe in sorted(set(RUNNERS.glob("*")) - {SCRIPT}):
        text = recipe.read_text()
        holds_key = "PrivateKey" in text or "SIGNING_KEY" in text
        assert holds_key == recipe.stem.endswith("-key-file"), recipe.name
        if holds_key:
            assert "A LAPTOP OR A TRUSTED SINGLE-TENANT" in text, recipe.name
            assert "can mint every workspace's identity" in text, recipe.name


def test_an_empty_signing_key_secret_is_named(tmp_path: Path) -> None:
    """GitHub hands a fork's pull request an empty secret: the error names the variable the
    recipe set, not the key path injector would have read, and nothing runs."""
    settings, _ = _github()
    env = {**settings, **CI_VARIABLES["github"], "OUT": str(tmp_path)}
    env["INJECTOR_SIGNING_KEY_PEM"] = ""
    result = _run_script(env, tmp_path, "sh", "-c", 'touch "$OUT/ran"')
    assert result.returncode == 2
    assert result.stderr.startswith(
        "injector-terraform.sh: error: INJECTOR_SIGNING_KEY_PEM: is empty: expected the "
        "signing key's PEM from a CI secret"
    )
    assert "DynamicCredentialPrivateKeyPath" not in result.stderr
    assert not (tmp_path / "ran").exists()
    assert list((tmp_path / "job-tmp").iterdir()) == []
