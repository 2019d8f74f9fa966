"""Switching a stream from Append to Append + Deduped over a table with duplicate keys."""

from __future__ import annotations

import time
from typing import Any

import pytest


@pytest.mark.timeout(90)
def test_duplicate_keys_after_append_are_explained_quickly(convex_server: Any, run_destination: Any, make: Any) -> None:
    rows = [make.record("people", {"_id": "p1", "n": i}) for i in range(3)]
    first = run_destination(convex_server, [make.stream("people")], [*rows, make.global_state(1)])
    assert first.returncode == 0 and len(convex_server.documents("people")) == 3

    dedup = make.stream("people", mode="append_dedup", primary_key=[["_id"]])
    started = time.monotonic()
    result = run_destination(convex_server, [dedup], [make.record("people", {"_id": "p1", "n": 9}),
                                                      make.global_state(2)])
    elapsed = time.monotonic() - started

    assert result.returncode != 0
    assert result.states == []
    (error,) = result.errors
    assert error["failure_type"] == "config_error"
    message = error["message"]
    assert "several documents with the same primary key" in message and "'people'" in message
    assert "Refresh and remove records" in message and "HTTP 500 InternalServerError" in message
    attempts = [e for e in convex_server.request_log.entries("import_airbyte_records")]
    assert len(attempts) == 1 + 2, "the append sync's request, then two dedup attempts (one retry)"
    assert elapsed < 15, f"took {elapsed:.1f} s: a duplicate-key 500 must not be retried for half a minute"
