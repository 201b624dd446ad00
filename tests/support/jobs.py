"""The example workspace's job context, as the cloud tests feed it to `outputs()`; a job's files
written and left in place."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from injector import clouds
from injector.clouds import CloudConfig
from injector.config import job_context
from injector.job.example import EXAMPLE_ENV, JOB_EXAMPLE
from injector.job.pipeline import Prepared
from injector.job.plan import Plan
from injector.job.session import JobSession

EXAMPLE_JOB = job_context.from_env(JOB_EXAMPLE)

Config = TypeVar("Config", bound=CloudConfig)


def config_as(kind: type[Config], config: CloudConfig) -> Config:
    """`config`, which the test's workspace makes a `kind`, typed as one."""
    assert isinstance(config, kind), config
    return config


def refusing(algorithm: str) -> dict[str, str]:
    """Switches that turn off the example's clouds that refuse `algorithm` (Entra ID takes
    RS256 only), so a token of that algorithm can be minted for the others."""
    return {
        cloud.switch: "false"
        for cloud in clouds.registered()
        if algorithm not in cloud.rules.checks.algorithms
    }


def switched_off(name: str) -> dict[str, str]:
    """Every switch of cloud `name` the example workspace sets, tagged ones included (the
    example tags a cloud that yields to another, job.example), set to false."""
    switch = clouds.named(name).switch
    longer = clouds.longer_switches(name)
    return {
        variable: "false"
        for variable in (switch, *EXAMPLE_ENV)
        if clouds.under(variable, (switch,)) and not clouds.under(variable, longer)
    }


def minted_for(algorithm: str, names: Iterable[str]) -> list[str]:
    """Of the token file names `names` (`aws.jwt`, ...), those minted with `algorithm`."""
    off = {cloud.name for cloud in clouds.registered() if cloud.switch in refusing(algorithm)}
    return sorted(name for name in names if name.removesuffix(".jwt") not in off)


def written(prepared: Prepared, folder: Path) -> Plan:
    """The files of a job written into `folder` and left there, as `env` leaves them."""
    with JobSession(prepared, folder) as session:
        session.keep()
    return session.plan


SWAPS = ("symlink", "new-folder")


def swap_away(path: Path, how: str) -> tuple[Path, Path]:
    """What a neighbour with the parent's write access could do to a job's folder at `path`
    while the job runs: move it away, and put at `path` a link to another folder (`symlink`)
    or a folder of its own (`new-folder`). Returns where the held folder now is and the folder
    `path` now leads to."""
    held = path.with_name(path.name + "-held")
    path.rename(held)
    if how == "symlink":
        elsewhere = path.with_name(path.name + "-elsewhere")
        elsewhere.mkdir(mode=0o700)
        path.symlink_to(elsewhere)
        return held, elsewhere
    path.mkdir(mode=0o700)
    return held, path
