"""Fallbacks for older backends, over HTTP answered by requests-mock (no code of ours is faked):
the clean-json format when export_json is refused, and json_schemas when the check route is missing."""

import logging

import requests_mock as rm
from airbyte_cdk.models import Status
from convex_shared import ConnectionSettings, ConvexClient

from source_convex import SourceConvex
from source_convex.reader import CLEAN_JSON, PageReader
from source_convex.config import TableRef

URL = "https://happy-animal-123.convex.cloud"
KEY = "prod:happy-animal-123|01ab23cd45ef67890123456789abcdef0123456789abcdef"
INT64 = {"$description": "int64 represented as base10 string", "type": "string"}
USERS = {"type": "object", "properties": {"_id": {"type": "string"}, "n": INT64, "tags": {"type": "array", "items": INT64}}}
BAD_FORMAT = {"code": "BadFormat", "message": "format param must be one of [`json`]. Got export_json"}


def _matches_format(fmt: str):
    return lambda request: request.qs.get("format") == [fmt]


def test_clean_json_fallback_converts_int64(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{URL}/api/list_snapshot", additional_matcher=_matches_format("export_json"),
                      status_code=400, json=BAD_FORMAT)
    requests_mock.get(f"{URL}/api/list_snapshot", additional_matcher=_matches_format("json"), json={
        "values": [{"_component": "", "_table": "users", "_ts": 5, "_id": "a", "n": "9007199254740993",
                    "tags": ["1", "2"]}],
        "snapshot": 5, "cursor": None, "hasMore": False})
    client = ConvexClient(ConnectionSettings.from_config({"deployment_url": URL, "access_key": KEY}), "airbyte-export-1.0.0")
    reader = PageReader(client, {TableRef("", "users"): USERS}, logging.getLogger("test"))
    page = reader.snapshot_page(TableRef("", "users"), None, None)
    assert reader.fmt == CLEAN_JSON
    assert page.values[0]["n"] == 9007199254740993 and page.values[0]["tags"] == [1, 2]


def test_check_falls_back_to_json_schemas(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{URL}/api/test_streaming_export_connection", status_code=404, text="Not Found")
    requests_mock.get(f"{URL}/api/json_schemas", json={"": {"users": USERS}})
    status = SourceConvex().check(logging.getLogger("test"), {"deployment_url": URL, "access_key": KEY})
    assert status.status == Status.SUCCEEDED


def test_check_fallback_still_reports_a_refused_key(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{URL}/api/test_streaming_export_connection", status_code=404, text="Not Found")
    requests_mock.get(f"{URL}/api/json_schemas", status_code=401,
                      json={"code": "BadAdminKey", "message": "The provided admin key was invalid for this instance"})
    status = SourceConvex().check(logging.getLogger("test"), {"deployment_url": URL, "access_key": KEY})
    assert status.status == Status.FAILED and "BadAdminKey" in status.message and KEY not in status.message


def test_wrappers_the_raw_rewrite_misses_are_walked(requests_mock: rm.Mocker) -> None:
    # A writer that escapes "/" defeats the byte-level pattern; the parsed values are walked instead.
    body = (b'{"values":[{"_component":"","_table":"users","_ts":5,"_id":"a","b":{"$bytes":"AA\\/B"},'
            b'"c":{"$bytes":"AQ=="}}],"snapshot":5,"cursor":null,"hasMore":false}')
    requests_mock.get(f"{URL}/api/list_snapshot", content=body)
    client = ConvexClient(ConnectionSettings.from_config({"deployment_url": URL, "access_key": KEY}), "airbyte-export-1.0.0")
    reader = PageReader(client, {}, logging.getLogger("test"))
    page = reader.snapshot_page(TableRef("", "users"), None, None)
    assert page.values[0]["b"] == "AA/B" and page.values[0]["c"] == "AQ=="
