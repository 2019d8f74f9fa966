"""Strict decoding of the wire shapes."""

from __future__ import annotations

import dataclasses

import pytest

from convex_shared import ConvexBadResponseError, DeltaPage, SnapshotPage, pages
from convex_shared.pages import (
    parse_delta_page,
    parse_indexes_ready,
    parse_null,
    parse_object,
    parse_snapshot_page,
)


def test_snapshot_page() -> None:
    body = b'{"values":[{"_table":"t","_id":"a"}],"snapshot":1700000000000000000,"cursor":"c","hasMore":true}'
    page = parse_snapshot_page(body)
    assert page == SnapshotPage([{"_table": "t", "_id": "a"}], 1700000000000000000, "c", True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        page.cursor = "x"  # type: ignore[misc]


def test_last_snapshot_page_has_null_cursor() -> None:
    assert parse_snapshot_page(b'{"values":[],"snapshot":5,"cursor":null,"hasMore":false}').cursor is None


def test_delta_page() -> None:
    page = parse_delta_page(b'{"values":[{"_deleted":true,"_id":"a"}],"cursor":17,"hasMore":false}')
    assert page == DeltaPage([{"_deleted": True, "_id": "a"}], 17, False)


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>502 Bad Gateway</body></html>",
        b"",
        b"null",
        b"[]",
        b'{"values":[],"snapshot":5,"cursor":null}',
        b'{"values":{},"snapshot":5,"cursor":null,"hasMore":false}',
        b'{"values":[1],"snapshot":5,"cursor":null,"hasMore":false}',
        b'{"values":[],"snapshot":"5","cursor":null,"hasMore":false}',
        b'{"values":[],"snapshot":true,"cursor":null,"hasMore":false}',
        b'{"values":[],"snapshot":5.5,"cursor":null,"hasMore":false}',
        b'{"values":[],"snapshot":5,"cursor":3,"hasMore":false}',
        b'{"values":[],"snapshot":5,"cursor":null,"hasMore":"false"}',
        b'{"values":[],"snapshot":5,"cursor":null,"hasMore":null}',
    ],
)
def test_bad_snapshot_shapes(body: bytes) -> None:
    with pytest.raises(ConvexBadResponseError) as info:
        parse_snapshot_page(body)
    assert info.value.transient


@pytest.mark.parametrize("body", [b'{"values":[],"cursor":"17","hasMore":false}',
                                  b'{"values":[],"cursor":null,"hasMore":false}',
                                  b'{"values":[],"hasMore":false}'])
def test_bad_delta_shapes(body: bytes) -> None:
    with pytest.raises(ConvexBadResponseError):
        parse_delta_page(body)


def test_small_shapes() -> None:
    assert parse_null(b"null") is None
    assert parse_object(b'{"": {}}') == {"": {}}
    assert parse_indexes_ready(b'{"indexesReady":true}') is True
    assert parse_indexes_ready(b'{"indexesReady":false}') is False
    for parse, body in ((parse_null, b"{}"), (parse_object, b"[1]"), (parse_indexes_ready, b'{"ready":true}'),
                        (parse_indexes_ready, b'{"indexesReady":1}')):
        with pytest.raises(ConvexBadResponseError):
            parse(body)


def test_not_json_error_quotes_a_short_excerpt() -> None:
    with pytest.raises(ConvexBadResponseError) as info:
        parse_object(b"<html>\n  <title>Oops</title>" + b"x" * 5000)
    assert "<html> <title>Oops</title>" in str(info.value)
    assert len(str(info.value)) < 600


def test_a_cut_off_page_of_documents_is_not_quoted_in_the_error() -> None:
    import pytest
    from convex_shared.errors import ConvexBadResponseError
    from convex_shared.pages import parse_snapshot_page

    body = b'{"values":[{"_table":"users","_id":"a","email":"secret-person@example.com"'
    with pytest.raises(ConvexBadResponseError) as caught:
        parse_snapshot_page(body)
    assert "secret-person" not in str(caught.value) and "secret-person" not in caught.value.reason
    assert f"({len(body)} bytes)" in caught.value.reason


def test_data_sync_page_flattens_values_like_change_log_rows() -> None:
    body = (b'{"status":{"type":"stale","snapshotTs":42},"truncates":[{"component":"","table":"users"}],'
            b'"values":[{"component":"","table":"users","ts":41,"deleted":false,"value":{"_id":"a","n":1}},'
            b'{"component":"","table":"users","ts":42,"deleted":true,"value":{"_id":"b"}}],'
            b'"syncId":"airbyte-x","pagination":{"hasMore":true,"nextCursor":"c2"}}')
    page = pages.parse_data_sync_page(body)
    assert page.truncates == [("", "users")] and page.status == "stale" and page.snapshot_ts == 42
    assert page.values == [{"_id": "a", "n": 1, "_component": "", "_table": "users", "_ts": 41, "_deleted": False},
                           {"_id": "b", "_component": "", "_table": "users", "_ts": 42, "_deleted": True}]
    assert (page.sync_id, page.next_cursor) == ("airbyte-x", "c2")
    snapshotting = pages.parse_data_sync_page(
        b'{"status":{"type":"snapshotting"},"truncates":[],"values":[],"syncId":"s",'
        b'"pagination":{"hasMore":true,"nextCursor":"c"}}')
    assert snapshotting.snapshot_ts is None


@pytest.mark.parametrize("body", [
    b'{"status":{"type":"later"},"truncates":[],"values":[],"syncId":"s","pagination":{"nextCursor":"c"}}',
    b'{"status":{"type":"stale"},"truncates":[],"values":[],"syncId":"s","pagination":{"nextCursor":"c"}}',
    b'{"status":{"type":"upToDate","snapshotTs":1},"truncates":[],"values":[],"syncId":"s","pagination":{}}',
    b'{"status":{"type":"upToDate","snapshotTs":1},"truncates":[1],"values":[],"syncId":"s",'
    b'"pagination":{"nextCursor":"c"}}',
])
def test_bad_data_sync_shapes(body: bytes) -> None:
    with pytest.raises(ConvexBadResponseError):
        pages.parse_data_sync_page(body)


def test_table_column_names() -> None:
    body = b'{"byComponent":{"":[{"name":"users","columns":["_creationTime","_id","name"]}],"auth":[]}}'
    assert pages.parse_table_column_names(body) == {"": [("users", ["_creationTime", "_id", "name"])], "auth": []}
    with pytest.raises(ConvexBadResponseError):
        pages.parse_table_column_names(b'{"byComponent":{"":[{"name":"users","columns":[1]}]}}')
