"""The clouds whose credential injector obtains itself (a Vault login), after the tokens are
minted and written: the exchange, the files it writes, where its secrets may go, and, while
`run`'s command runs, renewal and a fresh login near the maximum TTL, then revocation.

Fail closed: the job's session (`session.py`) undoes the exchanges on every way out, a refused
one included, so nothing is exported and no lease outlives a failed job.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TextIO

from injector.clouds import Exchanged, Lease, tags
from injector.files import Folder
from injector.job import pipeline
from injector.job.pipeline import Prepared
from injector.job.plan import CloudPlan, Plan

log = logging.getLogger("injector")

# Renew at half the TTL left. A renewal that gives less than the login gave, and less than a
# minute, means the role's token_max_ttl is near: log in afresh, so that the token file always
# holds a token with time to run.
MIN_USEFUL_TTL_SECONDS = 60


@dataclass
class Exchanges:
    """What the exchanges of one job gave: exports, secret exports, and the leases."""

    done: list[tuple[CloudPlan, Exchanged]] = field(default_factory=list)
    # Leases replaced by a fresh login: still revoked at the end (the command may hold them).
    retired: list[Exchanged] = field(default_factory=list)

    @property
    def exports(self) -> dict[str, str]:
        return {name: value for _, got in self.done for name, value in got.exports.items()}

    @property
    def secrets(self) -> dict[str, str]:
        return {name: value for _, got in self.done for name, value in got.secrets.items()}

    def undo(self, folder: Folder) -> None:
        """Remove the files the exchanges wrote (from the job's held `folder`), then end every
        lease, each once (a failure is logged; the others are still tried)."""
        for _, got in self.done:
            folder.unlink(got.files)
        leases = [got.lease for _, got in self.done] + [got.lease for got in self.retired]
        self.done, self.retired = [], []
        for lease in leases:
            _revoke(lease)


def _revoke(lease: Lease) -> None:
    """End `lease`; a failure is logged, not raised."""
    try:
        lease.revoke()
    except Exception as error:
        log.warning("could not revoke the %s: %s", lease.describe(), error)
    else:
        log.info("revoked the %s", lease.describe())


def obtain(exchanges: Exchanges, plan: Plan, folder: Folder) -> None:
    """Exchange each minted token whose cloud has an exchange, and write what it gives (0600,
    atomically) into the job's held `folder`. Each lease is in `exchanges` as soon as it
    exists, so that its owner can undo it whatever fails next; the cloud's own error goes up."""
    for minted in plan.clouds:
        if minted.config.cloud.exchange is None:
            continue
        got = minted.config.exchange(minted.token.compact, folder.path)
        exchanges.done.append((minted, got))
        folder.write_all(got.files)
        log.info("%s: obtained a %s", tags.configuration_id(minted.config), got.lease.describe())


def may_print_secrets(stream: TextIO) -> bool:
    """Whether `env` may print a secret export (a login's token) on `stream`: only into a regular
    file (`>> "$GITHUB_ENV"`, `> job.env`). A terminal is read over shoulders and kept in
    scroll-back; a pipe is how CI runners capture a step's output into its log; neither can be
    told from a pipe into `eval`. Elsewhere the token file is the way to the token."""
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError):
        return False


def printable(
    secrets: Mapping[str, str], stream: TextIO, exchanged: Mapping[str, str]
) -> dict[str, str]:
    """The secrets `env` may print: all of them when `stream` is a regular file, else none
    (the files the `exchanged` exports name are the way to them)."""
    if not secrets or may_print_secrets(stream):
        return dict(secrets)
    log.warning(
        "not printing %s: standard output is not a regular file (a terminal or a pipe may end "
        "in a log); read it from the file %s names, or redirect: injector env > FILE",
        ", ".join(secrets),
        ", ".join(exchanged),
    )
    return {}


class Keeper:
    """While `run`'s command runs: renews each lease at half its TTL; when a renewal falls
    short (the maximum TTL nears, or it cannot be renewed), logs in afresh with a newly minted
    token and writes the new credential over the old file. The command's environment cannot
    change, so the secret export it holds still ends at the maximum TTL: readers of the token
    file go on.
    """

    def __init__(
        self,
        exchanges: Exchanges,
        prepared: Prepared,
        folder: Folder,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._exchanges = exchanges
        self._prepared = prepared
        self._folder = folder
        self._clock = clock
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="injector-lease", daemon=True)
        self.renewals = 0
        self.logins = 0
        # What each login granted: a renewal giving less than this is capped by the max TTL.
        self._granted = [got.lease.ttl_seconds for _, got in exchanges.done]

    def start(self) -> None:
        if self._exchanges.done:
            self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        due = {
            index: self._next(got.lease.ttl_seconds)
            for index, (_, got) in enumerate(self._exchanges.done)
        }
        while not self._stopped.is_set():
            index = min(due, key=lambda i: due[i])
            if self._stopped.wait(max(0.0, due[index] - self._clock())):
                return
            due[index] = self._next(self.renew_once(index))

    def _next(self, ttl: int) -> float:
        return self._clock() + max(1.0, ttl / 2)

    def renew_once(self, index: int) -> int:
        """Renew lease `index` (or replace it); the TTL it then has."""
        plan, got = self._exchanges.done[index]
        if got.lease.renewable:
            try:
                ttl = got.lease.renew()
            except Exception as error:
                log.warning("%s: renewal failed (%s); logging in afresh", plan.config.name, error)
            else:
                self.renewals += 1
                log.info("%s: renewed the %s", plan.config.name, got.lease.describe())
                if ttl >= min(self._granted[index], MIN_USEFUL_TTL_SECONDS):
                    return ttl
        return self._login_again(index, plan, got)

    def _login_again(self, index: int, plan: CloudPlan, old: Exchanged) -> int:
        try:
            fresh_plan = pipeline.mint(self._prepared, self._folder.path)
            # Each configuration (a tag) has its own token, with its own aud.
            wanted = tags.configuration_id(plan.config)
            fresh_token = next(
                c.token.compact
                for c in fresh_plan.clouds
                if tags.configuration_id(c.config) == wanted
            )
            got = plan.config.exchange(fresh_token, self._folder.path)
        except Exception as error:
            log.warning(
                "%s: fresh login failed (%s); retrying in a minute", plan.config.name, error
            )
            return 2 * MIN_USEFUL_TTL_SECONDS
        try:
            for path, data in got.files.items():
                self._folder.write(path, data)
        except OSError as error:  # FolderReleased too: the job ended meanwhile
            log.warning(
                "%s: cannot write the fresh login's files (%s); retrying in a minute",
                plan.config.name,
                error.strerror,
            )
            # Nobody can read this login: it must not outlive the job.
            _revoke(got.lease)
            return 2 * MIN_USEFUL_TTL_SECONDS
        self._exchanges.done[index] = (plan, got)
        self._exchanges.retired.append(old)
        self._granted[index] = got.lease.ttl_seconds
        self.logins += 1
        log.warning(
            "%s: the token reached its maximum TTL: the token file holds a new one; the "
            "command's %s still ends with the old one (size token_max_ttl to the longest run)",
            plan.config.name,
            ", ".join(got.secrets),
        )
        return got.lease.ttl_seconds
