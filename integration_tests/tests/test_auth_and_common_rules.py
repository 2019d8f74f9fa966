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
    for header in (f"Convex {key}", f"convex {key}", f"CONVEX {key}", f"Convex prod:{key}", f"Convex dev:{key}",
                   f"Convex preview:team:{key}"):  # a deployment-type prefix before the instance is ignored
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
def test_streaming_export_switch_is_checked_after_the_key_and_before_the_permission(
    convex_server: LocalDeployment, route: str
) -> None:
    # The contract's Corrections: the key is authenticated first, then the plan, then the permission.
    convex_server.settings.streaming_export_enabled = False
    resp = requests.get(convex_server.url + route, params={"cursor": 1}, timeout=10)  # no key at all
    assert error(resp) == (403, "BadDeployKey")
    wrong = {"Authorization": "Convex convex-self-hosted|0123"}
    assert error(requests.get(convex_server.url + route, params={"cursor": 1}, headers=wrong, timeout=10)) == (
        401, "BadAdminKey")
    for key in (convex_server.admin_key, convex_server.read_only_key):
        resp = requests.get(convex_server.url + route, params={"cursor": 1},
                            headers={"Authorization": f"Convex {key}"}, timeout=10)
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


IMPORT_ROUTES = [
    ("PUT", "/api/streaming_import/add_primary_key_indexes", {"indexes": {}}),
    ("GET", "/api/streaming_import/primary_key_indexes_ready", {"tables": []}),
    ("PUT", "/api/streaming_import/clear_tables", {"tableNames": []}),
    ("POST", "/api/streaming_import/replace_tables", {"tableNames": {}}),
    ("POST", "/api/streaming_import/import_airbyte_records", {"tables": {}, "messages": []}),
]
# What each import route answers to an admin key and a valid body.
IMPORT_SUCCESS = {"replace_tables": 400}
WRONG_KEY = "convex-self-hosted|01" + "cd" * 40


def call(dep: LocalDeployment, method: str, route: str, body: object = None, **kw: object) -> requests.Response:
    return requests.request(method, dep.url + route, json=body, timeout=30, **kw)  # type: ignore[arg-type]


