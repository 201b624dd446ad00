"""A keyless job: `DynamicCredentialSigner=https://...` (or `unix:PATH` with a platform token),
no key, no organization or workspace variables. The real `injector env` runs as uid nobody
with Debian's stdlib-only Python, presents its platform's token (a file, or GitHub's request
endpoint simulated over TLS) to a real signer's HTTPS endpoint or socket, and writes tokens
for the job the platform attests, or exits 2 having written nothing."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import jwt
import pytest

from injector.job.example import EXAMPLE_ENV
from tests.standins.platforms import AUDIENCE, Platforms, github_table
from tests.standins.server import Request, Response, StandInServer
from tests.support import actions
from tests.support import signer as support
from tests.support.jobs import switched_off

if TYPE_CHECKING:
    from tests.standins.fixtures import TestTls

pytest_plugins = ["tests.standins.fixtures", "tests.standins.platform_fixtures"]

NOBODY = support.NOBODY
PHASED = "organization:{organization}:workspace:{workspace}:run_phase:{phase}"
CONTEXT = ("organizationName", "workspaceName", "organizationId", "workspaceId", "jobId")


@dataclass(frozen=True)
class Keyless:
    url: str
    folder: Path  # every uid may enter; the job's own folder is `folder / "job"`
    ca_file: Path  # a copy nobody can read
    socket: Path  # the same signer's socket, mode 0666

    def env(self, **changes: str) -> dict[str, str]:
        """The example workspace with its clouds (no Vault), keyless, no job context."""
        env = {
            name: value
            for name, value in EXAMPLE_ENV.items()
            if not name.startswith("DynamicCredential") and name not in CONTEXT
        }
        env["ENABLE_DYNAMIC_CREDENTIALS_VAULT"] = "false"
        # Vault-backed AWS logs in through Vault too (httpx): not in a stdlib-only job.
        env.update(switched_off("vault_backed_aws"))
        return {
            **env,
            "DynamicCredentialSigner": self.url,
            "DynamicCredentialSignerCA": str(self.ca_file),
            **changes,
        }

    def token_file(self, token: str) -> Path:
        path = self.folder / "job" / "platform.jwt"
        path.write_text(token)
        shutil.chown(path, NOBODY, NOBODY)
        return path


@pytest.fixture
def keyless(platforms: Platforms, test_tls: TestTls) -> Iterator[Keyless]:
    folder = support.shared_folder()
    key = support.make_key(folder)
    support.owned_by(folder / "job", NOBODY)
    ca_file = folder / "ca.pem"
    shutil.copy(test_tls.ca_file, ca_file)
    ca_file.chmod(0o644)
    (folder / "policy.toml").write_text(
        github_table(platforms.github.url, platforms.ca_file, 'phases = { apply = ["production"] }')
        + """[[allow]]
