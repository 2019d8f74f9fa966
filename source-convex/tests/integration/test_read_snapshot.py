"""Snapshot reads: one pinned snapshot for all tables, page boundaries, empty tables, statuses."""

from __future__ import annotations

import threading

import pytest
from airbyte_cdk.models import AirbyteStreamStatus, SyncMode
from convex_local import LocalDeployment
from source_helpers import config_for, configured, discover, ids, read, records, state_blobs, statuses

pytestmark = pytest.mark.timeout(90)

S = AirbyteStreamStatus


def _seed_sizes(dep: LocalDeployment, sizes: dict[str, int]) -> dict[str, list[str]]:
    out = {}
    for table, n in sizes.items():
        dep.create_table(table)
        out[table] = dep.generate(table, n, seed=len(table)) if n else []
    return out


@pytest.mark.parametrize("mode", [SyncMode.incremental, SyncMode.full_refresh])
def test_multi_table_snapshot_with_page_boundaries(convex_server: LocalDeployment, mode: SyncMode) -> None:
    convex_server.settings.snapshot_page_size = 10
    seeded = _seed_sizes(convex_server, {"empty": 0, "exact": 10, "over": 11, "many": 35})
    config = config_for(convex_server)
    catalog = configured(discover(convex_server, config), mode)
    convex_server.request_log.clear()
    out = read(config, catalog)

    by_stream = records(out)
    for table, doc_ids in seeded.items():
        assert ids(by_stream.get((None, table), [])) == sorted(doc_ids), table
    for rows in by_stream.values():
        assert all(row["_deleted"] is False and row["_ab_cdc_lsn"] == row["_ts"] for row in rows)

    # One pinned snapshot: every table read at it, and every stream's position starts there.
    snapshots = [e.params.get("snapshot") for e in convex_server.request_log if e.name == "list_snapshot"]
    assert snapshots[0] is None and len(set(snapshots[1:])) == 1
    pinned = int(snapshots[1])
    started, snapshot_done = {}, {}
    for message in out.state_messages:
        blob = dict(message.state.stream.stream_state.__dict__)
        started.setdefault(message.state.stream.stream_descriptor.name, blob)
        if not blob["snapshot_has_more"]:
            snapshot_done.setdefault(message.state.stream.stream_descriptor.name, blob)
    # Each stream's first state is its snapshot started at the pinned timestamp (before its records).
    assert started == {table: {"snapshot_cursor": None, "snapshot_has_more": True, "delta_cursor": pinned}
                       for table in seeded}
    assert snapshot_done == {table: {"snapshot_cursor": None, "snapshot_has_more": False, "delta_cursor": pinned}
                             for table in seeded}
    finals = state_blobs(out)
    assert all(blob["delta_cursor"] >= pinned and not blob["snapshot_has_more"] for blob in finals.values())

    for table in seeded:
        assert statuses(out)[(None, table)] == [S.STARTED, S.RUNNING, S.COMPLETE]
    # sourceStats count the records since the stream's previous state.
    counted = {}
    for message in out.state_messages:
        descriptor = message.state.stream.stream_descriptor
        counted[descriptor.name] = counted.get(descriptor.name, 0) + message.state.sourceStats.recordCount
    assert counted == {table: float(len(doc_ids)) for table, doc_ids in seeded.items()}
    walks = [e for e in convex_server.request_log if e.name in ("document_deltas", "sync")]
    assert (len(walks) > 0) == (mode == SyncMode.incremental)


def test_snapshot_is_consistent_across_tables(convex_server: LocalDeployment) -> None:
    """A document written while table a is being read lands exactly once: in b's snapshot
    if it is older than the pinned snapshot, else as a change from the change log."""
    convex_server.settings.snapshot_page_size = 5
    _seed_sizes(convex_server, {"a": 20, "b": 3})
    config = config_for(convex_server)
    catalog = configured(discover(convex_server, config), SyncMode.incremental)
    convex_server.faults.inject(route="list_snapshot", kind="slow", count=2, slow_s=0.4)
    written: list[str] = []
    writer = threading.Timer(0.2, lambda: written.append(convex_server.insert("b", {"late": True})))
    writer.start()
    out = read(config, catalog)
    writer.join()
    b_ids = [row["_id"] for row in records(out)[(None, "b")]]
    assert b_ids.count(written[0]) == 1
    assert len(b_ids) == 4


def test_full_refresh_resumes_only_within_a_job(convex_server: LocalDeployment) -> None:
    """Full refresh ignores a finished snapshot's state and reads everything again."""
    _seed_sizes(convex_server, {"users": 12})
    config = config_for(convex_server)
    catalog = configured(discover(convex_server, config), SyncMode.full_refresh)
    first = read(config, catalog)
    again = read(config, catalog, state=[m.state for m in first.state_messages])
    assert len(again.records) == 12
    assert not [e for e in convex_server.request_log if e.name == "document_deltas"]
