"""When to retry a transient failure, and how long to wait first.

Exponential backoff with jitter, bounded both in attempts and in total time. A server's
`Retry-After` is honoured (it knows its load better than we do) but capped, so a proxy
asking for an hour cannot stall a sync silently.
"""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass
from datetime import datetime, timezone


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff settings; `max_attempts` counts the first try (1 = never retry)."""

    max_attempts: int = 6
    initial_delay_s: float = 1.0
    max_delay_s: float = 30.0
    max_total_s: float = 300.0
    jitter: float = 0.5  # fraction of each delay drawn at random, so parallel clients spread out
    max_retry_after_s: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.initial_delay_s, self.max_delay_s, self.max_total_s, self.max_retry_after_s) < 0:
            raise ValueError("retry delays must not be negative")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be between 0 and 1")

    def backoff_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait after failed attempt number `attempt` (1-based), before any Retry-After."""
        base = min(self.max_delay_s, self.initial_delay_s * (2.0 ** (attempt - 1)))
        draw = (rng or random).random()
        return base * (1.0 - self.jitter * draw)

    def next_delay_s(
        self,
        attempt: int,
        elapsed_s: float,
        retry_after_s: float | None = None,
        rng: random.Random | None = None,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None when the budget is spent."""
        if attempt >= self.max_attempts:
            return None
        delay = self.backoff_s(attempt, rng)
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, self.max_retry_after_s))
        if elapsed_s + delay > self.max_total_s:
            return None
        return delay


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


#: Both connectors' `check`: someone waits in the UI, so a blip is retried but the answer comes within
#: seconds. Three attempts (waits of about 0.5 s and 1 s) ride out one dropped connection or one 503
#: of a restarting deployment; `max_total_s` caps the waiting, and `ConnectionSettings.for_check`
#: caps each request's timeouts, so a host that never answers fails the check in under a minute.
CHECK_RETRY = RetryPolicy(max_attempts=3, initial_delay_s=0.5, max_total_s=10.0)
