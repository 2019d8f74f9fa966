"""Keeps the destination's writes under a rate, so the user's app can still write.

Convex never refuses an import for write throughput, but every commit's bytes count in the
deployment's one-second window (about 4 MiB/s), and the app's own mutations are the ones that
fail with `TooManyWrites` when a bulk load fills it. The pacer spaces requests by their write
bytes (`ImportRequest.write_bytes`, Convex's accounting): a request may start only once the
bytes of the requests before it are "paid" at the configured rate. Requests are also kept to
half a second's worth, so no single commit fills the window on its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: Largest request, in seconds of the configured rate.
MAX_REQUEST_S = 0.5


class WritePacer:
    """A shared start schedule for the workers' requests (thread-safe)."""

    def __init__(
        self,
        bytes_per_s: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if bytes_per_s <= 0:
            raise ValueError("bytes_per_s must be positive")
        self.bytes_per_s = bytes_per_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_start = 0.0
        self.waited_s = 0.0

    @property
    def max_request_bytes(self) -> int:
        return max(1, int(self.bytes_per_s * MAX_REQUEST_S))

    def acquire(self, nbytes: int) -> None:
        """Wait until a request writing `nbytes` may start."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next_start)
            self._next_start = start + nbytes / self.bytes_per_s
            wait = start - now
            self.waited_s += wait
        if wait > 0:
            self._sleep(wait)
