"""AWS session tags in the AWS token, exactly as Terrakube writes them
(ENABLE_AWS_SESSION_TAGS): principal tags for the organization, workspace and project, all
transitive, so that one role can serve many workspaces through `aws:PrincipalTag`."""

from __future__ import annotations

import re

from injector.config.job_context import JobContext

# The claim STS reads session tags from, and the tag keys Terrakube writes into it:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_adding-assume-role-idp
TAGS_CLAIM = "https://aws.amazon.com/tags"
TAG_ORGANIZATION = "terrakube:org"
TAG_WORKSPACE = "terrakube:workspace"
TAG_PROJECT = "terrakube:project"
TAG_VALUE_MAX = 256
# What a session tag value may hold (letters, digits, blanks and _.:/=+-@); anything else
# becomes `_`, as Terrakube's sanitizer does.
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9 _.:/=+@-]")


def tag_value(raw: str) -> str:
    """`raw` as a session tag value: characters AWS refuses become `_`, cut to 256."""
    return _TAG_UNSAFE.sub("_", raw)[:TAG_VALUE_MAX]


def session_tags_for(job: JobContext) -> dict[str, object]:
    """Terrakube's session tags: organization, workspace and (when known) project, each a
    one-element list as STS's nested form has it, all transitive so that a role chained from
    this session keeps them."""
    principal = {
        TAG_ORGANIZATION: [tag_value(job.organization)],
        TAG_WORKSPACE: [tag_value(job.workspace)],
    }
    if job.project is not None:
        principal[TAG_PROJECT] = [tag_value(job.project)]
    return {"principal_tags": principal, "transitive_tag_keys": list(principal)}
