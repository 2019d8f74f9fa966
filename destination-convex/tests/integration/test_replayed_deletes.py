"""Deletes in dedup mode survive at-least-once delivery: a replayed delete, or a delete of a key
Convex never held, leaves no document (reliability bug R1: Convex import inserts a deleted
record that matches nothing, so a bare delete would store a stub "ghost")."""

from typing import Any

import pytest

NESTED_SCHEMA = {
    "type": "object",
    "properties": {
        "_id": {"type": "string"},
        "meta": {"type": "object", "properties": {"region": {"type": "string"}}},
        "name": {"type": "string"},
        "_ab_cdc_deleted_at": {"type": ["null", "string"]},
    },
}
DELETED_AT = "2024-01-01T00:00:00Z"


def sync_with_deletes(make: Any) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], set[str]]:
    """30 inserts, an update, then deletes of every third key (one deleted twice); with the
    documents expected at the end (by source_id) and the deleted keys."""
    messages: list[dict[str, Any]] = []
    expected: dict[str, dict[str, Any]] = {}
    for i in range(30):
        messages.append(make.record("users", {"_id": f"u{i}", "name": f"user {i}", "n": i, "_ab_cdc_deleted_at": None}))
        expected[f"u{i}"] = {"source_id": f"u{i}", "name": f"user {i}", "n": float(i)}
    messages.append(make.stream_state("users", "inserts"))
    messages.append(make.record("users", {"_id": "u1", "name": "renamed", "n": -1, "_ab_cdc_deleted_at": None}))
    expected["u1"] = {"source_id": "u1", "name": "renamed", "n": -1.0}
    deleted = {f"u{i}" for i in range(0, 30, 3)}
    for key in sorted(deleted) + ["u3"]:
        messages.append(make.record("users", {"_id": key, "_ab_cdc_deleted_at": DELETED_AT}))
        expected.pop(key, None)
    messages.append(make.stream_state("users", "deletes"))
    return messages, expected, deleted


def stored(deployment: Any, table: str = "users") -> dict[str, dict[str, Any]]:
    docs = deployment.documents(table)
    by_key = {doc["source_id"]: {k: v for k, v in doc.items() if k not in ("_id", "_creationTime")} for doc in docs}
    assert len(by_key) == len(docs), "dedup keeps one document per key"
    return by_key


@pytest.mark.timeout(120)
def test_writing_the_same_deletes_again_leaves_no_document(convex_server: Any, run_destination: Any,
                                                          make: Any) -> None:
    messages, expected, deleted = sync_with_deletes(make)
    stream = make.stream("users", mode="append_dedup", primary_key=[["_id"]])
    first = run_destination(convex_server, [stream], messages)
    assert first.returncode == 0, first.stdout[-3000:]
    assert stored(convex_server) == expected
    # The replay (at-least-once delivery after a crash): every delete now targets a missing key.
    again = run_destination(convex_server, [stream], messages)
    assert again.returncode == 0, again.stdout[-3000:]
    assert stored(convex_server) == expected
    assert not deleted & set(stored(convex_server))
    for run in (first, again):
        # destinationStats counts input records: 30, then 1 update + 11 deletes.
        assert [s["destinationStats"]["recordCount"] for s in run.states] == [30.0, 12.0]
    # Each delete travels as an upsert plus the delete (42 records, 53 import messages per run).
    imports = convex_server.request_log.entries("import_airbyte_records")
    assert sum(entry.params["messages"] for entry in imports) == 2 * (42 + 11)


@pytest.mark.timeout(120)
def test_a_delete_of_a_key_never_written_leaves_nothing(convex_server: Any, run_destination: Any,
                                                       make: Any) -> None:
    # A composite key with a nested field: both halves of each delete resolve to the same key.
    stream = make.stream("users", mode="append_dedup", primary_key=[["_id"], ["meta", "region"]],
                         schema=NESTED_SCHEMA)
    kept = {"_id": "k", "meta": {"region": "eu"}, "name": "kept", "_ab_cdc_deleted_at": None}
    messages = [make.record("users", kept)]
    messages += [make.record("users", {"_id": f"gone{i}", "meta": {"region": "eu"}, "_ab_cdc_deleted_at": DELETED_AT})
                 for i in range(3)]
    # Same _id, other region: a different key, never written either.
    messages.append(make.record("users", {"_id": "k", "meta": {"region": "us"}, "_ab_cdc_deleted_at": DELETED_AT}))
    messages.append(make.stream_state("users", 1))
    result = run_destination(convex_server, [stream], messages)
    assert result.returncode == 0, result.stdout[-3000:]
    assert convex_server.index_fields("users") == [["source_id"], ["meta", "region"]]
    assert stored(convex_server) == {"k": {"source_id": "k", "meta": {"region": "eu"}, "name": "kept"}}
    assert [s["destinationStats"]["recordCount"] for s in result.states] == [5.0]


@pytest.mark.timeout(120)
def test_a_request_cut_between_upsert_and_delete_is_healed_by_the_replay(convex_server: Any, run_destination: Any,
                                                                         make: Any) -> None:
    """Convex commits every N writes, so its transaction boundary can fall between the halves.
    If the request then fails, the upsert stays committed, but no STATE covers the record, so the
    replay sends the pair again and the key ends up absent."""
    stream = make.stream("users", mode="append_dedup", primary_key=[["_id"]])
    convex_server.settings.import_tx_max_writes = 2  # commits after [x, upsert of d]; the delete waits
    good = [make.record("users", {"_id": "x", "name": "x", "_ab_cdc_deleted_at": None}),
            make.record("users", {"_id": "d", "name": "d", "_ab_cdc_deleted_at": DELETED_AT})]
    missing_key = make.record("users", {"name": "no _id", "_ab_cdc_deleted_at": None})
    failed = run_destination(convex_server, [stream], good + [missing_key, make.stream_state("users", 1)])
    assert failed.returncode != 0 and failed.states == []
    assert failed.errors and "MissingPrimaryKeyValue" in failed.errors[0]["message"]
    assert sorted(stored(convex_server)) == ["d", "x"], "the boundary fell between the halves: the upsert stayed"
    replay = run_destination(convex_server, [stream], good + [make.stream_state("users", 1)])
    assert replay.returncode == 0, replay.stdout[-3000:]
    assert stored(convex_server) == {"x": {"source_id": "x", "name": "x"}}
    assert [s["destinationStats"]["recordCount"] for s in replay.states] == [2.0]


@pytest.mark.timeout(120)
def test_append_mode_inserts_a_delete_once(convex_server: Any, run_destination: Any, make: Any) -> None:
    stream = make.stream("events", mode="append")
    messages = [make.record("events", {"_id": "e1", "name": "a", "_ab_cdc_deleted_at": DELETED_AT}),
                make.stream_state("events", 1)]
    result = run_destination(convex_server, [stream], messages)
    assert result.returncode == 0, result.stdout[-3000:]
    docs = [{k: v for k, v in doc.items() if k not in ("_id", "_creationTime")}
            for doc in convex_server.documents("events")]
    assert docs == [{"source_id": "e1", "name": "a"}]
    imports = convex_server.request_log.entries("import_airbyte_records")
    assert sum(entry.params["messages"] for entry in imports) == 1
