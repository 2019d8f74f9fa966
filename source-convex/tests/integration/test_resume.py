"""Interrupted syncs resume without loss: our own states, the incumbent's, and too-old snapshots."""

from __future__ import annotations

import pytest
from airbyte_cdk.models import (
    AirbyteStateBlob,
    AirbyteStateMessage,
    AirbyteStateType,
    AirbyteStreamState,
    StreamDescriptor,
    SyncMode,
    Type,
)
from convex_local import LocalDeployment
from source_helpers import config_for, configured, discover, ids, last_states, log_text, read, records, state_blobs

from source_convex.cadence import Cadence

pytestmark = pytest.mark.timeout(90)

EVERY_PAGE = Cadence(every_pages=1)
DAY = 86_400 * 10**9


def _state(name: str, blob: dict) -> AirbyteStateMessage:
    return AirbyteStateMessage(
        type=AirbyteStateType.STREAM,
        stream=AirbyteStreamState(stream_descriptor=StreamDescriptor(name=name), stream_state=AirbyteStateBlob(blob)),
    )


def _until_first_mid_table_state(out) -> tuple[list, list]:
    """Messages up to and including the first state saved in the middle of a table (after a
    page of it; the started states that precede every record do not count)."""
    kept = []
    for message in out.get_message_iterator():
        kept.append(message)
        blob = message.state.stream.stream_state if message.type == Type.STATE else None
        if blob is not None and blob.snapshot_has_more and blob.snapshot_cursor is not None:
            return kept, last_states(kept)
    raise AssertionError("no mid-table state")


@pytest.mark.parametrize("mode", [SyncMode.incremental, SyncMode.full_refresh])
def test_interrupt_after_the_first_state_and_resume(convex_server: LocalDeployment, mode: SyncMode) -> None:
    convex_server.settings.snapshot_page_size = 7
    expected = {t: sorted(convex_server.generate(t, n, seed=n)) for t, n in {"a": 30, "b": 15}.items()}
    config = config_for(convex_server)
    catalog = configured(discover(convex_server, config), mode)
    full = read(config, catalog, cadence=EVERY_PAGE)
    kept, saved = _until_first_mid_table_state(full)
    before = [m.record.data for m in kept if m.type == Type.RECORD]
    assert 0 < len(before) < 45

    resumed = read(config, catalog, state=saved, cadence=EVERY_PAGE)
    got = records(resumed)
    first_table = kept[-1].state.stream.stream_descriptor.name
    for table, doc_ids in expected.items():
        seen = [r["_id"] for r in before if r["_table"] == table] + [r["_id"] for r in got.get((None, table), [])]
        assert sorted(set(seen)) == doc_ids, table  # nothing lost
    # The resumed table continued after the saved cursor instead of starting over.
    assert len(got[(None, first_table)]) < len(expected[first_table])


def test_snapshot_too_old_on_resume_restarts_the_table(convex_server: LocalDeployment) -> None:
    convex_server.settings.snapshot_page_size = 5
    expected = sorted(convex_server.generate("a", 12, seed=1))
    config = config_for(convex_server)
    catalog = configured(discover(convex_server, config), SyncMode.incremental)
    _, saved = _until_first_mid_table_state(read(config, catalog, cadence=EVERY_PAGE))
    convex_server.clock.advance(6 * DAY)  # past the 5 days Convex keeps snapshots
    resumed = read(config, catalog, state=saved)
    assert ids(records(resumed)[(None, "a")]) == expected
    assert "SnapshotTooOld" in log_text(resumed)
    blob = state_blobs(resumed)[(None, "a")]
    assert blob["snapshot_has_more"] is False and blob["delta_cursor"] > saved[0].stream.stream_state.delta_cursor


