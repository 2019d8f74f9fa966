"""Saved change-log positions that Convex no longer serves, found before anything is read.

Convex keeps the change log for a retention window (14 days on default settings). A
position older than that is answered `400 InvalidWindowToReadDocuments`: the changes
since then are gone, and only a new snapshot can bring the stream up to date. The read
asks before the snapshot phase, so expired streams can join this sync's snapshot when the
config says `on_expired_position: resync`.

Being expired is monotonic in the position (older is never valid when newer is not), so
the first valid position is found by binary search over the distinct positions: the common
case (nothing expired) costs one request, whose page then starts the change-log walk.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from convex_shared import ConvexRequestError, DeltaPage

from .config import TableRef
from .messages import rfc3339_from_ns

EXPIRED_CODE = "InvalidWindowToReadDocuments"


@dataclass(frozen=True)
class ProbeResult:
    """Streams whose position expired, and the first page read at the oldest valid position."""

    expired: frozenset[TableRef]
    first_page: tuple[int, DeltaPage] | None  # (cursor it was read after, page)
    error: ConvexRequestError | None = None  # Convex's answer for the expired positions


def is_expired(err: BaseException) -> bool:
    """Whether an error says the change-log position is out of the retention window."""
    return isinstance(err, ConvexRequestError) and err.code == EXPIRED_CODE


def probe(positions: Mapping[TableRef, int], read_page: Callable[[int], DeltaPage]) -> ProbeResult:
    """Find the expired streams among `positions` with as few `read_page` calls as possible."""
    if not positions:
        return ProbeResult(frozenset(), None)
    candidates = sorted(set(positions.values()))
    pages: dict[int, DeltaPage] = {}
    error: ConvexRequestError | None = None

    def valid(cursor: int) -> bool:
        nonlocal error
        try:
            pages[cursor] = read_page(cursor)
            return True
        except ConvexRequestError as err:
            if not is_expired(err):
                raise
            error = err
            return False

    low, high = 0, len(candidates)  # the first valid index lies in [low, high]; high = none valid
    if valid(candidates[0]):
        high = 0
    else:
        low = 1
        while low < high:
            middle = (low + high) // 2
            if valid(candidates[middle]):
                high = middle
            else:
                low = middle + 1
    first_valid = candidates[high] if high < len(candidates) else None
    expired = frozenset(table for table, cursor in positions.items() if first_valid is None or cursor < first_valid)
    first_page = (first_valid, pages[first_valid]) if first_valid is not None else None
    return ProbeResult(expired, first_page, error)


def describe_age(age_ns: int) -> str:
    """A duration for people: `3.2 hours`, `15.0 days`."""
    hours = age_ns / 3_600_000_000_000
    return f"{hours:.1f} hours" if hours < 48 else f"{hours / 24:.1f} days"


def expired_message(positions: Mapping[TableRef, int], now_ns: int | None = None) -> str:
    """The user-facing explanation: which streams, how old their positions are, what to do."""
    now = now_ns if now_ns is not None else time.time_ns()
    streams = "; ".join(
        f"{table} (position {rfc3339_from_ns(cursor)}, {describe_age(max(now - cursor, 0))} old)"
        for table, cursor in sorted(positions.items())
    )
    return (
        f"The saved change-log positions of {len(positions)} stream(s) are older than the deployment's change-log "
        f"retention window (14 days on Convex's default settings), so the changes since then are gone: {streams}. "
        "Refresh these streams in Airbyte (Connection -> Refresh or Reset) to sync them again from a new snapshot, "
        "or set on_expired_position to 'resync' in the source settings to do that automatically. Sync at least "
        "every few days to stay inside the window."
    )
