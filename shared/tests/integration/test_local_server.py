"""The client against the local Convex-compatible deployment: every route, every error class,
and every injected fault kind, with the key absent from logs, errors and URLs."""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
import pytest

from convex_shared import (
    ConvexAuthError,
    ConvexPermissionError,
    ConvexRequestError,
    ConvexTransientError,
    RetryPolicy,
)
from convex_shared.naming import convex_table_name, map_document

from .conftest import ClientFactory, secret_of

pytestmark = pytest.mark.timeout(30)

NS_PER_DAY = 86_400 * 10**9


def read_all(client: Any, **selection: Any) -> tuple[list[dict[str, Any]], int]:
    """Every document of one snapshot, and the snapshot; refuses a cursor that stops moving."""
    rows: list[dict[str, Any]] = []
    snapshot, cursor = None, None
    while True:
        page = client.list_snapshot(snapshot=snapshot, cursor=cursor, **selection)
        rows.extend(page.values)
        assert snapshot in (None, page.snapshot)
        snapshot = page.snapshot
        if not page.has_more:
            return rows, snapshot
        assert page.cursor != cursor
        cursor = page.cursor


def import_body(table: str, rows: list[dict[str, Any]], primary_key: list[list[str]] | None) -> bytes:
    return orjson.dumps({"tables": {table: {"primaryKey": primary_key, "jsonSchema": {}}},
                         "messages": [{"tableName": table, "data": row} for row in rows]})


# -- export ---------------------------------------------------------------------------------------


def test_export_snapshot_then_deltas(convex_server: Any, make_client: ClientFactory) -> None:
    convex_server.generate("users", 1500, seed=1)
    convex_server.create_table("empty")
    convex_server.insert("posts", {"title": "a", "n": 2**40, "raw": b"\x00\x01", "score": float("nan")})
    client = make_client()
    client.test_streaming_export_connection()
    schemas = client.json_schemas()
    assert {"users", "posts", "empty"} <= set(schemas[""])
    rows, snapshot = read_all(client)
    assert len([r for r in rows if r["_table"] == "users"]) == 1500
    post = next(r for r in rows if r["_table"] == "posts")
    assert post["n"] == str(2**40) and post["raw"] == "AAE=" and post["score"] == "NaN"

    new_id = convex_server.insert("posts", {"title": "b"})
    page = client.document_deltas(snapshot)
    assert [v["_id"] for v in page.values] == [new_id]
    assert page.values[0]["_deleted"] is False and page.cursor >= snapshot


def test_table_selection_holds_even_when_the_server_ignores_table_name(convex_server: Any,
                                                                       make_client: ClientFactory) -> None:
    convex_server.generate("users", 30, seed=2)
    convex_server.generate("posts", 30, seed=3)
    convex_server.settings.ignore_table_name = True
    client = make_client()
    rows, snapshot = read_all(client, table_name="posts", component="")
    assert len(rows) == 30 and {r["_table"] for r in rows} == {"posts"}
    convex_server.insert("users", {"name": "late"})
    assert client.document_deltas(snapshot, table_name="posts", component="").values == []


def test_values_in_bulk_decode_fast(convex_server: Any, make_client: ClientFactory) -> None:
    convex_server.generate("users", 5000, seed=4)
    client = make_client()
    started = time.monotonic()
    rows, _ = read_all(client, table_name="users")
    assert len(rows) == 5000
    assert time.monotonic() - started < 10  # a generous bound on a shared 2-core machine


# -- import ---------------------------------------------------------------------------------------


def wait_ready(client: Any, tables: list[str], deadline_s: float = 5.0) -> None:
    give_up = time.monotonic() + deadline_s
    while not client.primary_key_indexes_ready(tables):
        assert time.monotonic() < give_up, "indexes never became ready"
        time.sleep(0.05)


def test_import_dedup_and_clear(convex_server: Any, make_client: ClientFactory) -> None:
    client = make_client(importing=True)
    table = convex_table_name("users")
    client.add_primary_key_indexes({table: [["email"]]})
    wait_ready(client, [table])
    rows = [{"email": "a@x", "name": "A"}, {"email": "b@x", "name": "B"}, {"email": "a@x", "name": "A2"}]
    client.import_airbyte_records(import_body(table, rows, [["email"]]), idempotent=True)
    docs = sorted(convex_server.documents(table), key=lambda d: d["email"])
    assert [(d["email"], d["name"]) for d in docs] == [("a@x", "A2"), ("b@x", "B")]
    client.clear_tables([table])
    assert convex_server.documents(table) == []
    assert client.primary_key_indexes_ready([]) is True