attestation = "github"
subjects = ["organization:acme:workspace:infra:run_phase:*"]
"""
    )
    signer, url = support.start_https_signer(
        support.signer_env(key, DynamicCredentialSubjectTemplate=PHASED),
        folder,
        test_tls.certfile,
        test_tls.keyfile,
        "--socket-mode",
        "0666",
    )
    try:
        yield Keyless(url, folder, ca_file, signer.socket)
    finally:
        signer.stop()
        support.remove(folder)


def _claims(folder: Path, name: str) -> dict[str, object]:
    return jwt.decode((folder / f"{name}.jwt").read_text(), options={"verify_signature": False})


# Over the socket the job also names the only uid it accepts as the signer (root here).
SOCKET = {"DynamicCredentialSignerUser": "0"}


@pytest.mark.parametrize("over", ["https", "socket"])
def test_a_keyless_job_gets_the_attested_workspace_from_a_token_file(
    keyless: Keyless, platforms: Platforms, over: str
) -> None:
    token_file = keyless.token_file(platforms.github.github(AUDIENCE))
    out = keyless.folder / "job" / "creds"
    transport = {**SOCKET, "DynamicCredentialSigner": f"unix:{keyless.socket}"}
    job = support.job_as(
        NOBODY,
        ["env", "--dir", str(out)],
        keyless.env(
            INJECTOR_SUBJECT_TOKEN_FILE=str(token_file), **(transport if over == "socket" else {})
        ),
    )
    assert job.returncode == 0, job.stderr
    aws, gcp = _claims(out, "aws"), _claims(out, "gcp")
    assert aws["sub"] == gcp["sub"] == "organization:acme:workspace:infra:run_phase:apply"
    assert aws["terrakube_run_phase"] == "apply"
    assert aws["aud"] == "aws.workload.identity"
    assert aws["terrakube_job_id"] == "4242"
    assert "AWS_WEB_IDENTITY_TOKEN_FILE=" in job.stdout
    assert platforms.github.github(AUDIENCE)[:20] not in job.stdout + job.stderr


@pytest.mark.parametrize(
    ("changes", "args", "expected"),
    [
        (
            {"workspaceName": "payments"},
            [],
            "workspaceName: is 'payments', but the platform attests 'infra'",
        ),
        (
            {"environment": "staging"},
            ["--phase", "apply"],
            "--phase: is apply, but the platform attests plan",
        ),
        ({"repository": "acme/other"}, [], "may not mint sub 'organization:acme:workspace:other"),
    ],
    ids=["variable", "phase", "other-repository"],
)
@pytest.mark.parametrize("over", ["https", "socket"])
def test_a_keyless_job_refused_writes_nothing(
    keyless: Keyless,
    platforms: Platforms,
    changes: dict[str, str],
    args: list[str],
    expected: str,
    over: str,
) -> None:
    variables = {k: v for k, v in changes.items() if k in CONTEXT}
    claims = {k: v for k, v in changes.items() if k not in CONTEXT}
    token_file = keyless.token_file(platforms.github.github(AUDIENCE, **claims))
    if over == "socket":
        variables["DynamicCredentialSigner"] = f"unix:{keyless.socket}"
    out = keyless.folder / "job" / "creds"
    job = support.job_as(
        NOBODY,
        ["env", "--dir", str(out), *args],
        keyless.env(INJECTOR_SUBJECT_TOKEN_FILE=str(token_file), **variables),
    )
    assert job.returncode == 2, job.stderr
    assert expected in job.stderr
    assert "Traceback" not in job.stderr
    assert not out.exists()


PLAN_ROLE = "arn:aws:iam::123456789012:role/terraform-plan"
APPLY_ROLE = "arn:aws:iam::123456789012:role/terraform-apply"


@pytest.mark.parametrize(
    ("environment", "role"), [("production", APPLY_ROLE), ("staging", PLAN_ROLE)]
)
@pytest.mark.parametrize("over", ["https", "socket"])
def test_the_attested_phase_picks_the_phases_own_identity(
    keyless: Keyless, platforms: Platforms, environment: str, role: str, over: str
) -> None:
    """Without --phase, the phase the platform attests picks `<VARIABLE>_PLAN`/`_APPLY`, as
    --phase would (GitHub's keyless workflow sets only those)."""
    token_file = keyless.token_file(platforms.github.github(AUDIENCE, environment=environment))
    env = keyless.env(
        INJECTOR_SUBJECT_TOKEN_FILE=str(token_file),
        WORKLOAD_IDENTITY_ROLE_AWS_PLAN=PLAN_ROLE,
        WORKLOAD_IDENTITY_ROLE_AWS_APPLY=APPLY_ROLE,
        **(
            {**SOCKET, "DynamicCredentialSigner": f"unix:{keyless.socket}"}
            if over == "socket"
            else {}
        ),
    )
    del env["WORKLOAD_IDENTITY_ROLE_AWS"]
    out = keyless.folder / "job" / "creds"
    job = support.job_as(NOBODY, ["env", "--dir", str(out)], env)
    assert job.returncode == 0, job.stderr
    assert f"AWS_ROLE_ARN={role}" in job.stdout.replace("'", "")
    assert _claims(out, "aws")["terrakube_run_phase"] == ("apply" if role == APPLY_ROLE else "plan")


def test_an_attested_phase_without_its_own_identity_is_named(
    keyless: Keyless, platforms: Platforms
) -> None:
    token_file = keyless.token_file(platforms.github.github(AUDIENCE))  # production: apply
    env = keyless.env(
        INJECTOR_SUBJECT_TOKEN_FILE=str(token_file), WORKLOAD_IDENTITY_ROLE_AWS_PLAN=PLAN_ROLE
    )
    del env["WORKLOAD_IDENTITY_ROLE_AWS"]
    out = keyless.folder / "job" / "creds"
    job = support.job_as(NOBODY, ["env", "--dir", str(out)], env)
    assert job.returncode == 2, job.stderr
    assert "WORKLOAD_IDENTITY_ROLE_AWS_APPLY: is required" in job.stderr
    assert "Traceback" not in job.stderr
    assert not out.exists()


@dataclass
class Runner:
    """A stand-in of the Actions runner's ID token endpoint: each audience asked is kept."""

    url: str
    asked: list[str]

    def variables(self) -> dict[str, str]:
        return {
            "ACTIONS_ID_TOKEN_REQUEST_URL": f"{self.url}/token?api-version=2.0",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runner-request-token",
        }


@pytest.fixture
def runner(platforms: Platforms, test_tls: TestTls) -> Iterator[Runner]:
    asked: list[str] = []

    def answer(request: Request) -> Response:
        if request.bearer() != "runner-request-token":
            return Response.json(401, {"message": "bad bearer"})
        asked.append(request.query.get("audience", ""))
        return Response.json(200, {"value": platforms.github.github(request.query["audience"])})

    endpoint = StandInServer(answer, test_tls.server_context())
    endpoint.start()
    try:
        yield Runner(endpoint.url, asked)
    finally:
        endpoint.stop()


def test_a_keyless_job_in_github_actions_asks_the_runner_for_its_token(
    keyless: Keyless, runner: Runner
) -> None:
    out = keyless.folder / "job" / "creds"
    job = support.job_as(
        NOBODY,
        ["env", "--dir", str(out), "--format", "github"],
        keyless.env(
            **runner.variables(),
            DynamicCredentialSignerAudience=AUDIENCE,
            SSL_CERT_FILE=str(keyless.ca_file),
        ),
    )
    assert job.returncode == 0, job.stderr
    assert runner.asked and set(runner.asked) == {AUDIENCE}
    assert _claims(out, "azure")["terrakube_workspace_name"] == "infra"
    assert "AWS_WEB_IDENTITY_TOKEN_FILE=" in job.stdout


def test_without_a_platform_token_the_job_is_told_what_to_set(keyless: Keyless) -> None:
    job = support.job_as(NOBODY, ["env", "--dir", "/tmp/never"], keyless.env())
    assert job.returncode == 2
    assert "INJECTOR_SUBJECT_TOKEN_FILE" in job.stderr and "id-token: write" in job.stderr
    assert not Path("/tmp/never").exists()


def test_the_composite_action_writes_the_exports_to_github_env(
    keyless: Keyless, runner: Runner, tmp_path: Path
) -> None:
    inputs = actions.inputs(
        {
            "signer-url": keyless.url,
            "signer-ca": str(keyless.ca_file),
            "signer-audience": AUDIENCE,
            "variables": "ENABLE_DYNAMIC_CREDENTIALS_AWS=true\n"
            "WORKLOAD_IDENTITY_ROLE_AWS=arn:aws:iam::123456789012:role/terraform\n",
        }
    )
    github_env, runner_temp = tmp_path / "github_env", tmp_path / "runner_temp"
    github_env.write_text("EARLIER=kept\n")
    runner_temp.mkdir()
    base = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "LANG": "C.UTF-8",
        "GITHUB_ENV": str(github_env),
        "RUNNER_TEMP": str(runner_temp),
        "SSL_CERT_FILE": str(keyless.ca_file),
        **runner.variables(),
    }
    done = actions.run(inputs, base)
    assert done.returncode == 0, done.stderr
    written = github_env.read_text()
    assert written.startswith("EARLIER=kept\n")
    exported = actions.github_env(written)
    token_file = Path(exported["AWS_WEB_IDENTITY_TOKEN_FILE"])
    assert token_file.parent.parent == runner_temp
    claims = jwt.decode(token_file.read_text(), options={"verify_signature": False})
    assert claims["sub"] == "organization:acme:workspace:infra:run_phase:apply"
    assert exported["AWS_ROLE_ARN"] == "arn:aws:iam::123456789012:role/terraform"
    assert set(runner.asked) == {AUDIENCE}
    assert "eyJ" not in written  # paths only, never a token


