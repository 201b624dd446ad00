"""The core: settings and a minter in, tokens, files and exports out. Writes nothing; the only
I/O is the minter's (the signer's socket, when the job mints through it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from injector.clouds import CloudConfig, CloudOutputs
from injector.clouds.base import own_claims
from injector.job.settings import Settings
from injector.job.tokens import Token

if TYPE_CHECKING:
    from injector.job.minter import Minter


@dataclass(frozen=True)
class CloudPlan:
    config: CloudConfig
    token: Token
    token_file: Path
    outputs: CloudOutputs

    @property
    def files(self) -> dict[Path, bytes]:
        # No trailing newline: none of the clouds' SDKs strips it.
        return {self.token_file: self.token.compact.encode("ascii"), **self.outputs.extra_files}


@dataclass(frozen=True)
class Plan:
    folder: Path
    clouds: tuple[CloudPlan, ...]

    @property
    def files(self) -> dict[Path, bytes]:
        return {path: data for cloud in self.clouds for path, data in cloud.files.items()}

    @property
    def exports(self) -> dict[str, str]:
        return {
            name: value for cloud in self.clouds for name, value in cloud.outputs.exports.items()
        }

    @property
    def lifetime_seconds(self) -> int:
        """The shortest lifetime of the tokens (`exp` - `iat`): whoever signed chose it."""
        return min(_lifetime(cloud.token) for cloud in self.clouds)


def _lifetime(token: Token) -> int:
    exp, iat = token.claims["exp"], token.claims["iat"]
    assert isinstance(exp, int) and isinstance(iat, int)  # noqa: S101 (our claims, or the signer's)
    return exp - iat


def build(settings: Settings, minter: Minter, folder: Path, now: int) -> Plan:
    """One token per enabled cloud, each with its own `aud` and `jti`, and what goes with it."""
    minted = minter.mint(
        settings.job,
        [config.audience for config in settings.clouds],
        settings.extra_claims,
        now,
        [own_claims(config, settings.job) for config in settings.clouds],
        phase=settings.phase,
    )
    plans = []
    for config, token in zip(settings.clouds, minted, strict=True):
        token_file = folder / f"{config.name}.jwt"
        plans.append(
            CloudPlan(
                config=config,
                token=token,
                token_file=token_file,
                outputs=config.outputs(token_file, settings.job),
            )
        )
    return Plan(folder=folder, clouds=tuple(plans))
