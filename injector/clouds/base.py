"""The face every cloud shows: what it is called, which variables switch it on and configure it,
what it refuses, the rules it applies to a token, and how its SDK logs in. A cloud module fills
one `Cloud`; the rest of injector reads only this face.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from injector.clouds.rules import CloudRules
from injector.config import values
from injector.config.job_context import JobContext
from injector.errors import ConfigError, Problems


@dataclass(frozen=True)
class CloudOutputs:
    """What one cloud needs on disk and in the environment, besides its token file."""

    exports: dict[str, str]
    extra_files: dict[Path, bytes] = field(default_factory=dict)


ALIAS_PREFIX = "INJECTOR_ENABLE_"


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


# Comma-separated clouds that must be enabled, or the job stops (the `--require` option).
REQUIRE = "INJECTOR_REQUIRE"


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
class Finding:
    """One line of what `doctor` finds about a cloud's endpoint before any login."""

    rule: str
    ok: bool
    message: str
    code: str | None = None


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


NO_RIVALS = Rivals(preferred_by="")


@dataclass(frozen=True)
class SdkLogin:
    """How `doctor --login` logs in through the cloud's own SDK: `check` runs in a child process
    fed only the exports (and the variables `passed_on`), and imports the SDK."""

    sdk: str
    check: Callable[[], LoginOutcome]
    passed_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Exchange:
    """A cloud whose credential injector obtains itself with the minted token (Vault's login)
    rather than the SDK: `env`, `run` and `hook` call each configuration's `exchange` once the
    token is minted, `doctor` its `preflight` (and `doctor --login` the exchange itself)."""

    sdk: str  # what injector exchanges the token through, for doctor's lines


ConfigT = TypeVar("ConfigT", bound="CloudConfig")


@dataclass(frozen=True)
class CloudOf(Generic[ConfigT]):
    """One cloud, as its module describes it: what every cloud has, then its optional facets.
    `ConfigT` is its configuration's type, which `read` gives and `gather` takes."""

    name: str  # `--cloud` value, token file name, prefix of doctor's lines
    label: str  # in messages and help
    switch: str  # the variable that turns dynamic credentials on
    read: Callable[[Mapping[str, str]], ConfigT]  # the config, once switched on
    rules: CloudRules
    rivals: Rivals = NO_RIVALS
    # Variables whose `_PLAN` / `_APPLY` forms override them in that phase: the identity.
    phased: tuple[str, ...] = ()
    # The example workspace's values for this cloud (`injector --example`, `make run`).
    example: Mapping[str, str] = field(default_factory=dict)
    # Every other variable the cloud reads, for the warning about a misspelt one.
    variables: tuple[str, ...] = ()
    # Variables that take a `_<TAG>` suffix for a configuration of its own (with the switch,
    # its alias and the phased ones); empty: the cloud has one configuration only.
    tagged: tuple[str, ...] = ()
    # Every configuration of the cloud at once, for a cloud whose configurations share
    # something (AWS: one config file with a profile per tag); returns them, amended.
    gather: Callable[[tuple[ConfigT, ...]], tuple[ConfigT, ...]] | None = None
    token_file_cache: TokenFileCache | None = None
    served_token: ServedToken | None = None  # None: its SDKs re-read the token file
    hcp: Hcp | None = None
    login: SdkLogin | None = None
    exchange: Exchange | None = None

    @property
    def alias(self) -> str:
        """The other name of the switch, `INJECTOR_ENABLE_<NAME>`: inside Terrakube 2.21 and
        later the `switch` name also turns on Terrakube's own credentials."""
        return f"{ALIAS_PREFIX}{self.name.upper()}"

    @property
    def sdk(self) -> str:
        """What `doctor --login` logs in through; empty for a cloud it cannot log in to."""
        facet = self.login or self.exchange
        return facet.sdk if facet is not None else ""

    def known_variables(self) -> tuple[str, ...]:
        """Every variable this cloud reads, its phase overrides included."""
        phase_forms = (f"{name}_{phase}" for name in self.phased for phase in ("PLAN", "APPLY"))
        return (self.switch, self.alias, *self.variables, *self.phased, *phase_forms)

    def taking_tags(self) -> tuple[str, ...]:
        """The variables that take a `_<TAG>`: none for a cloud with one configuration only."""
        if not self.tagged:
            return ()
        return tuple(dict.fromkeys((self.switch, self.alias, *self.phased, *self.tagged)))

    def enabled(self, env: Mapping[str, str]) -> bool:
        """Whether the switch (or its alias) is on. Raises ConfigError for a value that is not
        a boolean, or the two names set to different values."""
        given = [name for name in (self.switch, self.alias) if env.get(name) is not None]
        states = {name: values.boolean(env, name) for name in given}
        if len(set(states.values())) > 1:
            raise ConfigError.of(
                self.switch,
                f"is {values.shown(env[self.switch])} but {self.alias} is "
                f"{values.shown(env[self.alias])}: set one, or both to the same value",
            )
        return any(states.values())

    def configure(self, env: Mapping[str, str]) -> ConfigT | None:
        """The validated config, or None when the switch is unset or false. Raises ConfigError
        listing every problem: a malformed value, or static credentials that would win."""
        if not self.enabled(env):
            return None
        problems = Problems()
        problems.run(refuse_static_credentials, env, self)
        for conflict in self.rivals.conflicts(env):
            problems.add(
                conflict.variable,
                f"{conflict.detail}: {self.rivals.preferred_by} would use it instead of the "
                f"web identity that {self.switch} asks for; {conflict.fix}",
            )
        config = problems.run(self.read, env)
        problems.raise_if_any()
        assert config is not None  # noqa: S101 (raise_if_any raised otherwise)
        return config

    def static_credentials_set(self, env: Mapping[str, str]) -> list[str]:
        """The variables set that would bring credentials winning over the web identity (static
        credentials, and those leading to a conflicting profile), when the switch is on (bad
        switch: none)."""
        try:
            enabled = self.enabled(env)
        except ConfigError:
            return []
        if not enabled:
            return []
        present = [name for name in self.rivals.static if env.get(name)]
        leading = [name for conflict in self.rivals.conflicts(env) for name in conflict.dropped]
        return list(dict.fromkeys(present + leading))


