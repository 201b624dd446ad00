"""The face every cloud shows: what it is called, which variables switch it on and configure it,
what it refuses, the rules it applies to a token, and how its SDK logs in. A cloud module fills
one `Cloud`; the rest of injector reads only this face.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

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
    """A validated per-cloud configuration. `name` is its cloud's, and names the token file
    `<name>.jwt`."""

    @property
    def name(self) -> str: ...

    @property
    def audience(self) -> str:
        """The token's `aud` for this cloud."""
        ...

    def outputs(self, token_file: Path, job: JobContext) -> CloudOutputs: ...


@dataclass(frozen=True)
class TokenFileCache:
    """An SDK that keeps what it read from the token file for `seconds` before reading it again:
    a refreshed token reaches it only that much later."""

    reader: str
    seconds: int


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
    # Variables whose `_PLAN` / `_APPLY` forms override them in that phase: the identity.
    phased: tuple[str, ...] = ()
    # The example workspace's values for this cloud (`injector --example`, `make run`).
    example: Mapping[str, str] = field(default_factory=dict)
    token_file_cache: TokenFileCache | None = None
    sdk: str = ""  # the SDK `doctor --login` logs in with
    # Runs in a child process fed only the exports (and `login_passed_on`); imports the SDK.
    login: Callable[[], LoginOutcome] | None = None
    login_passed_on: tuple[str, ...] = ()
    served_token: ServedToken | None = None  # None: its SDKs re-read the token file
    # Advice for a configuration that passes validation but that a consumer will refuse.
    advice: Callable[[CloudConfig], list[str]] | None = None

    def configure(self, env: Mapping[str, str]) -> CloudConfig | None:
        """The validated config, or None when the switch is unset or false. Raises ConfigError
        listing every problem: a malformed value, or static credentials that would win."""
        if not values.boolean(env, self.switch):
            return None
        problems = Problems()
        problems.run(refuse_static_credentials, env, self)
        config = problems.run(self.read, env)
        problems.raise_if_any()
        assert config is not None  # noqa: S101 (raise_if_any raised otherwise)
        return config

    def static_credentials_set(self, env: Mapping[str, str]) -> list[str]:
        """The static credential variables set, when the switch is on (bad switch: none)."""
        try:
            enabled = values.boolean(env, self.switch)
        except ConfigError:
            return []
        return [name for name in self.static_credentials if env.get(name)] if enabled else []


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
