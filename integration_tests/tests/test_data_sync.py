"""The data sync API as the backend serves it (crates/local_backend/src/streaming_export.rs,
crates/streaming_export/src/lib.rs, crates/table_iteration/src/data_sync.rs)."""

from __future__ import annotations

from typing import Any

import pytest
from .conftest import Api

DAY = 86_400 * 10**9


def _sync(api: Api, cursor: str | None = None, **body: Any) -> dict[str, Any]:
    resp = api.post("/api/v1/data/sync", {"cursor": cursor, **body} if cursor else body,
                    headers={"Convex-Client": "airbyte-export-1.1.0"})
    assert resp.status_code == 200, resp.text
    return resp.json()


def _until_up_to_date(api: Api, cursor: str | None = None, **body: Any) -> tuple[list[dict], str]:
    pages = []
    while True:
        page = _sync(api, cursor, **body)
        pages.append(page)
        cursor = page["pagination"]["nextCursor"]
        if page["status"]["type"] == "upToDate":
            return pages, cursor


def test_cold_start_truncates_each_table_once_and_reaches_up_to_date(api: Api) -> None:
    dep = api.dep
    dep.settings.data_sync_page_size = 3
    dep.generate("users", 5, seed=1)
    dep.insert("posts", {"n": 2**40})
    pages, _ = _until_up_to_date(api)
    first = pages[0]
    assert list(first) == ["status", "truncates", "values", "syncId", "pagination"]
    assert first["syncId"].startswith("airbyte-")
    assert first["status"] == {"type": "snapshotting"}
    assert first["pagination"]["hasMore"] is True
    truncated = [t["table"] for p in pages for t in p["truncates"]]
    assert sorted(truncated) == ["posts", "users"]
    values = [v for p in pages for v in p["values"]]
    assert sorted(v["table"] for v in values) == ["posts"] + ["users"] * 5
    post = next(v for v in values if v["table"] == "posts")
    assert list(post) == ["component", "table", "ts", "deleted", "value"]
    assert post["value"]["n"] == 2**40  # export_json: int64 as a bare integer
    assert pages[-1]["status"]["snapshotTs"] >= max(v["ts"] for v in values)


def test_changes_deletes_and_a_cleared_table(api: Api) -> None:
    dep = api.dep
    doc = dep.insert("users", {"name": "a"})
    dep.insert("users", {"name": "b"})
    _, cursor = _until_up_to_date(api)
    with dep.transaction() as tx:
        tx.delete(doc)
    pages, cursor = _until_up_to_date(api, cursor)
    values = [v for p in pages for v in p["values"]]
    assert values == [{"component": "", "table": "users", "ts": values[0]["ts"], "deleted": True,
                       "value": {"_id": doc}}]
    assert all(not p["truncates"] for p in pages)
    dep.clear_table("users")
    dep.insert("users", {"name": "c"})
    pages, _ = _until_up_to_date(api, cursor)
    assert [t for p in pages for t in p["truncates"]] == [{"component": "", "table": "users"}]
    assert [v["value"]["name"] for p in pages for v in p["values"]] == ["c"]


def test_cursor_from_deltas_and_errors(api: Api) -> None:
    dep = api.dep
    dep.insert("users", {"name": "a"})
    now = api.get("/api/list_snapshot").json()["snapshot"]  # a document_deltas position
    dep.insert("users", {"name": "b"})
    converted = api.post("/api/data_sync_cursor_from_deltas", {"cursor": now})
    assert converted.status_code == 200 and list(converted.json()) == ["cursor"]
    pages, _ = _until_up_to_date(api, converted.json()["cursor"])
    assert [v["value"]["name"] for p in pages for v in p["values"]] == ["b"]  # only what followed the position
    assert all(not p["truncates"] for p in pages)

    def error(resp):  # noqa: ANN001, ANN202
        return resp.status_code, resp.json()["code"]
    assert error(api.post("/api/v1/data/sync", {"cursor": "forged"})) == (400, "InvalidDataSyncCursor")
    assert error(api.post("/api/data_sync_cursor_from_deltas", {"cursor": now + 10 * DAY})) == (
        400, "InvalidDataSyncCursor")
    dep.clock.advance(15 * DAY)
    assert error(api.post("/api/data_sync_cursor_from_deltas", {"cursor": now})) == (400, "DataSyncCursorExpired")
    assert error(api.post("/api/v1/data/sync", {"cursor": converted.json()["cursor"]})) == (
        400, "DataSyncCursorExpired")
    syncs = api.get("/api/v1/data/list_active_syncs").json()
    assert syncs["pagination"] == {"hasMore": False} and syncs["syncs"] == []  # 3 days without a page
    assert error(api.get("/api/v1/data/list_active_syncs", {"limit": 101})) == (400, "LimitOutOfRange")


def test_active_syncs_and_plan_gate(api: Api) -> None:
    dep = api.dep
    dep.insert("users", {"name": "a"})
    _, _ = _until_up_to_date(api)
    syncs = api.get("/api/v1/data/list_active_syncs").json()["syncs"]
    assert len(syncs) == 1 and syncs[0]["status"]["type"] == "upToDate"
    assert set(syncs[0]) == {"syncId", "lastUpdated", "status"}
    dep.settings.streaming_export_enabled = False
    assert api.post("/api/v1/data/sync", {}).json()["code"] == "StreamingExportNotEnabled"


@pytest.mark.parametrize("route", ["/api/v1/data/sync", "/api/data_sync_cursor_from_deltas"])
def test_older_backends_have_no_such_route(api: Api, route: str) -> None:
    api.dep.settings.data_sync_api = False
    assert api.post(route, {"cursor": 1}).status_code == 404


def test_active_syncs_page_most_recent_first(api: Api) -> None:
    api.dep.insert("users", {"name": "a"})
    first = _sync(api)["syncId"]
    api.dep.clock.advance(10**9)
    second = _sync(api)["syncId"]
    page = api.get("/api/v1/data/list_active_syncs", {"limit": 1}).json()
    assert [s["syncId"] for s in page["syncs"]] == [second] and page["pagination"]["hasMore"] is True
    rest = api.get("/api/v1/data/list_active_syncs", {"limit": 1, "cursor": page["pagination"]["nextCursor"]}).json()
    assert [s["syncId"] for s in rest["syncs"]] == [first] and rest["pagination"] == {"hasMore": False}
