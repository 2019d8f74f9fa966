"""A stream's started state goes out before any of its records, so no interruption loses deletes.

The scenario that lost them: the sync dies inside a stream's first pages, after the destination
stored some of its records but before any state of that stream. A document among them is then
deleted. Without a saved state the next sync takes a NEW snapshot (which no longer has the
document) and walks the change log from there, so the delete is never reported and the
destination keeps the document forever. With the started state saved, the next sync continues
the same snapshot and walks the change log from its timestamp, which holds the delete.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

import pytest
from airbyte_cdk.models import AirbyteMessage, SyncMode, Type
from convex_local import LocalDeployment
from source_helpers import config_for, configured, discover, last_states, log_text, read, stream_key

from source_convex.cadence import Cadence

pytestmark = pytest.mark.timeout(90)

DAY = 86_400 * 10**9
EVERY_PAGE = Cadence(every_pages=1)


def _messages(out: Any) -> list[AirbyteMessage]:
    return [m for m in out.get_message_iterator() if m.type in (Type.RECORD, Type.STATE)]


def _blob(message: AirbyteMessage) -> dict[str, Any]:
    return dict(message.state.stream.stream_state.__dict__)  # type: ignore[union-attr]


def _first_index(messages: list[AirbyteMessage], kind: Type, stream: Optional[str] = None) -> int:
    return next(n for n, m in enumerate(messages)
                if m.type == kind and (stream is None or stream_key(m)[1] == stream))


def _apply(stored: dict[tuple[str, str], dict[str, Any]], messages: Iterable[AirbyteMessage]) -> None:
    """What a deduplicating destination holds after these records: one document per (stream, _id)."""
    for message in messages:
        if message.type == Type.RECORD:
            data = message.record.data  # type: ignore[union-attr]
            key = (message.record.stream, data["_id"])  # type: ignore[union-attr]
            if data["_deleted"]:
                stored.pop(key, None)
            else:
                stored[key] = data


def test_a_stream_interrupted_before_its_first_page_state_still_reports_later_deletes(
        convex_server: LocalDeployment) -> None:
    convex_server.settings.snapshot_page_size = 5
    for table, n in {"a": 12, "b": 12}.items():
        convex_server.generate(table, n, seed=n + len(table))
    config = config_for(convex_server)
    catalog = configured(discover(convex_server, config), SyncMode.incremental)
    # The default cadence: no state in the middle of these small tables, only at their ends.
    messages = _messages(read(config, catalog))
    order = list(dict.fromkeys(stream_key(m)[1] for m in messages if m.type == Type.RECORD))
    assert len(order) == 2
    second = order[1]
    # The sync dies after the 3rd record of the second stream: the destination stored everything up to it.
    third = [n for n, m in enumerate(messages) if m.type == Type.RECORD and stream_key(m)[1] == second][2]
    delivered = messages[: third + 1]
    stored: dict[tuple[str, str], dict[str, Any]] = {}
    _apply(stored, delivered)
    victim = next(doc_id for stream, doc_id in stored if stream == second)
    with convex_server.transaction() as tx:
        tx.delete(victim)

    resumed = read(config, catalog, state=last_states(delivered))
    _apply(stored, _messages(resumed))
    expected = {(table, doc["_id"]) for table in ("a", "b") for doc in convex_server.documents(table)}
    assert (second, victim) not in stored, "the delete of a document the interrupted sync delivered was lost"
    assert set(stored) == expected


@pytest.mark.parametrize("mode", [SyncMode.incremental, SyncMode.full_refresh])
def test_every_new_stream_state_goes_out_before_the_first_record_of_the_sync(
        convex_server: LocalDeployment, mode: SyncMode) -> None:
    convex_server.settings.snapshot_page_size = 5
    for table, n in {"a": 12, "b": 7, "c": 0}.items():
        convex_server.create_table(table)
        if n:
            convex_server.generate(table, n, seed=n)
    config = config_for(convex_server)
    catalog = configured(discover(convex_server, config), mode)
    # Stream a continues a snapshot interrupted in an earlier attempt; b and c start new ones.
    first_attempt = _messages(read(config, catalog, cadence=EVERY_PAGE))
    mid_a = next(m for m in first_attempt if m.type == Type.STATE and stream_key(m)[1] == "a"
                 and _blob(m)["snapshot_cursor"] is not None)
    convex_server.request_log.clear()
    out = read(config, catalog, state=[mid_a.state], cadence=EVERY_PAGE)  # type: ignore[list-item]
    messages = _messages(out)

    first_record = _first_index(messages, Type.RECORD)
    pinned = {int(e.params["snapshot"]) for e in convex_server.request_log
              if e.name == "list_snapshot" and e.params.get("table_name") in ("b", "c") and "snapshot" in e.params}
    (pinned_ts,) = pinned  # b and c are read at one pinned timestamp
    for table in ("b", "c"):
        first_state = _first_index(messages, Type.STATE, table)
        assert first_state < first_record, f"{table}'s started state came after a record of the sync"
        started = messages[first_state]
        assert _blob(started)["snapshot_has_more"] is True and _blob(started)["snapshot_cursor"] is None
        assert _blob(started)["delta_cursor"] == pinned_ts
        assert "Continuing the interrupted snapshot of " + table not in log_text(out)
    # The interrupted stream got no new started state: it continues its own snapshot.
    a_states = [_blob(m) for m in messages if m.type == Type.STATE and stream_key(m)[1] == "a"]
    assert a_states[0]["snapshot_cursor"] is not None or not a_states[0]["snapshot_has_more"]
    assert "Continuing the interrupted snapshot of a" in log_text(out)
    # One started state per new stream, not one per page: the cadence is otherwise unchanged.
    b_states = [_blob(m) for m in messages if m.type == Type.STATE and stream_key(m)[1] == "b"]
    assert [s["snapshot_cursor"] is None and s["snapshot_has_more"] for s in b_states].count(True) == 1


def test_a_snapshot_restarted_as_too_old_saves_its_new_start_before_its_records(convex_server: LocalDeployment) -> None:
    convex_server.settings.snapshot_page_size = 5
    convex_server.generate("a", 12, seed=1)
    config = config_for(convex_server)
    catalog = configured(discover(convex_server, config), SyncMode.incremental)
    first_attempt = _messages(read(config, catalog, cadence=EVERY_PAGE))
    mid = next(m for m in first_attempt if m.type == Type.STATE and _blob(m)["snapshot_cursor"] is not None)
    convex_server.clock.advance(6 * DAY)  # past the 5 days Convex keeps snapshots
    out = read(config, catalog, state=[mid.state])  # type: ignore[list-item]
    assert "SnapshotTooOld" in log_text(out)
    messages = _messages(out)
    first_state = _first_index(messages, Type.STATE, "a")
    assert first_state < _first_index(messages, Type.RECORD, "a")
    restarted = _blob(messages[first_state])
    assert restarted["snapshot_has_more"] is True and restarted["snapshot_cursor"] is None
    assert restarted["delta_cursor"] > _blob(mid)["delta_cursor"]


def test_streams_resynced_after_an_expired_position_save_their_start_before_their_records(
        convex_server: LocalDeployment) -> None:
    convex_server.generate("users", 4, seed=1)
    convex_server.generate("posts", 2, seed=2)
    config = config_for(convex_server, on_expired_position="resync")
    catalog = configured(discover(convex_server, config), SyncMode.incremental)
    saved = last_states(_messages(read(config, catalog)))
    convex_server.clock.advance(20 * DAY)
    out = read(config, catalog, state=saved)
    messages = _messages(out)
    first_record = _first_index(messages, Type.RECORD)
    for table in ("users", "posts"):
        first_state = _first_index(messages, Type.STATE, table)
        assert first_state < first_record
        blob = _blob(messages[first_state])
        assert blob["snapshot_has_more"] is True and blob["snapshot_cursor"] is None
        assert convex_server.clock.now_ns() - blob["delta_cursor"] < DAY
