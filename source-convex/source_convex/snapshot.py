"""The snapshot phase: tables read page by page at ONE pinned snapshot timestamp.

New snapshots of a sync all read at the same `snapshot` timestamp, so the tables are
consistent with each other and every stream's change-log position starts at the same
instant. An interrupted snapshot continues at its own saved timestamp and cursor. State
follows every page and goes out on the checkpoint cadence; after a table the caller
checkpoints it.

A stream's started state (`snapshot_started`: this timestamp, nothing read yet) goes out
BEFORE any of its records. Otherwise a sync that dies inside the stream's first pages leaves
records in the destination and no state: the next sync would take a NEW snapshot and walk
the change log from there, so a document deleted in between (already delivered, absent from
the new snapshot) would never be reported as deleted. With the started state saved, the
next sync continues the same snapshot and walks the change log from its timestamp, which
holds the delete. `start_new` therefore pins the timestamp with the first page of the first
new snapshot, before anything else is read, and emits the started state of every stream that
starts a new snapshot, so they are confirmed before a record of the sync reaches the
destination. A snapshot restarted later in the sync (see below) emits its new started state
before its first record too.

A resumed snapshot that Convex refuses as `SnapshotTooOld` (it keeps snapshots for 5
days) restarts that table from scratch, at the pinned timestamp or a new one, with a
warning: every document is sent again, and the stream's change-log position then starts at
the OLDER snapshot's timestamp (state key `deltas_from`), so a document the older snapshot
delivered and that was deleted before the newer one is still reported as deleted. This
happens at most once per table per sync.

A page that does not move forward (the cursor it was asked for, a cursor the table already
returned, documents of the page before) ends the read with an error instead of emitting the
same documents again, or reading the same pages forever.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterable, Iterator
from typing import TYPE_CHECKING

from airbyte_cdk.models import AirbyteMessage

from convex_shared import ConvexBadResponseError, ConvexRequestError, SnapshotPage

from . import messages
from .cadence import Checkpoints
from .config import TableRef
from .messages import Emitted
from .page_lanes import TURN
from .plan import StreamRun
from .prefetch import lookahead
from .reader import PageReader
from .resumed_snapshot import first_resumed_page

if TYPE_CHECKING:
    from .page_lanes import Lane

Key = tuple[int | None, str | None]  # (snapshot timestamp, cursor)

_REPORT = "This is a bug in the deployment or the connector: please report it with this message."


class SnapshotCursorGuard:
    """Where the next page of one table's snapshot starts, refusing pages that do not move on.

    Convex's snapshot cursor is opaque, but it always moves forward, and each document of the
    table is in exactly one page. So a page that says "more to come" with the cursor it was
    asked for, or with any cursor this table already returned (a cycle), would be read again
    and again, its records emitted each time; and a page holding a document of the page
    before it means the cursor went back (checked against the previous page only: a set of at
    most 1024 ids, so memory stays flat). A page must also be at the timestamp it was asked
    for (a new snapshot's first page may pick any).
    """

    def __init__(self, table: TableRef, start: Key) -> None:
        self._table = table
        self._seen: set[str] = set() if start[1] is None else {start[1]}
        self._previous_ids: set[str] = set()

    def check_timestamp(self, asked: int | None, page: SnapshotPage) -> None:
        """Refuse a page read at another timestamp than `asked` (any valid one when None)."""
        if asked is not None and page.snapshot != asked:
            raise self._error(f"was answered at snapshot timestamp {page.snapshot}, not at {asked} as asked")
        if page.snapshot < 0:
            raise self._error(f"was answered at a negative snapshot timestamp ({page.snapshot})")

    def next_key(self, key: Key, page: SnapshotPage) -> Key | None:
        """The key of the page after `page` (read at `key`), or None after the last page."""
        self.check_timestamp(key[0], page)
        cursor = page.cursor
        if page.has_more:
            if cursor is None:
                raise self._error("did not advance (Convex said there is more but sent no cursor)")
            if cursor == key[1]:
                raise self._error(
                    "did not advance (Convex said there is more but sent back the cursor it was asked for)"
                )
            if cursor in self._seen:
                raise self._error("went in a circle (Convex sent a cursor it had already sent for this table)")
        ids = {row["_id"] for row in page.values}  # a str in every row (checked when the page was read)
        if not self._previous_ids.isdisjoint(ids):
            raise self._error("went back (a page repeated documents of the page before it)")
        self._previous_ids = ids
        if not page.has_more or cursor is None:
            return None
        self._seen.add(cursor)
        return (page.snapshot, cursor)

    def _error(self, what: str) -> ConvexBadResponseError:
        return ConvexBadResponseError(
            f"The snapshot of table {self._table} {what}. Convex never answers so; the read stops here rather "
            f"than emit pages twice or from two different moments. {_REPORT}",
            reason=f"snapshot of table {self._table} {what}",
            transient=False,
        )


class SnapshotPhase:
    """Reads the snapshots of one sync and holds its pinned timestamp."""

    def __init__(self, reader: PageReader, checkpoints: Checkpoints, logger: logging.Logger) -> None:
        self._reader = reader
        self._checkpoints = checkpoints
        self._logger = logger
        self.pinned: int | None = None  # written by `_pin` and `_unpin` only
        self._started: set[TableRef] = set()  # streams whose snapshot this sync started
        self._first_page: tuple[TableRef, SnapshotPage] | None = None  # read by start_new, not yet emitted

    def _pin(self, page: SnapshotPage) -> None:
        """The first new snapshot's page pins the timestamp every later new snapshot reads at."""
        if self.pinned is None:
            self.pinned = page.snapshot

    def _unpin(self, snapshot: int | None) -> None:
        """Convex no longer serves `snapshot`: when it is the pinned one, the next new snapshot pins another."""
        if self.pinned == snapshot:
            self.pinned = None

    def start_new(self, runs: Iterable[StreamRun]) -> Iterator[AirbyteMessage]:
        """Pin the sync's snapshot timestamp and emit the started state of every run that
        starts a new snapshot, before any record. The page read to learn the timestamp is
        kept and becomes the first page of that table's snapshot."""
        new = list(runs)
        if not new:
            return
        first = new[0].table
        page = self._reader.snapshot_page(first, None, None)
        SnapshotCursorGuard(first, (None, None)).check_timestamp(None, page)  # it becomes every new stream's state
        self._pin(page)
        self._first_page = (first, page)
        for run in new:
            run.snapshot_started(page.snapshot)
            self._started.add(run.table)
        yield from self._checkpoints.now(new)

    def read(self, run: StreamRun, lane: Lane[Key, SnapshotPage] | None = None) -> Iterator[Emitted]:
        """Emit the rest of `run`'s snapshot (all of it for a new one); `run.state` follows. With a
        `lane` (parallel snapshots), pages are read on it and `TURN` marks each page boundary."""
        if run.state is not None and run.table not in self._started:
            self._logger.info("Continuing the interrupted snapshot of %s.", run.table)
        while True:
            state = run.state
            start: Key = (self.pinned, None) if state is None else (state["delta_cursor"], state["snapshot_cursor"])
            resumed = state is not None and run.table not in self._started  # its position comes from saved state
            try:
                count = yield from self._pages(run, start, resumed, lane)
                break
            except ConvexRequestError as err:
                if err.code != "SnapshotTooOld" or run.snapshot_restarted:
                    raise
                self._logger.warning(
                    "The snapshot of %s cannot continue: Convex no longer serves its snapshot (SnapshotTooOld). "
                    "Reading the table again from the start at a newer snapshot; every document is sent again, "
                    "then the change log is read from the older snapshot's time, so deletes in between are "
                    "reported too.",
                    run.table,
                )
                run.restart_snapshot()
                self._unpin(start[0])
        self._logger.info("Snapshot of %s done: %d records.", run.table, count)

    def _held_page(self, table: TableRef, start: Key) -> SnapshotPage | None:
        """The page `start_new` read, if it is this table's page at `start` (handed out once)."""
        if self._first_page is None or self._first_page[0] != table:
            return None
        page = self._first_page[1]
        self._first_page = None
        return page if start == (page.snapshot, None) else None

    def _pages(
        self, run: StreamRun, start: Key, resumed: bool, lane: Lane[Key, SnapshotPage] | None = None
    ) -> Generator[Emitted, None, int]:
        """Emit the table's snapshot from `start`; returns the record count. The first page of a snapshot
        `resumed` from saved state is read with Convex's unnamed refusals recognised (see resumed_snapshot)."""
        table = run.table
        reader = self._reader
        checkpoints = self._checkpoints if lane is None else lane.checkpoints
        phase = f"snapshot of table {table}"

        def fetch(key: Key) -> SnapshotPage:
            return reader.snapshot_page(table, key[0], key[1])

        def read_first() -> SnapshotPage:
            if resumed and start[0] is not None:
                return first_resumed_page(reader, table, start[0], start[1])
            return fetch(start)

        count = 0
        held = self._held_page(table, start)
        next_key = SnapshotCursorGuard(table, start).next_key
        pages: Iterator[SnapshotPage | None]
        if lane is None:
            first = held if held is not None else read_first()
            in_order: Iterator[SnapshotPage] = lookahead(fetch, start, next_key, first)
            pages = in_order
            del first
        else:  # parallel snapshots: read on the lane; None is a turn boundary (see parallel_snapshots)
            pages = lane.pages(fetch, start, next_key, read_first, held)
        del held  # this frame lives as long as the table: do not pin the first page's documents
        for page in pages:
            if page is None:
                yield TURN
                continue
            if run.state is None:
                # A snapshot started here (a restart): its state goes out before its records.
                self._pin(page)
                run.snapshot_started(page.snapshot)
                self._started.add(table)
                yield from checkpoints.now([run])
            if page.values:
                yield messages.records(table, page.values)
                count += len(page.values)
            checkpoints.progress.add(len(page.values), phase)
            if not page.has_more:
                run.snapshot_done()
                return count
            run.snapshot_page_read(page.cursor)
            yield from checkpoints.page_done([run])
        raise AssertionError("a snapshot ends with a page that has no more")
