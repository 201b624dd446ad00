"""DynamicCredentialSubjectTemplate: parsing, rendering, and the rule that keeps sub one-to-one."""

from __future__ import annotations

import itertools

import pytest

from injector.config import job_context, subject
from injector.config.job_context import JobContext
from injector.errors import ConfigError

JOB = JobContext(
    organization="simple",
    workspace="simple-cli",
    organization_id="8abe206b",
    workspace_id="d9b58bd3",
    job_id="1",
    project="infra",
)
PHASED = "organization:{organization}:workspace:{workspace}:run_phase:{phase}"
HCP = "organization:{organization}:project:{project}:workspace:{workspace}:run_phase:{phase}"


def _variables(error: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return [problem.variable for problem in error.value.problems]


def test_the_default_is_terrakubes() -> None:
    assert subject.from_env({}).render(JOB, None) == "organization:simple:workspace:simple-cli"
    assert subject.from_env({}).render(JOB, "apply") == "organization:simple:workspace:simple-cli"


def test_every_placeholder_renders() -> None:
    template = subject.parse(
        "org/{organization}/{organization_id}/prj/{project}/ws/{workspace}/{workspace_id}/{phase}"
    )
    assert (
        template.render(JOB, "plan") == "org/simple/8abe206b/prj/infra/ws/simple-cli/d9b58bd3/plan"
    )
    assert template.separators == {"/"}


def test_hcp_terraforms_shape() -> None:
    rendered = subject.parse(HCP).render(JOB, "apply")
    assert rendered == "organization:simple:project:infra:workspace:simple-cli:run_phase:apply"


def test_the_phases_render_apart_only_with_phase() -> None:
    phased = subject.parse(PHASED)
    assert phased.render(JOB, "plan") != phased.render(JOB, "apply")
    assert phased.render(JOB, "plan").endswith(":run_phase:plan")
    plain = subject.DEFAULT_TEMPLATE
    assert plain.render(JOB, "plan") == plain.render(JOB, "apply")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            "organization:{organization}:workspace:{workspace}:{branch}",
            "unknown placeholder(s) {branch}",
        ),
        ("organization:{organization}:workspace:{Workspace}", "unknown placeholder(s) {Workspace}"),
        ("organization:{organization}:workspace:{workspace", "unmatched"),
        ("organization:{organization}:workspace:workspace}", "unmatched"),
        ("organization:{organization}:workspace:{}", "unknown placeholder(s) {}"),
        ("{organization}{workspace}", "side by side"),
        ("{organization}x{workspace}", "next to a letter or digit"),
        ("org{organization}:{workspace}", "next to a letter or digit"),
        ("{organization}:{workspace}ws", "next to a letter or digit"),
        ("workspace:{workspace}", "names no {organization} or {organization_id}"),
        ("organization:{organization}:run_phase:{phase}", "names no {workspace} or {workspace_id}"),
        (" {organization}:{workspace}", "blanks"),
        ("{organization}:{workspace}" + ":x" * 300, "characters long"),
    ],
)
def test_a_malformed_template_is_refused_naming_the_setting(text: str, said: str) -> None:
    with pytest.raises(ConfigError) as error:
        subject.from_env({subject.SETTING: text})
    assert _variables(error) == [subject.SETTING] * len(error.value.problems)
    assert said in str(error.value)


def test_an_empty_template_is_refused_and_an_empty_setting_is_unset() -> None:
    with pytest.raises(ConfigError) as error:
        subject.parse("")
    assert _variables(error) == [subject.SETTING] and "is empty" in str(error.value)
    assert subject.from_env({subject.SETTING: ""}) == subject.DEFAULT_TEMPLATE


def test_phase_without_a_phase_names_the_setting_and_the_option() -> None:
    with pytest.raises(ConfigError) as error:
        subject.parse(PHASED).render(JOB, None)
    assert _variables(error) == [subject.SETTING]
    assert "--phase" in str(error.value)


def test_project_is_required_only_when_the_template_uses_it() -> None:
    without = JobContext("simple", "simple-cli", "o", "w", "1")
    assert subject.DEFAULT_TEMPLATE.render(without, None)
    with pytest.raises(ConfigError) as error:
        subject.parse(HCP).render(without, "plan")
    assert _variables(error) == [job_context.PROJECT_NAME]


@pytest.mark.parametrize(
    ("text", "field", "value", "variable"),
    [
        (subject.DEFAULT, "workspace", "a:workspace:b", job_context.WORKSPACE_NAME),
        (subject.DEFAULT, "organization", "trailing:", job_context.ORGANIZATION_NAME),
        ("repo:{organization}/{workspace}", "workspace", "x/y", job_context.WORKSPACE_NAME),
        ("repo:{organization}/{workspace}", "organization", "x:y", job_context.ORGANIZATION_NAME),
        (HCP, "project", "a:b", job_context.PROJECT_NAME),
        ("{organization_id}|{workspace_id}", "workspace_id", "a|b", job_context.WORKSPACE_ID),
    ],
)
def test_a_value_holding_a_separator_is_refused_naming_its_variable(
    text: str, field: str, value: str, variable: str
) -> None:
    job = JobContext(**{**JOB.__dict__, field: value})
    with pytest.raises(ConfigError) as error:
        subject.parse(text).render(job, "plan")
    assert _variables(error) == [variable]
    assert subject.SETTING in str(error.value)


def test_a_separator_elsewhere_in_the_literal_stays_allowed() -> None:
    # Only where literal text meets a placeholder is a separator: '_' in run_phase is not one.
    template = subject.parse(PHASED)
    assert template.separators == {":"}
    job = JobContext(**{**JOB.__dict__, "workspace": "my_ws-1.x"})
    assert template.render(job, "plan") == "organization:simple:workspace:my_ws-1.x:run_phase:plan"


def test_every_problem_is_reported_at_once() -> None:
    job = JobContext(**{**JOB.__dict__, "organization": "a:b", "workspace": "c:d", "project": None})
    with pytest.raises(ConfigError) as error:
        subject.parse(HCP).render(job, None)
    assert _variables(error) == [
        job_context.ORGANIZATION_NAME,
        job_context.PROJECT_NAME,
        job_context.WORKSPACE_NAME,
        subject.SETTING,
    ]


@pytest.mark.parametrize("text", [subject.DEFAULT, PHASED, HCP, "{organization}/{workspace}"])
def test_no_two_jobs_render_the_same_sub(text: str) -> None:
    """Over names built from the separators and letters, every accepted pair of values renders
    its own `sub`: what the separator rule is for."""
    template = subject.parse(text)
    pieces = ["a", "b", ":", "/", "workspace", "run_phase", "_"]
    names = {
        "".join(parts) for size in (1, 2, 3) for parts in itertools.product(pieces, repeat=size)
    }
    seen: dict[str, tuple[str, str, str]] = {}
    for organization, workspace, phase in itertools.product(
        sorted(names), sorted(names), ("plan", "apply")
    ):
        job = JobContext(organization, workspace, "o", "w", "1", project="p")
        try:
            rendered = template.render(job, phase)
        except ConfigError:
            continue
        key = (organization, workspace, phase if template.uses_phase else "")
        assert seen.setdefault(rendered, key) == key
    assert len(seen) > 100
