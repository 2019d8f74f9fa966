"""Streaming import: names, append / dedup / delete, indexes, clear/replace, limits, write rate."""

from __future__ import annotations

import json
import math
import time
from typing import Any


from convex_local.control import ControlClient

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
        {"_id": 7, "source_id": 1, "nested": {"_x": [{"a b": 2, "$p": 3}]}, "_ab_cdc_lsn": "l",
         "_airbyte_extracted_at": 5, "first name": "kept", "Straße": "s"},
    ]))
    assert resp.status_code == 200 and resp.content == b""
    (doc,) = api.dep.documents("source_name_of_table")
    assert doc["source_id"] == 1.0 and isinstance(doc["source_id"], float)
    assert doc["source_source_id"] == 7.0
    # Any valid field name that does not start with `_` is kept (spaces included); `$` and non-ASCII are not.
    assert doc["nested"] == {"source_x": [{"a b": 2.0, "source_p": 3.0}]}
    assert doc["first name"] == "kept" and doc["source_strasse"] == "s"
    assert "source_ab_cdc_lsn" not in doc and doc["source_airbyte_extracted_at"] == 5.0
    assert send(api, body("_system_table", [{"a": 1}])).status_code == 200
    assert "source_system_table" in api.dep.table_names()
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
    assert error(send(api, body("s", [big_record]))) == (400, "ValueTooLargeError")
    many = [{"blob": "y" * (1000 * 1000)} for _ in range(21)]  # ~21 MB body
    assert error(send(api, body("s", many))) == (400, "BadJsonBody")
    under = [{"blob": "y" * (900 * 1000)} for _ in range(20)]  # ~18 MB: accepted
    assert send(api, body("s", under)).status_code == 200
    deep: dict[str, Any] = {"v": 1}
    for _ in range(20):
        deep = {"d": deep}
    assert error(send(api, body("s", [deep]))) == (400, "InvalidDocumentError")
    assert error(send(api, body("s", [{"arr": list(range(8193))}]))) == (400, "ArrayTooLong")


def test_commits_every_16000_writes_so_a_later_error_keeps_earlier_writes(api: Api) -> None:
    records: list[dict[str, Any]] = [{"n": i} for i in range(16_000)]
    records += [{"n": 16_000 + i} for i in range(10)] + [{"blob": "z" * (1024 * 1024 + 1)}]
    assert error(send(api, body("s", records))) == (400, "ValueTooLargeError")
    docs = api.dep.documents("s")
    assert len(docs) == 16_000
    assert {d["n"] for d in docs} == {float(i) for i in range(16_000)}
    assert len({d["_creationTime"] for d in docs}) == 1  # one transaction, one timestamp


def test_import_is_never_refused_for_write_rate_but_app_mutations_are(api: Api) -> None:
    # The contract's Corrections: no 429 on import; its bytes fill the deployment's 1 s window, and an
    # app's mutation then fails with TooManyWrites (after the runner's retries).
    api.dep.settings.max_write_bytes_per_s = 200_000
    payload = body("bulk", [{"pad": "p" * 1500} for _ in range(200)])  # ~330 KB of write bytes per request
    for _ in range(3):
        assert send(api, payload).status_code == 200
    assert api.dep.db.write_meter.recent_bytes() > 600_000
    with ControlClient(api.dep.url, api.dep.admin_key) as control:
        status, answer = control.app_mutation("app", {"note": "from the app"})
        assert (status, answer["code"]) == (429, "TooManyWrites")
        time.sleep(1.05)  # the window moves on
        status, answer = control.app_mutation("app", {"note": "from the app"})
        assert status == 200 and answer["_id"]
    assert [d["note"] for d in api.dep.documents("app")] == ["from the app"]
    assert len(api.dep.documents("bulk")) == 600


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


def nested(levels: int) -> dict[str, Any]:
    """A document whose nesting is `levels` (the document itself counts as one level)."""
    doc: dict[str, Any] = {"v": 1}
    for _ in range(levels - 1):
        doc = {"d": doc}
    return doc


