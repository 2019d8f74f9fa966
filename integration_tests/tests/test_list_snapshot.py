"""list_snapshot: paging, table order, cursors, pinned snapshots, age limits, selection, formats."""

from __future__ import annotations

import json
import math

from convex_local import LocalDeployment
from convex_local.settings import NS_PER_DAY

from .conftest import Api, all_snapshot_pages, error


def test_empty_deployment(api: Api) -> None:
    page = api.get("/api/list_snapshot").json()
    assert page["values"] == [] and page["cursor"] is None and page["hasMore"] is False
    assert isinstance(page["snapshot"], int) and page["snapshot"] > 0
    assert list(page) == ["values", "snapshot", "cursor", "hasMore"]


def test_pages_of_1024_never_span_two_tables(api: Api) -> None:
    dep = api.dep
    dep.generate("big", 2100, seed=1)
    dep.create_table("empty")
    dep.generate("small", 3, seed=2)
    pages = all_snapshot_pages(api)
    tablets = sorted(t.tablet for t in dep.db.tablets_at(dep.db.read_ts()))
    by_table = [{v["_table"] for v in p["values"]} for p in pages]
    assert all(len(tables) <= 1 for tables in by_table)
    assert [len(p["values"]) for p in pages if p["values"] and p["values"][0]["_table"] == "big"] == [1024, 1024, 52]
    empty_pages = [p for p in pages if not p["values"]]
    assert len(empty_pages) == 1 and (empty_pages[0]["hasMore"] is True or empty_pages[0] is pages[-1])
    assert pages[-1]["hasMore"] is False and pages[-1]["cursor"] is None
    assert all(p["hasMore"] for p in pages[:-1])
    # Tables come in tablet-id order, not by name.
    order = []
    for p, tables in zip(pages, by_table):
        if p["hasMore"] and p["cursor"]:
            order.append(json.loads(p["cursor"])["tablet"])
    seen = list(dict.fromkeys(order))
    assert seen == [t for t in tablets if t in seen]
    # Inside a table, documents come by id; every document exactly once.
    big_ids = [v["_id"] for p in pages for v in p["values"] if v["_table"] == "big"]
    assert big_ids == sorted(big_ids) and len(set(big_ids)) == 2100
    assert len({v["_snapshot"] if "_snapshot" in v else p["snapshot"] for p in pages for v in p["values"]}) == 1


def test_empty_table_that_is_not_last_gives_an_empty_page_with_has_more(convex_server_factory) -> None:
    # Try seeds until the empty table's tablet id sorts first, to pin down the page shape.
    for seed in range(50):
        dep: LocalDeployment = convex_server_factory(seed=seed)
        dep.create_table("empty")
        dep.insert("full", {"a": 1.0})
        tablets = dep.db.tablets_at(dep.db.read_ts())
        if tablets[0].name == "empty":
            break
    api = Api(dep, dep.admin_key)
    first = api.get("/api/list_snapshot").json()
    assert first["values"] == [] and first["hasMore"] is True
    assert json.loads(first["cursor"])["tablet"] == tablets[1].tablet
    second = api.get("/api/list_snapshot", {"snapshot": first["snapshot"], "cursor": first["cursor"]}).json()
    assert len(second["values"]) == 1 and second["hasMore"] is False and second["cursor"] is None


def test_value_shape(api: Api) -> None:
    doc_id = api.dep.insert("users", {"name": "a", "n": 7}, component="")
    page = api.get("/api/list_snapshot").json()
    (value,) = page["values"]
    assert list(value)[:3] == ["_component", "_table", "_ts"]
    assert value["_component"] == "" and value["_table"] == "users" and value["_id"] == doc_id
    assert isinstance(value["_ts"], int) and isinstance(value["_creationTime"], float)
    assert value["n"] == "7" and "_deleted" not in value
    assert abs(value["_creationTime"] - value["_ts"] / 1e6) < 1
    assert 31 <= len(doc_id) <= 37 and set(doc_id) <= set("0123456789abcdefghjkmnpqrstvwxyz")


def test_snapshot_is_pinned_across_pages(api: Api) -> None:
    dep = api.dep
    ids = dep.generate("t", 1500, seed=3)
    first = api.get("/api/list_snapshot").json()
    with dep.transaction() as tx:
        tx.patch(ids[-1], {"plan": "changed"})
        tx.delete(ids[-2])
        tx.insert("t", {"late": True})
    rest = all_snapshot_pages(api, snapshot=first["snapshot"], cursor=first["cursor"])
    docs = {v["_id"]: v for p in [first, *rest] for v in p["values"]}
    assert len(docs) == 1500 and ids[-2] in docs
    assert docs[ids[-1]]["plan"] != "changed"
    assert all(v["_ts"] <= first["snapshot"] for v in docs.values())
    now = api.get("/api/list_snapshot", {"tableName": "t"}).json()
    assert now["snapshot"] > first["snapshot"]