def test_snapshot_too_old_restart_still_reports_deletes_of_documents_already_sent(
    convex_server: LocalDeployment,
) -> None:
    convex_server.settings.snapshot_page_size = 5
    convex_server.generate("a", 12, seed=1)
    config = config_for(convex_server)
    catalog = configured(discover(convex_server, config), SyncMode.incremental)
    kept, saved = _until_first_mid_table_state(read(config, catalog, cadence=EVERY_PAGE))
    delivered = [m.record.data["_id"] for m in kept if m.type == Type.RECORD]
    with convex_server.transaction() as tx:  # gone before the newer snapshot is taken
        tx.delete(delivered[0])
    convex_server.clock.advance(6 * DAY)
    resumed = read(config, catalog, state=saved)
    assert "SnapshotTooOld" in log_text(resumed)
    rows = records(resumed)[(None, "a")]
    deletes = [r for r in rows if r["_deleted"]]
    assert [r["_id"] for r in deletes] == [delivered[0]]
    assert deletes[0]["_ab_cdc_deleted_at"] is not None
    assert delivered[0] not in [r["_id"] for r in rows if not r["_deleted"]]  # not in the newer snapshot


def test_incumbent_mid_snapshot_state_continues(convex_server: LocalDeployment) -> None:
    """The 0.4.x connector saved {snapshot_cursor, snapshot_has_more: true, delta_cursor: <snapshot>}."""
    convex_server.settings.snapshot_page_size = 10
    expected = sorted(convex_server.generate("users", 25, seed=2))
    config = config_for(convex_server)
    catalog = configured(discover(convex_server, config), SyncMode.incremental)
    # Page 1 as the incumbent read it (tableName, format=json), then its checkpoint.
    import requests

    page = requests.get(f"{convex_server.url}/api/list_snapshot", params={"tableName": "users", "format": "json"},
                        headers={"Authorization": f"Convex {convex_server.admin_key}"}, timeout=30).json()
    incumbent = {"snapshot_cursor": page["cursor"], "snapshot_has_more": page["hasMore"], "delta_cursor": page["snapshot"]}
    later = convex_server.insert("users", {"name": "after the snapshot"})

    out = read(config, catalog, state=[_state("users", incumbent)])
    got = [r["_id"] for r in records(out)[(None, "users")]]
    first_page = sorted(d["_id"] for d in page["values"])
    assert sorted(set(got) | set(first_page)) == sorted(expected + [later])
    assert not set(got) & set(first_page)  # continued after the saved cursor
    assert got[-1] == later  # and then the change log from the incumbent's snapshot
    list_snapshots = [e for e in convex_server.request_log if e.name == "list_snapshot"]
    assert all(int(e.params["snapshot"]) == page["snapshot"] for e in list_snapshots[1:])


def test_incumbent_delta_state_walks_the_change_log(convex_server: LocalDeployment) -> None:
    convex_server.generate("users", 3, seed=2)
    config = config_for(convex_server)
    catalog = configured(discover(convex_server, config), SyncMode.incremental)
    position = convex_server.clock.now_ns()
    new_id = convex_server.insert("users", {"name": "new"})
    out = read(config, catalog, state=[_state("users", {"snapshot_cursor": None, "snapshot_has_more": False,
                                                        "delta_cursor": position})])
    assert [r["_id"] for r in records(out)[(None, "users")]] == [new_id]
    assert not [e for e in convex_server.request_log if e.name == "list_snapshot"]


@pytest.mark.parametrize("cursor", [None, "a-cursor-of-an-unknown-snapshot"])
def test_a_saved_snapshot_state_without_its_timestamp_starts_over(convex_server: LocalDeployment,
                                                                   cursor: str | None) -> None:
    """A blob with no timestamp has no position worth keeping: the stream reads a new snapshot whole
    (a cursor without its snapshot means nothing), instead of failing at the table's end."""
    expected = sorted(convex_server.generate("users", 7, seed=3))
    config = config_for(convex_server)
    catalog = configured(discover(convex_server, config), SyncMode.incremental)
    out = read(config, catalog, state=[_state("users", {"snapshot_cursor": cursor, "snapshot_has_more": True,
                                                        "delta_cursor": None})])
    assert ids(records(out)[(None, "users")]) == expected
    blob = state_blobs(out)[(None, "users")]
    assert blob["snapshot_has_more"] is False and blob["delta_cursor"] is not None
