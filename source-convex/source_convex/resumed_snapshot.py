"""The first page of a snapshot resumed from saved state, with Convex's two unnamed refusals recognised.

A saved snapshot position is the only `list_snapshot` request whose arguments come from outside
this sync, and Convex refuses two kinds of them without a code of their own:

- a snapshot past the deployment's retention answers `503 InternalServerError` "Your request couldn't
  be completed. Try again later." (only `document_deltas` has `InvalidWindowToReadDocuments`);
- on backends before 2026-08-17 a cursor Convex cannot parse answers `500 InternalServerError`
  (later ones say `400 InvalidListSnapshotCursor`).

Both look transient, so the usual retries would spend five minutes on a request that can never
succeed. So the first resumed page gets a short retry budget, and when it still fails with one of
these the request is narrowed until the cause is certain: the same table at the current time (no
snapshot, no cursor) must answer, and then the saved snapshot without its cursor. The current time
answering while the saved snapshot does not means the snapshot is gone; the saved snapshot answering
without the cursor while it fails with it means the cursor is bad. Either ends the read with the
resync advice. When the narrower request fails too, the deployment is in trouble and the original
error goes on as a transient one.
"""

from __future__ import annotations

from typing import Final, Optional

from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from convex_shared import ConvexError, ConvexTransientError, RetryPolicy, SnapshotPage

from .cdc import rfc3339_from_ns
from .pages import PageReader
from .tables import TableRef

#: For the first resumed page only: one quick retry, then diagnose.
QUICK_RETRY: Final = RetryPolicy(max_attempts=2, initial_delay_s=0.5, max_total_s=10.0)
#: One attempt: the diagnosis itself must not wait.
ONE_ATTEMPT: Final = RetryPolicy(max_attempts=1)

_REFRESH: Final = ("Refresh this stream in Airbyte (Connection -> Refresh, or clear its state) to read it again "
                   "from a new snapshot.")


def _unnamed_refusal(err: ConvexError) -> bool:
    return isinstance(err, ConvexTransientError) and err.status in (500, 503) and err.code == "InternalServerError"


def _answers(reader: PageReader, table: TableRef, snapshot: Optional[int], cursor: Optional[str]) -> bool:
    try:
        reader.snapshot_page(table, snapshot, cursor, retry=ONE_ATTEMPT)
    except ConvexError:
        return False
    return True


def first_resumed_page(reader: PageReader, table: TableRef, snapshot: int, cursor: Optional[str]) -> SnapshotPage:
    """The page at (`snapshot`, `cursor`) from saved state, or a config_error when Convex refuses it for good."""
    try:
        return reader.snapshot_page(table, snapshot, cursor, retry=QUICK_RETRY)
    except ConvexError as err:
        if not _unnamed_refusal(err) or not _answers(reader, table, None, None):
            raise
        if cursor is not None and _answers(reader, table, snapshot, None):
            raise AirbyteTracedException(
                message=f"The interrupted snapshot of stream {table} cannot continue: Convex cannot read its saved "
                f"position (cursor), which this backend reports as {err.status} {err.code}; the saved state is "
                f"damaged or from another deployment. {_REFRESH}",
                internal_message=f"list_snapshot at a saved cursor: {err.details}",
                failure_type=FailureType.config_error,
            ) from None
        try:
            return reader.snapshot_page(table, snapshot, cursor, retry=ONE_ATTEMPT)  # it passed after all
        except ConvexError as again:
            if not _unnamed_refusal(again):
                raise
        raise AirbyteTracedException(
            message=f"The interrupted snapshot of stream {table} (taken at {rfc3339_from_ns(snapshot)}) cannot "
            f"continue: Convex answers {err.status} {err.code} for it while it answers the same table at the "
            "current time, which is how Convex reports a snapshot outside the deployment's retention window. "
            + _REFRESH,
            internal_message=f"list_snapshot at a saved snapshot: {err.details}",
            failure_type=FailureType.config_error,
        ) from None
