"""Parallel snapshots: up to N tables read at once, each stream's messages in its own order.

Pages of different tables at one `snapshot` timestamp (or each at its own saved one) are
independent, so reading N tables at once costs about one page latency per N pages instead of
one per page. Each table is read by the same code as a table read alone (`SnapshotPhase.read`
and the orchestrator's per-table steps): started state before any record, SnapshotTooOld
restart, the cursor guard, checkpoints; only its pages come from a `Lane`, which reads them on
a shared pool of I/O threads and marks a turn boundary (`TURN`) before each one.

All of a table's messages are made and emitted on this (the emitter's) thread; turns switch
only at turn boundaries, i.e. between pages. So when a table's STATE goes out, every record of
the pages it covers went out before it, and when any table fails, every other table stands at
a turn boundary with its state covering exactly the pages it emitted (the orchestrator then
saves those states and marks the unfinished streams INCOMPLETE, as for one table).

Turns go round-robin among the tables whose next page is in (one page per turn), so no table
starves the others' requests; when none is in, the emitter sleeps until one is. A table's
lane is freed when its steps are done, and the next table in catalog order takes it.
Memory: N requests in flight and at most 2N pages held (two per table, see `page_lanes`).
"""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .cadence import Checkpoints
from .config import TableRef
from .messages import Emitted
from .page_lanes import TURN, Lane, shared_pool

#: One table's steps, reading its pages from the lane it is given.
Job = Callable[["Lane[Any, Any]"], Iterator[Emitted]]
#: How long the emitter sleeps at most before looking at the lanes again (a page landing wakes it at once).
_LOOK_AGAIN_S = 1.0


@dataclasses.dataclass
class _Turn:
    table: TableRef
    lane: Lane[Any, Any]
    messages: Iterator[Emitted]


class ParallelSnapshots:
    """Runs table jobs `width` at a time (see the module docstring)."""

    def __init__(self, width: int, checkpoints: Checkpoints, on_turn: Callable[[TableRef], None] | None = None) -> None:
        """`on_turn(table)`, if given, is called before each turn of `table`. (An error names its
        table without it: each job's own `step` marks it as it leaves the job.)"""
        if width < 1:
            raise ValueError("parallel snapshots need at least one lane")
        self._width = width
        self._checkpoints = checkpoints
        self._on_turn = on_turn
        self._wake = threading.Event()

    def read(self, jobs: Sequence[tuple[TableRef, Job]]) -> Iterator[Emitted]:
        """Every message of every job; each job's in its own order."""
        pool = shared_pool(self._width)
        waiting = deque(jobs)
        active: deque[_Turn] = deque()
        while waiting or active:
            while waiting and len(active) < self._width:
                table, job = waiting.popleft()
                # Its own checkpoint cadence: it counts this table's pages, as when tables are read alone.
                lane: Lane[Any, Any] = Lane(pool, self._checkpoints.for_lane(), self._wake)
                active.append(_Turn(table, lane, job(lane)))
            self._wake.clear()  # before looking: a page landing from here on wakes the wait below
            turn = next((candidate for candidate in active if candidate.lane.ready()), None)
            if turn is None:
                self._wake.wait(_LOOK_AGAIN_S)
                continue
            active.remove(turn)
            if self._on_turn is not None:
                self._on_turn(turn.table)
            for message in turn.messages:
                if message is TURN:
                    active.append(turn)  # to the back: the others go first
                    break
                yield message