def test_name_and_shape_limits_at_their_boundaries(api: Api) -> None:
    assert send(api, body("a" * 64, [{"x": 1}])).status_code == 200
    assert "a" * 64 in api.dep.table_names()
    assert error(send(api, body("b" * 65, [{"x": 1}]))) == (500, "InternalServerError")  # no valid name exists
    assert send(api, body("s", [{"f" * 1024: 1}])).status_code == 200
    assert api.dep.documents("s")[0]["f" * 1024] == 1.0
    # Too long for a field name: renamed to source_ggg..., still too long: the backend's bare error.
    assert error(send(api, body("s", [{"g" * 1025: 1}]))) == (500, "InternalServerError")
    assert send(api, body("s", [nested(16)])).status_code == 200
    assert error(send(api, body("s", [nested(17)]))) == (400, "InvalidDocumentError")
    assert send(api, body("s", [{"arr": [[1] * 8192]}])).status_code == 200  # an array is a level too
    assert error(send(api, body("s", [{"arr": [0] * 8193}]))) == (400, "ArrayTooLong")
    # 1,024 fields per object; a document's top level also holds _id and _creationTime.
    assert send(api, body("s", [{f"k{i}": i for i in range(1022)}])).status_code == 200
    assert error(send(api, body("s", [{f"k{i}": i for i in range(1023)}]))) == (400, "TooManyFieldsError")
    assert error(send(api, body("s", [{"o": {f"k{i}": i for i in range(1025)}}]))) == (400, "TooManyFieldsError")
    assert send(api, body("s", [{"blob": "x" * (1024 * 1024 - 200)}])).status_code == 200
    assert len(api.dep.documents("s")) == 5


def test_json_schema_is_required_but_never_validated(api: Api) -> None:
    for schema in (None, "not a schema", {"type": "integer"}):
        payload = {"tables": {"s": {"primaryKey": None, "jsonSchema": schema}},
                   "messages": [{"tableName": "s", "data": {"a": "text"}}]}
        assert send(api, payload).status_code == 200
    assert len(api.dep.documents("s")) == 3
    assert error(send(api, {"tables": {"s": {"primaryKey": None}}, "messages": []})) == (400, "BadJsonBody")


def test_cdc_fields(api: Api) -> None:
    dedup_table(api, "t", [["id"]])
    pk = [["id"]]
    assert send(api, body("t", [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}, {"id": 3, "v": "c"}], pk)).status_code == 200
    assert send(api, body("t", [
        {"id": 1, "v": "a2", "_ab_cdc_deleted_at": None},  # null: not a delete, a replace
        {"id": 2, "_ab_cdc_deleted_at": False},  # any non-null value marks a delete
        {"id": 3, "source_ab_cdc_deleted_at": "2024"},  # the already-mapped name counts the same
        {"id": 4, "v": "d", "_ab_cdc_updated_at": "x", "source_ab_cdc_note": "n", "source_ab_cdcX": 1,
         "meta": {"_ab_cdc_lsn": 5}},
    ], pk)).status_code == 200
    docs = {d["id"]: d for d in api.dep.documents("t")}
    assert set(docs) == {1.0, 4.0} and docs[1.0]["v"] == "a2"
    # Every top-level source_ab_cdc* field is dropped; a nested one is ordinary data.
    assert {k for k in docs[4.0] if not k.startswith("_")} == {"id", "v", "meta"}
    assert docs[4.0]["meta"] == {"source_ab_cdc_lsn": 5.0}
    # Append ignores the flag altogether.
    assert send(api, body("events", [{"k": 1, "_ab_cdc_deleted_at": "2024"}])).status_code == 200
    assert [d["k"] for d in api.dep.documents("events")] == [1.0]


def test_commits_every_16_mib_so_a_later_error_keeps_earlier_writes(api: Api) -> None:
    big = "b" * 1_000_000  # 17 of these cross 16 MiB in Convex's size accounting; 16 do not
    records: list[dict[str, Any]] = [{"i": i, "blob": big} for i in range(18)] + [{"blob": "z" * (1024 * 1024 + 1)}]
    assert error(send(api, body("s", records))) == (400, "ValueTooLargeError")
    docs = api.dep.documents("s")
    # The 17th would cross the limit, so the first transaction commits 16; the second is discarded.
    assert sorted(d["i"] for d in docs) == [float(i) for i in range(16)]
    assert len({d["_creationTime"] for d in docs}) == 1  # one transaction


def test_clear_tables_is_all_or_nothing(api: Api) -> None:
    send(api, body("users", [{"id": 1}]))
    send(api, body("posts", [{"id": 1}]))
    assert api.put(CLEAR, {"tableNames": ["users", "x" * 70]}).status_code == 500  # no valid name for the second
    assert len(api.dep.documents("users")) == 1
    resp = api.put(CLEAR, {"tableNames": ["users", "posts", "_new"]})
    assert resp.status_code == 200 and resp.content == b""
    assert api.dep.documents("users") == [] and api.dep.documents("posts") == []
    tablets = [api.dep.db.current_tablet("", name) for name in ("users", "posts", "source_new")]
    assert len({t.created_ts for t in tablets}) == 1  # type: ignore[union-attr]  # one transaction


