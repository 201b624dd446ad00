"""One job's lifecycle, owned in one place: the locked folder, the minted files, the exchange
leases (a Vault login), and while a command runs the refresher, the lease keeper and the token
endpoint. Each is pushed on an ExitStack as it is set up, so whatever exists is undone, in
reverse order and exactly once, on every way out of the `with` block: an error, a signal, a
failed command, an output nobody received. `env` and `hook` hand the files and leases on to
the job that reads their exports (`keep`) once that output is committed; `run` never does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from injector import files
from injector.clouds import inherited
from injector.errors import ConfigError
from injector.job import exchange, pipeline
from injector.job.pipeline import Prepared
from injector.job.plan import Plan

log = logging.getLogger("injector")


@dataclass(frozen=True)
class Upkeep:
    """What keeps a running command's credentials valid: token refresh every
    `refresh_interval` seconds (None: from the lifetime), renewal of the leases, and with
    `token_endpoint` fresh tokens served on loopback."""

    refresh_interval: float | None = None
    token_endpoint: bool = False


class JobSession:
    """`with JobSession(prepared, folder) as session:` the files are written and the leases
    obtained; `exports` and `secrets` are what the job gets. A None `prepared` (no cloud
    enabled) is an empty session: no folder, no export. Without `exchanging` only the tokens are
    written (doctor tries each login itself). An identity the job would inherit (clouds.inherited)
    is refused before anything is written, unless `refuse_inherited` is off (`run` keeps it
    from its command instead; doctor's logins see the exports alone)."""

    def __init__(
        self,
        prepared: Prepared | None,
        folder: Path | None,
        *,
        option: str = "--dir",
        follow_up_to: Path | None = None,
        upkeep: Upkeep | None = None,
        exchanging: bool = True,
        refuse_inherited: bool = True,
    ) -> None:
        self._prepared = prepared
        self._folder = folder
        self._option = option
        self._follow_up_to = follow_up_to
        self._upkeep = upkeep
        self._exchanging = exchanging
        self._refuse_inherited = refuse_inherited
        self._stack = ExitStack()
        self._kept = False
        self._plan: Plan | None = None
        self._folder_held: files.Folder | None = None
        self._exchanges = exchange.Exchanges()
        self._exports: dict[str, str] = {}

    @property
    def plan(self) -> Plan:
        assert self._plan is not None  # noqa: S101 (only inside the `with` of a job with clouds)
        return self._plan

    @property
    def folder(self) -> files.Folder:
        """The checked folder, held until the session ends: every write of the job goes
        through it (then it refuses them)."""
        assert self._folder_held is not None  # noqa: S101 (as `plan`)
        return self._folder_held

    @property
    def exports(self) -> dict[str, str]:
        """What the job's programs read: the tokens' exports, the exchanges' safe ones."""
        return dict(self._exports)

    @property
    def secrets(self) -> dict[str, str]:
        """Exports that are credentials themselves (a login's token): never shown on a terminal."""
        return self._exchanges.secrets

    @property
    def exchanged(self) -> dict[str, str]:
        """The exchanges' own safe exports (the files their secrets are in)."""
        return self._exchanges.exports

    def keep(self) -> None:
        """The output naming the files is committed: leave files and leases to the job."""
        self._kept = True

    def __enter__(self) -> JobSession:
        with self._stack:
            if self._prepared is not None:
                self._set_up(self._prepared)
            self._stack = self._stack.pop_all()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is not None:
            self._kept = False  # an error after `keep` still means nobody got the output
        self._stack.close()

    def _set_up(self, prepared: Prepared) -> None:
        stack = self._stack
        folder = files.make_folder(
            self._folder, self._option, follow_up_to=self._follow_up_to, lock=True
        )
        self._folder_held = folder
        stack.callback(folder.release)  # still held while the files go, so no job reuses it
        stack.callback(self._unless_kept, folder.remove_made)
        self._plan = plan = pipeline.mint(prepared, folder.path)
        if self._refuse_inherited:
            inherited.refuse(prepared.settings.clouds, prepared.env, plan.exports)
        if not folder.created:
            stack.callback(self._unless_kept, folder.unlink, plan.files)
        folder.write_all(plan.files)  # through the descriptor of the folder checked
        log.info("wrote %s to %s", ", ".join(path.name for path in plan.files), folder.path)
        stack.callback(self._unless_kept, self._exchanges.undo, folder)
        if self._exchanging:
            exchange.obtain(self._exchanges, plan, folder)
        self._exports = {**plan.exports, **self._exchanges.exports}
        if self._upkeep is not None:
            self._keep_fresh(prepared, plan, folder, self._upkeep)

    def _keep_fresh(
        self, prepared: Prepared, plan: Plan, folder: files.Folder, upkeep: Upkeep
    ) -> None:
        from injector.job import refresh  # threads: only `run` keeps anything fresh

        caches = [
            cache
            for config in prepared.settings.clouds
            if (cache := config.cloud.token_file_cache) is not None
        ]
        interval = upkeep.refresh_interval or refresh.interval_for(plan.lifetime_seconds, caches)
        refresher = refresh.Refresher(prepared, folder, interval)
        refresher.start()
        self._stack.callback(refresher.stop)
        keeper = exchange.Keeper(self._exchanges, prepared, folder)
        keeper.start()
        self._stack.callback(keeper.stop)
        if upkeep.token_endpoint:
            from injector.job import token_endpoint  # an HTTP server: only when asked

            endpoint = token_endpoint.serve(prepared, plan, folder)
            self._stack.callback(endpoint.stop)
            self._exports = endpoint.apply(self._exports)

    def _unless_kept(self, undo: Callable[..., None], *args: object) -> None:
        if not self._kept:
            undo(*args)

    def render(self, form: Callable[[Mapping[str, str]], str], shown: Mapping[str, str]) -> str:
        """`shown` (the exports, and the secrets where they may go) in `form`. A refused value
        of the tokens' own exports is traced to the variable the user set."""
        try:
            return form(shown)
        except ConfigError:
            if self._prepared is None or self._plan is None:
                raise
            try:
                form(self._plan.exports)
            except ConfigError as refused:
                from injector.job import provenance  # only when a value was refused

                raise provenance.traced(
                    refused,
                    self._plan.exports,
                    self._prepared.env,
                    self._prepared.phase,
                    self._plan.folder,
                    form,
                ) from None
            raise
