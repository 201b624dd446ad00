"""The keyless recipes run as written: GitHub's workflow through this repository's action,
GitLab's `id_tokens`, Jenkins's OpenID Connect Provider plugin and the pod's projected token,
each exchanged at one real signer over HTTPS, which runs the example policy
(examples/signer/keyless-policy.toml) with only its platforms' issuers and CA bundles pointed at
the stand-ins, and the cluster's TokenReview API at its stand-in.

Each recipe's variables and its `injector run -- ...` lines (GitHub: the action's `with:` and
the `run:` step after it) are read from the recipe file; the job gets the platform's token the
way the platform hands it over, runs as uid nobody, and the command is swapped for boto3 logging
in to the strict STS stand-in with nothing but what injector exported. The roles are the
recipes' own, trusting the `sub` the policy derives.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import yaml

from tests.conftest import ROOT, KeyFiles
from tests.e2e.test_login_strict import AWS_LOGIN
from tests.standins import aws_account
from tests.standins.accounts import ACCOUNT
from tests.standins.aws_sts import TEST_CREDENTIALS
from tests.standins.github_runner import GitHubRunner, WorkflowJob
from tests.standins.kube_token_review import CREDENTIAL, TokenReviewer
from tests.standins.platforms import Platforms
from tests.support import actions, reachable
from tests.support import signer as support

if TYPE_CHECKING:
    from tests.standins.fixtures import StandIns

pytest_plugins = ["tests.standins.fixtures", "tests.standins.platform_fixtures"]

RUNNERS = ROOT / "examples" / "runners"
SIGNER = ROOT / "examples" / "signer"
SIGNER_URL = "DynamicCredentialSigner"

# The command after `--`, as the job's uid: boto3 in a child given only what `injector run`
# added to the job's environment (and the AWS_* it exports with the recipe's own value), the
# STS endpoint and the SDK; it prints what it saw (names and claims, never a token) and the
# login's JSON line.
_COMMAND = """
import base64, json, os, subprocess, sys
job_names, sts, sdk, home, login = sys.argv[1].split(","), *sys.argv[2:]
exports = {k: v for k, v in os.environ.items() if k not in job_names or k.startswith("AWS_")}
payload = open(exports["AWS_WEB_IDENTITY_TOKEN_FILE"]).read().split(".")[1]
claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
child = subprocess.run(
    [sys.executable, "-c", login],
    env={**exports, "AWS_ENDPOINT_URL_STS": sts, "AWS_MAX_ATTEMPTS": "1",
         "PYTHONPATH": sdk, "HOME": home, "PATH": "/usr/bin:/bin"},
    capture_output=True, text=True, timeout=60,
)
print(json.dumps({"exports": sorted(exports), "environment": sorted(os.environ),
                  "role": exports.get("AWS_ROLE_ARN"),
                  "token_file": exports["AWS_WEB_IDENTITY_TOKEN_FILE"], "claims": claims,
                  "login": json.loads(child.stdout) if child.returncode == 0 else child.stderr}))
"""


@dataclass(frozen=True)
class Recipe:
    """What a recipe file says: the job's variables and its `injector run` lines."""

    env: dict[str, str]
    runs: list[list[str]]
    token_variable: str  # where the platform puts its token (a value, or a file's path)


def _runs(lines: list[str]) -> list[list[str]]:
    return [shlex.split(line) for line in lines if line.startswith("injector run ")]


def _gitlab() -> Recipe:
    job = yaml.safe_load((RUNNERS / "gitlab-ci.yml").read_text())["plan"]
    (name,) = job["id_tokens"]
    return Recipe(dict(job["variables"]), _runs(job["script"]), name)


def _jenkins() -> Recipe:
    text = (RUNNERS / "Jenkinsfile").read_text()
    block = re.search(r"environment \{(.*?)\n    \}", text, re.S)
    assert block is not None
    env = dict(re.findall(r"^\s*(\w+) = '([^']*)'$", block.group(1), re.M))
    (name,) = re.findall(
        r"withCredentials\(\[string\(credentialsId: '[^']+', variable: '(\w+)'", text
    )
    return Recipe(env, _runs(re.findall(r"^\s*sh '([^']*)'$", text, re.M)), name)


