"""The facet of a cloud whose credential injector obtains itself with the minted token (Vault's
login) rather than through the SDK: `Exchange`, the `Lease` its credential lives under, and what
`doctor` finds about its endpoint (`Finding`). Only such a cloud's module and `doctor` load it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Lease(Protocol):
    """A credential obtained job-side (a Vault token): how long it lives, how to extend it and
    how to end it. Never shows the credential itself."""

    @property
    def ttl_seconds(self) -> int: ...

    @property
    def renewable(self) -> bool: ...

    def renew(self) -> int:
        """Extend it; the new TTL in seconds (less than asked once a maximum TTL nears)."""
        ...

    def revoke(self) -> None: ...

    def describe(self) -> str:
        """What it is, for a log or doctor line: never the secret."""
        ...


@dataclass(frozen=True)
class Finding:
    """One line of what `doctor` finds about a cloud's endpoint before any login."""

    rule: str
    ok: bool
    message: str
    code: str | None = None


@dataclass(frozen=True)
class Exchange:
    """A cloud whose credential injector obtains itself with the minted token (Vault's login)
    rather than the SDK: `env`, `run` and `hook` call each configuration's `exchange` once the
    token is minted, `doctor` its `preflight` (and `doctor --login` the exchange itself)."""

    sdk: str  # what injector exchanges the token through, for doctor's lines
