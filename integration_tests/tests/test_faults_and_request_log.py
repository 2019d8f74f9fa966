"""Fault injection (deterministic by seed), fixed latency, and the request log."""

from __future__ import annotations

import logging
import time

import pytest
import requests

from convex_local import LocalDeployment

from .conftest import Api, error


def statuses(api: Api, n: int, route: str = "/api/list_snapshot") -> list[int]:
    return [api.get(route).status_code for _ in range(n)]


@pytest.mark.parametrize("kind, status", [("500", 500), ("503", 503), ("429", 429)])
def test_json_error_faults(api: Api, kind: str, status: int) -> None:
    api.dep.faults.inject(route="list_snapshot", kind=kind, count=1, retry_after_s=2.0)
    resp = api.get("/api/list_snapshot")
    assert resp.status_code == status and resp.headers["Content-Type"] == "application/json"
    assert set(resp.json()) == {"code", "message"}
    if kind == "500":
        assert resp.json() == {"code": "InternalServerError",
                               "message": "Your request couldn't be completed. Try again later."}
    if kind == "429":
        assert resp.headers["Retry-After"] == "2"
    assert api.get("/api/list_snapshot").status_code == 200  # count=1: it stops after one


@pytest.mark.parametrize("kind, status", [("html502", 502), ("html504", 504)])
def test_html_proxy_pages(api: Api, kind: str, status: int) -> None:
    api.dep.faults.inject(route="*", kind=kind, count=1)
    resp = api.get("/api/json_schemas")
    assert resp.status_code == status and resp.headers["Content-Type"] == "text/html"
    assert resp.text.lstrip().startswith("<html>") and str(status) in resp.text
    with pytest.raises(ValueError):
        resp.json()


def test_reset_closes_the_connection_without_a_response(api: Api) -> None:
    api.dep.faults.inject(route="list_snapshot", kind="reset", count=1)
    with pytest.raises(requests.ConnectionError):
        api.get("/api/list_snapshot")
    assert api.get("/api/list_snapshot").status_code == 200
    entry = api.dep.request_log.entries("list_snapshot")[0]
    assert entry.status == 0 and entry.fault == "reset"


def test_fault_after_the_write_committed(api: Api) -> None:
    api.dep.faults.inject(route="import_airbyte_records", kind="reset", when="after", count=1)
    body = {"tables": {"s": {"primaryKey": None, "jsonSchema": {}}}, "messages": [{"tableName": "s", "data": {"a": 1}}]}
    with pytest.raises(requests.ConnectionError):
        api.post("/api/streaming_import/import_airbyte_records", body)
    assert len(api.dep.documents("s")) == 1  # committed, though the client never heard back


def test_slow_and_latency(api: Api) -> None:
    api.dep.faults.inject(route="json_schemas", kind="slow", slow_s=0.3, count=1)
    t = time.perf_counter()
    assert api.get("/api/json_schemas").status_code == 200
    assert time.perf_counter() - t >= 0.3
    api.dep.settings.latency_s = 0.1
    t = time.perf_counter()
    for _ in range(3):
        api.get("/api/test_streaming_export_connection")
    assert time.perf_counter() - t >= 0.3


def test_rate_is_deterministic_by_seed(convex_server_factory) -> None:
    runs = []
    for _ in range(2):
        dep: LocalDeployment = convex_server_factory()
        dep.faults.inject(route="list_snapshot", kind="503", rate=0.3, seed=42)
        api = Api(dep, dep.admin_key)
        runs.append(statuses(api, 40))
        assert statuses(api, 3, "/api/json_schemas") == [200, 200, 200]  # other routes untouched
    assert runs[0] == runs[1]
    assert 3 <= runs[0].count(503) <= 25 and runs[0].count(200) > 0


def test_faults_clear_and_validation(api: Api) -> None:
    api.dep.faults.inject(kind="500")
    assert api.get("/api/list_snapshot").status_code == 500
    api.dep.faults.clear()
    assert api.get("/api/list_snapshot").status_code == 200
    with pytest.raises(ValueError):
        api.dep.faults.inject(kind="teapot")


def test_request_log_records_routes_params_status_and_bytes(api: Api) -> None:
    dep = api.dep
    dep.insert("t", {"a": 1.0})
    dep.request_log.clear()
    page = api.get("/api/list_snapshot", {"tableName": "t", "format": "json"})
    api.post("/api/document_deltas", {"cursor": 5})
    api.post("/api/streaming_import/import_airbyte_records",
             {"tables": {"s": {"primaryKey": None, "jsonSchema": {}}}, "messages": [{"tableName": "s", "data": {}}]})
    first, second, third = dep.request_log
    assert (first.method, first.route, first.status) == ("GET", "/api/list_snapshot", 200)
    assert first.params == {"tableName": "t", "format": "json"} and first.bytes_out == len(page.content)
    assert first.name == "list_snapshot" and first.at_ns > 0
    assert (second.method, second.params, second.status) == ("POST", {"cursor": 5}, 400)
    assert second.bytes_in == len(b'{"cursor": 5}')
    assert third.params == {"tables": ["s"], "messages": 1}
    assert len(dep.request_log.entries("import_airbyte_records")) == 1
    dep.request_log.clear()
    assert len(dep.request_log) == 0


def test_keys_never_reach_the_request_log_or_server_log(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="convex_local")
    dep = api.dep
    requests.get(dep.url + "/api/list_snapshot", params={"adminKey": dep.admin_key}, timeout=10)
    requests.get(dep.url + "/api/list_snapshot", headers={"Authorization": "Convex " + dep.admin_key + "x"}, timeout=10)
    api.get("/api/list_snapshot")
    assert "/api/list_snapshot" in caplog.text
    secret = dep.admin_key.split("|")[1]
    assert secret not in caplog.text and secret not in repr(list(dep.request_log))
    assert error(requests.get(dep.url + "/api/list_snapshot", params={"adminKey": "wrong"}, timeout=10)) == (
        401, "BadAdminKey")


def test_page_delay_applies_to_paging_routes_only(api: Api) -> None:
    api.dep.generate("t", 3, seed=1)
    api.dep.settings.page_delay_s = 0.2
    t = time.perf_counter()
    assert api.get("/api/list_snapshot").status_code == 200
    assert time.perf_counter() - t >= 0.2
    t = time.perf_counter()
    assert api.get("/api/json_schemas").status_code == 200
    assert time.perf_counter() - t < 0.2


@pytest.mark.parametrize("fmt", ["json", "export_json", "convex_encoded_json"])
def test_generic_page_render_answers_the_same_pages(api: Api, fmt: str) -> None:
    """`page_render="generic"` changes what a page costs the server, never what it holds."""
    api.dep.generate("t", 50, seed=3)
    stored = api.get("/api/list_snapshot", params={"format": fmt}).json()
    api.dep.settings.page_render = "generic"
    generic = api.get("/api/list_snapshot", params={"format": fmt, "snapshot": str(stored["snapshot"])}).json()
    assert generic == stored and len(generic["values"]) == 50
