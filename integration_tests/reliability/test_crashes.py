"""Crashes: SIGKILL the source or the destination at random points, resume, lose nothing.

Each seed syncs a connection Convex A -> source -> destination -> Convex B several times: an
initial sync, then incremental syncs after the origin changed (inserts, updates, replaces,
deletes; some made between crashed attempts, while a sync is half done). Every sync is first
attempted with crashes at random lines of its output, of either process, then run to
completion; each attempt resumes from the states the destination confirmed (see pipeline).
After the last sync, B must equal A: in dedup mode exactly (nothing lost, no duplicate, no
ghost: a document A deleted must not be in B); in append mode every document of A must be in
B, and the records delivered more than once are counted.
"""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from reliability_harness.catalog import configured_catalog, connection_config, discovered_streams
from reliability_harness.compare import TableComparison, compare_tables
from reliability_harness.dataset import TABLES, mutate, seed_origin
from reliability_harness.pipeline import Pipeline
from reliability_harness.processes import assert_success, destination_write, source_read, write_json
from reliability_harness.results import Results, Row

#: Small pages and change-log reads so a thousand documents make many pages, checkpoints and
#: kill points without a big dataset.
SNAPSHOT_PAGE = 40
DELTA_ROWS = 24


@dataclass
class Case:
    seed: int
    mode: str  # "dedup" | "append"
    origin: Any
    target: Any
    workdir: Path


@dataclass
class Outcome:
    case: Case
    kills: int
    attempts: int
    comparisons: list[TableComparison]


def _destination_config(dep: Any) -> dict[str, Any]:
    # Small batches and two lanes: many import requests in flight, so kills land inside them.
    return connection_config(dep.url, dep.admin_key, max_batch_size_mib=0.05, flush_interval_seconds=1,
                             max_parallel_requests=2)


def crash_sync(case: Case, rounds: int, kills_per_round: int) -> Outcome:
    """All syncs of one seed; returns how B compares with A at the end."""
    rng = random.Random(case.seed)
    origin = case.origin
    origin.settings.snapshot_page_size = SNAPSHOT_PAGE
    origin.settings.deltas_page_rows = DELTA_ROWS
    seed_origin(origin, case.seed, users=rng.randint(400, 700), posts=rng.randint(150, 350))
    source_config = connection_config(origin.url, origin.read_only_key)
    catalog = configured_catalog(discovered_streams(source_config),
                                 destination_sync_mode="append_dedup" if case.mode == "dedup" else "append")
    pipeline = Pipeline(case.workdir, source_config, _destination_config(case.target), catalog)
    for round_number in range(rounds):
        if round_number:
            mutate(origin, rng, rng.randint(40, 120))
        # Kill points are drawn over the lines such a sync emits (records + states).
        hint = sum(len(origin.documents(t)) for t in TABLES) + 20 if round_number == 0 else 150
        pipeline.sync(rng, kills=kills_per_round, line_hint=hint,
                      between=lambda: mutate(origin, rng, rng.randint(0, 30)))
    return Outcome(case, pipeline.kills, len(pipeline.attempts),
                   compare_tables(origin, case.target, TABLES, case.mode))


def run_cases(cases: list[Case], budget: Any, results: Results) -> None:
    with ThreadPoolExecutor(max_workers=budget.parallel) as pool:
        outcomes = list(pool.map(lambda case: crash_sync(case, budget.crash_rounds, budget.crash_kills_per_round),
                                 cases))
    failures = []
    for outcome in outcomes:
        mode = outcome.case.mode
        comparisons = outcome.comparisons
        results.add(Row(
            f"crash: SIGKILL source/destination, resume ({'dedup on _id' if mode == 'dedup' else 'append'})",
            runs=1, faults=outcome.kills, expected=sum(c.expected for c in comparisons),
            delivered=sum(c.delivered for c in comparisons), lost=sum(c.lost for c in comparisons),
            duplicates=sum(c.duplicates for c in comparisons)))
        for comparison in comparisons:
            if not comparison.exact:
                failures.append(f"seed {outcome.case.seed}, {outcome.kills} kills in {outcome.attempts} attempts: "
                                f"{comparison.summary()}")
    assert not failures, "B is not A after crashes and resumes:\n" + "\n".join(failures)


@pytest.mark.timeout(1200)
def test_crashes(budget: Any, deployments: Callable[..., Any], tmp_path: Path, results: Results) -> None:
    """Dedup seeds must end with B == A; append seeds with every document of A in B."""
    seeds = [(1000 + n, "dedup") for n in range(budget.crash_seeds_dedup)]
    seeds += [(2000 + n, "append") for n in range(budget.crash_seeds_append)]
    cases = [Case(seed, mode, deployments(f"origin A (seed {seed})"), deployments(f"target B (seed {seed})"),
                  tmp_path / f"seed-{seed}") for seed, mode in seeds]
    run_cases(cases, budget, results)


