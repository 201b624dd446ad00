"""Property tests: any string either round-trips exactly through every output format, or is
refused as a configuration error; no input makes the settings parser fail any other way."""

from __future__ import annotations

import io
import json
import re
import subprocess
from collections.abc import Mapping

import pytest
from dotenv import dotenv_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from injector.config.job_context import JobContext
from injector.errors import ConfigError
from injector.job import render
from injector.job import settings as settings_module
from injector.job.example import EXAMPLE_ENV

# Environment values are C strings of the locale's encoding: any character but NUL and the lone
# surrogates that stand for undecodable bytes.
characters = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])
env_text = st.text(characters, max_size=40)
# Export names are fixed identifiers; `_` alone is bash's own, and so are the names bash keeps
# read-only or sets itself (UID, RANDOM, ...), which no cloud exports and bash cannot round-trip.
BASH_OWN = frozenset(
    (
        *("COMP_CWORD", "COMP_KEY", "COMP_LINE", "COMP_POINT", "COMP_TYPE", "COMP_WORDBREAKS"),
        *("COMP_WORDS", "DIRSTACK", "EPOCHREALTIME", "EPOCHSECONDS", "EUID", "FUNCNAME"),
        *("GROUPS", "HISTCMD", "IFS", "LINENO", "OPTIND", "PIPESTATUS", "PPID", "RANDOM"),
        *("SECONDS", "SHELLOPTS", "SRANDOM", "UID"),
    )
)
names = st.from_regex(r"[A-Z][A-Z0-9_]{0,20}", fullmatch=True).filter(
    lambda name: name not in BASH_OWN and not name.startswith("BASH")
)
exports = st.dictionaries(names, env_text, min_size=1, max_size=6)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def terrakube_split(text: str) -> dict[str, str]:
    """Terrakube's older loader: Java's readLine (ends a line at \\n, \\r or \\r\\n only), then
    `line.split("=")` keeping parts 0 and 1; Java's split drops trailing empty strings and a
    line without part 1 throws (IndexError here)."""
    loaded = {}
    for line in re.split(r"\r\n|\r|\n", text.removesuffix("\n")):
        parts = line.split("=")
        while parts and parts[-1] == "":
            parts.pop()
        loaded[parts[0]] = parts[1]
    return loaded


def github_env(text: str) -> dict[str, str]:
    """GitHub's $GITHUB_ENV syntax: NAME=value, or NAME<<DELIMITER ... DELIMITER."""
    loaded, lines, index = {}, text.split("\n"), 0
    while index < len(lines) and lines[index]:
        line = lines[index]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, index + 1)
            loaded[name] = "\n".join(lines[index + 1 : end])
            index = end + 1
        else:
            name, value = line.split("=", 1)
            loaded[name] = value
            index += 1
    return loaded


@FAST
@given(exports)
def test_shell_round_trips_through_bash_eval(values: dict[str, str]) -> None:
    script = render.shell(values) + "".join(f'printf "%s\\0" "${{{name}}}"\n' for name in values)
    result = subprocess.run(["bash", "-c", script], capture_output=True, check=True, env={})
    assert result.stdout.decode("utf-8", "surrogateescape").split("\0")[:-1] == list(
        values.values()
    )


@FAST
@given(exports)
def test_dotenv_round_trips_through_python_dotenv(values: dict[str, str]) -> None:
    """Exactly what was given, or refused naming each value that holds `${` (which dotenv
    readers expand, with no escape for it)."""
    try:
        text = render.dotenv(values)
    except ConfigError as error:
        assert [p.variable for p in error.problems] == [n for n, v in values.items() if "${" in v]
        assert error.problems
        return
    assert dotenv_values(stream=io.StringIO(text), interpolate=True) == values


@FAST
@given(exports)
def test_json_round_trips(values: dict[str, str]) -> None:
    assert json.loads(render.as_json(values)) == values


@FAST
@given(exports)
def test_terrakube_round_trips_or_refuses(values: dict[str, str]) -> None:
    try:
        text = render.terrakube(values)
    except ConfigError as error:
        refused = {p.variable for p in error.problems}
        assert refused
        for name in refused:
            assert any(c in values[name] for c in "=\n\r") or values[name] == ""
        return
    assert terrakube_split(text) == values


