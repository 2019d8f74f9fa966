"""ConvexClient against a mocked HTTP layer: what goes on the wire, and how every answer is classified."""

from __future__ import annotations

import logging
import time

import orjson
import pytest
import requests
import requests_mock as rm

from convex_shared import (
    ConvexAuthError,
    ConvexBadResponseError,
    ConvexClient,
    ConvexConfigError,
    ConvexPermissionError,
    ConvexRequestError,
    ConvexTransientError,
    DeltaPage,
    SnapshotPage,
)

from .conftest import KEY, KEY_TAIL, URL, make_settings

API = URL + "/api"
IMPORT = API + "/streaming_import"
PAGE = {"values": [{"_table": "users", "_component": "", "_id": "a", "_ts": 1}], "snapshot": 10,
        "cursor": "c1", "hasMore": True}


def err_body(code: str, message: str = "m") -> dict[str, str]:
    return {"code": code, "message": message}


def assert_no_key(*texts: str) -> None:
    for text in texts:
        assert KEY_TAIL not in text


# -- what goes on the wire ------------------------------------------------------------------------


def test_headers_on_every_request(client: ConvexClient, requests_mock: rm.Mocker) -> None:
    requests_mock.get(API + "/test_streaming_export_connection", content=b"null")
    client.test_streaming_export_connection()
    sent = requests_mock.last_request
    assert sent.headers["Authorization"] == f"Convex {KEY}"
    assert sent.headers["Convex-Client"] == "airbyte-export-1.0.0"
    assert "gzip" in sent.headers["Accept-Encoding"]
    assert KEY_TAIL not in sent.url
    assert sent.timeout == (2.0, 2.0)
    assert sent.verify is True or isinstance(sent.verify, str)  # a CA bundle path from the environment
    assert client.request_count == 1


def test_list_snapshot_params_and_page(client: ConvexClient, requests_mock: rm.Mocker) -> None:
    requests_mock.get(API + "/list_snapshot", json=PAGE)
    page = client.list_snapshot(snapshot=10, cursor='{"tablet":"x","id":"y"}', table_name="users", component="")
    assert page == SnapshotPage(PAGE["values"], 10, "c1", True)
    qs = requests_mock.last_request.qs
    assert qs["snapshot"] == ["10"] and qs["table_name"] == ["users"] and qs["format"] == ["json"]
    assert qs["cursor"] == ['{"tablet":"x","id":"y"}']
    assert "component=" in requests_mock.last_request.url  # the root component is sent explicitly


def test_first_snapshot_page_sends_no_snapshot_or_cursor(client: ConvexClient, requests_mock: rm.Mocker) -> None:
    requests_mock.get(API + "/list_snapshot", json=PAGE)
    client.list_snapshot()
    assert set(requests_mock.last_request.qs) == {"format"}


def test_rows_of_other_tables_are_dropped(client: ConvexClient, requests_mock: rm.Mocker) -> None:
    # Older backends ignore the table selection and return every table's rows.
    rows = [{"_table": "users", "_component": "", "_id": "a"}, {"_table": "posts", "_component": "", "_id": "b"},
            {"_table": "users", "_component": "waitlist", "_id": "c"}]
    requests_mock.get(API + "/list_snapshot", json={**PAGE, "values": rows})
    requests_mock.get(API + "/document_deltas", json={"values": rows, "cursor": 5, "hasMore": False})
    assert [r["_id"] for r in client.list_snapshot(table_name="users", component="").values] == ["a"]
    assert [r["_id"] for r in client.list_snapshot(table_name="users").values] == ["a", "c"]
    assert [r["_id"] for r in client.list_snapshot(component="waitlist").values] == ["c"]
    assert len(client.list_snapshot().values) == 3
    assert client.document_deltas(4, table_name="posts", component="") == DeltaPage([rows[1]], 5, False)


def test_document_deltas(client: ConvexClient, requests_mock: rm.Mocker) -> None:
    requests_mock.get(API + "/document_deltas", json={"values": [], "cursor": 99, "hasMore": False})
    assert client.document_deltas(42, fmt="json") == DeltaPage([], 99, False)
    assert requests_mock.last_request.qs == {"cursor": ["42"], "format": ["json"]}


