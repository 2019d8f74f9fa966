"""Failures end the sync with an ERROR trace, no state after it and a non-zero exit; bad lines are skipped."""

import time
from typing import Any

import pytest


def assert_failed_cleanly(result: Any) -> dict[str, Any]:
    assert result.returncode != 0
    (error,) = result.errors
    kinds = [m["type"] for m in result.messages]
    assert "STATE" not in kinds[kinds.index("TRACE"):], "no state after the failure"
    return error


@pytest.mark.timeout(120)
def test_persistent_failure_stops_with_no_later_state(convex_server: Any, run_destination: Any, make: Any) -> None:
    stream = make.stream("users", mode="append_dedup", primary_key=[["_id"]])
    messages = [make.record("users", {"_id": f"u{i}"}) for i in range(10)]
    messages.append(make.stream_state("users", "first"))
    messages.append(make.record("users", {"name": "no key"}))  # Convex: 400 MissingPrimaryKeyValue
    messages.append(make.stream_state("users", "second"))
    messages += [make.record("users", {"_id": f"v{i}"}) for i in range(10)]
    messages.append(make.stream_state("users", "third"))
    result = run_destination(convex_server, [stream], messages)
    error = assert_failed_cleanly(result)
    assert "MissingPrimaryKeyValue" in error["message"] and "users" in error["message"]
    assert [s["stream"]["stream_state"]["cursor"] for s in result.states] in ([], ["first"])
    imports = convex_server.request_log.entries("import_airbyte_records")
    assert imports[-1].status == 400 and len(imports) <= 2, "a 400 is not retried, and nothing is sent after it"


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("data", "failure_type", "words"),
    [
        ({"_id": "big", "blob": "x" * (1024 * 1024 + 10)}, "config_error", ["'events'", "1.00 MiB", "at most 1 MiB"]),
        (["not", "an", "object"], "system_error", ["'events'", "array"]),
    ],
)
def test_records_convex_cannot_store_end_the_sync(
    convex_server: Any, run_destination: Any, make: Any, data: Any, failure_type: str, words: list[str]
) -> None:
    messages = [make.record("events", {"_id": "ok"}), make.stream_state("events", 1), make.record("events", data),
                make.stream_state("events", 2)]
    result = run_destination(convex_server, [make.stream("events")], messages)
    error = assert_failed_cleanly(result)
    assert error["failure_type"] == failure_type
    assert all(word in error["message"] for word in words), error["message"]
    assert [s["stream"]["stream_state"]["cursor"] for s in result.states] in ([], [1])
    assert [d["source_id"] for d in convex_server.documents("events")] in ([], ["ok"])


@pytest.mark.timeout(120)
def test_bad_input_lines_are_skipped_without_their_content(convex_server: Any, run_destination: Any, make: Any) -> None:
    messages = [
        make.record("events", {"_id": "a"}),
        b'{"type":"RECORD","record":{"stream":"events","data":{"password":"hunter2-secret"',  # cut off
        b"\xff\xfe not utf-8",
        b"[1, 2, 3]",
        b"",
        make.record("events", {"_id": "b"}),
        make.stream_state("events", 1),
    ]
    result = run_destination(convex_server, [make.stream("events")], messages)
    assert result.returncode == 0, result.stdout[-3000:]
    assert sorted(d["source_id"] for d in convex_server.documents("events")) == ["a", "b"]
    assert "hunter2" not in result.stdout and "password" not in result.stdout
    assert "Skipped input line 2" in result.logs and "Skipped input line 3" in result.logs
    assert "Skipped input line 4" in result.logs and "Skipped 3 undecodable input lines in total" in result.logs
    assert [s["destinationStats"]["recordCount"] for s in result.states] == [2.0]


@pytest.mark.timeout(120)
def test_unknown_stream_is_a_clear_error(convex_server: Any, run_destination: Any, make: Any) -> None:
    result = run_destination(convex_server, [make.stream("events")], [make.record("other", {"x": 1})])
    error = assert_failed_cleanly(result)
    assert "'other'" in error["message"] and "configured catalog" in error["message"]


@pytest.mark.timeout(120)
def test_append_retry_after_a_possible_commit_is_logged_as_a_duplicate_risk(
    convex_server: Any, run_destination: Any, make: Any
) -> None:
    # The import commits, then the connection drops before the answer: the retry stores it again,
    # whole (one request is one Convex transaction), and the log says so.
    convex_server.faults.inject(route="import_airbyte_records", kind="reset", count=1, when="after")
    messages = [make.record("events", {"_id": f"e{i}"}) for i in range(5)] + [make.stream_state("events", 1)]
    result = run_destination(convex_server, [make.stream("events")], messages)
    assert result.returncode == 0, result.stdout[-3000:]
    assert len(convex_server.documents("events")) == 10, "append cannot tell a committed attempt from a lost one"
    assert "stored twice" in result.logs
    assert [s["destinationStats"]["recordCount"] for s in result.states] == [5.0]


