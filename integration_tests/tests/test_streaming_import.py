"""Streaming import: names, append / dedup / delete, indexes, clear/replace, limits, write rate."""

from __future__ import annotations

import json
import time
from typing import Any


from .conftest import Api, error

IMPORT = "/api/streaming_import/import_airbyte_records"
ADD_INDEXES = "/api/streaming_import/add_primary_key_indexes"
READY = "/api/streaming_import/primary_key_indexes_ready"
CLEAR = "/api/streaming_import/clear_tables"


def body(stream: str, records: list[dict[str, Any]], pk: list[list[str]] | None = None) -> dict[str, Any]:
    return {"tables": {stream: {"primaryKey": pk, "jsonSchema": {}}},
            "messages": [{"tableName": stream, "data": r} for r in records]}


def send(api: Api, payload: dict[str, Any]) -> Any:
    return api.post(IMPORT, payload)


def ready(api: Api, tables: list[str]) -> Any:
    return api.get(READY, json={"tables": tables})  # a GET with a JSON body


def dedup_table(api: Api, stream: str, pk: list[list[str]]) -> None:
    assert api.put(ADD_INDEXES, {"indexes": {stream: pk}}).status_code == 200
    assert ready(api, [stream]).json() == {"indexesReady": True}


def test_append_maps_names_and_stores_numbers_as_float64(api: Api) -> None:
    resp = send(api, body("*name!of.table", [
        {"_id": 7, "source_id": 1, "nested": {"_x": [{"a b": 2}]}, "_ab_cdc_lsn": "l", "_airbyte_extracted_at": 5},
    ]))
    assert resp.status_code == 200 and resp.content == b""
    (doc,) = api.dep.documents("source_name_of_table")
    assert doc["source_id"] == 1.0 and isinstance(doc["source_id"], float)
    assert doc["source_source_id"] == 7.0
    assert doc["nested"] == {"source_x": [{"source_a_b": 2.0}]}
    assert "source_ab_cdc_lsn" not in doc and doc["source_airbyte_extracted_at"] == 5.0
    big = send(api, body("s", [{"n": 12345678901234567890, "i": 3}]))
    assert big.status_code == 200
    (doc,) = api.dep.documents("s")
    assert isinstance(doc["i"], float) and doc["n"] == float(12345678901234567890)


def test_append_inserts_every_message_even_deleted_ones(api: Api) -> None:
    records = [{"k": 1}, {"k": 1}, {"k": 2, "_ab_cdc_deleted_at": "2024-01-01"}]
    assert send(api, body("s", records)).status_code == 200
    assert sorted(d["k"] for d in api.dep.documents("s")) == [1.0, 1.0, 2.0]


def test_dedup_replaces_deletes_and_inserts(api: Api) -> None:
    dedup_table(api, "users", [["id"]])
    assert send(api, body("users", [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}], [["id"]])).status_code == 200
    first = {d["id"]: d for d in api.dep.documents("users")}
    assert send(api, body("users", [
        {"id": 1, "v": "a2"},
        {"id": 2, "_ab_cdc_deleted_at": "2024-01-01T00:00:00Z"},
        {"id": 3, "v": "c", "_ab_cdc_deleted_at": "2024"},  # no match: inserted even though deleted
        {"id": 4, "v": "d", "_ab_cdc_deleted_at": None},
        {"id": 4, "v": "d2"},  # matches the record inserted earlier in the same request
    ], [["id"]])).status_code == 200
    docs = {d["id"]: d for d in api.dep.documents("users")}
    assert set(docs) == {1.0, 3.0, 4.0}
    assert docs[1.0]["v"] == "a2" and docs[1.0]["_id"] == first[1.0]["_id"]
    assert docs[1.0]["_creationTime"] == first[1.0]["_creationTime"]
    assert docs[4.0]["v"] == "d2" and "source_ab_cdc_deleted_at" not in docs[3.0]


