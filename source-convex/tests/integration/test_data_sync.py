"""Incremental syncs through the data sync API: cleared and replaced tables reach a dedup destination,
saved change-log positions convert without re-reading, and older backends keep the change-log walk."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests
from airbyte_cdk.models import AirbyteStateBlob, AirbyteStateMessage, AirbyteStateType, AirbyteStreamState
from airbyte_cdk.models import FailureType, StreamDescriptor, SyncMode
from convex_local import LocalDeployment
from source_helpers import config_for, configured, discover, last_states, log_text, read, records, state_blobs

pytestmark = pytest.mark.timeout(90)

DAY = 86_400 * 10**9


class DedupTable:
    """What a deduplicating destination keeps: the latest revision per `_id`, deletes applied."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def apply(self, rows: list[dict[str, Any]]) -> "DedupTable":
        for row in sorted(rows, key=lambda r: r["_ts"]):  # Airbyte dedups by the cursor field
            previous = self.rows.get(row["_id"])
            if previous is not None and previous["_ts"] > row["_ts"]:
                continue
            self.rows[row["_id"]] = row
        return self

    def live(self) -> dict[str, Any]:
        return {doc_id: row.get("name") for doc_id, row in self.rows.items() if not row["_deleted"]}


def _current(dep: LocalDeployment, table: str) -> dict[str, Any]:
    return {doc["_id"]: doc.get("name") for doc in dep.documents(table)}


def _clear_tables(dep: LocalDeployment, *tables: str) -> None:
    """What a Convex destination does for an overwrite sync (PUT /api/streaming_import/clear_tables)."""
    resp = requests.put(f"{dep.url}/api/streaming_import/clear_tables", json={"tableNames": list(tables)},
                        headers={"Authorization": f"Convex {dep.admin_key}"}, timeout=10)
    assert resp.status_code == 200, resp.text


def _first(dep: LocalDeployment, **tables: int):
    for table, n in tables.items():
        for i in range(n):
            dep.insert(table, {"name": f"{table}-{i}"})
    config = config_for(dep)
    catalog = configured(discover(dep, config), SyncMode.incremental)
    out = read(config, catalog)
    return config, catalog, out


@pytest.mark.parametrize("how", ["clear_tables", "deleted and created again"])
def test_a_cleared_and_refilled_table_reaches_the_destination_exactly(convex_server: LocalDeployment,
                                                                     how: str) -> None:
    dep = convex_server
    dep.settings.snapshot_page_size = 2  # the old rows are listed over several pages
    config, catalog, first = _first(dep, users=5, posts=3)
    users = {key: DedupTable().apply(rows) for key, rows in records(first).items()}
    second = read(config, catalog, state=last_states(first.state_messages))  # the cursor is saved now
    assert not records(second)
    assert all("data_sync_cursor" in blob for blob in state_blobs(second).values())
    if how == "clear_tables":
        _clear_tables(dep, "users")
    else:
        dep.delete_table("users")
        dep.create_table("users")
    dep.insert("users", {"name": "after the clear"})
    dep.insert("posts", {"name": "unrelated"})
    third = read(config, catalog, state=last_states(second.state_messages))
    got = records(third)
    deletes = [r for r in got[(None, "users")] if r["_deleted"]]
    assert len(deletes) == 5 and all(r["_ab_cdc_deleted_at"] is not None for r in deletes)
    users[(None, "users")].apply(got[(None, "users")])
    users[(None, "posts")].apply(got[(None, "posts")])
    assert users[(None, "users")].live() == _current(dep, "users")  # the 5 old rows are gone
    assert users[(None, "posts")].live() == _current(dep, "posts")
    assert "cleared or replaced" in log_text(third)


def test_on_a_backend_without_it_the_change_log_walk_goes_on(convex_server: LocalDeployment) -> None:
    dep = convex_server
    dep.settings.data_sync_api = False  # backends before the data sync API
    config, catalog, first = _first(dep, users=3)
    dep.insert("users", {"name": "new"})
    second = read(config, catalog, state=last_states(first.state_messages))
    assert [r["name"] for r in records(second)[(None, "users")]] == ["new"]
    assert all("data_sync_cursor" not in blob for blob in state_blobs(second).values())
    assert "no data sync API" in log_text(second)
    names = {e.name for e in dep.request_log}
    assert "document_deltas" in names and "data_sync_cursor_from_deltas" in names and "sync" not in names


def _incumbent_state(name: str, position: int) -> AirbyteStateMessage:
    return AirbyteStateMessage(type=AirbyteStateType.STREAM, stream=AirbyteStreamState(
        stream_descriptor=StreamDescriptor(name=name),
        stream_state=AirbyteStateBlob({"snapshot_cursor": None, "snapshot_has_more": False, "delta_cursor": position})))


def test_a_saved_0_4_state_converts_without_reading_again(convex_server: LocalDeployment) -> None:
    dep = convex_server
    dep.insert("users", {"name": "old"})
    dep.insert("posts", {"name": "old post"})
    position = dep.clock.now_ns()
    config = config_for(dep)
    catalog = configured(discover(dep, config), SyncMode.incremental)
    dep.insert("users", {"name": "new"})
    dep.request_log.clear()
    out = read(config, catalog, state=[_incumbent_state("users", position), _incumbent_state("posts", position)])
    assert [r["name"] for r in records(out)[(None, "users")]] == ["new"]
    assert (None, "posts") not in records(out)
    routes = [e.name for e in dep.request_log]
    assert routes.count("data_sync_cursor_from_deltas") == 1 and "list_snapshot" not in routes
    blobs = state_blobs(out)
    assert len({blob["data_sync_cursor"] for blob in blobs.values()}) == 1  # one cursor for the streams
    assert all(blob["delta_cursor"] > position and blob["snapshot_has_more"] is False for blob in blobs.values())