@pytest.mark.timeout(180)
def test_an_append_failing_after_convex_committed_part_of_it_stores_no_row_twice(
    convex_server: Any, run_destination: Any, make: Any
) -> None:
    # Convex commits an import every 16,000 writes; an OCC 503 (or a timeout) after that point used
    # to leave 16,000 rows stored, and the retry of the whole request stored them again. Small
    # records made one 4 MiB request hold all 40,000 messages.
    convex_server.faults.inject(route="import_airbyte_records", kind="503", when="partial", count=1)
    messages = [make.record("events", {"_id": f"e{i}", "pad": "x" * 40}) for i in range(40_000)]
    messages.append(make.stream_state("events", 1))
    result = run_destination(convex_server, [make.stream("events")], messages)
    assert result.returncode == 0, result.stdout[-3000:]
    stored = [d["source_id"] for d in convex_server.documents("events")]
    duplicated = len(stored) - len(set(stored))
    assert duplicated == 0 and len(stored) == 40_000, f"{duplicated} rows stored twice"
    assert convex_server.faults.rules[0].fired == 0, "no request needed a second Convex transaction"
    assert all(entry.params["messages"] <= 16_000 for entry in convex_server.request_log.entries("import_airbyte_records"))


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("data", "words"),
    [
        # 234 KB of JSON, 1.03 MiB as Convex counts it: the server answered 400 ValueTooLargeError,
        # which 1.0.0 reported as "a bug in the connector".
        ({"_id": "e1", "grid": [[1] * 8000 for _ in range(15)]}, "MiB in Convex's size accounting"),
        ({"_id": "e1", "tags": list(range(8193))}, "array of 8193 items at field 'tags'"),
    ],
)
def test_a_record_past_a_convex_limit_is_a_config_error_naming_stream_and_field(
    convex_server: Any, run_destination: Any, make: Any, data: dict, words: str
) -> None:
    messages = [make.record("events", {"_id": "ok"}), make.record("events", data)]
    result = run_destination(convex_server, [make.stream("events")], messages)
    assert result.returncode == 1
    (error,) = result.errors
    assert error["failure_type"] == "config_error"
    assert "stream 'events'" in error["message"] and words in error["message"]
    assert "bug" not in error["message"]


@pytest.mark.timeout(120)
def test_a_deterministic_import_500_is_retried_once_then_explained(
    convex_server: Any, run_destination: Any, make: Any
) -> None:
    # Two documents share the key: Convex answers a plain 500 to every dedup write of it, forever.
    convex_server.insert("users", {"email": "a@example.com"})
    convex_server.insert("users", {"email": "a@example.com"})
    stream = make.stream("users", mode="append_dedup", primary_key=[["email"]])
    started = time.monotonic()
    result = run_destination(convex_server, [stream], [make.record("users", {"email": "a@example.com", "v": 1})])
    assert result.returncode == 1 and time.monotonic() - started < 30, "1.0.0 retried for up to 5 minutes"
    (error,) = result.errors
    assert error["failure_type"] == "config_error" and "several documents with the same primary key" in error["message"]
    assert "Refresh and remove records" in error["message"] and "more than 3 renames" in error["message"]
    attempts = [e for e in convex_server.request_log.entries("import_airbyte_records") if e.status == 500]
    assert len(attempts) == 2


def test_an_append_import_500_is_retried_like_any_temporary_failure(
    convex_server: Any, run_destination: Any, make: Any
) -> None:
    """Only a dedup import's 500 is usually deterministic; two in a row on an append are an outage."""
    convex_server.faults.inject(route="import_airbyte_records", kind="500", count=2)
    stream = make.stream("events", mode="append")
    result = run_destination(convex_server, [stream], [make.record("events", {"n": float(i)}) for i in range(3)]
                             + [make.stream_state("events", 3)])
    assert result.returncode == 0, result.errors
    assert len(convex_server.documents("events")) == 3 and len(result.states) == 1
    attempts = [e.status for e in convex_server.request_log.entries("import_airbyte_records")]
    assert attempts[:2] == [500, 500] and attempts[-1] == 200