def test_import_names_match_the_naming_module(convex_server: Any, make_client: ClientFactory) -> None:
    client = make_client(importing=True)
    stream = "*Weird table!"
    row = {"_id": 1, "source_id": 2, "first name": "a", "nested": {"$k": [{"_x": 1}]}, "_airbyte_raw_id": "r"}
    client.import_airbyte_records(import_body(stream, [row], None), idempotent=False)
    table = convex_table_name(stream)
    assert table in convex_server.table_names()
    (doc,) = convex_server.documents(table)
    stored = {k: v for k, v in doc.items() if k not in ("_id", "_creationTime")}
    assert stored == map_document(row)


# -- auth, permission, plan -----------------------------------------------------------------------


def test_wrong_key_is_an_auth_error(convex_server: Any, make_client: ClientFactory,
                                    caplog: pytest.LogCaptureFixture) -> None:
    wrong = "convex-self-hosted|" + "9f" * 32
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(ConvexAuthError) as info:
            make_client(wrong).list_snapshot()
    err = info.value
    assert (err.status, err.code, err.failure_type) == (401, "BadAdminKey", "config_error")
    assert "prod vs dev" in str(err)
    for text in (str(err), repr(err), caplog.text):
        assert secret_of(wrong) not in text and secret_of(convex_server.admin_key) not in text


def test_read_only_key_exports_but_cannot_import(convex_server: Any, make_client: ClientFactory) -> None:
    convex_server.insert("users", {"name": "a"})
    client = make_client(convex_server.read_only_key, importing=True)
    client.test_streaming_export_connection()
    assert len(read_all(client)[0]) == 1
    with pytest.raises(ConvexPermissionError) as info:
        client.import_airbyte_records(import_body("users", [{"name": "b"}], None), idempotent=False)
    assert info.value.code == "OperationNotPermitted" and "deployment:backups:import" in str(info.value)
    assert info.value.attempts == 1


def test_export_disabled_on_the_plan(convex_server: Any, make_client: ClientFactory) -> None:
    convex_server.settings.streaming_export_enabled = False
    client = make_client()
    with pytest.raises(ConvexPermissionError) as info:
        client.test_streaming_export_connection()
    assert info.value.code == "StreamingExportNotEnabled" and "convex.dev/plans" in str(info.value)
    client.clear_tables(["users"])  # import routes never check the plan


# -- request errors from the server ---------------------------------------------------------------


def test_positions_out_of_retention(convex_server: Any, make_client: ClientFactory) -> None:
    convex_server.insert("users", {"name": "a"})
    client = make_client()
    _, snapshot = read_all(client)
    convex_server.clock.advance(15 * NS_PER_DAY)
    with pytest.raises(ConvexRequestError) as info:
        client.document_deltas(snapshot)
    assert info.value.code == "InvalidWindowToReadDocuments" and info.value.failure_type == "config_error"
    assert "Refresh the connection" in str(info.value)
    with pytest.raises(ConvexRequestError) as info:
        client.list_snapshot(snapshot=snapshot)
    assert info.value.code == "SnapshotTooOld"


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda c: c.list_snapshot(cursor="not a cursor"), "InvalidListSnapshotCursor"),
        (lambda c: c.list_snapshot(fmt="xml"), "BadFormat"),
        (lambda c: c.import_airbyte_records(
            orjson.dumps({"tables": {}, "messages": [{"tableName": "t", "data": {}}]}), idempotent=True),
         "MissingStream"),
        (lambda c: c.import_airbyte_records(import_body("t", [{"a": 1}], []), idempotent=True), "EmptyPrimaryKey"),
        (lambda c: c.add_primary_key_indexes({"t": [["_id"]]}), "InvalidPrimaryKey"),
        (lambda c: c.primary_key_indexes_ready(["never_indexed"]), "MissingIndex"),
        (lambda c: c.import_airbyte_records(b"{not json", idempotent=True), "BadJsonBody"),
    ],
)
def test_request_errors_carry_code_and_fail_at_once(make_client: ClientFactory, call: Any, code: str) -> None:
    client = make_client(importing=True)
    with pytest.raises(ConvexRequestError) as info:
        call(client)
    assert info.value.code == code and info.value.status == 400
    assert info.value.attempts == 1 and client.request_count == 1


def test_index_backfilling_and_missing_key_value(convex_server: Any, make_client: ClientFactory) -> None:
    convex_server.generate("users", 10, seed=5)
    convex_server.settings.index_backfill_delay_s = 30.0
    client = make_client(importing=True)
    client.add_primary_key_indexes({"users": [["email"]]})
    assert client.primary_key_indexes_ready(["users"]) is False
    with pytest.raises(ConvexRequestError) as info:
        client.import_airbyte_records(import_body("users", [{"email": "a"}], [["email"]]), idempotent=True)
    assert info.value.code == "IndexBackfillingError"
    client.add_primary_key_indexes({"fresh": [["k"]]})
    wait_ready(client, ["fresh"])
    with pytest.raises(ConvexRequestError) as info:
        client.import_airbyte_records(import_body("fresh", [{"other": 1}], [["k"]]), idempotent=True)
    assert info.value.code == "MissingPrimaryKeyValue"


