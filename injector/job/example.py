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


# The tag of a cloud's example when another cloud's would cross it (clouds.crossed).
EXAMPLE_TAG = "EXAMPLE"


def example_env() -> dict[str, str]:
    """The job context, the issuer host, and every registered cloud's example values; a cloud
    whose SDKs would take another's untagged identity first (`Rivals.yields_to`) under a tag,
    as a workspace running both must have it."""
    env = dict(JOB_EXAMPLE)
    registered = clouds.registered()
    names = {cloud.name for cloud in registered}
    for cloud in registered:
        example = cloud.example
        if names & set(cloud.rivals.yields_to):
            taking = cloud.taking_tags()
            example = {
                f"{name}_{EXAMPLE_TAG}" if name in taking else name: value
                for name, value in example.items()
            }
        env.update(example)
    return env


EXAMPLE_ENV: dict[str, str] = example_env()
