"""When the read checkpoints state and reports progress, and the checkpoints themselves.

State goes out after each table, at the end, and in between whenever `every_pages` pages
or `every_s` seconds have passed since the last checkpoint, whichever comes first: often
enough that an interrupted sync repeats little (a page is at most 1024 documents), not so
often that a million-row table floods the destination with state messages. Progress is a
log line at most every `progress_every_s` seconds with records, records/s and the phase.
Clocks are injectable so both are testable without sleeping.

A checkpoint emits the state of every given stream whose state changed since it was last
emitted (`StreamRun.checkpoint`). It is only ever called after the records that state covers
were yielded, which is what makes a saved state safe to resume from.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from airbyte_cdk.models import AirbyteMessage

from convex_shared.progress import ProgressTimer

from . import messages
from .plan import StreamRun


@dataclass(frozen=True)
class Cadence:
    """Checkpoint and progress intervals (a read gets one; tests may pass tighter ones)."""

    every_pages: int = 20
    every_s: float = 30.0
    progress_every_s: float = 10.0


@dataclass
class CheckpointTimer:
    """Says when the next in-between checkpoint is due (it emits nothing itself)."""

    cadence: Cadence
    clock: Callable[[], float] = time.monotonic
    _pages: int = 0
    _last: float = field(default=0.0)

    def __post_init__(self) -> None:
        self._last = self.clock()

    def page_done(self) -> bool:
        """Count one page; True when a checkpoint is due now (then the counters restart)."""
        self._pages += 1
        if self._pages >= self.cadence.every_pages or self.clock() - self._last >= self.cadence.every_s:
            self.reset()
            return True
        return False

    def reset(self) -> None:
        """A checkpoint was just emitted (after a table, say)."""
        self._pages = 0
        self._last = self.clock()


class Progress:
    """Counts records and logs a progress line at most every `progress_every_s` seconds."""

    def __init__(self, logger: logging.Logger, cadence: Cadence, clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.records = 0
        self._timer = ProgressTimer(cadence.progress_every_s, clock)
        self._records_at_last_log = 0

    def add(self, count: int, phase: str) -> None:
        """`count` more records were emitted while in `phase` (e.g. "snapshot of users")."""
        self.records += count
        since = self._timer.due()
        if since is not None:
            rate = (self.records - self._records_at_last_log) / max(since, 1e-9)
            self.logger.info(
                "Progress: %d records so far (%.0f records/s over the last %.0f s); now reading the %s.",
                self.records,
                rate,
                since,
                phase,
            )
            self._records_at_last_log = self.records

    def summary(self) -> str:
        """`N records in T s (R records/s)`, for the final log line."""
        elapsed = self._timer.elapsed_s()
        return f"{self.records} records in {elapsed:.1f} s ({self.records / elapsed:.0f} records/s)"


class Checkpoints:
    """The checkpoints and progress lines of one read, shared by its phases."""

    def __init__(self, cadence: Cadence, logger: logging.Logger) -> None:
        self.timer = CheckpointTimer(cadence)
        self.progress = Progress(logger, cadence)

    def for_lane(self) -> Checkpoints:
        """Checkpoints for one table of parallel snapshots: its own cadence, the read's progress."""
        lane = Checkpoints(self.timer.cadence, self.progress.logger)
        lane.progress = self.progress
        return lane

    def now(self, runs: Iterable[StreamRun]) -> Iterator[AirbyteMessage]:
        """STATE messages for the streams whose state changed since they were last saved."""
        for run in runs:
            state = run.checkpoint()
            if state is not None:
                yield messages.state(run.table, state)

    def page_done(self, runs: Iterable[StreamRun]) -> Iterator[AirbyteMessage]:
        """After one page (not the last) of `runs`: their states when a checkpoint is due."""
        if self.timer.page_done():
            yield from self.now(runs)

    def table_done(self, runs: Iterable[StreamRun]) -> Iterator[AirbyteMessage]:
        """After a table: its state now, and the cadence starts over."""
        yield from self.now(runs)
        self.timer.reset()
