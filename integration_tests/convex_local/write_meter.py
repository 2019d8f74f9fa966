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
        #: (time, bytes) of every commit, for measurements (a test server's commits are few).
        self.history: list[tuple[float, int]] = []

    def record(self, nbytes: int) -> None:
        now = self._clock()
        with self._lock:
            self._commits.append((now, nbytes))
            self.total_bytes += nbytes
            if nbytes:
                self.history.append((now, nbytes))
            self._expire(now)

    def recent_bytes(self) -> int:
        now = self._clock()
        with self._lock:
            self._expire(now)
            return sum(n for _, n in self._commits)

    def busiest_window_bytes(self) -> int:
        """The most bytes committed within any one window so far."""
        with self._lock:
            commits = list(self.history)
        best, start, total = 0, 0, 0
        for end in range(len(commits)):
            total += commits[end][1]
            while commits[end][0] - commits[start][0] > WINDOW_S:
                total -= commits[start][1]
                start += 1
            best = max(best, total)
        return best

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
