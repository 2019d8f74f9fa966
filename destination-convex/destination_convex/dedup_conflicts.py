"""A dedup import that Convex answers with a bare 500: almost always several documents per key.

Convex upserts a dedup record by looking its primary key up in the table's index; when the
lookup finds more than one document it fails without an error code, so the answer is a plain
`500 InternalServerError` (convex-backend `crates/application/src/lib.rs`, `process_record`:
`query_stream.expect_at_most_one(tx)` on the `_by_airbyte_primary_key` index). That happens when
a table filled in append mode (or by the app) is switched to Append + Deduped: every later sync
fails the same way, and retrying for half a minute only delays the message. The shared client
retries an import 500 once (`ConvexClient.import_airbyte_records`); for a request holding a dedup
table the final error then says what most likely happened and what to do.
"""

from __future__ import annotations

from collections.abc import Sequence

from convex_shared import ConvexError

from .errors import CONFIG_ERROR, DestinationError


def is_duplicate_key_failure(error: ConvexError, dedup_tables: Sequence[str]) -> bool:
    """A 500 without a code of its own, for a request holding at least one dedup table."""
    return bool(dedup_tables) and error.status == 500 and error.code in (None, "InternalServerError")


def duplicate_keys_error(context: str, error: ConvexError, streams: Sequence[tuple[str, str]]) -> DestinationError:
    """The error users see: the likely cause (duplicate keys) and the two ways out."""
    named = ", ".join(f"'{table}' (stream '{label}')" for label, table in streams)
    return DestinationError(
        f"{context}: Convex answered 500 InternalServerError to an Append + Deduped import into {named}. Convex "
        "gives this answer when a table holds several documents with the same primary key, so it cannot tell "
        "which one to update; this happens when the stream was synced in Append mode before (or the app wrote "
        "the table too). Every later sync fails the same way until the duplicates are gone: refresh the stream "
        "in Airbyte with 'Refresh and remove records' (a truncate refresh, which clears the table first), or clear "
        "the table in the Convex dashboard, then sync again. If the table cannot hold duplicate keys, check the "
        "stream's field names (a name that needs more than 3 renames to avoid a collision, or one too long for "
        "Convex, gets the same answer); if none applies, this was a Convex server error: retry the sync later. "
        f"[Convex: {error.details}]" + (f" [gave up after {error.attempts} attempts]" if error.attempts > 1 else ""),
        failure_type=CONFIG_ERROR,
    )