def test_json_schemas(client: ConvexClient, requests_mock: rm.Mocker) -> None:
    schemas = {"": {"users": {"type": "object"}}}
    requests_mock.get(API + "/json_schemas", json=schemas)
    assert client.json_schemas() == schemas
    assert requests_mock.last_request.qs == {"deltaschema": ["true"], "bycomponent": ["true"], "format": ["json"]}
    requests_mock.get(API + "/json_schemas", json={"": 3})
    with pytest.raises(ConvexBadResponseError):
        client.json_schemas()


def test_import_routes(logger: logging.Logger, requests_mock: rm.Mocker) -> None:
    requests_mock.put(IMPORT + "/add_primary_key_indexes", content=b"")
    requests_mock.get(IMPORT + "/primary_key_indexes_ready", json={"indexesReady": True})
    requests_mock.put(IMPORT + "/clear_tables", content=b"")
    requests_mock.post(IMPORT + "/import_airbyte_records", content=b"")
    with ConvexClient(make_settings(), client_id="streaming-import-1.0.0", logger=logger) as client:
        client.add_primary_key_indexes({"users": [["source_id"], ["a", "b"]]})
        assert orjson.loads(requests_mock.last_request.body) == {"indexes": {"users": [["source_id"], ["a", "b"]]}}
        assert requests_mock.last_request.headers["Content-Type"] == "application/json"
        assert client.primary_key_indexes_ready(["users"]) is True
        sent = requests_mock.last_request
        assert sent.method == "GET" and orjson.loads(sent.body) == {"tables": ["users"]}
        client.clear_tables(["users"])
        assert orjson.loads(requests_mock.last_request.body) == {"tableNames": ["users"]}
        body = b'{"tables":{},"messages":[]}'
        client.import_airbyte_records(body, idempotent=True)
        assert requests_mock.last_request.body == body
        assert requests_mock.last_request.headers["Convex-Client"] == "streaming-import-1.0.0"
        assert client.request_count == 4


def test_client_id_must_have_a_dash() -> None:
    with pytest.raises(ValueError):
        ConvexClient(make_settings(), client_id="airbyte")


# -- classification of answers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [(401, "BadAdminKey", ConvexAuthError), (403, "BadDeployKey", ConvexAuthError),
     (403, "OperationNotPermitted", ConvexPermissionError), (403, "StreamingExportNotEnabled", ConvexPermissionError),
     (400, "InvalidWindowToReadDocuments", ConvexRequestError), (400, "SnapshotTooOld", ConvexRequestError),
     (404, None, ConvexConfigError)],
)
def test_terminal_errors_fail_at_once(client: ConvexClient, requests_mock: rm.Mocker, caplog: pytest.LogCaptureFixture,
                                      status: int, code: str | None, cls: type) -> None:
    body = orjson.dumps(err_body(code, "convex says no")) if code else b"Not Found"
    requests_mock.get(API + "/list_snapshot", status_code=status, content=body)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(cls) as info:
            client.list_snapshot()
    err = info.value
    assert (err.status, err.code) == (status, code)
    assert not err.transient and err.attempts == 1
    assert client.request_count == 1
    assert "retry" not in caplog.text
    assert_no_key(str(err), repr(err), caplog.text)


def test_bad_admin_key_names_the_mixed_up_deployment(logger: logging.Logger, requests_mock: rm.Mocker) -> None:
    url = "https://other-name-456.convex.cloud"
    requests_mock.get(url + "/api/test_streaming_export_connection", status_code=401,
                      json=err_body("BadAdminKey", "The provided admin key was invalid for this instance"))
    with ConvexClient(make_settings(url=url), "airbyte-export-1.0.0", logger) as client:
        with pytest.raises(ConvexAuthError) as info:
            client.test_streaming_export_connection()
    text = str(info.value)
    assert "'happy-animal-123'" in text and "'other-name-456'" in text and "BadAdminKey" in text
    assert "prod vs dev" in text
    assert_no_key(text)


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        ({"status_code": 500, "json": err_body("InternalServerError")}, "InternalServerError"),
        ({"status_code": 503, "content": b""}, "HTTP 503"),
        ({"status_code": 502, "text": "<html><title>502 Bad Gateway</title></html>"}, "HTTP 502"),
        ({"status_code": 504, "text": "<html>Gateway Timeout</html>"}, "HTTP 504"),
        ({"status_code": 429, "json": err_body("TooManyWrites"), "headers": {"Retry-After": "0"}}, "TooManyWrites"),
        ({"status_code": 200, "text": "<html>maintenance</html>"}, "not a Convex response: the body is not JSON"),
        ({"status_code": 200, "json": {"values": []}}, "missing field"),
        ({"exc": requests.exceptions.ConnectTimeout}, "connect timeout"),
        ({"exc": requests.exceptions.ReadTimeout}, "read timeout"),
        ({"exc": requests.exceptions.ConnectionError("Connection aborted.")}, "connection closed or reset"),
        ({"exc": requests.exceptions.ChunkedEncodingError}, "cut off"),
    ],
)
def test_transient_failures_are_retried_then_succeed(client: ConvexClient, requests_mock: rm.Mocker,
                                                     caplog: pytest.LogCaptureFixture,
                                                     response: dict[str, object], reason: str) -> None:
    requests_mock.get(API + "/list_snapshot", [response, {"json": PAGE}])
    with caplog.at_level(logging.WARNING, logger="convex_shared.test"):
        page = client.list_snapshot()
    assert page.cursor == "c1"
    assert client.request_count == 2
    retries = [r for r in caplog.records if "retry 1 of 2" in r.getMessage()]
    assert len(retries) == 1 and reason in retries[0].getMessage()
    assert_no_key(caplog.text)


