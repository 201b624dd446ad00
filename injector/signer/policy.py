"""Who may mint what: the signer's policy, its `[[allow]]` entries in order, default deny
(read from the `--policy` file by signer.policy_file).

An entry names its callers by uid/user and/or gid/group (all given must match the caller's
kernel credentials; a gid/group matches the caller's effective group or any of its
supplementary groups, the kernel's record at connect(): SO_PEERGROUPS). For each
audience of a request, the first entry that matches the caller, the `sub` and that audience
decides; a request any of whose audiences no entry allows is refused whole.

An entry whose callers name the workspace they mint for (`caller_names_context`) is warned
about at start, and its decisions are marked caller-named in the audit. An entry with an
`attestation` takes the job context and phase from a platform token the signer verified (see
signer.attestation), its `claims` globs over that token's claims.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from injector.config import subject
from injector.errors import Problems

if TYPE_CHECKING:
    from injector.config.subject import SubjectTemplate
    from injector.signer.attestation.verify import Attestation, Attested


@dataclass(frozen=True)
class Entry:
    number: int  # 1-based position in the file, for messages and the audit line
    uid: int | None
    gid: int | None
    subjects: tuple[str, ...]
    audiences: tuple[str, ...] | None
    max_ttl_minutes: int | None
    attestation: str | None = None  # the [[attestation]] whose tokens this entry takes
    claims: tuple[tuple[str, tuple[str, ...]], ...] = ()  # claim name, globs over its value
    caller_names_context: bool = False

    @property
    def caller_named(self) -> bool:
        """Whether the caller's request names the job this entry mints for."""
        return self.attestation is None and self.caller_names_context

    def allows(
        self,
        uid: int | None,
        gid: int | None,
        subject: str,
        audience: str,
        groups: frozenset[int] = frozenset(),
        attested: Attested | None = None,
    ) -> bool:
        """Whether this entry allows the caller (uid/gid None: an HTTPS caller, which only an
        attested entry without uid/gid can allow) this `sub` and `aud`, attested or not."""
        if (attested is None) != (self.attestation is None):
            return False
        if attested is not None and (
            attested.attestation.name != self.attestation or not self._claims_match(attested)
        ):
            return False
        return (
            (self.uid is None or self.uid == uid)
            and (self.gid is None or self.gid == gid or self.gid in groups)
            and any(fnmatch.fnmatchcase(subject, glob) for glob in self.subjects)
            and (
                self.audiences is None
                or any(fnmatch.fnmatchcase(audience, glob) for glob in self.audiences)
            )
        )

    def _claims_match(self, attested: Attested) -> bool:
        from injector.signer.attestation.kinds import claim

        for name, globs in self.claims:
            value = claim(attested.claims, name)
            if value is None or not any(fnmatch.fnmatchcase(value, glob) for glob in globs):
                return False
        return True


@dataclass(frozen=True)
class Policy:
    entries: tuple[Entry, ...]
    source: str  # the file, or what stands in for one
    attestations: tuple[Attestation, ...] = field(default=())

    @property
    def caller_named(self) -> tuple[Entry, ...]:
        """The entries whose callers name their job context (warned about at start)."""
        return tuple(entry for entry in self.entries if entry.caller_named)

    @property
    def names_groups(self) -> bool:
        """Whether any entry names a group: only then are a caller's groups worth reading."""
        return any(entry.gid is not None for entry in self.entries)

    def decide(
        self,
        uid: int | None,
        gid: int | None,
        subject: str,
        audience: str,
        groups: frozenset[int] = frozenset(),
        attested: Attested | None = None,
    ) -> Entry | None:
        """The first entry that allows this caller (effective `gid`, supplementary `groups`,
        the platform token it presented) this `sub` and `aud`; None: refused."""
        for entry in self.entries:
            if entry.allows(uid, gid, subject, audience, groups, attested):
                return entry
        return None


def warn_caller_named(chosen: Policy, log: logging.Logger) -> None:
    """Say at start which entries let their callers name the workspace they mint for."""
    for entry in chosen.caller_named:
        log.warning(
            "%s [[allow]] #%d: caller_names_context = true: its callers name the workspace "
            "and phase they mint for within %s (their decisions are marked caller_named in "
            "the audit); an [[attestation]] takes them from the platform instead",
            chosen.source,
            entry.number,
            ", ".join(entry.subjects),
        )


def check_phases(chosen: Policy, template: SubjectTemplate) -> None:
    """Refuse (ConfigError, naming each) the attestations that would take the signer's `{phase}`
    template and attest no phase: every token of theirs would be refused."""
    if not template.uses_phase:
        return
    problems = Problems()
    for attestation in chosen.attestations:
        if attestation.apply_values is None and attestation.subject_template is None:
            problems.add(
                f"{chosen.source} [[attestation]] {attestation.name!r}",
                f"attests no phase (it has no phases), and the signer's {subject.SETTING} uses "
                f"{{{subject.PHASE}}}: every token of it would be refused; expected phases = "
                f"{{ apply = [...] }}, or its own subject_template without {{{subject.PHASE}}} "
                f'(such as subject_template = "{subject.DEFAULT}")',
            )
    problems.raise_if_any()


def own_user() -> Policy:
    """Without --policy: only the signer's own uid, which could read the key anyway."""
    # The signer's own uid could read the key: naming its context is no new power.
    entry = Entry(1, os.getuid(), None, ("*",), None, None, caller_names_context=True)
    return Policy((entry,), f"the default policy (uid {os.getuid()} only)")
