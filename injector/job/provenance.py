"""Which variable the user set made an export that a renderer refuses.

An export is built from inputs (`organizationName` goes into the AWS session name, a role
variable into the role export), so a message naming only the export sends the user looking in
the wrong place. Each input whose value shares a suspect character with the refused value is
tried without that character: if the export then renders, that input is where it came from.
Runs only after a refusal, so its cost (a settings load per try, no signing) is off the hot path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from injector.clouds import tags
from injector.errors import ConfigError, Problem
from injector.job import plan, settings

Renderer = Callable[[Mapping[str, str]], str]


def exports(loaded: settings.Settings, folder: Path) -> dict[str, str]:
    """The exports a plan for `loaded` would have, without minting (no token is needed)."""
    configs = [(config, tags.token_file(folder, config)) for config in loaded.clouds]
    own = {
        name: value
        for config, token_file in configs
        for name, value in config.outputs(token_file, loaded.job).exports.items()
    }
    return {**own, **plan.terraform_variables(configs, loaded)[0]}


def _refused(render: Renderer, values: Mapping[str, str]) -> set[str]:
    try:
        render(values)
    except ConfigError as error:
        return {problem.variable for problem in error.problems}
    return set()


def _sources(
    export: str,
    value: str,
    env: Mapping[str, str],
    phase: str | None,
    folder: Path,
    render: Renderer,
) -> list[str]:
    suspects = {char for char in value if not char.isalnum()}
    found = []
    for name, given in env.items():
        for char in sorted(suspects & set(given)):
            changed = {**env, name: given.replace(char, "")}
            try:
                loaded = settings.load(changed, phase=phase)
            except ConfigError:
                continue
            if loaded is not None and export not in _refused(render, exports(loaded, folder)):
                found.append(name)
                break
    return found


def traced(
    error: ConfigError,
    built: Mapping[str, str],
    env: Mapping[str, str],
    phase: str | None,
    folder: Path,
    render: Renderer,
) -> ConfigError:
    """`error` (from rendering `built`) with each problem about an export put under the input
    variables it came from: `organizationName: goes into <EXPORT>: ...`."""
    problems = []
    for problem in error.problems:
        sources = (
            _sources(problem.variable, built[problem.variable], env, phase, folder, render)
            if problem.variable in built
            else []
        )
        problems += [Problem(source, f"goes into {problem}") for source in sources] or [problem]
    return ConfigError(problems)