def test_run_refreshes_a_keyless_job_through_the_endpoint(
    keyless: Keyless, platforms: Platforms
) -> None:
    token_file = keyless.token_file(platforms.github.github(AUDIENCE))
    script = (
        'first=$(cat "$AWS_WEB_IDENTITY_TOKEN_FILE"); sleep 4; '
        'second=$(cat "$AWS_WEB_IDENTITY_TOKEN_FILE"); '
        '[ "$first" != "$second" ] && echo refreshed'
    )
    job = support.job_as(
        NOBODY,
        ["run", "--refresh-interval", "1", "--", "sh", "-c", script],
        keyless.env(INJECTOR_SUBJECT_TOKEN_FILE=str(token_file)),
        cwd=keyless.folder / "job",
    )
    assert job.returncode == 0, job.stderr
    assert job.stdout.strip() == "refreshed"


def test_a_socket_job_in_github_actions_needs_the_signer_audience(
    keyless: Keyless, runner: Runner
) -> None:
    """Over a socket there is no URL to default GitHub's audience to: the job asks for it."""
    base = keyless.env(DynamicCredentialSigner=f"unix:{keyless.socket}", **runner.variables())
    out = keyless.folder / "job" / "creds"
    job = support.job_as(
        NOBODY,
        ["env", "--dir", str(out)],
        {
            **base,
            "DynamicCredentialSignerAudience": AUDIENCE,
            "SSL_CERT_FILE": str(keyless.ca_file),
        },
    )
    assert job.returncode == 0, job.stderr
    assert set(runner.asked) == {AUDIENCE}
    assert _claims(out, "aws")["terrakube_workspace_name"] == "infra"