def _pod() -> Recipe:
    pod = yaml.safe_load((SIGNER / "job-pod.yaml").read_text())
    (container,) = pod["spec"]["containers"]
    env = {item["name"]: item["value"] for item in container["env"]}
    return Recipe(env, [container["command"]], "INJECTOR_SUBJECT_TOKEN_FILE")


def _swapped(text: str, old: str, new: str) -> str:
    """`text` with its one `old` replaced: a change to the example fails here, loudly."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def _policy(platforms: Platforms, ca: Path, reviewer: TokenReviewer, credential: Path) -> str:
    """The example policy, its platforms' issuers and CA bundles on the stand-ins, and the
    cluster's reviews asked of `reviewer` with the signer's `credential` file."""
    text = (SIGNER / "keyless-policy.toml").read_text()
    text = _swapped(
        text,
        "token_review = true",
        f'token_review = {{ api_server = "{reviewer.url}", ca_file = "{ca}", '
        f'token_file = "{credential}" }}',
    )
    for name, platform in (("github", platforms.github), ("gitlab", platforms.gitlab)):
        kind = re.search(rf'^kind = "{name}".*$', text, re.M)
        assert kind is not None
        text = _swapped(
            text, kind.group(0), f'{kind.group(0)}\nissuer = "{platform.url}"\nca_bundle = "{ca}"'
        )
    text = _swapped(
        text,
        'issuer = "https://kubernetes.default.svc.cluster.local"',
        f'issuer = "{platforms.kubernetes.url}"',
    )
    text = _swapped(text, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", str(ca))
    return _swapped(
        text,
        'issuer = "https://jenkins.example.com/oidc"',
        f'issuer = "{platforms.jenkins.url}"\nca_bundle = "{ca}"',
    )


@dataclass(frozen=True)
class Site:
    url: str  # the signer's token exchange
    folder: Path  # reachable by nobody: the CA, the job's own folder
    sts: str
    signer: support.Signer


def _trust_recipe_roles(moto_endpoint: str, issuer_url: str, roles: dict[str, list[str]]) -> None:
    """The recipes' roles in moto's IAM, each trusting the issuer's tokens for `subjects`."""
    iam = boto3.client(
        "iam", endpoint_url=moto_endpoint, region_name="us-east-1", **TEST_CREDENTIALS
    )
    provider_url = issuer_url.removeprefix("https://")
    provider_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{provider_url}"
    for name, subjects in roles.items():
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(
                aws_account.trust_policy(provider_arn, provider_url, subjects)
            ),
        )


GITLAB_SUB = "organization:acme:workspace:infra"  # the stand-in's project acme/infra
# The workflow's repository acme/infra, per phase: the attestation's own subject_template.
GITHUB_SUB = "organization:acme:workspace:infra:run_phase:{}"
JENKINS_JOB = "infra/network"  # a job in a folder, as JOB_NAME spells it
JENKINS_SUB = f"organization:jenkins:workspace:{JENKINS_JOB}"
POD_SUB = "organization:terraform:workspace:network"  # the pod's namespace and account


