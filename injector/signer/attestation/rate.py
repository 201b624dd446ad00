"""A request budget per attested subject and workspace (verify.Attested.budget): a platform
token replayed in a loop (or one job gone wild) cannot keep the signer busy for everyone else,
nor spend another workspace's budget. A token bucket per budget, refilled continuously at the
attestation's `rate_per_minute`, holding at most one minute's worth."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Buckets of subjects not seen for this long are dropped, so memory stays bounded by the
# subjects active in the last minutes, not by every subject ever seen.
FORGET_SECONDS = 300.0


class RateLimit:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # subject: (tokens, last time)
        self._lock = threading.Lock()
        self._swept = clock()

    def allow(self, subject: str, per_minute: int) -> bool:
        """Whether `subject` may have one more request now; counts it when it may."""
        with self._lock:
            now = self._clock()
            if now - self._swept > FORGET_SECONDS:
                self._buckets = {
                    key: value
                    for key, value in self._buckets.items()
                    if now - value[1] < FORGET_SECONDS
                }
                self._swept = now
            tokens, last = self._buckets.get(subject, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - last) * per_minute / 60.0)
            if tokens < 1.0:
                self._buckets[subject] = (tokens, now)
                return False
            self._buckets[subject] = (tokens - 1.0, now)
            return True
