"""Parallel snapshots (`parallel_snapshots`), read by the source as a process speaking the protocol.

Several tables read at once must send the same records as one after another, each stream's in
order; every STATE may only cover pages whose records went out before it; a failure in one
table leaves states from which the next sync loses nothing; and no more than one request per
table being read is in flight.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from convex_local import LocalDeployment
from source_helpers import config_for, protocol_catalog, run_process

pytestmark = pytest.mark.timeout(120)

TABLES = [f"t{index}" for index in range(6)]

# The console entry point with a state after every page and, for the failure test, no retries: a
# real process on stdin/stdout, only its knobs for tests set (as `SourceConvex(cadence, retry)` allows).
RUNNER = """
import sys
from convex_shared import RetryPolicy
from source_convex import SourceConvex
from source_convex.cadence import Cadence
from source_convex.entrypoint import launch
retry = RetryPolicy(max_attempts=1) if sys.argv[1] == "no-retry" else None
launch(SourceConvex(Cadence(every_pages=1), retry), sys.argv[2:])
"""


class Sync:
    """The messages of one read, decoded."""

    def __init__(self, code: int, lines: list[dict[str, Any]], output: str) -> None:
        self.code = code
        self.messages = lines
        self.output = output

    def records(self) -> dict[str, list[dict[str, Any]]]:
        by_stream: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for message in self.messages:
            if message["type"] == "RECORD":
                by_stream[message["record"]["stream"]].append(message["record"]["data"])
        return dict(by_stream)

    def statuses(self) -> dict[str, list[str]]:
        by_stream: dict[str, list[str]] = defaultdict(list)
        for message in self.messages:
            status = message.get("trace", {}).get("stream_status")
            if status:
                by_stream[status["stream_descriptor"]["name"]].append(status["status"])
        return dict(by_stream)

    def last_states(self) -> list[dict[str, Any]]:
        latest: dict[str, dict[str, Any]] = {}
        for message in self.messages:
            if message["type"] == "STATE":
                state = message["state"]
                latest[state["stream"]["stream_descriptor"]["name"]] = {"type": "STREAM", "stream": state["stream"]}
        return list(latest.values())

    def errors(self) -> list[dict[str, Any]]:
        return [m["trace"]["error"] for m in self.messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]


def _read(
    dep: LocalDeployment,
    tmp_path: Path,
    parallel: int,
    state: list[dict[str, Any]] | None = None,
    retry: str = "default",
    mode: str = "incremental",
) -> Sync:
    files: dict[str, object] = {
        "config": config_for(dep, parallel_snapshots=parallel),
        "catalog": protocol_catalog(*TABLES, mode=mode),
    }
    if state is not None:
        files["state"] = state
    code, lines, output = run_process([sys.executable, "-c", RUNNER, retry, "read"], tmp_path, 100, **files)
    assert dep.admin_key not in output
    return Sync(code, lines, output[-6000:])


def _seed(dep: LocalDeployment) -> dict[str, list[str]]:
    dep.settings.snapshot_page_size = 5
    # Every table has at least 6 pages: none is done by the 17th request (the failure tests).
    return {table: sorted(dep.generate(table, 26 + 5 * index, seed=index)) for index, table in enumerate(TABLES)}


def _check_states_follow_records(sync: Sync, started_first: bool = True) -> None:
    """Every stream's first state (its started state) comes before any record of the sync (when
    `started_first`: every stream starts a new snapshot), and every later state counts (sourceStats)
    exactly the records of that stream sent since the one before: a state never covers a page whose
    records are still to come."""
    first_record = next(i for i, m in enumerate(sync.messages) if m["type"] == "RECORD") if started_first else 0
    sent: dict[str, int] = defaultdict(int)
    seen_state: set[str] = set()
    for index, message in enumerate(sync.messages):
        if message["type"] == "RECORD":
            sent[message["record"]["stream"]] += 1
        elif message["type"] == "STATE":
            state = message["state"]
            name = state["stream"]["stream_descriptor"]["name"]
            if name not in seen_state:
                assert not started_first or index < first_record, f"{name}'s started state came after a record"
                seen_state.add(name)
            assert state["sourceStats"]["recordCount"] == sent[name]
            sent[name] = 0


def test_parallel_reads_send_what_one_after_another_sends(convex_server: LocalDeployment, tmp_path: Path) -> None:
    expected = _seed(convex_server)
    parallel, sequential = _read(convex_server, tmp_path, 4), _read(convex_server, tmp_path, 1)
    assert parallel.code == 0 and sequential.code == 0, parallel.output + sequential.output
    # Same documents, each stream in the same order, nothing twice.
    assert parallel.records() == sequential.records()
    assert {name: sorted(row["_id"] for row in rows) for name, rows in parallel.records().items()} == expected
    for sync in (parallel, sequential):
        _check_states_follow_records(sync)
        assert sync.statuses() == {name: ["STARTED", "RUNNING", "COMPLETE"] for name in TABLES}
        final = {s["stream"]["stream_descriptor"]["name"]: s["stream"]["stream_state"] for s in sync.last_states()}
        assert {blob["snapshot_has_more"] for blob in final.values()} == {False}
        assert len({blob["delta_cursor"] for blob in final.values()}) == 1  # one pinned timestamp for all
    # Parallel really interleaves the streams (one after another never does).
    order = [m["record"]["stream"] for m in parallel.messages if m["type"] == "RECORD"]
    switches = sum(1 for a, b in pairwise(order) if a != b)
    assert switches > len(TABLES)
    order = [m["record"]["stream"] for m in sequential.messages if m["type"] == "RECORD"]
    assert sum(1 for a, b in pairwise(order) if a != b) == len(TABLES) - 1


def test_a_failure_in_one_table_leaves_states_that_resume_without_loss(
    convex_server: LocalDeployment, tmp_path: Path
) -> None:
    expected = _seed(convex_server)
    # The 17th snapshot request fails (the rule's draws are seeded), with several tables half read.
    convex_server.faults.inject(route="list_snapshot", kind="500", rate=0.08, count=1, seed=8)
    failed = _read(convex_server, tmp_path, 4, retry="no-retry")
    assert failed.code != 0 and len(failed.errors()) == 1, failed.output
    (error,) = failed.errors()
    assert error["failure_type"] in ("system_error", "transient_error")
    assert "Reading the snapshot of table t" in error["message"] and "500" in error["message"] + error.get(
        "internal_message", ""
    )
    statuses = failed.statuses()
    incomplete = [name for name, seen in statuses.items() if seen[-1] == "INCOMPLETE"]
    assert len(incomplete) >= 2, statuses  # more than the failing table was in the middle of its snapshot
    assert all(seen[-1] in ("INCOMPLETE", "COMPLETE") for seen in statuses.values())
    _check_states_follow_records(failed)
    delivered = failed.records()
    half_read = [name for name in incomplete if 0 < len(delivered.get(name, [])) < len(expected[name])]
    assert len(half_read) >= 2, {name: len(rows) for name, rows in delivered.items()}

    convex_server.faults.clear()
    resumed = _read(convex_server, tmp_path, 4, state=failed.last_states())
    assert resumed.code == 0, resumed.output
    again = resumed.records()
    for name, doc_ids in expected.items():
        seen = {row["_id"] for row in delivered.get(name, []) + again.get(name, [])}
        assert sorted(seen) == doc_ids, name  # nothing lost
    for name in half_read:  # continued after its saved cursor, not from the start
        assert len(again.get(name, [])) < len(expected[name])


def test_no_more_than_one_request_per_table_is_in_flight(convex_server: LocalDeployment, tmp_path: Path) -> None:
    expected = _seed(convex_server)
    latency_s = 0.15
    convex_server.settings.latency_s = latency_s
    convex_server.request_log.clear()
    sync = _read(convex_server, tmp_path, 2)
    assert sync.code == 0, sync.output
    assert sum(len(rows) for rows in sync.records().values()) == sum(map(len, expected.values()))
    starts = sorted(entry.at_ns / 1e9 for entry in convex_server.request_log.entries() if entry.name == "list_snapshot")
    # Each request takes at least the latency, so with at most 2 in flight, any 3 consecutive requests
    # start at least one latency apart (a little slack for the clocks of two threads)...
    assert min(later - first for first, later in zip(starts, starts[2:], strict=False)) >= latency_s - 0.01
    # ...while 2 of them do overlap: both tables' requests were in flight at once.
    assert min(later - first for first, later in pairwise(starts)) < latency_s / 2


def test_snapshots_too_old_restart_each_table_while_others_read_on(
    convex_server: LocalDeployment, tmp_path: Path
) -> None:
    expected = _seed(convex_server)
    convex_server.faults.inject(route="list_snapshot", kind="500", rate=0.08, count=1, seed=8)
    failed = _read(convex_server, tmp_path, 4, retry="no-retry", mode="full_refresh")
    assert failed.code != 0
    delivered = failed.records()
    half_read = [name for name in TABLES if 0 < len(delivered.get(name, [])) < len(expected[name])]
    assert len(half_read) >= 2
    convex_server.faults.clear()
    convex_server.clock.advance(6 * 86_400 * 10**9)  # past the 5 days Convex keeps snapshots

    resumed = _read(convex_server, tmp_path, 4, state=failed.last_states(), mode="full_refresh")
    assert resumed.code == 0, resumed.output
    unfinished = {
        s["stream"]["stream_descriptor"]["name"]
        for s in failed.last_states()
        if s["stream"]["stream_state"]["snapshot_has_more"]
    }
    assert set(half_read) <= unfinished
    restarted = {
        name
        for m in resumed.messages
        if m["type"] == "LOG" and "(SnapshotTooOld)" in m["log"]["message"]
        for name in TABLES
        if f"snapshot of {name} " in m["log"]["message"]
    }
    assert restarted == unfinished  # one restart for each table whose snapshot was left unfinished
    # Every table is complete: the restarted ones from the start, at a newer snapshot.
    assert {name: sorted(row["_id"] for row in rows) for name, rows in resumed.records().items()} == expected
    _check_states_follow_records(resumed, started_first=False)
    assert resumed.statuses() == {name: ["STARTED", "RUNNING", "COMPLETE"] for name in TABLES}