def test_add_primary_key_indexes_answers_empty_and_checks_every_field(api: Api) -> None:
    resp = api.put(ADD_INDEXES, {"indexes": {"t": [["a"], ["b", "c"]]}})
    assert resp.status_code == 200 and resp.content == b""
    assert api.dep.index_fields("t") == [["a"], ["b", "c"]]
    for bad in ([["1a"]], [["a"], ["b", "$c"]], [["a b"]], [["k" * 65]], [[f"k{i}"] for i in range(17)]):
        resp = api.put(ADD_INDEXES, {"indexes": {"u": bad}})
        assert error(resp) == (400, "InvalidPrimaryKey"), bad
        assert "Identifiers must start with a letter" in resp.json()["message"]
    # Application::_validate_user_defined_index_fields: its own codes; `_creationTime` is appended.
    assert error(api.put(ADD_INDEXES, {"indexes": {"u": [["_creationTime"]]}})) == (400, "IndexFieldsContainCreationTime")
    assert error(api.put(ADD_INDEXES, {"indexes": {"u": [["a", "_b"]]}})) == (400, "IndexFieldNameReserved")
    sixteen = [[f"k{i}"] for i in range(16)]
    assert error(api.put(ADD_INDEXES, {"indexes": {"u": sixteen}})) == (400, "IndexTooManyFields")
    assert api.put(ADD_INDEXES, {"indexes": {"u": sixteen[:15]}}).status_code == 200
    assert "u" in api.dep.table_names()


def test_replace_tables_answers_the_same_to_any_body(api: Api) -> None:
    url = api.dep.url + "/api/streaming_import/replace_tables"
    for kw in ({}, {"data": b"not json"}, {"json": []}, {"json": {"tableNames": {"a": "b"}}}):
        resp = api.session.post(url, timeout=10, **kw)  # type: ignore[arg-type]
        assert resp.json() == {"code": "OverwriteNotSupported",
                               "message": "Overwrite sync mode is not supported. Please use a different sync mode."}
        assert resp.status_code == 400


def test_every_json_number_is_a_float64_as_serde_json_reads_it(api: Api) -> None:
    raw = (b'{"tables":{"s":{"primaryKey":null,"jsonSchema":{}}},"messages":[{"tableName":"s","data":'
           b'{"int":-0,"float":-0.0,"big":18446744073709551616,"exp":1e308,"list":[1,2.5]}}]}')
    resp = api.session.post(api.dep.url + IMPORT, data=raw, headers={"Content-Type": "application/json"})
    assert resp.status_code == 200, resp.text
    (doc,) = api.dep.documents("s")
    assert doc["int"] == 0.0 and math.copysign(1.0, doc["int"]) == 1.0  # an integer literal: +0
    assert math.copysign(1.0, doc["float"]) == -1.0
    assert doc["big"] == 2.0**64 and doc["exp"] == 1e308 and doc["list"] == [1.0, 2.5]
    assert all(type(v) is float for v in (doc["int"], doc["big"], *doc["list"]))
    for too_big in (b"1e309", b"1" + b"0" * 400):
        resp = api.session.post(api.dep.url + IMPORT, data=raw.replace(b"1e308", too_big),
                                headers={"Content-Type": "application/json"})
        assert error(resp) == (400, "BadJsonBody")


def test_primary_key_paths_name_stored_fields_and_are_not_renamed(api: Api) -> None:
    dedup_table(api, "t", [["source_id"]])  # `_id` in the records is stored as `source_id`
    pk = [["source_id"]]
    assert send(api, body("t", [{"_id": "a", "v": 1}, {"_id": "a", "v": 2}], pk)).status_code == 200
    assert [(d["source_id"], d["v"]) for d in api.dep.documents("t")] == [("a", 2.0)]
    assert error(send(api, body("t", [{"source_source_id": "x"}], pk))) == (400, "MissingPrimaryKeyValue")
    # `_id` is not a stored name, so it is no key path: refused when indexing, and by import itself.
    assert error(api.put(ADD_INDEXES, {"indexes": {"t": [["_id"]]}})) == (400, "InvalidPrimaryKey")
    assert error(send(api, body("t", [{"_id": "a"}], [["_id"]]))) == (400, "IndexFieldsContainId")


