"""The clouds injector can log in to, and the face each one shows (`Cloud`).

Adding a cloud means its module (a `CLOUD`) and one line in `CLOUDS`. Everything outside this
package reads the registry through `registered()` and `named()`, never a cloud by name.
"""

from __future__ import annotations

from injector.clouds import aws, azure, gcp, kubernetes, manual, vault
from injector.clouds.base import (
    Cloud,
    CloudConfig,
    CloudOutputs,
    Exchanged,
    Finding,
    Lease,
    ServedToken,
    TokenFileCache,
)
from injector.clouds.rules import CloudRules

__all__ = [
    "CLOUDS",
    "Cloud",
    "CloudConfig",
    "CloudOutputs",
    "CloudRules",
    "Exchanged",
    "Finding",
    "Lease",
    "ServedToken",
    "TokenFileCache",
    "any_rules",
    "guess",
    "named",
    "registered",
    "switches",
]

CLOUDS: tuple[Cloud, ...] = (aws.CLOUD, azure.CLOUD, gcp.CLOUD, vault.CLOUD, kubernetes.CLOUD)
# Configurations read by the settings beside the registry (no switch, nothing in the example
# workspace): HCP's manual generation. `named` finds them, `registered` does not list them.
BESIDE: tuple[Cloud, ...] = (manual.CLOUD,)


def registered() -> tuple[Cloud, ...]:
    """Every cloud, in the order their tokens, files and lines appear."""
    return CLOUDS


def named(name: str) -> Cloud:
    """The cloud called `name`. Raises KeyError for a name no cloud has."""
    for cloud in (*registered(), *BESIDE):
        if cloud.name == name:
            return cloud
    raise KeyError(name)


def guess(audience: object) -> Cloud | None:
    """The cloud a token is meant for, told from its `aud`; None when it cannot be told."""
    if not isinstance(audience, str):
        return None
    return next((cloud for cloud in registered() if cloud.rules.recognizes(audience)), None)


def any_rules() -> CloudRules:
    """For a token whose cloud is unknown: what any cloud accepts, the codes of all of them."""
    from injector.clouds.rules import combined

    return combined(tuple(cloud.rules for cloud in registered()), any_of=True)


def switches() -> str:
    """The switch variables for messages: `ENABLE_X_AWS, _AZURE or _GCP`, the prefix they
    share written once."""
    names = [cloud.switch for cloud in registered()]
    prefix = names[0]
    for name in names[1:]:
        while not name.startswith(prefix):
            prefix = prefix[:-1]
    cut = prefix.rfind("_")  # keep the `_` that starts each shortened name
    parts = [names[0]] + [name[cut:] if cut > 0 else name for name in names[1:]]
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} or {parts[-1]}"