def test_transient_failures_give_up_after_max_attempts(client: ConvexClient, requests_mock: rm.Mocker,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    requests_mock.get(API + "/list_snapshot", status_code=503, json=err_body("Overloaded", "busy"))
    with caplog.at_level(logging.WARNING, logger="convex_shared.test"):
        with pytest.raises(ConvexTransientError) as info:
            client.list_snapshot()
    assert info.value.attempts == 3 and client.request_count == 3
    assert "gave up after 3 attempts" in str(info.value) and "Overloaded" in str(info.value)
    assert len([r for r in caplog.records if "retry" in r.getMessage()]) == 2


def test_bad_response_gives_up_as_bad_response(client: ConvexClient, requests_mock: rm.Mocker) -> None:
    requests_mock.get(API + "/test_streaming_export_connection", text="<!doctype html><p>Welcome!</p>")
    with pytest.raises(ConvexBadResponseError) as info:
        client.test_streaming_export_connection()
    assert info.value.status == 200 and info.value.failure_type == "system_error"
    assert "Welcome" in str(info.value) and info.value.attempts == 3


def test_retry_after_is_honoured(logger: logging.Logger, requests_mock: rm.Mocker) -> None:
    settings = make_settings(retry=make_settings().retry.__class__(
        max_attempts=2, initial_delay_s=0.001, jitter=0.0, max_retry_after_s=5.0))
    requests_mock.get(API + "/list_snapshot", [
        {"status_code": 429, "json": err_body("TooManyWrites"), "headers": {"Retry-After": "0.3"}}, {"json": PAGE}])
    with ConvexClient(settings, "airbyte-export-1.0.0", logger) as client:
        started = time.monotonic()
        client.list_snapshot()
        assert time.monotonic() - started >= 0.3


def test_retry_after_is_capped(client: ConvexClient, requests_mock: rm.Mocker) -> None:
    requests_mock.get(API + "/list_snapshot", [
        {"status_code": 503, "headers": {"Retry-After": "3600"}, "content": b""}, {"json": PAGE}])
    started = time.monotonic()
    client.list_snapshot()
    assert time.monotonic() - started < 1.0  # capped at max_retry_after_s (0.05 s in tests)


def test_append_retry_warns_about_duplicates_only_when_the_attempt_may_have_committed(
    logger: logging.Logger, requests_mock: rm.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    requests_mock.post(IMPORT + "/import_airbyte_records", [
        {"exc": requests.exceptions.ReadTimeout}, {"status_code": 503, "json": err_body("Overloaded")},
        {"content": b""}])
    with ConvexClient(make_settings(), "streaming-import-1.0.0", logger) as client:
        with caplog.at_level(logging.WARNING, logger="convex_shared.test"):
            client.import_airbyte_records(b"{}", idempotent=False)
    retries = [r.getMessage() for r in caplog.records]
    assert len(retries) == 2  # one line per retry
    assert "twice" in retries[0]  # the read timeout may have committed
    assert "twice" not in retries[1]  # Convex answered with its own error: its transaction rolled back


def test_dedup_retry_does_not_warn(logger: logging.Logger, requests_mock: rm.Mocker,
                                   caplog: pytest.LogCaptureFixture) -> None:
    requests_mock.post(IMPORT + "/import_airbyte_records", [{"exc": requests.exceptions.ReadTimeout},
                                                            {"content": b""}])
    with ConvexClient(make_settings(), "streaming-import-1.0.0", logger) as client:
        with caplog.at_level(logging.WARNING, logger="convex_shared.test"):
            client.import_airbyte_records(b"{}", idempotent=True)
    assert "twice" not in caplog.text and "retry 1 of 2" in caplog.text


@pytest.mark.parametrize("location", ["https://evil.example.com/api/list_snapshot",
                                      "https://happy-animal-123.convex.cloud/other"])
def test_redirects_are_never_followed(client: ConvexClient, requests_mock: rm.Mocker, location: str) -> None:
    requests_mock.get(API + "/list_snapshot", status_code=302, headers={"Location": location})
    requests_mock.get(location, json=PAGE)
    with pytest.raises(ConvexConfigError) as info:
        client.list_snapshot()
    assert location in str(info.value) and info.value.status == 302
    assert requests_mock.call_count == 1


def test_html_error_page_is_quoted_not_parsed(client: ConvexClient, requests_mock: rm.Mocker) -> None:
    requests_mock.get(API + "/list_snapshot", status_code=502,
                      text="<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>")
    with pytest.raises(ConvexTransientError) as info:
        client.list_snapshot()
    err = info.value
    assert err.code is None and err.convex_message is None and err.status == 502
    assert "502 Bad Gateway" in err.explanation and "proxy" in err.explanation


def test_convex_message_echoing_the_key_is_redacted(client: ConvexClient, requests_mock: rm.Mocker) -> None:
    requests_mock.get(API + "/list_snapshot", status_code=401, json=err_body("BadAdminKey", f"bad key {KEY}"))
    with pytest.raises(ConvexAuthError) as info:
        client.list_snapshot()
    assert_no_key(str(info.value), repr(info.value), info.value.convex_message or "")


def test_unexpected_request_exception_is_mapped(client: ConvexClient, requests_mock: rm.Mocker) -> None:
    requests_mock.get(API + "/list_snapshot", exc=requests.exceptions.InvalidHeader(f"Convex {KEY}"))
    with pytest.raises(ConvexConfigError) as info:
        client.list_snapshot()
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert_no_key(str(info.value))


def test_body_filter_rewrites_the_raw_page_before_parsing(client: ConvexClient, requests_mock: rm.Mocker) -> None:
    raw = b'{"values":[{"_table":"t","_component":"","_id":"a","b":{"$bytes":"AQI="}}],"cursor":7,"hasMore":false}'
    requests_mock.get(API + "/document_deltas", content=raw)
    requests_mock.get(API + "/list_snapshot", content=raw.replace(b'"cursor":7', b'"snapshot":7,"cursor":null'))
    unwrap = lambda body: body.replace(b'{"$bytes":"AQI="}', b'"AQI="')  # noqa: E731
    assert client.document_deltas(1, body_filter=unwrap).values[0]["b"] == "AQI="
    assert client.list_snapshot(body_filter=unwrap).values[0]["b"] == "AQI="
    assert client.list_snapshot().values[0]["b"] == {"$bytes": "AQI="}  # no filter: the page as sent


def test_a_text_page_echoing_the_key_is_quoted_only_redacted(client: ConvexClient, requests_mock: rm.Mocker) -> None:
    secret_part = client.settings.access_key.reveal().split("|", 1)[1]
    requests_mock.get(API + "/list_snapshot", status_code=200, text=f"debug: token={secret_part} denied")
    with pytest.raises(ConvexBadResponseError) as caught:
        client.list_snapshot()
    assert secret_part not in str(caught.value) and secret_part not in caught.value.reason
    assert "debug: token=" in caught.value.reason  # the page is still quoted, minus the secret


def test_a_row_without_a_table_is_refused_not_dropped(client: ConvexClient, requests_mock: rm.Mocker) -> None:
    rows = [{"_table": "users", "_component": "", "_id": "a"}, {"_component": "", "_id": "b"}]
    requests_mock.get(API + "/list_snapshot", json={**PAGE, "values": rows})
    with pytest.raises(ConvexBadResponseError) as caught:
        client.list_snapshot(table_name="users", component="")
    assert "_table" in caught.value.reason
