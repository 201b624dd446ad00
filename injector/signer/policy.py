"""Who may mint what: the signer's policy, a TOML file of `[[allow]]` entries, default deny.

    [[allow]]
    uid = 1000                      # or user = "runner"; gid = ... or group = "..." also
    subjects = ["organization:simple:workspace:*"]     # globs over the rendered `sub`
    audiences = ["aws.workload.identity"]              # optional globs; absent: any audience
    max_ttl_minutes = 15                               # optional cap below the signer's TTL

An entry names its callers by uid/user and/or gid/group (all given must match the caller's
kernel credentials; a gid/group matches the caller's effective group or any of its
supplementary groups, read from /proc under the pid-reuse guard). For each
audience of a request, the first entry that matches the caller, the `sub` and that audience
decides; a request any of whose audiences no entry allows is refused whole.
"""

from __future__ import annotations

import fnmatch
import grp
import os
import pwd
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from injector.config.issuer_settings import MAX_TTL_MINUTES
from injector.errors import ConfigError, Problems

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover (Python 3.10)
    import tomli as tomllib

OPTION = "--policy"
_KEYS = frozenset({"uid", "user", "gid", "group", "subjects", "audiences", "max_ttl_minutes"})


@dataclass(frozen=True)
class Entry:
    number: int  # 1-based position in the file, for messages and the audit line
    uid: int | None
    gid: int | None
    subjects: tuple[str, ...]
    audiences: tuple[str, ...] | None
    max_ttl_minutes: int | None

    def allows(
        self, uid: int, gid: int, subject: str, audience: str, groups: frozenset[int] = frozenset()
    ) -> bool:
        return (
            (self.uid is None or self.uid == uid)
            and (self.gid is None or self.gid == gid or self.gid in groups)
            and any(fnmatch.fnmatchcase(subject, glob) for glob in self.subjects)
            and (
                self.audiences is None
                or any(fnmatch.fnmatchcase(audience, glob) for glob in self.audiences)
            )
        )


@dataclass(frozen=True)
class Policy:
    entries: tuple[Entry, ...]
    source: str  # the file, or what stands in for one

    @property
    def names_groups(self) -> bool:
        """Whether any entry names a group: only then are a caller's groups worth reading."""
        return any(entry.gid is not None for entry in self.entries)

    def decide(
        self, uid: int, gid: int, subject: str, audience: str, groups: frozenset[int] = frozenset()
    ) -> Entry | None:
        """The first entry that allows this caller (effective `gid`, supplementary `groups`)
        this `sub` and `aud`; None: refused."""
        for entry in self.entries:
            if entry.allows(uid, gid, subject, audience, groups):
                return entry
        return None


def own_user() -> Policy:
    """Without --policy: only the signer's own uid, which could read the key anyway."""
    entry = Entry(1, os.getuid(), None, ("*",), None, None)
    return Policy((entry,), f"the default policy (uid {os.getuid()} only)")


def _strings(name: str, value: object) -> tuple[str, ...]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(item, str) and item for item in value)
    ):
        raise ConfigError.of(name, "expected a non-empty list of non-empty strings")
    return tuple(value)


def _id(name: str, value: object, lookup: Mapping[str, int] | None, kind: str) -> int:
    if lookup is None:  # uid / gid: a number
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError.of(name, f"expected a {kind} number (0 or more)")
        return value
    if not isinstance(value, str) or value not in lookup:
        raise ConfigError.of(name, f"expected the name of an existing {kind}, got {value!r}")
    return lookup[value]


def _users() -> dict[str, int]:
    return {entry.pw_name: entry.pw_uid for entry in pwd.getpwall()}


def _groups() -> dict[str, int]:
    return {entry.gr_name: entry.gr_gid for entry in grp.getgrall()}


def _entry(where: str, number: int, table: object) -> Entry:
    name = f"{where} [[allow]] #{number}"
    if not isinstance(table, dict):
        raise ConfigError.of(name, "expected a table")
    problems = Problems()
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        problems.add(
            name, f"unknown key(s) {', '.join(unknown)}: expected {', '.join(sorted(_KEYS))}"
        )
    chosen: dict[str, int | None] = {"uid": None, "gid": None}
    for number_key, name_key, lookup, kind in (
        ("uid", "user", _users, "user"),
        ("gid", "group", _groups, "group"),
    ):
        if number_key in table and name_key in table:
            problems.add(name, f"{number_key} and {name_key} both given: expected one of them")
        elif number_key in table:
            chosen[number_key] = problems.get(
                None, _id, f"{name} {number_key}", table[number_key], None, kind
            )
        elif name_key in table:
            chosen[number_key] = problems.get(
                None, _id, f"{name} {name_key}", table[name_key], lookup(), kind
            )
    if not any(key in table for key in ("uid", "user", "gid", "group")):
        problems.add(name, "names no caller: expected uid, user, gid or group")
    if "subjects" not in table:
        problems.add(f"{name} subjects", "is required: expected a list of globs over sub")
    subjects = problems.get((), _strings, f"{name} subjects", table.get("subjects", ["*"]))
    audiences = (
        problems.get(None, _strings, f"{name} audiences", table["audiences"])
        if "audiences" in table
        else None
    )
    ttl = table.get("max_ttl_minutes")
    if ttl is not None and (
        not isinstance(ttl, int) or isinstance(ttl, bool) or not 1 <= ttl <= MAX_TTL_MINUTES
    ):
        problems.add(
            f"{name} max_ttl_minutes", f"expected a whole number from 1 to {MAX_TTL_MINUTES}"
        )
    problems.raise_if_any()
    return Entry(number, chosen["uid"], chosen["gid"], subjects, audiences, ttl)


def load(path: Path) -> Policy:
    """The policy in `path`; raises ConfigError listing every problem (exit 2 before the signer
    listens)."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError.of(OPTION, f"cannot read {path}: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError.of(OPTION, f"{path} is not valid TOML: {error}") from None
    where = f"{OPTION} {path}"
    problems = Problems()
    unknown = sorted(set(document) - {"allow"})
    if unknown:
        problems.add(where, f"unknown table(s) {', '.join(unknown)}: expected [[allow]] entries")
    tables = document.get("allow", [])
    if not isinstance(tables, list) or not tables:
        problems.add(where, "has no [[allow]] entry: every request would be refused")
        tables = []
    entries = [
        entry
        for number, table in enumerate(tables, start=1)
        if (entry := problems.run(_entry, where, number, table)) is not None
    ]
    problems.raise_if_any()
    return Policy(tuple(entries), str(path))
