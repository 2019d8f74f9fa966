"""StreamRun: the one writer of a stream's read state, and the delete-preserving rules it keeps."""

import pytest

from source_convex.plan import StreamRun
from source_convex.state import Phase, StreamState
from source_convex.config import TableRef

USERS = TableRef("", "users")


def _mid(ts: int, cursor: str | None = "c") -> StreamState:
    return StreamState(snapshot_cursor=cursor, snapshot_has_more=True, delta_cursor=ts)


def test_a_new_snapshot_is_never_saved_before_its_timestamp_is_pinned() -> None:
    run = StreamRun(USERS, incremental=True, state=None)
    assert run.phase is Phase.NEW and run.checkpoint() is None
    run.snapshot_started(100)
    assert run.checkpoint() == {"snapshot_cursor": None, "snapshot_has_more": True, "delta_cursor": 100}
    assert run.checkpoint() is None  # unchanged since emitted


def test_pages_then_done_start_the_change_log_at_the_snapshot() -> None:
    run = StreamRun(USERS, incremental=True, state=None)
    run.snapshot_started(100)
    run.snapshot_page_read("c1")
    assert run.state == _mid(100, "c1")
    run.snapshot_done()
    assert run.phase is Phase.DELTAS and run.log_position == 100


def test_a_restarted_snapshot_walks_the_log_from_the_older_snapshot() -> None:
    """SnapshotTooOld: documents the older snapshot delivered and deleted before the newer one
    are still reported as deleted, because the change log starts at the older timestamp."""
    run = StreamRun(USERS, incremental=True, state=_mid(50))
    run.restart_snapshot()
    assert run.snapshot_restarted and run.phase is Phase.NEW
    assert run.checkpoint() is None  # the older position stays saved until the new one is pinned
    assert run.saved == _mid(50)
    run.snapshot_started(200)
    assert run.state is not None and run.state.get("deltas_from") == 50
    run.snapshot_page_read("x")
    assert run.state.get("deltas_from") == 50  # kept by every page
    run.snapshot_done()
    assert run.log_position == 50


def test_a_restart_of_a_restarted_snapshot_keeps_the_oldest_timestamp() -> None:
    run = StreamRun(USERS, incremental=True, state={**_mid(80), "deltas_from": 30})  # type: ignore[typeddict-item]
    run.restart_snapshot()
    run.snapshot_started(200)
    run.snapshot_done()
    assert run.log_position == 30


def test_the_change_log_never_moves_a_position_back() -> None:
    run = StreamRun(USERS, incremental=True, state=StreamState(snapshot_cursor=None, snapshot_has_more=False,
                                                                delta_cursor=500))
    run.moved_by_change_log(400)  # an early page of a walk that started at an older stream's position
    assert run.log_position == 500
    run.moved_by_change_log(600)
    assert run.log_position == 600


def test_data_sync_moves_the_equivalent_position_forward_only() -> None:
    run = StreamRun(USERS, incremental=True, state=StreamState(snapshot_cursor=None, snapshot_has_more=False,
                                                                delta_cursor=500))
    run.moved_by_data_sync("k1", "scope", None)  # Convex re-reading a table: no consistent timestamp yet
    assert run.log_position == 500 and run.past_snapshot.get("data_sync_cursor") == "k1"
    run.moved_by_data_sync("k2", "scope", 400)
    assert run.log_position == 500
    run.moved_by_data_sync("k3", "scope", 700)
    assert run.log_position == 700


def test_the_change_log_is_refused_to_a_run_still_in_its_snapshot() -> None:
    run = StreamRun(USERS, incremental=True, state=_mid(100))
    with pytest.raises(AssertionError, match="without a position"):
        run.moved_by_change_log(200)


def test_resync_starts_over_and_finish_emits_the_final_state() -> None:
    run = StreamRun(USERS, incremental=True, state=StreamState(snapshot_cursor=None, snapshot_has_more=False,
                                                                delta_cursor=5))
    run.resync()
    assert run.phase is Phase.NEW
    run.snapshot_started(9)
    run.snapshot_done()
    assert run.start_running() and not run.start_running()  # RUNNING goes out once
    assert run.finish() == {"snapshot_cursor": None, "snapshot_has_more": False, "delta_cursor": 9}
    assert run.finished and run.checkpoint() is None
