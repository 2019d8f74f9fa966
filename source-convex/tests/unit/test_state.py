"""State: the incumbent's saved shapes load and continue correctly; transitions are pure."""

import re

import pytest

from source_convex.state import (
    Phase,
    StateError,
    StreamState,
    data_sync_read,
    deltas_read,
    load_state,
    phase_of,
    position,
    snapshot_finished,
    snapshot_page_read,
    snapshot_started,
)


def test_no_state_and_foreign_markers_start_over() -> None:
    for raw in (None, {}, {"__ab_no_cursor_state_message": True}, {"__ab_full_refresh_sync_complete": True}):
        assert load_state(raw) is None
        assert phase_of(load_state(raw)) is Phase.NEW


def test_incumbent_mid_snapshot_state_continues_the_snapshot() -> None:
    raw = {"snapshot_cursor": '{"tablet":"abc","id":"k1"}', "snapshot_has_more": True, "delta_cursor": 1700000000000000000}
    state = load_state(raw)
    assert phase_of(state) is Phase.SNAPSHOT
    assert state == raw
    assert position(state) is None


def test_incumbent_delta_state_walks_the_change_log() -> None:
    state = load_state({"snapshot_cursor": None, "snapshot_has_more": False, "delta_cursor": 1700000000000000001})
    assert phase_of(state) is Phase.DELTAS
    assert position(state) == 1700000000000000001


def test_incumbent_initial_state_without_timestamp_starts_over() -> None:
    assert phase_of(load_state({"snapshot_cursor": None, "snapshot_has_more": True, "delta_cursor": None})) is Phase.NEW
    assert phase_of(load_state({"snapshot_cursor": None, "snapshot_has_more": False, "delta_cursor": None})) is Phase.NEW


def test_float_position_from_a_lossy_platform_is_accepted_when_whole() -> None:
    assert load_state({"snapshot_has_more": False, "delta_cursor": 1.0e18})["delta_cursor"] == 10**18


@pytest.mark.parametrize("raw", [
    {"snapshot_cursor": 5, "snapshot_has_more": True, "delta_cursor": 1},
    {"snapshot_cursor": None, "snapshot_has_more": "yes", "delta_cursor": 1},
    {"snapshot_cursor": None, "snapshot_has_more": False, "delta_cursor": "123"},
    {"snapshot_cursor": None, "snapshot_has_more": False, "delta_cursor": -1},
    {"snapshot_cursor": None, "snapshot_has_more": False, "delta_cursor": True},
])
def test_damaged_state_is_refused(raw: dict) -> None:
    with pytest.raises(StateError):
        load_state(raw)


NOW = 1_800_000_000 * 10**9


@pytest.mark.parametrize(("raw", "says"), [
    ({"cursor": "2024-01-01", "updated_at": 5}, "cursor, updated_at, keys this connector never writes"),
    ({"users": {"delta_cursor": 1}}, "another shape"),  # a whole-connector blob given as one stream's state
    ({"snapshot_has_more": False, "delta_cursor": NOW + 2 * 86_400 * 10**9}, "2.0 days in the future"),
    ({"snapshot_has_more": True, "delta_cursor": 1, "deltas_from": NOW * 1000}, "deltas_from"),
    ({"snapshot_has_more": False, "delta_cursor": 2**63}, "beyond the largest timestamp Convex uses"),
    ({"snapshot_has_more": False, "delta_cursor": 10**30}, "2^63 - 1"),
])
def test_foreign_future_and_oversized_states_are_refused_with_the_reason(raw: dict, says: str) -> None:
    with pytest.raises(StateError, match=re.escape(says)):
        load_state(raw, now_ns=NOW)


def test_a_position_within_the_clock_slack_is_kept() -> None:
    state = load_state({"snapshot_has_more": False, "delta_cursor": NOW + 60 * 10**9}, now_ns=NOW)
    assert position(state) == NOW + 60 * 10**9


