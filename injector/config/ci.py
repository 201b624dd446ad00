"""Job context defaults from a CI system's own variables, on an explicit opt-in only.

A CI runner has no Terrakube organization, workspace or job: `INJECTOR_CI=github|gitlab|jenkins`
(or `--ci`) says which CI the job runs in, and the job context variables the runner did not set
are taken from that CI's variables. Nothing is guessed from the environment's look: a job that
names no CI gets the Terrakube names or an error naming them. Only the values a CI states about
itself are used; what it has no honest equivalent for (Jenkins has no organization) stays
required.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from injector.config import job_context
from injector.errors import ConfigError

CI = "INJECTOR_CI"

# A default is a function of the environment, so that one CI variable can feed two fields
# (GitHub's `owner/repository`); None when the CI variable is not set.
Default = Callable[[Mapping[str, str]], "str | None"]


def _variable(name: str) -> Default:
    return lambda env: env.get(name) or None


def _part(name: str, index: int) -> Default:
    """Part `index` of `owner/name` in variable `name`."""

    def read(env: Mapping[str, str]) -> str | None:
        owner, slash, repository = (env.get(name) or "").partition("/")
        if not slash or not owner or not repository:
            return None
        return (owner, repository)[index]

    return read


# For each CI: job context variable -> (its source, as docs/guides/runners.md says it).
SOURCES: dict[str, dict[str, tuple[str, Default]]] = {
    "github": {
        job_context.ORGANIZATION_NAME: (
            "owner of GITHUB_REPOSITORY",
            _part("GITHUB_REPOSITORY", 0),
        ),
        job_context.WORKSPACE_NAME: ("name of GITHUB_REPOSITORY", _part("GITHUB_REPOSITORY", 1)),
        job_context.ORGANIZATION_ID: (
            "GITHUB_REPOSITORY_OWNER_ID",
            _variable("GITHUB_REPOSITORY_OWNER_ID"),
        ),
        job_context.WORKSPACE_ID: ("GITHUB_REPOSITORY_ID", _variable("GITHUB_REPOSITORY_ID")),
        job_context.JOB_ID: ("GITHUB_RUN_ID", _variable("GITHUB_RUN_ID")),
    },
    "gitlab": {
        job_context.ORGANIZATION_NAME: ("CI_PROJECT_NAMESPACE", _variable("CI_PROJECT_NAMESPACE")),
        job_context.WORKSPACE_NAME: ("CI_PROJECT_NAME", _variable("CI_PROJECT_NAME")),
        job_context.ORGANIZATION_ID: (
            "CI_PROJECT_NAMESPACE_ID",
            _variable("CI_PROJECT_NAMESPACE_ID"),
        ),
        job_context.WORKSPACE_ID: ("CI_PROJECT_ID", _variable("CI_PROJECT_ID")),
        job_context.JOB_ID: ("CI_JOB_ID", _variable("CI_JOB_ID")),
    },
    # Jenkins knows jobs and builds, not organizations: organizationName and organizationId
    # are the runner's to set (the Jenkinsfile's environment block). JOB_NAME is unique in a
    # Jenkins and has no separate id, so it is the workspace id as well.
    "jenkins": {
        job_context.WORKSPACE_NAME: ("JOB_NAME", _variable("JOB_NAME")),
        job_context.WORKSPACE_ID: ("JOB_NAME", _variable("JOB_NAME")),
        job_context.JOB_ID: ("BUILD_NUMBER", _variable("BUILD_NUMBER")),
    },
}
NAMES = tuple(SOURCES)

# What each CI sets in every job about itself: not used to take values (that needs the opt-in),
# only to suggest the opt-in when a job context variable is missing.
MARKERS: dict[str, str] = {
    "github": "GITHUB_ACTIONS",
    "gitlab": "GITLAB_CI",
    "jenkins": "JENKINS_URL",
}


def with_defaults(env: Mapping[str, str]) -> Mapping[str, str]:
    """`env` with the job context variables it lacks taken from the CI `INJECTOR_CI` names;
    `env` itself when it names none. A value the runner set always wins.

    Raises ConfigError for a CI injector does not know.
    """
    name = (env.get(CI) or "").strip()
    if not name:
        return env
    sources = SOURCES.get(name.lower())
    if sources is None:
        raise ConfigError.of(CI, f"is {name!r}: expected one of {', '.join(NAMES)}")
    filled = dict(env)
    for variable, (_, default) in sources.items():
        if not filled.get(variable) and (value := default(env)) is not None:
            filled[variable] = value
    return filled


def source(env: Mapping[str, str], variable: str) -> str | None:
    """Where the CI `INJECTOR_CI` names would have taken `variable` from, for an error about
    it being missing; None without a CI or when that CI has no such variable."""
    chosen = (env.get(CI) or "").strip()
    if not chosen:
        return _suggestion(env, variable)
    found = SOURCES.get(chosen.lower(), {}).get(variable)
    return None if found is None else f"{CI}={chosen} takes it from {found[0]}, which is not set"


def _suggestion(env: Mapping[str, str], variable: str) -> str | None:
    """The opt-in to suggest when the job runs in a CI that would provide `variable`."""
    for name, marker in MARKERS.items():
        found = SOURCES[name].get(variable)
        if env.get(marker) and found is not None:
            return f"{marker} is set: with {CI}={name} (or --ci {name}) it comes from {found[0]}"
    return None
