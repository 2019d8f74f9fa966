"""document_deltas: exclusive cursor, 128-row reads, whole transactions, deletes, retention."""

from __future__ import annotations

from typing import Any

from convex_local.settings import NS_PER_DAY

from .conftest import Api, error


def deltas(api: Api, cursor: int, **params: Any) -> dict[str, Any]:
    resp = api.get("/api/document_deltas", {"cursor": cursor, **params})
    assert resp.status_code == 200, resp.text
    return resp.json()


def all_deltas(api: Api, cursor: int, **params: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    pages = [deltas(api, cursor, **params)]
    while pages[-1]["hasMore"]:
        assert pages[-1]["cursor"] > cursor
        cursor = pages[-1]["cursor"]
        pages.append(deltas(api, cursor, **params))
    return [v for p in pages for v in p["values"]], pages


def start(api: Api) -> int:
    return api.get("/api/list_snapshot").json()["snapshot"]


def test_insert_update_delete_shapes_and_order(api: Api) -> None:
    dep = api.dep
    cursor = start(api)
    a = dep.insert("posts", {"title": "a"})
    with dep.transaction() as tx:
        tx.patch(a, {"title": "b"})
        b = tx.insert("posts", {"title": "c"})
    with dep.transaction() as tx:
        tx.delete(a)
    values, pages = all_deltas(api, cursor)
    assert [v["_id"] for v in values] == [a, *sorted([a, b]), a]
    ins = values[0]
    assert list(ins)[:4] == ["_component", "_table", "_ts", "_deleted"]
    assert ins["_deleted"] is False and ins["title"] == "a" and "_creationTime" in ins
    dele = values[-1]
    assert dele == {"_component": "", "_table": "posts", "_ts": dele["_ts"], "_deleted": True, "_id": a}
    assert [v["_ts"] for v in values] == sorted(v["_ts"] for v in values)
    assert pages[-1]["hasMore"] is False


def test_cursor_is_exclusive_and_advances_to_now(api: Api) -> None:
    dep = api.dep
    cursor = start(api)
    dep.insert("t", {"x": 1.0})
    page = deltas(api, cursor)
    assert len(page["values"]) == 1 and page["hasMore"] is False
    ts = page["values"][0]["_ts"]
    assert page["cursor"] >= ts
    assert deltas(api, ts)["values"] == []
    assert len(deltas(api, ts - 1)["values"]) == 1
    dep.clock.set(dep.clock.now_ns() + 10**9)
    empty = deltas(api, page["cursor"])
    assert empty["values"] == [] and empty["cursor"] > page["cursor"] and empty["hasMore"] is False
    dep.insert("t", {"x": 2.0})  # a commit after a cursor was handed out lands after it
    assert len(deltas(api, empty["cursor"])["values"]) == 1


def test_at_most_128_rows_read_but_never_a_split_transaction(api: Api) -> None:
    dep = api.dep
    cursor = start(api)
    for i in range(300):
        dep.insert("t", {"i": float(i)})
    first = deltas(api, cursor)
    assert len(first["values"]) == 128 and first["hasMore"] is True
    assert first["cursor"] == first["values"][-1]["_ts"]
    values, _ = all_deltas(api, cursor)
    assert len(values) == 300
    big_cursor = start(api)
    dep.generate("g", 500, seed=1)  # one transaction of 500 rows
    page = deltas(api, big_cursor)
    assert len(page["values"]) == 500 and page["hasMore"] is False
    assert len({v["_ts"] for v in page["values"]}) == 1


def test_rows_of_unselected_tables_count_toward_the_read_limit(api: Api) -> None:
    dep = api.dep
    cursor = start(api)
    for i in range(200):
        dep.insert("noise", {"i": float(i)})
    dep.insert("wanted", {"w": True})
    first = deltas(api, cursor, tableName="wanted")
    assert first["values"] == [] and first["hasMore"] is True
    values, pages = all_deltas(api, cursor, tableName="wanted")
    assert [v["_table"] for v in values] == ["wanted"] and len(pages) == 2
    component_only, _ = all_deltas(api, cursor, component="")
    assert len(component_only) == 201
    dep.settings.ignore_table_name = True
    everything, _ = all_deltas(api, cursor, tableName="wanted")
    assert len(everything) == 201


def test_post_with_selection(api: Api) -> None:
    dep = api.dep
    cursor = start(api)
    dep.insert("users", {"name": "a", "secret": "x"})
    body = {"cursor": cursor, "selection": {"_other": "included", "": {"_other": "included",
            "users": {"_other": "included", "secret": "excluded"}}}}
    resp = api.post("/api/document_deltas", body)
    (value,) = resp.json()["values"]
    assert value["name"] == "a" and "secret" not in value


def test_cleared_and_deleted_tables_are_skipped(api: Api) -> None:
    dep = api.dep
    cursor = start(api)
    dep.insert("gone", {"a": 1.0})
    dep.insert("cleared", {"a": 1.0})
    dep.insert("kept", {"a": 1.0})
    dep.delete_table("gone")
    assert api.put("/api/streaming_import/clear_tables", {"tableNames": ["cleared"]}).status_code == 200
    dep.insert("cleared", {"after": True})
    values, _ = all_deltas(api, cursor)
    assert [(v["_table"], v["_deleted"]) for v in values] == [("kept", False), ("cleared", False)]
    assert values[1]["after"] is True


def test_retention_window_and_required_cursor(api: Api) -> None:
    dep = api.dep
    cursor = start(api)
    dep.clock.set(cursor + 14 * NS_PER_DAY - 10**9)
    assert api.get("/api/document_deltas", {"cursor": cursor}).status_code == 200
    dep.clock.advance(2 * 10**9)
    resp = api.get("/api/document_deltas", {"cursor": cursor})
    assert error(resp) == (400, "InvalidWindowToReadDocuments")
    assert "retention window" in resp.json()["message"] and "full sync" in resp.json()["message"]
    assert error(api.get("/api/document_deltas")) == (400, "DocumentDeltasCursorRequired")
    assert error(api.post("/api/document_deltas", {})) == (400, "DocumentDeltasCursorRequired")


def test_formats_apply_to_deltas(api: Api) -> None:
    cursor = start(api)
    api.dep.insert("t", {"i": 3, "b": b"\x01"})
    clean = deltas(api, cursor)["values"][0]
    enc = deltas(api, cursor, format="convex_encoded_json")["values"][0]
    assert clean["i"] == "3" and enc["i"] == {"$integer": "AwAAAAAAAAA="} and enc["b"] == {"$bytes": "AQ=="}


def test_wire_order_of_a_page_and_of_a_delete(api: Api) -> None:
    dep = api.dep
    cursor = start(api)
    doc = dep.insert("posts", {"title": "a"})
    with dep.transaction() as tx:
        tx.delete(doc)
    resp = api.get("/api/document_deltas", {"cursor": cursor})
    page = resp.json()
    assert list(page) == ["values", "cursor", "hasMore"]
    insert, delete = page["values"]
    assert list(insert) == ["_component", "_table", "_ts", "_deleted", "_creationTime", "_id", "title"]
    assert list(delete) == ["_component", "_table", "_ts", "_deleted", "_id"]
    assert delete == {"_component": "", "_table": "posts", "_ts": delete["_ts"], "_deleted": True, "_id": doc}
    assert delete["_ts"] > insert["_ts"]


def test_every_revision_in_ts_then_id_order(api: Api) -> None:
    dep = api.dep
    cursor = start(api)
    doc = dep.insert("t", {"v": 1.0})
    for v in (2.0, 3.0):
        with dep.transaction() as tx:
            tx.patch(doc, {"v": v})
    with dep.transaction() as tx:
        ids = [tx.insert("t", {"v": 10.0 + i}) for i in range(5)]
        tx.patch(doc, {"v": 4.0})
    values, _ = all_deltas(api, cursor)
    assert [v["v"] for v in values[:3]] == [1.0, 2.0, 3.0]  # not collapsed to the latest revision
    last = values[3:]
    assert [v["_id"] for v in last] == sorted([*ids, doc]) and len({v["_ts"] for v in last}) == 1


def test_table_name_alias_component_and_unknown_table(api: Api) -> None:
    dep = api.dep
    cursor = start(api)
    dep.insert("users", {"a": 1.0})
    dep.insert("users", {"a": 2.0}, component="waitlist")
    assert [v["a"] for v in all_deltas(api, cursor, table_name="users")[0]] == [1.0]
    assert [v["a"] for v in all_deltas(api, cursor, tableName="users", component="waitlist")[0]] == [2.0]
    unknown, pages = all_deltas(api, cursor, tableName="nope")
    assert unknown == [] and pages[-1]["hasMore"] is False and pages[-1]["cursor"] >= cursor
