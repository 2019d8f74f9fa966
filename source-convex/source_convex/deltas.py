"""The change-log walk: `document_deltas` read ONCE per sync for every incremental stream.

Convex has one change log per deployment, and the server reads 128 log rows per page
whatever the table filter, so a walk per table would cost tables x pages. This walk starts
at the oldest position among the streams, asks for no filter at all, and routes each row
to its stream by `_component` / `_table` (so a backend that ignores filters changes
nothing). A row at or before its stream's own position was emitted by an earlier sync (or
is covered by its snapshot) and is skipped. Rows of tables not in the catalog are dropped.

After every page, empty ones included, every stream's position moves to the page cursor
(never backwards): a quiet table keeps up with the log, so it does not fall out of the
retention window just because nothing changed in it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from convex_shared import ConvexBadResponseError, DeltaPage

from . import messages
from .cadence import Checkpoints
from .config import TableRef
from .messages import TS, Emitted, rfc3339_from_ns
from .plan import StreamRun
from .prefetch import lookahead
from .reader import PageReader


def _next_cursor(cursor: int, page: DeltaPage) -> int | None:
    if not page.has_more:
        return None
    if page.cursor <= cursor:
        raise ConvexBadResponseError(
            f"The change log did not advance past {cursor} (Convex said there is more). This is a bug in the "
            "deployment or the connector: please report it with this message."
        )
    following: int = page.cursor
    return following


def _ours(
    rows: list[dict[str, Any]], routes: Mapping[tuple[str, str], StreamRun], positions: Mapping[tuple[str, str], int]
) -> Iterator[tuple[TableRef, dict[str, Any]]]:
    """The rows of a page that go to a synced stream (after its position), with their stream's table."""
    for row in rows:
        key = (row.get("_component", ""), row.get("_table", ""))
        target = routes.get(key)
        if target is not None and row[TS] > positions[key]:
            yield target.table, row


def walk(
    reader: PageReader,
    checkpoints: Checkpoints,
    logger: logging.Logger,
    runs: list[StreamRun],
    first_page: tuple[int, DeltaPage] | None = None,
) -> Iterator[Emitted]:
    """Emit every change after each stream's position; `first_page` = (cursor, page) already read."""
    positions = {run.key: run.log_position for run in runs}
    routes = {run.key: run for run in runs}
    start = min(positions.values())
    first = first_page[1] if first_page is not None and first_page[0] == start else None
    pages = total = 0
    end = start
    for page in lookahead(reader.delta_page, start, _next_cursor, first):
        pages += 1
        emitted = 0
        if page.values:
            emitted = yield from messages.batched(_ours(page.values, routes, positions))
            total += emitted
        # Also on pages with nothing for us: a long walk over other tables' changes still reports.
        checkpoints.progress.add(emitted, f"change log (page {pages}, at {rfc3339_from_ns(page.cursor)})")
        for run in runs:
            run.moved_by_change_log(page.cursor)
            positions[run.key] = run.log_position
        end = page.cursor
        if page.has_more:
            yield from checkpoints.page_done(runs)
    logger.info(
        "Change log read from %s to %s: %d pages, %d changes for the synced streams.",
        rfc3339_from_ns(start),
        rfc3339_from_ns(end),
        pages,
        total,
    )
