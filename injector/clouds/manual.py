"""HCP Terraform's "manual generation": `TFC_WORKLOAD_IDENTITY_AUDIENCE` (and `_<TAG>`) asks for a
token with that audience, for a provider injector does not know.

HCP puts the token itself in the environment (`TFC_WORKLOAD_IDENTITY_TOKEN[_<TAG>]`), where
`env`, a CI log or Terraform's debug log can print it. Injector does not: the token goes to a
0600 file like every other, refreshed by `run` like the others, and only the file's path is
exported, as `INJECTOR_WORKLOAD_IDENTITY_TOKEN_FILE[_<TAG>]` (HCP has no name for a path).

Not a registry cloud (no switch of its own, no SDK, nothing in the example workspace): the
settings read it through `read_all`; its configurations carry its `CLOUD` (the token's rules).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from injector.clouds import rules, tags
from injector.clouds.base import CloudConfig, CloudOf, CloudOutputs
from injector.config import values
from injector.config.job_context import JobContext
from injector.errors import ConfigError, Problems
from injector.jose import algorithms

NAME = "workload"
AUDIENCE = "TFC_WORKLOAD_IDENTITY_AUDIENCE"
# A variable name, not a secret: the file's path is what is exported.
TOKEN_FILE_EXPORT = "INJECTOR_WORKLOAD_IDENTITY_TOKEN_FILE"  # noqa: S105
# HCP's variable for the token itself, which injector never sets.
HCP_TOKEN = "TFC_WORKLOAD_IDENTITY_TOKEN"  # noqa: S105

_AUDIENCE_FORM = "the audience the provider expects in the token's aud"

# A provider injector does not know: nothing but a well-formed token is assumed of it.
RULES = rules.CloudRules(
    name=NAME,
    label="manual generation",
    checks=rules.TokenChecks(algorithms=algorithms.ANY_VERIFIER),
    advice=rules.OperatorAdvice(trusts="whatever the provider trusts"),
)


@dataclass(frozen=True)
class ManualConfig(CloudConfig):
    audience: str

    @property
    def identity(self) -> str:
        # The token goes to a consumer injector does not know: who it makes the job is theirs.
        return f"whatever {self.export} is given to"

    @property
    def export(self) -> str:
        """`INJECTOR_WORKLOAD_IDENTITY_TOKEN_FILE`, with `_<TAG>` for a tagged one."""
        return TOKEN_FILE_EXPORT + (f"_{self.tag}" if self.tag else "")

    def outputs(self, token_file: Path, job: JobContext) -> CloudOutputs:
        return CloudOutputs(exports={self.export: str(token_file)})


def read_all(env: Mapping[str, str]) -> tuple[ManualConfig, ...]:
    """A configuration for `TFC_WORKLOAD_IDENTITY_AUDIENCE` and each `_<TAG>` form that is set
    (an empty one is unset, as Terrakube sends empty values). Raises ConfigError listing every
    problem: a malformed audience, or a tag of the wrong form."""
    problems = Problems()
    found: list[ManualConfig] = []
    for name in sorted(env):
        if name == AUDIENCE:
            tag = None
        elif name.startswith(f"{AUDIENCE}_"):
            tag = name[len(AUDIENCE) + 1 :]
            if not tags.valid(tag):
                problems.add(name, f"expected {AUDIENCE}_<TAG>, the tag {tags.TAG_FORM}")
                continue
        else:
            continue
        value = values.optional(env, name)
        if value is None:
            continue
        audience = problems.get(None, values.claim, name, value, _AUDIENCE_FORM)
        if audience is not None:
            found.append(ManualConfig(audience=audience, tag=tag))
    problems.raise_if_any()
    return tuple(sorted(found, key=lambda config: config.tag or ""))


def is_variable(name: str) -> bool:
    """Whether `name` is one this module reads (for the warning about a misspelt one)."""
    return name == AUDIENCE or (
        name.startswith(f"{AUDIENCE}_") and tags.valid(name[len(AUDIENCE) + 1 :])
    )


def _never(env: Mapping[str, str]) -> ManualConfig:
    raise ConfigError.of(AUDIENCE, "is read by clouds.manual.read_all, not by a switch")


CLOUD = CloudOf(
    name=NAME,
    label="Manual generation",
    switch=AUDIENCE,
    read=_never,
    rules=RULES,
)
ManualConfig.cloud = CLOUD
