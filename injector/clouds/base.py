"""The face every cloud shows: what it is called, which variables switch it on and configure it,
what it refuses, the rules it applies to a token, and how its SDK logs in. A cloud module fills
one `Cloud`; the rest of injector reads only this face.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from injector.clouds.rules import CloudRules
from injector.config import values
from injector.config.job_context import JobContext
from injector.errors import ConfigError, Problems


@dataclass(frozen=True)
class CloudOutputs:
    """What one cloud needs on disk and in the environment, besides its token file."""

    exports: dict[str, str]
    extra_files: dict[Path, bytes] = field(default_factory=dict)


class CloudConfig(Protocol):
    """A validated per-cloud configuration. `name` is its cloud's. A cloud that takes tags
    (`Cloud.tagged`) has a `tag` field too: None for the untagged configuration, else the
    `_<TAG>` its variables end with (see clouds.tags)."""

    @property
    def name(self) -> str: ...

    @property
    def audience(self) -> str:
        """The token's `aud` for this cloud."""
        ...

    def outputs(self, token_file: Path, job: JobContext) -> CloudOutputs: ...


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
class Terraform:
    """How HCP Terraform hands a cloud's configurations to Terraform code: the variable
    `tfc_<cloud>_dynamic_credentials`, an object with `default` and `aliases` (by tag), each
    `value(config, token_file)`."""

    value: Callable[[CloudConfig, Path, JobContext], TerraformShape]

    def variable(self, cloud: str) -> str:
        return f"tfc_{cloud}_dynamic_credentials"


# Comma-separated clouds that must be enabled, or the job stops (the `--require` option).
REQUIRE = "INJECTOR_REQUIRE"


@runtime_checkable
class AddsClaims(Protocol):
    """A config whose cloud wants claims of its own in its token only (AWS session tags)."""

    def claims(self, job: JobContext) -> dict[str, object]: ...


def own_claims(config: CloudConfig, job: JobContext) -> dict[str, object]:
    """The claims `config`'s cloud adds to its own token; none for most clouds."""
    return config.claims(job) if isinstance(config, AddsClaims) else {}


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


# A cloud's exchange: its config, the minted token (a secret) and the job's folder in; what it
# obtained out. Raises InjectorError with the cloud's own message when refused.
Exchange = Callable[[CloudConfig, str, Path], Exchanged]


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

    `body` is the endpoint's answer for a token, in the shape the SDK parses; `outputs` turns
    the cloud's usual outputs into those that point the SDK at `url` with `bearer`."""

    body: Callable[[str], bytes]
    outputs: Callable[[CloudConfig, CloudOutputs, Path, str, str], CloudOutputs]
    # For README and logs: which variables or files point the SDK at the endpoint.
    exported: str = ""


# What a login check says: {"ok": True, "detail": ...} or {"ok": False, "code": ...,
# "message": ...}; never a token.
LoginOutcome = dict[str, object]


@dataclass(frozen=True)
class Cloud:
    """One cloud, as its module describes it."""

    name: str  # `--cloud` value, token file name, prefix of doctor's lines
    label: str  # in messages and help
    switch: str  # the variable that turns dynamic credentials on
    read: Callable[[Mapping[str, str]], CloudConfig]  # the config, once switched on
    rules: CloudRules
    # Variables an SDK would prefer over the web identity, and which SDKs would.
    static_credentials: tuple[str, ...] = ()
    preferred_by: str = ""
    # Variables by which the SDKs find an identity, which the usual outputs set: inherited
    # where a mode does not set them, they would win (clouds.inherited).
    identity: tuple[str, ...] = ()
    # Credentials the SDKs would find elsewhere (files, profiles) and prefer: see `Conflict`.
    conflicts: Callable[[Mapping[str, str]], list[Conflict]] = _no_conflicts
    # Variables whose `_PLAN` / `_APPLY` forms override them in that phase: the identity.
    phased: tuple[str, ...] = ()
    # The example workspace's values for this cloud (`injector --example`, `make run`).
    example: Mapping[str, str] = field(default_factory=dict)
    token_file_cache: TokenFileCache | None = None
    sdk: str = ""  # the SDK `doctor --login` logs in with
    # Runs in a child process fed only the exports (and `login_passed_on`); imports the SDK.
    login: Callable[[], LoginOutcome] | None = None
    login_passed_on: tuple[str, ...] = ()
    # Every other variable the cloud reads, for the warning about a misspelt one.
    variables: tuple[str, ...] = ()
    # Variables that take a `_<TAG>` suffix for a configuration of its own (with the switch,
    # its alias and the phased ones); empty: the cloud has one configuration only.
    tagged: tuple[str, ...] = ()
    # HCP Terraform's `tfc_<cloud>_dynamic_credentials` for this cloud's configurations.
    terraform: Terraform | None = None
    # HCP Terraform's names for the cloud's variables, read as alternatives (clouds.hcp).
    hcp: tuple[HcpName, ...] = ()
    # Every configuration of the cloud at once, for a cloud whose configurations share
    # something (AWS: one config file with a profile per tag); returns them, amended.
    gather: Callable[[tuple[CloudConfig, ...]], tuple[CloudConfig, ...]] | None = None

    @property
    def alias(self) -> str:
        """The other name of the switch, `INJECTOR_ENABLE_<NAME>`: inside Terrakube 2.21 and
        later the `switch` name also turns on Terrakube's own credentials."""
        return f"{ALIAS_PREFIX}{self.name.upper()}"

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

    # For a cloud whose credential injector obtains itself (Vault's login), rather than the
    # SDK: the exchange `env`, `run` and `hook` perform once the token is minted, and the
    # probes `doctor` makes of the endpoint (`doctor --login` then tries the exchange).
    exchange: Exchange | None = None
    preflight: Callable[[CloudConfig], list[Finding]] | None = None
    served_token: ServedToken | None = None  # None: its SDKs re-read the token file
    # Advice for a configuration that passes validation but that a consumer will refuse.
    advice: Callable[[CloudConfig], list[str]] | None = None

    def configure(self, env: Mapping[str, str]) -> CloudConfig | None:
        """The validated config, or None when the switch is unset or false. Raises ConfigError
        listing every problem: a malformed value, or static credentials that would win."""
        if not self.enabled(env):
            return None
        problems = Problems()
        problems.run(refuse_static_credentials, env, self)
        for conflict in self.conflicts(env):
            problems.add(
                conflict.variable,
                f"{conflict.detail}: {self.preferred_by} would use it instead of the web "
                f"identity that {self.switch} asks for; {conflict.fix}",
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
        present = [name for name in self.static_credentials if env.get(name)]
        leading = [name for conflict in self.conflicts(env) for name in conflict.dropped]
        return list(dict.fromkeys(present + leading))


def refuse_static_credentials(env: Mapping[str, str], cloud: Cloud) -> None:
    """Static credentials in the environment win over web identity in the SDKs, so the job
    would quietly run with them. Refuse, naming the variable but never showing its value."""
    present = [name for name in cloud.static_credentials if env.get(name)]
    if present:
        raise ConfigError.of(
            present[0],
            f"is set, and {cloud.preferred_by} would use it instead of the web identity that "
            f"{cloud.switch} asks for: remove {', '.join(present)} from the job's environment",
        )
