"""Keep the token files fresh while a long command runs.

Most SDKs re-read the token file when they refresh; some keep what they read for a while (a
cloud's `token_file_cache`). So each token is replaced, atomically, well before it expires: at
half its lifetime, and early enough that a copy read just before the replacement still outlives
the longest such cache.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from injector import files
from injector.clouds import TokenFileCache
from injector.config import values
from injector.job import pipeline
from injector.job.pipeline import Prepared

log = logging.getLogger("injector")

SAFETY_SECONDS = 60


def interval_for(ttl_seconds: int, caches: Sequence[TokenFileCache]) -> float:
    """Seconds between refreshes for tokens living `ttl_seconds`, read by SDKs that keep a
    token file's content as `caches` say."""
    half = ttl_seconds / 2
    if not caches:
        return half
    longest = max(caches, key=lambda cache: cache.seconds)
    # A copy read just before a refresh is used for `longest.seconds` more; it must still be
    # valid then, with a minute to spare.
    bound = ttl_seconds - longest.seconds - SAFETY_SECONDS
    if bound <= 0:
        log.warning(
            "DynamicCredentialTtl of %s is too short for %s, which keeps a token file's "
            "content for %s: use at least %s",
            values.minutes(ttl_seconds // 60),
            longest.reader,
            values.minutes(longest.seconds // 60),
            values.minutes((longest.seconds + 2 * SAFETY_SECONDS) // 60),
        )
        return half
    return min(half, bound)


class Refresher:
    """Re-mints every token into the job's held `folder` every `interval` seconds, in a daemon
    thread.

    A failed refresh is logged and retried every `retry` seconds; the old file stays in place
    (writes are atomic), so a reader never sees a half-written token.
    """

    def __init__(
        self,
        prepared: Prepared,
        folder: files.Folder,
        interval: float,
        *,
        retry: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._prepared = prepared
        self._folder = folder
        self._interval = interval
        self._retry = retry if retry is not None else max(1.0, min(30.0, interval / 10))
        self._clock = clock
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="injector-refresh", daemon=True)
        self.refreshes = 0
        self.failures = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()

    def refresh_once(self) -> None:
        """Mint fresh tokens and replace each token file. Raises OSError if a write fails
        (FolderReleased once the job has ended)."""
        plan = pipeline.mint(self._prepared, self._folder.path, int(self._clock()))
        for cloud in plan.clouds:
            # Only the token changes; the other files (GCP credentials) point at it.
            self._folder.write(cloud.token_file, cloud.files[cloud.token_file])
        self.refreshes += 1
        log.info("refreshed %d tokens in %s", len(plan.clouds), self._folder.path)

    def _loop(self) -> None:
        delay = self._interval
        while not self._stopped.wait(delay):
            try:
                self.refresh_once()
            except Exception as error:  # keep the command running; the old token is intact
                self.failures += 1
                log.warning(
                    "token refresh failed (%s: %s); retrying in %.0f s",
                    type(error).__name__,
                    error,
                    self._retry,
                )
                delay = self._retry
            else:
                delay = self._interval
