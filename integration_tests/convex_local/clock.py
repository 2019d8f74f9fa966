"""A settable clock: follows wall time until a test sets it, then stands still until advanced."""

from __future__ import annotations

import threading
import time


class Clock:
    """Nanoseconds since the Unix epoch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen: int | None = None
        self._offset = 0

    def now_ns(self) -> int:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return time.time_ns() + self._offset

    def set(self, ns: int) -> None:
        """Freeze the clock at `ns` (tests then move it with advance())."""
        with self._lock:
            self._frozen = int(ns)

    def advance(self, ns: int) -> None:
        """Move the clock forward (or back, with a negative value)."""
        with self._lock:
            if self._frozen is not None:
                self._frozen += int(ns)
            else:
                self._offset += int(ns)

    def follow_wall_time(self) -> None:
        """Unfreeze: follow wall time again, keeping any offset set by advance()."""
        with self._lock:
            self._frozen = None

    @property
    def frozen(self) -> bool:
        return self._frozen is not None