def test_dedup_on_nested_and_composite_keys_is_an_exact_match(api: Api) -> None:
    dedup_table(api, "t", [["a", "b"], ["c"]])
    pk = [["a", "b"], ["c"]]
    assert send(api, body("t", [{"a": {"b": 1}, "c": "x", "v": 1}], pk)).status_code == 200
    assert send(api, body("t", [{"a": {"b": 1}, "c": "x", "v": 2}, {"a": {"b": 1}, "c": "y", "v": 3}], pk)).status_code == 200
    assert sorted(d["v"] for d in api.dep.documents("t")) == [2.0, 3.0]
    assert error(send(api, body("t", [{"a": {}, "c": "x"}], pk))) == (400, "MissingPrimaryKeyValue")


def test_dedup_index_must_exist_and_be_ready(api: Api) -> None:
    assert error(send(api, body("users", [{"id": 1}], [["id"]]))) == (400, "IndexNotFoundError")
    send(api, body("users", [{"id": 1}]))  # data, so the next index backfills
    api.dep.settings.index_backfill_delay_s = 0.4
    assert api.put(ADD_INDEXES, {"indexes": {"users": [["id"]]}}).status_code == 200
    assert ready(api, ["users"]).json() == {"indexesReady": False}
    assert error(send(api, body("users", [{"id": 1}], [["id"]]))) == (400, "IndexBackfillingError")
    time.sleep(0.45)
    assert ready(api, ["users"]).json() == {"indexesReady": True}
    assert send(api, body("users", [{"id": 1, "x": 1}], [["id"]])).status_code == 200


def test_index_lifecycle(api: Api) -> None:
    dep = api.dep
    dep.settings.index_backfill_delay_s = 30
    assert api.put(ADD_INDEXES, {"indexes": {"_new table": [["id"]]}}).status_code == 200
    assert "source_new_table" in dep.table_names()  # created, empty: ready at once
    assert ready(api, ["_new table"]).json() == {"indexesReady": True}
    assert ready(api, []).json() == {"indexesReady": True}
    assert error(ready(api, ["never_indexed"])) == (400, "MissingIndex")
    dep.insert("source_new_table", {"id": 1.0})
    assert api.put(ADD_INDEXES, {"indexes": {"_new table": [["id"]]}}).status_code == 200  # same fields: no-op
    assert ready(api, ["source_new_table"]).json() == {"indexesReady": True}
    assert api.put(ADD_INDEXES, {"indexes": {"_new table": [["other"]]}}).status_code == 200  # rebuilt
    assert ready(api, ["source_new_table"]).json() == {"indexesReady": False}
    for bad in ([["_id"]], [[]], [], [["a-b"]]):
        assert error(api.put(ADD_INDEXES, {"indexes": {"t": bad}})) == (400, "InvalidPrimaryKey"), bad
    assert error(api.put(ADD_INDEXES, {"wrong": {}})) == (400, "BadJsonBody")


def test_request_validation(api: Api) -> None:
    assert error(api.post(IMPORT, {"tables": {}, "messages": [{"tableName": "x", "data": {}}]})) == (400, "MissingStream")
    assert error(send(api, body("x", [{"a": 1}], []))) == (400, "EmptyPrimaryKey")
    assert error(api.post(IMPORT, {"tables": {"x": {"primaryKey": None}}, "messages": []})) == (400, "BadJsonBody")
    assert error(api.post(IMPORT, {"messages": []})) == (400, "BadJsonBody")
    nan = b'{"tables":{"x":{"primaryKey":null,"jsonSchema":{}}},"messages":[{"tableName":"x","data":{"a":NaN}}]}'
    resp = api.session.post(api.dep.url + IMPORT, data=nan, headers={"Content-Type": "application/json"})
    assert error(resp) == (400, "BadJsonBody")
    assert api.dep.documents("x") == []


def test_clear_tables_is_atomic_creates_tables_and_keeps_the_index(api: Api) -> None:
    dedup_table(api, "users", [["id"]])
    send(api, body("users", [{"id": 1}, {"id": 2}], [["id"]]))
    assert api.put(CLEAR, {"tableNames": ["users", "brand_new"]}).status_code == 200
    assert api.dep.documents("users") == [] and "brand_new" in api.dep.table_names()
    assert ready(api, ["users"]).json() == {"indexesReady": True}
    assert send(api, body("users", [{"id": 1}], [["id"]])).status_code == 200
    assert len(api.dep.documents("users")) == 1


