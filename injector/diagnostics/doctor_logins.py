"""`doctor`'s real logins: each SDK in a child fed only the exports (diagnostics.login), and the
clouds whose credential injector obtains itself (Vault) probed and logged in to, then revoked."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from injector.clouds import tags
from injector.clouds.exchange_facet import Finding
from injector.diagnostics import checks
from injector.diagnostics.checks import Line
from injector.errors import InjectorError
from injector.job import pipeline
from injector.job.minter import Minter
from injector.job.plan import CloudPlan
from injector.job.session import JobSession
from injector.job.settings import Settings


def preflight(loaded: Settings | None) -> list[Line]:
    """The probes of the clouds whose credential injector obtains itself (their endpoint)."""
    if loaded is None:
        return []
    lines = []
    for config in loaded.clouds:
        if config.cloud.exchange is not None:
            lines += checks.prefixed(
                tags.configuration_id(config), [_line(f) for f in config.preflight()]
            )
    return lines


def _line(finding: Finding) -> Line:
    if finding.ok:
        return checks.ok(finding.rule, finding.message)
    return checks.fail(finding.rule, finding.message, finding.code)


def _exchange(cloud: CloudPlan, folder: Path) -> Line:
    """Log in as the job would, with the minted token, and revoke at once: the role, its
    bindings and the token, as the cloud itself judges them."""
    rule = f"{cloud.config.name}.login"
    try:
        got = cloud.config.exchange(cloud.token.compact, folder)
    except InjectorError as error:
        return checks.fail(rule, str(error))
    try:
        described = got.lease.describe()
    finally:
        got.lease.revoke()
    return checks.ok(rule, f"{described} (revoked again)")


def logins(
    env: Mapping[str, str],
    loaded: Settings | None,
    minter: Minter | None,
    progress: Callable[[str], None] | None,
) -> list[Line]:
    """`doctor --login`: every configuration logs in for real, token files in a private
    temporary folder removed afterwards."""
    from injector.diagnostics import login

    if loaded is None or minter is None:
        return [checks.fail("login", "not tried: the settings or the key are not valid")]
    prepared = pipeline.Prepared(settings=loaded, minter=minter)
    # Without the session's exchange: each login below is tried, and reported, on its own.
    # The logins run in children fed only the exports: nothing inherited reaches them.
    with JobSession(prepared, None, exchanging=False, refuse_inherited=False) as written:
        home = login.private_home(written.plan.folder)
        exchanged = [c for c in written.plan.clouds if c.config.cloud.exchange]
        # Each configuration logs in alone, with the exports it would have without the others
        # (a tagged one has none of its own: its identity is in files).
        logins = [
            login.Login(
                cloud.config.name,
                cloud.config.alone().outputs(cloud.token_file, loaded.job).exports,
                tags.configuration_id(cloud.config),
            )
            for cloud in written.plan.clouds
            if cloud not in exchanged
        ]
        secrets = [cloud.token.compact for cloud in written.plan.clouds]
        lines = login.run(logins, env, home, secrets, progress=progress) if logins else []
        return lines + [_exchange(cloud, written.plan.folder) for cloud in exchanged]