# -- injected faults ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["500", "503", "429", "html502", "reset"])
def test_each_fault_kind_is_retried(convex_server: Any, make_client: ClientFactory,
                                    caplog: pytest.LogCaptureFixture, kind: str) -> None:
    convex_server.generate("users", 20, seed=6)
    convex_server.faults.inject(route="list_snapshot", kind=kind, count=2, retry_after_s=0.1)
    client = make_client()
    with caplog.at_level(logging.WARNING, logger="convex_shared.itest"):
        started = time.monotonic()
        rows, _ = read_all(client)
    assert len(rows) == 20
    assert client.request_count == 3  # one page, two faults
    assert len([r for r in caplog.records if "retry" in r.getMessage()]) == 2
    if kind == "429":
        # The server asks for 1 s; the test policy caps Retry-After at 0.5 s: both rules show.
        assert 0.9 <= time.monotonic() - started < 2.0
    assert secret_of(convex_server.admin_key) not in caplog.text


def test_slow_answers_time_out_and_are_retried(convex_server: Any, make_client: ClientFactory) -> None:
    convex_server.faults.inject(route="test_streaming_export_connection", kind="slow", count=1, slow_s=1.0)
    client = make_client(read_timeout_s=0.3)
    client.test_streaming_export_connection()
    assert client.request_count == 2


def test_persistent_faults_give_up_within_the_budget(convex_server: Any, make_client: ClientFactory) -> None:
    convex_server.faults.inject(route="*", kind="503")
    client = make_client(retry=RetryPolicy(max_attempts=3, initial_delay_s=0.01, jitter=0.0))
    with pytest.raises(ConvexTransientError) as info:
        client.json_schemas()
    assert info.value.attempts == 3 and info.value.failure_type == "transient_error"
    convex_server.faults.clear()
    convex_server.faults.inject(route="*", kind="html502")
    with pytest.raises(ConvexTransientError) as info:
        client.json_schemas()
    assert "502 Bad Gateway" in str(info.value)


def test_import_is_never_refused_for_write_rate(convex_server: Any, make_client: ClientFactory) -> None:
    # The contract's Corrections: import commits without the write-throughput check.
    body = import_body("logs", [{"line": "x" * 1000} for _ in range(50)], None)
    convex_server.settings.max_write_bytes_per_s = 10_000.0
    client = make_client(importing=True)
    for _ in range(3):
        client.import_airbyte_records(body, idempotent=False)
    assert client.request_count == 3 and len(convex_server.documents("logs")) == 150


def test_an_append_retry_after_a_lost_answer_warns_and_repeats_the_batch_at_most_whole(
    convex_server: Any, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # A proxy's page after the backend committed: nothing can tell, so the retry is logged as a risk.
    convex_server.faults.inject(route="import_airbyte_records", kind="html502", count=1, when="after")
    client = make_client(importing=True)
    with caplog.at_level(logging.WARNING, logger="convex_shared.itest"):
        client.import_airbyte_records(import_body("events", [{"n": 1}, {"n": 2}], None), idempotent=False)
    assert "stored twice" in caplog.text
    assert len(convex_server.documents("events")) == 4  # the one batch, twice: never a partial piece


def test_an_append_convex_refused_is_retried(convex_server: Any, make_client: ClientFactory) -> None:
    # A Convex error body (an OCC 503): the batch's one transaction was rolled back; retrying is safe.
    convex_server.faults.inject(route="import_airbyte_records", kind="503", count=1)
    client = make_client(importing=True)
    client.import_airbyte_records(import_body("events", [{"n": 1}], None), idempotent=False)
    assert client.request_count == 2 and len(convex_server.documents("events")) == 1


def test_an_import_500_is_retried_once_then_explained(convex_server: Any, make_client: ClientFactory) -> None:
    convex_server.insert("users", {"email": "a"})
    convex_server.insert("users", {"email": "a"})
    client = make_client(importing=True)
    client.add_primary_key_indexes({"users": [["email"]]})
    with pytest.raises(ConvexRequestError) as info:
        client.import_airbyte_records(import_body("users", [{"email": "a"}], [["email"]]), idempotent=True)
    assert info.value.attempts == 2 and info.value.failure_type == "config_error"
    assert "share one primary-key value" in str(info.value) and info.value.status == 500


def test_key_never_in_urls(convex_server: Any, make_client: ClientFactory) -> None:
    client = make_client()
    read_all(client)
    client.json_schemas()
    for entry in convex_server.request_log:
        assert secret_of(convex_server.admin_key) not in orjson.dumps(entry.params, default=str).decode()