def test_ts_is_the_latest_revision_at_or_before_the_snapshot(api: Api) -> None:
    dep = api.dep
    doc_id = dep.insert("t", {"v": 1.0})
    snap1 = api.get("/api/list_snapshot").json()
    with dep.transaction() as tx:
        tx.replace(doc_id, {"v": 2.0})
    snap2 = api.get("/api/list_snapshot").json()
    assert snap1["values"][0]["v"] == 1.0 and snap2["values"][0]["v"] == 2.0
    assert snap2["values"][0]["_ts"] > snap1["values"][0]["_ts"]
    again = api.get("/api/list_snapshot", {"snapshot": snap1["snapshot"]}).json()
    assert again["values"] == snap1["values"]


def test_snapshot_age_limits(api: Api) -> None:
    dep = api.dep
    dep.insert("t", {"a": 1.0})
    old = api.get("/api/list_snapshot").json()["snapshot"]
    dep.clock.set(old + 5 * NS_PER_DAY - 10**9)
    assert api.get("/api/list_snapshot", {"snapshot": old}).status_code == 200
    dep.clock.advance(2 * 10**9)
    resp = api.get("/api/list_snapshot", {"snapshot": old})
    assert error(resp) == (400, "SnapshotTooOld")
    assert resp.json()["message"] == f"Snapshot value {old} is too far in the past."
    future = dep.clock.now_ns() + 3600 * 10**9
    assert error(api.get("/api/list_snapshot", {"snapshot": future})) == (400, "SnapshotTooNew")


def test_bad_cursor(api: Api) -> None:
    for cursor in ("nope", '{"tablet": "x"}', '{"tablet":"aaaaaaaaaaaaaaaaaaaaaa","id":"bad"}'):
        assert error(api.get("/api/list_snapshot", {"cursor": cursor})) == (400, "InvalidListSnapshotCursor")


def test_table_selection(api: Api) -> None:
    dep = api.dep
    dep.insert("users", {"a": 1.0})
    dep.insert("posts", {"b": 1.0})
    dep.insert("users", {"c": 1.0}, component="waitlist")
    def tables(**params):  # noqa: ANN001, ANN202
        return sorted((v["_component"], v["_table"]) for p in all_snapshot_pages(api, **params) for v in p["values"])
    assert tables(tableName="users") == [("", "users")]
    assert tables(table_name="users") == [("", "users")]
    assert tables(tableName="users", component="waitlist") == [("waitlist", "users")]
    assert tables(component="waitlist") == [("waitlist", "users")]
    assert tables(tableName="unknown") == []
    assert len(tables()) == 3
    dep.settings.ignore_table_name = True
    assert len(tables(tableName="users")) == 3  # older backends read only table_name
    assert tables(table_name="users") == [("", "users")]


def test_table_parameter_eras(api: Api) -> None:
    """Corrections: 2025-07-01..08-14 read only tableName, then only table_name until 2026-03-16, then both;
    both spellings at once make current backends select every table (untagged enum)."""
    dep = api.dep
    dep.insert("users", {"a": 1.0})
    dep.insert("posts", {"b": 1.0})

    def tables(**params):  # noqa: ANN001, ANN202
        return sorted(v["_table"] for p in all_snapshot_pages(api, **params) for v in p["values"])
    assert tables(table_name="users", tableName="users") == ["posts", "users"]
    dep.settings.table_parameter = "tableName"
    assert tables(table_name="users") == ["posts", "users"]
    assert tables(tableName="users") == ["users"]
    dep.settings.table_parameter = "table_name"
    assert tables(tableName="users") == ["posts", "users"]
    assert tables(table_name="users", tableName="posts") == ["users"]


def test_post_selection_object_and_columns(api: Api) -> None:
    dep = api.dep
    dep.insert("users", {"name": "a", "secret": "s"})
    dep.insert("posts", {"b": 1.0})
    dep.insert("other", {"c": 1.0}, component="comp")
    selection = {
        "_other": "excluded",
        "": {"_other": "included", "posts": "excluded", "users": {"_other": "included", "secret": "excluded"}},
    }
    resp = api.post("/api/list_snapshot", {"selection": selection})
    pages = [resp.json()]
    while pages[-1]["hasMore"]:
        pages.append(api.post("/api/list_snapshot", {"selection": selection, "snapshot": pages[-1]["snapshot"],
                                                     "cursor": pages[-1]["cursor"]}).json())
    values = [v for p in pages for v in p["values"]]
    assert [(v["_table"], "secret" in v, v["name"]) for v in values] == [("users", False, "a")]
    bad = {"_other": "included", "": {"_other": "included", "users": {"_other": "included", "_id": "excluded"}}}
    assert api.post("/api/list_snapshot", {"selection": bad}).status_code == 500
    assert error(api.post("/api/list_snapshot", {"selection": {"": "excluded"}})) == (400, "BadJsonBody")


