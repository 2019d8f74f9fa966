"""The deployment's write-throughput window, as the backend keeps it.

From crates/database/src/write_throughput_limiter.rs: every commit records its write bytes at
its timestamp; a check fails when the bytes committed in the last WRITE_THROUGHPUT_WINDOW (1 s)
exceed MAX_BYTES_WRITTEN_PER_SECOND (4 MiB). Commits are never refused (streaming import commits
without checking); app mutations check before they run (application_function_runner
`run_mutation_no_udf_log`), retry up to UDF_EXECUTOR_OCC_MAX_RETRIES (4) times with backoff, and
then fail with `TooManyWrites`.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Callable

from .errors import ApiError

WINDOW_S = 1.0
DEFAULT_MAX_BYTES_PER_S = 4 * 1024 * 1024


class WriteMeter:
    """Bytes committed in the last second, per commit."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._commits: collections.deque[tuple[float, int]] = collections.deque()
        self.total_bytes = 0

    def record(self, nbytes: int) -> None:
        now = self._clock()
        with self._lock:
            self._commits.append((now, nbytes))
            self.total_bytes += nbytes
            self._expire(now)

    def recent_bytes(self) -> int:
        now = self._clock()
        with self._lock:
            self._expire(now)
            return sum(n for _, n in self._commits)

    def check(self, max_bytes_per_s: float) -> None:
        """Raise 429 TooManyWrites when the window holds more than the limit (what a mutation sees)."""
        if self.recent_bytes() > max_bytes_per_s * WINDOW_S:
            raise ApiError(
                429,
                "TooManyWrites",
                f"Too many writes per second. Your deployment is limited to {int(max_bytes_per_s)} bytes written per"
                " 1s. Reduce your write rate or upgrade to a larger deployment.",
            )

    def _expire(self, now: float) -> None:
        while self._commits and now - self._commits[0][0] > WINDOW_S:
            self._commits.popleft()
