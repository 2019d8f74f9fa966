"""The change-log phase on backends with the data sync API: `/api/v1/data/sync`, one cursor for
every incremental stream.

`document_deltas` cannot see a table that was cleared (`clear_tables`), replaced (`npx convex
import --replace`, a Convex destination in overwrite mode) or deleted and created again: its rows
just stop existing, so a deduplicating destination keeps them forever. Current backends also serve
`POST /api/v1/data/sync`, whose pages report `truncates`: tables whose earlier rows are gone, before
the page's values (which then re-read the table from scratch). So where the deployment has it, the
incremental streams past their snapshot follow their tables with it:

- One cursor covers the tables of all of them (a selection of exactly those tables), like the one
  change-log walk it replaces; a page holds up to 16,384 changes instead of 128 log rows. Every
  stream's state keeps it (`data_sync_cursor`) with a digest of the tables it covers
  (`data_sync_scope`).
- When the streams do not share one saved cursor for exactly their tables (a 0.4.x or 1.0 state, a
  snapshot just finished, a stream added or removed), a new cursor comes from `POST
  /api/data_sync_cursor_from_deltas` at the OLDEST of their change-log positions: everything up to
  it counts as synced. Rows at or before a stream's own position were emitted already and are
  skipped, exactly as the change-log walk does, so nothing is read twice or missed.
- Pages are read until Convex says `upToDate`; every value (insert, update, tombstone) is emitted
  in commit order. After each page every stream's state holds the next cursor, and `delta_cursor`
  the timestamp the streams were last consistent at (`snapshotTs`), so an older backend (or an
  older connector) continues from there.
- A truncate of a stream's table becomes DELETE records: the table's rows as of the last timestamp
  the stream is known to hold (`listed_at`: the later of its saved position and the last consistent
  point of this walk before the truncate's page, read with `list_snapshot` at that timestamp, where
  the name still means the old table) are each emitted as a deletion (`_deleted: true`,
  `_ab_cdc_deleted_at` set, `_ts` one nanosecond after `listed_at`: after every revision of them the
  destination has, this walk's included), then the new table's rows follow, each emitted whatever
  its `_ts` (the skip rule below does not apply to a re-read table).
  Why the old rows are still at `listed_at`: Convex reports a truncate when the table the cursor
  holds is no longer the one under that name (table_iteration/src/data_sync.rs
  `reconcile_target_tables`), and a cursor holds the tables as they were when it was made, even one
  converted from an old position (streaming_export/src/lib.rs `data_sync_cursor_from_deltas` takes
  the target tables of the latest snapshot). So the replacement happened after the cursor was made:
  after every stream's position and after the walk's last consistent point. The other side of the
  same rule: a table replaced between an old position and a conversion is not reported at all (see
  the docs' limitations). A deduplicating destination applies them
  like any delete, so it ends with exactly the table's current rows; an appending one keeps the
  history. Airbyte has no message by which a source truncates one stream (a refresh is started by
  the platform, not the source), and deletes keep the sync unattended. When the old rows cannot be
  listed any more (the position is older than Convex keeps snapshots), the read ends with a
  config_error asking for a refresh of that stream instead.

The first request of the phase tells whether the backend has the API: a 404 raises
`DataSyncUnavailable` before anything is emitted, and the read walks `document_deltas` instead.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from convex_shared import ConvexBadResponseError, ConvexError, DataSyncPage
from convex_shared.errors import ConnectorError

from . import messages
from .cadence import Checkpoints
from .config import TableRef
from .messages import DELETED, TS, Emitted, rfc3339_from_ns
from .plan import StreamRun
from .reader import COMPONENT, ID, TABLE, PageReader
from .resumed_snapshot import REFRESH, first_saved_page
from .snapshot import SnapshotCursorGuard

UP_TO_DATE = "upToDate"
STALE = "stale"


class DataSyncUnavailable(Exception):
    """The backend has no data sync API (it answered 404): walk `document_deltas` instead."""


def scope_of(runs: list[StreamRun]) -> str:
    """A short digest of the tables a cursor covers (the state keeps it next to the cursor)."""
    names = "\n".join(sorted(f"{run.table.component}\t{run.table.name}" for run in runs))
    return hashlib.sha256(names.encode()).hexdigest()[:16]


def _shared_cursor(runs: list[StreamRun], scope: str) -> str | None:
    """The saved cursor when every stream holds the same one for exactly these tables, else None."""
    saved = {(run.past_snapshot.get("data_sync_cursor"), run.past_snapshot.get("data_sync_scope")) for run in runs}
    if len(saved) != 1:
        return None
    cursor, saved_scope = saved.pop()
    return cursor if cursor is not None and saved_scope == scope else None


def _first_page(reader: PageReader, runs: list[StreamRun], scope: str) -> DataSyncPage:
    """The phase's first page; a 404 on its first request means the backend has no such API."""
    tables = [run.table for run in runs]
    try:
        cursor = _shared_cursor(runs, scope)
        if cursor is None:
            oldest = min(run.log_position for run in runs)
            cursor = reader.data_sync_cursor(oldest, tables)
        return reader.data_sync_page(cursor, tables)
    except ConvexError as err:
        if err.status == 404:
            raise DataSyncUnavailable(err.route) from None
        raise


