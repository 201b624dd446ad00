"""The face every cloud module shows: a config read from the environment, turned into outputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from injector.errors import ConfigError
from injector.job import JobContext


@dataclass(frozen=True)
class CloudOutputs:
    """What one cloud needs on disk and in the environment, besides its token file."""

    exports: dict[str, str]
    extra_files: dict[Path, bytes] = field(default_factory=dict)


class CloudConfig(Protocol):
    """A validated per-cloud configuration. `name` also names the token file, `<name>.jwt`."""

    name: ClassVar[str]

    @property
    def audience(self) -> str:
        """The token's `aud` for this cloud."""
        ...

    def outputs(self, token_file: Path, job: JobContext) -> CloudOutputs: ...


def refuse_static_credentials(
    env: Mapping[str, str], variables: tuple[str, ...], switch: str, preferred_by: str
) -> None:
    """Static credentials in the environment win over web identity in the SDKs, so the job
    would quietly run with them. Refuse, naming the variable but never showing its value."""
    present = [name for name in variables if env.get(name)]
    if present:
        raise ConfigError.of(
            present[0],
            f"is set, and {preferred_by} would use it instead of the web identity that {switch} "
            f"asks for: remove {', '.join(present)} from the job's environment",
        )
