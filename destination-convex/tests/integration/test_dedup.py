"""Dedup on `_id` (stored as source_id): updates, deletes, index waits, and retries under faults."""

from typing import Any

import pytest


PAD = "p" * 300  # makes each record ~400 bytes, so 10 KiB batches hold ~25 records


def dedup_input(make: Any, count: int = 60) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Inserts, then updates of every third document, then deletes of every fifth; with the
    documents expected at the end (keyed by source_id)."""
    messages: list[dict[str, Any]] = []
    expected: dict[str, dict[str, Any]] = {}
    for i in range(count):
        data = {"_id": f"u{i}", "name": f"user {i}", "n": i, "pad": PAD, "_ab_cdc_deleted_at": None}
        messages.append(make.record("users", data))
        expected[f"u{i}"] = {"source_id": f"u{i}", "name": f"user {i}", "n": float(i), "pad": PAD}
        if i % 20 == 19:
            messages.append(make.stream_state("users", i))
    for i in range(0, count, 3):
        messages.append(make.record("users", {"_id": f"u{i}", "name": f"renamed {i}", "n": -i, "_ab_cdc_deleted_at": None}))
        expected[f"u{i}"] = {"source_id": f"u{i}", "name": f"renamed {i}", "n": float(-i)}
    messages.append(make.stream_state("users", "updates"))
    for i in range(0, count, 5):
        messages.append(make.record("users", {"_id": f"u{i}", "_ab_cdc_deleted_at": "2024-01-01T00:00:00Z"}))
        expected.pop(f"u{i}")
    messages.append(make.stream_state("users", "deletes"))
    return messages, expected


def stored(deployment: Any, table: str = "users") -> dict[str, dict[str, Any]]:
    docs = deployment.documents(table)
    by_key = {doc["source_id"]: {k: v for k, v in doc.items() if k not in ("_id", "_creationTime")} for doc in docs}
    assert len(by_key) == len(docs), "dedup keeps one document per key"
    return by_key


@pytest.mark.timeout(120)
def test_dedup_on_id_with_updates_and_deletes(convex_server: Any, run_destination: Any, make: Any) -> None:
    messages, expected = dedup_input(make)
    stream = make.stream("users", mode="append_dedup", primary_key=[["_id"]])
    result = run_destination(convex_server, [stream], messages, max_batch_size_mib=0.01)
    assert result.returncode == 0, result.stdout[-3000:]
    assert convex_server.index_fields("users") == [["source_id"]]
    assert stored(convex_server) == expected
    assert [s["destinationStats"]["recordCount"] for s in result.states] == [20.0, 20.0, 20.0, 20.0, 12.0]
    assert "append_dedup on source_id" in result.logs
    assert "deleted records delete their document" in result.logs
    # Small batches: many requests, each one within the limit and naming only its table.
    imports = convex_server.request_log.entries("import_airbyte_records")
    limit = int(0.01 * 1024 * 1024)
    # Every record once, plus one upsert ahead of each of the 12 deletes (see records.py).
    assert len(imports) >= 3 and sum(entry.params["messages"] for entry in imports) == len(messages) - 5 + 12
    assert all(entry.bytes_in <= limit and entry.params["tables"] == ["users"] for entry in imports)


@pytest.mark.timeout(150)
def test_transient_faults_in_dedup_give_the_fault_free_result(
    convex_server_factory: Any, run_destination: Any, make: Any
) -> None:
    messages, expected = dedup_input(make, count=200)
    stream = make.stream("users", mode="append_dedup", primary_key=[["_id"]])
    clean = convex_server_factory()
    faulty = convex_server_factory()
    # Failures before the request runs, after it committed (a lost answer), and a reset connection.
    faulty.faults.inject(route="import_airbyte_records", kind="503", rate=0.5, count=3, seed=1)
    # (A 500 on import is retried only once, since it is usually deterministic: one here.)
    faulty.faults.inject(route="import_airbyte_records", kind="500", rate=0.5, count=1, seed=2, when="after")
    faulty.faults.inject(route="import_airbyte_records", kind="reset", rate=0.5, count=1, seed=3, when="after")
    faulty.faults.inject(route="primary_key_indexes_ready", kind="429", count=1, retry_after_s=0)

    assert run_destination(clean, [stream], messages, max_batch_size_mib=0.01).returncode == 0
    result = run_destination(faulty, [stream], messages, max_batch_size_mib=0.01)

    assert result.returncode == 0, result.stdout[-3000:]
    assert sum(rule.fired for rule in faulty.faults.rules) == 6, "every injected fault was hit and retried"
    assert stored(faulty) == stored(clean) == expected
    assert len(result.states) == 12
    assert "retry" in result.logs


@pytest.mark.timeout(120)
def test_index_backfill_is_awaited_with_progress(convex_server: Any, run_destination: Any, make: Any) -> None:
    convex_server.insert("users", {"source_id": "u0", "name": "old"})
    convex_server.settings.index_backfill_delay_s = 2.0
    stream = make.stream("users", mode="append_dedup", primary_key=[["_id"]])
    result = run_destination(convex_server, [stream], [make.record("users", {"_id": "u0", "name": "new"}),
                                                        make.stream_state("users", 1)])
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Waiting for Convex to build the primary-key indexes of users" in result.logs
    assert "Primary-key indexes are ready after" in result.logs
    assert [doc["name"] for doc in convex_server.documents("users")] == ["new"]
    polls = convex_server.request_log.entries("primary_key_indexes_ready")
    assert len(polls) >= 2
    first_import = convex_server.request_log.entries("import_airbyte_records")[0]
    assert first_import.at_ns > polls[-1].at_ns, "no record is sent before the index is ready"


@pytest.mark.timeout(120)
def test_index_timeout_is_a_clear_error(convex_server: Any, run_destination: Any, make: Any) -> None:
    convex_server.insert("users", {"source_id": "u0"})
    convex_server.settings.index_backfill_delay_s = 120.0
    stream = make.stream("users", mode="append_dedup", primary_key=[["_id"]])
    result = run_destination(convex_server, [stream], [make.record("users", {"_id": "u1"}), make.stream_state("users", 1)],
                             index_ready_timeout_seconds=2)
    assert result.returncode != 0
    assert result.states == []
    (error,) = result.errors
    assert error["failure_type"] == "transient_error"
    assert "within 2 s" in error["message"] and "users" in error["message"]
    assert not convex_server.request_log.entries("import_airbyte_records")


@pytest.mark.timeout(120)
def test_key_on_a_renamed_nested_field_and_on_a_collision(convex_server: Any, run_destination: Any, make: Any) -> None:
    schema = {"type": "object", "properties": {
        "source_id": {"type": "string"}, "_id": {"type": "string"},
        "meta": {"type": "object", "properties": {"_key": {"type": "string"}}},
    }}
    streams = [
        make.stream("collide", mode="append_dedup", primary_key=[["_id"]], schema=schema),
        make.stream("nested", mode="append_dedup", primary_key=[["meta", "_key"]], schema=schema),
    ]
    messages = [
        make.record("collide", {"source_id": "a", "_id": "k1", "v": 1}),
        make.record("collide", {"source_id": "b", "_id": "k1", "v": 2}),
        make.record("nested", {"meta": {"_key": "x"}, "v": 1}),
        make.record("nested", {"meta": {"_key": "x"}, "v": 2}),
        make.global_state(1),
    ]
    result = run_destination(convex_server, streams, messages)
    assert result.returncode == 0, result.stdout[-3000:]
    assert convex_server.index_fields("collide") == [["source_source_id"]]
    assert convex_server.index_fields("nested") == [["meta", "source_key"]]
    assert [(d["source_source_id"], d["v"]) for d in convex_server.documents("collide")] == [("k1", 2.0)]
    assert [d["v"] for d in convex_server.documents("nested")] == [2.0]


def test_key_on_a_field_convex_keeps_but_cannot_index_is_a_config_error(
    convex_server: Any, run_destination: Any, make: Any
) -> None:
    # "Key Name" is a valid Convex field name, so import stores it as it is, but an index path
    # must be an identifier: the sync must stop before writing, naming the stream and field.
    schema = {"type": "object", "properties": {"Key Name": {"type": "string"}}}
    streams = [make.stream("spaced", mode="append_dedup", primary_key=[["Key Name"]], schema=schema)]
    result = run_destination(convex_server, streams, [make.record("spaced", {"Key Name": "x"}), make.global_state(1)])
    assert result.returncode != 0
    assert result.errors and result.errors[-1]["failure_type"] == "config_error"
    assert "spaced" in result.errors[-1]["message"] and "Key Name" in result.errors[-1]["message"]
    assert result.states == []
    assert "spaced" not in convex_server.table_names() or convex_server.documents("spaced") == []
