"""The `sub` claim's shape: DynamicCredentialSubjectTemplate, rendered from the job context.

Cloud trust policies match on `sub`, so two workspaces (or two phases, with `{phase}`) must never
render the same one. Two rules keep rendering one-to-one:
- every placeholder meets its neighbours through literal text that starts and ends with a
  separator (a character that is neither a letter nor a digit), so `{organization}{workspace}`
  or `{organization}x{workspace}` is refused;
- no value may be empty or hold a separator character: the separators are the characters where
  the literal text touches a placeholder (`:` in Terrakube's default). A value then ends exactly
  where the next separator starts, and `organization:a:workspace:b` has one reading only.
A template must name the organization and the workspace (by name or id): without them every
workspace would share one `sub`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from injector.config import job_context, values
from injector.config.job_context import JobContext
from injector.errors import ConfigError, Problems

SETTING = "DynamicCredentialSubjectTemplate"
DEFAULT = "organization:{organization}:workspace:{workspace}"
PHASE = "phase"
# Placeholder -> the variable (or option) its value comes from, for the messages.
PLACEHOLDERS = {
    "organization": job_context.ORGANIZATION_NAME,
    "workspace": job_context.WORKSPACE_NAME,
    "project": job_context.PROJECT_NAME,
    "organization_id": job_context.ORGANIZATION_ID,
    "workspace_id": job_context.WORKSPACE_ID,
    PHASE: "--phase",
}
_REQUIRED = (("organization", "organization_id"), ("workspace", "workspace_id"))
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# Long enough for HCP Terraform's shape with every placeholder; `sub` itself is capped by each
# cloud (Google's google.subject: 127 bytes).
MAX_LENGTH = 512
_FORM = (
    "text with placeholders "
    + ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
    + " (the organization and the workspace by name or id), each meeting its neighbours at a "
    "character that is not a letter or digit, such as "
    "organization:{organization}:workspace:{workspace}:run_phase:{phase}"
)


def _is_separator(character: str) -> bool:
    return not character.isalnum()


@dataclass(frozen=True)
class SubjectTemplate:
    text: str
    literals: tuple[str, ...]  # len(placeholders) + 1: the text around the placeholders
    placeholders: tuple[str, ...]
    separators: frozenset[str]
    # What the messages name: the variable, or the policy key a signer's attestation set it in.
    setting: str = SETTING

    @property
    def uses_phase(self) -> bool:
        return PHASE in self.placeholders

    def render(self, job: JobContext, phase: str | None) -> str:
        """The `sub` for this job (and phase). Raises ConfigError naming each value that is
        missing or holds a separator, and {phase} without a phase."""
        given = {
            "organization": job.organization,
            "workspace": job.workspace,
            "project": job.project,
            "organization_id": job.organization_id,
            "workspace_id": job.workspace_id,
            PHASE: phase,
        }
        self.check(given)
        parts = [self.literals[0]]
        for name, literal in zip(self.placeholders, self.literals[1:], strict=True):
            parts += [str(given[name]), literal]
        return "".join(parts)

    def check(self, given: Mapping[str, str | None]) -> None:
        """Check the values the placeholders would take (None: not given), all at once. A
        missing name or id is job_context's to report; a missing project or phase is this
        template's, since only the template needs them."""
        problems = Problems()
        for name in dict.fromkeys(self.placeholders):
            problems.run(self._check, name, given.get(name))
        problems.raise_if_any()

    def _check(self, name: str, value: str | None) -> None:
        variable = PLACEHOLDERS[name]
        if not value:
            if name == PHASE:
                raise ConfigError.of(
                    self.setting,
                    f"uses {{{PHASE}}}, but no phase is given: pass --phase plan or --phase apply",
                )
            if name == "project":
                raise ConfigError.of(variable, f"is required: {self.setting} uses {{{name}}}")
            return
        held = sorted({character for character in value if character in self.separators})
        if held:
            raise ConfigError.of(
                variable,
                f"holds {', '.join(map(repr, held))}, a separator of {self.setting} "
                f"({values.shown(self.text)}): expected a value without "
                f"{', '.join(map(repr, sorted(self.separators)))}, so that no other "
                "workspace's sub can be spelled with it",
            )


def given_by(env: Mapping[str, str], phase: str | None) -> dict[str, str | None]:
    """The values the placeholders take in a job's environment, as `check` reads them."""
    given: dict[str, str | None] = {
        name: env.get(variable) for name, variable in PLACEHOLDERS.items() if name != PHASE
    }
    return {**given, PHASE: phase}


def parse(text: str, setting: str = SETTING) -> SubjectTemplate:
    """The template, checked. Raises ConfigError naming `setting`."""
    text = values.text(setting, text, _FORM, max_length=MAX_LENGTH)
    pieces = _PLACEHOLDER.split(text)
    literals, names = tuple(pieces[0::2]), tuple(pieces[1::2])
    problems = Problems()
    stray = [literal for literal in literals if "{" in literal or "}" in literal]
    if stray:
        problems.add(setting, f"has an unmatched '{{' or '}}': expected {_FORM}")
    unknown = sorted({name for name in names if name not in PLACEHOLDERS})
    if unknown:
        problems.add(
            setting,
            f"has unknown placeholder(s) {', '.join(f'{{{name}}}' for name in unknown)}: "
            f"expected {_FORM}",
        )
    for choices in _REQUIRED:
        if not any(choice in names for choice in choices):
            either = " or ".join(f"{{{choice}}}" for choice in choices)
            problems.add(setting, f"names no {either}: every workspace would share one sub")
    separators: set[str] = set()
    for index, literal in enumerate(literals):
        after, before = index > 0, index < len(names)  # touches a placeholder on that side
        if after and before and not literal:
            problems.add(setting, f"has two placeholders side by side: expected {_FORM}")
            continue
        edges = [literal[0]] if after and literal else []
        edges += [literal[-1]] if before and literal else []
        if any(not _is_separator(edge) for edge in edges):
            problems.add(
                setting,
                f"has a placeholder next to a letter or digit in {values.shown(literal)}: "
                f"expected {_FORM}",
            )
            continue
        separators.update(edges)
    problems.raise_if_any()
    return SubjectTemplate(text, literals, names, frozenset(separators), setting)


def from_env(env: Mapping[str, str]) -> SubjectTemplate:
    value = values.optional(env, SETTING)
    return parse(DEFAULT if value is None else value)


DEFAULT_TEMPLATE = parse(DEFAULT)
