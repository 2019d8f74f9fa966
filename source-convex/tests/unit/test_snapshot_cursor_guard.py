"""Snapshot pages must move forward: a cursor that does not advance or comes back, or a page
that repeats documents of the page before, ends the read.

The pure part (`SnapshotCursorGuard`) on its own, then the whole read over HTTP answered by
requests-mock (no code of ours is faked): a deployment that keeps answering "more to come"
with the cursor it was asked for, or whose cursor points back, gets a clean, classified error,
and the page is emitted once.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests_mock as rm
from airbyte_cdk.models import (
    AirbyteStream,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    DestinationSyncMode,
    FailureType,
    SyncMode,
)
from airbyte_cdk.test import entrypoint_wrapper
from convex_shared import ConvexBadResponseError, RetryPolicy, SnapshotPage

from source_convex import SourceConvex
from source_convex.snapshot import SnapshotCursorGuard
from source_convex.config import TableRef

USERS = TableRef("", "users")
TS = 1_800_000_000_000_000_000


def _page(cursor: str | None, has_more: bool = True, values: int = 3, snapshot: int = TS,
          first: int = 0) -> SnapshotPage:
    docs = [{"_component": "", "_table": "users", "_ts": 5, "_id": f"d{n}"} for n in range(first, first + values)]
    return SnapshotPage(values=docs, snapshot=snapshot, cursor=cursor, has_more=has_more)


def test_cursors_that_advance_are_followed_to_the_end() -> None:
    progress = SnapshotCursorGuard(USERS, (None, None))
    assert progress.next_key((None, None), _page("a")) == (TS, "a")
    assert progress.next_key((TS, "a"), _page("b", first=3)) == (TS, "b")
    assert progress.next_key((TS, "b"), _page("c", values=0)) == (TS, "c")  # an empty page moves on too
    assert progress.next_key((TS, "c"), _page(None, has_more=False, first=6)) is None


@pytest.mark.parametrize("values", [3, 0])
def test_the_same_cursor_with_more_to_come_is_refused_with_or_without_rows(values: int) -> None:
    progress = SnapshotCursorGuard(USERS, (TS, "a"))
    with pytest.raises(ConvexBadResponseError, match="users did not advance"):
        progress.next_key((TS, "a"), _page("a", values=values))


def test_a_cycle_of_cursors_is_refused() -> None:
    progress = SnapshotCursorGuard(USERS, (None, None))
    progress.next_key((None, None), _page("a"))
    progress.next_key((TS, "a"), _page("b", first=3))
    with pytest.raises(ConvexBadResponseError, match="went in a circle") as caught:
        progress.next_key((TS, "b"), _page("a", first=6))
    assert caught.value.failure_type == "system_error" and "report" in caught.value.explanation


def test_a_resumed_snapshot_refuses_its_own_start_cursor_later() -> None:
    progress = SnapshotCursorGuard(USERS, (TS, "start"))
    progress.next_key((TS, "start"), _page("b"))
    with pytest.raises(ConvexBadResponseError, match="went in a circle"):
        progress.next_key((TS, "b"), _page("start", first=3))


@pytest.mark.parametrize("first", [0, 2])
def test_a_page_repeating_documents_of_the_page_before_is_refused(first: int) -> None:
    # A new cursor each time, but it pointed back: at the previous page's start, or inside it.
    progress = SnapshotCursorGuard(USERS, (None, None))
    progress.next_key((None, None), _page("0"))
    with pytest.raises(ConvexBadResponseError, match="went back"):
        progress.next_key((TS, "0"), _page("25", first=first))


def test_more_to_come_without_a_cursor_is_refused() -> None:
    with pytest.raises(ConvexBadResponseError, match="did not advance"):
        SnapshotCursorGuard(USERS, (None, None)).next_key((None, None), _page(None, has_more=True))


def test_a_page_at_another_timestamp_is_refused() -> None:
    progress = SnapshotCursorGuard(USERS, (TS, None))
    with pytest.raises(ConvexBadResponseError, match=f"not at {TS}"):
        progress.next_key((TS, None), _page("a", snapshot=TS + 1))
    with pytest.raises(ConvexBadResponseError, match="negative"):
        SnapshotCursorGuard(USERS, (None, None)).next_key((None, None), _page("a", snapshot=-1))


# -- the whole read, over HTTP -------------------------------------------------------------------

URL = "https://happy-animal-123.convex.cloud"
KEY = "prod:happy-animal-123|01ab23cd45ef67890123456789abcdef0123456789abcdef"
SCHEMA = {"type": "object", "properties": {"_id": {"type": "string"}, "_creationTime": {"type": "number"}}}


def _catalog() -> ConfiguredAirbyteCatalog:
    stream = AirbyteStream(name="users", json_schema={}, supported_sync_modes=[SyncMode.full_refresh])
    return ConfiguredAirbyteCatalog(streams=[ConfiguredAirbyteStream(
        stream=stream, sync_mode=SyncMode.full_refresh, destination_sync_mode=DestinationSyncMode.overwrite)])


def test_a_stuck_cursor_ends_the_read_cleanly_after_emitting_the_page_once(requests_mock: rm.Mocker) -> None:
    calls = {"n": 0}

    def stuck(request: Any, context: Any) -> str:
        # Always the same page and the same cursor "p1", "more to come". After 20 requests the
        # test stops a source that loops, so a regression fails instead of hanging.
        calls["n"] += 1
        if calls["n"] > 20:
            context.status_code = 400
            return json.dumps({"code": "StoppedByTest", "message": "the source kept asking"})
        docs = [{"_component": "", "_table": "users", "_ts": 7, "_id": f"d{n}", "_creationTime": 1.0} for n in range(3)]
        return json.dumps({"values": docs, "snapshot": TS, "cursor": "p1", "hasMore": True})

    requests_mock.get(f"{URL}/api/json_schemas", json={"": {"users": SCHEMA}})
    requests_mock.get(f"{URL}/api/list_snapshot", text=stuck)
    out = entrypoint_wrapper.read(SourceConvex(retry=RetryPolicy(max_attempts=1)),
                                  {"deployment_url": URL, "access_key": KEY}, _catalog(),
                                  expected_outcome=entrypoint_wrapper.ExpectedOutcome.EXPECT_EXCEPTION)
    (error,) = out.errors
    trace = error.trace.error
    assert trace.failure_type == FailureType.system_error
    assert "users did not advance" in trace.message and "Something went wrong" not in trace.message
    assert calls["n"] == 2  # the first page, and the one that sent its cursor back
    assert sorted(r.record.data["_id"] for r in out.records) == ["d0", "d1", "d2"]  # emitted once


def test_a_cursor_pointing_back_ends_the_read_before_repeating_a_page(requests_mock: rm.Mocker) -> None:
    def pages(request: Any, context: Any) -> str:
        # Six documents, three per page; the first answer's cursor ("0") points back at the start.
        start = int(request.qs.get("cursor", ["0"])[0])
        docs = [{"_component": "", "_table": "users", "_ts": 7, "_id": f"d{n}", "_creationTime": 1.0}
                for n in range(start, min(start + 3, 6))]
        cursor = "0" if "cursor" not in request.qs else str(start + 3)
        return json.dumps({"values": docs, "snapshot": TS, "cursor": cursor, "hasMore": start + 3 < 6})

    requests_mock.get(f"{URL}/api/json_schemas", json={"": {"users": SCHEMA}})
    requests_mock.get(f"{URL}/api/list_snapshot", text=pages)
    out = entrypoint_wrapper.read(SourceConvex(retry=RetryPolicy(max_attempts=1)),
                                  {"deployment_url": URL, "access_key": KEY}, _catalog(),
                                  expected_outcome=entrypoint_wrapper.ExpectedOutcome.EXPECT_EXCEPTION)
    (error,) = out.errors
    assert "users went back" in error.trace.error.message
    assert error.trace.error.failure_type == FailureType.system_error
    assert sorted(r.record.data["_id"] for r in out.records) == ["d0", "d1", "d2"]  # none twice
