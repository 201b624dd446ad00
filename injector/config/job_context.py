"""The job context: which organization, workspace and job a token is for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from injector.config import values
from injector.errors import ConfigError, Problems

# Variable names the Terrakube executor already gives its scripts, with the CLI option that
# overrides each one.
ORGANIZATION_NAME = "organizationName"
WORKSPACE_NAME = "workspaceName"
ORGANIZATION_ID = "organizationId"
WORKSPACE_ID = "workspaceId"
JOB_ID = "jobId"
# Optional: Terrakube's executor does not give it to scripts (it knows the workspace's project
# only in the API), so a template passes it on when a cloud wants it (AWS session tags).
PROJECT_NAME = "projectName"

OPTIONS = {
    ORGANIZATION_NAME: "--organization",
    WORKSPACE_NAME: "--workspace",
    ORGANIZATION_ID: "--organization-id",
    WORKSPACE_ID: "--workspace-id",
    JOB_ID: "--job-id",
    PROJECT_NAME: "--project",
}

_NAME_FORM = "a name without control, invisible or look-alike characters"
_ID_FORM = "an identifier without control, invisible or look-alike characters"
# Every field goes into `sub` or a claim: the one rule for claim values (values.claim).
MAX_LENGTH = values.CLAIM_MAX_LENGTH


@dataclass(frozen=True)
class JobContext:
    organization: str
    workspace: str
    organization_id: str
    workspace_id: str
    job_id: str
    project: str | None = None


def _field(env: Mapping[str, str], name: str, form: str) -> str:
    value = env.get(name)
    if not value:
        # Imported here: ci names this module's variables, and only a missing value needs it.
        from injector.config import ci

        hint = ci.source(env, name)
        where = f"; {hint}" if hint else ""
        # No form here: a value that is missing is not in a wrong form.
        raise ConfigError.of(name, f"is required (or pass {OPTIONS[name]}{where})")
    return values.claim(name, value, form)


def _optional_field(env: Mapping[str, str], name: str, form: str) -> str | None:
    value = values.optional(env, name)
    return None if value is None else values.claim(name, value, form)


def from_env(env: Mapping[str, str]) -> JobContext:
    """Read the job context; every field but the project is required.

    Which characters a value may not hold depends on where `sub` puts it: the subject template
    (config.subject) checks that when it renders (with Terrakube's default, no `:` in names).
    """
    problems = Problems()
    job = JobContext(
        organization=problems.get("", _field, env, ORGANIZATION_NAME, _NAME_FORM),
        workspace=problems.get("", _field, env, WORKSPACE_NAME, _NAME_FORM),
        organization_id=problems.get("", _field, env, ORGANIZATION_ID, _ID_FORM),
        workspace_id=problems.get("", _field, env, WORKSPACE_ID, _ID_FORM),
        job_id=problems.get("", _field, env, JOB_ID, _ID_FORM),
        project=problems.get(None, _optional_field, env, PROJECT_NAME, _NAME_FORM),
    )
    problems.raise_if_any()
    return job