def test_replace_tables_is_never_supported(api: Api) -> None:
    resp = api.post("/api/streaming_import/replace_tables", {"tableNames": {"a": "b"}})
    assert error(resp) == (400, "OverwriteNotSupported")


def test_body_and_document_limits(api: Api) -> None:
    big_record = {"blob": "x" * (1024 * 1024 + 10)}
    assert error(send(api, body("s", [big_record]))) == (400, "DocumentTooLarge")
    many = [{"blob": "y" * (1000 * 1000)} for _ in range(21)]  # ~21 MB body
    assert error(send(api, body("s", many))) == (400, "BadJsonBody")
    under = [{"blob": "y" * (900 * 1000)} for _ in range(20)]  # ~18 MB: accepted
    assert send(api, body("s", under)).status_code == 200
    deep: dict[str, Any] = {"v": 1}
    for _ in range(20):
        deep = {"d": deep}
    assert error(send(api, body("s", [deep]))) == (400, "InvalidValue")
    assert error(send(api, body("s", [{"arr": list(range(8193))}]))) == (400, "InvalidValue")


def test_commits_every_16000_writes_so_a_later_error_keeps_earlier_writes(api: Api) -> None:
    records: list[dict[str, Any]] = [{"n": i} for i in range(16_000)]
    records += [{"n": 16_000 + i} for i in range(10)] + [{"blob": "z" * (1024 * 1024 + 1)}]
    assert error(send(api, body("s", records))) == (400, "DocumentTooLarge")
    docs = api.dep.documents("s")
    assert len(docs) == 16_000
    assert {d["n"] for d in docs} == {float(i) for i in range(16_000)}
    assert len({d["_creationTime"] for d in docs}) == 1  # one transaction, one timestamp


def test_too_many_writes(api: Api) -> None:
    api.dep.settings.max_write_bytes_per_s = 2000
    payload = body("s", [{"pad": "p" * 1500}])
    assert send(api, payload).status_code == 200
    resp = send(api, payload)
    assert error(resp) == (429, "TooManyWrites")
    time.sleep(1.05)
    assert send(api, payload).status_code == 200
    assert len(api.dep.documents("s")) == 2


def test_import_is_fast(api: Api) -> None:
    records = [{"id": i, "name": f"user {i}", "email": f"u{i}@example.com", "score": i * 1.5,
                "tags": ["a", "b"], "address": {"city": "Oslo", "zip": "0150"}} for i in range(20_000)]
    dedup_table(api, "fast", [["id"]])
    payload = json.dumps(body("fast", records, [["id"]])).encode()
    t = time.perf_counter()
    resp = api.session.post(api.dep.url + IMPORT, data=payload, headers={"Content-Type": "application/json"})
    elapsed = time.perf_counter() - t
    assert resp.status_code == 200
    # Loose on purpose (shared 2-core machine): catches quadratic work, not small regressions.
    assert elapsed < 8.0, f"20k records took {elapsed:.2f}s"
    assert len(api.dep.documents("fast")) == 20_000


def test_several_matches_for_one_key_is_a_500(api: Api) -> None:
    send(api, body("t", [{"id": 1}, {"id": 1}]))  # appended twice
    dedup_table(api, "t", [["id"]])
    resp = send(api, body("t", [{"id": 1, "v": 2}], [["id"]]))
    assert error(resp) == (500, "InternalServerError")
    assert send(api, body("t", [{"id": 2, "v": 2}], [["id"]])).status_code == 200


def test_dedup_sees_documents_seeded_outside_import(api: Api) -> None:
    dedup_table(api, "t", [["id"]])
    assert send(api, body("t", [{"id": 1, "v": "a"}], [["id"]])).status_code == 200
    seeded = api.dep.insert("t", {"id": 2.0, "v": "seeded"})
    assert send(api, body("t", [{"id": 2, "v": "b"}, {"id": 1, "_ab_cdc_deleted_at": "x"}], [["id"]])).status_code == 200
    (doc,) = api.dep.documents("t")
    assert doc["_id"] == seeded and doc["v"] == "b"
