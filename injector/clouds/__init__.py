"""The clouds injector can log in to. Adding one means one module and one line below."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from injector.clouds import aws, azure, gcp
from injector.clouds.base import CloudConfig, CloudOutputs

__all__ = ["CLOUDS", "Cloud", "CloudConfig", "CloudOutputs"]


class Cloud(Protocol):
    """What a cloud module provides (each module in this package is one)."""

    ENABLE: str  # the switch variable
    STATIC_CREDENTIALS: tuple[str, ...]  # variables the SDKs would prefer over web identity

    def from_env(self, env: Mapping[str, str]) -> CloudConfig | None:
        """The validated config, or None when the cloud is not enabled."""
        ...


CLOUDS: tuple[Cloud, ...] = (aws, azure, gcp)
