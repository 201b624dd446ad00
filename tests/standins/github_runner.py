"""GitHub Actions as a workflow job sees it: the runner's ID-token request endpoint
(ACTIONS_ID_TOKEN_REQUEST_URL with the job's ACTIONS_ID_TOKEN_REQUEST_TOKEN as bearer) over
HTTPS of the test CA, answering `{"count": ..., "value": "<JWT>"}` for the `audience` asked, and
the token's claims in the shapes GitHub documents (every value a string; `sub` names the
environment when the job has one, else the ref; `environment` only then).

Each job registers its own request token, so a job gets its own identity and no other's.
"""

from __future__ import annotations

import secrets
import ssl
import time
import uuid
from dataclasses import dataclass
from typing import Any

from tests.standins.platforms import PlatformIssuer
from tests.standins.server import Request, Response, StandInServer

REQUEST_PATH = "/_apis/distributedtask/hubs/Actions/plans/plan-1/jobs/job-1/idtoken"


@dataclass(frozen=True)
class WorkflowJob:
    """One job of one workflow run: what GitHub puts in its token."""

    job: str  # the job's id in the workflow (`plan`, `apply`)
    workflow: str  # the workflow's `name:`
    path: str  # the workflow file, .github/workflows/<name>.yml
    event: str  # what started the run (`push`)
    ref: str = "refs/heads/main"
    environment: str | None = None  # the job's `environment:`
    repository: str = "acme/infra"
    owner_id: str = "1001"
    repository_id: str = "2002"
    run_id: str = "4242"
    sha: str = "9f3c2d7e8a1b4c5d6e7f8091a2b3c4d5e6f70812"

    def claims(self, issuer: str, audience: str) -> dict[str, Any]:
        owner = self.repository.split("/")[0]
        sub = f"repo:{self.repository}:" + (
            f"environment:{self.environment}" if self.environment else f"ref:{self.ref}"
        )
        workflow_ref = f"{self.repository}/{self.path}@{self.ref}"
        claims: dict[str, Any] = {
            "jti": str(uuid.uuid4()),
            "sub": sub,
            "aud": audience,
            "ref": self.ref,
            "sha": self.sha,
            "repository": self.repository,
            "repository_owner": owner,
            "repository_owner_id": self.owner_id,
            "repository_visibility": "private",
            "repository_id": self.repository_id,
            "actor": "octocat",
            "actor_id": "583231",
            "run_id": self.run_id,
            "run_number": "17",
            "run_attempt": "1",
            "runner_environment": "github-hosted",
            "workflow": self.workflow,
            "workflow_ref": workflow_ref,
            "workflow_sha": self.sha,
            "job_workflow_ref": workflow_ref,
            "job_workflow_sha": self.sha,
            "head_ref": "",
            "base_ref": "",
            "event_name": self.event,
            "ref_type": "branch",
            "ref_protected": "true" if self.ref == "refs/heads/main" else "false",
            "iss": issuer,
        }
        if self.environment:
            claims["environment"] = self.environment
        return claims


class GitHubRunner:
    """The request endpoint of the runner; tokens signed by `github` (the issuer stand-in)."""

    def __init__(self, github: PlatformIssuer, tls: ssl.SSLContext) -> None:
        self.github = github
        self._jobs: dict[str, WorkflowJob] = {}
        self.asked: list[tuple[str, str]] = []  # (job, audience) per token handed out
        self.handed: list[str] = []  # the tokens, for tests that they are never shown
        self.server = StandInServer(self._answer, tls)
        self.server.start()

    def variables(self, job: WorkflowJob) -> dict[str, str]:
        """What the runner gives a job with `permissions: id-token: write`."""
        bearer = secrets.token_urlsafe(24)
        self._jobs[bearer] = job
        return {
            "ACTIONS_ID_TOKEN_REQUEST_URL": f"{self.server.url}{REQUEST_PATH}?api-version=2.0",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": bearer,
        }

    def _answer(self, request: Request) -> Response:
        job = self._jobs.get(request.bearer() or "")
        if request.path != REQUEST_PATH or job is None:
            return Response.json(401, {"message": "the request token is not a job's"})
        owner = job.repository.split("/")[0]
        audience = request.query.get("audience") or f"https://github.com/{owner}"
        self.asked.append((job.job, audience))
        # GitHub's shape: valid from ten minutes before its issue, for five minutes after.
        now = int(time.time())
        times = {"nbf": now - 600, "iat": now, "exp": now + 300}
        token = self.github.sign({**job.claims(self.github.url, audience), **times})
        self.handed.append(token)
        return Response.json(200, {"count": len(token), "value": token})

    def stop(self) -> None:
        self.server.stop()