def test_other_import_routes_limit_bodies_to_2_mib(api: Api) -> None:
    names = ["t%07d" % i for i in range(2 * 1024 * 1024 // 10)]  # ~2.2 MB of JSON
    assert error(api.put(CLEAR, {"tableNames": names})) == (400, "BadJsonBody")
    assert error(api.get(READY, json={"tables": names})) == (400, "BadJsonBody")
    assert api.dep.table_names() == []


def test_renaming_is_per_record_so_one_stream_can_store_id_under_two_names(api: Api) -> None:
    # airbyte_import.rs `valid_json`: the collision check looks only at the keys of the same object.
    assert send(api, body("s", [{"_id": "a"}, {"_id": "b", "source_id": "own"}])).status_code == 200
    docs = sorted(api.dep.documents("s"), key=lambda d: len(d))
    assert {k: v for k, v in docs[0].items() if not k.startswith("_")} == {"source_id": "a"}
    assert {k: v for k, v in docs[1].items() if not k.startswith("_")} == {"source_id": "own", "source_source_id": "b"}
    # What that does to a dedup stream keyed on the renamed `_id`: a delete carries only `_id`.
    dedup_table(api, "t", [["source_source_id"]])
    pk = [["source_source_id"]]
    assert send(api, body("t", [{"_id": "x", "source_id": "y"}], pk)).status_code == 200
    deleted = {"_id": "x", "_ab_cdc_deleted_at": "2024"}
    assert error(send(api, body("t", [deleted], pk))) == (400, "MissingPrimaryKeyValue")


def test_three_rounds_of_renaming_then_a_plain_500(api: Api) -> None:
    three = {"_id": 1, "source_id": 2, "source_source_id": 3}
    assert send(api, body("s", [three])).status_code == 200
    (doc,) = api.dep.documents("s")
    assert doc["source_source_source_id"] == 1.0
    four = {**three, "source_source_source_id": 4}
    assert error(send(api, body("s", [four]))) == (500, "InternalServerError")
    assert len(api.dep.documents("s")) == 1  # conversion fails before anything is written


def test_two_renamed_keys_reaching_one_name_collapse(api: Api) -> None:
    assert send(api, body("s", [{"$a": 1, "_a": 2, "a": 3}])).status_code == 200
    (doc,) = api.dep.documents("s")
    assert {k: v for k, v in doc.items() if not k.startswith("_")} == {"a": 3.0, "source_a": 2.0}


def test_a_fault_after_the_first_commit_leaves_16000_rows(api: Api) -> None:
    # One request is several transactions: a failure after the first commit (an OCC 503, a timeout)
    # keeps what was committed, so retrying an append request duplicates those rows.
    api.dep.faults.inject(route="import_airbyte_records", kind="503", when="partial", count=1)
    payload = body("events", [{"n": i} for i in range(20_000)])
    assert error(send(api, payload)) == (503, "ServiceUnavailable")
    assert len(api.dep.documents("events")) == 16_000
    assert send(api, payload).status_code == 200  # the blind retry
    assert len(api.dep.documents("events")) == 36_000
    api.dep.faults.inject(route="import_airbyte_records", kind="408", when="partial", count=1)
    resp = send(api, payload)
    assert resp.status_code == 408 and resp.content == b""  # the HTTP layer's bare timeout


def test_a_request_of_16000_appends_is_one_transaction(api: Api) -> None:
    api.dep.faults.inject(route="import_airbyte_records", kind="503", when="partial", count=1)
    assert send(api, body("events", [{"n": i} for i in range(16_000)])).status_code == 200
    docs = api.dep.documents("events")
    assert len(docs) == 16_000 and len({d["_creationTime"] for d in docs}) == 1


def test_dedup_commits_every_4096_lookups(api: Api) -> None:
    dedup_table(api, "users", [["id"]])
    assert send(api, body("users", [{"id": i} for i in range(5000)], [["id"]])).status_code == 200
    times = sorted({d["_creationTime"] for d in api.dep.documents("users")})
    assert len(times) == 2
    assert sum(1 for d in api.dep.documents("users") if d["_creationTime"] == times[0]) == 4096


def test_document_size_is_convex_size_not_json_bytes(api: Api) -> None:
    # A number counts 9 bytes and null 1 (crates/value/src/lib.rs), whatever its JSON text.
    numbers = {"n": [1] * 8000}  # 16 KB of JSON, 72 KB in Convex's accounting
    per_doc = 2 + 2 + 8000 * 9
    docs = [numbers] * 16
    assert send(api, body("s", docs)).status_code == 200
    too_big = {f"k{i}": [1] * 8000 for i in range(15)}  # ~1.03 MiB in Convex's accounting, 240 KB of JSON
    assert error(send(api, body("s", [too_big]))) == (400, "ValueTooLargeError")
    assert per_doc * 15 > 1 << 20
