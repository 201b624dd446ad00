"""The job context: five required fields, names safe to put in `sub`."""

from __future__ import annotations

import pytest

from injector.config import job_context
from injector.errors import ConfigError

GOOD = {
    "organizationName": "simple",
    "workspaceName": "simple-cli",
    "organizationId": "8abe206b-29a8-4ed8-8a3b-30237e295659",
    "workspaceId": "d9b58bd3-f3fc-4056-a026-1163297e80a8",
    "jobId": "1",
}
FIELDS = tuple(GOOD)


def test_reads_all_fields() -> None:
    context = job_context.from_env(GOOD)
    assert context == job_context.JobContext(
        organization="simple",
        workspace="simple-cli",
        organization_id="8abe206b-29a8-4ed8-8a3b-30237e295659",
        workspace_id="d9b58bd3-f3fc-4056-a026-1163297e80a8",
        job_id="1",
    )


def test_unicode_and_inner_blanks_are_kept() -> None:
    context = job_context.from_env({**GOOD, "organizationName": "équipe", "workspaceName": "my ws"})
    assert (context.organization, context.workspace) == ("équipe", "my ws")


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize("missing", ["unset", "empty"])
def test_each_field_is_required(name: str, missing: str) -> None:
    env = dict(GOOD)
    if missing == "unset":
        del env[name]
    else:
        env[name] = ""
    with pytest.raises(ConfigError) as error:
        job_context.from_env(env)
    assert [p.variable for p in error.value.problems] == [name]
    message = error.value.problems[0].message
    assert "required" in message
    assert job_context.OPTIONS[name] in message


def test_a_colon_is_the_subject_templates_to_refuse() -> None:
    # Which separators a name may not hold depends on the template (tests/config/test_subject).
    context = job_context.from_env({**GOOD, "organizationName": "a:b", "workspaceName": "c:d"})
    assert (context.organization, context.workspace) == ("a:b", "c:d")


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize("raw", ["a\nb", "a\x00b", "a\tb", "a\x7fb", " a", "a "])
def test_control_characters_and_surrounding_blanks_refused(name: str, raw: str) -> None:
    with pytest.raises(ConfigError) as error:
        job_context.from_env({**GOOD, name: raw})
    assert [p.variable for p in error.value.problems] == [name]


def test_all_problems_reported_at_once() -> None:
    with pytest.raises(ConfigError) as error:
        job_context.from_env({"organizationName": "a\tb", "workspaceName": " ws", "jobId": "1"})
    assert [p.variable for p in error.value.problems] == [
        "organizationName",
        "workspaceName",
        "organizationId",
        "workspaceId",
    ]


def test_empty_environment_names_every_field() -> None:
    with pytest.raises(ConfigError) as error:
        job_context.from_env({})
    assert [p.variable for p in error.value.problems] == list(FIELDS)
    for variable in FIELDS:
        assert variable in str(error.value)


def test_project_is_optional_and_checked_when_given() -> None:
    assert job_context.from_env(GOOD).project is None
    assert job_context.from_env({**GOOD, "projectName": "payments"}).project == "payments"
    assert job_context.from_env({**GOOD, "projectName": ""}).project is None
    with pytest.raises(ConfigError) as error:
        job_context.from_env({**GOOD, "projectName": "bad\nname"})
    assert [p.variable for p in error.value.problems] == ["projectName"]


def test_a_missing_value_is_said_without_a_form_and_a_ci_suggests_the_opt_in() -> None:
    """Five missing values in a GitLab job without INJECTOR_CI: each names the CI variable the
    opt-in would take it from; none explains a form, since nothing was given."""
    with pytest.raises(ConfigError) as raised:
        job_context.from_env({"GITLAB_CI": "true"})
    messages = [str(problem) for problem in raised.value.problems]
    assert (
        "workspaceId: is required (or pass --workspace-id; GITLAB_CI is set: with "
        "INJECTOR_CI=gitlab (or --ci gitlab) it comes from CI_PROJECT_ID)"
    ) in messages
    assert len(messages) == 5
    assert not any("expected" in message for message in messages)
    with pytest.raises(ConfigError) as outside_ci:
        job_context.from_env({})
    assert "organizationName: is required (or pass --organization)" in [
        str(problem) for problem in outside_ci.value.problems
    ]
