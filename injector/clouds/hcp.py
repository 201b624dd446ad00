"""HCP Terraform's variable names, read as alternatives to injector's, so that a workspace
written for HCP Terraform moves as it is: `TFC_AWS_PROVIDER_AUTH` switches AWS on,
`TFC_AWS_RUN_ROLE_ARN` is `WORKLOAD_IDENTITY_ROLE_AWS`, `TFC_AWS_PLAN_ROLE_ARN` its plan form,
`_<TAG>` after any of them a tagged configuration, and `TFC_DEFAULT_AWS_RUN_ROLE_ARN` the value
of every configuration that gives none of its own.

Each cloud lists its names (`Cloud.hcp.names`); this module turns them into injector's, once, as
a layer of the job's variables (config.variables), before anything is read. The same setting
under both names with different values is refused, naming both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from injector.clouds import tags
from injector.clouds.base import Cloud
from injector.clouds.facets import HcpName
from injector.config import values
from injector.config.variables import Variables
from injector.errors import ConfigError, Problem

PREFIX = "TFC_"
DEFAULT = "TFC_DEFAULT_"
RUN = "RUN_"
PHASES = ("PLAN", "APPLY")


def translate(
    env: Mapping[str, str], registered: Sequence[Cloud]
) -> tuple[Variables, tuple[Problem, ...]]:
    """The environment with injector's names as a layer over `env` (whose `origin` is the HCP
    name, so an error names what the workspace holds); problems for every setting given under
    both names with different values (injector's is kept meanwhile), and every HCP value made
    of parts with some missing."""
    out, origins = dict(env), dict[str, str]()
    problems: list[Problem] = []
    for cloud in registered:
        for tag in (None, *_tags(cloud, env)):
            for name in _names(cloud):
                for phase in (None, *PHASES) if name.name.startswith(RUN) else (None,):
                    try:
                        found = _value(cloud, name, env, tag, phase)
                    except ConfigError as error:
                        problems += error.problems
                        continue
                    if found is None:
                        continue
                    value, source = found
                    target = _injector_name(name.variable, tag, phase)
                    given, given_by = (env[target], target) if target in env else (None, "")
                    if target in origins:  # two HCP names for one setting (GCP's audience)
                        given, given_by = out[target], origins[target]
                    if given is not None and source.startswith(DEFAULT):
                        continue  # a configuration's own value beats every one's default
                    if given is not None and name.canonical(given) != name.canonical(value):
                        problems.append(
                            Problem(
                                given_by,
                                f"{_differs(name, given, source, value)}: one setting under "
                                "two names; set one, or both to the same value",
                            )
                        )
                    elif given is None:
                        out[target], origins[target] = value, source
    return Variables.of(env).over(out, origins), tuple(dict.fromkeys(problems))


def _differs(name: HcpName, given: str, source: str, value: str) -> str:
    if not name.quoted:
        return f"differs from {source}"
    return f"is {values.shown(given)} but {source} is {values.shown(value)}"


def recognizes(name: str, registered: Sequence[Cloud]) -> bool:
    """Whether `name` is one of HCP's names that `translate` reads."""
    for cloud in registered:
        for head in (f"{PREFIX}{cloud.name.upper()}_", f"{DEFAULT}{cloud.name.upper()}_"):
            if not name.startswith(head):
                continue
            rest = name[len(head) :]
            for known in _forms(cloud):
                if rest == known or (
                    rest.startswith(f"{known}_") and tags.valid(rest[len(known) + 1 :])
                ):
                    return True
    return False


def claiming(name: str, registered: Sequence[Cloud]) -> Cloud | None:
    """The cloud of `registered` under whose HCP names `name` starts (`TFC_<CLOUD>_`,
    `TFC_DEFAULT_<CLOUD>_`), the longest such head first (`TFC_VAULT_BACKED_AWS_` before
    `TFC_VAULT_`); None when it starts as none of them."""
    heads = [
        (head, cloud)
        for cloud in registered
        if cloud.hcp is not None
        for head in (f"{PREFIX}{cloud.name.upper()}_", f"{DEFAULT}{cloud.name.upper()}_")
        if name.startswith(head)
    ]
    return max(heads, key=lambda pair: len(pair[0]))[1] if heads else None


def names(registered: Sequence[Cloud]) -> list[str]:
    """HCP's untagged names, for the warning about a misspelt one."""
    return [
        f"{head}{cloud.name.upper()}_{form}"
        for cloud in registered
        for head in (PREFIX, DEFAULT)
        for form in _forms(cloud)
    ]


def _forms(cloud: Cloud) -> list[str]:
    forms = []
    for name in _names(cloud):
        forms += [*name.parts] if name.parts else [name.name]
        if name.name.startswith(RUN):
            forms += [f"{phase}_{name.name[len(RUN) :]}" for phase in PHASES]
    return forms


def _tags(cloud: Cloud, env: Mapping[str, str]) -> list[str]:
    """The tags HCP's switch names (`TFC_AWS_PROVIDER_AUTH_<TAG>`) and injector's do."""
    found = dict.fromkeys(tags.found(cloud, env)[0])
    prefix = f"{PREFIX}{cloud.name.upper()}_"
    for name in _names(cloud):
        if name.variable != cloud.switch:
            continue
        head = f"{prefix}{name.name}_"
        # HCP's `..._AUTH_TYPE` is a setting of its own, not the switch `..._AUTH` tagged TYPE.
        longer = tuple(
            f"{prefix}{form}" for form in _forms(cloud) if form.startswith(f"{name.name}_")
        )
        found.update(
            dict.fromkeys(
                n[len(head) :]
                for n in sorted(env)
                if n.startswith(head)
                and not any(n == other or n.startswith(f"{other}_") for other in longer)
            )
        )
    return [tag for tag in found if tag]


def _names(cloud: Cloud) -> tuple[HcpName, ...]:
    return cloud.hcp.names if cloud.hcp is not None else ()


def _injector_name(variable: str, tag: str | None, phase: str | None) -> str:
    return variable + (f"_{tag}" if tag else "") + (f"_{phase}" if phase else "")


def _hcp_names(cloud: Cloud, hcp: str, tag: str | None, switch: bool) -> list[str]:
    """Where HCP looks for `hcp` (after `TFC_<CLOUD>_`), first found wins: the
    configuration's own, then the default of every configuration (not for a switch)."""
    own = f"{PREFIX}{cloud.name.upper()}_{hcp}" + (f"_{tag}" if tag else "")
    return [own] if switch else [own, f"{DEFAULT}{cloud.name.upper()}_{hcp}"]


def _value(
    cloud: Cloud, name: HcpName, env: Mapping[str, str], tag: str | None, phase: str | None
) -> tuple[str, str] | None:
    """The value HCP's names give for `name` (in injector's form) and what it came from."""
    switch = name.variable == cloud.switch
    if name.parts and name.join is not None:
        found = [_first(env, _hcp_names(cloud, part, tag, switch)) for part in name.parts]
        given = [hit for hit in found if hit is not None]
        if not given:
            return None
        if len(given) < len(found):
            missing = [
                _hcp_names(cloud, part, tag, switch)[0]
                for part, hit in zip(name.parts, found, strict=True)
                if hit is None
            ]
            raise ConfigError.of(
                given[0][1],
                f"needs {' and '.join(missing)} too: HCP Terraform makes the provider's "
                "name of all of them",
            )
        return name.join([value for value, _ in given]), ", ".join(n for _, n in given)
    hcp = name.name if phase is None else f"{phase}_{name.name[len(RUN) :]}"
    hit = _first(env, _hcp_names(cloud, hcp, tag, switch))
    if hit is None:
        return None
    return name.convert(hit[0]), hit[1]


def _first(env: Mapping[str, str], names: list[str]) -> tuple[str, str] | None:
    for candidate in names:
        if values.optional(env, candidate) is not None:
            return env[candidate], candidate
    return None


def boolean_form(value: str) -> str:
    """A boolean's spellings as one, so that `1` and `true` are not two different values."""
    folded = value.strip().lower()
    return {
        "1": "true",
        "yes": "true",
        "on": "true",
        "0": "false",
        "no": "false",
        "off": "false",
    }.get(folded, folded)
