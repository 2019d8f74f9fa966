"""Sync modes end to end: append, overwrite, truncate refresh, namespaces, table naming, metadata."""

from typing import Any

import pytest


def payloads(deployment: Any, table: str) -> list[dict[str, Any]]:
    """Stored documents without the fields Convex assigns, sorted for comparison."""
    docs = [{k: v for k, v in doc.items() if k not in ("_id", "_creationTime")} for doc in deployment.documents(table)]
    return sorted(docs, key=repr)


@pytest.mark.timeout(120)
def test_append_overwrite_truncate_and_namespaces(convex_server: Any, run_destination: Any, make: Any) -> None:
    for table in ("logs", "people", "kept"):
        convex_server.insert(table, {"old": True})
    streams = [
        make.stream("events"),
        make.stream("orders", namespace="shop"),
        make.stream("logs", mode="overwrite"),
        make.stream("people", generation_id=4, minimum_generation_id=4),  # truncate refresh
        make.stream("kept", generation_id=4, minimum_generation_id=0),  # a refresh that keeps old data
    ]
    messages = []
    for i in range(30):
        messages.append(make.record("events", {"_id": f"e{i}", "name": f"event {i}", "n": i}))
        messages.append(make.record("orders", {"_id": f"o{i}", "n": i}, namespace="shop"))
        if i % 10 == 9:
            messages.append(make.stream_state("events", i))
            messages.append(make.stream_state("orders", i, namespace="shop"))
    for table in ("logs", "people", "kept"):
        messages.append(make.record(table, {"new": True}))
    messages.append(make.global_state("end"))

    result = run_destination(convex_server, streams, messages)

    assert result.returncode == 0, result.stdout[-3000:]
    assert payloads(convex_server, "events") == sorted(
        [{"source_id": f"e{i}", "name": f"event {i}", "n": float(i)} for i in range(30)], key=repr)
    assert len(convex_server.documents("shop_orders")) == 30
    assert payloads(convex_server, "logs") == [{"new": True}]
    assert payloads(convex_server, "people") == [{"new": True}]
    assert payloads(convex_server, "kept") == sorted([{"old": True}, {"new": True}], key=repr)

    clears = convex_server.request_log.entries("clear_tables")
    # No stream statuses in this input: each replacing table is cleared at the end of input.
    assert [entry.params["tableNames"] for entry in clears] == [["logs"], ["people"]]
    assert not convex_server.request_log.entries("add_primary_key_indexes")

    states = result.states
    assert [s.get("type") for s in states] == ["STREAM"] * 6 + ["GLOBAL"]
    assert [s["destinationStats"]["recordCount"] for s in states] == [10.0] * 6 + [3.0]
    assert states[1]["stream"]["stream_descriptor"] == {"name": "orders", "namespace": "shop"}
    assert "Stream 'events' is written to the Convex table 'events' (append)" in result.logs
    assert "_id -> source_id" in result.logs
    assert "Stream 'shop.orders' is written to the Convex table 'shop_orders'" in result.logs
    assert "truncate refresh" in result.logs
    assert result.errors == []

    # A second append sync adds the same rows again.
    again = run_destination(convex_server, [make.stream("events")], [messages[0], make.stream_state("events", 0)])
    assert again.returncode == 0
    assert len(convex_server.documents("events")) == 31


@pytest.mark.timeout(120)
def test_table_names_are_convex_names_and_metadata_is_optional(
    convex_server: Any, run_destination: Any, make: Any
) -> None:
    streams = [make.stream("Sales Orders!", namespace="my-db", generation_id=9)]
    data = {"Total €": 5, "_id": "x", "note": None}  # a top-level null is data too
    messages = [make.record("Sales Orders!", data, namespace="my-db"), make.global_state(1)]
    result = run_destination(convex_server, streams, messages, store_airbyte_metadata=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert convex_server.table_names() == ["source_my_db_sales_orders"]
    (doc,) = convex_server.documents("source_my_db_sales_orders")
    assert doc["source_total_eur"] == 5.0 and doc["source_id"] == "x" and doc["note"] is None
    assert doc["source_airbyte_extracted_at"] == 1_700_000_000_000.0
    assert doc["source_airbyte_generation_id"] == 9.0
    assert len(doc["source_airbyte_raw_id"]) == 36


@pytest.mark.timeout(60)
def test_unsupported_mode_fails_before_any_request(convex_server: Any, run_destination: Any, make: Any) -> None:
    result = run_destination(convex_server, [make.stream("users", mode="soft_delete")], [make.record("users", {})])
    assert result.returncode != 0
    (error,) = result.errors
    assert error["failure_type"] == "config_error"
    assert "users" in error["message"] and "soft_delete" in error["message"]
    assert len(convex_server.request_log) == 0


@pytest.mark.timeout(240)
def test_a_bulk_load_leaves_the_app_room_to_write(convex_server: Any, run_destination: Any, make: Any) -> None:
    # Convex never refuses the import for write rate, but its bytes fill the deployment's ~4 MiB/s
    # window and then the APP's mutations fail with TooManyWrites. The default pacing (2 MiB/s)
    # keeps every one-second window under the limit while the app keeps writing.
    from convex_local.control import AppWriter

    messages = [make.record("events", {"_id": f"e{i}", "pad": "x" * 200}) for i in range(30_000)]
    with AppWriter(convex_server.url, convex_server.admin_key, interval_s=0.05) as app:
        result = run_destination(convex_server, [make.stream("events")], messages, timeout=200)
    assert result.returncode == 0, result.stdout[-3000:]
    assert len(convex_server.documents("events")) == 30_000
    busiest = convex_server.db.write_meter.busiest_window_bytes()
    assert busiest <= 4 * 1024 * 1024, f"busiest one-second window {busiest / 2**20:.2f} MiB"
    assert app.tried > 20 and app.failed == 0, f"{app.failed} of {app.tried} app mutations failed with TooManyWrites"
    assert "paced at 2 MiB/s" in result.logs
