"""The core: settings and a minter in, tokens, files and exports out. Writes nothing; the only
I/O is the minter's (the signer's socket, when the job mints through it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from injector.claims import Token
from injector.clouds import CloudConfig, CloudOutputs, hcl, tags
from injector.job.settings import Settings

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
    # HCP Terraform's TF_VAR_tfc_<cloud>_dynamic_credentials, from every configuration at
    # once, and the files they name.
    terraform: dict[str, str] = field(default_factory=dict)
    terraform_files: dict[Path, bytes] = field(default_factory=dict, repr=False)

    @property
    def files(self) -> dict[Path, bytes]:
        own = {path: data for cloud in self.clouds for path, data in cloud.files.items()}
        return {**own, **self.terraform_files}

    @property
    def exports(self) -> dict[str, str]:
        own = {
            name: value for cloud in self.clouds for name, value in cloud.outputs.exports.items()
        }
        return {**own, **self.terraform}

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
        [config.claims(settings.job) for config in settings.clouds],
        phase=settings.phase,
    )
    plans = []
    for config, token in zip(settings.clouds, minted, strict=True):
        token_file = tags.token_file(folder, config)
        plans.append(
            CloudPlan(
                config=config,
                token=token,
                token_file=token_file,
                outputs=config.outputs(token_file, settings.job),
            )
        )
    exports, files = terraform_variables([(p.config, p.token_file) for p in plans], settings)
    return Plan(folder=folder, clouds=tuple(plans), terraform=exports, terraform_files=files)


def terraform_variables(
    configs: list[tuple[CloudConfig, Path]], settings: Settings
) -> tuple[dict[str, str], dict[Path, bytes]]:
    """`TF_VAR_tfc_<cloud>_dynamic_credentials` in HCP Terraform's shape (and the files it
    names), so that Terraform code written for HCP runs unchanged: for a cloud with a tagged
    configuration, or every cloud when the settings ask (Terraform ignores the variable
    where the code does not declare it, but a job without either keeps today's outputs)."""
    exports: dict[str, str] = {}
    files: dict[Path, bytes] = {}
    for cloud in {config.name: config.cloud for config, _ in configs}.values():
        members = [(config, path) for config, path in configs if config.name == cloud.name]
        wanted = settings.terraform_variables or any(c.tag is not None for c, _ in members)
        if cloud.hcp is None or not members or not wanted:
            continue
        value, named = tags.terraform_value(members, settings.job)
        # Terraform reads it as HCL, whose strings are templates (clouds.hcl).
        name = f"TF_VAR_{cloud.hcp.variable(cloud.name)}"
        exports[name] = hcl.render(value, name)
        files.update(named)
    return exports, files
