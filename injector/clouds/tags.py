"""Several configurations of one cloud (HCP Terraform's "multiple configurations"): a `_<TAG>`
after a cloud's variable names another configuration, with its own token (its own `aud`),
files and identity. `ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD` switches on the configuration
`PROD`; `WORKLOAD_IDENTITY_ROLE_AWS_PROD` is its role, `..._AWS_PROD_APPLY` its apply role.

Which variables take the tag is each cloud's fact (`Cloud.tagged`); this module only reads it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from injector import clouds
from injector.clouds.base import Cloud, CloudConfig
from injector.config.job_context import JobContext
from injector.config.variables import Variables
from injector.errors import Problem

_TAG = re.compile(r"[A-Za-z0-9]+(_[A-Za-z0-9]+)*", re.ASCII)
PHASE_WORDS = ("PLAN", "APPLY")
TAG_FORM = (
    "letters and digits, words joined by _, not ending in PLAN or APPLY (the phases), and not "
    "default (the untagged configuration's name in the files tags make)"
)
# HCP's variables and AWS's config file name the untagged configuration `default`.
RESERVED = "default"


def configuration_id(config: CloudConfig) -> str:
    """`aws` for the untagged configuration, `aws_PROD` for the one tagged PROD: names its
    token file (`<id>.jwt`) and its lines in logs, the dry run and doctor."""
    return config.name if config.tag is None else f"{config.name}_{config.tag}"


def token_file(folder: Path, config: CloudConfig) -> Path:
    return folder / f"{configuration_id(config)}.jwt"


def valid(tag: str) -> bool:
    return (
        _TAG.fullmatch(tag) is not None
        and tag.upper().split("_")[-1] not in PHASE_WORDS
        and tag.lower() != RESERVED
    )


def found(cloud: Cloud, env: Mapping[str, str]) -> tuple[tuple[str, ...], list[Problem]]:
    """The tags the environment's switches name (`<switch>_<TAG>`, `<alias>_<TAG>`), sorted;
    and a problem for each tag of the wrong form, or given to a cloud that takes none."""
    tags: dict[str, None] = {}
    problems: list[Problem] = []
    known = set(cloud.known_variables())
    others = clouds.longer_switches(cloud.name)
    for name in sorted(env):
        for switch in (cloud.switch, cloud.alias):
            if not name.startswith(f"{switch}_") or name in known:
                continue
            if clouds.under(name, others):
                continue  # another cloud's switch (or its tagged form), not a tag of this one
            tag = name[len(switch) + 1 :]
            if not cloud.tagged:
                problems.append(
                    Problem(name, f"{cloud.label} takes no tags yet: expected {switch}")
                )
            elif not valid(tag):
                problems.append(Problem(name, f"expected {switch}_<TAG>, the tag {TAG_FORM}"))
            else:
                tags[tag] = None
    return tuple(tags), problems


def view(cloud: Cloud, env: Mapping[str, str], tag: str) -> Variables:
    """The environment as the configuration tagged `tag` sees it: each tagged variable under
    its plain name (`WORKLOAD_IDENTITY_ROLE_AWS` from `..._AWS_PROD`, `..._AWS_PLAN` from
    `..._AWS_PROD_PLAN`), the untagged values of those gone; a layer whose plain names have the
    tagged ones as origin, so that an error names the variable to fix."""
    pairs = {plain: f"{plain}_{tag}" for plain in cloud.taking_tags()}
    pairs.update(
        {
            f"{plain}_{phase}": f"{plain}_{tag}_{phase}"
            for plain in cloud.phased
            for phase in PHASE_WORDS
        }
    )
    # The identity (switch, phased variables) is the configuration's own; for the rest an
    # untagged value applies to every configuration that does not give its own, in any of the
    # setting's forms (`Cloud.alternatives`).
    not_inherited = {*pairs} - set(cloud.tagged) | set(cloud.phased)
    for group in cloud.alternatives:
        if any(env.get(pairs[plain]) for plain in group):
            not_inherited.update(group)
    seen = {name: value for name, value in env.items() if name not in not_inherited}
    # An inherited value's problem is the untagged variable's; any other, the tagged one's.
    origins = {
        plain: tagged for plain, tagged in pairs.items() if tagged in env or plain not in seen
    }
    seen.update({plain: env[tagged] for plain, tagged in pairs.items() if tagged in env})
    return Variables.of(env).over(seen, origins)


def untagged(cloud: Cloud, name: str) -> str | None:
    """The variable `name` is a tagged form of (`WORKLOAD_IDENTITY_ROLE_AWS` for `..._AWS_PROD`
    or `..._AWS_PROD_APPLY`), or None."""
    for plain in cloud.taking_tags():
        if not name.startswith(f"{plain}_"):
            continue
        rest = name[len(plain) + 1 :]
        if plain in cloud.phased:
            for phase in PHASE_WORDS:
                rest = rest.removesuffix(f"_{phase}")
        if rest and valid(rest):
            return plain
    return None


def terraform_value(
    members: Sequence[tuple[CloudConfig, Path]], job: JobContext
) -> tuple[dict[str, object], dict[Path, bytes]]:
    """HCP's object for one cloud: `default` for the untagged configuration (null without
    one) and `aliases` by tag, each as the configuration describes itself; and the files they
    name."""
    shapes = [(config.tag, config.terraform_value(path, job)) for config, path in members]
    value: dict[str, object] = {
        "default": next((shape.value for tag, shape in shapes if tag is None), None),
        "aliases": {tag: shape.value for tag, shape in shapes if tag is not None},
    }
    return value, {path: data for _, shape in shapes for path, data in shape.files.items()}