def walk(
    reader: PageReader, checkpoints: Checkpoints, logger: logging.Logger, runs: list[StreamRun]
) -> Iterator[Emitted]:
    """Bring every run up to date through the data sync API (raises DataSyncUnavailable first, or never)."""
    scope = scope_of(runs)
    tables = [run.table for run in runs]
    routes = {run.key: run for run in runs}
    start = min(run.log_position for run in runs)
    page = _first_page(reader, runs, scope)
    pages = total = 0
    consistent_at: int | None = None
    reread: set[tuple[str, str]] = set()  # truncated tables: their rows are emitted whatever their _ts
    while True:
        pages += 1
        for key in page.truncates:
            if key in routes:
                # The run's position moved with every page's consistent point: the last timestamp it is known
                # to hold (see the module docstring).
                yield from _old_rows_deleted(reader, logger, routes[key], routes[key].log_position)
                reread.add(key)
        emitted = 0
        any_values = bool(page.values)
        if any_values:
            emitted = yield from messages.batched(_ours(page.values, routes, reread))
        total += emitted
        checkpoints.progress.add(emitted, f"data sync (page {pages})")
        for run in runs:
            run.moved_by_data_sync(page.next_cursor, scope, page.snapshot_ts)  # never moves back
        if page.status == UP_TO_DATE:
            break
        # A page that truncates a table is progress even when it holds nothing else: Convex then walks the new
        # table by id at the cursor's timestamp, where it may not exist yet (its rows follow from the log).
        if (
            page.status == STALE
            and not any_values
            and not page.truncates
            and consistent_at is not None
            and (page.snapshot_ts or 0) <= consistent_at
        ):
            raise ConvexBadResponseError(
                f"The data sync did not advance past {consistent_at} (Convex said it is behind). This is a bug in "
                "the deployment or the connector: please report it with this message.",
                reason="data sync did not advance",
                transient=False,
            )
        if page.snapshot_ts is not None:
            consistent_at = page.snapshot_ts
        yield from checkpoints.page_done(runs)
        next_cursor = page.next_cursor
        del page  # not held while the next one is read
        page = reader.data_sync_page(next_cursor, tables)
    logger.info(
        "Data sync from %s to %s: %d pages, %d changes for the synced streams.",
        rfc3339_from_ns(start),
        rfc3339_from_ns(page.snapshot_ts or start),
        pages,
        total,
    )


def _ours(
    rows: list[dict[str, Any]], routes: Mapping[tuple[str, str], StreamRun], reread: set[tuple[str, str]]
) -> Iterator[tuple[TableRef, dict[str, Any]]]:
    """The rows of a page that go to a synced stream, with their stream's table; the page's list is emptied.

    A page holds up to 16,384 changes: each row leaves the page's list as it is taken (and its batch is
    let go once written), so the page's memory shrinks while it is written out instead of living until
    the next page arrives."""
    rows.reverse()
    while rows:
        row = rows.pop()
        key = (row[COMPONENT], row[TABLE])
        target = routes.get(key)
        if target is None or (row[TS] <= target.log_position and key not in reread):
            continue  # not ours (a one-selection page holds none), or emitted by an earlier sync
        yield target.table, row


def _old_rows_deleted(reader: PageReader, logger: logging.Logger, run: StreamRun, position: int) -> Iterator[Emitted]:
    """A DELETE record (at `position` + 1) for every row the table held at `position`, the last
    timestamp the stream is known to hold (see the module docstring)."""
    table = run.table
    logger.warning(
        "Convex reports that table %s was cleared or replaced after %s (a truncate in the data sync). Emitting a "
        "delete for each row it held then, followed by its current rows, so a deduplicating destination keeps "
        "only those.",
        table,
        rfc3339_from_ns(position),
    )
    explain = (
        f"Table {table} was cleared or replaced in Convex since the last sync, and its earlier rows, which "
        "the destination still holds, cannot be listed to delete them"
    )
    try:
        page = first_saved_page(reader, table, position, None, explain)
    except ConvexError as err:
        if err.code != "SnapshotTooOld":
            raise
        raise ConnectorError(
            f"{explain}: the last sync ({rfc3339_from_ns(position)}) is older than Convex keeps snapshots (5 days).",
            failure_type="config_error",
            remedy=REFRESH,
            internal=f"list_snapshot at the position before a truncate: {err.details}",
        ) from None
    deleted = 0
    progress = SnapshotCursorGuard(table, (position, None))  # refuses pages that do not move on
    key: tuple[int | None, str | None] | None = (position, None)
    while key is not None:
        deletes = [
            {ID: document[ID], TABLE: table.name, COMPONENT: table.component, TS: position + 1, DELETED: True}
            for document in page.values
        ]
        if deletes:
            yield messages.records(table, deletes)
        deleted += len(deletes)
        key = progress.next_key(key, page)
        if key is not None:
            page = reader.snapshot_page(table, key[0], key[1])
    logger.info("Emitted %d deletes for the earlier rows of %s.", deleted, table)