@pytest.fixture(scope="module")
def site(
    key_files: KeyFiles,
    standins: StandIns,
    platforms: Platforms,
    moto_endpoint: str,
    reviewer: TokenReviewer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    _trust_recipe_roles(
        moto_endpoint,
        standins.issuer.url,
        {
            "terraform-plan": [GITLAB_SUB, JENKINS_SUB, GITHUB_SUB.format("plan")],
            "terraform-apply": [GITHUB_SUB.format("apply")],
            "terraform-network": [POD_SUB],
        },
    )
    tls = standins.tls
    credential = tmp_path_factory.mktemp("signer-account") / "token"
    credential.write_text(CREDENTIAL)
    with support.keyless_endpoint(
        key_files.private_pkcs8,
        standins.issuer.url,
        _policy(platforms, Path(platforms.ca_file), reviewer, credential),
        ca_file=tls.ca_file,
        certfile=tls.certfile,
        keyfile=tls.keyfile,
    ) as (signer, url, folder):
        yield Site(url, folder, standins.aws.url, signer)


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str
    scratch: Path  # the job's TMPDIR, where `injector run` keeps its files


def _run(site: Site, recipe: Recipe, token: str, line: list[str], name: str) -> Ran:
    """One `injector run -- ...` line of `recipe` as uid nobody, its command swapped for the
    boto3 login, with the platform's `token` where the platform puts it."""
    job = support.owned_by(site.folder / name, support.NOBODY)
    scratch = support.owned_by(job / "tmp", support.NOBODY)
    env = {
        **recipe.env,
        SIGNER_URL: site.url,
        "DynamicCredentialSignerCA": str(site.folder / "ca.pem"),
    }
    if recipe.token_variable == "INJECTOR_SUBJECT_TOKEN_FILE":
        # The kubelet's projected volume, re-rooted under the job's folder.
        path = job / recipe.env[recipe.token_variable].lstrip("/")
        path.parent.mkdir(parents=True)
        path.write_text(token)
        shutil.chown(path, support.NOBODY, support.NOBODY)
        env[recipe.token_variable] = str(path)
    else:
        env[recipe.token_variable] = token
    env["TMPDIR"] = str(scratch)
    assert line[:3] == ["injector", "run", "--"], line
    names = ",".join([*env, "PATH", "LANG", "PYTHONPATH"])
    sdk = reachable.aws_sdk_path()
    command = [support.SYSTEM_PYTHON, "-c", _COMMAND, names, site.sts, sdk, str(job), AWS_LOGIN]
    result = support.job_as(support.NOBODY, ["run", "--", *command], env)
    return Ran(result.returncode, result.stdout, result.stderr, scratch)


@dataclass(frozen=True)
class Case:
    recipe: Recipe
    role: str  # the role the recipe names
    sub: str  # the identity the policy derives from the platform's token
    job_id: str
    token: str  # the platform's token for this job
    refused: str  # a token of a job the policy does not allow
    reason: str  # what the signer says of it


def _case(name: str, platforms: Platforms, reviewer: TokenReviewer) -> Case:
    if name == "gitlab":
        recipe = _gitlab()
        # `id_tokens:` gives the job a token with the recipe's `aud`.
        (audience,) = {
            token["aud"]
            for token in yaml.safe_load((RUNNERS / "gitlab-ci.yml").read_text())["plan"][
                "id_tokens"
            ].values()
        }
        gitlab = platforms.gitlab
        return Case(
            recipe,
            recipe.env["WORKLOAD_IDENTITY_ROLE_AWS"],
            GITLAB_SUB,
            "77",
            gitlab.gitlab(audience),
            gitlab.gitlab(
                audience,
                sub="project_path:other/infra:ref_type:branch:ref:main",
                namespace_path="other",
                namespace_id="12",
                project_path="other/infra",
            ),
            "may not mint sub 'organization:other:workspace:infra' for aud "
            "'aws.workload.identity': no [[allow]] entry",
        )
    if name == "jenkins":
        recipe = _jenkins()
        # The credential's audience: the signer's URL, as the Jenkinsfile asks.
        audience = recipe.env[SIGNER_URL]
        jenkins = platforms.jenkins
        return Case(
            recipe,
            recipe.env["WORKLOAD_IDENTITY_ROLE_AWS"],
            JENKINS_SUB,
            "57",
            jenkins.jenkins(audience, JENKINS_JOB, 57),
            jenkins.jenkins("https://vault.example.com", JENKINS_JOB, 58),
            f"the subject token's aud is not {audience!r}",
        )
    recipe = _pod()
    pod = yaml.safe_load((SIGNER / "job-pod.yaml").read_text())
    (source,) = pod["spec"]["volumes"][0]["projected"]["sources"]
    audience = source["serviceAccountToken"]["audience"]
    namespace, account = pod["metadata"]["namespace"], pod["spec"]["serviceAccountName"]
    kubernetes = platforms.kubernetes
    # Both pods live: the cluster vouches for their tokens, the policy decides.
    token = kubernetes.kubernetes(audience, f"{namespace}/{account}")
    refused = kubernetes.kubernetes(audience, f"default/{account}")
    reviewer.issue(token)
    reviewer.issue(refused)
    return Case(
        recipe,
        recipe.env["WORKLOAD_IDENTITY_ROLE_AWS"],
        POD_SUB,
        "pod-uid-9",
        token,
        refused,
        "may not mint sub 'organization:default:workspace:network' for aud "
        "'aws.workload.identity': no [[allow]] entry",
    )


RECIPES = ("gitlab", "jenkins", "pod")


@pytest.mark.parametrize("name", RECIPES)
def test_the_recipe_logs_in_as_the_identity_the_policy_derives(
    name: str, site: Site, platforms: Platforms, reviewer: TokenReviewer
) -> None:
    case = _case(name, platforms, reviewer)
    assert case.recipe.runs, name
    reviews = len(reviewer.reviews)
    for number, line in enumerate(case.recipe.runs):
        ran = _run(site, case.recipe, case.token, line, f"{name}-{number}")
        assert ran.returncode == 0, ran.stderr
        seen: dict[str, Any] = json.loads(ran.stdout)
        assert seen["role"] == case.role
        assert seen["token_file"].startswith(str(ran.scratch) + "/")
        claims = seen["claims"]
        assert claims["sub"] == case.sub
        assert claims["aud"] == "aws.workload.identity"
        assert claims["terrakube_job_id"] == case.job_id
        login = seen["login"]
        assert isinstance(login, dict) and login["ok"] is True, login
        assert login["method"] == "assume-role-with-web-identity"
        role_name = case.role.rsplit("/", 1)[1]
        assert login["arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/")
        # The files went with the command; the platform's token was never shown, nor handed to
        # the command (the workspace's code), which has no use for it.
        assert list(ran.scratch.iterdir()) == []
        assert case.token not in ran.stderr + ran.stdout
        assert "INJECTOR_ID_TOKEN" not in seen["environment"]
    # The cluster was asked about the pod's token (at each exchange), and only about it.
    asked = reviewer.reviews[reviews:]
    assert bool(asked) == (name == "pod")
    assert all(audiences == [case.recipe.env[SIGNER_URL]] for audiences in asked)


@pytest.mark.parametrize("name", RECIPES)
def test_a_job_the_policy_does_not_allow_is_refused_and_nothing_runs(
    name: str, site: Site, platforms: Platforms, reviewer: TokenReviewer
) -> None:
    case = _case(name, platforms, reviewer)
    ran = _run(site, case.recipe, case.refused, case.recipe.runs[0], f"{name}-refused")
    assert ran.returncode == 2, ran.stderr
    assert ran.stderr.startswith(
        f"injector: error: {SIGNER_URL}: the signer at {site.url}/token refused: "
    ), ran.stderr
    assert case.reason in ran.stderr
    assert ran.stdout == ""  # the command never started
    assert list(ran.scratch.iterdir()) == []
    assert case.refused not in ran.stderr


@dataclass(frozen=True)
class Workflow:
    """What examples/runners/github-actions.yml says: its file, name, events, and per job the
    action's `with:`, the `run:` step after it, its `environment:` and `if:`."""

    path: str
    name: str
    event: str
    jobs: dict[str, dict[str, Any]]

    def inputs(self, job: str) -> dict[str, str]:
        (step,) = [s for s in self.jobs[job]["steps"] if "platform/injector@" in s.get("uses", "")]
        return {name: str(value) for name, value in step["with"].items()}

    def command(self, job: str) -> str:
        steps = self.jobs[job]["steps"]
        after = next(i for i, s in enumerate(steps) if "platform/injector@" in s.get("uses", ""))
        (command,) = [s["run"] for s in steps[after + 1 :] if "run" in s]
        return str(command)


def _workflow() -> Workflow:
    text = (RUNNERS / "github-actions.yml").read_text()
    path = re.match(r"# (\.github/workflows/[\w.-]+\.yml):", text)
    assert path is not None
    document = yaml.safe_load(text)
    (event,) = document[True]  # YAML 1.1 reads the key `on` as true
    return Workflow(path.group(1), document["name"], event, document["jobs"])


@pytest.fixture(scope="module")
def runner(standins: StandIns, platforms: Platforms) -> Iterator[GitHubRunner]:
    github = GitHubRunner(platforms.github, standins.tls.server_context())
    try:
        yield github
    finally:
        github.stop()


@dataclass(frozen=True)
class JobRun:
    action: subprocess.CompletedProcess[str]  # the action's steps
    github_env: str  # what they left in $GITHUB_ENV
    runner_temp: Path
    seen: dict[str, Any] | None  # what the `run:` step after them saw (None: not reached)


def _github_job(site: Site, runner: GitHubRunner, job: WorkflowJob, folder: str) -> JobRun:
    """One job of the workflow on a runner, as uid nobody: the action's steps with the job's
    `with:`, then its `run:` step with what they appended to $GITHUB_ENV, the command swapped
    for the boto3 login. The runner's image has injector on its PATH (the action installs it
    otherwise); the test CA stands in for the public ones, for the runner's endpoint and the
    signer alike. The signer's address is the local one; the token's audience stays the one
    the recipe's signer-url gives (the example policy's)."""
    workflow = _workflow()
    given = workflow.inputs(job.job)
    home = support.owned_by(site.folder / folder, support.NOBODY)
    runner_temp = support.owned_by(home / "_temp", support.NOBODY)
    tools = support.owned_by(home / "bin", support.NOBODY, 0o755)
    injector = tools / "injector"
    python = f"PYTHONPATH={reachable.python_path()} exec {support.SYSTEM_PYTHON}"
    injector.write_text(f'#!/bin/sh\n{python} -m injector "$@"\n')
    injector.chmod(0o755)
    github_env = runner_temp / "set_env"
    github_env.touch()
    shutil.chown(github_env, support.NOBODY, support.NOBODY)
    base = {
        "PATH": f"{tools}:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": job.repository,
        "GITHUB_REF": job.ref,
        "GITHUB_RUN_ID": job.run_id,
        "GITHUB_JOB": job.job,
        "GITHUB_WORKFLOW": job.workflow,
        "GITHUB_EVENT_NAME": job.event,
        "GITHUB_ENV": str(github_env),
        "RUNNER_TEMP": str(runner_temp),
        "SSL_CERT_FILE": str(site.folder / "ca.pem"),
        **runner.variables(job),
    }
    inputs = actions.inputs(
        {**given, "signer-url": site.url, "signer-audience": given["signer-url"]}
    )
    nobody = partial(support.as_user, support.NOBODY)
    action = actions.run(inputs, base, cwd=home, preexec_fn=nobody)
    written = github_env.read_text()
    if action.returncode != 0:
        return JobRun(action, written, runner_temp, None)
    assert workflow.command(job.job).startswith("terraform init "), workflow.command(job.job)
    names, sdk = ",".join(base), reachable.aws_sdk_path()
    step = subprocess.run(
        [support.SYSTEM_PYTHON, "-c", _COMMAND, names, site.sts, sdk, str(home), AWS_LOGIN],
        env={**base, **actions.github_env(written)},
        cwd=home,
        preexec_fn=nobody,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert step.returncode == 0, step.stderr
    return JobRun(action, written, runner_temp, json.loads(step.stdout))


def _workflow_job(name: str, **changes: str) -> WorkflowJob:
    """The workflow's job `name` as GitHub runs it for a push to the main branch of acme/infra."""
    workflow = _workflow()
    environment = workflow.jobs[name].get("environment")
    return WorkflowJob(
        name, workflow.name, workflow.path, workflow.event, environment=environment, **changes
    )


@pytest.mark.parametrize(
    ("name", "ref"),
    [("plan", "refs/heads/feature-x"), ("plan", "refs/heads/main"), ("apply", "refs/heads/main")],
)
def test_the_github_workflow_logs_in_as_plan_or_apply_as_the_policy_derives(
    name: str, ref: str, site: Site, runner: GitHubRunner
) -> None:
    workflow = _workflow()
    if workflow.jobs[name].get("if") is not None:
        # The job's own condition: apply runs on the main branch only.
        assert workflow.jobs[name]["if"] == "github.ref == 'refs/heads/main'"
        assert ref == "refs/heads/main"
    job = _workflow_job(name, ref=ref)
    ran = _github_job(site, runner, job, f"github-{name}-{ref.rsplit('/', 1)[1]}")
    assert ran.action.returncode == 0, ran.action.stderr
    assert ran.seen is not None
    phase = "apply" if workflow.jobs[name].get("environment") == "production" else "plan"
    variables = dict(
        line.split("=", 1) for line in workflow.inputs(name)["variables"].splitlines() if line
    )
    role = variables[f"WORKLOAD_IDENTITY_ROLE_AWS_{phase.upper()}"]
    assert ran.seen["role"] == role
    claims = ran.seen["claims"]
    assert claims["sub"] == GITHUB_SUB.format(phase)
    assert claims["terrakube_run_phase"] == phase
    assert claims["aud"] == "aws.workload.identity"
    assert claims["terrakube_job_id"] == job.run_id
    login = ran.seen["login"]
    assert isinstance(login, dict) and login["ok"] is True, login
    assert login["arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/{role.rsplit('/', 1)[1]}/")
    # The token files stay under the job's RUNNER_TEMP (the runner removes it at the job's
    # end); $GITHUB_ENV holds paths, never a token, and no platform token was shown.
    assert Path(ran.seen["token_file"]).is_relative_to(ran.runner_temp)
    assert "eyJ" not in ran.github_env
    assert (job.job, workflow.inputs(name)["signer-url"]) in runner.asked
    shown = ran.action.stdout + ran.action.stderr
    assert not any(token in shown for token in runner.handed)


@pytest.mark.parametrize(
    ("name", "changes", "sub"),
    [
        # The workflow edited on a branch to drop the apply job's `if:`: the environment is
        # the workflow's to name, the branch is GitHub's.
        ("apply", {"ref": "refs/heads/feature-x"}, GITHUB_SUB.format("apply")),
        # The owner's name taken by someone else once `acme` was renamed: another owner id.
        ("plan", {"owner_id": "6666"}, GITHUB_SUB.format("plan")),
    ],
    ids=["apply-off-main", "other-owner"],
)
def test_a_github_job_the_policy_does_not_allow_is_refused_and_exports_nothing(
    name: str, changes: dict[str, str], sub: str, site: Site, runner: GitHubRunner
) -> None:
    job = _workflow_job(name, **changes)
    ran = _github_job(site, runner, job, f"github-refused-{name}")
    assert ran.action.returncode == 2, ran.action.stderr
    assert ran.action.stderr.startswith(
        f"injector: error: {SIGNER_URL}: the signer at {site.url}/token refused: "
    ), ran.action.stderr
    assert (
        f"may not mint sub {sub!r} for aud 'aws.workload.identity': no [[allow]] entry"
        in ran.action.stderr
    )
    assert ran.seen is None  # the next steps get nothing
    assert ran.github_env == ""
    assert not (ran.runner_temp / "injector-credentials").exists()
    assert list(ran.runner_temp.glob("injector-exports.*")) == []  # the action's scratch file
    assert not any(token in ran.action.stderr for token in runner.handed)