def test_formats(api: Api) -> None:
    api.dep.insert("t", {"i": 5, "f": 2.5, "nan": math.nan, "z": -0.0, "b": b"\x00\x10\x83", "arr": [1]})
    def value(fmt: str) -> dict:
        return api.get("/api/list_snapshot", {"format": fmt}).json()["values"][0]
    clean = value("json")
    assert clean["i"] == "5" and clean["nan"] == "NaN" and clean["b"] == "ABCD" and clean["arr"] == ["1"]
    assert value("convex_clean_json") == clean
    enc = value("convex_encoded_json")
    assert enc["i"] == {"$integer": "BQAAAAAAAAA="} and enc["z"] == {"$float": "AAAAAAAAAIA="}
    assert enc["b"] == {"$bytes": "ABCD"} and enc["f"] == 2.5
    assert value("convex_json") == enc
    exp = api.get("/api/list_snapshot", {"format": "export_json"})
    assert '"i":5,' in exp.text and '"z":-0.0' in exp.text
    assert exp.json()["values"][0]["nan"] == {"$float": "AAAAAAAA+H8="}
    assert error(api.get("/api/list_snapshot", {"format": "csv"})) == (400, "BadFormat")


def test_a_table_of_exactly_one_page_then_one_more_document(api: Api) -> None:
    dep = api.dep
    dep.generate("t", 1024, seed=4)
    (page,) = all_snapshot_pages(api)
    assert len(page["values"]) == 1024 and page["hasMore"] is False and page["cursor"] is None
    dep.insert("t", {"one": "more"})
    first, second = all_snapshot_pages(api)
    assert len(first["values"]) == 1024 and first["hasMore"] is True
    assert json.loads(first["cursor"]) == {"tablet": dep.db.current_tablet("", "t").tablet,  # type: ignore[union-attr]
                                           "id": first["values"][-1]["_id"]}
    assert len(second["values"]) == 1 and second["hasMore"] is False and second["cursor"] is None


def test_selection_grammar(api: Api) -> None:
    dep = api.dep
    dep.insert("users", {"name": "a", "email": "e", "age": 3.0})
    dep.insert("posts", {"b": 1.0})
    dep.insert("other", {"c": 1.0}, component="comp")

    def values(selection: dict) -> list[dict]:
        resp = api.post("/api/list_snapshot", {"selection": selection})
        assert resp.status_code == 200, resp.text
        pages = [resp.json()]
        while pages[-1]["hasMore"]:
            pages.append(api.post("/api/list_snapshot", {"selection": selection, "snapshot": pages[-1]["snapshot"],
                                                         "cursor": pages[-1]["cursor"]}).json())
        return [v for p in pages for v in p["values"]]

    only_columns = {"_other": "excluded", "": {"_other": "excluded",
                    "users": {"_other": "excluded", "_id": "included", "name": "included"}}}
    (user,) = values(only_columns)
    assert set(user) == {"_component", "_table", "_ts", "_id", "name"}
    everything_but = {"_other": "included", "comp": "excluded", "": {"_other": "included", "posts": "excluded"}}
    assert [v["_table"] for v in values(everything_but)] == ["users"]
    assert {v["_table"] for v in values({"_other": "excluded", "comp": {"_other": "included"}})} == {"other"}
    # A component or table is "excluded" or an object: a bare "included" is not part of the grammar.
    for bad in ({"_other": "excluded", "comp": "included"},
                {"_other": "excluded", "": {"_other": "excluded", "users": "included"}},
                {"_other": "maybe"}, {"": {"_other": "included"}}):
        assert error(api.post("/api/list_snapshot", {"selection": bad})) == (400, "BadJsonBody"), bad
    # `_id` left out by `_other: excluded` is excluded too: an error, as when excluded by name.
    no_id = {"_other": "excluded", "": {"_other": "excluded", "users": {"_other": "excluded", "name": "included"}}}
    assert api.post("/api/list_snapshot", {"selection": no_id}).status_code == 500
    assert api.post("/api/document_deltas", {"cursor": 0, "selection": no_id}).status_code == 500


def test_system_tables_are_never_exported(api: Api) -> None:
    dep = api.dep
    cursor = api.get("/api/list_snapshot").json()["snapshot"]
    dep.insert("_scheduled_functions", {"name": "job"})
    dep.insert("users", {"name": "a"})
    pages = all_snapshot_pages(api)
    assert [v["_table"] for p in pages for v in p["values"]] == ["users"]
    assert all_snapshot_pages(api, tableName="_scheduled_functions")[0]["values"] == []
    deltas = api.get("/api/document_deltas", {"cursor": cursor}).json()
    assert [v["_table"] for v in deltas["values"]] == ["users"]
    assert set(api.get("/api/json_schemas").json()) == {"users"}
    columns = api.get("/api/get_table_column_names").json()["byComponent"][""]
    assert [t["name"] for t in columns] == ["users"]