def test_version_answers_plain_text_whatever_the_auth(convex_server: LocalDeployment) -> None:
    convex_server.settings.streaming_export_enabled = False
    for headers in ({}, {"Authorization": f"Convex {WRONG_KEY}"}, {"Authorization": "x"},
                    {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc"}):
        resp = requests.get(convex_server.url + "/version", headers=headers, timeout=10)
        assert resp.status_code == 200, headers
        assert resp.headers["Content-Type"].startswith("text/plain") and resp.text.strip()


def test_admin_key_param_counts_only_without_a_header(convex_server: LocalDeployment) -> None:
    url = convex_server.url + "/api/test_streaming_export_connection"
    key = convex_server.admin_key
    assert requests.get(url, params={"adminKey": key}, timeout=10).status_code == 200
    resp = requests.get(url, params={"adminKey": key}, headers={"Authorization": f"Convex {WRONG_KEY}"}, timeout=10)
    assert error(resp) == (401, "BadAdminKey")
    resp = requests.get(url, params={"adminKey": key}, headers={"Authorization": "Conv"}, timeout=10)
    assert error(resp) == (400, "InvalidHeaderFailure")
    assert error(requests.get(url, params={"adminKey": WRONG_KEY}, timeout=10)) == (401, "BadAdminKey")


def test_header_length_and_scheme_boundaries(convex_server: LocalDeployment) -> None:
    url = convex_server.url + "/api/test_streaming_export_connection"
    key = convex_server.admin_key
    cases = {
        "Convex": (400, "InvalidHeaderFailure"),  # 6 characters
        "": (400, "InvalidHeaderFailure"),
        "Convex ": (401, "BadAdminKey"),  # the scheme, then an empty key
        "Convex\t" + key: (400, "InvalidAdminKey"),  # the scheme is exactly "convex "
        "Token  " + key: (400, "InvalidAdminKey"),
    }
    for header, expected in cases.items():
        assert error(requests.get(url, headers={"Authorization": header}, timeout=10)) == expected, repr(header[:8])
    assert requests.get(url, headers={"Authorization": f"cOnVeX {key}"}, timeout=10).status_code == 200


def test_missing_key_message_is_exact(convex_server: LocalDeployment) -> None:
    resp = requests.get(convex_server.url + "/api/list_snapshot", timeout=10)
    assert resp.json() == {"code": "BadDeployKey", "message": (
        "The provided deploy key was invalid for this deployment. Double check that the environment this key was"
        " generated for matches the desired deployment.")}


@pytest.mark.parametrize("method, route, body", IMPORT_ROUTES)
def test_every_import_route_needs_the_import_permission(
    convex_server: LocalDeployment, method: str, route: str, body: object
) -> None:
    dep = convex_server
    resp = call(dep, method, route, body, headers={"Authorization": f"Convex {dep.read_only_key}"})
    assert resp.json() == {"code": "OperationNotPermitted", "message": (
        "You do not have permission to perform this operation (deployment:backups:import).")}
    assert resp.status_code == 403
    assert error(call(dep, method, route, body)) == (403, "BadDeployKey")
    assert error(call(dep, method, route, body, headers={"Authorization": f"Convex {WRONG_KEY}"})) == (401, "BadAdminKey")
    bearer = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc"}
    assert call(dep, method, route, body, headers=bearer).status_code == 403
    admin = call(dep, method, route, body, headers={"Authorization": f"Convex {dep.admin_key}"})
    assert admin.status_code == IMPORT_SUCCESS.get(route.rsplit("/", 1)[1], 200), admin.text


@pytest.mark.parametrize("method, route, body", IMPORT_ROUTES)
def test_import_routes_never_check_the_streaming_export_switch(
    convex_server: LocalDeployment, method: str, route: str, body: object
) -> None:
    dep = convex_server
    dep.settings.streaming_export_enabled = False
    admin = call(dep, method, route, body, headers={"Authorization": f"Convex {dep.admin_key}"})
    assert admin.status_code == IMPORT_SUCCESS.get(route.rsplit("/", 1)[1], 200), admin.text
    assert error(call(dep, method, route, body)) == (403, "BadDeployKey")


@pytest.mark.parametrize("route", ["/api/list_snapshot", "/api/document_deltas"])
def test_export_switch_comes_after_auth_and_before_body_on_post_routes(convex_server: LocalDeployment, route: str) -> None:
    convex_server.settings.streaming_export_enabled = False
    for headers, code in (({}, "BadDeployKey"), ({"Authorization": f"Convex {WRONG_KEY}"}, "BadAdminKey"),
                          ({"Authorization": "x"}, "InvalidHeaderFailure")):
        resp = requests.post(convex_server.url + route, data=b"{not json", headers=headers, timeout=10)
        assert error(resp)[1] == code
    for key in (convex_server.admin_key, convex_server.read_only_key):
        resp = requests.post(convex_server.url + route, data=b"{not json", headers={"Authorization": f"Convex {key}"},
                             timeout=10)
        assert resp.status_code == 403 and resp.json() == {"code": "StreamingExportNotEnabled", "message": (
            "Streaming export is not available on your current subscription. See https://www.convex.dev/plans"
            " to upgrade.")}


@pytest.mark.parametrize("method, route, body", [r for r in IMPORT_ROUTES if "replace_tables" not in r[1]])
def test_import_json_bodies_need_the_json_content_type(api: Api, method: str, route: str, body: object) -> None:
    import json as _json

    resp = api.session.request(method, api.dep.url + route, data=_json.dumps(body).encode(), timeout=10,
                               headers={"Content-Type": "text/plain"})
    assert error(resp) == (400, "BadJsonBody")
    resp = api.session.request(method, api.dep.url + route, data=b"{", timeout=10,
                               headers={"Content-Type": "application/json"})
    assert error(resp) == (400, "BadJsonBody")
    ok = api.session.request(method, api.dep.url + route, data=_json.dumps(body).encode(), timeout=10,
                             headers={"Content-Type": "application/json; charset=utf-8"})
    assert ok.status_code == 200, ok.text


def test_convex_client_header_empty_or_missing(api: Api) -> None:
    assert error(api.get("/api/list_snapshot", headers={"Convex-Client": ""})) == (400, "InvalidClientVersion")
    assert error(api.put("/api/streaming_import/clear_tables", {"tableNames": []},
                         headers={"Convex-Client": "streamingimport"})) == (400, "InvalidClientVersion")
    # Parsed, never version-checked: any `<client>-<anything>` is fine, and so is no header at all.
    assert api.get("/api/list_snapshot", headers={"Convex-Client": "something-0.0.0-weird"}).status_code == 200
    api.session.headers.pop("Convex-Client", None)
    assert api.get("/api/list_snapshot").status_code == 200
    assert api.dep.request_log[-1].client is None


def test_an_error_without_its_own_code_is_the_generic_500(api: Api) -> None:
    bad = {"_other": "included", "": {"_other": "included", "users": {"_other": "included", "_id": "excluded"}}}
    resp = api.post("/api/list_snapshot", {"selection": bad})
    assert resp.status_code == 500 and resp.headers["Content-Type"] == "application/json"
    assert resp.json() == {"code": "InternalServerError", "message": "Your request couldn't be completed. Try again later."}


def test_bad_format_message(api: Api) -> None:
    for route, params in (("/api/list_snapshot", {}), ("/api/document_deltas", {"cursor": 1}), ("/api/json_schemas", {})):
        resp = api.get(route, {**params, "format": "yaml"})
        assert resp.status_code == 400
        assert resp.json() == {"code": "BadFormat", "message": "format param must be one of [`json`]. Got yaml"}


def test_numbers_and_strings_json_cannot_carry(api: Api) -> None:
    headers = {"Content-Type": "application/json"}
    url = api.dep.url + "/api/list_snapshot"
    assert error(api.session.post(url, data=b'{"snapshot": 1e999}', headers=headers)) == (400, "BadJsonBody")
    assert error(api.session.post(url, data=b'{"snapshot": 9223372036854775808}', headers=headers)) == (
        400, "BadJsonBody")
    assert error(api.get("/api/list_snapshot", {"snapshot": "9223372036854775808"})) == (400, "BadQueryArgs")
    lone = b'{"tables":{"s":{"primaryKey":null,"jsonSchema":{}}},"messages":[{"tableName":"s","data":{"a":"\\ud800"}}]}'
    resp = api.session.post(api.dep.url + "/api/streaming_import/import_airbyte_records", data=lone, headers=headers)
    assert error(resp) == (400, "BadJsonBody")
    paired = lone.replace(b"\\ud800", b"\\ud83d\\ude00 \\\\ud800")  # an escaped pair, and an escaped backslash
    resp = api.session.post(api.dep.url + "/api/streaming_import/import_airbyte_records", data=paired, headers=headers)
    assert resp.status_code == 200, resp.text
    assert api.dep.documents("s")[0]["a"] == "\U0001F600 \\ud800"