@FAST
@given(exports)
def test_github_round_trips(values: dict[str, str]) -> None:
    # Values with a carriage return are written in heredoc form; GitHub splits on \n only.
    assert github_env(render.github(values)) == values


name_text = st.text(characters, min_size=0, max_size=30)


@FAST
@given(organization=name_text, workspace=name_text)
def test_a_sub_names_exactly_one_workspace(organization: str, workspace: str) -> None:
    env = {**EXAMPLE_ENV, "organizationName": organization, "workspaceName": workspace}
    try:
        loaded = settings_module.load(env, require_key=False)
    except ConfigError as error:
        assert {p.variable for p in error.problems} <= {"organizationName", "workspaceName"}
        return
    assert loaded is not None
    assert ":" not in organization and ":" not in workspace
    prefix, parsed_organization, middle, parsed_workspace = str(loaded.subject).split(":")
    assert (prefix, middle) == ("organization", "workspace")
    assert (parsed_organization, parsed_workspace) == (organization, workspace)


VARIABLES = sorted(
    set(EXAMPLE_ENV)
    | {
        "DynamicCredentialTtl",
        "DynamicCredentialId",
        "TerrakubeHostname",
        "AWS_DEFAULT_REGION",
        "AWS_ROLE_SESSION_NAME",
        "AZURE_AUTHORITY_HOST",
        "GOOGLE_CLOUD_PROJECT",
        "WORKLOAD_IDENTITY_STS_URL_GCP",
        "WORKLOAD_IDENTITY_IAM_URL_GCP",
        "WORKLOAD_IDENTITY_ROLE_AWS_PLAN",
        "DynamicCredentialPhaseClaim",
    }
)


@settings(max_examples=400, deadline=None)
@given(
    changes=st.dictionaries(st.sampled_from(VARIABLES), env_text, max_size=6),
    phase=st.sampled_from([None, "plan", "apply"]),
)
def test_settings_parser_accepts_or_names_the_problem(
    changes: Mapping[str, str], phase: str | None
) -> None:
    """The fuzz target for the settings parser: bounded by max_examples in `make test`."""
    env = {**EXAMPLE_ENV, **changes}
    try:
        loaded = settings_module.load(env, require_key=False, phase=phase)
    except ConfigError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.variable and problem.message
        return
    if loaded is not None:
        assert isinstance(loaded.job, JobContext)
        assert loaded.issuer is not None
        assert loaded.issuer.issuer.startswith(("https://", "http://"))


# Values no variable may hold: a terminal escape, a line break, a lone blank.
REFUSED_EVERYWHERE = ("\x1b[31m", "a\nb", " ")
# Values that free text may hold (shell and env-file syntax is the renderers' business).
TEXT_ONLY = ("'; rm -rf / #", "$(id)", "=", "\\")


@pytest.mark.parametrize("phase", [None, "plan"])
@pytest.mark.parametrize("variable", VARIABLES)
def test_each_variable_refuses_hostile_bytes_by_name(variable: str, phase: str | None) -> None:
    """Every variable that is read refuses control characters and blanks, naming itself (or,
    for a phase override, the override); what it accepts it keeps exactly."""
    read = phase is not None or not variable.endswith(("_PLAN", "_APPLY", "PhaseClaim"))
    # DynamicCredentialHostname, in the example, wins over the older name.
    read = read and variable != "TerrakubeHostname"
    for value in REFUSED_EVERYWHERE + TEXT_ONLY:
        env = {**EXAMPLE_ENV, variable: value}
        try:
            loaded = settings_module.load(env, require_key=False, phase=phase)
        except ConfigError as error:
            # A problem of its own, or of the name it shares a value with (AWS_REGION and
            # AWS_DEFAULT_REGION), which then names it.
            [problem] = error.problems
            assert variable in (problem.variable, *problem.message.split()), (value, problem)
            continue
        assert value not in REFUSED_EVERYWHERE or not read, (variable, value)
        assert loaded is not None
        if read and value in TEXT_ONLY:
            # Accepted free text arrives exactly as given, in a claim, an export or the issuer.
            seen = repr(loaded) + json.dumps(loaded.extra_claims)
            assert value in seen or repr(value)[1:-1] in seen, (variable, value)
