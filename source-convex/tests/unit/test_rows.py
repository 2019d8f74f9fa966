"""Malformed rows and wrappers end the read with a clear error naming the table, never a bare
KeyError / TypeError / binascii.Error reaching the CDK's catch-all.

`check_rows` and the wrapper decoders on their own, then pages read over HTTP answered by
requests-mock (no code of ours is faked), then a whole read through the CDK's entrypoint.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import requests_mock as rm
from airbyte_cdk.models import (
    AirbyteStream,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    DestinationSyncMode,
    FailureType,
    SyncMode,
)
from airbyte_cdk.test import entrypoint_wrapper
from convex_shared import ConnectionSettings, ConvexBadResponseError, ConvexClient, RetryPolicy

from source_convex import SourceConvex
from source_convex.value_codec import BadWrapperError, rewrite_wrappers, special_bytes, special_float
from source_convex.reader import PageReader
from source_convex.reader import check_rows
from source_convex.config import TableRef

USERS = TableRef("", "users")
GOOD = {"_component": "", "_table": "users", "_ts": 1_795_000_000_123_456_789, "_id": "j57abc", "name": "Ada"}

BAD_ROWS = {
    "ts missing": ({k: v for k, v in GOOD.items() if k != "_ts"}, "without a valid _ts"),
    "ts a string": ({**GOOD, "_ts": "1795000000123456789"}, "got str"),
    "ts a float": ({**GOOD, "_ts": 1.795e18}, "got float"),
    "ts a bool": ({**GOOD, "_ts": True}, "got bool"),
    "ts negative": ({**GOOD, "_ts": -5}, "negative _ts"),
    "id missing": ({k: v for k, v in GOOD.items() if k != "_id"}, "without a valid _id"),
    "id a number": ({**GOOD, "_id": 12}, "got int"),
    "table missing": ({k: v for k, v in GOOD.items() if k != "_table"}, "without a valid _table"),
    "table a list": ({**GOOD, "_table": ["users"]}, "got list"),
    "component a number": ({**GOOD, "_component": 0}, "without a valid _component"),
    "deleted a string": ({**GOOD, "_deleted": "false"}, "_deleted that is not true or false"),
}


def test_well_formed_rows_pass() -> None:
    check_rows([GOOD, {k: v for k, v in GOOD.items() if k != "_component"},
                {"_component": "", "_table": "users", "_ts": 0, "_id": "x", "_deleted": True}], USERS)


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_a_malformed_row_is_refused_naming_the_table(case: str) -> None:
    row, problem = BAD_ROWS[case]
    with pytest.raises(ConvexBadResponseError) as caught:
        check_rows([GOOD, row], USERS)
    err = caught.value
    assert problem in err.explanation and "table users" in err.explanation
    assert err.failure_type == "system_error" and not err.transient
    assert "Ada" not in str(err) and "1795000000123456789" not in str(err)  # never the row's values


def test_a_change_log_row_is_named_by_its_own_table() -> None:
    with pytest.raises(ConvexBadResponseError, match="table waitlist/entries without a valid _ts"):
        check_rows([{"_component": "waitlist", "_table": "entries", "_id": "k1"}], None)


def test_wrappers_that_do_not_decode_raise_bad_wrapper_errors() -> None:
    for encoded in ("AAA", "", "not base64!", 5, None, "AAAAAAAAAAAAAAAA"):
        with pytest.raises(BadWrapperError, match=r"\$float"):
            special_float(encoded)
    for encoded in ("this is not base64!", "A", 5, None, ["AA=="]):
        with pytest.raises(BadWrapperError, match=r"\$bytes"):
            special_bytes(encoded)
    assert special_bytes("AQ==") == "AQ==" and special_bytes("") == ""


def test_the_raw_rewrite_leaves_wrappers_that_do_not_decode_to_the_walk() -> None:
    body = b'{"values":[{"a":{"$float":"AAA"},"b":{"$bytes":"no!"},"c":{"$bytes":"AQ=="}}]}'
    assert rewrite_wrappers(body) == b'{"values":[{"a":{"$float":"AAA"},"b":{"$bytes":"no!"},"c":"AQ=="}]}'


# -- pages over HTTP -------------------------------------------------------------------------------

URL = "https://happy-animal-123.convex.cloud"
KEY = "prod:happy-animal-123|01ab23cd45ef67890123456789abcdef0123456789abcdef"
ROW = '{"_component":"","_table":"users","_ts":5,"_id":"a","_creationTime":1.0'


def _reader() -> PageReader:
    settings = ConnectionSettings.from_config({"deployment_url": URL, "access_key": KEY})
    return PageReader(ConvexClient(settings, "airbyte-export-1.0.0"), {}, logging.getLogger("test"))


@pytest.mark.parametrize("value, problem", [
    ('{"$float":"AAA"}', r"\$float value that is not the base64 of 8 bytes"),
    ('{"$float": "AAAAAAAAAAAAAAAA"}', r"\$float value"),
    ('{"$bytes":"this is not base64!"}', r"\$bytes value that is not base64"),
    ('{"$bytes":7}', r"\$bytes value"),
])
def test_a_snapshot_page_with_a_bad_wrapper_names_the_table(requests_mock: rm.Mocker, value: str,
                                                             problem: str) -> None:
    body = '{"values":[' + ROW + ',"x":' + value + '}],"snapshot":5,"cursor":null,"hasMore":false}'
    requests_mock.get(f"{URL}/api/list_snapshot", text=body)
    with pytest.raises(ConvexBadResponseError, match="table users holding a " + problem):
        _reader().snapshot_page(USERS, None, None)
    assert requests_mock.call_count == 1  # a malformed document is not retried


def test_a_change_log_page_with_a_bad_wrapper_names_the_row_table(requests_mock: rm.Mocker) -> None:
    body = ('{"values":[' + ROW.replace('"users"', '"posts"') + ',"_deleted":false,"x":{"$float":"A"}}],'
            '"cursor":9,"hasMore":false}')
    requests_mock.get(f"{URL}/api/document_deltas", text=body)
    with pytest.raises(ConvexBadResponseError, match=r"table posts holding a \$float"):
        _reader().delta_page(4)


def test_a_snapshot_page_row_without_ts_is_refused(requests_mock: rm.Mocker) -> None:
    body = '{"values":[{"_component":"","_table":"users","_id":"a"}],"snapshot":5,"cursor":null,"hasMore":false}'
    requests_mock.get(f"{URL}/api/list_snapshot", text=body)
    with pytest.raises(ConvexBadResponseError, match="table users without a valid _ts"):
        _reader().snapshot_page(USERS, None, None)


# -- a whole read ------------------------------------------------------------------------------------

SCHEMA = {"type": "object", "properties": {"_id": {"type": "string"}, "_creationTime": {"type": "number"}}}


def _read(requests_mock: rm.Mocker, values: list[Any]) -> Any:
    requests_mock.get(f"{URL}/api/json_schemas", json={"": {"users": SCHEMA}})
    requests_mock.get(f"{URL}/api/list_snapshot",
                      text=json.dumps({"values": values, "snapshot": 9, "cursor": None, "hasMore": False}))
    stream = AirbyteStream(name="users", json_schema={}, supported_sync_modes=[SyncMode.full_refresh])
    catalog = ConfiguredAirbyteCatalog(streams=[ConfiguredAirbyteStream(
        stream=stream, sync_mode=SyncMode.full_refresh, destination_sync_mode=DestinationSyncMode.overwrite)])
    return entrypoint_wrapper.read(SourceConvex(retry=RetryPolicy(max_attempts=1)),
                                   {"deployment_url": URL, "access_key": KEY}, catalog,
                                   expected_outcome=entrypoint_wrapper.ExpectedOutcome.ALLOW_ANY)


@pytest.mark.parametrize("case", ["ts missing", "ts a string", "ts a float", "id missing", "id a number"])
def test_a_read_over_a_malformed_row_ends_in_a_classified_error(requests_mock: rm.Mocker, case: str) -> None:
    out = _read(requests_mock, [dict(BAD_ROWS[case][0]), {**GOOD, "_id": "j57def"}])
    (error,) = out.errors
    trace = error.trace.error
    assert trace.failure_type == FailureType.system_error
    assert "Something went wrong" not in trace.message and "table users" in trace.message
    assert out.records == []  # nothing of the malformed page is emitted, its good rows neither