def test_streams_at_different_positions_share_one_cursor_without_repeats(convex_server: LocalDeployment) -> None:
    dep = convex_server
    dep.insert("users", {"name": "u0"})
    older = dep.clock.now_ns()
    dep.insert("users", {"name": "u1"})
    dep.insert("posts", {"name": "p1"})
    newer = dep.clock.now_ns()
    dep.insert("users", {"name": "u2"})
    dep.insert("posts", {"name": "p2"})
    config = config_for(dep)
    catalog = configured(discover(dep, config), SyncMode.incremental)
    out = read(config, catalog, state=[_incumbent_state("users", older), _incumbent_state("posts", newer)])
    got = records(out)
    assert [r["name"] for r in got[(None, "users")]] == ["u1", "u2"]
    assert [r["name"] for r in got[(None, "posts")]] == ["p2"]  # p1 is at or before the stream's own position


def test_a_truncate_after_a_long_pause_asks_for_a_refresh(convex_server: LocalDeployment) -> None:
    dep = convex_server
    config, catalog, first = _first(dep, users=2)
    second = read(config, catalog, state=last_states(first.state_messages))
    dep.clock.advance(6 * DAY)  # beyond the 5 days Convex keeps snapshots, within the 14-day change log
    _clear_tables(dep, "users")
    out = read(config, catalog, state=last_states(second.state_messages), expect_failure=True)
    trace = out.errors[-1].trace.error
    assert trace.failure_type == FailureType.config_error
    assert "cleared or replaced" in trace.message and "Refresh" in trace.message
    assert not [r for r in out.records if r.record.data.get("_deleted") is False and r.record.stream == "users"]


def test_a_table_replaced_during_the_walk_leaves_none_of_its_old_rows(convex_server: LocalDeployment) -> None:
    """The old rows are listed where the walk last was, not at the saved position: rows of the old table
    that this walk emitted before the truncate get their delete too (and the deletes come after them)."""
    dep = convex_server
    config, catalog, first = _first(dep, users=3)
    kept = DedupTable().apply(records(first)[(None, "users")])
    second = read(config, catalog, state=last_states(first.state_messages))
    kept.apply(records(second).get((None, "users"), []))
    for i in range(3):
        dep.insert("users", {"name": f"before the replacement {i}"})  # in the old table, after the saved position
    dep.settings.data_sync_page_size = 2  # page 1 emits two of them; the replacement lands before page 2
    slow = dep.faults.inject(route="sync", kind="slow", slow_s=1.0, count=2)

    def replace_while_page_two_waits() -> None:
        deadline = time.monotonic() + 30
        while slow.fired < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        _clear_tables(dep, "users")
        dep.insert("users", {"name": "the new table"})

    replacer = threading.Thread(target=replace_while_page_two_waits)
    replacer.start()
    third = read(config, catalog, state=last_states(second.state_messages))
    replacer.join()
    got = records(third)[(None, "users")]
    emitted_old = [r for r in got if not r["_deleted"] and r["name"].startswith("before the replacement")]
    assert emitted_old, "the test needs the walk to emit old-table rows before the truncate"
    kept.apply(got)
    assert kept.live() == _current(dep, "users") == {next(iter(_current(dep, "users"))): "the new table"}


def test_a_stream_added_after_its_table_was_replaced_loses_no_row(convex_server: LocalDeployment) -> None:
    """Streams at different positions share one cursor converted at the oldest one. Convex's conversion
    counts the tables as they are now (no truncate for a replacement before it), so the stream whose
    snapshot just read the new table keeps every row; a later replacement of either table is a truncate."""
    dep = convex_server
    for i in range(3):
        dep.insert("users", {"name": f"u{i}"})
        dep.insert("posts", {"name": f"old post {i}"})
    config = config_for(dep)
    full = discover(dep, config)
    users_only = configured(full, SyncMode.incremental, names=["users"])
    first = read(config, users_only)
    tables = {(None, "users"): DedupTable().apply(records(first)[(None, "users")]), (None, "posts"): DedupTable()}
    _clear_tables(dep, "posts")
    dep.insert("posts", {"name": "new post"})
    dep.insert("users", {"name": "u3"})
    both = configured(full, SyncMode.incremental)
    second = read(config, both, state=last_states(first.state_messages))
    for key, rows in records(second).items():
        tables[key].apply(rows)
    assert tables[(None, "posts")].live() == _current(dep, "posts")
    assert tables[(None, "users")].live() == _current(dep, "users")
    _clear_tables(dep, "posts", "users")
    dep.insert("posts", {"name": "newer post"})
    third = read(config, both, state=last_states(second.state_messages))
    for key, rows in records(third).items():
        tables[key].apply(rows)
    assert tables[(None, "posts")].live() == _current(dep, "posts")
    assert tables[(None, "users")].live() == _current(dep, "users") == {}
