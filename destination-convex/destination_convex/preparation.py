"""Setup before the first record: build the dedup indexes.

1. One `add_primary_key_indexes` call for every dedup stream, with key paths already mapped to
   the stored field names (see `tables.primary_key_paths`).
2. `primary_key_indexes_ready` polled with exponential backoff until true, logging a progress
   line while it waits, and failing with a clear error at the configured deadline (a big
   table's index can take a while to backfill; the build goes on in Convex regardless).

Nothing is cleared here. Overwrite streams and truncate refreshes clear their table only once
the source reports the stream COMPLETE (see `replacement`): a source that fails before or
during the stream leaves the table as it was. `clear_tables` keeps the primary-key index, so an
index built here over the old documents still serves the new ones.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from convex_shared import ConvexClient, ConvexError

from .errors import TRANSIENT_ERROR, ConfigurationError, ConvexStepError, DestinationError
from .plan import StreamPlan, WriteMode

#: First and largest pause between readiness polls, in seconds.
FIRST_POLL_DELAY_S = 0.25
MAX_POLL_DELAY_S = 10.0
#: How often a progress line is logged while indexes build.
PROGRESS_EVERY_S = 30.0


def prepare_tables(
    client: ConvexClient,
    plans: Sequence[StreamPlan],
    *,
    index_ready_timeout_s: float,
    logger: logging.Logger,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Run the setup steps the plans need (nothing at all without a dedup stream)."""
    dedup = [plan for plan in plans if plan.mode is WriteMode.DEDUP and plan.primary_key]
    if not dedup:
        return
    indexes = {plan.table: [list(path) for path in plan.primary_key or ()] for plan in dedup}
    described = "; ".join(f"{table} on {_paths(paths)}" for table, paths in indexes.items())
    logger.info(f"Creating primary-key indexes for deduplication: {described}.")
    try:
        client.add_primary_key_indexes(indexes)
    except ConvexError as err:
        if err.code == "InvalidPrimaryKey":
            raise ConfigurationError(
                f"Convex refused the primary-key index for the dedup stream(s) "
                f"{', '.join(f'{plan.label} (key {_paths(indexes[plan.table])})' for plan in dedup)}: "
                f"{err.convex_message or err.explanation} "
                "Choose another primary key, or sync the stream in append mode."
            ) from None
        raise ConvexStepError(f"Creating primary-key indexes ({described})", err) from None
    wait_for_indexes(client, list(indexes), timeout_s=index_ready_timeout_s, logger=logger, sleep=sleep, clock=clock)


def wait_for_indexes(
    client: ConvexClient,
    tables: list[str],
    *,
    timeout_s: float,
    logger: logging.Logger,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Poll until every table's primary-key index is ready; DestinationError at the deadline."""
    started = clock()
    deadline = started + timeout_s
    delay = FIRST_POLL_DELAY_S
    # The first not-ready answer is logged at once, then one line per PROGRESS_EVERY_S.
    next_progress = started
    polls = 0
    while True:
        polls += 1
        try:
            ready = client.primary_key_indexes_ready(tables)
        except ConvexError as err:
            raise ConvexStepError(
                f"Checking whether the primary-key indexes of {', '.join(tables)} are ready", err
            ) from None
        now = clock()
        if ready:
            if polls > 1:
                logger.info(f"Primary-key indexes are ready after {now - started:.1f} s.")
            return
        if now >= deadline:
            raise DestinationError(
                f"Convex did not finish building the primary-key indexes of {', '.join(tables)} within "
                f"{timeout_s:g} s (index_ready_timeout_seconds). Big tables take longer to index; the build goes on "
                "in Convex, so retry the sync later, or raise the index build timeout in the destination settings.",
                failure_type=TRANSIENT_ERROR,
            )
        if now >= next_progress:
            logger.info(
                f"Waiting for Convex to build the primary-key indexes of {', '.join(tables)}: "
                f"{now - started:.0f} s so far, giving up after {timeout_s:g} s."
            )
            next_progress = now + PROGRESS_EVERY_S
        sleep(max(0.0, min(delay, deadline - now)))
        delay = min(delay * 2, MAX_POLL_DELAY_S)


def _paths(paths: Sequence[Sequence[str]]) -> str:
    return ", ".join(".".join(path) for path in paths)