# -- the two ways a resumed sync can leave a document A no longer has, made deterministic -------

def _read(read_config: str, catalog: str, state: Any = None) -> list[dict[str, Any]]:
    """The RECORD and STATE messages of one source read (what the platform forwards)."""
    state_file = write_json(Path(catalog).with_name("state.json"), state) if state else None
    read = source_read(read_config, catalog, state_file)
    assert_success(read)
    return [m for m in read.output.messages if m["type"] in ("RECORD", "STATE")]


def _write(destination_config: str, catalog: str, messages: list[dict[str, Any]]) -> list[Any]:
    """Write the messages; returns the states the destination confirmed (as --state input)."""
    data = ("\n".join(json.dumps(m) for m in messages) + "\n").encode()
    write = destination_write(destination_config, catalog, data)
    assert_success(write)
    return [{"type": "STREAM", "stream": s["stream"]} for s in write.output.states]


def _connection(deployments: Callable[..., Any], tmp_path: Path, label: str) -> tuple[Any, Any, str, str, str]:
    origin, target = deployments(f"origin A ({label})"), deployments(f"target B ({label})")
    origin.settings.snapshot_page_size = 10
    seed_origin(origin, 11, users=40, posts=30)
    config = connection_config(origin.url, origin.read_only_key)
    catalog = write_json(tmp_path / "catalog.json", configured_catalog(discovered_streams(config)))
    return (origin, target, write_json(tmp_path / "source.json", config), catalog,
            write_json(tmp_path / "destination.json", connection_config(target.url, target.admin_key)))


def _latest(states: list[Any]) -> list[Any]:
    latest: dict[Any, Any] = {}
    for state in states:
        descriptor = state["stream"]["stream_descriptor"]
        latest[(descriptor.get("namespace"), descriptor["name"])] = state
    return list(latest.values())


@pytest.mark.timeout(300)
def test_a_replayed_delete_leaves_no_document(deployments: Callable[..., Any], tmp_path: Path) -> None:
    """A sync that dies after its deletes were stored, but before its state was confirmed, is
    replayed: the deletes arrive again for documents B no longer has. B must stay equal to A."""
    origin, target, source, catalog, destination = _connection(deployments, tmp_path, "replayed delete")
    state = _latest(_write(destination, catalog, _read(source, catalog)))
    with origin.transaction() as tx:
        for doc in origin.documents("users")[:3]:
            tx.delete(doc["_id"])
    changes = _read(source, catalog, state)
    assert any(m["type"] == "RECORD" and m["record"]["data"].get("_deleted") for m in changes)
    _write(destination, catalog, [m for m in changes if m["type"] == "RECORD"])  # died before any state
    _write(destination, catalog, changes)  # the replay, from the last confirmed state
    problems = [c.summary() for c in compare_tables(origin, target, TABLES, "dedup") if not c.exact]
    assert not problems, "after a replayed delete:\n" + "\n".join(problems)


@pytest.mark.timeout(300)
def test_a_stream_interrupted_before_its_first_state_keeps_later_deletes(deployments: Callable[..., Any],
                                                                         tmp_path: Path) -> None:
    """The first sync dies inside the second stream's snapshot, before any state of that stream;
    its first records are stored. A document among them is then deleted in A. The resumed sync
    must still remove it from B."""
    origin, target, source, catalog, destination = _connection(deployments, tmp_path, "interrupted snapshot")

    second: list[str] = []

    def die_inside_second_stream(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        records = [(n, m["record"]) for n, m in enumerate(messages) if m["type"] == "RECORD"]
        first = records[0][1]["stream"]
        later = [(n, record) for n, record in records if record["stream"] != first]
        assert len(later) >= 5, "the second stream has fewer than 5 records"
        second.append(later[0][1]["stream"])
        return messages[: later[4][0] + 1]

    state = _latest(_write(destination, catalog, die_inside_second_stream(_read(source, catalog))))
    stored = {doc["source_id"] for doc in target.documents(second[0])}
    victim = next(doc["_id"] for doc in origin.documents(second[0]) if doc["_id"] in stored)
    with origin.transaction() as tx:
        tx.delete(victim)
    _write(destination, catalog, _read(source, catalog, state or None))
    problems = [c.summary() for c in compare_tables(origin, target, TABLES, "dedup") if not c.exact]
    assert not problems, f"after deleting {victim}, which the interrupted sync had stored:\n" + "\n".join(problems)
