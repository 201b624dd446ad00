"""The pure core: settings and a signing key in, tokens, files and exports out. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from injector.clouds import CloudConfig, CloudOutputs
from injector.clouds.base import own_claims
from injector.config.keys import SigningKey
from injector.job import tokens
from injector.job.settings import Settings
from injector.job.tokens import Token


@dataclass(frozen=True)
class CloudPlan:
    config: CloudConfig
    token: Token
    token_file: Path
    outputs: CloudOutputs

    @property
    def files(self) -> dict[Path, bytes]:
        # No trailing newline: none of boto3, azure-identity and google-auth strips it.
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


def build(settings: Settings, key: SigningKey, folder: Path, now: int) -> Plan:
    """One token per enabled cloud, each with its own `aud` and `jti`, and what goes with it."""
    plans = []
    for config in settings.clouds:
        claims = tokens.claims(
            settings.job,
            settings.issuer.issuer,
            config.audience,
            now,
            settings.issuer.ttl_minutes,
            {**settings.extra_claims, **own_claims(config, settings.job)},
        )
        token_file = folder / f"{config.name}.jwt"
        plans.append(
            CloudPlan(
                config=config,
                token=tokens.mint(key, claims),
                token_file=token_file,
                outputs=config.outputs(token_file, settings.job),
            )
        )
    return Plan(folder=folder, clouds=tuple(plans))
