"""The signer's `--policy` file: TOML `[[allow]]` entries (and `[[attestation]]` tables), read
into a signer.policy.Policy; every problem listed at once, before the signer listens.

    [[allow]]
    uid = 1000                      # or user = "runner"; gid = ... or group = "..." also
    subjects = ["organization:simple:workspace:*"]     # globs over the rendered `sub`
    audiences = ["aws.workload.identity"]              # optional globs; absent: any audience
    max_ttl_minutes = 15                               # optional cap below the signer's TTL

An entry that names a glob of subjects lets its callers name the workspace (the request carries
the job context): one uid then mints for every workspace the glob covers. Such an entry is
refused at start unless it says `caller_names_context = true` (a warning at start, and its
decisions are marked caller-named in the audit), or `attestation = "<name>"`: then the job
context and phase come from a platform token the signer verified (see signer.attestation and
the `[[attestation]]` tables), `claims = { ref = "refs/heads/*" }` adds globs over that
token's claims, and the uid/gid keys become optional (an HTTPS caller has none).
"""

from __future__ import annotations

import grp
import pwd
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from injector.config.issuer_settings import MAX_TTL_MINUTES
from injector.errors import ConfigError, Problems
from injector.signer.policy import Entry, Policy

if TYPE_CHECKING:
    from injector.signer.attestation.verify import Attestation

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover (Python 3.10)
    import tomli as tomllib

OPTION = "--policy"
_KEYS = frozenset(
    {
        "uid",
        "user",
        "gid",
        "group",
        "subjects",
        "audiences",
        "max_ttl_minutes",
        "attestation",
        "claims",
        "caller_names_context",
    }
)
_GLOB = frozenset("*?[")


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
    attestation = table.get("attestation")
    if attestation is not None and not (isinstance(attestation, str) and attestation):
        problems.add(f"{name} attestation", "expected the name of an [[attestation]] table")
    if attestation is None and not any(key in table for key in ("uid", "user", "gid", "group")):
        problems.add(name, "names no caller: expected uid, user, gid, group or attestation")
    opted = table.get("caller_names_context", False)
    if not isinstance(opted, bool):
        problems.add(f"{name} caller_names_context", "expected true or false")
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
    claims = problems.get((), _claim_globs, f"{name} claims", table.get("claims", {}))
    if claims and attestation is None:
        problems.add(f"{name} claims", "needs attestation: claims are those of a platform token")
    globbed = [glob for glob in subjects if _GLOB & set(glob)]
    if attestation is None and globbed and opted is not True and "subjects" in table:
        problems.add(
            f"{name} subjects",
            f"{globbed[0]!r} is a glob, and without attestation the caller names the workspace "
            "and phase it asks for: expected exact subjects (one uid, one workspace), "
            'attestation = "<name>", or caller_names_context = true to accept that risk',
        )
    problems.raise_if_any()
    return Entry(
        number,
        chosen["uid"],
        chosen["gid"],
        subjects,
        audiences,
        ttl,
        attestation=attestation,
        claims=claims,
        caller_names_context=opted is True,
    )


def _claim_globs(name: str, value: object) -> tuple[tuple[str, tuple[str, ...]], ...]:
    form = 'a table of claim = "glob" or claim = ["glob", ...]'
    if not isinstance(value, dict):
        raise ConfigError.of(name, f"expected {form}")
    found = []
    for claim, globs in value.items():
        listed = [globs] if isinstance(globs, str) else globs
        if (
            not isinstance(listed, list)
            or not listed
            or not all(isinstance(glob, str) and glob for glob in listed)
        ):
            raise ConfigError.of(f"{name} {claim}", f"expected {form}")
        found.append((claim, tuple(listed)))
    return tuple(found)


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
    unknown = sorted(set(document) - {"allow", "attestation"})
    if unknown:
        problems.add(
            where,
            f"unknown table(s) {', '.join(unknown)}: expected [[allow]] and [[attestation]]",
        )
    attestations = (
        problems.get((), _attestations, where, document["attestation"])
        if "attestation" in document
        else ()
    )
    tables = document.get("allow", [])
    if not isinstance(tables, list) or not tables:
        problems.add(where, "has no [[allow]] entry: every request would be refused")
        tables = []
    entries = [
        entry
        for number, table in enumerate(tables, start=1)
        if (entry := problems.run(_entry, where, number, table)) is not None
    ]
    names = {attestation.name for attestation in attestations}
    for entry in entries:
        if entry.attestation is not None and entry.attestation not in names and attestations:
            problems.add(
                f"{where} [[allow]] #{entry.number} attestation",
                f"names {entry.attestation!r}: expected one of {', '.join(sorted(names))}",
            )
        elif entry.attestation is not None and not attestations:
            problems.add(
                f"{where} [[allow]] #{entry.number} attestation",
                f"names {entry.attestation!r}, but the policy has no [[attestation]] table",
            )
    problems.raise_if_any()
    return Policy(tuple(entries), str(path), attestations)


def _attestations(where: str, tables: Any) -> tuple[Attestation, ...]:
    """Imported here: only a policy with attestations needs pyjwt and httpx (the signer extra)."""
    from injector.errors import require_modules

    require_modules("injector signer [[attestation]]", "signer", ("jwt", "httpx"))
    from injector.signer.attestation import settings

    return settings.load(where, tables)
