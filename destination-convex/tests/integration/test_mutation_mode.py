"""Mutation mode, run as the `destination-convex` process against an ingest function on the local server."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from convex_local import LocalDeployment
from convex_local import function_library as lib
from convex_local.functions import ConvexError, FunctionContext

pytestmark = pytest.mark.timeout(120)

SECRET = "ingest-secret-7c1f9a0b2d"


@pytest.fixture
def app(convex_server: LocalDeployment) -> LocalDeployment:
    convex_server.functions.mutation("ingest:records", lib.IngestFunction())
    convex_server.functions.http_action("POST", "/airbyte/ingest", lib.ingest_http_action(lib.IngestFunction(), SECRET))
    return convex_server


def _people(make: Any, n: int, every: int = 10, offset: int = 0) -> list[dict[str, Any]]:
    messages = []
    for i in range(n):
        messages.append(make.record("people", {"id": float(offset + i), "name": f"p{offset + i}"}))
        if (i + 1) % every == 0:
            messages.append(make.stream_state("people", offset + i))
    return messages


def test_check_calls_the_mutation_with_an_empty_batch(app: LocalDeployment, run_check: Callable[..., Any]) -> None:
    run = run_check(app, mutation="ingest:records")
    assert run.of_type("CONNECTION_STATUS")[0]["connectionStatus"]["status"] == "SUCCEEDED"
    assert app.documents("ingest_batches") == []  # an empty batch writes nothing
    run = run_check(app, mutation="ingest:missing")
    status = run.of_type("CONNECTION_STATUS")[0]["connectionStatus"]
    assert status["status"] == "FAILED" and "ingest:missing" in status["message"]


def test_dedup_upserts_and_deletes_by_key_with_states_after_their_calls(
        app: LocalDeployment, run_destination: Callable[..., Any], make: Any) -> None:
    streams = [make.stream("people", "append_dedup", primary_key=[["id"]])]
    messages = _people(make, 25, every=10)
    messages.append(make.record("people", {"id": 3.0, "name": "p3 again"}))
    messages.append(make.record("people", {"id": 4.0, "name": "p4", "_ab_cdc_deleted_at": "2026-01-01T00:00:00Z"}))
    messages.append(make.stream_state("people", "end"))
    run = run_destination(app, streams, messages, mutation="ingest:records", max_records_per_call=7)
    assert run.returncode == 0, run.errors
    assert [s["stream"]["stream_state"]["cursor"] for s in run.states] == [9, 19, "end"]
    assert [s["destinationStats"]["recordCount"] for s in run.states] == [10.0, 10.0, 7.0]
    docs = {d["id"]: d["name"] for d in app.documents("people")}
    assert len(docs) == 24 and docs[3.0] == "p3 again" and 4.0 not in docs
    batches = [b["records"] for b in app.documents("ingest_batches")]
    assert sum(batches) == 27 and max(batches) <= 7  # calls of at most max_records_per_call


def test_a_replayed_batch_is_applied_once(app: LocalDeployment, run_destination: Callable[..., Any], make: Any) -> None:
    """The first attempt of a call commits but its answer is lost (a reset after the mutation ran): the
    retry carries the same batchId, so the function skips it and nothing is stored twice."""
    app.faults.inject(route="mutation", kind="reset", count=1, when="after")
    streams = [make.stream("events", "append")]
    messages = [make.record("events", {"n": float(i)}) for i in range(5)] + [make.stream_state("events", 1)]
    run = run_destination(app, streams, messages, mutation="ingest:records")
    assert run.returncode == 0, run.errors
    assert len(app.documents("events")) == 5
    assert len(run.states) == 1


def test_a_convex_error_names_the_record_and_no_state_is_released(
        app: LocalDeployment, run_destination: Callable[..., Any], make: Any) -> None:
    def picky(ctx: FunctionContext, args: dict[str, Any]) -> Any:
        for index, rec in enumerate(args["records"]):
            if rec.get("name") == "bad":
                raise ConvexError({"code": "BadRecord", "recordIndex": float(index), "message": "name must not be bad"})
        return None

    app.functions.mutation("ingest:picky", picky)
    streams = [make.stream("people", "append")]
    messages = _people(make, 12, every=100) + [make.record("people", {"id": 99.0, "name": "bad"}),
                                               make.stream_state("people", "x")]
    run = run_destination(app, streams, messages, mutation="ingest:picky", max_records_per_call=5)
    assert run.returncode != 0
    (error,) = run.errors
    assert error["failure_type"] == "config_error"
    assert "record 13 (position 2 in batch" in error["message"] and "name must not be bad" in error["message"]
    assert run.states == []


def test_a_batch_over_the_write_limit_is_split(app: LocalDeployment, run_destination: Callable[..., Any],
                                               make: Any) -> None:
    app.settings.function_max_writes = 4  # 3 records and the batch's bookkeeping row
    streams = [make.stream("people", "append_dedup", primary_key=[["id"]])]
    run = run_destination(app, streams, _people(make, 20, every=20), mutation="ingest:records")
    assert run.returncode == 0, run.errors
    assert len(app.documents("people")) == 20
    assert "hit a per-call limit" in run.logs
    assert len(run.states) == 1


def test_the_http_action_takes_the_same_body_with_the_secret(app: LocalDeployment, run_destination: Callable[..., Any],
                                                             make: Any) -> None:
    streams = [make.stream("people", "append_dedup", primary_key=[["id"]])]
    url = app.url + "/http/airbyte/ingest"
    run = run_destination(app, streams, _people(make, 15, every=5), key=SECRET, http_action_url=url)
    assert run.returncode == 0, run.errors
    assert len(app.documents("people")) == 15 and len(run.states) == 3
    run = run_destination(app, streams, _people(make, 3, every=3), key="not-the-secret-123", http_action_url=url)
    (error,) = run.errors
    assert error["failure_type"] == "config_error" and "refused" in error["message"]


def test_overwrite_is_refused_before_any_call(app: LocalDeployment, run_destination: Callable[..., Any],
                                              make: Any) -> None:
    run = run_destination(app, [make.stream("people", "overwrite")], _people(make, 3), mutation="ingest:records")
    (error,) = run.errors
    assert error["failure_type"] == "config_error" and "mutation mode" in error["message"]
    assert app.table_names() == []


def test_an_http_action_500_on_a_dedup_stream_is_explained_as_the_actions_failure(
        app: LocalDeployment, run_destination: Callable[..., Any], make: Any) -> None:
    """Not as the streaming import's duplicate keys: the records went to the user's function."""
    app.faults.inject(route="ingest", kind="500")
    streams = [make.stream("people", "append_dedup", primary_key=[["id"]])]
    run = run_destination(app, streams, _people(make, 3, every=3), key=SECRET,
                          http_action_url=app.url + "/http/airbyte/ingest")
    (error,) = run.errors
    assert "/airbyte/ingest" in error["message"] and "3 records of stream(s) 'people'" in error["message"]
    assert "duplicate" not in error["message"].lower() and "import" not in error["message"].lower()
    assert run.states == [] and app.documents("people") == []