# Any cloud, as the registry and the rest of injector see it.
Cloud = CloudOf[Any]


def refuse_static_credentials(env: Mapping[str, str], cloud: Cloud) -> None:
    """Static credentials in the environment win over web identity in the SDKs, so the job
    would quietly run with them. Refuse, naming the variable but never showing its value."""
    present = [name for name in cloud.rivals.static if env.get(name)]
    if present:
        raise ConfigError.of(
            present[0],
            f"is set, and {cloud.rivals.preferred_by} would use it instead of the web identity "
            f"that {cloud.switch} asks for: remove {', '.join(present)} from the job's "
            "environment",
        )


@dataclass(frozen=True, kw_only=True)
class CloudConfig(ABC):
    """A validated configuration of one cloud: what every cloud's configuration has and does.
    Each cloud's config is a frozen dataclass deriving from this one, whose class names its
    cloud (`cloud`); the methods' defaults are those of a cloud with nothing of its own there.
    """

    cloud: ClassVar[Cloud]
    if TYPE_CHECKING:
        # A field of each cloud's config (or a property): a field here would come first.
        @property
        def audience(self) -> str:
            """The token's `aud`."""

    # None for the untagged configuration, else the `_<TAG>` its variables end with (tags).
    tag: str | None = None

    @property
    def name(self) -> str:
        return self.cloud.name

    @abstractmethod
    def outputs(self, token_file: Path, job: JobContext) -> CloudOutputs:
        """What the cloud's SDKs need on disk and in the environment, besides the token file."""

    def claims(self, job: JobContext) -> dict[str, object]:
        """Claims the cloud adds to this configuration's token only (AWS session tags)."""
        return {}

    def tagged(self: ConfigT, tag: str | None) -> ConfigT:
        """This configuration as the one tagged `tag`."""
        return replace(self, tag=tag)

    def alone(self) -> CloudConfig:
        """As if it were the cloud's only configuration, untagged: what its SDK needs in the
        environment to log in as it (`doctor --login`)."""
        return self.tagged(None) if self.tag is not None else self

    def advice(self) -> list[str]:
        """What a consumer will refuse although the configuration is valid (warnings)."""
        return []

    def terraform_value(self, token_file: Path, job: JobContext) -> TerraformShape:
        """This configuration's object in HCP's `tfc_<cloud>_dynamic_credentials` (a cloud
        with an `hcp` facet gives it)."""
        raise NotImplementedError(f"{self.name} has no tfc_{self.name}_dynamic_credentials")

    def served_outputs(
        self, outputs: CloudOutputs, token_file: Path, url: str, bearer: str
    ) -> CloudOutputs:
        """The usual `outputs`, pointing the SDK at `url` with `bearer` instead of the token
        file (a cloud with a `served_token` gives it)."""
        raise NotImplementedError(f"{self.name} serves no token")

    def exchange(self, token: str, folder: Path) -> Exchanged:
        """The credential obtained with the minted token (a secret), its files in `folder`
        (a cloud with an `exchange` facet gives it). Raises InjectorError with the cloud's own
        message when refused."""
        raise NotImplementedError(f"{self.name} exchanges no token")

    def preflight(self) -> list[Finding]:
        """What `doctor` finds about the cloud's endpoint before any login."""
        return []
