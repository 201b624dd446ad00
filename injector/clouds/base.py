"""The face every cloud shows: what it is called, which variables switch it on and configure it,
what it refuses, the rules it applies to a token, and how its SDK logs in. A cloud module fills
one `Cloud`, its optional parts as facets (clouds.facets); the rest of injector reads only this
face.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from injector.clouds.facets import NO_RIVALS
from injector.clouds.rules import CloudRules
from injector.config import values
from injector.config.job_context import JobContext
from injector.errors import ConfigError, Problems

if TYPE_CHECKING:
    from injector.clouds.exchange_facet import Exchange, Finding
    from injector.clouds.facets import (
        Exchanged,
        Hcp,
        Rivals,
        SdkLogin,
        ServedToken,
        TerraformShape,
        TokenFileCache,
    )


@dataclass(frozen=True)
class CloudOutputs:
    """What one cloud needs on disk and in the environment, besides its token file."""

    exports: dict[str, str]
    extra_files: dict[Path, bytes] = field(default_factory=dict)


ALIAS_PREFIX = "INJECTOR_ENABLE_"

# Comma-separated clouds that must be enabled, or the job stops (the `--require` option).
REQUIRE = "INJECTOR_REQUIRE"

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
    # Tagged variables that give one setting in different forms (a CA as a path or as a
    # value): a configuration giving one of them inherits none of the others' untagged values.
    alternatives: tuple[tuple[str, ...], ...] = ()
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

    def switches_given(self, env: Mapping[str, str]) -> tuple[str, ...]:
        """The names of the switch `env` holds (in injector's names): the switch, its alias or
        both; `Variables.origin` says what the user set for each."""
        return tuple(name for name in (self.switch, self.alias) if env.get(name) is not None)

    def enabled(self, env: Mapping[str, str]) -> bool:
        """Whether the switch (or its alias) is on. Raises ConfigError for a value that is not
        a boolean, or the two names set to different values."""
        states = {name: values.boolean(env, name) for name in self.switches_given(env)}
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
        present = self.rivals.static_set(env)
        leading = [name for conflict in self.rivals.conflicts(env) for name in conflict.dropped]
        return list(dict.fromkeys(present + leading))


# Any cloud, as the registry and the rest of injector see it.
Cloud = CloudOf[Any]


def refuse_static_credentials(env: Mapping[str, str], cloud: Cloud) -> None:
    """Static credentials in the environment win over web identity in the SDKs, so the job
    would quietly run with them. Refuse, naming the variable but never showing its value."""
    present = cloud.rivals.static_set(env)
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

    @property
    @abstractmethod
    def identity(self) -> str:
        """Who the token makes the job, in the cloud's words (`role arn:aws:...`): what `run`
        and `hook` say they minted for, so that a trust-policy mismatch shows in a CI log.
        Never a secret."""

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
