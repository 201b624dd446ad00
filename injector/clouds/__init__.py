"""The clouds injector can log in to. Adding one means one module and one line below."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from injector.clouds import aws, azure, gcp
from injector.clouds.base import CloudConfig, CloudOutputs

__all__ = ["LOADERS", "CloudConfig", "CloudOutputs"]

# Each loader returns None when its cloud is not enabled in the environment.
LOADERS: tuple[Callable[[Mapping[str, str]], CloudConfig | None], ...] = (
    aws.from_env,
    azure.from_env,
    gcp.from_env,
)
