"""A cloud's optional facets, each a small record its `CloudOf` holds when the cloud has that
part: the credentials that would win over the web identity (`Rivals`), HCP Terraform's names
(`Hcp`), how an SDK caches or pulls the token (`TokenFileCache`, `ServedToken`) and how `doctor
--login` logs in (`SdkLogin`). A login injector performs itself is clouds.exchange_facet; what
it gives (`Exchanged`, its `Lease`) is here, as the job reads it whichever clouds are on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


def _same(value: str) -> str:
    return value


@dataclass(frozen=True)
class HcpName:
    """One of HCP Terraform's names for a variable of the cloud: `TFC_<CLOUD>_<name>` (with
    `_<TAG>` after it, and `TFC_DEFAULT_<CLOUD>_<name>` for every configuration). A `name`
    starting `RUN_` has phase forms too (`TFC_AWS_PLAN_ROLE_ARN`). With `parts`, several of
    HCP's variables (all or none) make the value, through `join`."""

    variable: str  # injector's name
    name: str
    convert: Callable[[str], str] = _same  # HCP's value in injector's form
    canonical: Callable[[str], str] = _same  # for telling two spellings of one value apart
    parts: tuple[str, ...] = ()
    join: Callable[[list[str]], str] | None = None
    # False: a message never quotes the value (it may hold a private key pasted by mistake).
    quoted: bool = True


@dataclass(frozen=True)
class TerraformShape:
    """One configuration's object in HCP's variable, and the files it names that the cloud's
    usual outputs do not write."""

    value: dict[str, str]
    files: dict[Path, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Hcp:
    """HCP Terraform's face of a cloud: its names for the cloud's variables, read as
    alternatives (clouds.hcp), and the variable `tfc_<cloud>_dynamic_credentials` through
    which it hands the cloud's configurations to Terraform code (an object with `default` and
    `aliases` by tag, each a configuration's `terraform_value`)."""

    names: tuple[HcpName, ...]

    def variable(self, cloud: str) -> str:
        return f"tfc_{cloud}_dynamic_credentials"


@dataclass(frozen=True)
class TokenFileCache:
    """An SDK that keeps what it read from the token file for `seconds` before reading it again:
    a refreshed token reaches it only that much later."""

    reader: str
    seconds: int


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
class Exchanged:
    """What a cloud's own exchange of the minted token gave (a Vault login): exports that are
    safe to show, exports that are secrets (`VAULT_TOKEN`), files (each 0600) and the lease."""

    exports: dict[str, str]
    secrets: dict[str, str] = field(repr=False)
    files: dict[Path, bytes] = field(repr=False)
    lease: Lease


@dataclass(frozen=True)
class Conflict:
    """Credentials from outside the variables injector exports that an SDK would prefer over
    the web identity (a profile in a config file...). `variable` is what a refusal names;
    `dropped` the variables that lead there, which `injector run` removes from its command's
    environment (empty when nothing but the defaults does). Never holds a secret."""

    variable: str
    detail: str
    fix: str
    dropped: tuple[str, ...] = ()


def _no_conflicts(_env: Mapping[str, str]) -> list[Conflict]:
    return []


@dataclass(frozen=True)
class ServedToken:
    """How a cloud's SDKs pull a fresh token over HTTP from `injector run --token-endpoint`,
    instead of reading a file once (azurerm) or to be told where to ask (GCP's url source).

    `body` is the endpoint's answer for a token, in the shape the SDK parses; each
    configuration's `served_outputs` points the SDK at the endpoint instead of the file."""

    body: Callable[[str], bytes]
    # For README and logs: which variables or files point the SDK at the endpoint.
    exported: str = ""


# What a login check says: {"ok": True, "detail": ...} or {"ok": False, "code": ...,
# "message": ...}; never a token.
LoginOutcome = dict[str, object]


@dataclass(frozen=True)
class Rivals:
    """Credentials an SDK would prefer over the web identity, so that the job would quietly
    run with them: variables (`static`), and what leads to others (`conflicts`: files,
    profiles). `preferred_by` names the SDKs, for the refusal."""

    preferred_by: str
    static: tuple[str, ...] = ()
    conflicts: Callable[[Mapping[str, str]], list[Conflict]] = _no_conflicts
    # Variables by which the SDKs find an identity, which the usual outputs set: inherited
    # where a mode does not set them, they would win (clouds.inherited).
    identity: tuple[str, ...] = ()
    # Clouds whose untagged configuration gives the same SDKs an identity they take before
    # this cloud's untagged one: both in one job are refused (clouds.crossed).
    yields_to: tuple[str, ...] = ()

    def static_set(self, env: Mapping[str, str]) -> list[str]:
        """The `static` variables `env` gives a value (names only: the values are secrets)."""
        return [name for name in self.static if env.get(name)]


NO_RIVALS = Rivals(preferred_by="")


@dataclass(frozen=True)
class SdkLogin:
    """How `doctor --login` logs in through the cloud's own SDK: `check` runs in a child process
    fed only the exports (and the variables `passed_on`), and imports the SDK."""

    sdk: str
    check: Callable[[], LoginOutcome]
    passed_on: tuple[str, ...] = ()
