"""The example workspace `make run` and `injector --example` show: every cloud enabled.

Values follow the Terrakube documentation's walk-through (organization `simple`, workspace
`simple-cli`); each cloud module gives its own example values (placeholder accounts, tenants
and projects).
"""

from __future__ import annotations

from injector import clouds
from injector.config import issuer_settings, job_context

JOB_EXAMPLE: dict[str, str] = {
    job_context.ORGANIZATION_NAME: "simple",
    job_context.WORKSPACE_NAME: "simple-cli",
    job_context.ORGANIZATION_ID: "8abe206b-29a8-4ed8-8a3b-30237e295659",
    job_context.WORKSPACE_ID: "d9b58bd3-f3fc-4056-a026-1163297e80a8",
    job_context.JOB_ID: "1",
    issuer_settings.HOSTNAME: "terrakube-api.example.com",
}


def example_env() -> dict[str, str]:
    """The job context, the issuer host, and every registered cloud's example values."""
    env = dict(JOB_EXAMPLE)
    for cloud in clouds.registered():
        env.update(cloud.example)
    return env


EXAMPLE_ENV: dict[str, str] = example_env()
