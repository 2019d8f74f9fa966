"""Auth and the rules every route shares: keys, error shapes and codes, bodies, headers."""

from __future__ import annotations

import pytest
import requests

from convex_local import LocalDeployment

from .conftest import Api, error

EXPORT_GETS = [
    "/api/test_streaming_export_connection",
    "/api/json_schemas",
    "/api/list_snapshot",
    "/api/get_table_column_names",
]


def test_admin_key_shape_and_version_route(convex_server: LocalDeployment) -> None:
    assert convex_server.admin_key.startswith("convex-self-hosted|")
    assert len(convex_server.admin_key.split("|")[1]) >= 40
    assert convex_server.read_only_key != convex_server.admin_key
    resp = requests.get(convex_server.url + "/version", timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/plain")
    assert convex_server.admin_key not in repr(convex_server)


def test_test_connection_answers_null(api: Api) -> None:
    resp = api.get("/api/test_streaming_export_connection")
    assert resp.status_code == 200 and resp.text == "null"


@pytest.mark.parametrize("route", EXPORT_GETS)
def test_missing_key_is_403_bad_deploy_key(convex_server: LocalDeployment, route: str) -> None:
    resp = requests.get(convex_server.url + route, timeout=10)
    assert error(resp) == (403, "BadDeployKey")
    assert "Double check that the environment" in resp.json()["message"]


def test_wrong_key_is_401_bad_admin_key(convex_server: LocalDeployment) -> None:
    api = Api(convex_server, "convex-self-hosted|01" + "ab" * 40)
    resp = api.get("/api/list_snapshot")
    assert error(resp) == (401, "BadAdminKey")
    assert resp.json()["message"] == "The provided admin key was invalid for this instance"


def test_key_forms_the_backend_accepts(convex_server: LocalDeployment) -> None:
    key = convex_server.admin_key
    s = requests.Session()
    for header in (f"Convex {key}", f"convex {key}", f"CONVEX {key}", f"Convex prod:{key}"):
        resp = s.get(convex_server.url + "/api/test_streaming_export_connection", headers={"Authorization": header})
        assert resp.status_code == 200, header
    resp = s.get(convex_server.url + "/api/test_streaming_export_connection", params={"adminKey": key})
    assert resp.status_code == 200
    # The query parameter never reaches the request log.
    assert all("adminKey" not in e.params for e in convex_server.request_log)


def test_header_shapes_rejected(convex_server: LocalDeployment) -> None:
    url = convex_server.url + "/api/list_snapshot"
    cases = {
        "Conv": (400, "InvalidHeaderFailure"),
        "Basic dXNlcjpwYXNz": (400, "InvalidAdminKey"),
        "Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc": (403, "BadDeployKey"),
    }
    for header, expected in cases.items():
        assert error(requests.get(url, headers={"Authorization": header}, timeout=10)) == expected, header


def test_read_only_key_exports_but_cannot_import(ro_api: Api) -> None:
    assert ro_api.get("/api/list_snapshot").status_code == 200
    resp = ro_api.post(
        "/api/streaming_import/import_airbyte_records", {"tables": {}, "messages": []}
    )
    assert error(resp) == (403, "OperationNotPermitted")
    assert resp.json()["message"] == (
        "You do not have permission to perform this operation (deployment:backups:import)."
    )
    assert error(ro_api.put("/api/streaming_import/clear_tables", {"tableNames": []})) == (403, "OperationNotPermitted")


@pytest.mark.parametrize("route", EXPORT_GETS + ["/api/document_deltas"])
def test_streaming_export_switch_is_checked_before_auth(convex_server: LocalDeployment, route: str) -> None:
    convex_server.settings.streaming_export_enabled = False
    resp = requests.get(convex_server.url + route, params={"cursor": 1}, timeout=10)  # no key at all
    assert error(resp) == (403, "StreamingExportNotEnabled")
    assert "https://www.convex.dev/plans" in resp.json()["message"]


def test_import_routes_ignore_the_streaming_export_switch(api: Api) -> None:
    api.dep.settings.streaming_export_enabled = False
    resp = api.get("/api/streaming_import/primary_key_indexes_ready", json={"tables": []})
    assert resp.status_code == 200 and resp.json() == {"indexesReady": True}


def test_convex_client_header(api: Api) -> None:
    ok = api.get("/api/list_snapshot", headers={"Convex-Client": "airbyte-export-1.0.0"})
    assert ok.status_code == 200
    assert api.dep.request_log[-1].client == "airbyte-export-1.0.0"
    assert error(api.get("/api/list_snapshot", headers={"Convex-Client": "noversion"})) == (
        400, "InvalidClientVersion")


def test_json_bodies_need_content_type_and_valid_json(api: Api) -> None:
    url = "/api/list_snapshot"
    resp = api.session.post(api.dep.url + url, data=b"{}", timeout=10)
    assert error(resp) == (400, "BadJsonBody")
    resp = api.session.post(api.dep.url + url, data=b"{not json", headers={"Content-Type": "application/json"})
    assert error(resp) == (400, "BadJsonBody")
    resp = api.session.post(api.dep.url + url, data=b"[]", headers={"Content-Type": "application/json"})
    assert error(resp) == (400, "BadJsonBody")


def test_other_json_routes_limit_bodies_to_2_mib(api: Api) -> None:
    big = {"snapshot": None, "pad": "x" * (2 * 1024 * 1024)}
    assert error(api.post("/api/list_snapshot", big)) == (400, "BadJsonBody")


def test_bad_query_args(api: Api) -> None:
    assert error(api.get("/api/list_snapshot", {"snapshot": "soon"})) == (400, "BadQueryArgs")
    assert error(api.get("/api/document_deltas", {"cursor": "x"})) == (400, "BadQueryArgs")
    assert error(api.get("/api/json_schemas", {"deltaSchema": "yes"})) == (400, "BadQueryArgs")
    assert error(api.post("/api/list_snapshot", {"snapshot": "soon"})) == (400, "BadJsonBody")


def test_unknown_route_and_method(api: Api) -> None:
    assert api.get("/api/nope").status_code == 404
    assert api.put("/api/list_snapshot", {}).status_code == 405
    assert error(api.get("/api/list_snapshot", {"format": "yaml"})) == (400, "BadFormat")


def test_every_error_is_json_with_code_and_message(api: Api) -> None:
    resp = api.get("/api/document_deltas")
    assert resp.headers["Content-Type"] == "application/json"
    assert set(resp.json()) == {"code", "message"}
    assert error(resp) == (400, "DocumentDeltasCursorRequired")
