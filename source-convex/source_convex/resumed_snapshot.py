"""Snapshot pages at a timestamp from saved state, with Convex's two unnamed refusals recognised.

A saved snapshot position is the only `list_snapshot` request whose arguments come from outside
this sync (an interrupted snapshot, or the old rows of a table Convex says was replaced, see
`data_sync`), and Convex refuses two kinds of them without a code of their own:

- a snapshot past the deployment's retention answers `503 InternalServerError` "Your request couldn't
  be completed. Try again later." (only `document_deltas` has `InvalidWindowToReadDocuments`);
- on backends before 2026-08-17 a cursor Convex cannot parse answers `500 InternalServerError`
  (later ones say `400 InvalidListSnapshotCursor`).

Both look transient, so the usual retries would spend five minutes on a request that can never
succeed. So such a first page gets a short retry budget, and when it still fails with one of these
the request is narrowed until the cause is certain: the same table at the current time (no
snapshot, no cursor) must answer, and then the saved snapshot without its cursor. The current time
answering while the saved snapshot does not means the snapshot is gone; the saved snapshot answering
without the cursor while it fails with it means the cursor is bad. Either ends the read with the
resync advice. When the narrower request fails too, the deployment is in trouble and the original
error goes on as a transient one.
"""

from __future__ import annotations

import enum
from typing import Final

from convex_shared import ConvexError, ConvexTransientError, RetryPolicy, SnapshotPage
from convex_shared.errors import ConnectorError

from .config import TableRef
from .messages import rfc3339_from_ns
from .reader import PageReader

#: For the first page at a saved position only: one quick retry, then diagnose.
QUICK_RETRY: Final = RetryPolicy(max_attempts=2, initial_delay_s=0.5, max_total_s=10.0)
#: One attempt: the diagnosis itself must not wait.
ONE_ATTEMPT: Final = RetryPolicy(max_attempts=1)

REFRESH: Final = (
    "Refresh this stream in Airbyte (Connection -> Refresh, or clear its state) to read it again from a new snapshot."
)


class Refusal(enum.Enum):
    """Why Convex will never answer a page at a saved position."""

    PAST_RETENTION = "the snapshot is outside the deployment's retention window"
    BAD_CURSOR = "the cursor cannot be read"


def _unnamed_refusal(err: ConvexError) -> bool:
    return isinstance(err, ConvexTransientError) and err.status in (500, 503) and err.code == "InternalServerError"


def _answers(reader: PageReader, table: TableRef, snapshot: int | None, cursor: str | None) -> bool:
    try:
        reader.snapshot_page(table, snapshot, cursor, retry=ONE_ATTEMPT)
    except ConvexError:
        return False
    return True


def diagnose(
    reader: PageReader, table: TableRef, snapshot: int, cursor: str | None, err: ConvexError
) -> Refusal | None:
    """The certain cause of `err` for the page at (`snapshot`, `cursor`), or None when it may pass."""
    if not _unnamed_refusal(err) or not _answers(reader, table, None, None):
        return None
    if cursor is not None and _answers(reader, table, snapshot, None):
        return Refusal.BAD_CURSOR
    if _answers(reader, table, snapshot, cursor):
        return None  # it passed after all
    return Refusal.PAST_RETENTION


def first_saved_page(
    reader: PageReader, table: TableRef, snapshot: int, cursor: str | None, explain: str
) -> SnapshotPage:
    """The page at (`snapshot`, `cursor`) from saved state, or a config_error that starts with `explain`
    (what cannot continue) when Convex refuses it for good."""
    try:
        return reader.snapshot_page(table, snapshot, cursor, retry=QUICK_RETRY)
    except ConvexError as err:
        refusal = diagnose(reader, table, snapshot, cursor, err)
        if refusal is None:
            if _unnamed_refusal(err):
                return reader.snapshot_page(table, snapshot, cursor)  # passing trouble: the usual retries
            raise
        where = f"taken at {rfc3339_from_ns(snapshot)}"
        why = (
            f"Convex answers {err.status} {err.code} for its saved cursor while it answers the same snapshot "
            "without it, which is how this backend reports a cursor it cannot read (the saved state is "
            "damaged or from another deployment)"
            if refusal is Refusal.BAD_CURSOR
            else f"Convex answers {err.status} {err.code} for it while it answers the same table at the current "
            "time, which is how Convex reports a snapshot outside the deployment's retention window"
        )
        raise ConnectorError(
            f"{explain} ({where}): {why}.",
            failure_type="config_error",
            remedy=REFRESH,
            internal=f"list_snapshot at a saved position ({refusal.name}): {err.details}",
        ) from None


def first_resumed_page(reader: PageReader, table: TableRef, snapshot: int, cursor: str | None) -> SnapshotPage:
    """The first page of an interrupted snapshot (see `first_saved_page`)."""
    return first_saved_page(
        reader, table, snapshot, cursor, f"The interrupted snapshot of stream {table} cannot continue"
    )
