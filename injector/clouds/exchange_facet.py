"""The facet of a cloud whose credential injector obtains itself with the minted token (Vault's
login) rather than through the SDK: `Exchange`, and what `doctor` finds about its endpoint
(`Finding`). Only such a cloud's module and `doctor` load it; what the exchange gives
(`Exchanged`, `Lease`) is in clouds.facets, as the job reads it whichever clouds are on.
"""

from __future__ import annotations

from dataclasses import dataclass


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
