"""The local server's Functions API against the backend's wire format (crates/local_backend/src/public_api.rs)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from convex_local import LocalDeployment
from convex_local import function_library as lib
from convex_local.functions import ConvexError, FunctionContext


@pytest.fixture
def dep(convex_server: LocalDeployment) -> LocalDeployment:
    convex_server.generate("messages", 7, seed=3)
    convex_server.functions.query("messages:list", lib.paginated_list("messages"))
    convex_server.functions.query("messages:all", lib.list_all("messages"))
    convex_server.functions.query("secret:list", lib.list_all("messages"), internal=True)
    convex_server.functions.mutation("ingest:records", lib.IngestFunction())
    return convex_server


def _post(dep: LocalDeployment, route: str, body: Any, auth: str | None = "admin") -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if auth == "admin":
        headers["Authorization"] = f"Convex {dep.admin_key}"
    elif auth is not None:
        headers["Authorization"] = auth
    return requests.post(dep.url + route, json=body, headers=headers, timeout=10)


def test_success_body_and_pagination_protocol(dep: LocalDeployment) -> None:
    seen, cursor = [], None
    while True:
        answer = _post(dep, "/api/query", {"path": "messages:list", "format": "json",
                                           "args": {"paginationOpts": {"numItems": 3, "cursor": cursor}}})
        assert answer.status_code == 200
        body = answer.json()
        assert body["status"] == "success" and body["logLines"] == ["[LOG] 'listing messages'"]
        page = body["value"]
        assert set(page) >= {"page", "isDone", "continueCursor"}
        seen += page["page"]
        if page["isDone"]:
            break
        cursor = page["continueCursor"]
    assert len(seen) == 7
    assert [d["_creationTime"] for d in seen] == sorted(d["_creationTime"] for d in seen)


def test_a_done_cursor_is_the_end_and_sees_no_new_documents(dep: LocalDeployment) -> None:
    """isDone = the END position (isolate async_syscall.rs query_page): resuming from it returns nothing."""
    first = _post(dep, "/api/query", {"path": "messages:list", "args": {"paginationOpts": {"numItems": 100,
                                                                                           "cursor": None}}}).json()
    assert first["value"]["isDone"] is True
    dep.generate("messages", 2, seed=9)
    again = _post(dep, "/api/query", {"path": "messages:list", "args": {"paginationOpts": {
        "numItems": 100, "cursor": first["value"]["continueCursor"]}}}).json()
    assert again["value"]["page"] == [] and again["value"]["isDone"] is True


def test_a_full_page_at_the_end_is_not_done(dep: LocalDeployment) -> None:
    page = _post(dep, "/api/query", {"path": "messages:list", "args": {"paginationOpts": {"numItems": 7,
                                                                                          "cursor": None}}}).json()
    assert page["value"]["isDone"] is False and len(page["value"]["page"]) == 7


def test_error_bodies_for_missing_wrong_kind_and_internal_functions(dep: LocalDeployment) -> None:
    missing = _post(dep, "/api/query", {"path": "messages:nope", "args": {}})
    assert missing.status_code == 200
    body = missing.json()
    assert body["status"] == "error" and "errorData" not in body
    assert body["errorMessage"].endswith("Could not find public function for 'messages:nope'.")
    wrong = _post(dep, "/api/mutation", {"path": "messages:all", "args": {}}).json()
    assert "Trying to execute messages:all as Mutation, but it is defined as Query." in wrong["errorMessage"]
    # An internal function looks missing without an admin key, and runs with one.
    assert "Could not find public function" in _post(dep, "/api/query", {"path": "secret:list", "args": {}},
                                                     auth=None).json()["errorMessage"]
    assert _post(dep, "/api/query", {"path": "secret:list", "args": {}}).json()["status"] == "success"


def test_run_route_and_path_errors(dep: LocalDeployment) -> None:
    ran = _post(dep, "/api/run/messages/all", {"args": {}}, auth=None).json()
    assert ran["status"] == "success" and len(ran["value"]) == 7
    short = _post(dep, "/api/run/messages", {"args": {}}, auth=None)
    assert short.status_code == 400 and short.json()["code"] == "MissingIdentifier"
    bad = _post(dep, "/api/query", {"path": "not a path!", "args": {}})
    assert bad.status_code == 400 and bad.json()["code"] == "BadConvexFunctionIdentifier"
    no_args = _post(dep, "/api/query", {"path": "messages:all"})
    assert no_args.status_code == 400 and no_args.json()["code"] == "BadJsonBody"


def test_auth_rules(dep: LocalDeployment) -> None:
    assert _post(dep, "/api/query", {"path": "messages:all", "args": {}}, auth="Convex wrong|01ab").status_code == 401
    assert _post(dep, "/api/query", {"path": "messages:all", "args": {}}, auth="Basic abc").json()["code"] == "InvalidAdminKey"
    assert _post(dep, "/api/query", {"path": "messages:all", "args": {}}, auth="Bear").json()["code"] == "InvalidHeaderFailure"
    unknown = _post(dep, "/api/query", {"path": "messages:all", "args": {}}, auth="Bearer eyJx.eyJy.sig")
    assert unknown.status_code == 401 and unknown.json()["code"] == "Unauthenticated"
    token = dep.functions.add_user_token("ada")
    assert _post(dep, "/api/query", {"path": "messages:all", "args": {}}, auth=f"Bearer {token}").json()["status"] == "success"


def test_format_is_parsed_after_the_function_ran(dep: LocalDeployment) -> None:
    answer = _post(dep, "/api/mutation", {"path": "ingest:records", "format": "yaml", "args": {
        "stream": "t", "records": [{"k": 1}], "batchId": "b1"}})
    assert answer.status_code == 400 and answer.json()["code"] == "BadFormat"
    assert len(dep.documents("t")) == 1


def test_a_failed_mutation_commits_nothing_and_a_convex_error_carries_error_data(dep: LocalDeployment) -> None:
    def half_then_fail(ctx: FunctionContext, args: dict[str, Any]) -> None:
        ctx.insert("partial", {"n": 1.0})
        raise ConvexError({"recordIndex": 1.0, "message": "no"})

    dep.functions.mutation("ingest:fails", half_then_fail)
    body = _post(dep, "/api/mutation", {"path": "ingest:fails", "args": {}}).json()
    assert body["status"] == "error" and body["errorData"] == {"recordIndex": 1.0, "message": "no"}
    assert "Uncaught ConvexError" in body["errorMessage"]
    assert dep.documents("partial") == []


def test_write_and_argument_limits(dep: LocalDeployment) -> None:
    dep.settings.function_max_writes = 3
    records = [{"k": float(i)} for i in range(5)]
    body = _post(dep, "/api/mutation", {"path": "ingest:records", "args": {
        "stream": "t", "records": records, "batchId": "b2", "primaryKey": [["k"]]}}).json()
    assert "Too many writes in a single function execution (limit: 3)" in body["errorMessage"]
    assert dep.documents("t") == []
    dep.settings.function_max_args_bytes = 100
    body = _post(dep, "/api/mutation", {"path": "ingest:records", "args": {"stream": "t", "records": records * 5,
                                                                          "batchId": "b3"}}).json()
    assert "are too large" in body["errorMessage"]


def test_ingest_is_idempotent_by_batch_id_and_deletes_by_key(dep: LocalDeployment) -> None:
    args = {"stream": "people", "batchId": "b1", "primaryKey": [["id"]],
            "records": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}
    assert _post(dep, "/api/mutation", {"path": "ingest:records", "args": args}).json()["value"]["inserted"] == 2.0
    assert _post(dep, "/api/mutation", {"path": "ingest:records", "args": args}).json()["value"]["skipped"] is True
    args = {**args, "batchId": "b2", "records": [{"id": 1, "_ab_cdc_deleted_at": "2026-01-01"}, {"id": 2, "name": "c"}]}
    assert _post(dep, "/api/mutation", {"path": "ingest:records", "args": args}).json()["value"]["deleted"] == 1.0
    assert [(d["id"], d["name"]) for d in dep.documents("people")] == [(2.0, "c")]


def test_http_action_routes(dep: LocalDeployment) -> None:
    dep.functions.http_action("POST", "/ingest", lib.ingest_http_action(lib.IngestFunction(), "s3cret"))
    ok = requests.post(dep.url + "/http/ingest", json={"stream": "h", "batchId": "x", "records": [{"a": 1}]},
                       headers={"Authorization": "Bearer s3cret"}, timeout=10)
    assert ok.status_code == 200 and ok.json()["inserted"] == 1.0
    assert requests.post(dep.url + "/http/ingest", json={}, timeout=10).status_code == 401
    assert requests.post(dep.url + "/http/nothing", json={}, timeout=10).status_code == 404

    def throws(ctx: FunctionContext, body: Any) -> tuple[int, Any]:
        raise ConvexError({"recordIndex": 0.0})

    dep.functions.http_action("POST", "/throws", throws)
    failed = requests.post(dep.url + "/http/throws", json={}, timeout=10)
    assert failed.status_code == 500
    assert failed.json()["code"].startswith("[Request ID: ") and failed.json()["data"] == {"recordIndex": 0.0}


def test_an_admin_key_may_act_as_a_user(dep: LocalDeployment) -> None:
    """`Convex <key>:<base64 identity>` (authentication.rs extract_admin_key): internal functions still
    run, and the function sees the user."""
    import base64
    import json

    dep.insert("notes", {"author": "ada"})
    dep.insert("notes", {"author": "bob"})
    dep.functions.query("notes:mine", lib.paginated_list("notes", owner_field="author"))
    acting = base64.b64encode(json.dumps({"subject": "bob", "issuer": "https://auth.example"}).encode()).decode()
    body = _post(dep, "/api/query", {"path": "notes:mine", "args": {"paginationOpts": {"numItems": 10, "cursor": None}}},
                 auth=f"Convex {dep.admin_key}:{acting}").json()
    assert [d["author"] for d in body["value"]["page"]] == ["bob"]
    bad = _post(dep, "/api/query", {"path": "notes:mine", "args": {}}, auth=f"Convex {dep.admin_key}:%%%")
    assert bad.status_code == 400 and bad.json()["code"] == "HeaderParseFailure"
