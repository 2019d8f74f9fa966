"""The snapshot phase: tables read page by page at ONE pinned snapshot timestamp.

New snapshots of a sync all read at the same `snapshot` timestamp (taken from the first
page any of them reads), so the tables are consistent with each other and every stream's
change-log position starts at the same instant. An interrupted snapshot continues at its
own saved timestamp and cursor. State follows every page and goes out on the checkpoint
cadence; after a table the caller checkpoints it.

A resumed snapshot that Convex refuses as `SnapshotTooOld` (it keeps snapshots for 5
days) restarts that table from scratch, at the pinned timestamp or a new one, with a
warning: rows already sent are sent again, none are lost, since the stream's position then
starts at the newer snapshot. This happens at most once per table per sync.
"""

from __future__ import annotations

from typing import Generator, Iterator, Optional

from airbyte_cdk.models import AirbyteMessage
from convex_shared import ConvexBadResponseError, ConvexRequestError, SnapshotPage

from . import messages
from .context import ReadContext
from .plan import StreamRun
from .prefetch import lookahead
from .state import snapshot_finished, snapshot_page_read, snapshot_started

Key = tuple[Optional[int], Optional[str]]  # (snapshot timestamp, cursor)


class SnapshotPhase:
    """Reads the snapshots of one sync and holds its pinned timestamp."""

    def __init__(self, context: ReadContext) -> None:
        self._ctx = context
        self.pinned: Optional[int] = None

    def read(self, run: StreamRun) -> Iterator[AirbyteMessage]:
        """Emit the rest of `run`'s snapshot (all of it for a new one); `run.state` follows."""
        if run.state is not None:
            self._ctx.logger.info("Continuing the interrupted snapshot of %s.", run.table)
        while True:
            state = run.state
            start: Key = (self.pinned, None) if state is None else (state["delta_cursor"], state["snapshot_cursor"])
            try:
                count = yield from self._pages(run, start)
                break
            except ConvexRequestError as err:
                if err.code != "SnapshotTooOld" or run.snapshot_restarted:
                    raise
                self._ctx.logger.warning(
                    "The snapshot of %s cannot continue: Convex no longer serves its snapshot (SnapshotTooOld). "
                    "Reading the table again from the start at a newer snapshot; rows already sent are sent "
                    "again, none are lost.", run.table)
                run.snapshot_restarted = True
                if self.pinned == start[0]:
                    self.pinned = None
                run.state = None
        self._ctx.logger.info("Snapshot of %s done: %d records.", run.table, count)

    def _pages(self, run: StreamRun, start: Key) -> Generator[AirbyteMessage, None, int]:
        """Emit the table's snapshot from `start`; returns the record count."""
        table = run.table
        ctx = self._ctx
        phase = f"snapshot of table {table}"

        def fetch(key: Key) -> SnapshotPage:
            return ctx.reader.snapshot_page(table, key[0], key[1])

        def next_key(key: Key, page: SnapshotPage) -> Optional[Key]:
            if not page.has_more:
                return None
            if page.cursor is None or (page.cursor == key[1] and not page.values):
                raise ConvexBadResponseError(
                    f"The snapshot of table {table} did not advance (Convex returned the same cursor with no "
                    "rows). This is a bug in the deployment or the connector: please report it with this message."
                )
            return (page.snapshot, page.cursor)

        count = 0
        for page in lookahead(fetch, start, next_key):
            if run.state is None:
                if self.pinned is None:
                    self.pinned = page.snapshot
                run.state = snapshot_started(page.snapshot)
            if page.values:
                yield from messages.records(table, page.values)
                count += len(page.values)
            ctx.progress.add(len(page.values), phase)
            if not page.has_more:
                run.state = snapshot_finished(run.state)
                return count
            run.state = snapshot_page_read(run.state, page.cursor)
            if ctx.checkpointer.page_done():
                yield from ctx.checkpoint([run])
        raise AssertionError("a snapshot ends with a page that has no more")
