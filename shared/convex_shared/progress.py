"""When a long job logs its next progress line: at most one every `every_s` seconds.

Both connectors log progress on long work (a snapshot, a write, an index build) and both keep
the log readable by spacing the lines out; this is that gate, written once. The clock is
injectable, so callers test their lines without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class ProgressTimer:
    """Says when a progress line is due, and how long since the previous one (for rates)."""

    def __init__(self, every_s: float, clock: Callable[[], float] = time.monotonic, at_once: bool = False) -> None:
        """`at_once`: the first line is due immediately, not after `every_s`."""
        self.every_s = every_s
        self._clock = clock
        self.started = self._last = clock()
        self._next = self.started if at_once else self.started + every_s

    def due(self) -> float | None:
        """Seconds since the previous line (or the start) when a line is due now, else None;
        a due line restarts the interval."""
        now = self._clock()
        if now < self._next:
            return None
        since, self._last, self._next = now - self._last, now, now + self.every_s
        return since

    def elapsed_s(self) -> float:
        """Seconds since the job started (never zero, so rates can divide by it)."""
        return max(self._clock() - self.started, 1e-9)
