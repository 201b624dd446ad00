"""The clouds injector can log in to, and the face each one shows (`Cloud`).

Adding a cloud means its module (a `CLOUD`, and its config deriving from `CloudConfig`) and
one line in `REGISTRY`, which names the module and the cloud's switch: a cloud's module is
imported only when something asks for it, so a job loads the clouds it switched on and no
other (`switched`), the dry run and `doctor` all of them (`registered`). Everything outside
this package reads the registry through these functions, never a cloud by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from injector.clouds.base import ALIAS_PREFIX, Cloud, CloudConfig, CloudOf, CloudOutputs
from injector.clouds.facets import (
    Exchanged,
    Hcp,
    Lease,
    Rivals,
    SdkLogin,
    ServedToken,
    TokenFileCache,
)
from injector.clouds.rules import CloudRules
from injector.config import values

__all__ = [
    "BESIDE",
    "REGISTRY",
    "Cloud",
    "CloudConfig",
    "CloudOf",
    "CloudOutputs",
    "CloudRules",
    "Exchanged",
    "Hcp",
    "Lease",
    "Registered",
    "Rivals",
    "SdkLogin",
    "ServedToken",
    "TokenFileCache",
    "any_rules",
    "guess",
    "labels",
    "longer_switches",
    "named",
    "names",
    "registered",
    "switched",
    "switches",
    "under",
]

# HCP Terraform's names for a cloud's variables start with these and the cloud's name
# (clouds.hcp): `TFC_AWS_PROVIDER_AUTH` switches AWS on as well.
_HCP_HEADS = ("TFC_", "TFC_DEFAULT_")


@dataclass(frozen=True)
class Registered:
    """One registry line: the cloud's name, its label, its switch and the module whose `CLOUD`
    it is, imported on first use."""

    name: str
    label: str
    switch: str
    module: str

    @property
    def alias(self) -> str:
        return f"{ALIAS_PREFIX}{self.name.upper()}"

    def switched(self, env: Mapping[str, str]) -> bool:
        """Whether `env` has a variable that may switch the cloud on, under any of its names
        (injector's, its alias, HCP's, with or without a tag): the cloud must then be read to
        say. Its own switch set to a false word (`false`, `0`, ...) switches nothing on, so
        alone it loads nothing; any other value, a bad one included, is the cloud's to read."""
        heads = (self.switch, self.alias, *(f"{h}{self.name.upper()}_" for h in _HCP_HEADS))
        longer = self.longer_switches()
        return any(
            name.startswith(heads)
            and not (name in (self.switch, self.alias) and values.false_word(value))
            and not under(name, longer)
            for name, value in env.items()
        )

    def longer_switches(self) -> tuple[str, ...]:
        """Other clouds' switches that start as this one's does
        (`ENABLE_DYNAMIC_CREDENTIALS_VAULT_BACKED_AWS` under `..._VAULT`): theirs, not this
        cloud's tags."""
        mine = (f"{self.switch}_", f"{self.alias}_")
        return tuple(
            name
            for line in REGISTRY
            if line is not self
            for name in (line.switch, line.alias)
            if name.startswith(mine)
        )

    def load(self) -> Cloud:
        # The import statement's own path (not importlib.import_module, which bypasses it), so
        # that `-X importtime` and `make bench` show each cloud's module under its own name.
        cloud: Cloud = __import__(self.module, fromlist=("CLOUD",)).CLOUD
        return cloud


REGISTRY: tuple[Registered, ...] = (
    Registered("aws", "AWS", "ENABLE_DYNAMIC_CREDENTIALS_AWS", "injector.clouds.aws"),
    Registered("azure", "Azure", "ENABLE_DYNAMIC_CREDENTIALS_AZURE", "injector.clouds.azure"),
    Registered("gcp", "GCP", "ENABLE_DYNAMIC_CREDENTIALS_GCP", "injector.clouds.gcp"),
    Registered("vault", "Vault", "ENABLE_DYNAMIC_CREDENTIALS_VAULT", "injector.clouds.vault"),
    Registered(
        "kubernetes",
        "Kubernetes",
        "ENABLE_DYNAMIC_CREDENTIALS_KUBERNETES",
        "injector.clouds.kubernetes",
    ),
    Registered(
        "vault_backed_aws",
        "Vault-backed AWS",
        "ENABLE_DYNAMIC_CREDENTIALS_VAULT_BACKED_AWS",
        "injector.clouds.vault_backed_aws",
    ),
)
# Configurations read by the settings beside the registry (no switch, nothing in the example
# workspace): HCP's manual generation. `named` finds them, `registered` does not list them.
BESIDE: tuple[Registered, ...] = (
    Registered(
        "workload", "Manual generation", "TFC_WORKLOAD_IDENTITY_AUDIENCE", "injector.clouds.manual"
    ),
)


def registered() -> tuple[Cloud, ...]:
    """Every cloud, in the order their tokens, files and lines appear (all of them loaded)."""
    return tuple(line.load() for line in REGISTRY)


def switched(env: Mapping[str, str]) -> tuple[Cloud, ...]:
    """The clouds `env` may switch on (see `Registered.switched`), in the registry's order:
    the only ones a job needs to load."""
    return tuple(line.load() for line in REGISTRY if line.switched(env))


def names() -> tuple[str, ...]:
    """Every cloud's name, in the registry's order (nothing loaded)."""
    return tuple(line.name for line in REGISTRY)


def labels() -> tuple[str, ...]:
    """Every cloud's label, in the registry's order (nothing loaded)."""
    return tuple(line.label for line in REGISTRY)


def under(name: str, switches: tuple[str, ...]) -> bool:
    """Whether `name` is one of `switches` or a tagged form of one (`<switch>_<TAG>`)."""
    return any(name == switch or name.startswith(f"{switch}_") for switch in switches)


def longer_switches(name: str) -> tuple[str, ...]:
    """`Registered.longer_switches` of the registered cloud called `name` (nothing loaded)."""
    return next((line.longer_switches() for line in REGISTRY if line.name == name), ())


def named(name: str) -> Cloud:
    """The cloud called `name` (only its module loaded). Raises KeyError for a name no cloud
    has."""
    for line in (*REGISTRY, *BESIDE):
        if line.name == name:
            return line.load()
    raise KeyError(name)


def guess(audience: object) -> Cloud | None:
    """The cloud a token is meant for, told from its `aud`; None when it cannot be told."""
    if not isinstance(audience, str):
        return None
    return next((cloud for cloud in registered() if cloud.rules.checks.recognizes(audience)), None)


def any_rules() -> CloudRules:
    """For a token whose cloud is unknown: what any cloud accepts, the codes of all of them."""
    from injector.clouds.rules import combined

    return combined(tuple(cloud.rules for cloud in registered()), any_of=True)


def switches() -> str:
    """The switch variables for messages: `ENABLE_X_AWS, _AZURE or _GCP`, the prefix they
    share written once."""
    names = [line.switch for line in REGISTRY]
    prefix = names[0]
    for name in names[1:]:
        while not name.startswith(prefix):
            prefix = prefix[:-1]
    cut = prefix.rfind("_")  # keep the `_` that starts each shortened name
    parts = [names[0]] + [name[cut:] if cut > 0 else name for name in names[1:]]
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} or {parts[-1]}"