def test_snapshot_lifecycle() -> None:
    state = snapshot_started(100)
    assert state == {"snapshot_cursor": None, "snapshot_has_more": True, "delta_cursor": 100}
    state = snapshot_page_read(state, "c1")
    assert state == {"snapshot_cursor": "c1", "snapshot_has_more": True, "delta_cursor": 100}
    done = snapshot_finished(state)
    assert done == {"snapshot_cursor": None, "snapshot_has_more": False, "delta_cursor": 100}
    assert state["snapshot_cursor"] == "c1"  # the old value is untouched
    assert phase_of(done) is Phase.DELTAS


def test_deltas_never_move_backwards_and_ignore_snapshotting_streams() -> None:
    state = snapshot_finished(snapshot_started(100))
    assert deltas_read(state, 50) is state
    assert deltas_read(state, 100) is state
    assert deltas_read(state, 150)["delta_cursor"] == 150
    in_snapshot = snapshot_started(100)
    assert deltas_read(in_snapshot, 500) is in_snapshot


def test_finishing_without_timestamp_is_a_bug() -> None:
    with pytest.raises(StateError):
        snapshot_finished({"snapshot_cursor": None, "snapshot_has_more": True, "delta_cursor": None})


def test_a_replacing_snapshot_walks_the_change_log_from_the_older_snapshot() -> None:
    from source_convex.state import replaced_snapshot_start

    older = snapshot_page_read(snapshot_started(100), "c1")
    assert replaced_snapshot_start(older) == 100
    newer = snapshot_page_read(snapshot_started(500, deltas_from=replaced_snapshot_start(older)), "c9")
    assert newer["deltas_from"] == 100 and newer["delta_cursor"] == 500
    assert load_state(dict(newer)) == newer  # survives a checkpoint
    assert snapshot_finished(newer) == {"snapshot_cursor": None, "snapshot_has_more": False, "delta_cursor": 100}
    # A second replacement keeps the earliest timestamp documents were delivered at.
    assert replaced_snapshot_start(newer) == 100
    # Without a replacement nothing changes, and the incumbent's three keys stay the only ones.
    assert set(snapshot_started(500)) == {"snapshot_cursor", "snapshot_has_more", "delta_cursor"}
    assert "deltas_from" not in load_state({"snapshot_cursor": None, "snapshot_has_more": False,
                                            "delta_cursor": 7, "deltas_from": 3})


def test_data_sync_keys_load_past_the_snapshot_only() -> None:
    past = {"snapshot_cursor": None, "snapshot_has_more": False, "delta_cursor": 5,
            "data_sync_cursor": "opaque", "data_sync_scope": "abc"}
    loaded = load_state(past)
    assert loaded is not None and loaded["data_sync_cursor"] == "opaque" and loaded["data_sync_scope"] == "abc"
    during = load_state({**past, "snapshot_has_more": True, "snapshot_cursor": "c"})
    assert during is not None and "data_sync_cursor" not in during
    with pytest.raises(StateError, match="data_sync_cursor"):
        load_state({**past, "data_sync_cursor": 7})


def test_data_sync_read_moves_the_position_only_when_consistent() -> None:
    state = StreamState(snapshot_cursor=None, snapshot_has_more=False, delta_cursor=100)
    assert data_sync_read(state, "c1", "s", None) == {"snapshot_cursor": None, "snapshot_has_more": False,
                                                       "delta_cursor": 100, "data_sync_cursor": "c1",
                                                       "data_sync_scope": "s"}
    assert data_sync_read(state, "c2", "s", 250)["delta_cursor"] == 250
    assert data_sync_read(state, "c3", "s", 50)["delta_cursor"] == 100  # never backwards
    assert state == {"snapshot_cursor": None, "snapshot_has_more": False, "delta_cursor": 100}  # not mutated
    with pytest.raises(StateError):
        data_sync_read(StreamState(snapshot_cursor=None, snapshot_has_more=True, delta_cursor=1), "c", "s", 2)
    # A snapshot started again (a resync) drops the cursor of the old table.
    assert "data_sync_cursor" not in snapshot_started(300)
